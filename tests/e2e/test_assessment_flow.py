"""Referral credit end to end in Chromium: a department posts a lead and passes it to a county;
the county lands it; the assessment office's assessor approves the proposed credit; the
department climbs the ranking, and the exported workbook holds the same numbers. Then 公示 and
申诉: the year is published, the department appeals its entry, the assessor upholds the appeal
and the department's total follows."""

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


def _department_lead_lands_in_the_county(portal: Portal) -> None:
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


def _approve_department_entry(portal: Portal) -> None:
    page = portal.page
    page.get_by_role("link", name="积分审核").click()
    portal.settled()
    row = page.get_by_test_id("review-row").filter(has_text=DEPARTMENT)
    expect(row).to_contain_text("10.0")
    row.get_by_role("button", name="通过").click()
    portal.settled()
    expect(page.get_by_test_id("review-row").filter(has_text=DEPARTMENT)).to_contain_text("已通过")


def test_department_passes_county_lands_assessor_approves_rank_changes(portal: Portal, tmp_path):
    page = portal.page
    _department_lead_lands_in_the_county(portal)

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


def test_department_appeals_after_publication_and_the_assessor_upholds_it(portal: Portal):
    page = portal.page
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    _department_lead_lands_in_the_county(portal)
    portal.sign_in("kaohe.assessor")
    portal.settled()
    _approve_department_entry(portal)

    # 公示 (the demo publishes the years it has entries in; this year may already be).
    page.goto(f"/assessment/publish?year={year}")
    portal.settled()
    publish = page.get_by_role("button", name=f"公示 {year} 年度排名")
    if publish.count():
        page.get_by_label(re.compile("确认向全市各单位公示")).check()
        publish.click()
        portal.settled()
        expect(page.get_by_test_id("ranking-status")).to_contain_text("公示")
        page.goto(f"/assessment/publish?year={year}")
        portal.settled()
    expect(page.get_by_test_id("publish-state")).to_contain_text("公示")
    portal.shot("appeal-1-published")
    _sign_out(portal)

    # The department sees the published ranking and appeals its entry from its credit page.
    portal.sign_in("shangwu.officer")
    portal.settled()
    page.goto(f"/assessment/ranking?year={year}")
    portal.settled()
    expect(page.get_by_test_id("ranking-status")).to_contain_text("公示稿")
    expect(_department_row(portal).get_by_test_id("ranking-total")).not_to_have_text("")
    before = _department_row(portal).get_by_test_id("ranking-total").inner_text()
    page.goto(f"/assessment?year={year}")
    portal.settled()
    entry_row = page.get_by_test_id("credit-table").get_by_role("row").filter(has_text="10.0")
    entry_row.filter(has_text="已通过").first.get_by_role("link").first.click()
    portal.settled()
    page.get_by_label(re.compile("申诉理由")).fill("项目已追加投资，请按 12 分复核。")
    page.get_by_role("button", name="提出申诉").click()
    portal.settled()
    appeal_section = page.get_by_test_id("appeal-section")
    expect(appeal_section.get_by_test_id("appeal-state")).to_have_text("申诉中")
    expect(page.get_by_test_id("appeal-text")).to_have_text("项目已追加投资，请按 12 分复核。")
    portal.shot("appeal-2-filed")
    _sign_out(portal)

    # The assessor finds it among the open appeals and upholds it with 12 points.
    portal.sign_in("kaohe.assessor")
    portal.settled()
    page.goto(f"/assessment/appeals?year={year}")
    portal.settled()
    appeal_row = (
        page.get_by_test_id("appeal-table").get_by_role("row").filter(has_text="项目已追加投资")
    )
    portal.shot("appeal-3-queue")
    appeal_row.get_by_role("link", name="处理").click()
    portal.settled()
    page.get_by_label(re.compile("处理理由")).fill("追加投资已签约，按 12 分计。")
    page.get_by_label(re.compile("改定后的分值")).fill("12")
    page.get_by_role("button", name="申诉成立").click()
    portal.settled()
    expect(page.get_by_test_id("appeal-section").get_by_test_id("appeal-state")).to_have_text(
        "申诉成立"
    )
    expect(page.get_by_test_id("entry-state")).to_have_text("申诉改分")
    _sign_out(portal)

    # The department's total grew by the 2 points the appeal added.
    portal.sign_in("shangwu.officer")
    portal.settled()
    page.goto(f"/assessment/ranking?year={year}")
    portal.settled()
    after = _department_row(portal).get_by_test_id("ranking-total")
    expect(after).to_have_text(f"{float(before) + 2:.1f}")
    portal.shot("appeal-4-ranking")
