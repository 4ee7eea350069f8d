"""Referral credit scoring (DESIGN.md §4b, issue 5): pure functions over frozen values.

No Flask, no database, no I/O: the assessment services feed these functions what they read and
store what comes back, so every rule can be tested on its own and `recompute` can compare the
current rules with the stored entries.

- A :class:`RuleSet` holds one version of an assessment year's rules; :func:`default_rules` is
  the set the portal ships and :func:`describe` says it in plain Chinese for officers.
- :func:`first_introducers` finds the 首报 of each company among the postings and flags the later
  postings of the same company as duplicates (:func:`company_key` explains the matching).
- :func:`landing_proposals`, :func:`stage_proposals` and :func:`penalty_proposals` turn an event
  into :class:`Proposal` entries, each with an idempotency key that is stable across re-runs;
  :func:`merge_new` drops the keys already stored and :func:`apply_yearly_cap` trims positive
  points beyond a tenant's yearly cap (run it after :func:`merge_new`, on the new entries only).

Points are ``Decimal`` rounded to one decimal place, half up, per entry: the entries of one event
may therefore add up to slightly more or less than the points they split.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from portal.leads.codes import LIFECYCLE_STAGES, STAGES
from portal.validation import InputError
from search.analysis import fold

ONE_PLACE = Decimal("0.1")
ZERO = Decimal("0")
ONE = Decimal("1")

# The labels of tenants/models.py TENANT_KINDS, repeated here so this module needs no database
# model (a test checks the two stay equal).
KIND_LABELS = {
    "city": "市级招商部门",
    "department": "市直部门",
    "county": "县（市、区）",
    "park": "园区",
    "office": "考核机构",
}

RULE_LABELS = {
    "landing_first": "首报项目落地",
    "landing_intermediary": "转交项目落地",
    **{f"stage_{stage}": f"项目{STAGES[stage]}" for stage in LIFECYCLE_STAGES},
    "late_sign": "签收超时",
    "late_report": "首次反馈超时",
}

FIRST_INTRODUCER = "first_introducer"
INTERMEDIARY = "intermediary"

MAX_WINDOW_DAYS = 3650
# A 统一社会信用代码 has 18 characters; anything else (a placeholder like "无") is not a code.
CREDIT_CODE_LENGTH = 18
# Company-form suffixes dropped from a normalised name, as they read after folding and removing
# punctuation and spaces ("Co., Ltd." -> "coltd"). Stripped repeatedly, longest match first, so
# "集团股份有限公司" goes entirely.
COMPANY_SUFFIXES = tuple(
    sorted(
        (
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "股份公司",
            "集团",
            "公司",
            "companylimited",
            "corporation",
            "company",
            "coltd",
            "limited",
            "ltd",
            "inc",
            "corp",
            "llc",
            "gmbh",
        ),
        key=len,
        reverse=True,
    )
)


# The most points one rule, one decision or one entry may carry: far above any assessment's
# scale, far below what NUMERIC(8, 1) holds, and small enough to round (quantize refuses 1E+30).
MAX_POINTS = Decimal("1000")


def round_points(value: Decimal) -> Decimal:
    """Points as stored and shown: one decimal place, half up (0.25 -> 0.3)."""
    return value.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


# --- Rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """Base points for a landed project whose planned investment (万元) is at least
    ``min_investment`` and below the next tier's."""

    min_investment: int
    points: Decimal


