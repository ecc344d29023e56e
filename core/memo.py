"""What was worked out from immutable objects, kept by the objects' identity.

Discovery hands the same page objects out while their cached value lasts, so what is derived from them (a
merge, the marked page, its JSON body) can be worked out once per object instead of once per call.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["ByIdentity"]

V = TypeVar("V")


class ByIdentity(Generic[V]):
    """Values keyed by the identity of the objects they came from. The objects are held with their value,
    so their ids cannot pass to other objects meanwhile; at most `size` are kept, the oldest leaving first."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._kept: dict[tuple[int, ...], tuple[tuple[object, ...], V]] = {}

    def get(self, *sources: object) -> V | None:
        kept = self._kept.get(tuple(map(id, sources)))
        if kept is None or any(held is not source for held, source in zip(kept[0], sources, strict=True)):
            return None
        return kept[1]

    def put(self, value: V, *sources: object) -> V:
        if len(self._kept) >= self._size:
            self._kept.pop(next(iter(self._kept)))
        self._kept[tuple(map(id, sources))] = (sources, value)
        return value
