"""What was imported from another program (Overseerr, Seerr), so that importing again changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, created_at_column

__all__ = ["ImportedRow"]


class ImportedRow(Base):
    """One row of a source (a user, a title, a request) and the idkarr row it became. `source` names the
    program by its address; `local_id` is kept without a foreign key, since a row deleted in idkarr after the
    import must stay imported rather than come back on the next run."""

    __tablename__ = "imported_row"

    source: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[int] = mapped_column(primary_key=True)
    local_id: Mapped[int]
    imported_at: Mapped[datetime] = created_at_column()
