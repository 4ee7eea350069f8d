"""Read-only queries behind the referral pages: tabs, filters, counts and one page of rows.

Every statement runs in the caller's tenant scope (tenants/scoping.py adds the visibility
criteria); these helpers only add the filters of the page. Lists are read in two steps: the ids of
one page from the (to|from)_tenant_id, state, sent_at indexes, then the rows of those ids with
their joined lead and tenants, so a page of 20 never joins or sorts thousands of rows.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime
from math import ceil

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from portal.leads import codes
from portal.pagination import Page
from portal.referrals.models import ExtensionRequest, Feedback, Referral
from portal.referrals.service import (
    Timeliness,
    open_deadline,
    overdue_condition,
    overdue_ways,
    timeliness,
    urged_today,
)
from portal.workdays.calendar import WorkCalendar
from tenants.models import Tenant

PER_PAGE = 20
MAX_PAGE = 10_000
SIGN_STATES = ("sent", "return_requested")
# States an overdue referral can be in (overdue_condition holds only for these).
OVERDUE_STATES = ("sent", "return_requested", "accepted")

# The receiver's tabs: key -> (label, states). "overdue" is a condition, not a state list.
INBOX_TABS = {
    "pending": ("待签收", SIGN_STATES),
    "handling": ("办理中", ("accepted", "reported")),
    "overdue": ("已逾期", OVERDUE_STATES),
    "closed": ("已办结", codes.CLOSED_STATES),
}


@dataclass
class Row:
    """One referral on a list, with how it stands against its deadlines now."""

    referral: Referral
    timeliness: Timeliness
    deadline: tuple[str, datetime] | None
    urged_today: bool = False


def _page_number(page: int, total: int, per_page: int) -> int:
    return min(max(page, 1), max(1, ceil(total / per_page)), MAX_PAGE)


def _count(session: Session, *where) -> int:
    return session.scalar(select(func.count(Referral.id)).where(*where)) or 0


def _load(session: Session, ids: list[int], now: datetime, calendar: WorkCalendar) -> list[Row]:
    """The rows of ``ids`` in that order, each with its timeliness (only the rows shown)."""
    if not ids:
        return []
    found = {r.id: r for r in session.scalars(select(Referral).where(Referral.id.in_(ids)))}
    return [
        Row(
            found[i],
            timeliness(found[i], now, calendar),
            open_deadline(found[i]),
            urged_today(found[i], now),
        )
        for i in ids
        if i in found
    ]


def _merged_ids(streams, offset: int, limit: int, newest_first: bool = False) -> list[int]:
    """One page of ids from ``(sort value, id)`` streams, each already in that order and at
    least ``offset + limit`` long: a merge instead of one large sort."""
    merged = heapq.merge(*streams, key=lambda row: (row[0], row[1]), reverse=newest_first)
    return [row[1] for row in merged][offset : offset + limit]


def _newest_ids(session: Session, side, tenant_id: int, states, extra, offset: int, limit: int):
    """Ids of ``side == tenant_id`` in ``states``, newest first, one page: each state read in
    index order (side, state, sent_at) and merged."""
    streams = [
        session.execute(
            select(Referral.sent_at, Referral.id)
            .where(side == tenant_id, Referral.state == state, *extra)
            .order_by(Referral.sent_at.desc(), Referral.id.desc())
            .limit(offset + limit)
        ).all()
        for state in states
    ]
    return _merged_ids(streams, offset, limit, newest_first=True)


# ---- the receiver's inbox --------------------------------------------------------------------


def _overdue_ids(session: Session, side_filter, now: datetime, offset: int, limit: int):
    """One page of overdue ids of one side, longest overdue first: each way of being overdue
    read in its index's deadline order and merged."""
    streams = [
        session.execute(
            select(deadline, Referral.id)
            .where(side_filter, *condition)
            .order_by(deadline, Referral.id)
            .limit(offset + limit)
        ).all()
        for condition, deadline in overdue_ways(now)
    ]
    return _merged_ids(streams, offset, limit)


def inbox_counts(session: Session, tenant_id: int, now: datetime) -> dict[str, int]:
    """Per tab, how many referrals addressed to ``tenant_id`` it holds."""
    by_state = dict(
        session.execute(
            select(Referral.state, func.count(Referral.id))
            .where(Referral.to_tenant_id == tenant_id)
            .group_by(Referral.state)
        ).all()
    )
    counts = {
        key: sum(by_state.get(s, 0) for s in states)
        for key, (_, states) in INBOX_TABS.items()
        if key != "overdue"
    }
    counts["overdue"] = overdue_count(session, now, to_id=tenant_id)
    return counts


def _current_deadline():
    return case((Referral.state.in_(SIGN_STATES), Referral.sign_by), else_=Referral.report_by)


