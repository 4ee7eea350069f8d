"""What the assessment pages read (考核积分, 审核队列, 考核排名, 计分规则): filters from the
query string, pages of credit entries with their state and evidence, a tenant's totals, the
ranking, the rule versions. No Flask here; the views render what these functions return.

Every read goes through the caller's session and so through the tenant scope: a tenant sees its
own entries, the city tenant and assessors see all (``CreditLedger.overseers_see_all``). Two
reads deliberately open a wide scope, and return nothing confidential:

* :func:`ranking_rows` — the ranking is published to every tenant (DESIGN.md §4b 公示), so it
  sums every tenant's counted points; only the per-tenant group totals leave the function.
* :func:`rule_versions` — who saved a rule version: the display names of those assessors, who
  belong to another tenant than most readers (user rows are tenant-owned).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import and_, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from portal.assessment import ledger
from portal.assessment.models import (
    ADJUSTED,
    APPEAL_DECISION_KINDS,
    APPEAL_UPHELD,
    APPEALED,
    APPROVED,
    CORRECTION,
    ENTRY_EVENT_KINDS,
    POINT_KINDS,
    PROPOSED,
    REJECTED,
    CreditLedger,
    ScoringRuleSet,
)
from portal.assessment.ranking import RankingRow, group_of, rank
from portal.assessment.scoring import (
    FIRST_INTRODUCER,
    INTERMEDIARY,
    RULE_LABELS,
    RuleSet,
    default_rules,
)
from portal.database import utcnow
from portal.ids import parse_id
from portal.leads.codes import STAGES
from portal.pagination import Page, paginate
from portal.validation import whole_number
from portal.workdays.calendar import deadline_day, local_date
from tenants.models import TENANT_KINDS, Tenant, User
from tenants.scoping import wider_scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0")
FIRST_YEAR, LAST_YEAR = 2000, 2100

STATE_LABELS = {
    PROPOSED: "待审核",
    APPROVED: "已通过",
    REJECTED: "已驳回",
    ADJUSTED: "已调整",
    APPEAL_UPHELD: "申诉改分",
}
ALL_STATES = "all"
# What counts towards a total and the ranking: decided entries that kept points (also after an
# upheld appeal), and corrections after the year was locked. Pending proposals never count.
COUNTED_STATES = (APPROVED, ADJUSTED, APPEAL_UPHELD)
CORRECTION_LABEL = "更正"
# Tenant kinds never ranked, whatever the year's rules say: the assessment office itself.
NEVER_RANKED_KINDS = frozenset({"office"})


def current_year() -> int:
    return local_date(utcnow()).year


# ---- filters ----------------------------------------------------------------------------------


@dataclass
class Filters:
    """The query-string filters of the credit and review pages. ``state`` is a key of
    STATE_LABELS or ``ALL_STATES``; ``default_state`` is what an absent ``state`` means."""

    year: int
    tenant: int | None = None
    rule: str = ""
    state: str = ALL_STATES
    default_state: str = ALL_STATES
    default_tenant: int | None = None
    errors: list[str] = field(default_factory=list)

    def params(self, **overrides) -> dict:
        values = {"year": self.year, "rule": self.rule}
        if self.tenant != self.default_tenant:
            values["tenant"] = self.tenant or ""
        if self.state != self.default_state:
            values["state"] = self.state
        values |= overrides
        return {key: value for key, value in values.items() if value not in ("", None)}

    @property
    def state_kind(self) -> str | None:
        return None if self.state == ALL_STATES else self.state

    @property
    def narrowed(self) -> bool:
        return bool(self.rule) or self.state != self.default_state


def parse_year(value, errors: list[str]) -> int:
    """A year from the query string; the current year (and a message) when it is not one."""
    text = (value or "").strip()
    year = whole_number(text)
    if year is not None and FIRST_YEAR <= year <= LAST_YEAR:
        return year
    if text:
        errors.append(f"考核年度须为 {FIRST_YEAR}–{LAST_YEAR} 之间的年份，已显示本年度。")
    return current_year()


def parse_filters(
    args,
    *,
    tenant_choices: Mapping[int, str] | None,
    default_tenant: int | None,
    default_state: str = ALL_STATES,
) -> Filters:
    """Read the filters; a bad value is dropped with a message, never an error page.
    ``tenant_choices`` is None for a reader who may not pick a tenant: the tenant is then
    always ``default_tenant``, whatever the query string says."""
    errors: list[str] = []
    found = Filters(
        year=parse_year(args.get("year"), errors),
        tenant=default_tenant,
        state=default_state,
        default_state=default_state,
        default_tenant=default_tenant,
        errors=errors,
    )
    tenant = (args.get("tenant") or "").strip()
    if tenant_choices is not None:
        chosen = parse_id(tenant)
        if chosen in tenant_choices:
            found.tenant = chosen
        elif tenant == "" and "tenant" in args:
            found.tenant = None
        elif tenant:
            errors.append("单位取值无效，已忽略。")
    elif tenant and tenant != str(default_tenant):
        errors.append("只能查看本单位的考核积分，已显示本单位。")
    rule = (args.get("rule") or "").strip()
    if rule in RULE_LABELS:
        found.rule = rule
    elif rule:
        errors.append("积分规则取值无效，已忽略。")
    state = (args.get("state") or "").strip()
    if state in STATE_LABELS or state == ALL_STATES:
        found.state = state
    elif state:
        errors.append("审核状态取值无效，已忽略。")
    return found


# ---- reading entries --------------------------------------------------------------------------


def tenant_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Tenant.id, Tenant.name)).all())


def tenants_in_order(session: Session) -> list[Tenant]:
    """Every tenant: the city first, then departments, counties, parks, the office."""
    kinds = list(TENANT_KINDS)
    tenants = session.scalars(select(Tenant).order_by(Tenant.code)).all()
    return sorted(tenants, key=lambda t: kinds.index(t.kind) if t.kind in kinds else len(kinds))


def available_years(session: Session) -> list[int]:
    """Years with entries the scope sees or with saved rules, and the current year; newest
    first."""
    years = set(session.scalars(select(distinct(CreditLedger.year))))
    years |= set(session.scalars(select(distinct(ScoringRuleSet.year))))
    years.add(current_year())
    return sorted(years, reverse=True)


def _latest_decision_kind():
    decision = aliased(CreditLedger)
    return (
        select(decision.kind)
        .where(decision.entry_id == CreditLedger.id, decision.kind.in_(POINT_KINDS))
        .order_by(decision.id.desc())
        .limit(1)
        .correlate(CreditLedger)
        .scalar_subquery()
    )


def entries_statement(filters: Filters):
    """The proposals of the year the filters name, oldest first."""
    statement = select(CreditLedger).where(
        CreditLedger.year == filters.year, CreditLedger.kind == PROPOSED
    )
    if filters.tenant:
        statement = statement.where(CreditLedger.tenant_id == filters.tenant)
    if filters.rule:
        statement = statement.where(CreditLedger.rule == filters.rule)
    kind = filters.state_kind
    if kind == PROPOSED:
        statement = statement.where(_latest_decision_kind().is_(None))
    elif kind is not None:
        statement = statement.where(_latest_decision_kind() == kind)
    return statement.order_by(CreditLedger.id)


@dataclass(frozen=True)
class ChainLink:
    tenant_id: int
    name: str
    role: str  # 首报 / 转交 / 落地


@dataclass(frozen=True)
class Evidence:
    """An entry's inputs as an officer reads them."""

    lead_id: int | None = None
    lead_code: str = ""
    referral_id: int | None = None
    chain: tuple[ChainLink, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        """One line, for the export."""
        parts = []
        if self.lead_code or self.lead_id:
            parts.append(f"线索 {self.lead_code or '#' + str(self.lead_id)}")
        if self.referral_id:
            parts.append(f"推送 #{self.referral_id}")
        if self.chain:
            parts.append(
                "推送链 " + " → ".join(f"{link.name}（{link.role}）" for link in self.chain)
            )
        parts += [f"{label}：{value}" for label, value in self.facts]
        return "；".join(parts)


@dataclass(frozen=True)
class EntryView:
    entry: CreditLedger
    state: ledger.EntryState
    tenant_name: str
    evidence: Evidence

    @property
    def id(self) -> int:
        return self.entry.id

    @property
    def rule_label(self) -> str:
        return RULE_LABELS.get(self.entry.rule, self.entry.rule)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state.state, self.state.state)

    @property
    def pending(self) -> bool:
        return self.state.pending

    @property
    def counts(self) -> bool:
        return self.state.state in COUNTED_STATES


