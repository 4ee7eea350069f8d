"""公示 and 申诉 (issue 5, point 4): publishing a year's draft ranking, tenants' appeals against
decided entries, the assessors' answers, and what must hold before a year is locked.

Plain functions over a session and an audit ``Actor``; every write is a ledger row appended
through ``ledger.append`` under the chain lock, so two assessors (or two officers) acting at
once are serialised and the second sees what the first did.

The appeal window: an entry decided before publication may be appealed until the end of the
Nth working day after publication; one decided later (a proposal that arrived after 公示), until
the Nth working day after its decision. N is chosen when publishing (default 5).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assessment import ledger
from portal.assessment.ledger import EntryState, LedgerError
from portal.assessment.models import (
    APPEAL_DECISION_KINDS,
    APPEAL_DISMISSED,
    APPEAL_UPHELD,
    APPEALED,
    LOCKED,
    PROPOSED,
    PUBLISHED,
    CreditLedger,
)
from portal.audit.service import Actor
from portal.database import utcnow
from portal.notifications import service as notify
from portal.validation import whole_number
from portal.workdays.calendar import SHANGHAI, WorkCalendar, deadline_day
from portal.workdays.service import load_calendar
from tenants.models import Tenant
from tenants.scoping import wider_scope

DEFAULT_APPEAL_DAYS = 5
MIN_APPEAL_DAYS, MAX_APPEAL_DAYS = 1, 20
MAX_APPEAL_CHARS = 1000
APPEAL_ROLES = ("officer", "head")
ANSWER_LABELS = {APPEAL_UPHELD: "申诉成立", APPEAL_DISMISSED: "申诉驳回"}


@dataclass(frozen=True)
class Publication:
    year: int
    published_at: datetime
    working_days: int
    published_by: str

    def window_ends(self, calendar: WorkCalendar, decided_at: datetime | None) -> datetime:
        """When appeals against an entry decided at ``decided_at`` close (24:00 Shanghai)."""
        start = max(self.published_at, decided_at or self.published_at)
        return calendar.deadline(start, self.working_days)


def publication(session: Session, year: int) -> Publication | None:
    """The year's 公示, if it was published (year rows are seen by every scope)."""
    row = session.scalar(
        select(CreditLedger)
        .where(CreditLedger.year == year, CreditLedger.kind == PUBLISHED)
        .order_by(CreditLedger.id)
        .limit(1)
    )
    if row is None:
        return None
    try:
        days = int(json.loads(row.inputs or "{}").get("appeal_working_days", DEFAULT_APPEAL_DAYS))
    except (ValueError, TypeError, AttributeError):
        days = DEFAULT_APPEAL_DAYS
    return Publication(year, row.created_at, days, row.actor_name)


def appeal_window_ends(
    session: Session, state: EntryState, calendar: WorkCalendar | None = None
) -> datetime | None:
    """When appeals against this entry close; None while it is undecided, unpublished or
    already appealed (an upheld appeal's answer is the entry's latest decision: its time would
    not be the review's)."""
    found = publication(session, state.year)
    if found is None or state.pending or state.appeal is not None:
        return None
    return found.window_ends(calendar or load_calendar(session), state.decided_at)


# ---- publishing -------------------------------------------------------------------------------


def parse_working_days(value, errors: dict[str, str]) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return DEFAULT_APPEAL_DAYS
    days = whole_number(text)
    if days is None or not MIN_APPEAL_DAYS <= days <= MAX_APPEAL_DAYS:
        errors["working_days"] = (
            f"申诉期须为 {MIN_APPEAL_DAYS}–{MAX_APPEAL_DAYS} 个工作日之间的整数。"
        )
        return None
    return int(text)


