"""The assessment's stored facts: scoring rule versions and the credit ledger (DESIGN.md §4b).

Both tables are append-only: a rule change is a new version row, a decision about a credit entry
is a new ledger row that names the entry it decides. On PostgreSQL (and SQLite) a trigger from
migration 0009 refuses UPDATE and DELETE; each ledger row holds the hash of the previous one, so
an edit made around the trigger is still found by ``flask assessment verify``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from tenants.scoping import SharedRecord

# The kinds of ledger row. Entry kinds concern one tenant; year kinds concern a whole year.
PROPOSED = "proposed"
APPROVED = "approved"
REJECTED = "rejected"
ADJUSTED = "adjusted"
CORRECTION = "correction"
PUBLISHED = "published"
LOCKED = "locked"
# An appeal (申诉) against a decided entry, and the assessors' answer to it.
APPEALED = "appealed"
APPEAL_UPHELD = "appeal_upheld"
APPEAL_DISMISSED = "appeal_dismissed"

DECISION_KINDS = (APPROVED, REJECTED, ADJUSTED)
APPEAL_DECISION_KINDS = (APPEAL_UPHELD, APPEAL_DISMISSED)
APPEAL_KINDS = (APPEALED, *APPEAL_DECISION_KINDS)
# Rows that set what an entry counts: the review's decision, later an upheld appeal.
POINT_KINDS = (*DECISION_KINDS, APPEAL_UPHELD)
# Rows about one proposal: they name it in ``entry_id``.
ENTRY_EVENT_KINDS = (*DECISION_KINDS, *APPEAL_KINDS)
YEAR_KINDS = (PUBLISHED, LOCKED)
LEDGER_KINDS = (PROPOSED, *DECISION_KINDS, CORRECTION, *YEAR_KINDS, *APPEAL_KINDS)

KIND_LABELS = {
    PROPOSED: "待审核",
    APPROVED: "已通过",
    REJECTED: "未通过",
    ADJUSTED: "已调整",
    CORRECTION: "更正",
    PUBLISHED: "已公示",
    LOCKED: "已锁定",
    APPEALED: "申诉",
    APPEAL_UPHELD: "申诉成立",
    APPEAL_DISMISSED: "申诉驳回",
}


def _sql_list(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class ScoringRuleSet(db.Model):
    """One version of an assessment year's scoring rules (``rules``: the RuleSet as canonical
    JSON, see ``ledger.rules_to_json``). City-wide reference data, not tenant-owned. A change is
    a new version; decided entries keep the rules they were proposed under."""

    __tablename__ = "scoring_rule_set"
    __table_args__ = (UniqueConstraint("year", "version", name="uq_scoring_rule_set_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    rules: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")


class CreditLedger(SharedRecord, db.Model):
    """One fact about referral credit: a proposal, a decision about a proposal (``entry_id``), an
    appeal against that decision and its answer (``entry_id``), a correction after the year is
    locked, or a year-level step (published, locked: no tenant).

    ``tenant_id`` is the tenant the row benefits or charges. Entry rows are seen by that tenant;
    year rows by everyone; the city tenant and assessors see all (``overseers_see_all``).
    ``points`` is what the row makes count: the proposal's points, the same when approved, 0 when
    rejected, the new points when adjusted, the signed amount of a correction. An appeal and a
    dismissed appeal repeat the points the entry counts (they change nothing); an upheld appeal
    carries the entry's new points.
    """

    __tablename__ = "credit_ledger"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_list(LEDGER_KINDS)})", name="kind_known"),
        # Only year rows have no tenant, and they carry no points.
        CheckConstraint(
            f"(kind IN ({_sql_list(YEAR_KINDS)})) = (tenant_id IS NULL)", name="tenant_by_kind"
        ),
        CheckConstraint(
            f"(kind IN ({_sql_list(YEAR_KINDS)})) = (points IS NULL)", name="points_by_kind"
        ),
        # A proposal carries its idempotency key; a decision or an appeal names its proposal.
        CheckConstraint(f"(kind = '{PROPOSED}') = (entry_key IS NOT NULL)", name="key_by_kind"),
        CheckConstraint(
            f"(kind IN ({_sql_list(ENTRY_EVENT_KINDS)})) = (entry_id IS NOT NULL)",
            name="entry_by_kind",
        ),
        # One proposal per key and year; NULL keys (every other kind) never collide.
        UniqueConstraint("year", "entry_key", name="uq_credit_ledger_entry_key"),
        Index("ix_credit_ledger_year_tenant", "year", "tenant_id"),
        # An entry is appealed once and the appeal answered once, also when two requests race.
        Index(
            "uq_credit_ledger_one_appeal",
            "entry_id",
            unique=True,
            sqlite_where=text(f"kind = '{APPEALED}'"),
            postgresql_where=text(f"kind = '{APPEALED}'"),
        ),
        Index(
            "uq_credit_ledger_one_appeal_answer",
            "entry_id",
            unique=True,
            sqlite_where=text(f"kind IN ({_sql_list(APPEAL_DECISION_KINDS)})"),
            postgresql_where=text(f"kind IN ({_sql_list(APPEAL_DECISION_KINDS)})"),
        ),
    )
    # The benefiting tenant is not the writer: ledger.append is the only writer and checks who
    # may write what.
    writer_tenant_column = None
    overseers_see_all = True

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    entry_key: Mapped[str | None] = mapped_column(String(120))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("credit_ledger.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40), default="")
    points: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    inputs: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    actor_tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return or_(cols.tenant_id.in_(tenant_ids), cols.tenant_id.is_(None))
