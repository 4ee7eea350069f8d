"""CSRF on every mutating route, open redirects, headers, throttling, session replay, htmx."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal.assessment import ledger
from portal.assessment.models import CreditLedger, ScoringRuleSet
from portal.assessment.queries import current_year
from portal.assessment.scoring import Proposal
from portal.audit.service import SYSTEM
from portal.auth.models import LoginFailure, LoginSession
from portal.extensions import db
from portal.leads.models import IndustryChain, Lead
from portal.notifications.models import Notification
from portal.policies.models import Policy
from portal.referrals import service as referral_service
from portal.referrals.models import CitySetting, ExtensionRequest, Referral
from portal.workdays.models import CalendarDay
from tenants.models import Tenant, User
from tenants.scoping import wider_scope
from tests.conftest import (
    TEST_PASSWORD,
    csrf_from,
    login,
    page_token,
    record_figure,
    signed_in_client,
)
from tests.policy_helpers import post_policy
from tests.referral_helpers import acting, post_lead

CSRF_MESSAGE = "页面已过期或表单校验失败，请刷新页面后重试。"


def _mutating_routes(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "POST" in rule.methods),
        key=lambda rule: rule.endpoint,
    )


def _url_for_rule(app, rule, world):
    values = {}
    for arg in rule.arguments:
        values[arg] = {
            "user_id": world.users["county-a.target"],
            "tenant_id": world.tenants["county_b"],
            "day_id": world.calendar_day_id,
            "chain_id": world.chain_id,
            "lead_id": world.lead_id,
            "referral_id": world.referral_id,
            "extension_id": world.extension_id,
            "notification_id": world.notification_id,
            "policy_id": world.policy_id,
            "entry_id": world.entry_id,
        }[arg]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _state(app):
    with app.app_context(), wider_scope("cli"):
        users = db.session.execute(
            select(User.id, User.display_name, User.roles, User.active, User.password_hash)
        ).all()
        tenants = db.session.execute(select(Tenant.id, Tenant.name, Tenant.active)).all()
        sessions = db.session.scalar(select(func.count(LoginSession.id)))
        days = db.session.execute(select(CalendarDay.id, CalendarDay.day)).all()
        chains = db.session.execute(
            select(IndustryChain.id, IndustryChain.name, IndustryChain.active)
        ).all()
        chains += db.session.execute(select(Lead.id, Lead.version, Lead.stage)).all()
        chains += db.session.execute(select(Referral.id, Referral.state, Referral.version)).all()
        chains += db.session.execute(select(ExtensionRequest.id, ExtensionRequest.state)).all()
        chains += db.session.execute(select(Notification.id, Notification.read_at)).all()
        chains += db.session.execute(select(CitySetting.key, CitySetting.value)).all()
        chains += db.session.execute(select(Policy.id, Policy.version, Policy.title)).all()
        chains += db.session.execute(select(CreditLedger.id, CreditLedger.kind)).all()
        chains += db.session.execute(select(ScoringRuleSet.id, ScoringRuleSet.version)).all()
        db.session.remove()
    return sorted(users), sorted(tenants), sessions, sorted(days), sorted(map(repr, chains))


# A plausible form for each mutating route, so that with a valid token the request would act.
FORMS = {
    "auth.login": {"login_name": "city.admin", "password": TEST_PASSWORD},
    "auth.logout": {},
    "auth.change_password": {
        "current_password": TEST_PASSWORD,
        "new_password": "Another-pass-2027",
        "confirm_password": "Another-pass-2027",
    },
    "tenants.tenant_new": {"code": "newpark", "name": "新园区", "kind": "park", "parent_id": ""},
    "tenants.tenant_edit": {"name": "改名县", "parent_id": ""},
    "tenants.tenant_set_active": {"active": "0"},
    "tenants.user_new": {
        "login_name": "new.user",
        "display_name": "新用户",
        "roles": "officer",
        "password": "Brand-new-2026",
    },
    "tenants.user_edit": {"display_name": "改名", "roles": "head"},
    "tenants.user_set_active": {"active": "0"},
    "tenants.user_reset_password": {"password": "Reset-pass-2026"},
    "workdays.calendar_days": {"day": "2027-10-01", "kind": "holiday", "note": "国庆节"},
    "workdays.calendar_day_delete": {},
    "leads.chain_list": {"name": "新材料", "sort_order": "20"},
    "leads.chain_edit": {"name": "改名", "sort_order": "5"},
    "leads.chain_set_active": {"active": "0"},
    "leads.lead_new": {
        "title": "年产 10GWh 储能电池项目",
        "company": "赣江锂能科技有限公司",
        "company_origin": "广东深圳",
        "planned_investment": "150000",
        "source_channel": "expo",
        "stage": "lead",
    },
    "leads.lead_edit": {
        "title": "改名项目",
        "company": "赣江锂能科技有限公司",
        "source_channel": "expo",
        "stage": "lead",
        "version": "1",
    },
    "leads.lead_send": {"to_tenant_ids": "0", "note": "乙县有储能产业园。"},
    "leads.lead_stage": {"stage": "registered", "on_date": "2026-11-20", "reason": ""},
    "referrals.accept": {},
    "referrals.request_return": {"reason": "land", "text": "园区无剩余用地指标。"},
    "referrals.decide_return": {"agree": "1", "note": ""},
    "referrals.withdraw": {"note": ""},
    "referrals.transfer": {"to_tenant_id": "0", "note": "乙县有配套产业园。"},
    "referrals.feedback": {
        "contacted_on": "2026-11-20",
        "method": "visit",
        "summary": "带队拜访企业。",
        "intention": "strong",
        "stage_after": "talking",
    },
    "referrals.request_extension": {"new_date": "2026-12-30", "reason": "负责人出差。"},
    "referrals.decide_extension": {"approve": "1", "note": ""},
    "referrals.land": {"host_tenant_id": "0", "signed_on": "2026-11-20", "signed_amount": "52000"},
    "referrals.not_land": {"reason": "elsewhere", "note": "企业已落户外省。"},
    "referrals.urge": {"note": ""},
    "referrals.settings": {"sign_days": "2", "report_days": "7"},
    "policies.policy_new": {
        "title": "关于支持光伏产业发展的若干措施",
        "issuer": "市人民政府办公室",
        "issued_on": "2024-03-15",
        "category": "产业扶持",
        "validity": "valid",
        "scope": "city",
        "body": "对新落户的光伏组件项目给予补助。",
    },
    "policies.policy_edit": {
        "title": "改名政策",
        "issuer": "市人民政府办公室",
        "issued_on": "2024-03-15",
        "category": "产业扶持",
        "body": "正文",
        "version": "1",
    },
    "notifications.mark_read": {},
    "notifications.mark_all_read": {},
    "assessment.decide": {"decision": "adjusted", "points": "1.5", "reason": "投资额核减。"},
    "assessment.review_bulk": {"entry_ids": "1", "decision": "approved"},
    "assessment.rules_edit": {
        "year": str(current_year()),
        "base_version": "1",
        "effective_from": f"{current_year()}-01-01",
        "tier_min_0": "0",
        "tier_points_0": "4",
        "first_introducer_share": "60",
        "intermediary_share": "40",
        "late_sign_penalty": "0.5",
        "late_report_penalty": "1",
        "yearly_cap": "30",
        "credit_window_days": "730",
        "unscored_kinds": "city",
        "reason": "提高基础分。",
    },
    "assessment.lock": {"year": str(current_year()), "confirm": "1"},
    "appeals.publish": {"year": str(current_year()), "working_days": "5", "confirm": "1"},
    "appeals.file_appeal": {"text": "计分有误，请复核。"},
    "appeals.answer_appeal": {"outcome": "appeal_dismissed", "reason": "维持原结果。"},
    "assessment.corrections": {
        "year": str(current_year()),
        "tenant": "3",
        "points": "2",
        "reason": "申诉成立。",
    },
}


def test_every_mutating_route_has_a_csrf_case(app):
    assert {rule.endpoint for rule in _mutating_routes(app)} == set(FORMS)


@pytest.mark.parametrize("attack", ["no token", "wrong token", "another session's token"])
def test_csrf_is_required_on_every_mutating_route(app, http_world, attack):
    with app.app_context():
        day = CalendarDay(day=date(2027, 1, 1), is_workday=False, note="元旦")
        chain = IndustryChain(name="电子信息", sort_order=10, active=True)
        db.session.add_all([day, chain])
        db.session.commit()
        http_world.calendar_day_id, http_world.chain_id = day.id, chain.id
        _lead_objects(http_world)
        db.session.remove()
    # The victim is someone the route admits, so that only the token decides.
    victims = {
        name: signed_in_client(app, name) for name in ("city.admin", "city.head", "city.assessor")
    }
    other = signed_in_client(app, "county-a.admin")
    other_token = page_token(other)
    tried = 0
    for rule in _mutating_routes(app):
        victim = victims[_victim_for(app, rule)]
        url = _url_for_rule(app, rule, http_world)
        data = dict(FORMS[rule.endpoint])
        if attack == "wrong token":
            data["csrf_token"] = "IjEyMzQ1Njc4OTAi.not-a-token"
        elif attack == "another session's token":
            data["csrf_token"] = other_token
        before = _state(app)
        response = victim.post(url, data=data)
        tried += 1
        assert response.status_code == 400, (rule.endpoint, response.status_code)
        assert CSRF_MESSAGE in response.get_data(as_text=True)
        assert _state(app) == before, f"{rule.endpoint} changed data without a valid CSRF token"
        # The htmx form of the same attack: the token travels in a header.
        headers = {"HX-Request": "true", "X-CSRFToken": data.get("csrf_token", "")}
        response = victim.post(url, data=FORMS[rule.endpoint], headers=headers)
        assert response.status_code == 400
        assert CSRF_MESSAGE in json.loads(response.headers["HX-Trigger"])["xqb:toast"]["message"]
        assert _state(app) == before
        tried += 1
    record_figure(f"csrf ({attack})", f"{tried} refused requests over {tried // 2} mutating routes")
    # Still signed in, and a valid token still works: the refusals were about the token only.
    assert all(victim.get("/").status_code == 200 for victim in victims.values())


def _victim_for(app, rule) -> str:
    from portal.access import rule_of

    access_rule = rule_of(app.view_functions[rule.endpoint])
    if access_rule.allows(_CityAdmin()):
        return "city.admin"
    return "city.assessor" if access_rule.roles == {"assessor"} else "city.head"


class _CityAdmin:
    """Enough of a user for an access rule to judge the city admin."""

    is_authenticated = True

    class tenant:  # noqa: N801 - mimics user.tenant
        kind = "city"

    def has_role(self, *roles):
        return "admin" in roles


def _lead_objects(world) -> None:
    """A lead of the city's, sent to county A, which asks for an extension; a notification."""
    lead_id = post_lead(world, "city.head")
    with acting(world, "city.head") as actor:
        lead = db.session.get(Lead, lead_id)
        (referral,) = referral_service.send_lead(
            db.session, actor, lead, to_tenant_ids=[world.tenants["county_a"]], note="条件相符。"
        )
        db.session.commit()
        referral_id = referral.id
    with acting(world, "county-a.officer") as actor:
        referral = db.session.get(Referral, referral_id)
        day = referral_service.deadline_day(referral.sign_by).toordinal() + 3
        extension = referral_service.request_extension(
            db.session, actor, referral, new_date=date.fromordinal(day).isoformat(), reason="出差"
        )
        db.session.commit()
        extension_id = extension.id
    with wider_scope("cli"):
        user = db.session.get(User, world.users["city.head"])
        note = Notification(tenant_id=user.tenant_id, user_id=user.id, kind="urged", text="测试")
        db.session.add(note)
        db.session.commit()
        world.notification_id = note.id
    world.lead_id, world.referral_id, world.extension_id = lead_id, referral_id, extension_id
    world.policy_id = post_policy(world, "city.head")
    # A pending credit entry of county A's, which the city's assessor may decide.
    proposal = Proposal(
        "csrf:county_a", world.tenants["county_a"], "landing_first", Decimal("3.0"), {"lead_id": 1}
    )
    with wider_scope("cli"):
        (entry,) = ledger.propose(db.session, SYSTEM, current_year(), [proposal])
        db.session.commit()
        world.entry_id = entry.id


