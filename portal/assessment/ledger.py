"""The credit ledger (issue 5, points 3–5): append-only, hash-chained, decided by assessors.

Plain functions over a session and an audit ``Actor``; no Flask here.

- :func:`append` is the only writer. It takes the chain lock, links the new row to the last
  one's hash and hashes every column but ``id`` and ``hash`` (:func:`row_hash`).
- :func:`propose` appends the system's proposals whose key is new for the year (idempotent).
- :func:`decide` appends an assessor's decision about a proposal; :func:`correct` adds a
  correction to a locked year (``appeals`` publishes a year, takes appeals and locks it).
  The proposal row never changes.
- :func:`current_state` folds the decisions into each proposal's state; :func:`verify` walks
  the chain with ``audit.walk_chain``, as ``audit.verify_chain`` does.

Lock order: every ledger writer takes the audit chain's lock first, then the ledger's. A
transaction that records an audit event and then proposes credit (a landing) and one that
decides (ledger row, then audit event) thus take both locks in the same order and never wait
on each other. On SQLite the write transaction (BEGIN IMMEDIATE) already serialises writers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from portal.assessment.models import (
    ADJUSTED,
    APPEAL_DISMISSED,
    APPEAL_UPHELD,
    APPEALED,
    APPROVED,
    CORRECTION,
    DECISION_KINDS,
    ENTRY_EVENT_KINDS,
    KIND_LABELS,
    LOCKED,
    POINT_KINDS,
    PROPOSED,
    PUBLISHED,
    REJECTED,
    CreditLedger,
)
from portal.assessment.scoring import (
    MAX_POINTS,
    ONE_PLACE,
    Proposal,
    RuleSet,
    Tier,
    merge_new,
    round_points,
)
from portal.audit.models import GENESIS_HASH
from portal.audit.service import (
    AUDIT_CHAIN_LOCK_KEY,
    Actor,
    ChainReport,
    canonical_json,
    record,
    walk_chain,
)
from portal.database import utcnow
from portal.validation import InputError
from tenants.models import Tenant
from tenants.scoping import wider_scope

# Any constant other than the audit chain's: all ledger writers on PostgreSQL take it.
LEDGER_CHAIN_LOCK_KEY = 7_345_002
# The largest magnitude an assessor may give an entry or a correction.
MAX_REASON_CHARS = 500
# Keys looked up per statement when filtering proposals (well under every database's limit).
KEY_BATCH = 500

WRITABLE_FIELDS = frozenset(
    {"year", "tenant_id", "kind", "entry_key", "entry_id", "rule", "points", "inputs", "reason"}
)
# What a row's hash covers: every column but id and hash. A fixed list, not the table's columns:
# a column added later must not change the hashes of the rows stored before it (a test checks
# the list against the table).
HASHED_COLUMNS = (
    "actor_id",
    "actor_name",
    "actor_tenant_id",
    "created_at",
    "entry_id",
    "entry_key",
    "inputs",
    "kind",
    "points",
    "prev_hash",
    "reason",
    "rule",
    "tenant_id",
    "year",
)

AUDIT_ACTIONS = {
    APPROVED: "credit_approved",
    REJECTED: "credit_rejected",
    ADJUSTED: "credit_adjusted",
    CORRECTION: "credit_corrected",
    PUBLISHED: "credit_year_published",
    LOCKED: "credit_year_locked",
    APPEALED: "credit_appealed",
    APPEAL_UPHELD: "credit_appeal_upheld",
    APPEAL_DISMISSED: "credit_appeal_dismissed",
}

LOCKED_MESSAGE = "该年度已锁定，只能以更正条目调整。"


class LedgerError(InputError):
    """A refused ledger action. ``status`` says why, as HTTP would: 422 bad input, 409 the
    ledger moved on under the actor (decided by someone else, the year locked), 403 an action
    this actor may never take on this entry (their own tenant's, another tenant's appeal)."""

    def __init__(self, errors: dict[str, str], status: int = 422):
        super().__init__(errors)
        self.status = status


@dataclass(frozen=True)
class Appeal:
    """A tenant's appeal against an entry's decision and, once answered, the answer."""

    id: int
    text: str
    appealed_by: str
    appealed_at: datetime
    contested_points: Decimal
    outcome: str | None = None  # APPEAL_UPHELD or APPEAL_DISMISSED once answered
    answer: str = ""
    answered_by: str | None = None
    answered_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class EntryState:
    """A proposal as its latest decision leaves it. ``points`` is what counts now (the
    proposal's until decided); ``decided_by`` is the deciding assessor's login name. An upheld
    appeal is the latest decision: ``state`` is then APPEAL_UPHELD with the new points."""

    entry_id: int
    year: int
    tenant_id: int
    rule: str
    state: str  # PROPOSED, APPROVED, REJECTED or ADJUSTED
    points: Decimal
    proposed_points: Decimal
    reason: str = ""
    decided_by: str | None = None
    decided_by_id: int | None = None
    decided_at: datetime | None = None
    decision_id: int | None = None
    appeal: Appeal | None = None

    @property
    def pending(self) -> bool:
        return self.state == PROPOSED

    @property
    def appeal_open(self) -> bool:
        return self.appeal is not None and self.appeal.open


# What ``verify`` returns: rows checked, and the first broken row's id and why.
LedgerReport = ChainReport


# ---- rule sets as stored text -----------------------------------------------------------------


def rules_to_json(rules: RuleSet) -> str:
    """A RuleSet as canonical JSON (decimals as strings, so nothing is lost)."""
    return canonical_json(
        {
            "year": rules.year,
            "version": rules.version,
            "effective_from": rules.effective_from.isoformat(),
            "tiers": [
                {"min_investment": tier.min_investment, "points": str(tier.points)}
                for tier in rules.tiers
            ],
            "stage_bonus": {stage: str(bonus) for stage, bonus in rules.stage_bonus.items()},
            "first_introducer_share": str(rules.first_introducer_share),
            "intermediary_share": str(rules.intermediary_share),
            "late_sign_penalty": str(rules.late_sign_penalty),
            "late_report_penalty": str(rules.late_report_penalty),
            "yearly_cap": str(rules.yearly_cap),
            "unscored_kinds": sorted(rules.unscored_kinds),
            "credit_window_days": rules.credit_window_days,
        }
    )


def rules_from_json(text: str) -> RuleSet:
    data = json.loads(text)
    return RuleSet(
        year=data["year"],
        version=data["version"],
        effective_from=date.fromisoformat(data["effective_from"]),
        tiers=tuple(Tier(t["min_investment"], Decimal(t["points"])) for t in data["tiers"]),
        stage_bonus={stage: Decimal(bonus) for stage, bonus in data["stage_bonus"].items()},
        first_introducer_share=Decimal(data["first_introducer_share"]),
        intermediary_share=Decimal(data["intermediary_share"]),
        late_sign_penalty=Decimal(data["late_sign_penalty"]),
        late_report_penalty=Decimal(data["late_report_penalty"]),
        yearly_cap=Decimal(data["yearly_cap"]),
        unscored_kinds=frozenset(data["unscored_kinds"]),
        credit_window_days=data["credit_window_days"],
    )


# ---- the chain --------------------------------------------------------------------------------


def _hash_value(value):
    """A column value as it hashes the same before storing and after reading it back from
    SQLite or PostgreSQL: points as a fixed one-place string (no negative zero), timestamps as
    UTC ISO with microseconds."""
    if isinstance(value, Decimal):
        fixed = value.quantize(ONE_PLACE)
        return format(fixed.copy_abs() if fixed.is_zero() else fixed, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def row_hash(row: CreditLedger) -> str:
    payload = {name: _hash_value(getattr(row, name)) for name in HASHED_COLUMNS}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Audit first, then ledger: see the module docstring.
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_CHAIN_LOCK_KEY)))
        session.execute(select(func.pg_advisory_xact_lock(LEDGER_CHAIN_LOCK_KEY)))


def append(session: Session, actor: Actor, **fields) -> CreditLedger:
    """Append one row in the caller's transaction: the only way rows are written."""
    unknown = set(fields) - WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"append() does not write {', '.join(sorted(unknown))}")
    values = {"tenant_id": None, "entry_key": None, "entry_id": None, "points": None}
    values |= {"rule": "", "inputs": "", "reason": ""} | fields
    with wider_scope("assessors"):
        lock_chain(session)
        prev = session.scalar(select(CreditLedger.hash).order_by(CreditLedger.id.desc()).limit(1))
        row = CreditLedger(
            **values,
            actor_id=actor.user_id,
            actor_name=actor.name,
            actor_tenant_id=actor.tenant_id,
            created_at=utcnow(),
            prev_hash=prev or GENESIS_HASH,
        )
        row.hash = row_hash(row)
        session.add(row)
        session.flush()
        if row.kind in AUDIT_ACTIONS:
            _audit(session, actor, row)
    return row