def publish(session: Session, actor: Actor, year: int, working_days) -> CreditLedger:
    """Publish the year's draft ranking (公示) and open the appeal window; notify every tenant.

    Refused: a year already published or locked, a bad number of working days. Entries still
    pending may be published (they are shown as pending and can be decided afterwards)."""
    ledger.require_assessor(actor)
    errors: dict[str, str] = {}
    days = parse_working_days(working_days, errors)
    if errors:
        raise LedgerError(errors)
    with wider_scope("assessors"):
        ledger.lock_chain(session)
        if ledger.year_locked(session, year):
            raise LedgerError({"year": f"{year} 年度已锁定，无需公示。"}, status=409)
        has_entries = session.scalar(
            select(CreditLedger.id)
            .where(CreditLedger.year == year, CreditLedger.kind == PROPOSED)
            .limit(1)
        )
        if has_entries is None:
            raise LedgerError({"year": f"{year} 年度还没有积分条目，无需公示。"}, status=409)
        earlier = publication(session, year)
        if earlier is not None:
            when, who = _local(earlier.published_at), earlier.published_by
            raise LedgerError({"year": f"{year} 年度已于 {when} 由 {who} 公示。"}, status=409)
        row = ledger.append(
            session,
            actor,
            year=year,
            kind=PUBLISHED,
            inputs=json.dumps({"appeal_working_days": days}),
        )
        _notify_published(session, year, days)
    return row


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _notify_published(session: Session, year: int, days: int) -> None:
    text = (
        f"{year} 年度考核积分排名已公示。对本单位积分条目有异议的，"
        f"请在审核或公示后 {days} 个工作日内提出申诉。"
    )
    notify.notify_every_tenant(session, "credit_published", text, url=f"/assessment?year={year}")


# ---- appeals ----------------------------------------------------------------------------------


def _clean_text(value, errors: dict[str, str]) -> str:
    text = (value or "").strip()
    if not text:
        errors["text"] = "请填写申诉理由。"
    elif len(text) > MAX_APPEAL_CHARS:
        errors["text"] = f"申诉理由不超过 {MAX_APPEAL_CHARS} 字。"
    return text


def _require_appellant(actor: Actor, entry: CreditLedger) -> None:
    if not actor.has_role(*APPEAL_ROLES):
        raise PermissionError("only officers and heads appeal credit entries")
    if entry.tenant_id != actor.tenant_id:
        raise LedgerError({"entry": "只能对本单位的积分条目提出申诉。"}, status=403)


def appeal_refusal(
    session: Session, state: EntryState, now: datetime, calendar: WorkCalendar | None = None
) -> str | None:
    """Why this entry cannot be appealed now, or None when it can."""
    if ledger.year_locked(session, state.year):
        return f"{state.year} 年度已锁定，不能再申诉。"
    found = publication(session, state.year)
    if found is None:
        return f"{state.year} 年度积分尚未公示，公示后方可申诉。"
    if state.pending:
        return "该条目尚未审核，审核后方可申诉。"
    if state.appeal is not None:
        return "该条目已提出过申诉，每个条目只能申诉一次。"
    ends = found.window_ends(calendar or load_calendar(session), state.decided_at)
    if now > ends:
        return f"申诉期已于 {deadline_day(ends).isoformat()} 结束。"
    return None


def file_appeal(session: Session, actor: Actor, entry_id: int, text) -> CreditLedger:
    """A tenant's officer or head appeals a decided entry of their own tenant, with a reason,
    inside the appeal window. Notifies the assessors."""
    with wider_scope("assessors"):
        ledger.lock_chain(session)
        entry = ledger.load_entry(session, entry_id)
        _require_appellant(actor, entry)
        errors: dict[str, str] = {}
        reason = _clean_text(text, errors)
        state = ledger.current_state(session, [entry.id])[entry.id]
        refusal = appeal_refusal(session, state, utcnow())
        if refusal:
            raise LedgerError({"entry": refusal}, status=409)
        if errors:
            raise LedgerError(errors)
        row = ledger.append_about(session, actor, entry, APPEALED, state.points, reason)
        # The assessors of every tenant but the appealing one (they may not answer it).
        notify.notify_every_tenant(
            session,
            "credit_appealed",
            f"{_tenant_name(session, entry.tenant_id)} 对积分条目 #{entry.id} 提出申诉，请处理。",
            url=f"/assessment/entries/{entry.id}",
            roles=("assessor",),
            except_tenant=entry.tenant_id,
        )
    return row