@dataclass(frozen=True)
class RuleSet:
    """One version of an assessment year's rules. Built from a form without checks, so that
    :meth:`errors` can tell the assessor what is wrong; the scoring functions expect a set
    without errors (:meth:`check`)."""

    year: int
    version: int
    effective_from: date
    tiers: tuple[Tier, ...]
    stage_bonus: Mapping[str, Decimal]
    first_introducer_share: Decimal
    intermediary_share: Decimal
    late_sign_penalty: Decimal
    late_report_penalty: Decimal
    yearly_cap: Decimal
    unscored_kinds: frozenset[str] = frozenset({"city"})
    credit_window_days: int = 730

    def errors(self) -> dict[str, str]:
        """Form field -> Chinese message for every bad value; empty when the set is usable."""
        errors: dict[str, str] = {}
        if not 2000 <= self.year <= 2100:
            errors["year"] = "考核年度须为 2000–2100 之间的年份。"
        if self.version < 1:
            errors["version"] = "版本号须为正整数。"
        if "year" not in errors and self.effective_from > date(self.year, 12, 31):
            errors["effective_from"] = "施行日期不得晚于考核年度的最后一天。"
        _check_tiers(self.tiers, errors)
        _check_stage_bonus(self.stage_bonus, errors)
        _check_shares(self.first_introducer_share, self.intermediary_share, errors)
        _check_points(self.late_sign_penalty, "late_sign_penalty", "签收超时扣分", errors)
        _check_points(self.late_report_penalty, "late_report_penalty", "反馈超时扣分", errors)
        _check_points(self.yearly_cap, "yearly_cap", "年度加分上限", errors)
        if "yearly_cap" not in errors and self.yearly_cap <= 0:
            errors["yearly_cap"] = "年度加分上限须大于 0。"
        unknown = sorted(set(self.unscored_kinds) - set(KIND_LABELS))
        if unknown:
            errors["unscored_kinds"] = f"不计分的单位类型无效：{'、'.join(unknown)}。"
        if not 1 <= self.credit_window_days <= MAX_WINDOW_DAYS:
            errors["credit_window_days"] = f"计分期限须为 1–{MAX_WINDOW_DAYS} 天。"
        return errors

    def check(self) -> RuleSet:
        """The set itself, or InputError with :meth:`errors` (what a service saving it calls)."""
        errors = self.errors()
        if errors:
            raise InputError(errors)
        return self

    def tier_for(self, planned_investment: int | None) -> Tier | None:
        """The tier a planned investment (万元) falls in; None when unknown or below the first."""
        if planned_investment is None:
            return None
        found = None
        for tier in self.tiers:
            if planned_investment >= tier.min_investment:
                found = tier
        return found

    def window_ends_on(self, first_referral_on: date) -> date:
        """The last day (inclusive) on which a landing or stage of the project still earns."""
        return first_referral_on + timedelta(days=self.credit_window_days)

    def scored(self, tenant_id: int, tenant_kinds: Mapping[int, str]) -> bool:
        # A tenant missing from tenant_kinds is a caller's bug: KeyError rather than a guess.
        return tenant_kinds[tenant_id] not in self.unscored_kinds


def _check_points(value: Decimal, name: str, label: str, errors: dict[str, str]) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        errors[name] = f"{label}须为数字。"
    elif value < 0:
        errors[name] = f"{label}不得为负数。"
    elif value > MAX_POINTS:
        errors[name] = f"{label}不得超过 {MAX_POINTS} 分。"
    elif value != round_points(value):
        errors[name] = f"{label}最多保留一位小数。"


def _check_tiers(tiers: Sequence[Tier], errors: dict[str, str]) -> None:
    if not tiers:
        errors["tiers"] = "请至少设置一档基础分。"
        return
    for tier in tiers:
        _check_points(tier.points, "tiers", "基础分", errors)
        if tier.min_investment < 0:
            errors["tiers"] = "计划投资下限不得为负数。"
        if "tiers" in errors:
            return
    for lower, upper in zip(tiers, tiers[1:], strict=False):
        if upper.min_investment <= lower.min_investment:
            errors["tiers"] = "各档计划投资下限须从小到大排列，且不得重复。"
            return
        if upper.points < lower.points:
            errors["tiers"] = "计划投资较高一档的基础分不得低于较低一档。"
            return