def append_about(
    session: Session, actor: Actor, entry: CreditLedger, kind: str, points, reason: str
) -> CreditLedger:
    """Append a row about one proposal (a decision, an appeal, an answer): it carries the
    proposal's year, tenant and rule and names it in ``entry_id``."""
    return append(
        session,
        actor,
        year=entry.year,
        tenant_id=entry.tenant_id,
        kind=kind,
        entry_id=entry.id,
        rule=entry.rule,
        points=points,
        reason=reason,
    )


def _audit(session: Session, actor: Actor, row: CreditLedger) -> None:
    after = {
        "year": row.year,
        "tenant_id": row.tenant_id,
        "entry_id": row.entry_id,
        "points": _hash_value(row.points),
        "reason": row.reason,
    }
    record(
        session,
        actor,
        AUDIT_ACTIONS[row.kind],
        object_type="credit_ledger",
        object_id=row.id,
        after={key: value for key, value in after.items() if value not in (None, "")},
    )


def verify(session: Session, batch_size: int = 1000) -> LedgerReport:
    """Walk the chain in id order and report the first row whose link or content is wrong."""
    with wider_scope("assessors"):
        return walk_chain(
            session,
            CreditLedger,
            row_hash,
            batch_size,
            ("与前一条记录的哈希链接不符", "内容与其哈希不符"),
        )


