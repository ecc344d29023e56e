"""What is still to be said (outbox) and what a button means (action tokens)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, JsonDict, created_at_column
from core.db.pgtypes import OUTBOX_STATUS
from core.enums import OutboxStatus

__all__ = ["ActionToken", "OutboxMessage"]


class OutboxMessage(Base):
    """A notification or announcement committed with the change it reports, delivered at least once."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The dispatcher's only query: what is due now.
        Index("ix_outbox_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # Room on each page for a claim to rewrite its row in place (see `leased_until`).
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Event and recipient together, e.g. "request_approved:42:user:7": a retry or replay cannot notify twice.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    # Null for channel announcements that go to a platform's configured channel rather than a person.
    # Not a foreign key: one would lock the recipient's user row in every transaction that notifies them
    # (each new request, every moderator). A trigger on "user" (migration 0003) deletes a deleted person's.
    recipient_user_id: Mapped[int | None]
    payload: Mapped[JsonDict]
    status: Mapped[OutboxStatus] = mapped_column(OUTBOX_STATUS, server_default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    next_attempt_at: Mapped[datetime] = created_at_column()
    # Set by the dispatcher that claimed the row: nobody else takes it before then. No index reads it, so
    # a claim is a HOT update (no new index entries), where moving next_attempt_at would touch every index.
    leased_until: Mapped[datetime | None]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime] = created_at_column()
    delivered_at: Mapped[datetime | None]
    # Front ends that have delivered it; a retry after a partial failure goes to the others only.
    delivered_via: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))


class ActionToken(Base):
    """A button's meaning, so the button itself carries only a short id.

    Telegram allows 64 bytes of callback data and Discord 100 characters of custom_id; the id stays at or
    under 16 characters and the meaning survives restarts.
    """

    __tablename__ = "action_token"
    __table_args__ = (
        Index("ix_action_token_expires_at", "expires_at"),
        CheckConstraint("length(id) BETWEEN 6 AND 16", name="id_length"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    action: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[JsonDict] = mapped_column(server_default=text("'{}'::jsonb"))
    issued_to_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # Moderator actions (approve, deny) may be pressed by any moderator, each checked against their own role.
    open_to_moderators: Mapped[bool] = mapped_column(server_default=text("false"))
    single_use: Mapped[bool] = mapped_column(server_default=text("false"))
    used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = created_at_column()
