"""The one error type domain services raise for input they refuse."""

from __future__ import annotations

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


def limited_text(form, name: str, limit: int, label: str, errors: dict, required=False) -> str:
    """A form field of at most ``limit`` characters; a Chinese message under ``name`` when it is
    missing (``required``) or too long."""
    value = form_text(form, name)
    if required and not value:
        errors[name] = f"请填写{label}。"
    elif len(value) > limit:
        errors[name] = f"{label}不能超过 {limit} 个字。"
    return value


def clean_query(value, limit: int = MAX_QUERY_CHARS) -> str:
    """What a user typed into a search box: whitespace runs collapsed, at most ``limit``
    characters."""
    return " ".join((value or "").split())[:limit]


def parse_form_date(value, field: str, errors: dict) -> date | None:
    """A YYYY-MM-DD form value, or None with a Chinese message under ``field``."""
    try:
        return date.fromisoformat((value or "").strip())
    except (ValueError, AttributeError):
        errors[field] = "请填写正确的日期（年-月-日）。"
        return None
