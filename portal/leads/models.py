"""Leads (招商线索) and what hangs off them: contact, access list, lifecycle stages, timeline.

A lead is not owned by one tenant the way a user is: it is visible to its owner, to every tenant
on one of its referrals, to the city and to assessors (DESIGN.md §5). ``lead_access`` holds, per
lead, the tenants that may see it and whether each may see the contact; the scoping package turns
that into the criteria of every query (see ``visibility``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    exists,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from tenants.scoping import SharedRecord


def _table(name: str):
    return db.metadata.tables[name]


def lead_visible(lead_id, tenant_ids, *, contact=False, referrer=False, counting=False):
    """SQL: one of ``tenant_ids`` may see the lead ``lead_id`` (a column of the outer row), or
    its contact, or is one of its referrers.

    Two forms with the same meaning: a correlated EXISTS probe on lead_access's primary key for
    statements that fetch rows (a page of 20, one lead), and ``IN (the visible set)`` for counts,
    where walking the tenant's set once beats probing every row. Aliases are anonymous, so the
    probe never correlates with a lead_access or referral the outer statement joins itself."""
    access = _table("lead_access").alias()
    conditions = [access.c.tenant_id.in_(tenant_ids)]
    if contact:
        conditions.append(access.c.sees_contact.is_(True))
    if referrer:
        conditions.append(access.c.is_referrer.is_(True))
    if counting:
        return lead_id.in_(select(access.c.lead_id).where(*conditions))
    return exists().where(access.c.lead_id == lead_id, *conditions)


def referral_visibility(cols, tenant_ids, counting=False):
    """A referral is seen by its two sides and by every referrer of its lead (the owner and any
    tenant that passed it on); a receiver does not see the other receivers' referrals."""
    return or_(
        cols.from_tenant_id.in_(tenant_ids),
        cols.to_tenant_id.in_(tenant_ids),
        lead_visible(cols.lead_id, tenant_ids, referrer=True, counting=counting),
    )


def referral_visible(referral_id, tenant_ids, counting=False):
    """SQL: one of ``tenant_ids`` may see the referral ``referral_id`` (an outer column)."""
    referral = _table("referral").alias()
    if counting:
        visible = select(referral.c.id).where(referral_visibility(referral.c, tenant_ids, True))
        return referral_id.in_(visible)
    return exists().where(referral.c.id == referral_id, referral_visibility(referral.c, tenant_ids))


class IndustryChain(db.Model):
    """One entry of the city's industry-chain list. City-wide reference data, not tenant-owned.
    Entries are retired (inactive), never deleted, so old leads keep their chain."""

    __tablename__ = "industry_chain"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lead(SharedRecord, db.Model):
    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_stage_created", "stage", "created_at"),
        Index("ix_lead_chain_created", "chain_id", "created_at"),
        Index("ix_lead_stage_chain_created", "stage", "chain_id", "created_at"),
    )
    # The tenant column a new row must be inside the scope for.
    writer_tenant_column = "tenant_id"
    overseers_see_all = True

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)  # owner
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    company: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    company_origin: Mapped[str] = mapped_column(String(60), default="")
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("industry_chain.id"))
    planned_investment: Mapped[int | None] = mapped_column(Integer, index=True)  # 万元
    land_need: Mapped[float | None] = mapped_column(Float)  # 亩
    description: Mapped[str] = mapped_column(Text, default="")
    source_channel: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), default="lead")
    host_tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), index=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_amount: Mapped[int | None] = mapped_column(Integer)  # 万元
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return lead_visible(cols.id, tenant_ids, counting=counting)

    owner = relationship("Tenant", foreign_keys=[tenant_id], lazy="joined")
    host = relationship("Tenant", foreign_keys=[host_tenant_id])
    chain = relationship(IndustryChain, lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id])


class LeadContact(SharedRecord, db.Model):
    """The confidential contact: seen by the owner and by tenants that accepted a referral only
    (not by the city or assessors, unless they are one of those)."""

    __tablename__ = "lead_contact"
    writer_tenant_column = None
    overseers_see_all = False

    lead_id: Mapped[int] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), primary_key=True
    )
    contact_name: Mapped[str] = mapped_column(String(40), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return lead_visible(cols.lead_id, tenant_ids, contact=True, counting=counting)


class LeadAccess(SharedRecord, db.Model):
    """Which tenants see a lead, and whether they see its contact. Written by the lead and
    referral services only, in the same transaction as the change that grants it."""

    __tablename__ = "lead_access"
    __table_args__ = (Index("ix_lead_access_lead", "lead_id"),)
    writer_tenant_column = None
    overseers_see_all = True

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), primary_key=True)
    lead_id: Mapped[int] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), primary_key=True
    )
    # Owner, or a tenant that sent it on: sees every referral of the lead.
    is_referrer: Mapped[bool] = mapped_column(Boolean, default=False)
    sees_contact: Mapped[bool] = mapped_column(Boolean, default=False)

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return cols.tenant_id.in_(tenant_ids)


class LeadStage(SharedRecord, db.Model):
    """A lifecycle date after landing (注册, 开工 …) or the 终止 with its reason."""

    __tablename__ = "lead_stage"
    writer_tenant_column = "tenant_id"
    overseers_see_all = True

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))  # who recorded it
    stage: Mapped[str] = mapped_column(String(16))
    on_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return lead_visible(cols.lead_id, tenant_ids, counting=counting)


class LeadEvent(SharedRecord, db.Model):
    """One line of a lead's timeline. Events about a referral are seen by whoever sees that
    referral; events about the lead itself by whoever sees the lead."""

    __tablename__ = "lead_event"
    writer_tenant_column = None
    overseers_see_all = True

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"))  # the actor's tenant
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(500), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tenant = relationship("Tenant")

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return or_(
            and_(
                cols.referral_id.is_(None),
                lead_visible(cols.lead_id, tenant_ids, counting=counting),
            ),
            referral_visible(cols.referral_id, tenant_ids, counting),
        )
