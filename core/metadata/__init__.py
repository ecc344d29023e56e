"""Metadata: TMDB, TheTVDB and the offline catalog behind one provider interface, cached and rate limited."""