# ---- proposals --------------------------------------------------------------------------------


def existing_keys(session: Session, year: int, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), KEY_BATCH):
        batch = keys[start : start + KEY_BATCH]
        found.update(
            session.scalars(
                select(CreditLedger.entry_key).where(
                    CreditLedger.year == year, CreditLedger.entry_key.in_(batch)
                )
            )
        )
    return found


def year_locked(session: Session, year: int) -> bool:
    """Whether the year has a ``locked`` row (year rows are visible to every scope)."""
    locked = select(CreditLedger.id).where(CreditLedger.year == year, CreditLedger.kind == LOCKED)
    return session.scalar(select(exists(locked))) or False


def propose(
    session: Session, actor: Actor, year: int, proposals: Iterable[Proposal]
) -> list[CreditLedger]:
    """Append a ``proposed`` row for each proposal whose key is new for ``year``; return them.

    Replaying the same proposals adds nothing, also when two transactions race: the chain lock
    serialises them and the second finds the first's keys (the unique (year, entry_key) index
    backs this up). New proposals for a locked year are refused; replays of stored ones are not.
    """
    proposals = list(proposals)
    for proposal in proposals:
        if proposal.points != round_points(proposal.points):
            raise ValueError(f"proposal {proposal.key} has points with more than one decimal")
    if not proposals:
        return []
    with wider_scope("assessors"):
        lock_chain(session)
        keys = list(dict.fromkeys(p.key for p in proposals))
        new = merge_new(existing_keys(session, year, keys), proposals)
        if new and year_locked(session, year):
            raise LedgerError({"year": f"{year} 年度已锁定，不再接受新的积分条目。"})
        return [
            append(
                session,
                actor,
                year=year,
                tenant_id=p.tenant_id,
                kind=PROPOSED,
                entry_key=p.key,
                rule=p.rule,
                points=p.points,
                inputs=canonical_json(dict(p.inputs)),
            )
            for p in new
        ]


