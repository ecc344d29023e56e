"""When each scheduled job last started, so that several idkarr processes run each job once per interval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base

__all__ = ["ScheduledRun"]


class ScheduledRun(Base):
    __tablename__ = "scheduled_run"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started: Mapped[datetime]
