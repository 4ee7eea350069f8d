"""The heart of the portal, end to end in Chromium: the city posts a lead and sends it to a
county; the county signs it, reports back and closes it as landed; the city sees it on time.
Screenshots of every step go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import Portal

TITLE = "年产 20 万吨再生铝项目（端到端）"
COMPANY = "浔阳再生金属材料有限公司"


def _sign_out(portal: Portal) -> None:
    portal.page.get_by_role("button", name="退出").click()
    expect(portal.page).to_have_url(re.compile(r"/login"))


def test_city_posts_county_signs_reports_and_lands_city_sees_on_time(portal: Portal):
    page = portal.page
    county = "德安县"

    # 1. A city officer posts the lead.
    portal.sign_in("city.officer")
    page.get_by_role("link", name="招商线索").first.click()
    portal.settled()
    page.get_by_role("link", name="登记线索").click()
    expect(page).to_have_url(re.compile(r"/leads/new$"))
    portal.settled()
    page.get_by_role("textbox", name="项目名称").fill(TITLE)
    page.get_by_role("textbox", name="客商（企业）名称").fill(COMPANY)
    page.get_by_role("textbox", name="客商来源地").fill("浙江宁波")
    page.get_by_label("产业链").select_option(label="新材料")
    page.get_by_label("线索来源渠道").select_option(label="以商招商")
    page.get_by_label("计划投资（万元）").fill("86000")
    page.get_by_label("用地需求（亩）").fill("210")
    page.get_by_label("项目简介").fill("拟建设再生铝熔铸及深加工生产线。")
    page.get_by_label("联系人", exact=True).fill("陈总")
    page.get_by_label("联系电话").fill("0574-8888 1234")
    portal.shot("referral-1-lead-form")
    page.get_by_role("button", name="登记").click()
    portal.settled()
    expect(page.get_by_role("heading", name=re.compile(TITLE))).to_be_visible()
    expect(page.get_by_text("陈总")).to_be_visible()  # the owner sees the contact

    # 2. …and sends it to a county.
    page.get_by_role("link", name="推送给其他单位").click()
    expect(page).to_have_url(re.compile(r"/send$"))
    portal.settled()
    page.get_by_label(county, exact=True).check()
    page.get_by_label("推送说明").fill("德安县有再生金属产业园，用地和能耗指标充足。")
    portal.shot("referral-2-send-form")
    page.get_by_role("button", name="推送", exact=True).click()
    portal.settled()
    expect(page.get_by_text(re.compile(f"已推送给.*{county}"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("待签收")
    portal.shot("referral-3-sent")
    _sign_out(portal)

    # 3. The county officer finds it in 待签收 and signs it.
    portal.sign_in("dean.officer")
    page.get_by_role("link", name="推送办理").first.click()
    portal.settled()
    row = page.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("待签收"))).to_be_visible()
    portal.shot("referral-4-county-inbox")
    row.get_by_role("link", name="办理").click()
    expect(page).to_have_url(re.compile(r"/referrals/\d+$"))
    portal.settled()
    expect(page.get_by_text("联系人信息在签收后可见")).to_have_count(0)
    page.get_by_role("button", name="签收", exact=True).click()
    portal.settled()
    expect(page.locator("main")).to_contain_text("已签收")
    portal.shot("referral-5-signed")

    # 4. It reports back (对接反馈), first forgetting what happened: the page comes back with the
    # error and keeps its own address (the form posts to a URL that only takes POST), so
    # reloading shows the referral again.
    address = page.url
    page.get_by_role("button", name="提交反馈").click()
    expect(page.get_by_text("请填写对接情况。")).to_be_visible()
    assert page.url == address
    page.reload()
    portal.settled()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    # The forms check dates against the day in Shanghai, not the test machine's day.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    page.get_by_label("对接日期").fill(today)
    page.get_by_label("对接方式").select_option(label="上门拜访")
    page.get_by_label("对接情况").fill("县招商局带队赴宁波拜访企业，企业对园区配套表示认可。")
    page.get_by_label("企业投资意向").select_option(label="意向强烈")
    page.get_by_label("反馈后项目阶段").select_option(label="在谈")
    page.get_by_role("button", name="提交反馈").click()
    portal.settled()
    expect(page.locator("main")).to_contain_text("已反馈")
    expect(page.locator("main")).to_contain_text("企业对园区配套表示认可")
    portal.shot("referral-6-reported")

    # 5. …and closes it as landed.
    page.locator("summary", has_text="登记落地").click()
    page.get_by_label("签约日期").fill(today)
    page.get_by_label("签约金额（万元）").fill("80000")
    page.get_by_role("button", name="确认落地").click()
    portal.settled()
    expect(page.locator("main")).to_contain_text("已落地")
    portal.shot("referral-7-landed")
    _sign_out(portal)

    # 6. The city sees the referral as landed and on time.
    portal.sign_in("city.officer")
    page.goto("/referrals/sent")
    portal.settled()
    row = page.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text("已落地")
    expect(row).to_contain_text("按时")
    expect(row).to_contain_text(county)
    portal.shot("referral-8-city-sees-on-time")
