"""Deadlines computed THROUGH send_lead, with the clock set to UTC instants of Asia/Shanghai wall
times: holidays, 调休 make-up days, the midnight boundary, Friday evenings, 2027 (which
chinese-calendar does not cover) with and without the city's own table, custom and default
deadline days. Every expected date below was counted by hand from the State Council's holiday
notices; a due date D means 24:00 Asia/Shanghai at the end of D, i.e. 16:00 UTC on D.

Then overdue counting: timeliness() against hand-counted working days, and the inbox's SQL
condition (overdue_condition) agreeing with timeliness() for referrals in every state."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.referrals import service as referrals
from portal.referrals.models import Referral
from portal.workdays.models import CalendarDay
from portal.workdays.service import load_calendar
from tenants.scoping import wider_scope
from tests.referral_helpers import Clock, acting, post_lead, send, shanghai

HOLIDAY_2027_NEW_YEAR = {date(2027, 1, 1): False}

# (label, Shanghai send time, sign_days, report_days, city table, sign due day, report due day)
CASES = [
    # Spring Festival 2025: off 28 Jan–4 Feb; make-up working days Sun 26 Jan and Sat 8 Feb.
    ("sf25 friday evening", (2025, 1, 24, 18, 0), None, None, {}, "2025-01-26", "2025-02-07"),
    ("sf25 eve of the holiday", (2025, 1, 27, 10, 0), None, None, {}, "2025-02-05", "2025-02-10"),
    ("sf25 saturday off", (2025, 1, 25, 10, 0), None, None, {}, "2025-01-26", "2025-02-07"),
    ("sf25 sunday make-up", (2025, 1, 26, 9, 0), None, None, {}, "2025-01-27", "2025-02-08"),
    ("sf25 inside the holiday", (2025, 1, 30, 12, 0), None, None, {}, "2025-02-05", "2025-02-10"),
    ("sf25 5/5 days", (2025, 1, 24, 18, 0), "5", "5", {}, "2025-02-07", "2025-02-07"),
    # Spring Festival 2026: off 15–23 Feb; make-up working days Sat 14 Feb and Sat 28 Feb.
    ("sf26 friday evening", (2026, 2, 13, 17, 30), None, None, {}, "2026-02-14", "2026-02-27"),
    ("sf26 saturday make-up", (2026, 2, 14, 10, 0), None, None, {}, "2026-02-24", "2026-02-28"),
    ("sf26 23:59:59", (2026, 2, 12, 23, 59, 59), None, None, {}, "2026-02-13", "2026-02-26"),
    ("sf26 00:00:00", (2026, 2, 13, 0, 0, 0), None, None, {}, "2026-02-14", "2026-02-27"),
    ("sf26 inside, 3/10 days", (2026, 2, 20, 9, 0), "3", "10", {}, "2026-02-26", "2026-03-06"),
    # National Day + Mid-Autumn 2025: off 1–8 Oct; make-up Sun 28 Sep and Sat 11 Oct.
    ("nd25 friday evening", (2025, 9, 26, 20, 0), None, None, {}, "2025-09-28", "2025-10-10"),
    ("nd25 last day before", (2025, 9, 30, 16, 0), None, None, {}, "2025-10-09", "2025-10-14"),
    ("nd25 sunday make-up", (2025, 9, 28, 10, 0), None, None, {}, "2025-09-29", "2025-10-11"),
    ("nd25 mid-autumn day", (2025, 10, 6, 10, 0), None, None, {}, "2025-10-09", "2025-10-14"),
    ("nd25 friday after", (2025, 10, 10, 17, 0), None, None, {}, "2025-10-11", "2025-10-16"),
    # Mid-Autumn 2026 Fri 25 Sep; National Day 2026 off 1–7 Oct; make-up Sun 20 Sep, Sat 10 Oct.
    ("ma26 thursday", (2026, 9, 24, 15, 0), None, None, {}, "2026-09-28", "2026-10-09"),
    (
        "ma26 saturday before make-up",
        (2026, 9, 19, 10, 0),
        None,
        None,
        {},
        "2026-09-20",
        "2026-09-24",
    ),
    ("nd26 23:59:59", (2026, 9, 29, 23, 59, 59), None, None, {}, "2026-09-30", "2026-10-12"),
    ("nd26 00:00:00", (2026, 9, 30, 0, 0, 0), None, None, {}, "2026-10-08", "2026-10-13"),
    ("nd26 last evening", (2026, 9, 30, 23, 59, 59), None, None, {}, "2026-10-08", "2026-10-13"),
    ("nd26 friday after", (2026, 10, 9, 18, 0), None, None, {}, "2026-10-10", "2026-10-15"),
    # New Year 2026: off 1–3 Jan; make-up Sun 4 Jan.
    ("ny26 new year's eve", (2025, 12, 31, 12, 0), None, None, {}, "2026-01-04", "2026-01-08"),
    # Labour Day 2026: off 1–5 May; make-up Sat 9 May.
    ("ld26 3/7 days", (2026, 4, 28, 10, 0), "3", "7", {}, "2026-05-06", "2026-05-11"),
    # An ordinary week: the midnight boundary and the weekend.
    ("friday 23:59:59", (2026, 3, 6, 23, 59, 59), None, None, {}, "2026-03-09", "2026-03-13"),
    ("saturday 00:00:00", (2026, 3, 7, 0, 0, 0), None, None, {}, "2026-03-09", "2026-03-13"),
    ("sunday 23:59:59", (2026, 3, 8, 23, 59, 59), None, None, {}, "2026-03-09", "2026-03-13"),
    ("monday 00:00:00", (2026, 3, 9, 0, 0, 0), None, None, {}, "2026-03-10", "2026-03-16"),
    ("custom 2/10", (2026, 3, 2, 10, 0), "2", "10", {}, "2026-03-04", "2026-03-16"),
    ("custom 1/1", (2026, 3, 6, 17, 55), "1", "1", {}, "2026-03-09", "2026-03-09"),
    # 2027: chinese-calendar 1.11.0 does not know it; the weekday rule, then the city's table.
    ("into 2027 weekday rule", (2026, 12, 31, 10, 0), None, None, {}, "2027-01-01", "2027-01-07"),
    (
        "into 2027 with table",
        (2026, 12, 31, 10, 0),
        None,
        None,
        HOLIDAY_2027_NEW_YEAR,
        "2027-01-04",
        "2027-01-08",
    ),
    ("report into 2027", (2026, 12, 25, 10, 0), None, None, {}, "2026-12-28", "2027-01-01"),
    (
        "report into 2027 with table",
        (2026, 12, 25, 10, 0),
        None,
        None,
        HOLIDAY_2027_NEW_YEAR,
        "2026-12-28",
        "2027-01-04",
    ),
    ("2027 friday evening", (2027, 2, 5, 18, 0), None, None, {}, "2027-02-08", "2027-02-12"),
    (
        "2027 make-up saturday in table",
        (2027, 2, 5, 18, 0),
        None,
        None,
        {date(2027, 2, 6): True},
        "2027-02-06",
        "2027-02-11",
    ),
    # The city's table also overrides the package inside its years.
    (
        "table overrides 2026",
        (2026, 3, 2, 10, 0),
        None,
        None,
        {date(2026, 3, 3): False},
        "2026-03-04",
        "2026-03-10",
    ),
]


def _due(day: str) -> datetime:
    """24:00 Asia/Shanghai at the end of ``day`` = 16:00 UTC that day."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=16)


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    "send_at, sign_days, report_days, table, sign_due, report_due",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_deadline_through_send_lead(
    world, monkeypatch, send_at, sign_days, report_days, table, sign_due, report_due
):
    clock = Clock(monkeypatch, shanghai(2025, 1, 2, 9))
    lead_id = post_lead(world, "dept.officer")
    for day, is_workday in table.items():
        db.session.add(CalendarDay(day=day, is_workday=is_workday, note="测试"))
    db.session.commit()
    clock.set(shanghai(*send_at))
    kwargs = {}
    if sign_days is not None:
        kwargs.update(sign_days=sign_days, report_days=report_days)
    rid = send(world, "dept.officer", lead_id, "county_a", **kwargs)[0]
    with wider_scope("cli"):
        row = db.session.get(Referral, rid)
        assert row.sent_at == clock.now
        assert (row.sign_by, row.report_by) == (_due(sign_due), _due(report_due))


