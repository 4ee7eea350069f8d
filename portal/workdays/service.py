"""Maintaining the city's calendar table; plain functions over a session and the acting user."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.audit import service as audit
from portal.validation import InputError, iso_day
from portal.workdays.calendar import WorkCalendar, package_covers
from portal.workdays.models import CalendarDay

DAY_KINDS = {"holiday": "放假", "workday": "调休上班"}
EARLIEST_YEAR, LATEST_YEAR = 2004, 2100


class CalendarInputError(InputError):
    """A refused change to the calendar table."""


def load_calendar(session: Session) -> WorkCalendar:
    rows = session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    return WorkCalendar({day: is_workday for day, is_workday in rows})


def years_needing_update(session: Session, today: date) -> list[int]:
    """This year and next, where neither the package nor the city's table says anything."""
    return load_calendar(session).uncovered_years([today.year, today.year + 1])


def _parse_day(value: str, errors: dict) -> date | None:
    day = iso_day(value)
    if day is None:
        errors["day"] = "请填写有效的日期，格式如 2027-01-01。"
        return None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        errors["day"] = f"日期须在 {EARLIEST_YEAR} 年至 {LATEST_YEAR} 年之间。"
        return None
    return day


def add_day(session: Session, actor: audit.Actor, *, day: str, kind: str, note: str) -> CalendarDay:
    errors: dict[str, str] = {}
    parsed = _parse_day(day, errors)
    if kind not in DAY_KINDS:
        errors["kind"] = "请选择“放假”或“调休上班”。"
    note = (note or "").strip()
    if len(note) > 100:
        errors["note"] = "说明不能超过 100 个字。"
    if parsed and session.scalar(select(CalendarDay.id).where(CalendarDay.day == parsed)):
        errors["day"] = "该日期已有设置，如需修改请先删除原设置。"
    if errors:
        raise CalendarInputError(errors)
    row = CalendarDay(day=parsed, is_workday=kind == "workday", note=note, created_by=actor.name)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # two admins adding the same date at once
        session.rollback()
        raise CalendarInputError({"day": "该日期已有设置，如需修改请先删除原设置。"}) from exc
    audit.record(
        session,
        actor,
        "calendar_day_added",
        object_type="calendar_day",
        object_id=row.id,
        after=_snapshot(row),
    )
    return row


def remove_day(session: Session, actor: audit.Actor, row: CalendarDay) -> None:
    before = _snapshot(row)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "calendar_day_removed",
        object_type="calendar_day",
        object_id=before["id"],
        before=before,
    )


def _snapshot(row: CalendarDay) -> dict:
    return {
        "id": row.id,
        "day": row.day.isoformat(),
        "kind": "workday" if row.is_workday else "holiday",
        "note": row.note,
    }


def package_years() -> str:
    """The years chinese-calendar covers, for the page's explanation."""
    years = [y for y in range(EARLIEST_YEAR, LATEST_YEAR + 1) if package_covers(y)]
    return f"{years[0]}–{years[-1]}" if years else "无"
