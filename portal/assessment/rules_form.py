"""The assessor's rule form (计分规则): form values from a RuleSet, and a RuleSet from the form.

Field names follow the RuleSet's, so that ``RuleSet.errors()`` messages land on the field they
concern; tiers are rows ``tier_min_<i>`` / ``tier_points_<i>`` (blank rows are skipped) and
stage bonuses ``stage_bonus_<stage>`` (blank: no bonus). Shares are typed as percentages.
No Flask, no database: the view saves what :func:`parse_rules_form` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from portal.assessment.scoring import RuleSet, Tier
from portal.leads.codes import LIFECYCLE_STAGES, STAGES
from portal.validation import InputError, parse_form_date, whole_number

MAX_TIERS = 6
MAX_REASON_CHARS = 500
HUNDRED = Decimal("100")
PLACEHOLDER = Decimal("0")

POINT_FIELDS = {
    "late_sign_penalty": "签收超时扣分",
    "late_report_penalty": "反馈超时扣分",
    "yearly_cap": "年度加分上限",
}
SHARE_FIELDS = {
    "first_introducer_share": "首报单位分成比例",
    "intermediary_share": "中间单位分成比例",
}


class RulesFormError(InputError):
    """The form's values do not make a usable rule set; nothing was saved."""


@dataclass(frozen=True)
class RulesInput:
    rules: RuleSet
    reason: str


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def values_from_rules(rules: RuleSet) -> dict:
    """What the form shows for a rule set (the current version, when the form opens)."""
    values: dict = {
        "effective_from": rules.effective_from.isoformat(),
        "first_introducer_share": _number(rules.first_introducer_share * HUNDRED),
        "intermediary_share": _number(rules.intermediary_share * HUNDRED),
        "credit_window_days": str(rules.credit_window_days),
        "unscored_kinds": sorted(rules.unscored_kinds),
    }
    for name in POINT_FIELDS:
        values[name] = _number(getattr(rules, name))
    for index, tier in enumerate(rules.tiers[:MAX_TIERS]):
        values[f"tier_min_{index}"] = str(tier.min_investment)
        values[f"tier_points_{index}"] = _number(tier.points)
    for stage, bonus in rules.stage_bonus.items():
        values[f"stage_bonus_{stage}"] = _number(bonus)
    return values


def values_from_form(form) -> dict:
    """The submitted values, to show the form again as the assessor left it."""
    values = {key: form.get(key, "") for key in form}
    values["unscored_kinds"] = form.getlist("unscored_kinds")
    return values


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


# Larger than any value a rule may hold (points ≤ 1000, shares ≤ 100 %), small enough that the
# arithmetic on the way to RuleSet.errors() (a share / 100) cannot overflow.
NUMBER_LIMIT = Decimal("1E9")


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    # Out of any range: keep it out of range, at a size every check can handle.
    return NUMBER_LIMIT.copy_sign(number) if number.copy_abs() > NUMBER_LIMIT else number


def _points(form, name: str, label: str, errors: dict) -> Decimal:
    text = _text(form, name)
    if not text:
        errors[name] = f"请填写{label}。"
        return PLACEHOLDER
    number = _decimal(text)
    if number is None:
        errors[name] = f"{label}须为数字。"
        return PLACEHOLDER
    return number


def _tiers(form, errors: dict) -> tuple[Tier, ...]:
    tiers = []
    for index in range(MAX_TIERS):
        low, points = _text(form, f"tier_min_{index}"), _text(form, f"tier_points_{index}")
        if not low and not points:
            continue
        if not low or not points:
            errors["tiers"] = f"第 {index + 1} 档须同时填写计划投资下限和基础分。"
            continue
        number = _decimal(points)
        floor = whole_number(low)
        if floor is None:
            errors["tiers"] = f"第 {index + 1} 档的计划投资下限须为不小于 0 的整数（万元）。"
        elif number is None:
            errors["tiers"] = f"第 {index + 1} 档的基础分须为数字。"
        else:
            tiers.append(Tier(floor, number))
    return tuple(tiers)


def _stage_bonus(form, errors: dict) -> dict[str, Decimal]:
    bonus = {}
    for stage in LIFECYCLE_STAGES:
        text = _text(form, f"stage_bonus_{stage}")
        if not text:
            continue
        number = _decimal(text)
        if number is None:
            errors["stage_bonus"] = f"{STAGES[stage]}加分须为数字。"
        else:
            bonus[stage] = number
    return bonus


def _window(form, errors: dict) -> int:
    text = _text(form, "credit_window_days")
    days = whole_number(text)
    if days is None:
        errors["credit_window_days"] = "计分期限须为正整数（天）。"
        return 1
    return days


def _effective_from(form, year: int, errors: dict) -> date:
    text = _text(form, "effective_from")
    if not text:
        errors["effective_from"] = "请填写施行日期。"
        return date(year, 1, 1)
    day = parse_form_date(text, "effective_from", errors)
    if day is None:
        return date(year, 1, 1)
    if day.year != year:
        errors["effective_from"] = f"施行日期须在 {year} 年内。"
    return day


def _reason(form, errors: dict) -> str:
    reason = _text(form, "reason")
    if not reason:
        errors["reason"] = "请填写修改理由。"
    elif len(reason) > MAX_REASON_CHARS:
        errors["reason"] = f"修改理由不超过 {MAX_REASON_CHARS} 字。"
    return reason


def parse_rules_form(form, year: int, version: int) -> RulesInput:
    """The rule set the form describes as ``version`` of ``year``, with the reason for the
    change; RulesFormError with a Chinese message per field otherwise. Values that are not
    numbers are reported as such; the rest is judged by ``RuleSet.errors()``."""
    errors: dict[str, str] = {}
    shares = {}
    for name, label in SHARE_FIELDS.items():
        percent = _points(form, name, label, errors)
        shares[name] = percent / HUNDRED
    points = {name: _points(form, name, label, errors) for name, label in POINT_FIELDS.items()}
    unscored = frozenset(form.getlist("unscored_kinds"))
    rules = RuleSet(
        year=year,
        version=version,
        effective_from=_effective_from(form, year, errors),
        tiers=_tiers(form, errors),
        stage_bonus=_stage_bonus(form, errors),
        first_introducer_share=shares["first_introducer_share"],
        intermediary_share=shares["intermediary_share"],
        unscored_kinds=unscored,
        credit_window_days=_window(form, errors),
        **points,
    )
    parse_failed = set(errors)
    for name, message in rules.errors().items():
        if name in SHARE_FIELDS and parse_failed & set(SHARE_FIELDS):
            continue  # a share that is no number makes any sum message misleading
        errors.setdefault(name, message)
    reason = _reason(form, errors)
    if errors:
        raise RulesFormError(errors)
    return RulesInput(rules, reason)
