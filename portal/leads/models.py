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


def visible_lead_ids(tenant_ids, *, contact: bool = False):
    """SELECT of the leads one of ``tenant_ids`` may see (or whose contact it may see)."""
    access = _table("lead_access")
    query = select(access.c.lead_id).where(access.c.tenant_id.in_(tenant_ids))
    if contact:
        query = query.where(access.c.sees_contact.is_(True))
    return query


def referral_visibility(cols, tenant_ids):
    """A referral is seen by its two sides and by every referrer of its lead (the owner and any
    tenant that passed it on); a receiver does not see the other receivers' referrals."""
    access = _table("lead_access")
    referrer_leads = select(access.c.lead_id).where(
        access.c.tenant_id.in_(tenant_ids), access.c.is_referrer.is_(True)
    )
    return or_(
        cols.from_tenant_id.in_(tenant_ids),
        cols.to_tenant_id.in_(tenant_ids),
        cols.lead_id.in_(referrer_leads),
    )


def visible_referral_ids(tenant_ids):
    referral = _table("referral")
    return select(referral.c.id).where(referral_visibility(referral.c, tenant_ids))


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
    def visibility(cls, cols, tenant_ids):
        return cols.id.in_(visible_lead_ids(tenant_ids))

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
    def visibility(cls, cols, tenant_ids):
        return cols.lead_id.in_(visible_lead_ids(tenant_ids, contact=True))


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
    def visibility(cls, cols, tenant_ids):
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
    def visibility(cls, cols, tenant_ids):
        return cols.lead_id.in_(visible_lead_ids(tenant_ids))


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
    def visibility(cls, cols, tenant_ids):
        return or_(
            and_(cols.referral_id.is_(None), cols.lead_id.in_(visible_lead_ids(tenant_ids))),
            cols.referral_id.in_(visible_referral_ids(tenant_ids)),
        )
