"""Merging results from several providers: one entry per title, whichever ids each provider knew."""

from __future__ import annotations

from collections.abc import Iterable

from core.metadata.types import Title

__all__ = ["merge_titles"]


def _keys(title: Title) -> list[tuple[str, str, object]]:
    kind = title.type.value
    keys: list[tuple[str, str, object]] = []
    if title.tmdb_id is not None:
        keys.append((kind, "tmdb", title.tmdb_id))
    if title.tvdb_id is not None:
        keys.append((kind, "tvdb", title.tvdb_id))
    if title.imdb_id:
        keys.append((kind, "imdb", title.imdb_id))
    return keys


def merge_titles(*sources: Iterable[Title]) -> list[Title]:
    """Titles in first-seen order; two entries sharing any external id of the same type become one."""
    merged: list[Title] = []
    index: dict[tuple[str, str, object], int] = {}
    for source in sources:
        for title in source:
            position = next((index[key] for key in _keys(title) if key in index), None)
            if position is None:
                position = len(merged)
                merged.append(title)
            else:
                merged[position] = merged[position].merged_with(title)
            for key in _keys(merged[position]):
                index.setdefault(key, position)
    return merged
