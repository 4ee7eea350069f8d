"""The assessment pages through HTTP (issue 5, point 6): a tenant's own credit page and the
overseers' tenant selector, the review queue (approve, reject, adjust; htmx rows; bulk with a
partial success), bad input refused without appending anything, the ranking and its .xlsx
against the decided entries, rule versions, locking a year and corrections after it. Runs on
SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.assessment import ledger
from portal.assessment.models import (
    ADJUSTED,
    APPROVED,
    LOCKED,
    PROPOSED,
    REJECTED,
    CreditLedger,
    ScoringRuleSet,
)
from portal.assessment.queries import current_year
from portal.assessment.scoring import Proposal
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM
from portal.extensions import db
from tenants.scoping import wider_scope
from tests.assessment_helpers import LedgerClock, publish
from tests.conftest import page_token, signed_in_client
from tests.referral_helpers import acting, shanghai

YEAR = current_year()
CREDIT_FRAGMENT = {"HX-Request": "true", "HX-Target": "credit-results"}
REVIEW_FRAGMENT = {"HX-Request": "true", "HX-Target": "review-results"}


# ---- helpers -----------------------------------------------------------------------------------


def landing(world, chain, first, code, lead_id=7, role="first_introducer", **extra) -> dict:
    """Inputs like the proposals service stores for a landing: tenant keys become ids."""
    ids = [world.tenants[key] for key in chain]
    return {
        "role": role,
        "share": "1" if role == "first_introducer" else "0.4",
        "split_among": 1,
        "chain": ids,
        "host_tenant_id": ids[-1],
        "first_introducer_tenant_id": world.tenants[first],
        "first_referral_on": f"{YEAR}-01-05",
        "window_ends_on": f"{YEAR + 2}-01-05",
        "rules": f"{YEAR}-v1",
        "lead_id": lead_id,
        "landed_lead_id": lead_id,
        "lead_code": code,
        "planned_investment": 150000,
        "tier_min_investment": 100000,
        "base_points": "15",
        "landed_on": f"{YEAR}-03-01",
        **extra,
    }


def propose(app, world, tenant_key, key, points="3.0", rule="landing_first", inputs=None):
    """One proposal appended by the system (a CLI job), committed; its ledger id."""
    proposal = Proposal(
        key, world.tenants[tenant_key], rule, Decimal(points), inputs or {"lead_id": 1}
    )
    with app.app_context(), wider_scope("cli"):
        (row,) = ledger.propose(db.session, SYSTEM, YEAR, [proposal])
        db.session.commit()
        return row.id


def decide_as(app, world, login, entry_id, decision, **kwargs):
    with app.app_context(), acting(world, login) as actor:
        ledger.decide(db.session, actor, entry_id, decision, **kwargs)
        db.session.commit()


def ledger_rows(app) -> int:
    with app.app_context(), wider_scope("cli"):
        return db.session.scalar(select(func.count(CreditLedger.id)))


def states(app, ids) -> dict:
    with app.app_context(), wider_scope("cli"):
        return {i: s.state for i, s in ledger.current_state(db.session, ids).items()}


def toast(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])["xqb:toast"]


def post(client, path, data, headers=None):
    return client.post(
        path, data={"csrf_token": page_token(client, "/assessment"), **data}, headers=headers or {}
    )


def ranking_totals(html: str) -> dict[str, tuple[int, str]]:
    """Tenant name -> (rank, total) as the ranking table shows them."""
    rows = re.findall(
        r'<tr data-tenant="\d+"[^>]*>\s*<td class="num">(\d+)</td>\s*<th scope="row">([^<]+?)'
        r'(?: <span class="badge">本单位</span>)?</th>.*?data-testid="ranking-total">'
        r'<span class="points[^"]*">(-?\d+\.\d)</span>',
        html,
        re.S,
    )
    return {name: (int(rank), total) for rank, name, total in rows}


def assert_no_inline_code(html: str) -> None:
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert " onclick=" not in html


# ---- a tenant's own page ----------------------------------------------------------------------


def test_own_page_shows_own_entries_with_evidence_and_never_another_tenants(app, http_world):
    world = http_world
    own = propose(
        app,
        world,
        "dept",
        "land:1:dept",
        "6.0",
        inputs=landing(world, ["dept", "county_a"], "dept", "XS-OWN-1"),
    )
    other = propose(
        app,
        world,
        "county_b",
        "land:2:county_b",
        "2.4",
        "landing_intermediary",
        landing(world, ["dept", "county_b", "park_a"], "dept", "XS-OTHER-2", role="intermediary"),
    )
    decide_as(app, world, "office.assessor", own, APPROVED)
    client = signed_in_client(app, "dept.officer")
    html = client.get("/assessment").get_data(as_text=True)
    assert "测试市商务局 · " + str(YEAR) + " 年度" in html
    assert "XS-OWN-1" in html and "XS-OTHER-2" not in html
    assert (
        f'href="/assessment/entries/{own}"' in html and f"/assessment/entries/{other}" not in html
    )
    # The evidence reads as an officer says it: the chain with roles, the tier, the dates.
    assert "测试市商务局<small>（首报）</small>" in html and "甲县<small>（落地）</small>" in html
    assert "首报单位，分得 100%" in html and "15 亿元" in html and f"{YEAR}-03-01" in html
    assert 'href="/leads/7"' in html and "首报项目落地" in html
    assert re.search(r'data-testid="credit-total"><span class="points">6\.0</span>', html)
    assert "已通过" in html and "tenant-select" not in html
    assert_no_inline_code(html)
    # Naming another tenant changes nothing for a tenant that oversees nobody.
    html = client.get(f"/assessment?tenant={world.tenants['county_b']}").get_data(as_text=True)
    assert "只能查看本单位的考核积分" in html and "XS-OTHER-2" not in html
    assert client.get(f"/assessment/entries/{other}").status_code == 404
    assert client.get(f"/assessment/entries/{own}").status_code == 200
    # County B sees its entry (pending: not counted) and not the department's.
    county_b = signed_in_client(app, "county-b.officer")
    html = county_b.get("/assessment").get_data(as_text=True)
    assert "XS-OTHER-2" in html and "XS-OWN-1" not in html and "待审核" in html
    assert "中间单位，分得 40%" in html
    assert re.search(r'data-testid="credit-total"><span class="points">0\.0</span>', html)
    fragment = county_b.get("/assessment?state=proposed", headers=CREDIT_FRAGMENT)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "XS-OTHER-2" in body and fragment.headers["Vary"]


@pytest.mark.parametrize("login", ["city.officer", "office.assessor", "city.admin"])
def test_the_city_and_assessors_pick_any_tenant(app, http_world, login):
    world = http_world
    propose(
        app,
        world,
        "county_b",
        "land:2:county_b",
        inputs=landing(world, ["dept", "county_b"], "dept", "XS-B-9"),
    )
    client = signed_in_client(app, login)
    html = client.get("/assessment").get_data(as_text=True)
    assert 'data-testid="tenant-select"' in html and "XS-B-9" not in html
    html = client.get(f"/assessment?tenant={world.tenants['county_b']}").get_data(as_text=True)
    assert "乙县 · " in html and "XS-B-9" in html


def test_a_tenant_of_an_unscored_kind_is_told_so(app, http_world):
    html = signed_in_client(app, "office.admin").get("/assessment").get_data(as_text=True)
    assert "不参与本年度考核计分和排名" in html


# ---- the review queue ------------------------------------------------------------------------


def test_approve_reject_and_adjust_through_http_and_htmx_rows(app, http_world):
    world = http_world
    first = propose(
        app,
        world,
        "county_a",
        "a1",
        "3.0",
        inputs=landing(world, ["county_a", "county_b"], "county_a", "XS-A1"),
    )
    second = propose(
        app,
        world,
        "county_a",
        "a2",
        "-1.0",
        "late_report",
        {
            "referral_id": 5,
            "lead_id": 3,
            "penalty": "1",
            "deadline": f"{YEAR}-03-02T16:00:00+00:00",
            "done_at": "",
        },
    )
    third = propose(
        app, world, "dept", "d1", "6.0", inputs=landing(world, ["dept", "park_a"], "dept", "XS-D1")
    )
    client = signed_in_client(app, "office.assessor")
    queue = client.get("/assessment/review").get_data(as_text=True)
    assert all(f'id="entry-{i}"' in queue for i in (first, second, third))
    assert "首次反馈时限" in queue and "逾期未反馈" in queue
    assert_no_inline_code(queue)
    # Without JavaScript: a plain POST, then back to the queue it came from.
    response = post(
        client,
        f"/assessment/entries/{first}/decide",
        {"decision": APPROVED, "next": "/assessment/review?rule=landing_first"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/assessment/review?rule=landing_first"
    # With htmx: the decided row comes back alone, with a toast.
    row = post(
        client,
        f"/assessment/entries/{second}/decide",
        {"decision": REJECTED, "reason": "系统停电所致，免予扣分。"},
        {"HX-Request": "true", "HX-Target": f"entry-{second}"},
    )
    assert row.status_code == 200
    body = row.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="entry-{second}"') and "<html" not in body
    assert "已驳回" in body and "系统停电所致" in body and "<form" not in body
    assert toast(row) == {"message": f"已驳回积分条目 #{second}。", "level": "success"}
    response = post(
        client,
        f"/assessment/entries/{third}/decide",
        {"decision": ADJUSTED, "points": "4.5", "reason": "投资额核减。"},
    )
    assert response.status_code == 302
    assert states(app, [first, second, third]) == {
        first: APPROVED,
        second: REJECTED,
        third: ADJUSTED,
    }
    with app.app_context(), wider_scope("cli"):
        assert ledger.current_state(db.session, [third])[third].points == Decimal("4.5")
    # The queue now holds nothing pending; the decided ones show under their state.
    queue = client.get("/assessment/review").get_data(as_text=True)
    assert "没有待审核的积分条目" in queue
    adjusted = client.get("/assessment/review?state=adjusted").get_data(as_text=True)
    assert f'id="entry-{third}"' in adjusted and "（原 6.0）" in adjusted


def test_bulk_decides_each_entry_and_lists_the_refused(app, http_world):
    world = http_world
    ids = [
        propose(
            app,
            world,
            "county_a",
            "b1",
            inputs=landing(world, ["county_a", "county_b"], "county_a", "XS-B1"),
        ),
        propose(
            app,
            world,
            "county_b",
            "b2",
            inputs=landing(world, ["county_b", "park_a"], "county_b", "XS-B2"),
        ),
        propose(
            app, world, "city", "b3", inputs=landing(world, ["city", "county_a"], "city", "XS-B3")
        ),
        propose(
            app, world, "dept", "b4", inputs=landing(world, ["dept", "county_a"], "dept", "XS-B4")
        ),
    ]
    decide_as(app, world, "office.assessor", ids[3], APPROVED)  # already decided
    city_entry = ids[2]
    client = signed_in_client(app, "city.assessor")
    queue = client.get("/assessment/review").get_data(as_text=True)
    own_row = re.search(rf'<tr id="entry-{city_entry}".*?</tr>', queue, re.S).group(0)
    assert (
        "disabled" in own_row and "须由其他单位的考核员审核" in own_row and "<form" not in own_row
    )
    before = ledger_rows(app)
    response = client.post(
        "/assessment/review/bulk",
        data={
            "csrf_token": page_token(client, "/assessment/review"),
            "entry_ids": [str(i) for i in ids] + ["999999"],
            "decision": APPROVED,
            "next": "/assessment/review?state=all",
        },
    )
    assert (
        response.status_code == 302
        and response.headers["Location"] == "/assessment/review?state=all"
    )
    assert ledger_rows(app) == before + 2  # each pending entry of another tenant: one row each
    assert states(app, ids) == {
        ids[0]: APPROVED,
        ids[1]: APPROVED,
        ids[2]: PROPOSED,
        ids[3]: APPROVED,
    }
    page = client.get("/assessment/review?state=all").get_data(as_text=True)
    result = re.search(r'data-testid="bulk-result">(.*?)</div>', page, re.S).group(1)
    assert "已通过 2 条积分条目，3 条未能审核" in result
    assert (
        f"#{city_entry}</a>（测试市投资促进局 · 首报项目落地）：不能审核本单位受益的积分条目。"
        in result
    )
    assert f"#{ids[3]}" in result and "不能重复审核" in result
    assert "#999999</a>：积分条目不存在。" in result
    # The result is shown once.
    assert 'data-testid="bulk-result"' not in client.get("/assessment/review").get_data(
        as_text=True
    )


def test_bulk_through_htmx_swaps_the_queue(app, http_world):
    world = http_world
    ids = [
        propose(
            app,
            world,
            "county_a",
            f"h{i}",
            inputs=landing(world, ["county_a", "county_b"], "county_a", f"XS-H{i}"),
        )
        for i in range(3)
    ]
    client = signed_in_client(app, "office.assessor")
    response = client.post(
        "/assessment/review/bulk",
        data={
            "entry_ids": [str(i) for i in ids[:2]],
            "decision": REJECTED,
            "reason": "重复线索。",
            "next": "/assessment/review",
        },
        headers={**REVIEW_FRAGMENT, "X-CSRFToken": page_token(client, "/assessment/review")},
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and "已驳回 2 条积分条目。" in body
    assert f'id="entry-{ids[2]}"' in body and f'id="entry-{ids[0]}"' not in body
    assert toast(response) == {"message": "已驳回 2 条积分条目。", "level": "success"}
    assert states(app, ids) == {ids[0]: REJECTED, ids[1]: REJECTED, ids[2]: PROPOSED}


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,status,message",
    [
        ({"decision": REJECTED, "reason": "  "}, 422, "驳回须填写理由。"),
        ({"decision": ADJUSTED, "points": "abc", "reason": "核减"}, 422, "分值须为数字。"),
        (
            {"decision": ADJUSTED, "points": "", "reason": "核减"},
            422,
            "调整积分须填写调整后的分值。",
        ),
        ({"decision": ADJUSTED, "points": "1.25", "reason": "核减"}, 422, "分值最多保留一位小数。"),
        (
            {"decision": ADJUSTED, "points": "5000", "reason": "核减"},
            422,
            "分值须在 -1000 到 1000 之间。",
        ),
        (
            {"decision": ADJUSTED, "points": "1E+30", "reason": "核减"},
            422,
            "分值须在 -1000 到 1000 之间。",
        ),
        ({"decision": "maybe"}, 422, "请选择审核结果：通过、驳回或调整。"),
        ({"decision": REJECTED, "reason": "理" * 501}, 422, "理由不超过 500 字。"),
    ],
)
def test_bad_decisions_are_refused_in_chinese_and_append_nothing(
    app, http_world, data, status, message
):
    world = http_world
    entry = propose(
        app,
        world,
        "county_a",
        "x1",
        inputs=landing(world, ["county_a", "county_b"], "county_a", "XS-X1"),
    )
    client = signed_in_client(app, "office.assessor")
    before = ledger_rows(app)
    response = post(client, f"/assessment/entries/{entry}/decide", data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    htmx = post(
        client,
        f"/assessment/entries/{entry}/decide",
        data,
        {"HX-Request": "true", "HX-Target": f"entry-{entry}"},
    )
    assert htmx.status_code == status and toast(htmx)["message"] == message
    assert htmx.get_data(as_text=True).lstrip().startswith(f'<tr id="entry-{entry}"')
    assert ledger_rows(app) == before and states(app, [entry]) == {entry: PROPOSED}


def test_unknown_foreign_and_own_entries_are_refused(app, http_world):
    world = http_world
    own = propose(
        app, world, "office", "o1", inputs=landing(world, ["office", "county_a"], "office", "XS-O1")
    )
    other = propose(
        app,
        world,
        "county_a",
        "o2",
        inputs=landing(world, ["county_a", "county_b"], "county_a", "XS-O2"),
    )
    decide_as(app, world, "city.assessor", other, APPROVED)
    with app.app_context(), wider_scope("cli"):
        decision_row = db.session.scalar(
            select(CreditLedger.id).where(CreditLedger.entry_id == other)
        )
    client = signed_in_client(app, "office.assessor")
    before = ledger_rows(app)
    for entry_id in (999999, decision_row):  # no such entry; a decision row is no entry
        response = post(client, f"/assessment/entries/{entry_id}/decide", {"decision": APPROVED})
        assert response.status_code == 404
        assert "找不到该页面或对象" in response.get_data(as_text=True)
    # The assessor's own tenant benefits: the ledger refuses, and the page says why.
    response = post(client, f"/assessment/entries/{own}/decide", {"decision": APPROVED})
    assert response.status_code == 403
    assert "不能审核本单位受益的积分条目。" in response.get_data(as_text=True)
    page = client.get(f"/assessment/entries/{own}").get_data(as_text=True)
    assert 'data-testid="own-entry-note"' in page and "/decide" not in page
    # Someone who is no assessor never reaches the ledger.
    officer = signed_in_client(app, "county-b.officer")
    response = post(officer, f"/assessment/entries/{other}/decide", {"decision": APPROVED})
    assert response.status_code == 403
    # Bulk: nothing selected, a reason missing, an id that is no number.
    for data, message in (
        ({"decision": APPROVED}, "请先勾选要审核的积分条目。"),
        ({"decision": REJECTED, "entry_ids": [str(own)]}, "批量驳回须填写理由。"),
        ({"decision": APPROVED, "entry_ids": ["x"]}, "所选条目编号无效"),
        (
            {"decision": ADJUSTED, "entry_ids": [str(own)], "reason": "核减"},
            "批量调整须填写调整后的分值。",
        ),
    ):
        response = post(client, "/assessment/review/bulk", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert ledger_rows(app) == before


def test_the_slower_of_two_assessors_sees_the_ledgers_message(app, http_world):
    world = http_world
    entry = propose(
        app,
        world,
        "county_a",
        "r1",
        inputs=landing(world, ["county_a", "county_b"], "county_a", "XS-R1"),
    )
    first, second = signed_in_client(app, "office.assessor"), signed_in_client(app, "city.assessor")
    queue = second.get("/assessment/review").get_data(
        as_text=True
    )  # opened before the first decides
    assert f'id="entry-{entry}"' in queue
    assert (
        post(first, f"/assessment/entries/{entry}/decide", {"decision": APPROVED}).status_code
        == 302
    )
    before = ledger_rows(app)
    late = post(
        second,
        f"/assessment/entries/{entry}/decide",
        {"decision": REJECTED, "reason": "重复线索。"},
        {"HX-Request": "true", "HX-Target": f"entry-{entry}"},
    )
    assert late.status_code == 409
    message = "该条目已由 office.assessor 审核（已通过），不能重复审核，请刷新后查看。"
    assert toast(late) == {"message": message, "level": "error"}
    plain = post(
        second,
        f"/assessment/entries/{entry}/decide",
        {"decision": REJECTED, "reason": "重复线索。"},
    )
    assert plain.status_code == 409 and message in plain.get_data(as_text=True)
    assert ledger_rows(app) == before and states(app, [entry]) == {entry: APPROVED}


# ---- the ranking and the exports ------------------------------------------------------------


def _scored_year(app, world) -> dict[str, int]:
    """Entries of every kind and state; the office assessor decides."""
    e = {
        "dept_land": propose(
            app,
            world,
            "dept",
            "k1",
            "6.0",
            inputs=landing(world, ["dept", "county_a"], "dept", "XS-K1"),
        ),
        "dept_stage": propose(
            app,
            world,
            "dept",
            "k2",
            "2.0",
            "stage_started",
            {"lead_id": 1, "stage": "started", "stage_bonus": "2", "reached_on": f"{YEAR}-05-01"},
        ),
        "a_late": propose(
            app,
            world,
            "county_a",
            "k3",
            "-0.5",
            "late_sign",
            {
                "referral_id": 9,
                "lead_id": 1,
                "penalty": "0.5",
                "deadline": f"{YEAR}-02-01T16:00:00+00:00",
                "done_at": f"{YEAR}-02-02T03:00:00+00:00",
            },
        ),
        "b_land": propose(
            app,
            world,
            "county_b",
            "k4",
            "3.0",
            inputs=landing(world, ["county_b", "park_a"], "county_b", "XS-K4"),
        ),
        "park_land": propose(
            app,
            world,
            "park_a",
            "k5",
            "4.0",
            inputs=landing(world, ["park_a", "county_b"], "park_a", "XS-K5"),
        ),
        "city_land": propose(
            app,
            world,
            "city",
            "k6",
            "5.0",
            inputs=landing(world, ["city", "county_b"], "city", "XS-K6"),
        ),
    }
    decide_as(app, world, "office.assessor", e["dept_land"], APPROVED)
    decide_as(app, world, "office.assessor", e["a_late"], APPROVED)
    decide_as(app, world, "office.assessor", e["b_land"], ADJUSTED, points="1.5", reason="核减")
    decide_as(app, world, "office.assessor", e["park_land"], REJECTED, reason="不符合条件")
    decide_as(app, world, "office.assessor", e["city_land"], APPROVED)
    return e


def test_before_publication_only_overseers_see_the_ranking(app, http_world):
    _scored_year(app, http_world)
    client = signed_in_client(app, "county-b.officer")
    html = client.get("/assessment/ranking").get_data(as_text=True)
    assert f"{YEAR} 年度排名尚未公示。" in html and ranking_totals(html) == {}
    assert 'data-testid="ranking-download"' not in html
    response = client.get(f"/assessment/{YEAR}/ranking.xlsx")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/assessment/ranking?year={YEAR}"
    assert "公示后方可下载" in client.get(response.headers["Location"]).get_data(as_text=True)
    for overseer in ("city.officer", "office.assessor"):
        html = signed_in_client(app, overseer).get("/assessment/ranking").get_data(as_text=True)
        assert "以下为草稿，仅考核员和市局可见" in html and len(ranking_totals(html)) == 4


def test_ranking_counts_only_decided_points_of_scored_tenants(app, http_world):
    _scored_year(app, http_world)
    publish(app, http_world, YEAR)
    client = signed_in_client(app, "county-b.officer")
    html = client.get("/assessment/ranking").get_data(as_text=True)
    # The department's pending stage bonus does not count; the city and the office are not ranked.
    assert ranking_totals(html) == {
        "测试市商务局": (1, "6.0"),
        "乙县": (2, "1.5"),
        "甲县工业园": (3, "0.0"),
        "甲县": (4, "-0.5"),
    }
    assert (
        "测试市投资促进局" not in ranking_totals(html)
        and "不参与排名：市级招商部门、考核机构" in html
    )
    assert "以下为公示稿，含申诉处理结果" in html and "本单位尚有" not in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="ranking-chart"' in html
    assert "<title>测试市商务局：6.0 分</title>" in html
    assert_no_inline_code(html)
    # The department's own page has the same total as its ranking row.
    dept = signed_in_client(app, "dept.officer").get("/assessment").get_data(as_text=True)
    assert re.search(r'data-testid="credit-total"><span class="points">6\.0</span>', dept)
    assert "1 条 / 2.0 分" in dept  # pending, shown apart


def test_the_ranking_workbook_holds_the_pages_numbers(app, http_world):
    _scored_year(app, http_world)
    publish(app, http_world, YEAR)
    client = signed_in_client(app, "park-a.officer")
    html = client.get("/assessment/ranking").get_data(as_text=True)
    page = ranking_totals(html)
    link = re.search(r'href="([^"]+)" hx-boost="false" data-testid="ranking-download"', html)
    assert link.group(1) == f"/assessment/{YEAR}/ranking.xlsx"
    response = client.get(link.group(1))
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''" + quote(f"{YEAR}年考核排名.xlsx") in disposition
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("名次", "单位", "落地基础分", "进展加分", "逾期扣分", "更正调整", "合计")
    assert {r[1]: (r[0], f"{r[6]:.1f}") for r in rows[1:]} == page
    assert dict((r[1], r[2]) for r in rows[1:])["测试市商务局"] == 6.0


ALL_TENANTS = {"测试市商务局", "甲县", "乙县", "甲县工业园", "测试市投资促进局"}


@pytest.mark.parametrize(
    "login,tenants,suffix",
    [
        ("county-a.officer", {"甲县"}, "-甲县"),
        ("dept.head", {"测试市商务局"}, "-测试市商务局"),
        ("city.officer", ALL_TENANTS, ""),
        ("office.assessor", ALL_TENANTS, ""),
    ],
)
def test_the_entries_workbook_holds_what_the_reader_may_see(
    app, http_world, login, tenants, suffix
):
    _scored_year(app, http_world)
    client = signed_in_client(app, login)
    response = client.get(f"/assessment/{YEAR}/entries.xlsx")
    name = quote(f"{YEAR}年积分条目{suffix}.xlsx")
    assert "filename*=UTF-8''" + name in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("条目编号", "单位", "规则", "积分", "状态")
    assert {row[1] for row in rows[1:]} == tenants
    by_tenant = {}
    for row in rows[1:]:
        by_tenant.setdefault(row[1], []).append((row[2], row[3], row[4]))
    if "甲县" in tenants:
        assert by_tenant["甲县"] == [("签收超时", -0.5, "已通过")]
        assert any("签收时限" in (row[5] or "") for row in rows[1:] if row[1] == "甲县")
    if "乙县" in tenants:
        assert by_tenant["乙县"] == [("首报项目落地", 1.5, "已调整")]


def test_an_overseer_narrows_the_entries_workbook_and_a_year_out_of_range_is_not_found(
    app, http_world
):
    _scored_year(app, http_world)
    client = signed_in_client(app, "city.head")
    county_b = http_world.tenants["county_b"]
    response = client.get(f"/assessment/{YEAR}/entries.xlsx?tenant={county_b}")
    assert quote(f"{YEAR}年积分条目-乙县.xlsx") in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["乙县"]
    # A county cannot widen its own: the tenant it names is ignored.
    county_a = signed_in_client(app, "county-a.head")
    response = county_a.get(f"/assessment/{YEAR}/entries.xlsx?tenant={county_b}")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["甲县"]
    for year in (1999, 2101, 99999):
        assert client.get(f"/assessment/{year}/ranking.xlsx").status_code == 404
        assert client.get(f"/assessment/{year}/entries.xlsx").status_code == 404


# ---- the rules ---------------------------------------------------------------------------------


def _rules_form(client, **changes) -> dict:
    html = client.get(f"/assessment/rules/edit?year={YEAR}").get_data(as_text=True)
    data = dict(
        re.findall(
            r'<input type="(?:text|date|hidden)"[^>]*? name="([^"]+)"[^>]*? value="([^"]*)"', html
        )
    )
    data |= {"unscored_kinds": ["city"], "reason": "提高小项目基础分。"}
    data |= changes
    return data


def test_saving_the_rules_appends_version_two_and_the_page_describes_it(app, http_world):
    client = signed_in_client(app, "office.assessor")
    page = client.get("/assessment/rules").get_data(as_text=True)
    assert "第 1 版" in page and "系统默认规则" in page and "基础分 3 分" in page
    data = _rules_form(client, tier_points_0="4", yearly_cap="40", stage_bonus_full="1.5")
    assert data["base_version"] == "1" and data["first_introducer_share"] == "60"
    response = client.post("/assessment/rules/edit", data=data)
    assert (
        response.status_code == 302
        and response.headers["Location"] == f"/assessment/rules?year={YEAR}"
    )
    with app.app_context(), wider_scope("cli"):
        (row,) = db.session.scalars(select(ScoringRuleSet)).all()
        assert (row.year, row.version, row.reason) == (YEAR, 2, "提高小项目基础分。")
        stored = ledger.rules_from_json(row.rules)
        assert stored.tiers[0].points == Decimal("4") and stored.yearly_cap == Decimal("40")
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "credit_rules_changed")
        )
        assert event is not None and event.object_id == str(row.id)
        assert json.loads(event.after)["reason"] == "提高小项目基础分。"
    # Everyone signed in reads the new rules in words, and who changed them and why.
    page = signed_in_client(app, "county-a.officer").get("/assessment/rules").get_data(as_text=True)
    assert "现行规则（第 2 版）" in page and "基础分 4 分" in page and "不超过 40 分" in page
    assert "项目达产后，按同样的分成另加 1.5 分。" in page
    assert "office.assessor（测试市考核办）" in page and "提高小项目基础分。" in page
    assert "修改计分规则" not in page
    assert (
        signed_in_client(app, "county-a.officer").get("/assessment/rules/edit").status_code == 403
    )
    # The form opened on version 1 is now stale: refused, nothing appended.
    response = client.post("/assessment/rules/edit", data=data)
    assert response.status_code == 409 and "现为第 2 版" in response.get_data(as_text=True)
    with app.app_context(), wider_scope("cli"):
        assert db.session.scalar(select(func.count(ScoringRuleSet.id))) == 1


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"intermediary_share": "50"}, "首报单位与中间单位的分成比例之和须为 100%。"),
        ({"first_introducer_share": "六十"}, "首报单位分成比例须为数字。"),
        ({"tier_points_1": "abc"}, "第 2 档的基础分须为数字。"),
        ({"tier_min_1": ""}, "第 2 档须同时填写计划投资下限和基础分。"),
        ({"tier_min_1": "0"}, "各档计划投资下限须从小到大排列，且不得重复。"),
        ({"yearly_cap": "0"}, "年度加分上限须大于 0。"),
        ({"late_sign_penalty": "0.25"}, "签收超时扣分最多保留一位小数。"),
        # Sizes Decimal cannot round (quantize) or divide by 100 without overflowing.
        ({"yearly_cap": "1E+30"}, "年度加分上限不得超过 1000 分。"),
        ({"tier_points_0": "9" * 5000}, "基础分不得超过 1000 分。"),
        ({"first_introducer_share": "1e999999999"}, "首报单位分成比例须在 0 到 100% 之间。"),
        ({"credit_window_days": "0"}, "计分期限须为 1–3650 天。"),
        ({"effective_from": f"{YEAR + 1}-01-01"}, f"施行日期须在 {YEAR} 年内。"),
        ({"unscored_kinds": ["city", "bureau"]}, "不计分的单位类型无效：bureau。"),
        ({"reason": " "}, "请填写修改理由。"),
    ],
)
def test_rules_form_errors_are_shown_and_nothing_is_saved(app, http_world, changes, message):
    client = signed_in_client(app, "city.assessor")
    response = client.post("/assessment/rules/edit", data=_rules_form(client, **changes))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body and "规则尚未保存" in body
    with app.app_context(), wider_scope("cli"):
        assert db.session.scalar(select(func.count(ScoringRuleSet.id))) == 0
        assert (
            db.session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "credit_rules_changed")
            )
            == 0
        )


# ---- lock and corrections ---------------------------------------------------------------------


def test_lock_then_decisions_are_refused_and_corrections_count(app, http_world, monkeypatch):
    world = http_world
    clock = LedgerClock(monkeypatch)
    decided = propose(
        app,
        world,
        "county_a",
        "l1",
        "3.0",
        inputs=landing(world, ["county_a", "county_b"], "county_a", "XS-L1"),
    )
    pending = propose(
        app,
        world,
        "county_a",
        "l2",
        "2.0",
        inputs=landing(world, ["county_a", "park_a"], "county_a", "XS-L2"),
    )
    decide_as(app, world, "office.assessor", decided, APPROVED)
    client = signed_in_client(app, "office.assessor")
    page = client.get(f"/assessment/lock?year={YEAR}").get_data(as_text=True)
    assert "尚有 <strong>1</strong> 条积分条目待审核" in page and "✗ 尚未公示" in page
    before = ledger_rows(app)
    for message in (
        f"{YEAR} 年度尚未公示，公示并经过申诉期后方可锁定。",
        f"{YEAR} 年度尚有 1 条积分条目未审核，不能锁定。",
    ):
        response = post(client, "/assessment/lock", {"year": str(YEAR), "confirm": "1"})
        assert response.status_code == 409 and message in response.get_data(as_text=True)
        if ledger_rows(app) == before:
            response = post(
                client,
                "/assessment/publish",
                {"year": str(YEAR), "working_days": "2", "confirm": "1"},
            )
            assert response.headers["Location"] == f"/assessment/ranking?year={YEAR}"
    assert ledger_rows(app) == before + 1
    assert (
        post(client, f"/assessment/entries/{pending}/decide", {"decision": APPROVED}).status_code
        == 302
    )
    # Decided on Monday 2 November after publication: appeals until the end of Wednesday.
    response = post(client, "/assessment/lock", {"year": str(YEAR), "confirm": "1"})
    assert response.status_code == 409
    assert "申诉期至 2026-11-04 结束，申诉期结束后方可锁定。" in response.get_data(as_text=True)
    clock.set(shanghai(2026, 11, 4, 23, 59))
    assert post(client, "/assessment/lock", {"year": str(YEAR), "confirm": "1"}).status_code == 409
    clock.set(shanghai(2026, 11, 5, 0, 0, 1))
    response = post(client, "/assessment/lock", {"year": str(YEAR)})  # not confirmed
    assert response.status_code == 422 and "请勾选确认后再锁定。" in response.get_data(as_text=True)
    assert ledger_rows(app) == before + 2
    response = post(client, "/assessment/lock", {"year": str(YEAR), "confirm": "1"})
    assert (
        response.status_code == 302
        and response.headers["Location"] == f"/assessment/ranking?year={YEAR}"
    )
    with app.app_context(), wider_scope("cli"):
        assert (
            db.session.scalar(
                select(func.count(CreditLedger.id)).where(CreditLedger.kind == LOCKED)
            )
            == 1
        )
    assert "已锁定，以下为最终排名" in client.get("/assessment/ranking").get_data(as_text=True)
    # After the lock, no decision: the ledger says why.
    before = ledger_rows(app)
    response = post(
        client, f"/assessment/entries/{decided}/decide", {"decision": REJECTED, "reason": "复核"}
    )
    assert response.status_code == 409
    assert "该年度已锁定，只能以更正条目调整。" in response.get_data(as_text=True)
    # Corrections: refused for the assessor's own tenant and without a reason; then counted.
    for data, message in (
        (
            {"tenant": str(world.tenants["office"]), "points": "1", "reason": "x"},
            "不能更正本单位的积分。",
        ),
        (
            {"tenant": str(world.tenants["county_a"]), "points": "2", "reason": ""},
            "更正须填写理由。",
        ),
        (
            {"tenant": str(world.tenants["county_a"]), "points": "0", "reason": "x"},
            "更正分值不能为 0。",
        ),
        ({"points": "2", "reason": "x"}, "请选择要更正的单位。"),
    ):
        response = post(client, "/assessment/corrections", {"year": str(YEAR), **data})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert ledger_rows(app) == before
    response = post(
        client,
        "/assessment/corrections",
        {
            "year": str(YEAR),
            "tenant": str(world.tenants["county_a"]),
            "points": "2",
            "reason": "申诉成立，补记转交加分。",
        },
    )
    assert response.status_code == 302
    ranking = client.get("/assessment/ranking").get_data(as_text=True)
    assert ranking_totals(ranking)["甲县"] == (1, "7.0")
    row = re.search(
        r'<tr data-tenant="\d+"[^>]*>\s*<td class="num">1</td>.*?</tr>', ranking, re.S
    ).group(0)
    assert re.search(r'data-group="correction"><span class="points">2\.0</span>', row)
    own = signed_in_client(app, "county-a.officer").get("/assessment").get_data(as_text=True)
    assert re.search(r'data-testid="credit-total"><span class="points">7\.0</span>', own)
    assert "申诉成立，补记转交加分。" in own


def test_corrections_before_the_lock_are_refused(app, http_world):
    client = signed_in_client(app, "city.assessor")
    before = ledger_rows(app)
    response = post(
        client,
        "/assessment/corrections",
        {
            "year": str(YEAR),
            "tenant": str(http_world.tenants["county_a"]),
            "points": "2",
            "reason": "补记",
        },
    )
    assert response.status_code == 422
    assert f"{YEAR} 年度尚未锁定，请直接审核积分条目。" in response.get_data(as_text=True)
    assert ledger_rows(app) == before