def _check_stage_bonus(stage_bonus: Mapping[str, Decimal], errors: dict[str, str]) -> None:
    unknown = [stage for stage in stage_bonus if stage not in LIFECYCLE_STAGES]
    if unknown:
        allowed = "、".join(STAGES[stage] for stage in LIFECYCLE_STAGES)
        errors["stage_bonus"] = f"阶段加分只能设置在以下阶段：{allowed}。"
        return
    for stage, bonus in stage_bonus.items():
        _check_points(bonus, "stage_bonus", f"{STAGES[stage]}加分", errors)
        if "stage_bonus" in errors:
            return


def _check_shares(first: Decimal, intermediary: Decimal, errors: dict[str, str]) -> None:
    for value, name, label in (
        (first, "first_introducer_share", "首报单位分成比例"),
        (intermediary, "intermediary_share", "中间单位分成比例"),
    ):
        if not isinstance(value, Decimal) or not value.is_finite():
            errors[name] = f"{label}须为数字。"
        elif not ZERO <= value <= ONE:
            errors[name] = f"{label}须在 0 到 100% 之间。"
    # The sum is reported on the second field, the one an assessor edits to make it fit.
    shares_ok = not errors.keys() & {"first_introducer_share", "intermediary_share"}
    if shares_ok and first + intermediary != ONE:
        errors["intermediary_share"] = "首报单位与中间单位的分成比例之和须为 100%。"


def default_rules(year: int) -> RuleSet:
    """The rule set the portal ships for ``year``, effective from 1 January; assessors edit it."""
    return RuleSet(
        year=year,
        version=1,
        effective_from=date(year, 1, 1),
        tiers=(
            Tier(0, Decimal("3")),
            Tier(10_000, Decimal("6")),  # 1 亿元
            Tier(50_000, Decimal("10")),  # 5 亿元
            Tier(100_000, Decimal("15")),  # 10 亿元
        ),
        stage_bonus={"started": Decimal("2"), "producing": Decimal("3")},
        first_introducer_share=Decimal("0.6"),
        intermediary_share=Decimal("0.4"),
        late_sign_penalty=Decimal("0.5"),
        late_report_penalty=Decimal("1"),
        yearly_cap=Decimal("30"),
    )


# --- Rules in words -----------------------------------------------------------------------


def _number(value: Decimal) -> str:
    """3 -> "3", 0.5 -> "0.5", 1.50 -> "1.5": no trailing zeros, never exponent notation."""
    return format(value.normalize(), "f")


def _amount(wan: int) -> str:
    """An amount in 万元 as officers say it: 10000 -> "1 亿元", 15000 -> "1.5 亿元",
    5000 -> "5000 万元"."""
    if wan >= 10_000:
        return f"{_number(Decimal(wan) / 10_000)} 亿元"
    return f"{wan} 万元"


def _percent(share: Decimal) -> str:
    return f"{_number(share * 100)}%"


def _tier_sentence(tier: Tier, upper: Tier | None) -> str:
    if upper is None and tier.min_investment == 0:
        return f"项目落地，不论计划投资多少，基础分 {_number(tier.points)} 分。"
    if upper is None:
        span = f" {_amount(tier.min_investment)}（含）以上"
    elif tier.min_investment == 0:
        span = f"不足 {_amount(upper.min_investment)}"
    else:
        span = f" {_amount(tier.min_investment)}（含）至 {_amount(upper.min_investment)}"
    return f"计划投资{span}的项目落地，基础分 {_number(tier.points)} 分。"


