"""The industry-chain list the city admin manages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.audit.service import Actor
from portal.extensions import db
from portal.leads import chains
from portal.leads.models import IndustryChain
from tenants.scoping import wider_scope
from tests.conftest import page_token, race, signed_in_client


def _chains(app):
    with app.app_context():
        rows = db.session.execute(
            select(IndustryChain.name, IndustryChain.sort_order, IndustryChain.active)
        ).all()
        db.session.remove()
    return sorted(rows)


def test_city_admin_adds_edits_and_retires_a_chain(app, http_world):
    client = signed_in_client(app, "city.admin")
    token = page_token(client)
    response = client.post(
        "/admin/chains", data={"csrf_token": token, "name": "光伏光电", "sort_order": "20"}
    )
    assert response.status_code == 302
    with app.app_context():
        chain_id = db.session.scalar(select(IndustryChain.id))
    response = client.post(
        f"/admin/chains/{chain_id}/edit",
        data={"csrf_token": token, "name": "光伏新能源", "sort_order": "5"},
    )
    assert response.status_code == 302
    assert _chains(app) == [("光伏新能源", 5, True)]
    client.post(f"/admin/chains/{chain_id}/active", data={"csrf_token": token, "active": "0"})
    assert _chains(app) == [("光伏新能源", 5, False)]
    page = client.get("/admin/chains").get_data(as_text=True)
    assert "光伏新能源" in page and "已停用" in page
    with app.app_context():
        assert chains.active_chains(db.session) == []
        with wider_scope("cli"):
            actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["chain_added", "chain_updated", "chain_deactivated"]


@pytest.mark.parametrize(
    "form, message",
    [
        ({"name": "", "sort_order": "1"}, "请填写产业链名称（不超过 40 个字）。"),
        ({"name": "链" * 41, "sort_order": "1"}, "请填写产业链名称（不超过 40 个字）。"),
        ({"name": "电子信息", "sort_order": "1"}, "已有同名产业链。"),
        ({"name": "\u200b", "sort_order": "1"}, "请填写产业链名称（不超过 40 个字）。"),
        ({"name": "电子\u200d信息 ", "sort_order": "1"}, "已有同名产业链。"),
        ({"name": "新材料", "sort_order": "abc"}, "排序须为 0–999 之间的整数。"),
        ({"name": "新材料", "sort_order": "1000"}, "排序须为 0–999 之间的整数。"),
        ({"name": "新材料", "sort_order": "-1"}, "排序须为 0–999 之间的整数。"),
    ],
)
def test_bad_chain_input_is_explained_and_changes_nothing(app, http_world, form, message):
    with app.app_context():
        db.session.add(IndustryChain(name="电子信息", sort_order=10, active=True))
        db.session.commit()
    before = _chains(app)
    client = signed_in_client(app, "city.admin")
    response = client.post("/admin/chains", data={"csrf_token": page_token(client), **form})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _chains(app) == before


def test_renaming_onto_another_chain_is_refused(app, http_world):
    with app.app_context():
        db.session.add_all([IndustryChain(name="电子信息"), IndustryChain(name="新材料")])
        db.session.commit()
        second = db.session.scalar(select(IndustryChain.id).where(IndustryChain.name == "新材料"))
    before = _chains(app)
    client = signed_in_client(app, "city.admin")
    response = client.post(
        f"/admin/chains/{second}/edit",
        data={"csrf_token": page_token(client), "name": "电子信息", "sort_order": "1"},
    )
    assert response.status_code == 422
    assert "已有同名产业链。" in response.get_data(as_text=True)
    assert _chains(app) == before


def test_concurrent_retirements_exactly_one_wins(app, http_world):
    with app.app_context():
        chain = IndustryChain(name="电子信息", sort_order=10, active=True)
        db.session.add(chain)
        db.session.commit()
        chain_id = db.session.scalar(select(IndustryChain.id))

    def prepare(session):
        return session.get(IndustryChain, chain_id)

    def act(session, row):
        chains.set_chain_active(session, Actor(None, "test", None), row, False)

    outcomes = race(app, 5, prepare, act, chains.ChainInputError, lambda: wider_scope("cli"))
    assert outcomes.count("won") == 1, outcomes
    assert all(o == "won" or "已处于停用状态" in o for o in outcomes)


def test_default_chains_seed_once(app_ctx):
    assert chains.seed_default_chains(db.session) == len(chains.DEFAULT_CHAINS)
    assert chains.seed_default_chains(db.session) == 0
    assert db.session.scalar(select(func.count(IndustryChain.id))) == len(chains.DEFAULT_CHAINS)
