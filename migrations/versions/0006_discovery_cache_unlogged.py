"""discovery_cache is UNLOGGED: a cache written on every new title need not wait for the disk

Its rows are copies of what TMDB and TheTVDB answer. Written to the WAL, each batch of them cost a flush
to disk at commit, and a quarter of the flushes while people requested new titles; unlogged, a batch
commits without one. PostgreSQL empties an unlogged table after a crash, which for a cache only means
the next look-ups ask the upstream again (Redis keeps its own copy meanwhile).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE discovery_cache SET UNLOGGED")


def downgrade() -> None:
    op.execute("ALTER TABLE discovery_cache SET LOGGED")