def test_a_valid_htmx_csrf_header_is_accepted(app, http_world):
    client = signed_in_client(app, "county-a.admin")
    token = page_token(client)
    user_id = http_world.users["county-a.target"]
    response = client.post(
        f"/admin/users/{user_id}/active",
        data={"active": "0"},
        headers={"HX-Request": "true", "HX-Boosted": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 302
    with app.app_context(), wider_scope("cli"):
        assert db.session.get(User, user_id).active is False


OPEN_REDIRECT_VECTORS = [
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "https://evil.example",
    "http://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "//evil.example/%2F..",
    "/%5C%5Cevil.example",
    "http://localhost@evil.example",
    "//localhost%40evil.example",
]


def _assert_local(location: str):
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location
    assert "evil" not in parts.netloc


@pytest.mark.parametrize("vector", OPEN_REDIRECT_VECTORS)
def test_next_never_leaves_the_site(app, http_world, vector):
    client = app.test_client()
    token = csrf_from(client.get("/login", query_string={"next": vector}).get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "login_name": "county-a.officer",
            "password": TEST_PASSWORD,
            "next": vector,
        },
    )
    assert response.status_code == 302
    _assert_local(response.headers["Location"])
    # Signed in already, /login?next=… must not bounce off-site either.
    response = client.get("/login", query_string={"next": vector})
    assert response.status_code == 302
    _assert_local(response.headers["Location"])


def test_open_redirect_vector_count():
    assert len(OPEN_REDIRECT_VECTORS) >= 15
    record_figure(
        "open redirect", f"{len(OPEN_REDIRECT_VECTORS)} vectors, each on POST /login and GET /login"
    )


def test_next_to_a_local_page_is_honoured(app, http_world):
    client = app.test_client()
    response = client.get("/admin/users?q=abc")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    token = csrf_from(client.get(login_url).get_data(as_text=True))
    next_value = urlsplit(login_url).query.split("next=")[1]
    from urllib.parse import unquote

    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "login_name": "county-a.admin",
            "password": TEST_PASSWORD,
            "next": unquote(next_value),
        },
    )
    assert response.headers["Location"] == "/admin/users?q=abc"


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    vary = {v.strip() for v in response.headers["Vary"].split(",")}
    assert {"Cookie", "HX-Request"} <= vary


