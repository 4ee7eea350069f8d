"""公示 and 申诉 (issue 5, point 4): publishing a year, the appeal window in working days, who may
appeal and answer, one winner when two act at once, what an upheld appeal does to the ranking,
what must hold before a year is locked, and the pages that carry all of it. Runs on SQLite and
on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import itertools
import re
from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.assessment import appeals, ledger, queries, service
from portal.assessment.models import (
    APPEAL_DISMISSED,
    APPEAL_UPHELD,
    APPEALED,
    APPROVED,
    PUBLISHED,
    REJECTED,
    CreditLedger,
)
from portal.assessment.scoring import Proposal
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor
from portal.extensions import db
from portal.notifications.models import Notification
from tenants.models import User
from tenants.scoping import wider_scope
from tests import test_migrations
from tests.assessment_helpers import LedgerClock, lock_after_appeals, publish, run_as
from tests.conftest import make_tenant, page_token, race, signed_in_client
from tests.referral_helpers import shanghai
from tests.test_assessment_ledger import Logins, _guard_names

YEAR = 2026
CJK = range(0x4E00, 0xA000)


@pytest.fixture
def clock(monkeypatch):
    return LedgerClock(monkeypatch)


def propose(app, world, tenant_key: str, key: str, points="3.0") -> int:
    proposal = Proposal(
        key, world.tenants[tenant_key], "landing_first", Decimal(points), {"lead_id": 1}
    )
    with app.app_context(), wider_scope("cli"):
        (row,) = ledger.propose(db.session, SYSTEM, YEAR, [proposal])
        db.session.commit()
        return row.id


def decided_entry(app, world, tenant_key="county_a", key="e1", decision=APPROVED, **kwargs):
    entry = propose(app, world, tenant_key, key)
    assessor = "city.assessor" if tenant_key == "office" else "office.assessor"
    run_as(app, world, assessor, ledger.decide, entry, decision, **kwargs)
    return entry


def state(app, entry_id) -> ledger.EntryState:
    with app.app_context(), wider_scope("cli"):
        return ledger.current_state(db.session, [entry_id])[entry_id]


def ledger_count(app) -> int:
    with app.app_context(), wider_scope("cli"):
        return db.session.scalar(select(func.count(CreditLedger.id)))


def refusal(app, world, login, call, *args, **kwargs) -> ledger.LedgerError:
    before = ledger_count(app)
    with pytest.raises(ledger.LedgerError) as caught:
        run_as(app, world, login, call, *args, **kwargs)
    assert ledger_count(app) == before, "a refused action appended a row"
    assert any(ord(ch) in CJK for ch in caught.value.first_message)
    return caught.value


def notified(app, kind: str) -> set[str]:
    """The login names that got a notification of ``kind``."""
    with app.app_context(), wider_scope("cli"):
        return set(
            db.session.scalars(
                select(User.login_name)
                .join(Notification, Notification.user_id == User.id)
                .where(Notification.kind == kind)
            )
        )


# ---- publishing -------------------------------------------------------------------------------


def test_publishing_opens_the_year_to_appeals_and_tells_every_tenant(app, world, clock):
    decided_entry(app, world)
    row_id = publish(app, world, YEAR, "3")
    with app.app_context(), wider_scope("cli"):
        row = db.session.get(CreditLedger, row_id)
        assert (row.kind, row.year, row.tenant_id, row.points) == (PUBLISHED, YEAR, None, None)
        found = appeals.publication(db.session, YEAR)
        assert (found.working_days, found.published_at) == (3, clock.now)
        assert "credit_year_published" in db.session.scalars(select(AuditEvent.action)).all()
    # Every tenant's officers and heads, not its admins or visitors.
    told = notified(app, "credit_published")
    assert {"county-a.officer", "county-a.head", "dept.officer", "city.head"} <= told
    assert not any(login.endswith(".admin") for login in told)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("0", "申诉期须为 1–20 个工作日之间的整数。"),
        ("21", "申诉期须为 1–20 个工作日之间的整数。"),
        ("三", "申诉期须为 1–20 个工作日之间的整数。"),
        ("-1", "申诉期须为 1–20 个工作日之间的整数。"),
        ("2.5", "申诉期须为 1–20 个工作日之间的整数。"),
    ],
)
def test_a_bad_appeal_period_is_refused(app, world, clock, days, message):
    error = refusal(app, world, "office.assessor", appeals.publish, YEAR, days)
    assert error.errors == {"working_days": message} and error.status == 422


def test_a_blank_period_means_five_working_days(app, world, clock):
    decided_entry(app, world)
    publish(app, world, YEAR, "")
    with app.app_context(), wider_scope("cli"):
        assert appeals.publication(db.session, YEAR).working_days == 5


def test_a_year_is_published_once_and_never_after_the_lock(app, world, clock):
    decided_entry(app, world)
    publish(app, world, YEAR)
    error = refusal(app, world, "city.assessor", appeals.publish, YEAR, "5")
    assert error.status == 409 and "公示" in error.first_message
    assert "office.assessor" in error.first_message
    lock_after_appeals(app, world, clock, YEAR)
    error = refusal(app, world, "city.assessor", appeals.publish, YEAR, "5")
    assert error.errors == {"year": f"{YEAR} 年度已锁定，无需公示。"}


def test_a_year_without_entries_is_not_published(app, world, clock):
    error = refusal(app, world, "office.assessor", appeals.publish, YEAR, "5")
    assert error.errors == {"year": f"{YEAR} 年度还没有积分条目，无需公示。"}


def test_two_assessors_publishing_at_once_publish_once(app, world, clock):
    decided_entry(app, world)
    logins = Logins(world, ["office.assessor", "city.assessor"] * 2)

    def act(session, _):
        appeals.publish(session, logins.actor, YEAR, "5")

    outcomes = race(app, 4, lambda s: None, act, ledger.LedgerError, logins)
    assert outcomes.count("won") == 1, outcomes
    with app.app_context(), wider_scope("cli"):
        count = db.session.scalar(
            select(func.count(CreditLedger.id)).where(CreditLedger.kind == PUBLISHED)
        )
    assert count == 1


# ---- the appeal window --------------------------------------------------------------------------


@pytest.mark.parametrize(
    # ``last_moment``: 24:00 of the last day, the deadline itself, still in time.
    ("published_at", "days", "last_moment", "closes_on"),
    [
        # Monday 10:00, 5 working days: the end of the next Monday.
        (shanghai(2026, 11, 2, 10), 5, shanghai(2026, 11, 10), "2026-11-09"),
        # Published on the eve of National Day: 8, 9, 10 (a make-up Saturday), 12, 13 October.
        (shanghai(2026, 9, 30, 16), 5, shanghai(2026, 10, 14), "2026-10-13"),
        # Published late on a Friday: the day of publication never counts.
        (shanghai(2026, 11, 6, 23, 50), 1, shanghai(2026, 11, 10), "2026-11-09"),
    ],
)
def test_appeals_close_at_the_end_of_the_nth_working_day(
    app, world, clock, published_at, days, last_moment, closes_on
):
    clock.set(published_at)
    first = decided_entry(app, world, "county_a", "w1")
    second = decided_entry(app, world, "county_a", "w2")
    publish(app, world, YEAR, str(days))
    clock.set(last_moment)
    run_as(app, world, "county-a.officer", appeals.file_appeal, first, "分值有误。")
    clock.advance(seconds=1)
    error = refusal(app, world, "county-a.officer", appeals.file_appeal, second, "分值有误。")
    assert error.errors == {"entry": f"申诉期已于 {closes_on} 结束。"}
    assert error.status == 409


def test_an_entry_decided_after_publication_gets_its_own_window(app, world, clock):
    early = decided_entry(app, world, "county_a", "d1")
    publish(app, world, YEAR, "1")  # Monday 2 November: appeals until the end of Tuesday
    late = propose(app, world, "county_a", "d2")
    clock.set(shanghai(2026, 11, 5, 9))  # Thursday: the first window is over
    run_as(app, world, "office.assessor", ledger.decide, late, APPROVED)
    with app.app_context(), wider_scope("cli"):
        assert appeals.year_status(db.session, YEAR).window_ends == shanghai(2026, 11, 7)
    assert (
        "结束"
        in refusal(app, world, "county-a.officer", appeals.file_appeal, early, "x").first_message
    )
    clock.set(shanghai(2026, 11, 6, 23, 59))
    run_as(app, world, "county-a.officer", appeals.file_appeal, late, "有误。")


# ---- who may appeal, and when ---------------------------------------------------------------


def test_appeals_need_a_published_year_and_a_decided_entry(app, world, clock):
    decided = decided_entry(app, world)
    pending = propose(app, world, "county_a", "p1")
    error = refusal(app, world, "county-a.officer", appeals.file_appeal, decided, "x")
    assert error.errors == {"entry": f"{YEAR} 年度积分尚未公示，公示后方可申诉。"}
    publish(app, world, YEAR)
    error = refusal(app, world, "county-a.officer", appeals.file_appeal, pending, "x")
    assert error.errors == {"entry": "该条目尚未审核，审核后方可申诉。"}


@pytest.mark.parametrize(
    ("login", "outcome"),
    [
        ("county-a.officer", "won"),
        ("county-a.head", "won"),
        ("county-a.admin", PermissionError),
        ("county-b.officer", "其他单位"),
        ("city.officer", "其他单位"),
        ("office.assessor", PermissionError),
    ],
)
def test_only_the_benefiting_tenants_officers_and_heads_appeal(app, world, clock, login, outcome):
    entry = decided_entry(app, world)
    publish(app, world, YEAR)
    if outcome == "won":
        run_as(app, world, login, appeals.file_appeal, entry, "计划投资额按签约额计算有误。")
        found = state(app, entry).appeal
        assert (found.appealed_by, found.text, found.open) == (
            login,
            "计划投资额按签约额计算有误。",
            True,
        )
        return
    before = ledger_count(app)
    if outcome is PermissionError:
        with pytest.raises(PermissionError):
            run_as(app, world, login, appeals.file_appeal, entry, "x")
    else:
        error = refusal(app, world, login, appeals.file_appeal, entry, "x")
        assert error.errors == {"entry": "只能对本单位的积分条目提出申诉。"}
        assert error.status == 403
    assert ledger_count(app) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "请填写申诉理由。"),
        (" \n ", "请填写申诉理由。"),
        ("长" * 1001, "申诉理由不超过 1000 字。"),
    ],
)
def test_an_appeal_needs_a_reason(app, world, clock, text, message):
    entry = decided_entry(app, world)
    publish(app, world, YEAR)
    error = refusal(app, world, "county-a.officer", appeals.file_appeal, entry, text)
    assert error.errors == {"text": message} and error.status == 422


def test_an_entry_is_appealed_once_even_when_two_officers_race(app, world, clock):
    entry = decided_entry(app, world)
    publish(app, world, YEAR)
    logins = Logins(world, ["county-a.officer", "county-a.head"])

    def act(session, _):
        appeals.file_appeal(session, logins.actor, entry, f"{logins.login} 的申诉")

    outcomes = race(app, 4, lambda s: None, act, ledger.LedgerError, logins)
    assert outcomes.count("won") == 1, outcomes
    assert all("只能申诉一次" in o for o in outcomes if o != "won")
    with app.app_context(), wider_scope("cli"):
        appeals_stored = db.session.scalar(
            select(func.count(CreditLedger.id)).where(CreditLedger.kind == APPEALED)
        )
        assert appeals_stored == 1
        assert ledger.verify(db.session).ok


def test_an_appeal_tells_the_assessors_of_other_tenants(app, world, clock):
    entry = decided_entry(app, world, "office", "o1")
    publish(app, world, YEAR, login="city.assessor")
    run_as(app, world, "office.officer", appeals.file_appeal, entry, "有误")
    assert notified(app, "credit_appealed") == {"city.assessor"}


# ---- answering ------------------------------------------------------------------------------


@pytest.fixture
def appealed(app, world, clock):
    """County A's rejected entry (3.0 proposed), published and appealed."""
    entry = decided_entry(app, world, decision=REJECTED, reason="重复线索")
    publish(app, world, YEAR)
    run_as(app, world, "county-a.officer", appeals.file_appeal, entry, "并非重复线索，见附件。")
    return entry


