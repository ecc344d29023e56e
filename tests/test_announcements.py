"""Announcements: the activity told to everyone through the front ends, naming only people who share it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from bots.conversation.notifications import announcement_text
from core.db.models import OutboxMessage, User
from core.db.session import Database
from core.enums import ContentType, UserRole
from core.services import requests
from core.services.dispatcher import Delivery, Dispatcher

from .test_requests import people, title


class Board:
    """A front end that keeps what it was given, as a channel would."""

    name = "board"

    def __init__(self) -> None:
        self.posted: list[Delivery] = []

    async def deliver(self, delivery: Delivery) -> bool:
        if delivery.recipient_id is None:
            self.posted.append(delivery)
        return True


async def announcements(db: Database) -> list[tuple[str, dict[str, Any]]]:
    async with db.session() as session:
        rows = await session.execute(
            select(OutboxMessage.event, OutboxMessage.payload)
            .where(OutboxMessage.recipient_user_id.is_(None))
            .order_by(OutboxMessage.id)
        )
        return [(row.event, row.payload) for row in rows]


async def test_the_request_lifecycle_is_announced_once_each_and_delivered(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("alice", UserRole.USER), ("bob", UserRole.USER))
    matrix = await title(ContentType.MOVIE, tmdb_id=603)
    created = await requests.create(db, matrix, actor_id=ids["alice"])
    await requests.create(db, matrix, actor_id=ids["bob"])  # joining is between the people involved
    await requests.approve(db, created.request.id, actor_id=ids["mod"])
    await requests.mark_available(db, created.request.id)
    told = await announcements(db)
    assert [event for event, _ in told] == ["request_created", "request_approved", "request_available"]
    assert [(payload["by"], payload["requested_by"]) for _, payload in told] == [
        ("alice", "alice"),
        ("mod", "alice"),
        (None, "alice"),
    ]
    board = Board()
    await Dispatcher(db, [board]).drain()
    assert [announcement_text(delivery) for delivery in board.posted] == [
        "alice requested The Matrix (1999, movie).",
        "The Matrix (1999) was approved by mod, requested by alice.",
        "The Matrix (1999) is available now, requested by alice.",
    ]
    # Delivered once: draining again posts nothing more.
    await Dispatcher(db, [board]).drain()
    assert len(board.posted) == 3


async def test_people_who_keep_their_history_private_are_not_named(db: Database) -> None:
    ids = await people(db, ("mod", UserRole.MODERATOR), ("carol", UserRole.USER))
    async with db.transaction() as session:
        await session.execute(
            update(User).where(User.id == ids["carol"]).values(privacy_settings={"showRequestHistory": False})
        )
    created = await requests.create(db, await title(ContentType.MOVIE, tmdb_id=550), actor_id=ids["carol"])
    await requests.deny(db, created.request.id, actor_id=ids["mod"], reason="Not this month.")
    told = await announcements(db)
    assert [(event, payload["by"], payload["requested_by"]) for event, payload in told] == [
        ("request_created", None, None),
        ("request_denied", "mod", None),
    ]
    board = Board()
    await Dispatcher(db, [board]).drain()
    texts = [announcement_text(delivery) for delivery in board.posted]
    assert texts == [
        "Someone requested Fight Club (1999, movie).",
        "Fight Club (1999) was denied by mod.",  # the reason is for the requester and watchers only
    ]
    assert not any("carol" in text for text in texts)


async def test_an_auto_approved_request_reads_as_automatic_and_translates(db: Database) -> None:
    ids = await people(db, ("boss", UserRole.ADMIN))
    await requests.create(db, await title(ContentType.SERIES, tvdb_id=81189), actor_id=ids["boss"])
    board = Board()
    await Dispatcher(db, [board]).drain()
    assert [announcement_text(delivery) for delivery in board.posted] == [
        "boss requested Breaking Bad (2008, series).",
        "Breaking Bad (2008) was approved automatically.",
    ]
    assert announcement_text(board.posted[0], "es") == "boss pidió Breaking Bad (2008, serie)."