def entry_views(
    session: Session, entries: Iterable[CreditLedger], names: Mapping[int, str] | None = None
) -> list[EntryView]:
    entries = list(entries)
    names = names if names is not None else tenant_names(session)
    states = ledger.current_state(session, [entry.id for entry in entries])
    return [
        EntryView(
            entry,
            states[entry.id],
            names.get(entry.tenant_id, ""),
            evidence_of(entry.inputs, names, entry.rule),
        )
        for entry in entries
        if entry.id in states
    ]


def entry_page(
    session: Session, filters: Filters, page: int, per_page: int = 20
) -> tuple[Page, list[EntryView]]:
    found = paginate(session, entries_statement(filters), page, per_page)
    return found, entry_views(session, found.items)


def visible_entry(session: Session, entry_id: int) -> CreditLedger | None:
    """The proposal with this id, if the scope sees it (decision and year rows are no entry)."""
    return session.scalar(
        select(CreditLedger).where(CreditLedger.id == entry_id, CreditLedger.kind == PROPOSED)
    )


def entry_history(session: Session, entry: CreditLedger) -> list[CreditLedger]:
    """The proposal, every decision about it and its appeal, oldest first."""
    return list(
        session.scalars(
            select(CreditLedger)
            .where(
                or_(
                    CreditLedger.id == entry.id,
                    and_(
                        CreditLedger.entry_id == entry.id,
                        CreditLedger.kind.in_(ENTRY_EVENT_KINDS),
                    ),
                )
            )
            .order_by(CreditLedger.id)
        )
    )


