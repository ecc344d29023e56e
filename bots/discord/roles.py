"""Discord roles as idkarr roles (the optional role_map), read at the moment a member acts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.enums import UserRole

__all__ = ["mapped_role"]

# Highest first: a member holding several mapped roles gets the one that may do most.
_RANK = (UserRole.MODERATOR, UserRole.USER, UserRole.VIEWER, UserRole.API_USER)


def mapped_role(role_map: Mapping[int, UserRole], held: Iterable[int]) -> UserRole:
    """The idkarr role a member's Discord roles give them: the highest mapped one, else "user"."""
    given = {role_map[role_id] for role_id in held if role_id in role_map}
    return next((role for role in _RANK if role in given), UserRole.USER)
