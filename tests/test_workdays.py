"""Deadlines in Chinese working days: holidays, 调休 make-up days, Asia/Shanghai edges, 2027."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.extensions import db
from portal.workdays import service
from portal.workdays.calendar import CalendarError, WorkCalendar, end_of_local_day
from portal.workdays.models import CalendarDay
from tests.conftest import page_token, signed_in_client

SH = ZoneInfo("Asia/Shanghai")


def sh(year, month, day, hour=10, minute=0, second=0):
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


def utc(year, month, day, hour, minute=0, second=0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


HOLIDAY_2027_NEW_YEAR = {date(2027, 1, 1): False}

# (case, start, working days, overrides, the local day whose end is the deadline)
DEADLINE_CASES = [
    # Spring Festival 2026: off 15–23 Feb; Sat 14 Feb and Sat 28 Feb are make-up working days.
    ("sf: Friday before, 1 day -> make-up Saturday", sh(2026, 2, 13), 1, {}, date(2026, 2, 14)),
    ("sf: on the make-up Saturday -> after the holiday", sh(2026, 2, 14), 1, {}, date(2026, 2, 24)),
    ("sf: Friday before, 5 days", sh(2026, 2, 13), 5, {}, date(2026, 2, 27)),
    ("sf: sent during the holiday", sh(2026, 2, 16), 1, {}, date(2026, 2, 24)),
    ("sf: last holiday day, late evening", sh(2026, 2, 23, 23, 59), 1, {}, date(2026, 2, 24)),
    (
        "sf: 5 days from the holiday end on the make-up Saturday",
        sh(2026, 2, 20),
        5,
        {},
        date(2026, 2, 28),
    ),
    ("sf: Thursday before, 1 day", sh(2026, 2, 12), 1, {}, date(2026, 2, 13)),
    ("sf: Thursday before, 2 days", sh(2026, 2, 12), 2, {}, date(2026, 2, 14)),
    ("sf: Friday after -> make-up Saturday", sh(2026, 2, 27), 1, {}, date(2026, 2, 28)),
    ("sf: make-up Saturday -> Monday", sh(2026, 2, 28), 1, {}, date(2026, 3, 2)),
    # National Day 2026: Mid-Autumn Fri 25 Sep; off 1–7 Oct; Sun 20 Sep and Sat 10 Oct worked.
    ("nd: Friday -> make-up Sunday", sh(2026, 9, 18), 1, {}, date(2026, 9, 20)),
    ("nd: before Mid-Autumn -> Monday", sh(2026, 9, 24), 1, {}, date(2026, 9, 28)),
    ("nd: eve of National Day", sh(2026, 9, 30), 1, {}, date(2026, 10, 8)),
    ("nd: eve, 5 days over the make-up Saturday", sh(2026, 9, 30), 5, {}, date(2026, 10, 13)),
    ("nd: sent during the holiday", sh(2026, 10, 3), 1, {}, date(2026, 10, 8)),
    ("nd: Friday after -> make-up Saturday", sh(2026, 10, 9), 1, {}, date(2026, 10, 10)),
    ("nd: make-up Saturday -> Monday", sh(2026, 10, 10), 1, {}, date(2026, 10, 12)),
    ("nd: two days across the holiday", sh(2026, 9, 29), 2, {}, date(2026, 10, 8)),
    # An ordinary week.
    ("week: Friday -> Monday", sh(2026, 11, 20), 1, {}, date(2026, 11, 23)),
    ("week: Monday, 5 days -> next Monday", sh(2026, 11, 23), 5, {}, date(2026, 11, 30)),
    ("week: Saturday -> Monday", sh(2026, 11, 21), 1, {}, date(2026, 11, 23)),
    # Time of day in Asia/Shanghai, given in UTC.
    ("tz: 23:59:59 local Friday", utc(2026, 2, 13, 15, 59, 59), 1, {}, date(2026, 2, 14)),
    ("tz: 00:00 local make-up Saturday", utc(2026, 2, 13, 16), 1, {}, date(2026, 2, 24)),
    ("tz: 00:30 local Friday is Friday", utc(2026, 3, 5, 16, 30), 1, {}, date(2026, 3, 9)),
    ("tz: 23:30 local Thursday is Thursday", utc(2026, 3, 5, 15, 30), 1, {}, date(2026, 3, 6)),
    ("tz: New Year's Eve UTC is 2027 local", utc(2026, 12, 31, 16), 1, {}, date(2027, 1, 4)),
    # 2027: chinese-calendar 1.11.0 has no data; the weekday rule, corrected by the city's table.
    ("2027: weekday rule makes 1 Jan a working day", sh(2026, 12, 31), 1, {}, date(2027, 1, 1)),
    (
        "2027: table makes 1 Jan a holiday",
        sh(2026, 12, 31),
        1,
        HOLIDAY_2027_NEW_YEAR,
        date(2027, 1, 4),
    ),
    ("2027: 5 days over New Year, weekday rule", sh(2026, 12, 30), 5, {}, date(2027, 1, 6)),
    (
        "2027: 5 days over New Year, table",
        sh(2026, 12, 30),
        5,
        HOLIDAY_2027_NEW_YEAR,
        date(2027, 1, 7),
    ),
    ("2027: Friday -> Monday", sh(2027, 2, 5), 1, {}, date(2027, 2, 8)),
    (
        "2027: table adds a make-up Saturday",
        sh(2027, 2, 5),
        1,
        {date(2027, 2, 6): True},
        date(2027, 2, 6),
    ),
    (
        "2027: a long run of table holidays",
        sh(2027, 2, 5),
        1,
        {date(2027, 2, 8) + timedelta(days=i): False for i in range(5)},
        date(2027, 2, 15),
    ),
    # The city's table overrides the package where both speak.
    (
        "table: a declared holiday on a working Tuesday",
        sh(2026, 11, 23),
        1,
        {date(2026, 11, 24): False},
        date(2026, 11, 25),
    ),
    (
        "table: a working day inside Spring Festival",
        sh(2026, 2, 14),
        1,
        {date(2026, 2, 15): True},
        date(2026, 2, 15),
    ),
    # Spring Festival 2025 (make-up Sun 26 Jan and Sat 8 Feb; off 28 Jan – 4 Feb).
    ("sf2025: Friday -> make-up Sunday", sh(2025, 1, 24), 1, {}, date(2025, 1, 26)),
    ("sf2025: Monday before -> after the holiday", sh(2025, 1, 27), 1, {}, date(2025, 2, 5)),
    ("sf2025: 5 days -> make-up Saturday", sh(2025, 1, 27), 4, {}, date(2025, 2, 8)),
]


@pytest.mark.parametrize(
    "start, days, overrides, due_day",
    [c[1:] for c in DEADLINE_CASES],
    ids=[c[0] for c in DEADLINE_CASES],
)
def test_deadline(start, days, overrides, due_day):
    deadline = WorkCalendar(overrides).deadline(start, days)
    assert deadline == end_of_local_day(due_day)
    assert deadline.tzinfo is not None and deadline.utcoffset() == timedelta(0)
    # 24:00 in Shanghai is 16:00 UTC of the same date.
    assert (deadline.date(), deadline.hour) == (due_day, 16)


def test_there_are_at_least_thirty_deadline_cases():
    assert len(DEADLINE_CASES) >= 30


def test_bad_arguments_are_refused():
    calendar = WorkCalendar()
    with pytest.raises(CalendarError):
        calendar.deadline(datetime(2026, 2, 13, 10), 1)  # naive: which timezone?
    with pytest.raises(CalendarError):
        calendar.deadline(sh(2026, 2, 13), 0)


def test_a_table_with_no_working_day_cannot_loop_forever():
    never = {date(2027, 1, 1) + timedelta(days=i): False for i in range(4000)}
    with pytest.raises(CalendarError):
        WorkCalendar(never).deadline(sh(2026, 12, 31), 1)


@pytest.mark.parametrize(
    "now, late",
    [
        (sh(2026, 2, 13, 23, 59), 0),  # before the deadline (end of 13 Feb)
        (sh(2026, 2, 14, 0, 1), 1),  # the make-up Saturday has begun
        (sh(2026, 2, 20, 12), 1),  # the holiday does not count
        (sh(2026, 2, 24, 9), 2),
        (sh(2026, 3, 2, 9), 7),  # 14, 24, 25, 26, 27, 28 Feb, 2 Mar
    ],
)
def test_working_days_overdue(now, late):
    deadline = end_of_local_day(date(2026, 2, 13))
    assert WorkCalendar().working_days_overdue(deadline, now) == late


def test_years_without_data_are_reported_until_the_table_mentions_them(app_ctx):
    assert WorkCalendar().uncovered_years([2026, 2027]) == [2027]
    assert service.years_needing_update(db.session, date(2026, 11, 23)) == [2027]
    assert service.years_needing_update(db.session, date(2025, 6, 1)) == []
    db.session.add(CalendarDay(day=date(2027, 1, 1), is_workday=False, note="元旦"))
    db.session.commit()
    assert service.years_needing_update(db.session, date(2026, 11, 23)) == []
    assert service.load_calendar(db.session).deadline(sh(2026, 12, 31), 1) == end_of_local_day(
        date(2027, 1, 4)
    )


# ---- the city admin's page -------------------------------------------------------------------


def _rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count(CalendarDay.id)))


def test_city_admin_maintains_the_table(app, http_world):
    client = signed_in_client(app, "city.admin")
    token = page_token(client)
    response = client.post(
        "/admin/calendar",
        data={"csrf_token": token, "day": "2027-01-01", "kind": "holiday", "note": "元旦"},
    )
    assert response.status_code == 302
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "2027-01-01" in page and "元旦" in page and "放假" in page
    with app.app_context():
        row_id = db.session.scalar(select(CalendarDay.id))
    assert (
        client.post(f"/admin/calendar/{row_id}/delete", data={"csrf_token": token}).status_code
        == 302
    )
    assert _rows(app) == 0
    assert (
        client.post(f"/admin/calendar/{row_id}/delete", data={"csrf_token": token}).status_code
        == 404
    )


@pytest.mark.parametrize(
    "form, message",
    [
        ({"day": "", "kind": "holiday"}, "请填写有效的日期"),
        ({"day": "2027-02-30", "kind": "holiday"}, "请填写有效的日期"),
        # Forms Python would read as some other day: ISO week and compact dates.
        ({"day": "2027-W01-1", "kind": "holiday"}, "请填写有效的日期"),
        ({"day": "20270101", "kind": "holiday"}, "请填写有效的日期"),
        ({"day": "1999-01-01", "kind": "holiday"}, "日期须在 2004 年至 2100 年之间。"),
        ({"day": "2027-01-01", "kind": ""}, "请选择“放假”或“调休上班”。"),
        ({"day": "2027-01-01", "kind": "weekend"}, "请选择“放假”或“调休上班”。"),
        ({"day": "2027-01-01", "kind": "holiday", "note": "长" * 101}, "说明不能超过 100 个字。"),
        ({"day": "2026-10-01", "kind": "holiday"}, "该日期已有设置"),
    ],
)
def test_bad_calendar_input_is_explained_and_changes_nothing(app, http_world, form, message):
    with app.app_context():
        db.session.add(CalendarDay(day=date(2026, 10, 1), is_workday=False, note="国庆节"))
        db.session.commit()
    client = signed_in_client(app, "city.admin")
    response = client.post("/admin/calendar", data={"csrf_token": page_token(client), **form})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _rows(app) == 1


def test_the_banner_shows_to_city_admins_only_while_a_year_is_missing(app, http_world):
    from portal.database import utcnow

    today = utcnow().astimezone(SH).date()
    with app.app_context():
        missing = service.years_needing_update(db.session, today)
    city = signed_in_client(app, "city.admin")
    county = signed_in_client(app, "county-a.admin")
    assert ("工作日历需要更新" in city.get("/").get_data(as_text=True)) == bool(missing)
    assert "工作日历需要更新" not in county.get("/").get_data(as_text=True)
    token = page_token(city)
    for year in missing:
        city.post(
            "/admin/calendar", data={"csrf_token": token, "day": f"{year}-01-01", "kind": "holiday"}
        )
    assert "工作日历需要更新" not in city.get("/").get_data(as_text=True)


@settings(max_examples=200, deadline=None)
@given(
    first=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    span=st.integers(min_value=0, max_value=1200),
    extra_holiday=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
)
def test_working_days_between_counts_like_walking_day_by_day(first, span, extra_holiday):
    """The per-year running totals agree with counting each day, across years the package
    covers and years it does not, with the city's table in play."""
    calendar = WorkCalendar({extra_holiday: False, date(2027, 2, 6): True})
    last = first + timedelta(days=span)
    walked = sum(calendar.is_workday(first + timedelta(days=offset)) for offset in range(span + 1))
    assert calendar.working_days_between(first, last) == walked
