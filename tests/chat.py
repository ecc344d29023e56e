"""What conversation tests share: people to talk as (the `conversation` fixture is in conftest.py)."""

from __future__ import annotations

from bots.conversation.context import Actor
from core.db.session import Database
from core.enums import UserRole
from core.services.users import add_user


async def people(db: Database, *specs: tuple[str, UserRole]) -> dict[str, Actor]:
    made = {}
    for name, role in specs:
        user = await add_user(db, name, role)
        made[name] = Actor(user_id=user.id, username=name)
    return made
