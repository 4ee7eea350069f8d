"""Assessment credit as the workflow drives it: which rules apply to a year, and proposing the
entries an event gives — in the transaction of the event (a landing, a later stage) or by the
periodic `flask assessment propose` (late deadlines, and anything a failed hook missed).
Idempotent throughout: the ledger appends only keys it has not seen. No Flask here."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from portal.assessment import ledger, proposals
from portal.assessment.models import PROPOSED, CreditLedger, ScoringRuleSet
from portal.assessment.scoring import RuleSet, apply_yearly_cap, default_rules, merge_new
from portal.audit.service import SYSTEM, Actor
from portal.leads.models import Lead
from tenants.scoping import wider_scope

log = logging.getLogger(__name__)
ZERO = Decimal("0")


def rules_for(session, year: int) -> RuleSet:
    """The newest rule version of ``year``, or the default rules when none was saved."""
    row = session.scalar(
        select(ScoringRuleSet)
        .where(ScoringRuleSet.year == year)
        .order_by(ScoringRuleSet.version.desc())
        .limit(1)
    )
    return ledger.rules_from_json(row.rules) if row is not None else default_rules(year)


def _rules_lookup(session):
    cache: dict[int, RuleSet] = {}

    def lookup(year: int) -> RuleSet:
        if year not in cache:
            cache[year] = rules_for(session, year)
        return cache[year]

    return lookup


def counted_points(session, year: int) -> dict[int, Decimal]:
    """Each tenant's positive points of ``year`` that use up its cap: approved or adjusted
    entries, and proposals still pending (a proposal holds its room until decided)."""
    entry_ids = session.scalars(
        select(CreditLedger.id).where(CreditLedger.year == year, CreditLedger.kind == PROPOSED)
    ).all()
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for state in ledger.current_state(session, entry_ids).values():
        if state.points > 0:
            totals[state.tenant_id] += state.points
    return dict(totals)


def _append(session, actor: Actor, found: Iterable[proposals.YearProposal]) -> int:
    """Append the new proposals, year by year, each year's positive points capped."""
    by_year: dict[int, list] = defaultdict(list)
    for item in found:
        by_year[item.year].append(item.proposal)
    added = 0
    for year, items in sorted(by_year.items()):
        if ledger.year_locked(session, year):
            log.info("assessment year %s is locked: %d proposals not added", year, len(items))
            continue
        existing = ledger.existing_keys(session, year, [p.key for p in items])
        fresh = merge_new(existing, items)
        if not fresh:
            continue
        capped = apply_yearly_cap(rules_for(session, year), counted_points(session, year), fresh)
        added += len(ledger.propose(session, actor, year, capped))
    return added


def propose_for_lead(session, lead_id: int, actor: Actor = SYSTEM) -> int:
    """The landing and stage entries of one lead, in the caller's transaction (called by the
    services that land a lead or record its stage). Returns how many were added."""
    with wider_scope("assessors"):
        lead = session.get(Lead, lead_id)
        if lead is None:
            return 0
        return _append(
            session, actor, proposals.lead_proposals(session, _rules_lookup(session), lead)
        )


def propose_all(session, now: datetime, actor: Actor = SYSTEM) -> int:
    """Every entry the current rules give that the ledger does not hold yet (late deadlines,
    and any landing or stage a hook missed). The caller commits."""
    with wider_scope("assessors"):
        found = list(proposals.all_proposals(session, _rules_lookup(session), now))
        return _append(session, actor, found)


@dataclass(frozen=True)
class Difference:
    key: str
    tenant_id: int
    stored: Decimal | None  # None: the current rules propose an entry the ledger lacks
    current: Decimal | None  # None: the ledger holds an entry the current rules would not give


def recompute(session, year: int, now: datetime) -> list[Difference]:
    """Where the current rules would propose differently from what the ledger holds for
    ``year`` (before caps): new keys, vanished keys, other points. Changes nothing."""
    with wider_scope("assessors"):
        current = {
            item.proposal.key: item.proposal
            for item in proposals.all_proposals(session, _rules_lookup(session), now)
            if item.year == year
        }
        stored = {
            row.entry_key: row
            for row in session.scalars(
                select(CreditLedger).where(CreditLedger.year == year, CreditLedger.kind == PROPOSED)
            )
        }
    differences = []
    for key in sorted(set(current) | set(stored)):
        now_gives, held = current.get(key), stored.get(key)
        if held is not None and now_gives is not None and held.points == now_gives.points:
            continue
        differences.append(
            Difference(
                key,
                (held or now_gives).tenant_id,
                held.points if held is not None else None,
                now_gives.points if now_gives is not None else None,
            )
        )
    session.rollback()
    return differences