def describe(rules: RuleSet) -> list[str]:
    """The rule set in plain Simplified Chinese sentences, in the order an officer reads them."""
    lines = [
        f"本规则适用于 {rules.year} 年度招商引资考核（第 {rules.version} 版），"
        f"自 {rules.effective_from.year} 年 {rules.effective_from.month} 月 "
        f"{rules.effective_from.day} 日起施行。",
        "线索推送给其他单位并在对方落地（签约）后，推送和转交该项目的单位按下列规则加分；"
        "落地单位本身不因此加分。",
    ]
    tiers = rules.tiers
    if tiers and tiers[0].min_investment > 0:
        lines.append(f"计划投资不足 {_amount(tiers[0].min_investment)}的项目落地，不计基础分。")
    for index, tier in enumerate(tiers):
        lines.append(_tier_sentence(tier, tiers[index + 1] if index + 1 < len(tiers) else None))
    lines.append("未填写计划投资的项目落地，不计基础分。")
    for stage in LIFECYCLE_STAGES:
        if stage in rules.stage_bonus:
            bonus = _number(rules.stage_bonus[stage])
            lines.append(f"项目{STAGES[stage]}后，按同样的分成另加 {bonus} 分。")
    lines += [
        f"首报单位（最早登记该企业的单位）得 {_percent(rules.first_introducer_share)}，"
        f"中间转交的单位合计得 {_percent(rules.intermediary_share)}，由各中间单位平均分配；"
        "没有中间单位时，首报单位得全部分值。同一单位在转交链中出现多次的，只按一个身份计分一次。",
        "同一企业以统一社会信用代码识别，未填写代码的按规范化后的企业名称识别；"
        "其后再登记的同一企业标记为重复线索，由考核员审核。",
        f"项目须在首次推送之日起 {rules.credit_window_days} 天内落地或达到相应阶段，方可计分。",
        f"接收单位签收超时的，每次扣 {_number(rules.late_sign_penalty)} 分；"
        f"首次反馈超时的，每次扣 {_number(rules.late_report_penalty)} 分。",
        f"每个单位全年加分合计不超过 {_number(rules.yearly_cap)} 分，超出部分不计；扣分不设上限。",
    ]
    if rules.unscored_kinds:
        kinds = "、".join(KIND_LABELS.get(kind, kind) for kind in sorted(rules.unscored_kinds))
        lines.append(f"{kinds}不参与计分，其应得份额不转给其他单位。")
    lines.append("各项分值保留一位小数（四舍五入）。")
    return lines


# --- First introducer and duplicates -------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """A company posted as a lead: the lead, the tenant that posted it, when."""

    lead_id: int
    tenant_id: int
    credit_code: str | None
    company: str
    posted_at: datetime


@dataclass(frozen=True)
class Duplicate:
    """A later posting of a company already posted: ``original`` is that company's 首报."""

    posting: Posting
    original: Posting
    matched_by: str  # "code" when both carry the same credit code, else "name"


@dataclass(frozen=True)
class IntroducerReport:
    firsts: Mapping[str, Posting]  # company key -> the 首报 posting
    duplicates: tuple[Duplicate, ...]  # in posting order
    keys: Mapping[int, str] = field(repr=False)  # lead id -> company key

    def first_of(self, lead_id: int) -> Posting:
        """The 首报 of the company a lead names (the lead's own posting when it is the first)."""
        return self.firsts[self.keys[lead_id]]


def normalise_code(credit_code: str | None) -> str | None:
    """A credit code folded to half width, upper case, without spaces; None when it is not 18
    characters long (the lead form checks the check character; this only keeps placeholders
    such as "无" from joining unrelated companies)."""
    code = "".join(fold(credit_code or "").split()).upper()
    return code if len(code) == CREDIT_CODE_LENGTH else None


def normalise_name(company: str) -> str:
    """A company name reduced to what tells companies apart: folded (simplified, half width,
    lower case), letters and digits only (so brackets go but their content stays: 华为（深圳）
    -> 华为深圳), company-form suffixes removed (有限公司, 集团, Co., Ltd., Inc. ...). A name
    that is nothing but a suffix keeps it rather than becoming empty."""
    name = "".join(ch for ch in fold(company or "") if ch.isalnum())
    while True:
        suffix = next((s for s in COMPANY_SUFFIXES if name.endswith(s)), None)
        if suffix is None or suffix == name:
            return name
        name = name[: -len(suffix)]


def company_key(credit_code: str | None, company: str) -> str:
    """``code:<统一社会信用代码>`` when the posting carries a code, else ``name:<normalised name>``
    (the prefixes keep a code and a name from ever being equal by accident)."""
    code = normalise_code(credit_code)
    return f"code:{code}" if code else f"name:{normalise_name(company)}"


