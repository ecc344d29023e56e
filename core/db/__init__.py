"""Persistence: models, the engine and units of work, migrations' state."""