def test_an_upheld_appeal_sets_the_points_that_count(app, world, appealed):
    assert state(app, appealed).points == Decimal("0.0")
    run_as(
        app,
        world,
        "city.assessor",
        appeals.answer_appeal,
        appealed,
        APPEAL_UPHELD,
        points="3",
        reason="经核实并非重复线索。",
    )
    found = state(app, appealed)
    assert (found.state, found.points, found.appeal.outcome) == (
        APPEAL_UPHELD,
        Decimal("3.0"),
        APPEAL_UPHELD,
    )
    assert found.appeal.answer == "经核实并非重复线索。" and not found.appeal_open
    with app.app_context():
        rows = queries.ranking_rows(db.session, YEAR, service.rules_for(db.session, YEAR))
    totals = {row.tenant_name: row.total for row in rows}
    assert totals["甲县"] == Decimal("3.0")
    assert notified(app, APPEAL_UPHELD) >= {"county-a.officer", "county-a.head"}
    with app.app_context():
        assert ledger.verify(db.session).ok


def test_a_dismissed_appeal_keeps_the_points(app, world, appealed):
    run_as(
        app,
        world,
        "office.assessor",
        appeals.answer_appeal,
        appealed,
        APPEAL_DISMISSED,
        reason="两条线索为同一企业，维持驳回。",
    )
    found = state(app, appealed)
    assert (found.state, found.points, found.appeal.outcome) == (
        REJECTED,
        Decimal("0.0"),
        APPEAL_DISMISSED,
    )
    error = refusal(app, world, "county-a.officer", appeals.file_appeal, appealed, "再次申诉")
    assert error.errors == {"entry": "该条目已提出过申诉，每个条目只能申诉一次。"}


