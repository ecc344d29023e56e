"""Clients for the servers idkarr works with: media servers (Plex, Jellyfin, Emby) that say what is in the
library and who watched what, and the download side (Sonarr, Radarr) approved requests are handed to.

Each holds one `core.upstream.Upstream`, so timeouts, retries and the error tree are the same as TMDB's.
"""
