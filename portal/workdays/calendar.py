"""Deadlines in working days: China's holidays and 调休 make-up days, plus the city's own table.

Pure functions over dates; no Flask, no database. `chinese-calendar` knows the years it ships
(2004–2026 in 1.11.0) and raises for others; for those the weekday rule applies, corrected by the
admin-maintained table (which also overrides the package where both speak).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Far enough for any deadline a person would set; a bound so a bad table cannot loop forever.
MAX_SEARCH_DAYS = 3660


class CalendarError(ValueError):
    pass


@cache
def _package_is_workday(day: date) -> bool:
    # chinese_calendar checks the date against its whole table on every call (~30 µs); overdue
    # counting asks about many days per page, so remember each answer.
    return chinese_calendar.is_workday(day)


@cache
def package_covers(year: int) -> bool:
    """Whether chinese-calendar has the official holiday schedule for this year."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware moment (never the server's local date)."""
    if moment.tzinfo is None:
        raise CalendarError("naive datetimes are ambiguous: pass an aware datetime")
    return moment.astimezone(SHANGHAI).date()


def end_of_local_day(day: date) -> datetime:
    """24:00 Asia/Shanghai at the end of ``day``, as an aware UTC datetime."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI).astimezone(UTC)


def deadline_day(deadline: datetime) -> date:
    """The Shanghai day a deadline closes: a deadline is 24:00 at the end of that day, which is
    00:00 of the next one, so ``local_date(deadline)`` would name the day after."""
    return local_date(deadline - timedelta(microseconds=1))


class WorkCalendar:
    """Which days are working days, given the city's overrides (date -> is a working day)."""

    def __init__(self, overrides: Mapping[date, bool] | None = None):
        self.overrides = dict(overrides or {})
        self._year_totals: dict[int, list[int]] = {}

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if package_covers(day.year):
            return _package_is_workday(day)
        return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for offset in range(1, MAX_SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_workday(candidate):
                return candidate
        raise CalendarError(f"no working day within {MAX_SEARCH_DAYS} days after {day}")

    def nth_workday_after(self, day: date, count: int) -> date:
        if count < 1:
            raise CalendarError("a deadline needs at least one working day")
        for _ in range(count):
            day = self.next_workday(day)
        return day

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The deadline ``working_days`` after ``start``: the end (24:00 Asia/Shanghai) of the
        Nth working day after the local day of ``start``. The day of dispatch never counts, so
        a lead sent at 17:55 on Friday is due at the end of Monday, not in five minutes."""
        return end_of_local_day(self.nth_workday_after(local_date(start), working_days))

    def working_days_overdue(self, deadline: datetime, now: datetime) -> int:
        """Working days that have begun since ``deadline`` passed (0 when not yet overdue)."""
        if now <= deadline:
            return 0
        first_late_day = local_date(deadline)  # the deadline is 24:00: this is the day after
        today = local_date(now)
        if today < first_late_day:
            return 0
        return min(self.working_days_between(first_late_day, today), MAX_SEARCH_DAYS)

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in [first, last], from per-year running totals: a page of long-overdue
        referrals asks this for every row, and walking day by day would cost seconds."""
        count = 0
        for year in range(first.year, last.year + 1):
            totals = self._totals(year)
            start = first if year == first.year else date(year, 1, 1)
            end = last if year == last.year else date(year, 12, 31)
            start_index = start.timetuple().tm_yday - 1
            end_index = end.timetuple().tm_yday - 1
            count += totals[end_index] - (totals[start_index - 1] if start_index else 0)
        return count

    def _totals(self, year: int) -> list[int]:
        totals = self._year_totals.get(year)
        if totals is None:
            overrides = tuple(sorted((d, w) for d, w in self.overrides.items() if d.year == year))
            totals = self._year_totals[year] = _year_totals(year, overrides)
        return totals

    def uncovered_years(self, years) -> list[int]:
        """Years the package does not know and the city's table does not mention at all."""
        known = {day.year for day in self.overrides}
        return [year for year in years if not package_covers(year) and year not in known]


@functools.lru_cache(maxsize=256)
def _year_totals(year: int, overrides: tuple) -> list[int]:
    """Running totals of working days through each day of ``year``, for the city's overrides
    of that year; shared by every calendar (one per request) with the same overrides."""
    calendar = WorkCalendar(dict(overrides))
    totals, running, day = [], 0, date(year, 1, 1)
    while day.year == year:
        running += calendar.is_workday(day)
        totals.append(running)
        day += timedelta(days=1)
    return totals
