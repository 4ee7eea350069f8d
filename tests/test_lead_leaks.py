"""Cross-tenant leak checks: a unique canary string per tenant on every kind of confidential
text (lead title and company, contact, referral note, feedback, extension reason), then every GET
route is crawled by every actor — full pages and htmx fragments, lists with and without filters,
every object id — and no body may carry a canary the actor's tenant is not entitled to.

Who is entitled follows DESIGN.md §5, written out here independently of the scoping code:
lead text: the owner, every tenant on one of its referrals, the city, assessors; contact: the
owner and tenants that accepted a referral; referral text (note, feedback, extension reason): its
two sides, the lead's referrers (owner and anyone who passed it on), the city, assessors.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.assessment import appeals, ledger
from portal.assessment.models import APPROVED, PROPOSED, CreditLedger
from portal.assessment.queries import current_year
from portal.assessment.scoring import Proposal
from portal.audit.service import SYSTEM
from portal.database import utcnow
from portal.extensions import db
from portal.leads.models import Lead
from portal.policies.models import Policy
from portal.referrals import service as refs
from portal.referrals.models import ExtensionRequest, Referral
from portal.workdays.calendar import deadline_day, local_date
from tenants.scoping import wider_scope
from tests.conftest import WORLD_TENANTS, login, record_figure, role_sets_for
from tests.policy_helpers import post_policy, post_policy_with_file
from tests.referral_helpers import acting, post_lead

TENANT_KEYS = [key for key, *_ in WORLD_TENANTS]
CANARY = re.compile(r"KANARI-[A-Z]+-[a-z_]+(?:-[a-z_]+)?")
OVERSEER = "assessor role"


def _may_see(canary_entitled: set[str], tenant_key: str, login_name: str) -> bool:
    overseer = login_name.endswith(".assessor")
    return tenant_key in canary_entitled or (overseer and OVERSEER in canary_entitled)


def _code(key: str) -> str:
    return key.replace("_", "-")


def _plant(world):
    """Each tenant posts a lead; a few referrals, acceptances, feedback and extension requests
    spread them. Returns {canary: set of tenant keys entitled to it} and the object ids."""
    entitled: dict[str, set[str]] = {}
    # The city tenant (any role) and assessors (of any tenant) oversee leads and referrals.
    overseers = {"city", OVERSEER}
    leads = {}
    for key in TENANT_KEYS:
        login_name = f"{_code(key)}.officer"
        leads[key] = post_lead(
            world,
            login_name,
            title=f"KANARI-TITLE-{key}",
            company=f"KANARI-CO-{key}",
            contact_name=f"KANARI-CONTACT-{key}",
            description=f"KANARI-DESC-{key}",
        )
        entitled[f"KANARI-TITLE-{key}"] = {key} | overseers
        entitled[f"KANARI-CO-{key}"] = {key} | overseers
        entitled[f"KANARI-DESC-{key}"] = {key} | overseers
        entitled[f"KANARI-CONTACT-{key}"] = {key}

    referrals = {}

    def send(from_key, to_key, *, accept=False, feedback=False, extension=False):
        with acting(world, f"{_code(from_key)}.officer") as actor:
            lead = db.session.get(Lead, leads[from_key])
            (referral,) = refs.send_lead(
                db.session,
                actor,
                lead,
                to_tenant_ids=[world.tenants[to_key]],
                note=f"KANARI-NOTE-{from_key}-{to_key}",
            )
            db.session.commit()
            referral_id = referral.id
        referrals[(from_key, to_key)] = referral_id
        for canary in ("TITLE", "CO", "DESC"):
            entitled[f"KANARI-{canary}-{from_key}"].add(to_key)
        side = {from_key, to_key} | overseers
        entitled[f"KANARI-NOTE-{from_key}-{to_key}"] = side
        if extension:
            with acting(world, f"{_code(to_key)}.officer") as actor:
                referral = db.session.get(Referral, referral_id)
                later = deadline_day(referral.sign_by) + timedelta(days=3)
                refs.request_extension(
                    db.session,
                    actor,
                    referral,
                    new_date=later.isoformat(),
                    reason=f"KANARI-EXT-{from_key}-{to_key}",
                )
                db.session.commit()
            entitled[f"KANARI-EXT-{from_key}-{to_key}"] = side
        if accept:
            with acting(world, f"{_code(to_key)}.officer") as actor:
                refs.accept(db.session, actor, db.session.get(Referral, referral_id))
                db.session.commit()
            entitled[f"KANARI-CONTACT-{from_key}"].add(to_key)
        if feedback:
            with acting(world, f"{_code(to_key)}.officer") as actor:
                refs.add_feedback(
                    db.session,
                    actor,
                    db.session.get(Referral, referral_id),
                    {
                        "contacted_on": local_date(utcnow()).isoformat(),
                        "method": "phone",
                        "summary": f"KANARI-FB-{from_key}-{to_key}",
                        "intention": "strong",
                        "next_step": "",
                        "stage_after": "talking",
                    },
                )
                db.session.commit()
            entitled[f"KANARI-FB-{from_key}-{to_key}"] = side

    # The department sends to both counties: siblings must not see each other's handling.
    send("dept", "county_a", accept=True, feedback=True)
    send("dept", "county_b", extension=True)
    # A county passes its own lead to the park under it.
    send("county_a", "park_a", accept=True, feedback=True)
    _plant_policies(world, entitled)
    _plant_credit(world, leads, entitled)
    return entitled, leads, referrals


def _plant_credit(world, leads, entitled) -> None:
    """A credit entry (考核积分) benefiting each tenant, its canary in the evidence it carries
    (the lead code of its inputs): seen by that tenant, the city tenant and assessors."""
    with wider_scope("cli"):
        for key in TENANT_KEYS:
            canary = f"KANARI-CREDIT-{key}"
            inputs = {"lead_id": leads[key], "landed_lead_id": leads[key], "lead_code": canary}
            proposal = Proposal(
                f"canary:{key}", world.tenants[key], "landing_first", Decimal("3.0"), inputs
            )
            ledger.propose(db.session, SYSTEM, current_year(), [proposal])
            entitled[canary] = {key, "city", OVERSEER}
        db.session.commit()
        entries = dict(
            db.session.execute(
                select(CreditLedger.entry_key, CreditLedger.id).where(CreditLedger.kind == PROPOSED)
            ).all()
        )
    _plant_appeals(world, entries, entitled)


def _plant_appeals(world, entries, entitled) -> None:
    """Each tenant appeals its entry after 公示, its canary in the appeal's text: seen by that
    tenant, the city tenant and assessors (on the entry page and the list of appeals)."""
    for key in TENANT_KEYS:
        assessor = "city.assessor" if key == "office" else "office.assessor"
        with acting(world, assessor) as actor:
            ledger.decide(db.session, actor, entries[f"canary:{key}"], APPROVED)
            db.session.commit()
    with acting(world, "office.assessor") as actor:
        appeals.publish(db.session, actor, current_year(), 5)
        db.session.commit()
    for key in TENANT_KEYS:
        with acting(world, f"{_code(key)}.officer") as actor:
            text = f"申诉理由 KANARI-APPEAL-{key}"
            appeals.file_appeal(db.session, actor, entries[f"canary:{key}"], text)
            db.session.commit()
        entitled[f"KANARI-APPEAL-{key}"] = {key, "city", OVERSEER}


def _plant_policies(world, entitled) -> None:
    """Each tenant publishes a policy for itself alone (seen by it and the city tenant), its
    canaries in the title, the 文号, the body and the attachment; the department also publishes
    one city-wide (seen by everyone)."""
    for key in TENANT_KEYS:
        post_policy_with_file(
            world,
            f"{_code(key)}.officer",
            f"{key}.txt",
            f"附件正文 KANARI-PFILE-{key}".encode(),
            title=f"KANARI-POLICY-{key}",
            doc_number=f"KANARI-PNO-{key}",
            body=f"KANARI-PBODY-{key}",
            scope="own",
        )
        for canary in ("POLICY", "PNO", "PBODY", "PFILE"):
            entitled[f"KANARI-{canary}-{key}"] = {key, "city"}
    post_policy(world, "dept.officer", title="KANARI-PUBLIC-dept", scope="city")
    entitled["KANARI-PUBLIC-dept"] = set(TENANT_KEYS)


def _actors():
    for key, _name, kind, _parent in WORLD_TENANTS:
        for roles in role_sets_for(kind):
            yield f"{_code(key)}.{roles[-1]}", key


def _get_routes(app):
    skip = {"static", "auth.logout", "health.healthz", "auth.login"}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint not in skip:
            yield rule


def _urls(app, rule, ids):
    from flask import url_for

    names = list(rule.arguments)
    combos = [{}]
    for name in names:
        combos = [dict(c, **{name: value}) for c in combos for value in ids.get(name, [])]
    queries = [
        {},
        {"q": "KANARI"},
        {"q": "KANARI", "kind": "policy"},
        {"q": "KANARI", "scope": "own"},
        {"tab": "overdue"},
        {"tab": "closed"},
        {"state": "sent"},
    ]
    with app.test_request_context():
        for values in combos:
            for query in queries if not names else [{}]:
                yield url_for(rule.endpoint, **values, **query)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _body_text(response) -> str:
    """The text a reader gets: a workbook's cells (an .xlsx is a zip: its bytes hide text)."""
    if response.mimetype != XLSX:
        return response.get_data(as_text=True)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(response.data), read_only=True)
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def test_no_canary_reaches_a_tenant_not_entitled_to_it(app, http_world):
    with app.app_context():
        entitled, leads, referrals = _plant(http_world)
        with wider_scope("cli"):
            extension_ids = list(db.session.scalars(select(ExtensionRequest.id)))
            referral_ids = list(db.session.scalars(select(Referral.id)))
            lead_ids = list(db.session.scalars(select(Lead.id)))
            policy_ids = list(db.session.scalars(select(Policy.id)))
            entry_ids = list(
                db.session.scalars(select(CreditLedger.id).where(CreditLedger.kind == PROPOSED))
            )
        db.session.remove()
    ids = {
        "lead_id": lead_ids,
        "referral_id": referral_ids,
        "extension_id": extension_ids,
        "policy_id": policy_ids,
        "entry_id": entry_ids,
        "year": [current_year()],
    }
    requests = leaks = 0
    failures = []
    seen: set[str] = set()
    routes = list(_get_routes(app))
    for login_name, tenant_key in _actors():
        client = app.test_client()
        assert login(client, login_name).status_code == 302
        for rule in routes:
            if any(arg not in ids for arg in rule.arguments):
                continue  # routes on non-lead objects (users, chains…) carry no canaries
            for url in _urls(app, rule, ids):
                for headers in ({}, {"HX-Request": "true", "HX-Target": "results"}):
                    response = client.get(url, headers=headers)
                    requests += 1
                    assert response.status_code < 500, f"{login_name} GET {url}"
                    body = _body_text(response)
                    for canary in set(CANARY.findall(body)):
                        seen.add(canary)
                        if not _may_see(entitled.get(canary, set()), tenant_key, login_name):
                            leaks += 1
                            failures.append(f"{login_name} GET {url} {headers}: {canary}")
    record_figure(
        "canary leak crawl",
        f"{requests} GET requests (pages and htmx fragments) by {len(list(_actors()))} actors "
        f"over {len(routes)} routes, {len(entitled)} canaries; leaks: {leaks}",
    )
    assert failures == [], "\n".join(failures[:50])
    # The crawl reached every kind of planted text: each canary was shown to someone entitled.
    assert seen == set(entitled), sorted(set(entitled) - seen)