def _order(posting: Posting) -> tuple[datetime, int]:
    # Earliest first; at the same instant the lower lead id (created first) wins.
    return posting.posted_at, posting.lead_id


def first_introducers(postings: Iterable[Posting]) -> IntroducerReport:
    """The 首报 of each company and the duplicates of it.

    Matching: by credit code, else by normalised name. Postings with the same code are one
    company; two different codes are two companies even when their names normalise alike (the
    code is authoritative: branches and namesakes exist). A posting without a code joins the
    company whose coded postings carry its normalised name — the code is often filled in only
    later, and the brief asks that such postings match; when several codes share that name it
    joins the one posted first (its duplicate entry names that posting, so the assessor sees the
    choice). Postings without a code and with no coded namesake are grouped by name. Within a
    company the earliest posting is the 首报 (ties: the lowest lead id); every other posting is a
    duplicate of it.
    """
    ordered = sorted(postings, key=_order)
    key_of: dict[int, str] = {}
    first_code_by_name: dict[str, str] = {}
    for posting in ordered:
        code = normalise_code(posting.credit_code)
        if code:
            key_of[posting.lead_id] = f"code:{code}"
            first_code_by_name.setdefault(normalise_name(posting.company), f"code:{code}")
    for posting in ordered:
        if posting.lead_id not in key_of:
            name = normalise_name(posting.company)
            key_of[posting.lead_id] = first_code_by_name.get(name, f"name:{name}")
    firsts: dict[str, Posting] = {}
    duplicates = []
    for posting in ordered:
        original = firsts.setdefault(key_of[posting.lead_id], posting)
        if original is not posting:
            duplicates.append(Duplicate(posting, original, _matched_by(posting, original)))
    return IntroducerReport(firsts=firsts, duplicates=tuple(duplicates), keys=key_of)


def _matched_by(posting: Posting, original: Posting) -> str:
    code = normalise_code(posting.credit_code)
    return "code" if code and code == normalise_code(original.credit_code) else "name"


# --- Proposals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A credit entry the system proposes. ``key`` identifies the event and the tenant and stays
    the same whenever the event is processed again; ``inputs`` holds only JSON values (str, int,
    list) so the ledger can store and hash it as it is."""

    key: str
    tenant_id: int
    rule: str
    points: Decimal
    inputs: Mapping[str, object]


@dataclass(frozen=True)
class Share:
    """A tenant's part of the points of a landing or a stage."""

    tenant_id: int
    role: str  # FIRST_INTRODUCER or INTERMEDIARY
    fraction: Decimal  # of the points split; intermediaries' is already divided
    share: Decimal  # the rule's share this comes from (1 for a first introducer alone)
    split_among: int  # tenants sharing that rule's share


def credit_shares(
    rules: RuleSet, chain: Sequence[int], first_introducer_tenant_id: int
) -> list[Share]:
    """Who earns what part of a landed project's points, before unscored kinds are dropped.

    - The host (the chain's last tenant) earns nothing, whatever other role it also has.
    - The first introducer earns ``first_introducer_share`` — all of it when there are no
      intermediaries — whether or not it is on this lead's chain: when the lead that landed is a
      duplicate, the company's 首报 still earns the finder's share, so posting a company again
      cannot take that credit. A first introducer that hosts earns nothing and its share is not
      given to anyone.
    - Intermediaries are the other tenants that passed the lead on (every chain tenant but the
      host and the first introducer, including the one that posted a duplicate); they split
      ``intermediary_share`` equally. Unscored ones count in the split, so their part is lost
      rather than redistributed.
    - A tenant on the chain twice is one tenant with its best role (first introducer, then
      intermediary), so it earns once.
    A chain of one tenant that is also the first introducer (posted and landed in the same
    tenant) therefore earns nothing.
    """
    if not chain:
        return []
    host = chain[-1]
    intermediaries = list(
        dict.fromkeys(t for t in chain[:-1] if t not in (host, first_introducer_tenant_id))
    )
    shares = []
    if first_introducer_tenant_id != host:
        share = rules.first_introducer_share if intermediaries else ONE
        shares.append(Share(first_introducer_tenant_id, FIRST_INTRODUCER, share, share, 1))
    count = len(intermediaries)
    for tenant_id in intermediaries:
        fraction = rules.intermediary_share / count
        shares.append(Share(tenant_id, INTERMEDIARY, fraction, rules.intermediary_share, count))
    return shares


