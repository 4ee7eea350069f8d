"""The one error type domain services raise for input they refuse."""

from __future__ import annotations

import re
import unicodedata
from datetime import date


class InputError(ValueError):
    """Refused input; ``errors`` maps form fields to the Chinese messages the user reads.
    Nothing has been changed when a service raises it (the caller rolls back)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors

    @property
    def first_message(self) -> str:
        return next(iter(self.errors.values()))


MAX_QUERY_CHARS = 100
# Longer than any number a field accepts, short enough that int() never meets its digit limit.
MAX_NUMBER_DIGITS = 15


def whole_number(value) -> int | None:
    """A whole number ≥ 0 as typed (ASCII or full-width digits), or None when it is not one.
    ``str.isdigit`` is not enough: it admits ² and ①, which ``int`` refuses."""
    text = str(value if value is not None else "").strip()
    if not text.isdecimal() or len(text) > MAX_NUMBER_DIGITS:
        return None
    return int(text)


def form_text(form, name: str) -> str:
    """A form field, stripped ("" when missing or not text)."""
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


# Characters a name must not carry: controls, and format characters such as zero-width spaces
# (a name of nothing but them looks blank) and right-to-left overrides (which show "12z" as "z21").
INVISIBLE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")


def clean_name(value) -> str:
    """A one-line name as it should be stored: NFC, without invisible characters, inner runs of
    whitespace as one space, trimmed. May be "" (then the name was missing)."""
    text = unicodedata.normalize("NFC", value if isinstance(value, str) else "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in INVISIBLE_CATEGORIES)
    return " ".join(text.split())


def limited_text(
    form, name: str, limit: int, label: str, errors: dict, required=False, one_line=False
) -> str:
    """A form field of at most ``limit`` characters; a Chinese message under ``name`` when it is
    missing (``required``) or too long. ``one_line``: a name or title, cleaned (clean_name)."""
    value = clean_name(form.get(name, "")) if one_line else form_text(form, name)
    if required and not value:
        errors[name] = f"请填写{label}。"
    elif len(value) > limit:
        errors[name] = f"{label}不能超过 {limit} 个字。"
    return value


def clean_query(value, limit: int = MAX_QUERY_CHARS) -> str:
    """What a user typed into a search box: whitespace runs collapsed, at most ``limit``
    characters."""
    return " ".join((value or "").split())[:limit]


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The days a filter may name: beyond them the Shanghai midnight of a day is no longer a UTC
# datetime Python can hold (0001-01-01, 9999-12-31), and no record of ours is dated there.
FILTER_YEARS = (2000, 2100)


def iso_day(value) -> date | None:
    """A day written YYYY-MM-DD, as date fields send it, or None. Only that form:
    ``date.fromisoformat`` also reads 2026-W01-1 and 20260101, which a form must not store as
    some other day without a word."""
    text = value.strip() if isinstance(value, str) else ""
    if not ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_form_date(value, field: str, errors: dict) -> date | None:
    """A YYYY-MM-DD form value, or None with a Chinese message under ``field``."""
    day = iso_day(value)
    if day is None:
        errors[field] = "请填写正确的日期（年-月-日）。"
    return day


def filter_day(raw, label: str, errors: list[str]) -> date | None:
    """A date filter from the query string; a bad one is dropped with a message, never an
    error page."""
    if not (raw or "").strip():
        return None
    day = iso_day(raw)
    if day is None:
        errors.append(f"{label}不是有效日期（年-月-日），已忽略。")
        return None
    if not FILTER_YEARS[0] <= day.year <= FILTER_YEARS[1]:
        errors.append(f"{label}超出可查询的范围，已忽略。")
        return None
    return day
