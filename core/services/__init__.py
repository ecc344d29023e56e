"""Use cases: one async function per act, each one unit of work."""
