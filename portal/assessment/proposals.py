"""From what happened to what the rules propose (考核加分, DESIGN.md §4b): read a lead's
referral chain, its first introducer, its landing and later stages, and each referral's
deadlines, and turn them into scoring proposals. Read-only; the ledger appends them.

Choices the design leaves open, made here:

* **The chain** is the path of referrals that ended in the landing: the landed referral and its
  parents (transfers), from the first sender to the receiver. When the receiver lands the
  project in a park under it, the park is the host and takes the receiver's place at the end:
  the receiver hosted it through its park and is not an intermediary.
* **The first introducer** (首报) is the earliest posting of the company among all leads
  (``scoring.first_introducers``); the project is keyed by the 首报's lead, so a company is
  credited once however many times it was posted.
* **Dates**: a landing counts on its signing date (签约日期), a later stage on the date
  recorded for it, a penalty on its deadline; the year of that date is the entry's year. The
  window runs from the project's first referral (Asia/Shanghai date).
* **Penalties**: a referral is late to sign when it was signed after ``sign_by`` or is still
  unsigned past it; late to report when the first report came after ``report_by``, or none came
  and the referral is still open past it or closed as landed / not landed after it (the same
  reading as the timeliness shown on every referral page).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from portal.assessment.scoring import (
    Posting,
    Proposal,
    RuleSet,
    first_introducers,
    landing_proposals,
    penalty_proposals,
    stage_proposals,
)
from portal.leads.models import Lead, LeadStage
from portal.leads.service import CREDITED_STAGES
from portal.referrals import service as referrals
from portal.referrals.models import Referral
from portal.workdays.calendar import local_date
from tenants.models import Tenant


@dataclass(frozen=True)
class YearProposal:
    """A proposal and the assessment year it belongs to."""

    year: int
    proposal: Proposal


RulesFor = Callable[[int], RuleSet]


def tenant_kinds(session) -> dict[int, str]:
    return dict(session.execute(select(Tenant.id, Tenant.kind)).all())


def postings(session) -> list[Posting]:
    """Every lead as a posting of its company (the caller holds a wide scope)."""
    rows = session.execute(
        select(Lead.id, Lead.tenant_id, Lead.credit_code, Lead.company, Lead.created_at)
    ).all()
    return [Posting(*row) for row in rows]


def landing_chain(session, lead: Lead) -> list[int] | None:
    """Tenant ids from the first sender to the host, or None when the lead has not landed
    through a referral (an owner landing its own lead earns no credit)."""
    landed = session.scalar(
        select(Referral).where(Referral.lead_id == lead.id, Referral.state == "landed").limit(1)
    )
    if landed is None or lead.host_tenant_id is None:
        return None
    path = [landed]
    while path[-1].parent_id is not None:
        path.append(session.get(Referral, path[-1].parent_id))
    path.reverse()
    chain = [path[0].from_tenant_id, *(referral.to_tenant_id for referral in path)]
    chain[-1] = lead.host_tenant_id
    return chain


def first_referral_on(session, lead_id: int) -> date | None:
    sent = session.scalar(
        select(Referral.sent_at).where(Referral.lead_id == lead_id).order_by(Referral.sent_at)
    )
    return local_date(sent) if sent is not None else None


def lead_proposals(
    session, rules_for: RulesFor, lead: Lead, report=None, kinds=None
) -> list[YearProposal]:
    """The landing and stage proposals of one lead (none before it lands through a referral).
    ``report``: the first-introducer report over all postings, when the caller has one."""
    chain = landing_chain(session, lead)
    started = first_referral_on(session, lead.id)
    if chain is None or started is None or lead.signed_on is None:
        return []
    report = report or first_introducers(postings(session))
    kinds = kinds if kinds is not None else tenant_kinds(session)
    first = report.first_of(lead.id)
    common = {
        "lead_id": first.lead_id,
        "chain": chain,
        "first_introducer_tenant_id": first.tenant_id,
        "first_referral_on": started,
        "tenant_kinds": kinds,
    }
    rules = rules_for(lead.signed_on.year)
    found = [
        YearProposal(lead.signed_on.year, _with_evidence(p, lead))
        for p in landing_proposals(
            rules, planned_investment=lead.planned_investment, landed_on=lead.signed_on, **common
        )
    ]
    for stage in session.scalars(
        select(LeadStage).where(LeadStage.lead_id == lead.id, LeadStage.stage.in_(CREDITED_STAGES))
    ):
        stage_rules = rules_for(stage.on_date.year)
        found += [
            YearProposal(stage.on_date.year, _with_evidence(p, lead))
            for p in stage_proposals(
                stage_rules, stage=stage.stage, reached_on=stage.on_date, **common
            )
        ]
    return found


def _with_evidence(proposal: Proposal, lead: Lead) -> Proposal:
    inputs = dict(proposal.inputs) | {"landed_lead_id": lead.id, "lead_code": lead.code or ""}
    return dataclasses.replace(proposal, inputs=inputs)


def referral_penalties(
    session, rules_for: RulesFor, referral: Referral, now: datetime, kinds=None
) -> list[YearProposal]:
    """Late signing and late first report of one referral, charged to its receiver."""
    kinds = kinds if kinds is not None else tenant_kinds(session)
    signed_late, reported_late = late_deadlines(referral, now)
    found = []
    for which, late, deadline, done in (
        ("sign", signed_late, referral.sign_by, referral.accepted_at),
        ("report", reported_late, referral.report_by, referral.first_report_at),
    ):
        if not late:
            continue
        year = local_date(deadline).year
        for proposal in penalty_proposals(
            rules_for(year),
            referral_id=referral.id,
            receiver_tenant_id=referral.to_tenant_id,
            signed_late=which == "sign",
            reported_late=which == "report",
            tenant_kinds=kinds,
        ):
            inputs = dict(proposal.inputs) | {
                "lead_id": referral.lead_id,
                "deadline": deadline.isoformat(),
                "done_at": done.isoformat() if done is not None else "",
            }
            found.append(YearProposal(year, dataclasses.replace(proposal, inputs=inputs)))
    return found


def late_deadlines(referral: Referral, now: datetime) -> tuple[bool, bool]:
    """(late to sign, late to report) — the timeliness every referral page shows."""
    timeliness = referrals.timeliness(referral, now, _NO_CALENDAR)
    return timeliness.sign_late, timeliness.report_late


class _NoCalendar:
    """Lateness needs no working-day count; ``timeliness`` asks for one only for overdue
    days, which the penalty does not use."""

    def working_days_overdue(self, deadline, now) -> int:
        return 0


_NO_CALENDAR = _NoCalendar()


def all_proposals(session, rules_for: RulesFor, now: datetime) -> Iterator[YearProposal]:
    """Every proposal the current rules give, for recomputing (the caller holds a wide scope)."""
    report = first_introducers(postings(session))
    kinds = tenant_kinds(session)
    for lead in session.scalars(select(Lead).where(Lead.host_tenant_id.is_not(None))):
        yield from lead_proposals(session, rules_for, lead, report, kinds)
    for referral in session.scalars(select(Referral)):
        yield from referral_penalties(session, rules_for, referral, now, kinds)
