"""End to end in headless Chromium: signing in and out, what each role sees, live search,
confirmation of destructive actions, the Content-Security-Policy, and an expired session."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.auth.service import end_all_sessions
from portal.demo import DEMO_TENANTS
from tenants.models import User
from tests.e2e.conftest import DISPLAY_NAMES, TENANT_NAMES, Portal

pytestmark = pytest.mark.e2e

ADMIN_NAV = ("单位管理", "用户管理", "审计日志")
LOGIN_ERROR = "登录名或密码不正确，或账号不可用。"
LOGIN_URL = re.compile(r"/login(\?.*)?$")


def path_url(portal: Portal, path: str) -> str:
    return portal.server.url + path


def expect_login_page(portal: Portal) -> None:
    page = portal.page
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="登录信息桥")).to_be_visible()
    expect(page.get_by_label("登录名", exact=True)).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def test_county_officer_signs_in_is_refused_admin_pages_and_signs_out(portal: Portal):
    page = portal.page
    page.goto("/")
    # Anonymous: the portal itself sends the visitor to the login form.
    expect_login_page(portal)
    portal.shot("county-officer-login")

    portal.sign_in("dean.officer")
    expect(page).to_have_url(path_url(portal, "/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("德安县 · 工作台")
    expect(page.get_by_test_id("current-user")).to_have_text(
        f"{DISPLAY_NAMES['dean.officer']} · 德安县"
    )
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link")).to_have_text(
        ["工作台", "招商线索", "推送办理", "政策文件", "考核积分"]
    )
    for label in ADMIN_NAV:
        expect(nav).not_to_contain_text(label)
    portal.shot("county-officer-dashboard")

    response = page.goto("/admin/tenants")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    expect(page.get_by_text("您没有权限执行此操作。", exact=True)).to_be_visible()
    portal.shot("county-officer-forbidden")

    page.get_by_role("link", name="返回首页").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("德安县 · 工作台")

    page.get_by_role("button", name="退出", exact=True).click()
    expect_login_page(portal)
    expect(page.locator("#toasts")).to_contain_text("您已安全退出。")
    portal.shot("county-officer-signed-out")

    # Neither history nor a reload may bring the signed-in dashboard back.
    page.go_back()
    expect_login_page(portal)
    expect(page.get_by_role("heading", name="德安县 · 工作台")).to_have_count(0)
    page.goto("/")
    expect_login_page(portal)
    page.reload()
    expect_login_page(portal)
    expect(page.get_by_role("heading", name="德安县 · 工作台")).to_have_count(0)


def test_city_admin_sees_overview_tenants_and_searches_users_live(portal: Portal):
    page = portal.page
    portal.sign_in("city.admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("市投资促进局 · 工作台")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link")).to_have_text(
        [
            "工作台",
            "推送办理",
            "政策文件",
            "考核积分",
            "单位管理",
            "工作日历",
            "产业链",
            "用户管理",
            "审计日志",
        ]
    )

    overview = page.get_by_test_id("city-overview")
    tenant_cells = overview.locator("tbody tr td:first-child")
    expect(tenant_cells).to_have_count(len(DEMO_TENANTS))
    assert sorted(tenant_cells.all_inner_texts()) == sorted(TENANT_NAMES.values())
    portal.shot("city-admin-dashboard")

    nav.get_by_role("link", name="单位管理").click()
    expect(page).to_have_url(path_url(portal, "/admin/tenants"))
    expect(page.get_by_role("heading", level=1)).to_have_text("单位管理")
    park_row = page.get_by_role("row").filter(has_text="德安高新技术产业园区")
    # Columns: 代码, 名称, 类型, 上级单位, 状态, 操作.
    expect(park_row.get_by_role("cell").nth(3)).to_have_text("德安县")
    expect(page.locator("#tenant-results tbody tr")).to_have_count(len(DEMO_TENANTS))
    portal.shot("city-admin-tenants")

    nav.get_by_role("link", name="用户管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理 · 市投资促进局")
    portal.settled()
    rows = page.locator("#user-results tbody tr")
    city_logins = sorted(login for login in DISPLAY_NAMES if login.startswith("city."))
    expect(rows).to_have_count(len(city_logins))

    # A full page load would lose this marker; an htmx swap keeps it.
    page.evaluate("() => { window.e2eMarker = 'same-document'; }")
    wanted = DISPLAY_NAMES["city.assessor"]
    with page.expect_response(lambda r: "/admin/users" in r.url and "q=" in r.url) as searched:
        page.get_by_role("searchbox", name="登录名或姓名").press_sequentially(wanted)
    request = searched.value.request
    assert request.headers.get("hx-request") == "true"
    assert request.headers.get("hx-target") == "user-results"
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("city.assessor")
    expect(rows.first).to_contain_text(wanted)
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(quote(wanted))))
    assert page.evaluate("() => window.e2eMarker") == "same-document"
    # The fragment went into the table area only: one header, one heading, one table.
    expect(page.locator("header.site-header")).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理 · 市投资促进局")
    expect(page.locator("#user-results table")).to_have_count(1)
    portal.shot("city-admin-user-search")


def test_wrong_password_shows_generic_error_and_stays_on_login(portal: Portal):
    page = portal.page
    page.goto("/login")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        portal.sign_in("dean.officer", "not-the-password-1")
    assert posted.value.status == 422
    expect_login_page(portal)
    expect(page.get_by_role("alert")).to_have_text(LOGIN_ERROR)
    # The login name is kept, the password is not echoed back.
    expect(page.get_by_label("登录名", exact=True)).to_have_value("dean.officer")
    expect(page.get_by_label("密码", exact=True)).to_have_value("")
    portal.shot("wrong-password")


def test_deactivating_a_user_asks_for_confirmation(portal: Portal):
    page = portal.page
    portal.sign_in("city.admin")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    page.goto(f"/admin/users?tenant={portal.server.tenant_id('dean')}")
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理 · 德安县")

    row = page.locator("#user-results tbody tr").filter(
        has=page.get_by_text("dean.officer", exact=True)
    )
    # Columns: 登录名, 姓名, 角色, 状态, 最近登录, 操作.
    status = row.get_by_role("cell").nth(3)
    expect(status).to_have_text("启用")

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    row.get_by_role("button", name="停用").click()
    expected_question = f"确定停用用户“{DISPLAY_NAMES['dean.officer']}”吗？其所有登录将立即失效。"
    assert questions == [expected_question]
    assert posts == []
    expect(status).to_have_text("启用")
    page.reload()
    expect(status).to_have_text("启用")
    expect(row.get_by_role("button", name="停用")).to_be_visible()

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="停用").click()
    expect(status).to_have_text("已停用")
    expect(row.get_by_role("button", name="启用")).to_be_visible()
    expect(page.locator("#toasts .toast-success")).to_contain_text(
        "用户“dean.officer”已停用，其所有登录已立即失效。"
    )
    assert questions == [expected_question, expected_question]
    assert len(posts) == 1
    portal.shot("confirm-deactivated")

    # And it stuck: a fresh load shows the same.
    page.reload()
    expect(status).to_have_text("已停用")


def test_pages_raise_no_csp_violation_and_no_script_error(portal: Portal):
    page = portal.page
    response = page.goto("/login")
    assert response is not None
    # Without the policy the check below would prove nothing.
    assert "script-src 'self'" in response.headers["content-security-policy"]

    portal.sign_in("city.admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("市投资促进局 · 工作台")
    nav = page.get_by_role("navigation", name="主导航")

    nav.get_by_role("link", name="单位管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("单位管理")
    portal.settled()
    page.get_by_role("searchbox", name="名称或代码").fill("德安")
    expect(page.locator("#tenant-results tbody tr")).to_have_count(2)
    page.get_by_role("row").filter(has_text="德安高新技术产业园区").get_by_role(
        "link", name="编辑"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("编辑单位：德安高新技术产业园区")

    nav.get_by_role("link", name="用户管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理 · 市投资促进局")
    portal.settled()
    page.get_by_label("角色").select_option(label="考核员")
    expect(page.locator("#user-results tbody tr")).to_have_count(1)
    page.get_by_role("link", name="新建用户").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("新建用户")

    nav.get_by_role("link", name="审计日志").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("审计日志")
    page.get_by_role("link", name="修改密码").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    portal.shot("no-csp-violation")

    assert portal.problems.console_errors == []
    assert portal.problems.page_errors == []

    # The listener does see a violation when one happens: an inline script is refused.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            """() => {
                const s = document.createElement("script");
                s.textContent = "window.e2eInline = true";
                document.body.appendChild(s);
            }"""
        )
    assert page.evaluate("() => window.e2eInline") is None
    portal.problems.clear()


def test_htmx_request_after_session_ended_redirects_to_login(portal: Portal):
    page = portal.page
    portal.sign_in("dean.admin")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="用户管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理 · 德安县")
    portal.settled()

    with portal.server.database() as session:
        user_id = session.scalar(select(User.id).where(User.login_name == "dean.admin"))
        end_all_sessions(session, user_id)
        session.commit()

    page.get_by_role("searchbox", name="登录名或姓名").press_sequentially("officer")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)admin(/|%2F)users$"))
    expect_login_page(portal)
    # The whole page is the login page: no table left, no login form inside one.
    expect(page.locator("#user-results")).to_have_count(0)
    expect(page.locator("input[name=login_name]")).to_have_count(1)
    portal.shot("session-ended-redirect")

    portal.sign_in("dean.admin")
    expect(page).to_have_url(path_url(portal, "/admin/users"))
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理 · 德安县")


def test_a_refused_form_shows_its_field_errors_in_place(portal: Portal):
    """A boosted form answered 422 is swapped in, so the officer reads what to fix."""
    page = portal.page
    portal.sign_in("city.admin")
    page.goto("/admin/calendar?year=2027")
    portal.settled()
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".field-error").first).to_have_text("请填写有效的日期，格式如 2027-01-01。")
    expect(page.get_by_text("请选择“放假”或“调休上班”。")).to_be_visible()
    portal.shot("calendar-form-errors")
    # Chromium logs the 422 itself as a failed resource; nothing else may appear.
    assert [m for m in portal.problems.console_errors if "422" not in m] == []
    assert portal.problems.page_errors == []


def test_a_stale_edit_is_refused_in_place_with_the_way_to_the_latest_version(portal: Portal):
    """Two windows edit the same lead; the later save is refused (409) and the form says so on
    the page, with a link to reopen the latest version, instead of a toast that fades away."""
    page = portal.page
    portal.sign_in("dean.officer")
    page.goto("/leads/new")
    portal.settled()
    page.get_by_role("textbox", name="项目名称").fill("年产 5 万吨特种纸项目")
    page.get_by_role("textbox", name="客商（企业）名称").fill("德安纸业有限公司")
    page.get_by_label("线索来源渠道").select_option(label="以商招商")
    page.get_by_label("计划投资（万元）").fill("30000")
    page.get_by_role("button", name="登记").click()
    expect(page).to_have_url(re.compile(r"/leads/\d+$"))
    portal.settled()
    page.get_by_role("link", name="编辑线索").click()
    expect(page).to_have_url(re.compile(r"/leads/\d+/edit$"))
    portal.settled()
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("textbox", name="项目名称").fill("年产 6 万吨特种纸项目")
    other.get_by_role("button", name="保存").click()
    expect(other).to_have_url(re.compile(r"/leads/\d+$"))
    other.close()
    page.get_by_role("textbox", name="项目名称").fill("年产 8 万吨特种纸项目")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").filter(has_text="已被其他人修改")).to_be_visible()
    expect(page.get_by_role("link", name="重新打开编辑页")).to_be_visible()
    portal.shot("stale-edit-refused")
    page.get_by_role("link", name="重新打开编辑页").click()
    expect(page.get_by_role("textbox", name="项目名称")).to_have_value("年产 6 万吨特种纸项目")
    assert [m for m in portal.problems.console_errors if "409" not in m] == []