def inbox_page(
    session: Session,
    tenant_id: int,
    tab: str,
    page: int,
    total: int,
    now: datetime,
    calendar: WorkCalendar,
) -> Page:
    """One page of a tab: open tabs nearest deadline first, the closed tab newest first."""
    page = _page_number(page, total, PER_PAGE)
    offset = (page - 1) * PER_PAGE
    states = INBOX_TABS[tab][1]
    mine = Referral.to_tenant_id == tenant_id
    if tab == "closed":
        ids = _newest_ids(session, Referral.to_tenant_id, tenant_id, states, (), offset, PER_PAGE)
    else:
        where = [mine, Referral.state.in_(states)]
        if tab == "pending":
            order = (Referral.sign_by, Referral.id)
        elif tab == "handling":
            # Those still owing the first report come first, by that deadline.
            order = (Referral.first_report_at.is_not(None), Referral.report_by, Referral.id)
        else:
            ids = _overdue_ids(session, mine, now, offset, PER_PAGE)
            return Page(_load(session, ids, now, calendar), total, page, PER_PAGE)
        ids = list(
            session.scalars(
                select(Referral.id).where(*where).order_by(*order).limit(PER_PAGE).offset(offset)
            )
        )
    return Page(_load(session, ids, now, calendar), total, page, PER_PAGE)


# ---- the sender's list and the city board ----------------------------------------------------


def _states(state: str) -> tuple[str, ...] | None:
    """The states a state filter stands for (None: every state)."""
    if state in codes.REFERRAL_STATES:
        return (state,)
    if state == "open":
        return codes.OPEN_STATES
    if state == "closed":
        return codes.CLOSED_STATES
    return None


def _tenant_filters(from_id, to_id) -> list:
    where = []
    if from_id:
        where.append(Referral.from_tenant_id == from_id)
    if to_id:
        where.append(Referral.to_tenant_id == to_id)
    return where


def _overdue_filters(now: datetime) -> list:
    return [Referral.state.in_(OVERDUE_STATES), overdue_condition(now)]


def filtered_page(
    session: Session,
    *,
    state: str,
    overdue: bool,
    page: int,
    now: datetime,
    calendar: WorkCalendar,
    from_id: int | None = None,
    to_id: int | None = None,
) -> Page:
    """Referrals matching the filters, newest first (overdue ones: longest overdue first)."""
    states = _states(state)
    extra = _overdue_filters(now) if overdue else []
    where = _tenant_filters(from_id, to_id) + extra
    if states is not None:
        where.append(Referral.state.in_(states))
    total = _count(session, *where)
    page = _page_number(page, total, PER_PAGE)
    offset = (page - 1) * PER_PAGE
    if overdue:
        ordered = select(Referral.id).order_by(_current_deadline(), Referral.id)
    elif (from_id or to_id) and (states is None or len(states) > 1):
        # One side fixed, several states: merge the per-state ranges of that side's index.
        side, tenant_id = (
            (Referral.from_tenant_id, from_id) if from_id else (Referral.to_tenant_id, to_id)
        )
        other = _tenant_filters(None, to_id) if from_id else []
        ids = _newest_ids(
            session,
            side,
            tenant_id,
            states or tuple(codes.REFERRAL_STATES),
            other,
            offset,
            PER_PAGE,
        )
        return Page(_load(session, ids, now, calendar), total, page, PER_PAGE)
    else:
        ordered = select(Referral.id).order_by(Referral.sent_at.desc(), Referral.id.desc())
    ids = list(session.scalars(ordered.where(*where).limit(PER_PAGE).offset(offset)))
    return Page(_load(session, ids, now, calendar), total, page, PER_PAGE)


def state_counts(session: Session, *, from_id=None, to_id=None) -> dict[str, int]:
    """Referrals per state (for the board's header), within the tenant filters."""
    where = _tenant_filters(from_id, to_id)
    return dict(
        session.execute(
            select(Referral.state, func.count(Referral.id)).where(*where).group_by(Referral.state)
        ).all()
    )


def overdue_count(session: Session, now: datetime, *, from_id=None, to_id=None) -> int:
    where = _tenant_filters(from_id, to_id)
    if not where:
        return _count(session, *_overdue_filters(now))
    # One side fixed: count each way of being overdue on its own index range.
    return sum(_count(session, *where, *condition) for condition, _ in overdue_ways(now))


# ---- one referral ----------------------------------------------------------------------------


def feedback_of(session: Session, referral: Referral) -> list[Feedback]:
    return list(
        session.scalars(
            select(Feedback)
            .where(Feedback.referral_id == referral.id)
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        )
    )


def extensions_of(session: Session, referral: Referral) -> list[ExtensionRequest]:
    return list(
        session.scalars(
            select(ExtensionRequest)
            .where(ExtensionRequest.referral_id == referral.id)
            .order_by(ExtensionRequest.id)
        )
    )


def children_of(session: Session, referral: Referral) -> list[Referral]:
    """The referrals this one was transferred on as (those the user may see)."""
    return list(
        session.scalars(
            select(Referral).where(Referral.parent_id == referral.id).order_by(Referral.id)
        )
    )


def tenants_by_id(session: Session) -> dict[int, Tenant]:
    return {t.id: t for t in session.scalars(select(Tenant).order_by(Tenant.kind, Tenant.code))}
