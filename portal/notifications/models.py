"""In-app notifications (and their e-mail copies)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from tenants.scoping import TenantOwned


class Notification(TenantOwned, db.Model):
    """Owned by the recipient's tenant; lists also filter by the recipient."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(24))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"))
    text: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(200), default="")
    # Makes the sweep idempotent: the same reminder to the same person is stored once.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
