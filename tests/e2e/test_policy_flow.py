"""End to end in headless Chromium: the city registers a policy with a PDF attachment; the
attachment's words are found from the header; a county admin (who reads policies, not leads)
finds it in the library and downloads it under its Chinese file name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.policies.demo_library import DEMO_FILES_DIR
from tests.e2e.conftest import Portal

pytestmark = pytest.mark.e2e
PDF = DEMO_FILES_DIR / "city-investment-rewards.pdf"
UPLOAD_NAME = "市招商引资项目落地奖励办法（全文）.pdf"


def test_register_a_policy_with_a_pdf_find_it_and_download_it(portal: Portal, tmp_path):
    page = portal.page
    portal.sign_in("city.officer")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    page.get_by_role("link", name="政策文件", exact=True).click()
    page.get_by_role("link", name="登记政策文件").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登记政策文件")

    page.get_by_label("文件标题").fill("市招商引资项目落地奖励办法")
    page.get_by_label("发布机构").fill("市人民政府")
    page.get_by_label("文号").fill("江府发〔2024〕12号")
    page.get_by_label("类别").select_option("招商引资")
    page.get_by_label("发布日期").fill("2024-03-18")
    # The real file, renamed the way users name files: a Chinese name with full-width brackets.
    page.get_by_test_id("policy-attachment").set_input_files(
        {"name": UPLOAD_NAME, "mimeType": "application/pdf", "buffer": PDF.read_bytes()}
    )
    portal.shot("policy-form")
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("市招商引资项目落地奖励办法")
    expect(page.get_by_test_id("policy-number")).to_have_text("江府发〔2024〕12号")
    expect(page.get_by_test_id("policy-download")).to_have_text(UPLOAD_NAME)
    portal.shot("policy-detail")

    # Words only the PDF holds (its articles), found as the officer types.
    portal.settled()
    page.keyboard.press("/")
    page.keyboard.type("实际到位资金")
    suggestions = page.get_by_test_id("search-suggest")
    expect(suggestions).to_contain_text("市招商引资项目落地奖励办法")
    expect(suggestions).to_contain_text("政策 · 江府发〔2024〕12号")

    page.get_by_role("button", name="退出").click()
    portal.sign_in("dean.admin")
    page.get_by_role("link", name="政策文件", exact=True).click()
    # The new page first, then its htmx wiring: settled() alone may run before the click's
    # request starts, and a filter typed before htmx processed the form sends nothing.
    expect(page).to_have_url(re.compile(r"/policies$"))
    portal.settled()
    page.get_by_label("标题、文号或发布机构").fill("江府发〔2024〕12")
    table = page.get_by_test_id("policy-table")
    expect(page.get_by_test_id("policy-count")).to_have_text("共 1 份文件（已筛选）")
    expect(table).to_contain_text("市招商引资项目落地奖励办法")
    # The address to bookmark names only the filter in use; the whole list is one click away.
    expect(page).to_have_url(re.compile(r"/policies\?q=[^&]+$"))
    expect(page.get_by_role("link", name="清除条件")).to_be_visible()
    portal.shot("policy-list")
    table.get_by_role("link", name="市招商引资项目落地奖励办法").click()
    with page.expect_download() as waiting:
        page.get_by_test_id("policy-download").click()
    download = waiting.value
    assert download.suggested_filename == UPLOAD_NAME
    saved = tmp_path / "downloaded.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == PDF.read_bytes()
    expect(page).to_have_url(re.compile(r"/policies/\d+$"))
