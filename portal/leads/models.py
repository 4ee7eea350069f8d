"""Lead reference data: the industry chains (产业链) the city admin manages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import UTCDateTime, utcnow
from portal.extensions import db


class IndustryChain(db.Model):
    """One entry of the city's industry-chain list. City-wide reference data, not tenant-owned.
    Entries are retired (inactive), never deleted, so old leads keep their chain."""

    __tablename__ = "industry_chain"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