def appealed_entries_statement(year: int, which: str = "all"):
    """The year's proposals with an appeal: ``open`` (unanswered), ``answered`` or ``all``;
    the longest-waiting appeal first."""
    appeal = aliased(CreditLedger)
    answer = aliased(CreditLedger)
    statement = (
        select(CreditLedger)
        .join(appeal, and_(appeal.entry_id == CreditLedger.id, appeal.kind == APPEALED))
        .where(CreditLedger.year == year, CreditLedger.kind == PROPOSED)
    )
    answered = exists(
        select(answer.id).where(
            answer.entry_id == CreditLedger.id, answer.kind.in_(APPEAL_DECISION_KINDS)
        )
    )
    if which == "open":
        statement = statement.where(~answered)
    elif which == "answered":
        statement = statement.where(answered)
    return statement.order_by(appeal.id)


def open_appeal_count(session: Session, year: int) -> int:
    """Unanswered appeals of the year among the entries the scope sees."""
    found = appealed_entries_statement(year, "open").order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(found))


def corrections(session: Session, year: int, tenant_id: int | None = None) -> list[CreditLedger]:
    statement = select(CreditLedger).where(
        CreditLedger.year == year, CreditLedger.kind == CORRECTION
    )
    if tenant_id:
        statement = statement.where(CreditLedger.tenant_id == tenant_id)
    return list(session.scalars(statement.order_by(CreditLedger.id)))


@dataclass
class Summary:
    """A tenant's year: what counts (decided entries and corrections) and what waits."""

    entries_points: Decimal = ZERO
    corrections_points: Decimal = ZERO
    pending_points: Decimal = ZERO
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATE_LABELS, 0))

    @property
    def total(self) -> Decimal:
        return self.entries_points + self.corrections_points


def summary(session: Session, year: int, tenant_id: int) -> Summary:
    ids = session.scalars(
        select(CreditLedger.id).where(
            CreditLedger.year == year,
            CreditLedger.kind == PROPOSED,
            CreditLedger.tenant_id == tenant_id,
        )
    ).all()
    found = Summary()
    for state in ledger.current_state(session, ids).values():
        found.counts[state.state] = found.counts.get(state.state, 0) + 1
        if state.state in COUNTED_STATES:
            found.entries_points += state.points
        elif state.pending:
            found.pending_points += state.points
    for row in corrections(session, year, tenant_id):
        found.corrections_points += row.points
    return found


# ---- evidence ---------------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def number_text(value) -> str:
    """3 -> "3", 0.50 -> "0.5": no trailing zeros, never exponent notation."""
    number = _decimal(value)
    if number is None:
        return str(value)
    return format(number.normalize(), "f") if number else "0"