@pytest.mark.parametrize(
    ("login", "outcome", "kwargs", "errors", "status"),
    [
        (
            "office.assessor",
            APPEAL_UPHELD,
            {"reason": "核实"},
            {"points": "申诉成立须填写改定后的分值。"},
            422,
        ),
        (
            "office.assessor",
            APPEAL_UPHELD,
            {"points": "0", "reason": "核实"},
            {"points": "改定后的分值与现分值相同；如维持原结果，请选择驳回申诉。"},
            422,
        ),
        (
            "office.assessor",
            APPEAL_UPHELD,
            {"points": "3"},
            {"reason": "处理申诉须填写理由。"},
            422,
        ),
        (
            "office.assessor",
            APPEAL_DISMISSED,
            {"reason": " "},
            {"reason": "处理申诉须填写理由。"},
            422,
        ),
        (
            "office.assessor",
            APPEAL_UPHELD,
            {"points": "3.25", "reason": "核实"},
            {"points": "分值最多保留一位小数。"},
            422,
        ),
    ],
)
def test_refused_answers_append_nothing(
    app, world, appealed, login, outcome, kwargs, errors, status
):
    error = refusal(app, world, login, appeals.answer_appeal, appealed, outcome, **kwargs)
    assert (error.errors, error.status) == (errors, status)
    assert state(app, appealed).appeal_open


