"""Referral credit end to end in Chromium: a department posts a lead and passes it to a county;
the county lands it; the assessment office's assessor approves the proposed credit; the
department climbs the ranking, and the exported workbook holds the same numbers."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import Portal

TITLE = "年产 5 万吨高性能碳纤维项目（考核端到端）"
DEPARTMENT = "市商务局"
COUNTY = "德安县"


def _sign_out(portal: Portal) -> None:
    portal.page.get_by_role("button", name="退出").click()
    expect(portal.page).to_have_url(re.compile(r"/login"))


def _department_row(portal: Portal):
    return (
        portal.page.get_by_test_id("ranking-table").get_by_role("row").filter(has_text=DEPARTMENT)
    )


def test_department_passes_county_lands_assessor_approves_rank_changes(portal: Portal, tmp_path):
    page = portal.page
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    # The department posts the lead (8.6 亿: the 5–10 亿 tier) and sends it to the county.
    portal.sign_in("shangwu.officer")
    page.goto("/leads/new")
    portal.settled()
    page.get_by_role("textbox", name="项目名称").fill(TITLE)
    page.get_by_role("textbox", name="客商（企业）名称").fill("江西宏碳新材料有限公司")
    page.get_by_label("线索来源渠道").select_option(label="以商招商")
    page.get_by_label("计划投资（万元）").fill("86000")
    page.get_by_role("button", name="登记").click()
    portal.settled()
    page.get_by_role("link", name="推送给其他单位").click()
    portal.settled()
    page.get_by_label(COUNTY, exact=True).check()
    page.get_by_label("推送说明").fill("德安高新区有碳纤维上下游配套。")
    page.get_by_role("button", name="推送", exact=True).click()
    portal.settled()
    expect(page.get_by_text(re.compile(f"已推送给.*{COUNTY}"))).to_be_visible()
    _sign_out(portal)

    # The county signs it and lands it.
    portal.sign_in("dean.officer")
    page.get_by_role("link", name="推送办理").first.click()
    portal.settled()
    page.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name="办理").click()
    portal.settled()
    page.get_by_role("button", name="签收", exact=True).click()
    portal.settled()
    page.locator("summary", has_text="登记落地").click()
    page.get_by_label("签约日期").fill(today)
    page.get_by_label("签约金额（万元）").fill("86000")
    page.get_by_role("button", name="确认落地").click()
    portal.settled()
    expect(page.locator("main")).to_contain_text("已落地")
    _sign_out(portal)

    # Before the decision the proposal counts for nothing in the ranking.
    portal.sign_in("kaohe.assessor")
    page.goto("/assessment/ranking")
    portal.settled()
    expect(_department_row(portal).get_by_test_id("ranking-total")).to_have_text("0.0")
    portal.shot("assessment-1-ranking-before")

    # The assessor approves the proposed credit in the queue.
    page.get_by_role("link", name="积分审核").click()
    portal.settled()
    row = page.get_by_test_id("review-row").filter(has_text=DEPARTMENT)
    expect(row).to_contain_text("10.0")
    portal.shot("assessment-2-review-queue")
    row.get_by_role("button", name="通过").click()
    portal.settled()
    expect(page.get_by_test_id("review-row").filter(has_text=DEPARTMENT)).to_contain_text("已通过")

    # The department is now first, and the workbook says the same.
    page.goto("/assessment/ranking")
    portal.settled()
    department = _department_row(portal)
    expect(department.get_by_test_id("ranking-total")).to_have_text("10.0")
    expect(department.locator("td").first).to_have_text("1")
    portal.shot("assessment-3-ranking-after")
    with page.expect_download() as waiting:
        page.get_by_test_id("ranking-download").click()
    assert waiting.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "ranking.xlsx"
    waiting.value.save_as(saved)
    book = load_workbook(saved)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    (exported,) = [r for r in rows[1:] if r[1] == DEPARTMENT]
    assert exported[0] == 1 and exported[-1] == 10.0