def answer_appeal(
    session: Session, actor: Actor, entry_id: int, outcome: str, *, points=None, reason=""
) -> CreditLedger:
    """An assessor of another tenant upholds (with the entry's new points) or dismisses an open
    appeal, with a required reason. Notifies the appealing tenant."""
    ledger.require_assessor(actor)
    if outcome not in APPEAL_DECISION_KINDS:
        raise ValueError(f"unknown appeal outcome {outcome!r}")
    with wider_scope("assessors"):
        ledger.lock_chain(session)
        entry = ledger.load_entry(session, entry_id)
        if entry.tenant_id == actor.tenant_id:
            raise LedgerError({"entry": "不能处理本单位的申诉。"}, status=403)
        state = ledger.current_state(session, [entry.id])[entry.id]
        _check_answerable(session, state)
        errors: dict[str, str] = {}
        new_points = state.points
        if outcome == APPEAL_UPHELD:
            new_points = ledger.parse_points(points, errors, "申诉成立须填写改定后的分值。")
            if new_points is not None and new_points == state.points:
                errors["points"] = "改定后的分值与现分值相同；如维持原结果，请选择驳回申诉。"
        text = ledger.clean_reason(reason, "处理申诉须填写理由。", errors)
        if errors:
            raise LedgerError(errors)
        row = ledger.append_about(session, actor, entry, outcome, new_points, text)
        notify.notify_tenant(
            session,
            entry.tenant_id,
            outcome,
            f"积分条目 #{entry.id} 的申诉已处理：{ANSWER_LABELS[outcome]}。",
            url=f"/assessment/entries/{entry.id}",
        )
    return row


def _check_answerable(session: Session, state: EntryState) -> None:
    if ledger.year_locked(session, state.year):
        raise LedgerError({"entry": ledger.LOCKED_MESSAGE}, status=409)
    if state.appeal is None:
        raise LedgerError({"entry": "该条目没有待处理的申诉。"}, status=409)
    if not state.appeal.open:
        label = ANSWER_LABELS[state.appeal.outcome]
        raise LedgerError(
            {"entry": f"该申诉已由 {state.appeal.answered_by} 处理（{label}），请刷新后查看。"},
            status=409,
        )


def _tenant_name(session: Session, tenant_id: int) -> str:
    with wider_scope("assessors"):
        return session.scalar(select(Tenant.name).where(Tenant.id == tenant_id)) or ""


# ---- before locking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class YearStatus:
    """Where a year stands between review and lock."""

    year: int
    publication: Publication | None
    pending: int
    open_appeals: int
    appeals: int
    window_ends: datetime | None  # the latest appeal window of a decided, unappealed entry
    locked: bool

    def lock_refusal(self, now: datetime) -> str | None:
        if self.locked:
            return f"{self.year} 年度已锁定。"
        if self.publication is None:
            return f"{self.year} 年度尚未公示，公示并经过申诉期后方可锁定。"
        if self.pending:
            return f"{self.year} 年度尚有 {self.pending} 条积分条目未审核，不能锁定。"
        if self.open_appeals:
            return f"{self.year} 年度尚有 {self.open_appeals} 件申诉未处理，不能锁定。"
        if self.window_ends is not None and now <= self.window_ends:
            return (
                f"申诉期至 {deadline_day(self.window_ends).isoformat()} 结束，"
                "申诉期结束后方可锁定。"
            )
        return None


def year_status(session: Session, year: int, calendar: WorkCalendar | None = None) -> YearStatus:
    """The year's publication, pending entries, appeals and last appeal window, over every
    tenant's entries (a wide read; only counts and a date leave it)."""
    calendar = calendar or load_calendar(session)
    found = publication(session, year)
    with wider_scope("assessors"):
        ids = session.scalars(
            select(CreditLedger.id).where(CreditLedger.year == year, CreditLedger.kind == PROPOSED)
        ).all()
        states = ledger.current_state(session, ids).values()
        locked = ledger.year_locked(session, year)
    return YearStatus(
        year=year,
        publication=found,
        pending=sum(1 for s in states if s.pending),
        open_appeals=sum(1 for s in states if s.appeal_open),
        appeals=sum(1 for s in states if s.appeal is not None),
        window_ends=_last_window(found, states, calendar),
        locked=locked,
    )


def _last_window(
    found: Publication | None, states: Iterable[EntryState], calendar: WorkCalendar
) -> datetime | None:
    decided = [s.decided_at for s in states if not s.pending and s.appeal is None]
    if found is None or not decided:
        return None
    # A window only grows with the decision's time: the latest decision's closes last.
    return found.window_ends(calendar, max(decided))


def lock_year(session: Session, actor: Actor, year: int) -> CreditLedger:
    """Close a year: published, every entry decided, every appeal answered, every appeal window
    over. After this only corrections (``ledger.correct``)."""
    ledger.require_assessor(actor)
    with wider_scope("assessors"):
        ledger.lock_chain(session)
        refusal = year_status(session, year).lock_refusal(utcnow())
        if refusal:
            raise LedgerError({"year": refusal}, status=409)
        return ledger.append(session, actor, year=year, kind=LOCKED)
