"""outbox: a claim's lease in a column of its own, with room on each page for the claim to stay HOT; a
trigger in place of the foreign key to its recipient

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A claim used to push next_attempt_at, an indexed column, a lease ahead: every claimed row got a new
    # entry in each of the table's four indexes, and its record another set. A lease in a column no index
    # reads, and half of each page kept free, let the claim rewrite the row in place (a HOT update).
    op.add_column("outbox", sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
    # Rows claimed before this keep their lease in next_attempt_at, which still holds them until then.
    op.execute("ALTER TABLE outbox SET (fillfactor = 50)")
    # The key made every notification lock its recipient's user row (FOR KEY SHARE): each new request
    # locked every moderator's row, in every concurrent transaction. A trigger keeps what the key's cascade
    # did, a deleted person's messages go with them, at the cost of a scan on the rare deletion instead.
    op.drop_constraint("fk_outbox_recipient_user_id_user", "outbox", type_="foreignkey")
    op.drop_index("ix_outbox_recipient_user_id", table_name="outbox")
    op.execute(
        """
        CREATE FUNCTION outbox_forget_recipients() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM outbox WHERE recipient_user_id IN (SELECT id FROM gone);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        'CREATE TRIGGER user_deleted_forget_outbox AFTER DELETE ON "user" REFERENCING OLD TABLE AS gone '
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_forget_recipients()"
    )


def downgrade() -> None:
    op.execute('DROP TRIGGER user_deleted_forget_outbox ON "user"')
    op.execute("DROP FUNCTION outbox_forget_recipients()")
    op.execute('DELETE FROM outbox WHERE recipient_user_id NOT IN (SELECT id FROM "user")')
    op.create_index("ix_outbox_recipient_user_id", "outbox", ["recipient_user_id"], unique=False)
    op.create_foreign_key(
        "fk_outbox_recipient_user_id_user", "outbox", "user", ["recipient_user_id"], ["id"], ondelete="CASCADE"
    )
    op.execute(
        "UPDATE outbox SET next_attempt_at = leased_until WHERE status = 'pending' AND leased_until > next_attempt_at"
    )
    op.execute("ALTER TABLE outbox RESET (fillfactor)")
    op.drop_column("outbox", "leased_until")