def _in_window(rules: RuleSet, first_referral_on: date, event_on: date) -> bool:
    # An event dated before the first referral was not brought by it.
    return first_referral_on <= event_on <= rules.window_ends_on(first_referral_on)


def _split(
    rules: RuleSet,
    amount: Decimal,
    chain: Sequence[int],
    first_introducer_tenant_id: int,
    tenant_kinds: Mapping[int, str],
) -> list[tuple[Share, Decimal]]:
    """(share, rounded points) for every scored tenant that earns more than zero."""
    found = []
    for share in credit_shares(rules, chain, first_introducer_tenant_id):
        points = round_points(amount * share.fraction)
        if points > 0 and rules.scored(share.tenant_id, tenant_kinds):
            found.append((share, points))
    return found


def _chain_inputs(
    rules: RuleSet,
    share: Share,
    chain: Sequence[int],
    first_introducer_tenant_id: int,
    first_referral_on: date,
) -> dict[str, object]:
    return {
        "role": share.role,
        "share": str(share.share),
        "split_among": share.split_among,
        "chain": list(chain),
        "host_tenant_id": chain[-1],
        "first_introducer_tenant_id": first_introducer_tenant_id,
        "first_referral_on": first_referral_on.isoformat(),
        "window_ends_on": rules.window_ends_on(first_referral_on).isoformat(),
        "rules": f"{rules.year}-v{rules.version}",
    }


def landing_proposals(
    rules: RuleSet,
    *,
    lead_id: int,
    chain: Sequence[int],
    first_introducer_tenant_id: int,
    planned_investment: int | None,
    first_referral_on: date,
    landed_on: date,
    tenant_kinds: Mapping[int, str],
) -> list[Proposal]:
    """Entries for a landed lead (签约 in the host's area), keyed ``land:<lead>:<tenant>``.

    ``chain`` is the tenant ids in referral order, the host last; ``first_referral_on`` is the
    project's first referral (the window counts from it, inclusive of its last day). The base
    points are the tier's for ``planned_investment``; none when it is unknown or below every
    tier. Split as :func:`credit_shares` says; unscored kinds and zero points give no entry.
    ``lead_id`` is the project in the key: pass the 首报's lead to credit a company once across
    duplicate leads, or the landed lead to credit each lead.
    """
    tier = rules.tier_for(planned_investment)
    if tier is None or not _in_window(rules, first_referral_on, landed_on):
        return []
    proposals = []
    for share, points in _split(
        rules, tier.points, chain, first_introducer_tenant_id, tenant_kinds
    ):
        inputs = _chain_inputs(rules, share, chain, first_introducer_tenant_id, first_referral_on)
        inputs |= {
            "lead_id": lead_id,
            "planned_investment": planned_investment,
            "tier_min_investment": tier.min_investment,
            "base_points": str(tier.points),
            "landed_on": landed_on.isoformat(),
        }
        rule = "landing_first" if share.role == FIRST_INTRODUCER else "landing_intermediary"
        proposals.append(
            Proposal(f"land:{lead_id}:{share.tenant_id}", share.tenant_id, rule, points, inputs)
        )
    return proposals