def test_an_assessor_never_answers_their_own_tenants_appeal(app, world, clock):
    entry = decided_entry(app, world, "office", "o2")
    publish(app, world, YEAR)
    run_as(app, world, "office.officer", appeals.file_appeal, entry, "有误")
    error = refusal(
        app, world, "office.assessor", appeals.answer_appeal, entry, APPEAL_DISMISSED, reason="x"
    )
    assert error.errors == {"entry": "不能处理本单位的申诉。"} and error.status == 403
    with pytest.raises(PermissionError):
        run_as(app, world, "city.officer", appeals.answer_appeal, entry, APPEAL_DISMISSED)


def test_an_entry_without_an_open_appeal_has_nothing_to_answer(app, world, clock):
    entry = decided_entry(app, world)
    publish(app, world, YEAR)
    error = refusal(
        app, world, "office.assessor", appeals.answer_appeal, entry, APPEAL_DISMISSED, reason="x"
    )
    assert error.errors == {"entry": "该条目没有待处理的申诉。"} and error.status == 409


def test_two_assessors_answering_at_once_exactly_one_wins(app, world, appealed):
    logins = Logins(world, ["office.assessor", "city.assessor"])
    turn = itertools.count()

    def act(session, _):
        if next(turn) % 2:
            appeals.answer_appeal(
                session, logins.actor, appealed, APPEAL_UPHELD, points="2", reason="部分成立"
            )
        else:
            appeals.answer_appeal(session, logins.actor, appealed, APPEAL_DISMISSED, reason="维持")

    outcomes = race(app, 4, lambda s: None, act, ledger.LedgerError, logins)
    assert outcomes.count("won") == 1, outcomes
    assert all("该申诉已由" in o and "请刷新后查看" in o for o in outcomes if o != "won")
    with app.app_context(), wider_scope("cli"):
        answers = db.session.scalar(
            select(func.count(CreditLedger.id)).where(
                CreditLedger.kind.in_([APPEAL_UPHELD, APPEAL_DISMISSED])
            )
        )
        assert answers == 1 and ledger.verify(db.session).ok