def test_the_city_default_days_apply(world, monkeypatch):
    Clock(monkeypatch, shanghai(2026, 3, 2, 10))
    lead_id = post_lead(world, "dept.officer")
    with acting(world, "county-a.admin") as actor, pytest.raises(PermissionError):
        referrals.set_default_days(db.session, actor, sign_days="2", report_days="3")
    with acting(world, "city.admin") as actor:
        referrals.set_default_days(db.session, actor, sign_days="2", report_days="3")
        db.session.commit()
    rid = send(world, "dept.officer", lead_id, "county_a")[0]
    with wider_scope("cli"):
        row = db.session.get(Referral, rid)
        assert (row.sign_by, row.report_by) == (_due("2026-03-04"), _due("2026-03-05"))


# ---- overdue ---------------------------------------------------------------------------------

# Sent Friday 13 Feb 2026 10:00: sign by the end of Sat 14 Feb (a make-up working day), report
# by the end of Fri 27 Feb (14, 24, 25, 26, 27 Feb).
SIGN_OVERDUE = [
    ((2026, 2, 14, 23, 59, 59), None, 0),
    ((2026, 2, 15, 0, 0, 1), "sign", 0),  # overdue, though no working day has begun yet
    ((2026, 2, 20, 12, 0), "sign", 0),  # inside the holiday
    ((2026, 2, 24, 9, 0), "sign", 1),  # the first working day after the holiday
    ((2026, 2, 25, 9, 0), "sign", 2),
    ((2026, 2, 28, 9, 0), "sign", 5),  # Sat 28 Feb is a make-up working day
    ((2026, 3, 1, 9, 0), "sign", 5),  # Sunday
    ((2026, 3, 2, 9, 0), "sign", 6),
]