LEAD_WORKERS = [(login, key) for login, key in _actors() if not login.endswith(".admin")]


@pytest.mark.parametrize("login_name,tenant_key", LEAD_WORKERS)
def test_lead_list_total_is_what_the_actor_may_see(app, http_world, login_name, tenant_key):
    """A count is a leak too: the list's total is the number of leads the tenant is entitled to."""
    with app.app_context():
        entitled, leads, _ = _plant(http_world)
        db.session.remove()
    expected = sum(
        1
        for key in TENANT_KEYS
        if _may_see(entitled[f"KANARI-TITLE-{key}"], tenant_key, login_name)
    )
    client = app.test_client()
    assert login(client, login_name).status_code == 302
    body = client.get("/leads").get_data(as_text=True)
    assert f"共 {expected} 条线索" in body, body[:2000]


@pytest.mark.parametrize("login_name,tenant_key", list(_actors()))
def test_policy_list_total_is_what_the_actor_may_see(app, http_world, login_name, tenant_key):
    with app.app_context():
        entitled, _, _ = _plant(http_world)
        db.session.remove()
    expected = sum(
        1
        for canary, tenants in entitled.items()
        if canary.startswith(("KANARI-POLICY-", "KANARI-PUBLIC-"))
        and _may_see(tenants, tenant_key, login_name)
    )
    client = app.test_client()
    assert login(client, login_name).status_code == 302
    body = client.get("/policies").get_data(as_text=True)
    assert f"共 {expected} 份文件" in body, body[:2000]