# ---- before the lock ------------------------------------------------------------------------


def test_a_year_locks_only_after_every_appeal_is_answered_and_the_window_closed(
    app, world, appealed, clock
):
    clock.advance(days=14)
    error = refusal(app, world, "office.assessor", appeals.lock_year, YEAR)
    assert error.errors == {"year": f"{YEAR} 年度尚有 1 件申诉未处理，不能锁定。"}
    run_as(
        app,
        world,
        "office.assessor",
        appeals.answer_appeal,
        appealed,
        APPEAL_DISMISSED,
        reason="维持",
    )
    run_as(app, world, "office.assessor", appeals.lock_year, YEAR)
    error = refusal(
        app, world, "city.assessor", appeals.answer_appeal, appealed, APPEAL_DISMISSED, reason="x"
    )
    assert error.errors == {"entry": ledger.LOCKED_MESSAGE}
    error = refusal(app, world, "county-a.officer", appeals.file_appeal, appealed, "x")
    assert error.errors == {"entry": f"{YEAR} 年度已锁定，不能再申诉。"}


# ---- the pages ------------------------------------------------------------------------------


def post(client, path, data):
    return client.post(path, data={"csrf_token": page_token(client), **data})


def test_the_appeal_flow_through_the_pages(app, http_world, clock):
    world = http_world
    entry = decided_entry(app, world, decision=REJECTED, reason="重复线索")
    officer = signed_in_client(app, "county-a.officer")
    page = officer.get(f"/assessment/entries/{entry}").get_data(as_text=True)
    assert f"{YEAR} 年度积分尚未公示，公示后方可申诉。" in page and 'name="text"' not in page

    assessor = signed_in_client(app, "office.assessor")
    form = assessor.get(f"/assessment/publish?year={YEAR}").get_data(as_text=True)
    assert 'name="working_days"' in form and 'value="5"' in form
    response = post(assessor, "/assessment/publish", {"year": str(YEAR), "working_days": "5"})
    assert response.status_code == 422 and "请勾选确认后再公示。" in response.get_data(as_text=True)
    response = post(
        assessor, "/assessment/publish", {"year": str(YEAR), "working_days": "0", "confirm": "1"}
    )
    assert response.status_code == 422
    assert "申诉期须为 1–20 个工作日之间的整数。" in response.get_data(as_text=True)
    response = post(
        assessor, "/assessment/publish", {"year": str(YEAR), "working_days": "5", "confirm": "1"}
    )
    assert response.headers["Location"] == f"/assessment/ranking?year={YEAR}"
    response = post(
        assessor, "/assessment/publish", {"year": str(YEAR), "working_days": "5", "confirm": "1"}
    )
    assert response.status_code == 409

    page = officer.get(f"/assessment/entries/{entry}").get_data(as_text=True)
    assert "2026-11-09 24:00" in page
    assert 'name="text"' in page
    before = ledger_count(app)
    response = post(officer, f"/assessment/entries/{entry}/appeal", {"text": "  "})
    assert response.status_code == 422 and "请填写申诉理由。" in response.get_data(as_text=True)
    assert ledger_count(app) == before
    response = post(officer, f"/assessment/entries/{entry}/appeal", {"text": "并非重复线索。"})
    assert response.headers["Location"] == f"/assessment/entries/{entry}"
    page = officer.get(f"/assessment/entries/{entry}").get_data(as_text=True)
    assert "已对积分条目" in page and "申诉中" in page and "并非重复线索。" in page
    assert 'name="text"' not in page

    # The other county neither sees the entry nor its appeal in the list.
    other = signed_in_client(app, "county-b.officer")
    assert other.get(f"/assessment/entries/{entry}").status_code == 404
    assert post(other, f"/assessment/entries/{entry}/appeal", {"text": "x"}).status_code == 404
    listing = other.get(f"/assessment/appeals?year={YEAR}").get_data(as_text=True)
    assert "并非重复线索。" not in listing and "没有待处理的申诉。" in listing
    queue = assessor.get(f"/assessment/review?year={YEAR}").get_data(as_text=True)
    assert f"{YEAR} 年度有 1 件申诉待处理" in queue
    listing = assessor.get(f"/assessment/appeals?year={YEAR}").get_data(as_text=True)
    assert (
        "并非重复线索。" in listing
        and f'href="/assessment/entries/{entry}#appeal-heading"' in listing
    )

    response = post(assessor, f"/assessment/entries/{entry}/appeal/answer", {"reason": "核实"})
    assert response.status_code == 422
    assert "请选择处理结果：申诉成立或驳回申诉。" in response.get_data(as_text=True)
    response = post(
        assessor,
        f"/assessment/entries/{entry}/appeal/answer",
        {"outcome": APPEAL_UPHELD, "points": "3", "reason": "经核实并非重复。"},
    )
    assert response.headers["Location"] == f"/assessment/entries/{entry}"
    page = officer.get(f"/assessment/entries/{entry}").get_data(as_text=True)
    assert "处理结果：<strong>申诉成立</strong>" in page and "经核实并非重复。" in page
    assert re.search(r'data-testid="entry-state">申诉改分<', page)
    response = post(
        assessor,
        f"/assessment/entries/{entry}/appeal/answer",
        {"outcome": APPEAL_DISMISSED, "reason": "x"},
    )
    assert response.status_code == 409 and "该申诉已由" in response.get_data(as_text=True)
    ranking = officer.get("/assessment/ranking").get_data(as_text=True)
    assert "以下为公示稿" in ranking
    answered = officer.get(f"/assessment/appeals?year={YEAR}&state=answered")
    assert "并非重复线索。" in answered.get_data(as_text=True)
    # The entries workbook carries the appeal and its answer beside the entry.
    book = load_workbook(io.BytesIO(officer.get(f"/assessment/{YEAR}/entries.xlsx").data))
    header, *cells = list(book.active.iter_rows(values_only=True))
    (row,) = [dict(zip(header, r, strict=True)) for r in cells if r[0] == entry]
    assert (row["积分"], row["状态"]) == (3.0, "申诉改分")
    assert row["申诉"] == "county-a.officer：并非重复线索。"
    assert row["申诉处理"] == "申诉成立（office.assessor）：经核实并非重复。"


