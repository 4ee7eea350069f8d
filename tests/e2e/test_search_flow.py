"""End to end in headless Chromium: the header's search-as-you-type, by keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.demo_leads import seed_demo_leads
from tests.e2e.conftest import Portal

pytestmark = pytest.mark.e2e


def test_header_search_suggests_as_you_type_and_is_keyboard_friendly(portal: Portal):
    with portal.server.database() as session:
        seed_demo_leads(session)
        session.commit()  # the outbox rows wait; the first search drains them
    page = portal.page
    portal.sign_in("city.officer")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    portal.settled()

    page.keyboard.press("/")  # focuses the header box
    box = page.get_by_test_id("header-search")
    expect(box).to_be_focused()
    page.keyboard.type("鋰電池")  # traditional script finds the simplified lead
    suggestions = page.get_by_test_id("search-suggest")
    expect(suggestions).to_contain_text("锂电池正极材料前驱体项目")
    expect(suggestions.locator("mark").first).to_have_text("锂电池")
    portal.shot("search-suggest")

    page.keyboard.press("ArrowDown")
    first = suggestions.locator("a").first
    expect(first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("search-suggest")).to_have_count(0)
    expect(box).to_be_focused()

    page.keyboard.press("Enter")  # the full results page
    expect(page).to_have_url(re.compile(r"/search\?q="))
    expect(page.get_by_role("heading", level=1)).to_have_text("搜索")
    expect(page.get_by_test_id("search-count")).to_contain_text("找到")
    portal.settled()
    page.get_by_test_id("search-input").fill("光伏 支架")
    expect(page.get_by_test_id("search-hits")).to_contain_text("光伏组件边框及支架项目")
    expect(page).to_have_url(re.compile(r"q=%E5%85%89%E4%BC%8F"))  # bookmarkable
    portal.shot("search-results")
    page.get_by_role("link", name=re.compile("光伏组件边框及支架项目")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("光伏组件边框及支架项目")
