"""Sign-in, password change, tenant and user administration, audit events and the demo city."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.auth import service as auth_service
from portal.extensions import db
from tenants import admin
from tenants.models import Tenant, User
from tenants.scoping import tenant_scope, wider_scope
from tests.conftest import TEST_PASSWORD, login, page_token, race, signed_in_client


def _user(app, login_name):
    with app.app_context(), wider_scope("cli"):
        user = db.session.scalar(select(User).where(User.login_name == login_name))
        db.session.expunge_all()
        return user


def _count(app, model, *where):
    with app.app_context(), wider_scope("cli"):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _actions(app):
    with app.app_context(), wider_scope("cli"):
        return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# ---- signing in and out ----------------------------------------------------------------------


def test_sign_in_and_out_are_audited(app, http_world):
    client = app.test_client()
    login(client, "county-a.officer", "bad-password-1")
    client = signed_in_client(app, "county-a.officer")
    client.post("/logout", data={"csrf_token": page_token(client)})
    assert _actions(app)[-3:] == ["login_failed", "login", "logout"]


def test_inactive_user_cannot_sign_in(app, http_world):
    with app.app_context(), wider_scope("cli"):
        db.session.get(User, http_world.users["county-a.officer"]).active = False
        db.session.commit()
    response = login(app.test_client(), "county-a.officer")
    assert response.status_code == 422
    assert "登录名或密码不正确，或账号不可用。" in response.get_data(as_text=True)


def test_empty_login_form_explains_in_chinese(app, http_world):
    client = app.test_client()
    token = page_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "login_name": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请填写登录名。" in html and "请填写密码。" in html


def test_a_new_user_must_change_the_password_first(app, http_world):
    admin_client = signed_in_client(app, "county-a.admin")
    response = admin_client.post(
        "/admin/users/new",
        data={
            "csrf_token": page_token(admin_client),
            "login_name": "county-a.newbie",
            "display_name": "新同事",
            "roles": ["officer"],
            "password": "Temp-pass-2026",
        },
    )
    assert response.status_code == 302
    client = app.test_client()
    assert login(client, "county-a.newbie", "Temp-pass-2026").status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    token = page_token(client, "/account/password")
    weak = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "Temp-pass-2026",
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert weak.status_code == 422
    assert "密码至少需要 10 个字符。" in weak.get_data(as_text=True)
    good = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "Temp-pass-2026",
            "new_password": "My-own-pass-2026",
            "confirm_password": "My-own-pass-2026",
        },
    )
    assert good.status_code == 302
    assert client.get("/").status_code == 200
    assert login(app.test_client(), "county-a.newbie", "My-own-pass-2026").status_code == 302


@pytest.mark.parametrize(
    "form, message",
    [
        (
            {
                "current_password": "wrong",
                "new_password": "Good-pass-2027",
                "confirm_password": "Good-pass-2027",
            },
            "当前密码不正确。",
        ),
        (
            {
                "current_password": TEST_PASSWORD,
                "new_password": "Good-pass-2027",
                "confirm_password": "Other-2027",
            },
            "两次输入的新密码不一致。",
        ),
        (
            {
                "current_password": TEST_PASSWORD,
                "new_password": "abcdefghijkl",
                "confirm_password": "abcdefghijkl",
            },
            "密码需同时包含字母、数字、符号中的至少两类。",
        ),
        (
            {
                "current_password": TEST_PASSWORD,
                "new_password": TEST_PASSWORD,
                "confirm_password": TEST_PASSWORD,
            },
            "新密码不能与当前密码相同。",
        ),
        (
            {
                "current_password": TEST_PASSWORD,
                "new_password": "county-a.officer1",
                "confirm_password": "county-a.officer1",
            },
            "密码不能包含登录名。",
        ),
    ],
)
def test_bad_password_changes_are_refused_and_change_nothing(app, http_world, form, message):
    client = signed_in_client(app, "county-a.officer")
    before = _user(app, "county-a.officer").password_hash
    response = client.post("/account/password", data={"csrf_token": page_token(client), **form})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _user(app, "county-a.officer").password_hash == before
    assert client.get("/").status_code == 200


# ---- user administration ---------------------------------------------------------------------

GOOD_USER = {
    "login_name": "county-a.new",
    "display_name": "王新",
    "roles": ["officer"],
    "password": "Temp-pass-2026",
}


@pytest.mark.parametrize(
    "change, field_message",
    [
        ({"login_name": "X"}, "登录名须以小写字母开头"),
        ({"login_name": "county-a.officer"}, "该登录名已被使用。"),
        ({"login_name": "county-b.officer"}, "该登录名已被使用。"),
        ({"display_name": "  "}, "请填写姓名"),
        ({"roles": []}, "请至少选择一个有效角色。"),
        ({"roles": ["superuser"]}, "请至少选择一个有效角色。"),
        ({"roles": ["assessor"]}, "考核员只能设在市级招商部门或考核机构。"),
        ({"password": "123"}, "密码至少需要 10 个字符。"),
        ({"login_name": "a" * 200}, "登录名须以小写字母开头"),
    ],
)
def test_bad_user_input_is_explained_and_changes_nothing(app, http_world, change, field_message):
    client = signed_in_client(app, "county-a.admin")
    users_before = _count(app, User)
    events_before = _count(app, AuditEvent)
    response = client.post(
        "/admin/users/new", data={"csrf_token": page_token(client), **GOOD_USER, **change}
    )
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert _count(app, User) == users_before
    assert _count(app, AuditEvent) == events_before


def test_admin_creates_edits_resets_and_deactivates_a_user(app, http_world):
    client = signed_in_client(app, "county-a.admin")
    token = page_token(client)
    assert (
        client.post("/admin/users/new", data={"csrf_token": token, **GOOD_USER}).status_code == 302
    )
    user = _user(app, "county-a.new")
    assert user.tenant_id == http_world.tenants["county_a"] and user.must_change_password
    response = client.post(
        f"/admin/users/{user.id}/edit",
        data={"csrf_token": token, "display_name": "王新民", "roles": ["officer", "head"]},
    )
    assert response.status_code == 302
    assert _user(app, "county-a.new").roles == "officer head"
    response = client.post(
        f"/admin/users/{user.id}/password",
        data={"csrf_token": token, "password": "Reset-pass-2026"},
    )
    assert response.status_code == 302
    assert login(app.test_client(), "county-a.new", "Reset-pass-2026").status_code == 302
    client.post(f"/admin/users/{user.id}/active", data={"csrf_token": token, "active": "0"})
    assert _user(app, "county-a.new").active is False
    actions = _actions(app)
    for action in ("user_created", "user_roles_changed", "user_password_reset", "user_deactivated"):
        assert action in actions


def test_an_admin_cannot_lock_themselves_out(app, http_world):
    client = signed_in_client(app, "county-a.admin")
    me = http_world.users["county-a.admin"]
    token = page_token(client)
    client.post(f"/admin/users/{me}/active", data={"csrf_token": token, "active": "0"})
    assert _user(app, "county-a.admin").active is True
    response = client.post(
        f"/admin/users/{me}/edit",
        data={"csrf_token": token, "display_name": "我", "roles": ["officer"]},
    )
    assert response.status_code == 422
    assert "不能取消自己的管理员角色" in response.get_data(as_text=True)
    assert _user(app, "county-a.admin").has_role("admin")


def test_city_admin_creates_a_tenant_and_its_first_admin(app, http_world):
    client = signed_in_client(app, "city.admin")
    token = page_token(client)
    response = client.post(
        "/admin/tenants/new",
        data={
            "csrf_token": token,
            "code": "gongqing",
            "name": "共青城市",
            "kind": "county",
            "parent_id": "",
        },
    )
    assert response.status_code == 422  # a county sits under the city tenant
    assert "该类型单位不能隶属于所选上级单位。" in response.get_data(as_text=True)
    city_id = http_world.tenants["city"]
    response = client.post(
        "/admin/tenants/new",
        data={
            "csrf_token": token,
            "code": "gongqing",
            "name": "共青城市",
            "kind": "county",
            "parent_id": city_id,
        },
    )
    assert response.status_code == 302
    with app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.code == "gongqing"))
    assert response.headers["Location"] == f"/admin/users/new?tenant={tenant_id}"
    response = client.post(
        f"/admin/users/new?tenant={tenant_id}",
        data={
            "csrf_token": token,
            "tenant": tenant_id,
            **GOOD_USER,
            "login_name": "gongqing.admin",
            "roles": ["admin"],
        },
    )
    assert response.status_code == 302
    assert _user(app, "gongqing.admin").tenant_id == tenant_id


@pytest.mark.parametrize(
    "form, message",
    [
        ({"code": "1bad", "name": "某园区", "kind": "park"}, "单位代码须以小写字母开头"),
        ({"code": "county-a", "name": "某园区", "kind": "park"}, "该单位代码已被使用。"),
        ({"code": "newpark", "name": "甲县", "kind": "park"}, "已有同名单位。"),
        ({"code": "newpark", "name": "某园区", "kind": "city"}, "全市只能有一个市级招商部门。"),
        ({"code": "newpark", "name": "某园区", "kind": "planet"}, "请选择单位类型。"),
        ({"code": "newpark", "name": "", "kind": "park"}, "请填写单位名称"),
        (
            {"code": "newpark", "name": "\u200b\ufeff", "kind": "park"},
            "请填写单位名称",
        ),  # looks blank
        (
            {"code": "newpark", "name": "甲\u202e县", "kind": "park"},
            "已有同名单位。",
        ),  # 甲县 disguised
        (
            {"code": "newpark", "name": "某园区", "kind": "park", "parent_id": "dept"},
            "该类型单位不能隶属于所选上级单位。",
        ),
        (
            {"code": "newpark", "name": "某园区", "kind": "park", "parent_id": "99999"},
            "上级单位不存在。",
        ),
        (
            {"code": "newpark", "name": "某园区", "kind": "park", "parent_id": "abc"},
            "上级单位不存在。",
        ),
    ],
)
def test_bad_tenant_input_is_explained_and_changes_nothing(app, http_world, form, message):
    client = signed_in_client(app, "city.admin")
    form = dict(form)
    parent = form.get("parent_id", "city")
    form["parent_id"] = http_world.tenants.get(parent, parent)
    before = _count(app, Tenant)
    response = client.post("/admin/tenants/new", data={"csrf_token": page_token(client), **form})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app, Tenant) == before


def test_concurrent_deactivations_exactly_one_wins(app, http_world):
    """Many admins press 停用 on the same user at once: one succeeds, the others are told why."""
    target = http_world.users["county-a.target"]

    def prepare(session):
        return session.get(User, http_world.users["county-a.admin"]), session.get(User, target)

    def act(session, prepared):
        actor, user = prepared
        admin.set_user_active(session, admin.Context(actor), user, False)

    county_scope = lambda: tenant_scope(http_world.tenants["county_a"])  # noqa: E731
    outcomes = race(app, 6, prepare, act, admin.AdminError, county_scope)
    assert outcomes.count("won") == 1, outcomes
    assert all(o == "won" or "已处于停用状态" in o for o in outcomes)
    assert _actions(app).count("user_deactivated") == 1


def test_user_list_paginates(app, http_world):
    with app.app_context(), wider_scope("cli"):
        from tests.conftest import make_user

        for i in range(45):
            make_user(db.session, http_world.tenants["county_a"], f"county-a.bulk{i:02d}")
        db.session.commit()
    client = signed_in_client(app, "county-a.admin")
    first = client.get("/admin/users").get_data(as_text=True)
    assert "第 1 / 3 页，共 49 条" in first
    third = client.get("/admin/users?page=3").get_data(as_text=True)
    assert "第 3 / 3 页" in third
    assert "第 3 / 3 页" in client.get("/admin/users?page=999").get_data(as_text=True)
    assert "第 1 / 3 页" in client.get("/admin/users?page=-4").get_data(as_text=True)


def test_audit_log_is_read_within_scope(app, http_world):
    login(app.test_client(), "county-b.officer")  # an event of county B
    county_admin = signed_in_client(app, "county-a.admin")
    html = county_admin.get("/admin/audit").get_data(as_text=True)
    assert "county-a.admin" in html and "county-b.officer" not in html
    city_admin = signed_in_client(app, "city.admin")
    html = city_admin.get("/admin/audit?actor=county-b").get_data(as_text=True)
    assert "county-b.officer" in html
    bad_dates = city_admin.get("/admin/audit?from=2026-12-01&to=2026-01-01").get_data(as_text=True)
    assert "起始日期不能晚于结束日期。" in bad_dates
    assert city_admin.get("/admin/audit?from=not-a-date&page=x").status_code == 200
    # A date the filter cannot use is dropped with a word, not a server error.
    for query, message in (
        ("to=9999-12-31", "结束日期超出可查询的范围，已忽略。"),
        ("from=0001-01-01", "起始日期超出可查询的范围，已忽略。"),
        ("from=2026-02-30", "起始日期不是有效日期（年-月-日），已忽略。"),
    ):
        response = city_admin.get(f"/admin/audit?{query}")
        assert response.status_code == 200 and message in response.get_data(as_text=True)


# ---- the demo city ---------------------------------------------------------------------------


def test_demo_seed_is_idempotent_and_every_account_signs_in(app):
    from portal.demo import DEMO_TENANTS, demo_users, seed_demo_city
    from portal.leads.chains import DEFAULT_CHAINS

    with app.app_context():
        first = seed_demo_city(db.session, "Demo-pass-2026")
        db.session.commit()
        again = seed_demo_city(db.session, "Demo-pass-2026")
        db.session.commit()
        assert first == {
            "tenants": len(DEMO_TENANTS),
            "users": len(demo_users()),
            "chains": len(DEFAULT_CHAINS),
        }
        assert again == {"tenants": 0, "users": 0, "chains": 0}
        kinds = [kind for _code, _name, kind, _parent in DEMO_TENANTS]
        assert kinds.count("city") == 1 and kinds.count("department") >= 2
        assert kinds.count("county") >= 6 and kinds.count("park") >= 2 and "office" in kinds
        for _code, login_name, _name, _role in demo_users():
            result = auth_service.sign_in(db.session, login_name, "Demo-pass-2026", "127.0.0.1")
            assert result.user is not None, login_name
        db.session.commit()
    roles_by_tenant = {}
    for code, _login, _name, role in demo_users():
        roles_by_tenant.setdefault(code, set()).add(role)
    assert all({"officer", "head", "admin"} <= roles for roles in roles_by_tenant.values())


def test_readme_lists_every_demo_account():
    from portal.demo import DEFAULT_DEMO_PASSWORD, demo_users

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert DEFAULT_DEMO_PASSWORD in readme
    listed = set(re.findall(r"`([a-z][a-z0-9-]*\.[a-z]+)`", readme))
    missing = {login for _code, login, _name, _role in demo_users()} - listed
    assert missing == set(), f"README does not list: {sorted(missing)}"