def test_a_bad_appeal_filter_falls_back_with_a_message(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    page = client.get("/assessment/appeals?state=bogus&year=abc").get_data(as_text=True)
    assert "申诉状态取值无效，已显示待处理的申诉。" in page
    assert "考核年度须为 2000–2100 之间的年份" in page


def test_the_entry_history_lists_the_appeal_rows(app, http_world, clock):
    world = http_world
    entry = decided_entry(app, world)
    publish(app, world, YEAR)
    run_as(app, world, "county-a.head", appeals.file_appeal, entry, "分值偏低")
    run_as(
        app,
        world,
        "city.assessor",
        appeals.answer_appeal,
        entry,
        APPEAL_DISMISSED,
        reason="按规则计分",
    )
    page = signed_in_client(app, "city.officer").get(f"/assessment/entries/{entry}")
    history = page.get_data(as_text=True).split("台账记录")[1]
    labels = re.findall(r"<td>(系统提出|已通过|申诉|申诉驳回|申诉成立)</td>", history)
    assert labels == ["系统提出", "已通过", "申诉", "申诉驳回"]


# ---- migration 0010 ---------------------------------------------------------------------------

empty_database_url = test_migrations.empty_database_url
fresh_app = test_migrations.fresh_app


def _stored(app) -> list[tuple]:
    with app.app_context(), wider_scope("cli"):
        db.session.expire_all()
        return db.session.execute(
            select(CreditLedger.id, CreditLedger.kind, CreditLedger.hash).order_by(CreditLedger.id)
        ).all()


def test_migration_0010_keeps_the_chain_and_refuses_to_forget_appeals(
    fresh_app, monkeypatch, caplog
):
    LedgerClock(monkeypatch)
    app = fresh_app
    assessor = Actor(None, "assessor", None, roles=frozenset({"assessor"}))
    with app.app_context():
        upgrade(revision="0009")
        with wider_scope("cli"):
            tenant = make_tenant(db.session, "county-x", "某县", "county")
            officer = Actor(None, "officer", tenant.id, roles=frozenset({"officer"}))
            proposal = Proposal("m:1", tenant.id, "landing_first", Decimal("3.0"), {"lead_id": 1})
            (entry,) = ledger.propose(db.session, SYSTEM, YEAR, [proposal])
            entry_id = entry.id
            ledger.decide(db.session, assessor, entry_id, APPROVED)
            db.session.commit()
    before = _stored(app)
    with app.app_context():
        # 0010 recreates the table on SQLite: rows and hashes must survive it. Up to 0010 only:
        # the refusal below is 0010's, and later revisions would be downgraded before it.
        upgrade(revision="0010")
    assert _stored(app) == before
    with app.app_context():
        assert ledger.verify(db.session).ok
        with wider_scope("cli"):
            appeals.publish(db.session, assessor, YEAR, 5)
            appeals.file_appeal(db.session, officer, entry_id, "有误")
            db.session.commit()
        # Flask-Migrate logs the refusal and exits.
        with pytest.raises(SystemExit):
            downgrade(revision="0009")
    assert "credit_ledger holds 1 appeal rows" in caplog.text
    with app.app_context(), db.engine.connect() as conn:
        assert test_migrations.current_revisions(conn) == {"0010"}
        assert {"credit_ledger_no_change", "credit_ledger_no_update"} & _guard_names(conn)
    for statement in ("UPDATE credit_ledger SET reason = 'x'", "DELETE FROM credit_ledger"):
        with (
            app.app_context(),
            pytest.raises(DBAPIError, match="append-only"),
            db.engine.begin() as conn,
        ):
            conn.execute(text(statement))
    with app.app_context():
        assert ledger.verify(db.session).checked == len(before) + 2
        assert ledger.verify(db.session).ok