def amount_text(wan) -> str:
    """An amount in 万元 as officers say it: 150000 -> "15 亿元", 5000 -> "5,000 万元"."""
    number = _decimal(wan)
    if number is None:
        return str(wan)
    if number >= 10_000:
        return f"{number_text(number / 10_000)} 亿元"
    return f"{int(number):,} 万元"


def _percent(share) -> str:
    number = _decimal(share)
    return f"{number_text(number * 100)}%" if number is not None else str(share)


def _day(value) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return str(value)


def _moment(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _chain(data: Mapping, names: Mapping[int, str]) -> tuple[ChainLink, ...]:
    chain = [tenant for tenant in data.get("chain") or [] if _int(tenant) is not None]
    first = data.get("first_introducer_tenant_id")
    links = []
    for index, tenant_id in enumerate(chain):
        if index == len(chain) - 1:
            role = "落地"
        elif tenant_id == first:
            role = "首报"
        else:
            role = "转交"
        links.append(ChainLink(tenant_id, names.get(tenant_id, f"单位 #{tenant_id}"), role))
    return tuple(links)


def _rules_text(value) -> str:
    year, _, version = str(value).partition("-v")
    if year.isdigit() and version.isdigit():
        return f"{year} 年第 {version} 版"
    return str(value)


def _landing_facts(data: Mapping, names: Mapping[int, str]) -> list[tuple[str, str]]:
    facts = []
    role = data.get("role")
    if role == FIRST_INTRODUCER:
        facts.append(("计分身份", f"首报单位，分得 {_percent(data.get('share', 1))}"))
    elif role == INTERMEDIARY:
        count = _int(data.get("split_among")) or 1
        share = _percent(data.get("share", 0))
        text = f"中间单位，分得 {share}" if count == 1 else f"中间单位，{count} 家平分 {share}"
        facts.append(("计分身份", text))
    first = _int(data.get("first_introducer_tenant_id"))
    if first is not None and first not in (data.get("chain") or []):
        facts.append(("首报单位", f"{names.get(first, f'单位 #{first}')}（最早登记该企业）"))
    if "planned_investment" in data and data["planned_investment"] is not None:
        facts.append(("计划投资", amount_text(data["planned_investment"])))
    if "tier_min_investment" in data:
        low = _decimal(data["tier_min_investment"]) or ZERO
        span = "不限金额" if low == 0 else f"{amount_text(low)}（含）以上"
        facts.append(("适用档位", f"{span}，基础分 {number_text(data.get('base_points', ''))} 分"))
    if "stage" in data:
        stage = STAGES.get(data["stage"], data["stage"])
        facts.append(("达到阶段", f"{stage}（{_day(data.get('reached_on', ''))}）"))
        facts.append(("阶段加分", f"{number_text(data.get('stage_bonus', ''))} 分"))
    if "landed_on" in data:
        facts.append(("签约日期", _day(data["landed_on"])))
    if "first_referral_on" in data:
        facts.append(("首次推送", _day(data["first_referral_on"])))
    if "window_ends_on" in data:
        facts.append(("计分期限至", _day(data["window_ends_on"])))
    return facts


def _penalty_facts(rule: str, data: Mapping) -> list[tuple[str, str]]:
    facts = []
    if "penalty" in data:
        facts.append(("扣分标准", f"每次 {number_text(data['penalty'])} 分"))
    signing = rule == "late_sign"
    deadline = _moment(data.get("deadline"))
    if deadline is not None:
        label = "签收时限" if signing else "首次反馈时限"
        facts.append((label, f"{deadline_day(deadline).isoformat()} 24:00"))
    done = _moment(data.get("done_at"))
    if done is not None:
        label = "实际签收" if signing else "实际首次反馈"
        facts.append((label, done.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")))
    elif "done_at" in data:
        facts.append(("办理情况", "逾期未签收" if signing else "逾期未反馈"))
    return facts


def evidence_of(inputs: str, names: Mapping[int, str], rule: str = "") -> Evidence:
    """An entry's stored inputs (canonical JSON) as facts; unknown keys are left out and a
    malformed value is shown as stored rather than failing the page."""
    try:
        data = json.loads(inputs) if inputs else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    lead_id = _int(data.get("landed_lead_id")) or _int(data.get("lead_id"))
    code = data.get("lead_code")
    facts = _landing_facts(data, names)
    if "referral_id" in data:
        facts += _penalty_facts(rule, data)
    if "points_before_cap" in data:
        facts.append(
            (
                "年度上限",
                f"按年度加分上限 {number_text(data.get('yearly_cap', ''))} 分，"
                f"由 {number_text(data['points_before_cap'])} 分核减",
            )
        )
    if "rules" in data:
        facts.append(("计分规则", _rules_text(data["rules"])))
    return Evidence(
        lead_id=lead_id,
        lead_code=code if isinstance(code, str) else "",
        referral_id=_int(data.get("referral_id")),
        chain=_chain(data, names),
        facts=tuple(facts),
    )


# ---- the ranking ------------------------------------------------------------------------------


def ranked_tenants(session: Session, rules: RuleSet) -> list[Tenant]:
    """The tenants a year ranks: not of a kind the rules leave unscored, not the office."""
    excluded = set(rules.unscored_kinds) | NEVER_RANKED_KINDS
    return [t for t in tenants_in_order(session) if t.kind not in excluded]


def ranking_rows(session: Session, year: int, rules: RuleSet) -> list[RankingRow]:
    """Every ranked tenant's counted points by group, total and rank. A wide read (see the
    module docstring): only group totals per tenant leave it."""
    tenants = ranked_tenants(session, rules)
    ranked = {t.id: t for t in tenants}
    totals: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    with wider_scope("assessors"):
        ids = session.scalars(
            select(CreditLedger.id).where(CreditLedger.year == year, CreditLedger.kind == PROPOSED)
        ).all()
        for state in ledger.current_state(session, ids).values():
            if state.state in COUNTED_STATES and state.tenant_id in ranked:
                totals[(state.tenant_id, group_of(state.rule))] += state.points
        for tenant_id, points in session.execute(
            select(CreditLedger.tenant_id, CreditLedger.points).where(
                CreditLedger.year == year, CreditLedger.kind == CORRECTION
            )
        ):
            if tenant_id in ranked:
                totals[(tenant_id, "correction")] += points
    with_points = {tenant_id for tenant_id, _ in totals}
    listed = [(t.id, t.name) for t in tenants if t.active or t.id in with_points]
    points = [
        (tenant_id, ranked[tenant_id].name, group, value)
        for (tenant_id, group), value in totals.items()
    ]
    return rank(points, listed)


# ---- rule versions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleVersion:
    version: int
    effective_from: date
    created_at: datetime | None
    created_by: str
    reason: str
    rules: RuleSet | None
    stored: bool = True


def latest_version(session: Session, year: int) -> int:
    """The year's newest version number; 1 (the shipped defaults) when none was saved."""
    found = session.scalar(
        select(ScoringRuleSet.version)
        .where(ScoringRuleSet.year == year)
        .order_by(ScoringRuleSet.version.desc())
        .limit(1)
    )
    return found or 1


def rule_versions(session: Session, year: int) -> list[RuleVersion]:
    """The year's versions, newest first, with who saved each (a wide read of their names),
    ending with the shipped defaults when no first version was saved."""
    rows = list(
        session.scalars(
            select(ScoringRuleSet)
            .where(ScoringRuleSet.year == year)
            .order_by(ScoringRuleSet.version.desc())
        )
    )
    user_ids = {row.created_by_id for row in rows if row.created_by_id}
    names: dict[int, str] = {}
    if user_ids:
        with wider_scope("assessors"):
            names = {
                user_id: f"{display}（{tenant}）"
                for user_id, display, tenant in session.execute(
                    select(User.id, User.display_name, Tenant.name)
                    .join(Tenant, Tenant.id == User.tenant_id)
                    .where(User.id.in_(user_ids))
                )
            }
    versions = [
        RuleVersion(
            version=row.version,
            effective_from=row.effective_from,
            created_at=row.created_at,
            created_by=names.get(row.created_by_id, "系统"),
            reason=row.reason,
            rules=ledger.rules_from_json(row.rules),
        )
        for row in rows
    ]
    if not any(v.version == 1 for v in versions):
        defaults = default_rules(year)
        versions.append(
            RuleVersion(1, defaults.effective_from, None, "系统", "系统默认规则", defaults, False)
        )
    return versions
