"""Referrals (推送/转交), feedback (对接反馈) and extension requests (延期申请)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from portal.leads.models import referral_visibility, referral_visible
from tenants.scoping import SharedRecord


class Referral(SharedRecord, db.Model):
    __tablename__ = "referral"
    __table_args__ = (
        # Covering the scope's criteria (the other side, the lead) lets the inbox and outbox
        # counts answer from the index alone.
        Index(
            "ix_referral_to_state", "to_tenant_id", "state", "sent_at", "from_tenant_id", "lead_id"
        ),
        Index(
            "ix_referral_from_state",
            "from_tenant_id",
            "state",
            "sent_at",
            "to_tenant_id",
            "lead_id",
        ),
        Index("ix_referral_state_sent", "state", "sent_at"),
        Index("ix_referral_lead", "lead_id"),
        Index("ix_referral_state_sign", "state", "sign_by"),
        Index("ix_referral_state_report", "state", "report_by"),
        # Overdue per side: still to sign past sign_by, or owing the first report past report_by.
        Index("ix_referral_to_sign", "to_tenant_id", "state", "sign_by"),
        Index("ix_referral_to_report", "to_tenant_id", "state", "first_report_at", "report_by"),
        Index("ix_referral_from_sign", "from_tenant_id", "state", "sign_by"),
        Index("ix_referral_from_report", "from_tenant_id", "state", "first_report_at", "report_by"),
        # The sweep's fortnightly progress reminder: reported referrals by their last feedback.
        Index("ix_referral_state_feedback", "state", "last_feedback_at"),
    )
    writer_tenant_column = "from_tenant_id"
    overseers_see_all = True
    # The sender and the receiver always see their referral (referral_visibility).
    sighted_tenant_columns = ("from_tenant_id", "to_tenant_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    from_tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    to_tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="sent")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sign_by: Mapped[datetime] = mapped_column(UTCDateTime)
    report_by: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    first_report_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(String(20))
    return_text: Mapped[str] = mapped_column(String(500), default="")
    # A refused return is final: no second request on this referral.
    return_refused: Mapped[bool] = mapped_column(Boolean, default=False)
    not_landed_reason: Mapped[str | None] = mapped_column(String(20))
    close_note: Mapped[str] = mapped_column(String(500), default="")
    extensions_granted: Mapped[int] = mapped_column(Integer, default=0)
    last_urged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return referral_visibility(cols, tenant_ids, counting)

    lead = relationship("Lead", lazy="joined")
    from_tenant = relationship("Tenant", foreign_keys=[from_tenant_id], lazy="joined")
    to_tenant = relationship("Tenant", foreign_keys=[to_tenant_id], lazy="joined")
    sender = relationship("User", foreign_keys=[sender_id])
    parent = relationship("Referral", remote_side=[id])


class Feedback(SharedRecord, db.Model):
    __tablename__ = "feedback"
    writer_tenant_column = "tenant_id"
    overseers_see_all = True

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    contacted_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    intention: Mapped[str] = mapped_column(String(16))
    next_step: Mapped[str] = mapped_column(String(500), default="")
    stage_after: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User")

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return referral_visible(cols.referral_id, tenant_ids, counting)


class ExtensionRequest(SharedRecord, db.Model):
    __tablename__ = "extension_request"
    writer_tenant_column = "tenant_id"
    overseers_see_all = True

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))  # the asking tenant
    deadline: Mapped[str] = mapped_column(String(8))  # "sign" or "report"
    old_due: Mapped[datetime] = mapped_column(UTCDateTime)
    new_due: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    ordinal: Mapped[int] = mapped_column(Integer)  # 1: sender's head decides; 2+: a city head
    # pending → approved | refused, or void: the deadline it extends ended before a decision
    # (signed, first report given, closed); decided_at is then when it ended, decided_by empty.
    state: Mapped[str] = mapped_column(String(12), default="pending")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The officers' names as they were when they acted (LeadEvent.actor_name does the same):
    # everyone who sees the referral reads them, though another tenant's users are out of scope.
    requested_by_name: Mapped[str] = mapped_column(String(64), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by_name: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(500), default="")

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return referral_visible(cols.referral_id, tenant_ids, counting)


class CitySetting(db.Model):
    """City-wide settings the city admin edits (referral deadline defaults)."""

    __tablename__ = "city_setting"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