# ---- state ------------------------------------------------------------------------------------


def current_state(session: Session, entry_ids: Iterable[int]) -> dict[int, EntryState]:
    """The state of each proposal among ``entry_ids`` the current scope sees: its latest
    decision, or ``proposed`` while undecided. Ids of other rows are left out."""
    ids = sorted(set(entry_ids))
    states: dict[int, EntryState] = {}
    for start in range(0, len(ids), KEY_BATCH):
        batch = ids[start : start + KEY_BATCH]
        rows = session.scalars(
            select(CreditLedger)
            .where(
                or_(
                    and_(CreditLedger.id.in_(batch), CreditLedger.kind == PROPOSED),
                    and_(
                        CreditLedger.entry_id.in_(batch),
                        CreditLedger.kind.in_(ENTRY_EVENT_KINDS),
                    ),
                )
            )
            .order_by(CreditLedger.id)
        ).all()
        for row in rows:
            if row.kind == PROPOSED:
                states[row.id] = _proposed_state(row)
            elif row.entry_id in states:
                states[row.entry_id] = _folded(states[row.entry_id], row)
    return states


def _folded(state: EntryState, row: CreditLedger) -> EntryState:
    if row.kind == APPEALED:
        appeal = Appeal(row.id, row.reason, row.actor_name, row.created_at, row.points)
        return replace(state, appeal=appeal)
    if row.kind in (APPEAL_UPHELD, APPEAL_DISMISSED) and state.appeal is not None:
        answered = replace(
            state.appeal,
            outcome=row.kind,
            answer=row.reason,
            answered_by=row.actor_name,
            answered_at=row.created_at,
        )
        state = replace(state, appeal=answered)
    if row.kind in POINT_KINDS:
        return _decided_state(state, row)
    return state


def _proposed_state(row: CreditLedger) -> EntryState:
    return EntryState(
        entry_id=row.id,
        year=row.year,
        tenant_id=row.tenant_id,
        rule=row.rule,
        state=PROPOSED,
        points=row.points,
        proposed_points=row.points,
    )


def _decided_state(state: EntryState, row: CreditLedger) -> EntryState:
    return replace(
        state,
        state=row.kind,
        points=row.points,
        reason=row.reason,
        decided_by=row.actor_name,
        decided_by_id=row.actor_id,
        decided_at=row.created_at,
        decision_id=row.id,
    )


def pending_count(session: Session, year: int) -> int:
    """Proposals of ``year`` without a decision, among those the current scope sees."""
    decision = aliased(CreditLedger)
    decided = select(decision.id).where(decision.entry_id == CreditLedger.id)
    return session.scalar(
        select(func.count(CreditLedger.id)).where(
            CreditLedger.year == year, CreditLedger.kind == PROPOSED, ~exists(decided)
        )
    )


# ---- decisions --------------------------------------------------------------------------------


def require_assessor(actor: Actor) -> None:
    if not actor.has_role("assessor"):
        raise PermissionError("only assessors decide credit entries")


def clean_reason(reason, required_message: str | None, errors: dict[str, str]) -> str:
    text = (reason or "").strip()
    if not text and required_message:
        errors["reason"] = required_message
    elif len(text) > MAX_REASON_CHARS:
        errors["reason"] = f"理由不超过 {MAX_REASON_CHARS} 字。"
    return text


def parse_points(value, errors: dict[str, str], missing: str) -> Decimal | None:
    """Points an assessor typed: a number with at most one decimal, within ±MAX_POINTS."""
    raw = str(value).strip() if value is not None else ""
    if not raw:
        errors["points"] = missing
        return None
    try:
        points = Decimal(raw)
    except InvalidOperation:
        points = None
    if points is None or not points.is_finite():
        errors["points"] = "分值须为数字。"
    elif points.copy_abs() > MAX_POINTS:  # before rounding, which refuses 1E+30
        errors["points"] = f"分值须在 -{MAX_POINTS} 到 {MAX_POINTS} 之间。"
    elif points != round_points(points):
        errors["points"] = "分值最多保留一位小数。"
    else:
        return round_points(points)
    return None