@pytest.mark.parametrize("now, which, days", SIGN_OVERDUE)
def test_sign_overdue_working_days(world, monkeypatch, now, which, days):
    Clock(monkeypatch, shanghai(2026, 2, 13, 10))
    lead_id = post_lead(world, "dept.officer")
    rid = send(world, "dept.officer", lead_id, "county_a")[0]
    with acting(world, "dept.officer"):
        row = db.session.get(Referral, rid)
        result = referrals.timeliness(row, shanghai(*now), load_calendar(db.session))
    assert (result.overdue_now, result.overdue_days) == (which, days)
    assert result.sign_late == (which is not None)
    if which:
        assert result.label == (f"签收逾期 {days} 个工作日" if days else "签收已逾期")


def test_report_overdue_after_a_late_accept(world, monkeypatch):
    clock = Clock(monkeypatch, shanghai(2026, 2, 13, 10))
    lead_id = post_lead(world, "dept.officer")
    rid = send(world, "dept.officer", lead_id, "county_a")[0]
    clock.set(shanghai(2026, 2, 24, 9))
    with acting(world, "county-a.officer") as actor:
        referrals.accept(db.session, actor, db.session.get(Referral, rid))
        db.session.commit()
    with acting(world, "county-a.officer"):
        row = db.session.get(Referral, rid)
        calendar = load_calendar(db.session)
        before = referrals.timeliness(row, shanghai(2026, 2, 27, 23, 0), calendar)
        after = referrals.timeliness(row, shanghai(2026, 3, 3, 9), calendar)
    assert before.sign_late and not before.report_late and before.overdue_now is None
    assert before.label == "签收超时"
    # 28 Feb (make-up Saturday), 2 Mar, 3 Mar.
    assert (after.overdue_now, after.overdue_days, after.report_late) == ("report", 3, True)


def test_the_overdue_sql_condition_agrees_with_timeliness(world, monkeypatch):
    """Referrals in every state, several instants: the inbox's SQL filter selects exactly the
    ones timeliness() calls overdue now."""
    clock = Clock(monkeypatch, shanghai(2026, 3, 2, 10))
    lead_id = post_lead(world, "dept.officer")
    other_lead = post_lead(world, "dept.officer", title="第二条线索")
    ids = send(world, "dept.officer", lead_id, "county_a", "county_b", "park_a", "city")
    a, b, park, city = ids
    clock.set(shanghai(2026, 3, 3, 12))
    late = send(world, "dept.officer", other_lead, "county_a", sign_days="2", report_days="3")[0]
    withdrawn = send(world, "dept.officer", other_lead, "county_b")[0]
    returning = send(world, "dept.officer", other_lead, "park_a")[0]

    def as_(login, fn, rid, **kwargs):
        with acting(world, login) as actor:
            fn(db.session, actor, db.session.get(Referral, rid), **kwargs)
            db.session.commit()

    as_("county-a.officer", referrals.accept, a)  # accepted, report by end of 9 Mar
    as_("county-b.officer", referrals.accept, b)
    clock.set(shanghai(2026, 3, 4, 9))
    as_(
        "county-b.officer",
        referrals.add_feedback,
        b,
        form={
            "contacted_on": "2026-03-03",
            "method": "phone",
            "summary": "电话联系",
            "intention": "medium",
            "stage_after": "lead",
        },
    )
    as_("dept.officer", referrals.withdraw, withdrawn)
    as_("park-a.officer", referrals.request_return, returning, reason="land", text="没有地")
    as_("city.officer", referrals.accept, city)
    as_(
        "city.officer",
        referrals.close_not_landed,
        city,
        reason="elsewhere",
        note="外省落地",
    )
    instants = [
        shanghai(2026, 3, 3, 23, 59, 59),
        shanghai(2026, 3, 4, 0, 0, 0),
        shanghai(2026, 3, 4, 0, 0, 1),
        shanghai(2026, 3, 5, 23, 59, 59),
        shanghai(2026, 3, 6, 0, 0, 1),
        shanghai(2026, 3, 9, 12),
        shanghai(2026, 3, 10, 0, 0, 1),
        shanghai(2026, 4, 1, 9),
    ]
    with acting(world, "city.officer"):
        calendar = load_calendar(db.session)
        rows = list(db.session.scalars(select(Referral)))
        assert {r.id for r in rows} == {a, b, park, city, late, withdrawn, returning}
        seen_overdue = set()
        for now in instants:
            by_sql = set(
                db.session.scalars(select(Referral.id).where(referrals.overdue_condition(now)))
            )
            by_python = {r.id for r in rows if referrals.timeliness(r, now, calendar).overdue_now}
            assert by_sql == by_python, now
            seen_overdue |= by_sql
        # Hand-checked at two instants.
        at = shanghai(2026, 3, 4, 0, 0, 1)
        assert set(
            db.session.scalars(select(Referral.id).where(referrals.overdue_condition(at)))
        ) == {park}
        at = shanghai(2026, 3, 10, 0, 0, 1)
        assert set(
            db.session.scalars(select(Referral.id).where(referrals.overdue_condition(at)))
        ) == {a, park, returning, late}
    assert seen_overdue == {a, park, late, returning}
