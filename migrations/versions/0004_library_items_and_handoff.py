"""library_item: what each media server holds, per season; handoff: approved requests on their way to
Sonarr or Radarr; media_server: a base path and the incremental sync's cursor; scheduled_run: when each
scheduled job last started, across processes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "library_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_server_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("seasons", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media.id"], name=op.f("fk_library_item_media_id_media"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["media_server_id"],
            ["media_server.id"],
            name=op.f("fk_library_item_media_server_id_media_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_item")),
        sa.UniqueConstraint("media_server_id", "item_key", name=op.f("uq_library_item_media_server_id_item_key")),
    )
    op.create_index("ix_library_item_media_id", "library_item", ["media_id"], unique=False)
    op.create_table(
        "handoff",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["request.id"], name=op.f("fk_handoff_request_id_request"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_handoff")),
    )
    op.create_index("ix_handoff_due", "handoff", ["due_at"], unique=False, postgresql_where=sa.text("sent_at IS NULL"))
    op.create_table(
        "scheduled_run",
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("last_started", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_scheduled_run")),
    )
    op.add_column("media_server", sa.Column("base_path", sa.Text(), server_default="", nullable=False))
    op.add_column("media_server", sa.Column("synced_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("media_server", sa.Column("last_full_sync", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("media_server", "last_full_sync")
    op.drop_column("media_server", "synced_until")
    op.drop_column("media_server", "base_path")
    op.drop_table("scheduled_run")
    op.drop_index("ix_handoff_due", table_name="handoff", postgresql_where=sa.text("sent_at IS NULL"))
    op.drop_table("handoff")
    op.drop_index("ix_library_item_media_id", table_name="library_item")
    op.drop_table("library_item")