def load_entry(session: Session, entry_id: int) -> CreditLedger:
    entry = session.scalar(
        select(CreditLedger).where(CreditLedger.id == entry_id, CreditLedger.kind == PROPOSED)
    )
    if entry is None:
        raise LedgerError({"entry": "积分条目不存在。"}, status=404)
    return entry


def _check_decidable(session: Session, actor: Actor, entry: CreditLedger) -> None:
    """Run under the chain lock: what another assessor did a moment ago is seen here."""
    if entry.tenant_id == actor.tenant_id:
        raise LedgerError({"entry": "不能审核本单位受益的积分条目。"}, status=403)
    if year_locked(session, entry.year):
        raise LedgerError({"entry": LOCKED_MESSAGE}, status=409)
    state = current_state(session, [entry.id])[entry.id]
    if not state.pending:
        raise LedgerError(
            {
                "entry": f"该条目已由 {state.decided_by} 审核（{KIND_LABELS[state.state]}），"
                "不能重复审核，请刷新后查看。"
            },
            status=409,
        )


def _decision_points(entry: CreditLedger, decision: str, points, errors: dict) -> Decimal:
    if decision == APPROVED:
        return entry.points
    if decision == REJECTED:
        return Decimal("0.0")
    new = parse_points(points, errors, "调整积分须填写调整后的分值。")
    if new is not None and new == entry.points:
        errors["points"] = "调整后的分值与原分值相同，请直接通过。"
    return new


def decide(
    session: Session,
    actor: Actor,
    entry_id: int,
    decision: str,
    *,
    points=None,
    reason: str = "",
) -> CreditLedger:
    """Append an assessor's decision (approved, rejected or adjusted) about a pending proposal.

    Refused: actors without the assessor role (PermissionError); with LedgerError, an entry
    that benefits the assessor's own tenant, a locked year, an entry already decided (also by
    another assessor a moment ago), a missing reason (rejected, adjusted), bad points."""
    require_assessor(actor)
    if decision not in DECISION_KINDS:
        raise ValueError(f"unknown decision {decision!r}")
    if points is not None and decision != ADJUSTED:
        raise ValueError("only an adjustment carries points")
    required = {REJECTED: "驳回须填写理由。", ADJUSTED: "调整须填写理由。"}.get(decision)
    with wider_scope("assessors"):
        lock_chain(session)
        entry = load_entry(session, entry_id)
        _check_decidable(session, actor, entry)
        errors: dict[str, str] = {}
        new_points = _decision_points(entry, decision, points, errors)
        text = clean_reason(reason, required, errors)
        if errors:
            raise LedgerError(errors)
        return append_about(session, actor, entry, decision, new_points, text)


def correct(
    session: Session, actor: Actor, year: int, tenant_id: int, points, reason: str
) -> CreditLedger:
    """Append a correction (signed points, a required reason) for a tenant in a locked year."""
    require_assessor(actor)
    if tenant_id == actor.tenant_id:
        raise LedgerError({"tenant": "不能更正本单位的积分。"})
    errors: dict[str, str] = {}
    if session.get(Tenant, tenant_id) is None:
        errors["tenant"] = "单位不存在。"
    amount = parse_points(points, errors, "请填写更正分值。")
    if amount is not None and amount.is_zero():
        errors["points"] = "更正分值不能为 0。"
    text = clean_reason(reason, "更正须填写理由。", errors)
    if errors:
        raise LedgerError(errors)
    with wider_scope("assessors"):
        lock_chain(session)
        if not year_locked(session, year):
            raise LedgerError({"year": f"{year} 年度尚未锁定，请直接审核积分条目。"}, status=409)
        return append(
            session,
            actor,
            year=year,
            tenant_id=tenant_id,
            kind=CORRECTION,
            points=amount,
            reason=text,
        )