def stage_proposals(
    rules: RuleSet,
    *,
    lead_id: int,
    stage: str,
    chain: Sequence[int],
    first_introducer_tenant_id: int,
    first_referral_on: date,
    reached_on: date,
    tenant_kinds: Mapping[int, str],
) -> list[Proposal]:
    """Entries for a landed project reaching a later stage (开工, 投产 …), keyed
    ``stage:<lead>:<stage>:<tenant>``: the stage's bonus (a flat number, whatever the tier),
    split and windowed as a landing. A stage without a bonus gives nothing."""
    bonus = rules.stage_bonus.get(stage)
    if bonus is None or not _in_window(rules, first_referral_on, reached_on):
        return []
    proposals = []
    for share, points in _split(rules, bonus, chain, first_introducer_tenant_id, tenant_kinds):
        inputs = _chain_inputs(rules, share, chain, first_introducer_tenant_id, first_referral_on)
        inputs |= {
            "lead_id": lead_id,
            "stage": stage,
            "stage_bonus": str(bonus),
            "reached_on": reached_on.isoformat(),
        }
        key = f"stage:{lead_id}:{stage}:{share.tenant_id}"
        proposals.append(Proposal(key, share.tenant_id, f"stage_{stage}", points, inputs))
    return proposals


def penalty_proposals(
    rules: RuleSet,
    *,
    referral_id: int,
    receiver_tenant_id: int,
    signed_late: bool,
    reported_late: bool,
    tenant_kinds: Mapping[int, str],
) -> list[Proposal]:
    """Negative entries charged to a referral's receiver, keyed ``late_sign:<referral>`` and
    ``late_report:<referral>``: a referral is late at most once for each deadline. An unscored
    receiver, or a penalty set to zero, gives no entry."""
    if not rules.scored(receiver_tenant_id, tenant_kinds):
        return []
    proposals = []
    for late, rule, penalty in (
        (signed_late, "late_sign", rules.late_sign_penalty),
        (reported_late, "late_report", rules.late_report_penalty),
    ):
        if late and penalty > 0:
            inputs = {
                "referral_id": referral_id,
                "penalty": str(penalty),
                "rules": f"{rules.year}-v{rules.version}",
            }
            key = f"{rule}:{referral_id}"
            proposals.append(
                Proposal(key, receiver_tenant_id, rule, -round_points(penalty), inputs)
            )
    return proposals


def apply_yearly_cap(
    rules: RuleSet, already_counted: Mapping[int, Decimal], proposals: Iterable[Proposal]
) -> list[Proposal]:
    """The proposals with positive points beyond each tenant's yearly cap cut off.

    ``already_counted`` is each tenant's positive points this year that already use up the cap
    (the approved ones; add pending proposals if they should hold their room too). Proposals are
    taken in the order given, so earlier events keep their points. A trimmed proposal keeps its
    key — down to zero points when no room is left, so the assessor sees it and a re-run does not
    propose it again — and records ``points_before_cap`` and ``yearly_cap`` in its inputs.
    Penalties (negative points) are neither capped nor give room back.
    """
    used = {tenant: Decimal(total) for tenant, total in already_counted.items()}
    capped = []
    for proposal in proposals:
        if proposal.points <= 0:
            capped.append(proposal)
            continue
        room = max(rules.yearly_cap - used.get(proposal.tenant_id, ZERO), ZERO)
        points = min(proposal.points, room)
        used[proposal.tenant_id] = used.get(proposal.tenant_id, ZERO) + points
        if points != proposal.points:
            inputs = {
                **proposal.inputs,
                "points_before_cap": str(proposal.points),
                "yearly_cap": str(rules.yearly_cap),
            }
            proposal = replace(proposal, points=points, inputs=inputs)
        capped.append(proposal)
    return capped


def merge_new(existing_keys: Collection[str], proposals: Iterable[Proposal]) -> list[Proposal]:
    """The proposals whose key is neither stored already nor earlier in ``proposals``: processing
    an event again, or twice in one batch, never adds an entry twice."""
    seen = set(existing_keys)
    new = []
    for proposal in proposals:
        if proposal.key not in seen:
            seen.add(proposal.key)
            new.append(proposal)
    return new
