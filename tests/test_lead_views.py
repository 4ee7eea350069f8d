"""The lead pages: list with filters, register, edit, the lead page, send, lifecycle stages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.database import utcnow
from portal.extensions import db
from portal.leads import service as leads
from portal.leads.models import IndustryChain, Lead
from portal.referrals import service as referrals
from portal.referrals.models import Referral
from portal.workdays.calendar import local_date
from tenants.scoping import wider_scope
from tests.conftest import page_token, signed_in_client
from tests.referral_helpers import acting, lead_form, post_lead

CODE = re.compile(r">(XS-\d{4}-\d{6})<")
FRAGMENT = {"HX-Request": "true", "HX-Target": "lead-results"}


def _lead_count(app) -> int:
    with app.app_context(), wider_scope("cli"):
        return db.session.scalar(select(func.count(Lead.id)))


def _lead(app, lead_id: int) -> Lead:
    with app.app_context(), wider_scope("cli"):
        lead = db.session.get(Lead, lead_id)
        db.session.expunge(lead)
        return lead


def _add_chain(app, name: str) -> int:
    with app.app_context():
        chain = IndustryChain(name=name, sort_order=10, active=True)
        db.session.add(chain)
        db.session.commit()
        return chain.id


def _post(app, world, login: str = "county-a.officer", **overrides) -> int:
    with app.app_context():
        return post_lead(world, login, **overrides)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _codes(html: str) -> list[str]:
    return CODE.findall(html)


def _send(app, world, lead_id: int, *targets: str, login: str = "county-a.officer") -> list[int]:
    with app.app_context(), acting(world, login) as actor:
        lead = db.session.get(Lead, lead_id)
        sent = referrals.send_lead(
            db.session,
            actor,
            lead,
            to_tenant_ids=[str(world.tenants[t]) for t in targets],
            note="园区有现成厂房，符合产业定位。",
        )
        db.session.commit()
        return [ref.id for ref in sent]


def _as(app, world, login: str, action, referral_id: int, **kwargs) -> None:
    with app.app_context(), acting(world, login) as actor:
        referral = db.session.get(Referral, referral_id)
        action(db.session, actor, referral, **kwargs)
        db.session.commit()


def _land(app, world, lead_id: int) -> None:
    """county-a sends to county-b, which accepts and records the signing (today)."""
    (referral_id,) = _send(app, world, lead_id, "county_b")
    _as(app, world, "county-b.officer", referrals.accept, referral_id)
    _as(
        app,
        world,
        "county-b.officer",
        referrals.close_landed,
        referral_id,
        host_tenant_id=str(world.tenants["county_b"]),
        signed_on=local_date(utcnow()).isoformat(),
        signed_amount="120000",
    )


# ---- register and list -----------------------------------------------------------------------


def test_officer_registers_a_lead_and_finds_it_in_the_list(app, http_world):
    chain_id = _add_chain(app, "锂电新能源")
    client = signed_in_client(app, "county-a.officer")
    form = lead_form(chain_id=str(chain_id))
    response = client.post(
        "/leads/new", data={"csrf_token": page_token(client, "/leads/new"), **form}
    )
    assert response.status_code == 302
    assert re.search(r"/leads/\d+$", response.headers["Location"])
    page = _text(client.get(response.headers["Location"]))
    assert "已登记线索“年产 10GWh 储能电池项目”" in page
    assert "赣江锂能科技有限公司" in page and "150,000 万元" in page and "锂电新能源" in page
    assert "138 0000 1234" in page  # the owner sees the contact
    assert "登记线索“年产 10GWh 储能电池项目”" in page  # the timeline
    listing = _text(client.get("/leads"))
    assert "年产 10GWh 储能电池项目" in listing and "甲县" in listing and "锂电新能源" in listing
    assert "共 1 条线索" in listing


def test_the_new_lead_form_offers_active_chains_and_the_vocabularies(app, http_world):
    _add_chain(app, "新材料")
    with app.app_context():
        db.session.add(IndustryChain(name="旧产业链", sort_order=1, active=False))
        db.session.commit()
    client = signed_in_client(app, "county-a.officer")
    page = _text(client.get("/leads/new"))
    assert "新材料" in page and "旧产业链" not in page
    assert "以商招商" in page and "展会" in page and "在谈" in page
    assert "统一社会信用代码" in page and "用地需求（亩）" in page


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"title": ""}, "请填写项目名称。"),
        ({"title": "项" * 101}, "项目名称不能超过 100 个字。"),
        ({"company": "  "}, "请填写客商（企业）名称。"),
        ({"credit_code": "12345"}, "统一社会信用代码格式不正确"),
        ({"chain_id": "999999"}, "请从列表中选择产业链。"),
        ({"planned_investment": "十亿"}, "计划投资额须为整数。"),
        ({"planned_investment": "-5"}, "计划投资额须在 0 到 100,000,000 之间。"),
        ({"land_need": "很多"}, "用地需求须为数字。"),
        ({"land_need": "0.01"}, "用地需求最多保留一位小数。"),  # not saved as 0 without a word
        ({"chain_id": "²"}, "请从列表中选择产业链。"),
        ({"contact_phone": "call me"}, "联系电话只能包含数字"),
        ({"source_channel": ""}, "请选择线索来源渠道。"),
        ({"stage": "signed"}, "请选择项目阶段。"),
    ],
)
def test_bad_lead_input_is_explained_and_saves_nothing(app, http_world, overrides, message):
    client = signed_in_client(app, "county-a.officer")
    response = client.post(
        "/leads/new",
        data={"csrf_token": page_token(client, "/leads/new"), **lead_form(**overrides)},
    )
    assert response.status_code == 422
    page = _text(response)
    assert message in page
    assert "请修改标出的内容后再提交" in page
    assert "赣江锂能科技有限公司" in page or overrides.get("company")  # input kept
    assert _lead_count(app) == 0


def test_htmx_refusal_carries_a_toast(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    response = client.post(
        "/leads/new",
        data={"csrf_token": page_token(client, "/leads/new"), **lead_form(title="")},
        headers={"HX-Request": "true", "HX-Boosted": "true"},
    )
    assert response.status_code == 422
    assert "xqb:toast" in response.headers["HX-Trigger"]


def test_assessors_read_leads_but_do_not_register_them(app, http_world):
    _post(app, http_world)
    client = signed_in_client(app, "office.assessor")
    listing = _text(client.get("/leads"))
    assert "年产 10GWh 储能电池项目" in listing and "登记线索" not in listing
    assert client.get("/leads/new").status_code == 403


def test_filters_each_narrow_the_list(app, http_world):
    chain_a = _add_chain(app, "电子信息")
    chain_b = _add_chain(app, "生物医药")
    world = http_world
    small = _post(app, world, title="芯片封装项目", company="华芯科技", chain_id=str(chain_a))
    big = _post(
        app,
        world,
        title="创新药生产基地",
        company="康源医药",
        chain_id=str(chain_b),
        planned_investment="500000",
        stage="talking",
    )
    other = _post(app, world, "county-b.officer", title="乙县物流园", planned_investment="800")
    with app.app_context(), wider_scope("cli"):
        march_first = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        db.session.execute(update(Lead).where(Lead.id == small).values(created_at=march_first))
        db.session.commit()
        codes = {i: db.session.get(Lead, i).code for i in (small, big, other)}
    client = signed_in_client(app, "city.officer")

    def listed(query: str) -> set[int]:
        found = set(_codes(_text(client.get(f"/leads?{query}", headers=FRAGMENT))))
        return {i for i, code in codes.items() if code in found}

    assert listed("") == {small, big, other}
    assert listed("q=芯片") == {small}
    assert listed("q=康源") == {big}
    assert listed(f"q={codes[other].lower()}") == {other}
    assert listed("q=%25") == set()  # LIKE wildcards are matched literally
    assert listed("q=芯片 封装") == {small}  # each word, anywhere in the title
    assert listed("q=封装 华芯") == {small}  # or in the company
    assert listed("q=芯片 康源") == set()  # every word must match
    assert listed("stage=talking") == {big}
    assert listed("list=talking") == {big}
    assert listed("list=investors") == {small, other}
    assert listed(f"chain={chain_a}") == {small}
    assert listed(f"tenant={world.tenants['county_b']}") == {other}
    assert listed("min=100000") == {small, big}
    assert listed("max=1000") == {other}
    assert listed("min=100000&max=200000") == {small}
    assert listed("from=2025-01-01&to=2025-03-01") == {small}  # 10:00 Shanghai on 1 March
    assert listed("to=2025-02-28") == set()
    assert listed(f"from={local_date(utcnow()).isoformat()}") == {big, other}
    order = _codes(_text(client.get("/leads?sort=investment_desc", headers=FRAGMENT)))
    assert order == [codes[big], codes[small], codes[other]]
    order = _codes(_text(client.get("/leads?sort=oldest", headers=FRAGMENT)))
    assert order[0] == codes[small]


def test_filters_round_trip_through_the_url(app, http_world):
    chain_id = _add_chain(app, "电子信息")
    _post(app, http_world, stage="talking", chain_id=str(chain_id))
    client = signed_in_client(app, "county-a.officer")
    page = _text(
        client.get(
            f"/leads?q=储能&stage=talking&chain={chain_id}&min=100&max=900000"
            "&from=2024-01-01&to=2030-12-31&sort=investment_desc"
        )
    )
    assert 'value="储能"' in page
    assert '<option value="talking" selected>' in page
    assert f'<option value="{chain_id}" selected>' in page
    assert 'value="100"' in page and 'value="900000"' in page
    assert 'value="2024-01-01"' in page and 'value="2030-12-31"' in page
    assert '<option value="investment_desc" selected>' in page
    assert "共 1 条线索（已筛选）" in page
    assert 'hx-push-url="true"' in page and 'hx-target="#lead-results"' in page


def test_bad_filter_values_are_ignored_with_a_message(app, http_world):
    _post(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    response = client.get(
        "/leads?min=abc&max=1e99&from=2026-13-45&to=yesterday&chain=x&tenant=-1"
        "&stage=bogus&list=nope&sort=zzz&page=abc&q=" + "长" * 500
    )
    assert response.status_code == 200
    page = _text(response)
    for message in (
        "计划投资下限须为 0 到 100,000,000 之间的整数（万元），已忽略。",
        "计划投资上限须为",
        "起始日期不是有效日期（年-月-日），已忽略。",
        "结束日期不是有效日期",
        "产业链取值无效，已忽略。",
        "所属单位取值无效，已忽略。",
        "阶段取值无效，已忽略。",
        "清单取值无效，已忽略。",
    ):
        assert message in page
    page = _text(client.get("/leads?from=2026-05-01&to=2026-04-01&min=9&max=1"))
    assert "起始日期不能晚于结束日期，已忽略这两项。" in page
    assert "计划投资下限不能大于上限，已忽略这两项。" in page
    assert "年产 10GWh 储能电池项目" in page


def test_targeted_htmx_request_gets_the_fragment_and_others_the_page(app, http_world):
    _post(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    fragment = _text(client.get("/leads?q=储能", headers=FRAGMENT))
    assert "<html" not in fragment and "<form" not in fragment
    assert "年产 10GWh 储能电池项目" in fragment and 'data-testid="lead-table"' in fragment
    full = _text(client.get("/leads?q=储能"))
    assert full.lstrip().startswith("<!doctype html>") and 'id="lead-results"' in full
    boosted = _text(client.get("/leads", headers={"HX-Request": "true", "HX-Boosted": "true"}))
    assert boosted.lstrip().startswith("<!doctype html>")


def test_pagination_twenty_a_page_with_the_total(app, http_world):
    with app.app_context():
        for n in range(25):
            post_lead(http_world, "county-a.officer", title=f"项目{n:02d}")
    client = signed_in_client(app, "county-a.officer")
    first = _text(client.get("/leads?q=项目"))
    assert len(_codes(first)) == 20
    assert "第 1 / 2 页，共 25 条" in first and "项目24" in first and "项目04" not in first
    assert "page=2" in first and "q=%E9%A1%B9%E7%9B%AE" in first  # the filter stays in the link
    second = _text(client.get("/leads?q=项目&page=2", headers=FRAGMENT))
    assert len(_codes(second)) == 5 and "项目00" in second
    assert "第 2 / 2 页" in second
    beyond = _text(client.get("/leads?page=99", headers=FRAGMENT))
    assert len(_codes(beyond)) == 5


# ---- visibility ------------------------------------------------------------------------------


def test_another_tenant_neither_lists_nor_opens_the_lead(app, http_world):
    lead_id = _post(app, http_world)
    client = signed_in_client(app, "county-b.officer")
    assert "年产 10GWh 储能电池项目" not in _text(client.get("/leads"))
    assert "共 0 条线索" in _text(client.get("/leads"))
    for path in (f"/leads/{lead_id}", f"/leads/{lead_id}/edit", f"/leads/{lead_id}/send"):
        assert client.get(path).status_code == 404, path
    response = client.post(
        f"/leads/{lead_id}/stage",
        data={"csrf_token": page_token(client, "/leads"), "stage": "registered"},
    )
    assert response.status_code == 404


def test_contact_is_shown_to_the_owner_and_to_a_receiver_after_accepting(app, http_world):
    lead_id = _post(app, http_world)
    owner = _text(signed_in_client(app, "county-a.officer").get(f"/leads/{lead_id}"))
    assert "王经理" in owner and "138 0000 1234" in owner
    city = _text(signed_in_client(app, "city.officer").get(f"/leads/{lead_id}"))
    assert "联系人信息在签收后可见" in city and "138 0000 1234" not in city
    (referral_id,) = _send(app, http_world, lead_id, "county_b")
    receiver = signed_in_client(app, "county-b.officer")
    page = _text(receiver.get(f"/leads/{lead_id}"))
    assert "联系人信息在签收后可见" in page and "138 0000 1234" not in page
    assert "编辑线索" not in page and "推送给其他单位" not in page
    assert receiver.get(f"/leads/{lead_id}/edit").status_code == 403
    assert receiver.get(f"/leads/{lead_id}/send").status_code == 403
    _as(app, http_world, "county-b.officer", referrals.accept, referral_id)
    page = _text(receiver.get(f"/leads/{lead_id}"))
    assert "王经理" in page and "138 0000 1234" in page


# ---- edit ------------------------------------------------------------------------------------


def test_owner_edits_a_lead(app, http_world):
    lead_id = _post(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    page = _text(client.get(f"/leads/{lead_id}/edit"))
    assert 'name="version" value="1"' in page and 'value="年产 10GWh 储能电池项目"' in page
    response = client.post(
        f"/leads/{lead_id}/edit",
        data={
            "csrf_token": page_token(client),
            **lead_form(title="储能电池二期", stage="talking", contact_phone="0792-1234567"),
            "version": "1",
        },
    )
    assert response.status_code == 302
    page = _text(client.get(f"/leads/{lead_id}"))
    assert "已保存线索信息。" in page and "储能电池二期" in page and "0792-1234567" in page
    # The timeline names what changed (the contact, confidential, stays out of it).
    assert "在谈" in page and "修改线索信息：项目名称、阶段" in page


def test_a_concurrent_edit_is_refused_not_overwritten(app, http_world):
    lead_id = _post(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    token = page_token(client, f"/leads/{lead_id}/edit")  # opened on version 1
    with app.app_context(), acting(http_world, "county-a.head") as actor:
        lead = db.session.get(Lead, lead_id)
        data = leads.parse_lead_input(db.session, lead_form(title="分管领导改过的名称"))
        leads.update_lead(db.session, actor, lead, data, 1)
        db.session.commit()
    response = client.post(
        f"/leads/{lead_id}/edit",
        data={"csrf_token": token, **lead_form(title="专员的修改"), "version": "1"},
    )
    assert response.status_code == 409
    assert "该线索已被其他人修改，请刷新页面查看最新内容后再编辑。" in _text(response)
    assert _lead(app, lead_id).title == "分管领导改过的名称"
    # A form without a version cannot prove it saw the latest edit either.
    response = client.post(
        f"/leads/{lead_id}/edit", data={"csrf_token": token, **lead_form(title="无版本")}
    )
    assert response.status_code == 409
    assert _lead(app, lead_id).title == "分管领导改过的名称"


def test_bad_edit_input_changes_nothing(app, http_world):
    lead_id = _post(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    response = client.post(
        f"/leads/{lead_id}/edit",
        data={"csrf_token": page_token(client), **lead_form(title=""), "version": "1"},
    )
    assert response.status_code == 422 and "请填写项目名称。" in _text(response)
    lead = _lead(app, lead_id)
    assert lead.title == "年产 10GWh 储能电池项目" and lead.version == 1


# ---- send ------------------------------------------------------------------------------------


def test_owner_sends_a_lead_and_the_page_shows_the_referrals(app, http_world):
    world = http_world
    lead_id = _post(app, world)
    client = signed_in_client(app, "county-a.officer")
    page = _text(client.get(f"/leads/{lead_id}/send"))
    assert "乙县" in page and "甲县工业园" in page and "测试市商务局" in page
    assert f'value="{world.tenants["county_a"]}"' not in page  # not to itself
    assert 'name="sign_days" inputmode="numeric" value="1"' in page
    assert 'name="report_days" inputmode="numeric" value="5"' in page
    response = client.post(
        f"/leads/{lead_id}/send",
        data={
            "csrf_token": page_token(client),
            "to_tenant_ids": [str(world.tenants["county_b"]), str(world.tenants["park_a"])],
            "note": "乙县有储能产业园，用地指标充足。",
            "sign_days": "2",
            "report_days": "5",
        },
    )
    assert response.status_code == 302
    page = _text(client.get(f"/leads/{lead_id}"))
    assert "已推送给乙县、甲县工业园。" in page
    assert "甲县 → 乙县" in page and "甲县 → 甲县工业园" in page
    assert page.count("待签收") == 2 and "按时" in page
    assert "推送给乙县：乙县有储能产业园，用地指标充足。" in page  # the timeline
    with app.app_context(), wider_scope("cli"):
        ids = db.session.scalars(select(Referral.id).where(Referral.lead_id == lead_id)).all()
    assert len(ids) == 2
    assert all(f"/referrals/{i}" in page for i in ids)
    # A receiver sees its own referral, not the other receiver's.
    receiver = _text(signed_in_client(app, "county-b.officer").get(f"/leads/{lead_id}"))
    assert "甲县 → 乙县" in receiver and "甲县工业园" not in receiver
    # An open referral is not offered again.
    page = _text(client.get(f"/leads/{lead_id}/send"))
    assert "已推送，办理中" in page


@pytest.mark.parametrize(
    "form, message",
    [
        ({"note": "合适"}, "请选择至少一个接收单位。"),
        ({"to": "county_b", "note": ""}, "请填写推送说明（落地条件、推荐理由）。"),
        ({"to": "county_a", "note": "合适"}, "接收单位无效"),
        ({"to": "county_b", "note": "合适", "sign_days": "0"}, "签收时限须为 1–60 个工作日。"),
        (
            {"to": "county_b", "note": "合适", "sign_days": "3", "report_days": "2"},
            "首次反馈时限不能短于签收时限。",
        ),
    ],
)
def test_bad_send_input_is_explained_and_sends_nothing(app, http_world, form, message):
    lead_id = _post(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    data = {"csrf_token": page_token(client), "note": form["note"]}
    if "to" in form:
        data["to_tenant_ids"] = str(http_world.tenants[form["to"]])
    for key in ("sign_days", "report_days"):
        if key in form:
            data[key] = form[key]
    response = client.post(f"/leads/{lead_id}/send", data=data)
    assert response.status_code == 422
    assert message in _text(response)
    with app.app_context(), wider_scope("cli"):
        assert db.session.scalar(select(func.count(Referral.id))) == 0


def test_a_tenant_that_returned_the_lead_needs_the_override(app, http_world):
    world = http_world
    lead_id = _post(app, world)
    (referral_id,) = _send(app, world, lead_id, "county_b")
    _as(
        app,
        world,
        "county-b.officer",
        referrals.request_return,
        referral_id,
        reason="not_fit",
        text="不符合本县产业定位。",
    )
    _as(app, world, "county-a.head", referrals.decide_return, referral_id, agree=True)
    client = signed_in_client(app, "county-a.officer")
    page = _text(client.get(f"/leads/{lead_id}/send"))
    assert "曾退回" in page and "仍然推送" in page
    data = {
        "csrf_token": page_token(client),
        "to_tenant_ids": str(world.tenants["county_b"]),
        "note": "企业调整了方案，重新推荐。",
    }
    response = client.post(f"/leads/{lead_id}/send", data=data)
    assert response.status_code == 422 and "此前已退回该线索" in _text(response)
    response = client.post(f"/leads/{lead_id}/send", data={**data, "override_returned": "1"})
    assert response.status_code == 302
    assert "已推送给乙县。" in _text(client.get(f"/leads/{lead_id}"))


def test_overdue_referral_is_marked_in_words(app, http_world):
    lead_id = _post(app, http_world)
    (referral_id,) = _send(app, http_world, lead_id, "county_b")
    past = utcnow() - timedelta(days=10)
    with app.app_context(), wider_scope("cli"):
        db.session.execute(
            update(Referral).where(Referral.id == referral_id).values(sign_by=past, report_by=past)
        )
        db.session.commit()
    page = _text(signed_in_client(app, "county-a.officer").get(f"/leads/{lead_id}"))
    assert "签收逾期" in page and "个工作日" in page


# ---- lifecycle after landing -----------------------------------------------------------------


def test_host_records_lifecycle_stages_after_landing(app, http_world):
    lead_id = _post(app, http_world)
    _land(app, http_world, lead_id)
    today = local_date(utcnow()).isoformat()
    owner = signed_in_client(app, "county-a.officer")
    page = _text(owner.get(f"/leads/{lead_id}"))
    assert "签约" in page and "推送给其他单位" not in page and "登记进展" not in page
    assert owner.get(f"/leads/{lead_id}/send").status_code == 302  # landed: nothing to send
    # The owner may still correct the record (the page offers what the route allows); the stage
    # stays 签约 whatever the form says.
    assert "编辑线索" in page
    form = {**lead_form(title="年产 10GWh 储能电池项目（更正）"), "stage": "talking"}
    form["version"] = str(_lead(app, lead_id).version)
    form["csrf_token"] = page_token(owner, f"/leads/{lead_id}/edit")
    response = owner.post(f"/leads/{lead_id}/edit", data=form)
    assert response.status_code == 422 and "请选择项目阶段。" in _text(response)
    assert _lead(app, lead_id).title == "年产 10GWh 储能电池项目"
    form["stage"] = "signed"
    assert owner.post(f"/leads/{lead_id}/edit", data=form).status_code == 302
    assert _lead(app, lead_id).title == "年产 10GWh 储能电池项目（更正）"
    assert _lead(app, lead_id).stage == "signed"
    assert "编辑线索" not in _text(
        signed_in_client(app, "county-b.officer").get(f"/leads/{lead_id}")
    )
    host = signed_in_client(app, "county-b.officer")
    page = _text(host.get(f"/leads/{lead_id}"))
    assert "登记进展" in page and '<option value="registered">注册</option>' in page
    token = page_token(host)
    response = host.post(
        f"/leads/{lead_id}/stage",
        data={"csrf_token": token, "stage": "registered", "on_date": today},
    )
    assert response.status_code == 302
    page = _text(host.get(f"/leads/{lead_id}"))
    assert f"已登记“注册”（{today}）。" in page
    assert '<option value="registered">' not in page  # only later stages are offered
    assert _lead(app, lead_id).stage == "registered"
    # Refusals: an earlier stage, a future date, termination without a reason.
    tomorrow = (local_date(utcnow()) + timedelta(days=1)).isoformat()
    for data, message in (
        ({"stage": "registered", "on_date": today}, "只能登记之后的阶段"),
        ({"stage": "started", "on_date": tomorrow}, "日期不能晚于今天。"),
        ({"stage": "started", "on_date": "2020-01-01"}, "日期不能早于上一阶段的日期"),
        ({"stage": "terminated", "on_date": today}, "请选择终止原因。"),
    ):
        response = host.post(f"/leads/{lead_id}/stage", data={"csrf_token": token, **data})
        assert response.status_code == 422, data
        assert message in _text(response)
        assert _lead(app, lead_id).stage == "registered"
    response = host.post(
        f"/leads/{lead_id}/stage",
        data={"csrf_token": token, "stage": "terminated", "on_date": today, "reason": "moved"},
    )
    assert response.status_code == 302
    page = _text(host.get(f"/leads/{lead_id}"))
    assert "转投外地" in page and "登记进展" not in page
    # The owner is not the host: the stage action is refused.
    response = owner.post(
        f"/leads/{lead_id}/stage",
        data={"csrf_token": page_token(owner), "stage": "started", "on_date": today},
    )
    assert response.status_code == 403