def test_security_headers_on_every_kind_of_response(app, http_world):
    anonymous = app.test_client()
    signed_in = signed_in_client(app, "county-a.officer")
    responses = {
        "login page": anonymous.get("/login"),
        "anonymous redirect": anonymous.get("/"),
        "health": anonymous.get("/healthz"),
        "static": anonymous.get("/static/css/app.css"),
        "not found": anonymous.get("/no-such-page"),
        "dashboard": signed_in.get("/"),
        "forbidden": signed_in.get("/admin/tenants"),
        "htmx forbidden": signed_in.get("/admin/tenants", headers={"HX-Request": "true"}),
        "signed-in not found": signed_in.get("/admin/users/999999/edit"),
        "csrf failure": signed_in.post("/logout"),
    }
    for response in responses.values():
        _assert_security_headers(response)
    for name in ("dashboard", "forbidden", "signed-in not found"):
        assert responses[name].headers["Cache-Control"] == "no-store", name
    record_figure("headers", f"{len(responses)} kinds of response checked")


def test_signed_in_pages_carry_no_inline_script_or_style(app, http_world):
    client = signed_in_client(app, "city.admin")
    for path in ("/", "/admin/tenants", "/admin/users", "/admin/audit", "/account/password"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
        assert " on" + "click=" not in html


def test_session_cookie_flags(app, http_world):
    client = app.test_client()
    response = login(client, "county-a.officer")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    app.config["SESSION_COOKIE_SECURE"] = True
    response = login(app.test_client(), "county-a.officer")
    assert "Secure" in response.headers["Set-Cookie"]


# ---- throttling ------------------------------------------------------------------------------


def _attempt(app, login_name, password, addr):
    client = app.test_client()
    env = {"REMOTE_ADDR": addr}
    return login(client, login_name, password, environ_base=env)


def test_login_failures_are_limited_per_account(app, http_world):
    for i in range(10):
        response = _attempt(app, "county-a.officer", "wrong-password", f"10.0.0.{i + 1}")
        assert "登录名或密码不正确" in response.get_data(as_text=True)
    # The eleventh try, with the right password and from a new address, is refused.
    response = _attempt(app, "county-a.officer", TEST_PASSWORD, "10.0.1.1")
    assert response.status_code == 422
    assert "登录失败次数过多" in response.get_data(as_text=True)
    # Another account is unaffected.
    assert _attempt(app, "county-a.head", TEST_PASSWORD, "10.0.1.1").status_code == 302
    record_figure(
        "throttling", "11th sign-in refused after 10 failures, per account and per address"
    )


def test_login_failures_are_limited_per_address(app, http_world):
    for i in range(10):
        _attempt(app, f"nobody{i}", "wrong-password", "10.9.9.9")
    response = _attempt(app, "county-a.officer", TEST_PASSWORD, "10.9.9.9")
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert _attempt(app, "county-a.officer", TEST_PASSWORD, "10.9.9.10").status_code == 302


def test_the_limit_holds_across_worker_processes(app, http_world, database_url, tmp_path):
    """A second application instance on the same database sees the same failures."""
    from tests.conftest import _make_app

    for i in range(10):
        _attempt(app, "county-a.officer", "wrong-password", f"10.1.0.{i + 1}")
    other_worker = _make_app(database_url, tmp_path / "worker2")
    response = _attempt(other_worker, "county-a.officer", TEST_PASSWORD, "10.1.1.1")
    assert "登录失败次数过多" in response.get_data(as_text=True)
    with other_worker.app_context():
        assert db.session.scalar(select(func.count(LoginFailure.id))) >= 10
        db.engine.dispose()


def test_unknown_account_and_wrong_password_read_the_same(app, http_world):
    unknown = _attempt(app, "no.such.user", "whatever-123", "10.2.0.1").get_data(as_text=True)
    wrong = _attempt(app, "county-a.officer", "whatever-123", "10.2.0.2").get_data(as_text=True)
    message = "登录名或密码不正确，或账号不可用。"
    assert message in unknown and message in wrong
    strip = lambda html: html.replace("no.such.user", "").replace("county-a.officer", "")  # noqa: E731
    import re

    pattern = re.compile(r'(value|data-csrf-token)="[^"]*"')
    assert pattern.sub("", strip(unknown)) == pattern.sub("", strip(wrong))


# ---- session replay --------------------------------------------------------------------------


def _cookie(client):
    return client.get_cookie("xqb_session").value


def _replay(app, cookie_value):
    client = app.test_client()
    client.set_cookie("xqb_session", cookie_value)
    return client.get("/")


def test_a_cookie_replayed_after_logout_is_refused(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    stolen = _cookie(client)
    assert _replay(app, stolen).status_code == 200
    client.post("/logout", data={"csrf_token": page_token(client)})
    response = _replay(app, stolen)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_a_cookie_replayed_after_password_change_is_refused(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    other_device = signed_in_client(app, "county-a.officer")
    stolen = _cookie(client)
    token = page_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": TEST_PASSWORD,
            "new_password": "Fresh-pass-2027",
            "confirm_password": "Fresh-pass-2027",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser continues
    assert _replay(app, stolen).status_code == 302
    assert other_device.get("/").status_code == 302


def test_deactivation_ends_the_users_sessions_at_once(app, http_world):
    victim = signed_in_client(app, "county-a.officer")
    stolen = _cookie(victim)
    admin = signed_in_client(app, "county-a.admin")
    user_id = http_world.users["county-a.officer"]
    response = admin.post(
        f"/admin/users/{user_id}/active", data={"csrf_token": page_token(admin), "active": "0"}
    )
    assert response.status_code == 302
    assert victim.get("/").status_code == 302
    assert _replay(app, stolen).status_code == 302
    # Reactivated, the old cookie stays dead; a new sign-in works.
    admin.post(
        f"/admin/users/{user_id}/active", data={"csrf_token": page_token(admin), "active": "1"}
    )
    assert _replay(app, stolen).status_code == 302
    assert login(app.test_client(), "county-a.officer").status_code == 302


def test_tenant_deactivation_ends_its_users_sessions(app, http_world):
    victim = signed_in_client(app, "county-b.officer")
    city = signed_in_client(app, "city.admin")
    tenant_id = http_world.tenants["county_b"]
    city.post(
        f"/admin/tenants/{tenant_id}/active", data={"csrf_token": page_token(city), "active": "0"}
    )
    assert victim.get("/").status_code == 302
    response = login(app.test_client(), "county-b.officer")
    assert response.status_code == 422
    assert "登录名或密码不正确，或账号不可用。" in response.get_data(as_text=True)


def test_expired_session_is_refused(app, http_world):
    from datetime import timedelta

    from portal.database import utcnow

    client = signed_in_client(app, "county-a.officer")
    with app.app_context():
        for login_session in db.session.scalars(select(LoginSession)):
            login_session.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/").status_code == 302


# ---- htmx errors -----------------------------------------------------------------------------


def test_htmx_errors_arrive_as_toasts(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    forbidden = client.get("/admin/tenants", headers={"HX-Request": "true", "HX-Target": "main"})
    assert forbidden.status_code == 403
    toast = json.loads(forbidden.headers["HX-Trigger"])["xqb:toast"]
    assert toast == {"message": "您没有权限执行此操作。", "level": "error"}
    assert "<html" not in forbidden.get_data(as_text=True)
    admin = signed_in_client(app, "county-a.admin")
    missing = admin.get("/admin/users/999999/edit", headers={"HX-Request": "true"})
    assert missing.status_code == 404
    assert "找不到" in json.loads(missing.headers["HX-Trigger"])["xqb:toast"]["message"]


def test_a_targeted_htmx_request_gets_a_fragment_and_a_full_load_gets_the_page(app, http_world):
    client = signed_in_client(app, "county-a.admin")
    fragment = client.get(
        "/admin/users?q=target", headers={"HX-Request": "true", "HX-Target": "user-results"}
    ).get_data(as_text=True)
    assert (
        "<html" not in fragment
        and "county-a.target" in fragment
        and "county-a.head" not in fragment
    )
    boosted = client.get(
        "/admin/users?q=target", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in boosted.get_data(as_text=True)
    restore = client.get(
        "/admin/users?q=target",
        headers={
            "HX-Request": "true",
            "HX-Target": "user-results",
            "HX-History-Restore-Request": "true",
        },
    )
    assert "<html" in restore.get_data(as_text=True)


def test_health_reports_the_database_and_the_index_without_data(client, http_world):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": {"status": "ok"},
        "search_index": {"status": "ok", "backlog": False},
    }


def test_health_reports_an_unreadable_index(app, client, http_world):
    import shutil

    from search.extension import get_index

    with app.app_context():
        path = get_index().path
        get_index().close()
        app.extensions.pop("search_index")
    shutil.rmtree(path)
    path.write_text("not an index folder")  # a file where the folder should be
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["search_index"] == {"status": "error"}


def test_htmx_toast_headers_are_valid_http_header_values(app, http_world):
    """A real server must encode headers as Latin-1; the test client would not notice."""
    client = signed_in_client(app, "county-a.officer")
    response = client.get("/admin/tenants", headers={"HX-Request": "true"})
    header = response.headers["HX-Trigger"]
    header.encode("latin-1")
    assert json.loads(header)["xqb:toast"]["message"] == "您没有权限执行此操作。"


def test_an_unexpected_error_shows_the_chinese_500_page_and_a_toast(app, http_world):
    from portal.access import PUBLIC, access

    @app.route("/boom")
    @access(PUBLIC)
    def boom():
        raise RuntimeError("simulated failure")

    app.config["PROPAGATE_UNEXPECTED"] = False
    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert "系统出现错误，已记录，请稍后再试。" in page.get_data(as_text=True)
    _assert_security_headers(page)
    fragment = client.get("/boom", headers={"HX-Request": "true"})
    assert fragment.status_code == 500
    toast = json.loads(fragment.headers["HX-Trigger"])["xqb:toast"]
    assert toast == {"message": "系统出现错误，已记录，请稍后再试。", "level": "error"}


def test_old_login_failures_are_pruned(app, http_world):
    from datetime import timedelta

    from portal.database import utcnow

    with app.app_context():
        db.session.add(
            LoginFailure(
                login_name="x", client_addr="10.0.0.1", occurred_at=utcnow() - timedelta(days=2)
            )
        )
        db.session.commit()
    _attempt(app, "county-a.officer", "wrong-password", "10.3.0.1")
    with app.app_context():
        names = db.session.scalars(select(LoginFailure.login_name)).all()
    assert names == ["county-a.officer"]
