"""The route access matrix, generated from the URL map.

Every route declares an access rule; every route is tried as an anonymous visitor, as every role
in every kind of tenant, and against its own and another tenant's objects. Anonymous visitors are
sent to sign in (302, or 401 for htmx), a wrong role gets 403, another tenant's object 404, and a
refused request changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from portal.access import rule_of
from portal.assessment import ledger
from portal.assessment.models import CreditLedger, ScoringRuleSet
from portal.assessment.queries import current_year
from portal.assessment.scoring import Proposal
from portal.audit.service import SYSTEM
from portal.extensions import db
from portal.leads.models import IndustryChain, Lead
from portal.notifications.models import Notification
from portal.policies.models import Policy
from portal.referrals import service as referral_service
from portal.referrals.models import ExtensionRequest, Referral
from portal.workdays.models import CalendarDay
from tenants.models import Tenant, User
from tenants.scoping import wider_scope
from tests.conftest import csrf_from, login, make_tenant, make_user, record_figure
from tests.policy_helpers import post_policy_with_file
from tests.referral_helpers import acting, post_lead

ACTORS = [
    "city.officer",
    "city.head",
    "city.admin",
    "city.assessor",
    "dept.officer",
    "dept.head",
    "dept.admin",
    "county-a.officer",
    "county-a.head",
    "county-a.admin",
    "park-a.officer",
    "park-a.admin",
    "office.assessor",
    "office.admin",
]
# Whose objects count as "another tenant's" for an actor of each tenant.
OTHER_TENANT = {
    "city": "county_b",
    "dept": "county_b",
    "county_a": "county_b",
    "park_a": "county_b",
    "office": "county_b",
}
# Routes that name a tenant-owned object in the query string rather than the path.
QUERY_OBJECTS = {"tenants.user_list": "tenant", "tenants.user_new": "tenant"}
# Routes whose access rule admits the role, but whose domain service then refuses an actor on
# the wrong side of this object (a sender posting "accept", an officer deciding an extension, a
# tenant a lead was sent to editing it): 403 there is the service's answer, tested in the
# workflow tests. Everything else an allowed role asks for must not be 403.
DOMAIN_CHECKED = frozenset(
    {
        "leads.lead_edit",
        "leads.lead_send",
        "leads.lead_stage",
        "referrals.accept",
        "referrals.request_return",
        "referrals.decide_return",
        "referrals.withdraw",
        "referrals.transfer",
        "referrals.feedback",
        "referrals.request_extension",
        "referrals.decide_extension",
        "referrals.land",
        "referrals.not_land",
        "referrals.urge",
        # The city sees every tenant's policies; only the publishing tenant edits one.
        "policies.policy_edit",
        # An assessor never decides a credit entry that benefits their own tenant, nor answers
        # their own tenant's appeal; the city's officers see every entry but appeal only their
        # own tenant's.
        "assessment.decide",
        "appeals.answer_appeal",
        "appeals.file_appeal",
    }
)


def _city_admin(user) -> bool:
    return user.has_role("admin") and user.tenant_kind == "city"


def _overseer(user) -> bool:
    """The city tenant and assessors see every lead and referral (DESIGN.md §5)."""
    return user.tenant_kind == "city" or user.has_role("assessor")


def _nobody(user) -> bool:
    return False


def _city_tenant(user) -> bool:
    """A policy for one tenant is seen by that tenant and the city tenant (DESIGN.md §5)."""
    return user.tenant_kind == "city"


@dataclass(frozen=True)
class Param:
    """How to fill one URL parameter: with the actor's own object, or another tenant's.
    ``foreign_visible`` says which actors may legitimately see the foreign one; ``per_user``
    objects (notifications) belong to a person, so they are chosen by login, not tenant."""

    tenant_owned: bool
    own: object
    foreign: object
    foreign_visible: object = _city_admin
    per_user: bool = False


def _tenant_key(login_name: str) -> str:
    return login_name.split(".")[0].replace("-", "_")


def _params(world, spare_tenant_id, spare_day_id=0, spare_chain_id=0, objects=None):
    objects = objects or {}

    def own(kind):
        return lambda key: objects[kind][key]

    def foreign(kind):
        return lambda key: objects[kind]["foreign"]

    return {
        "lead_id": Param(True, own("lead"), foreign("lead"), _overseer),
        "referral_id": Param(True, own("referral"), foreign("referral"), _overseer),
        "extension_id": Param(True, own("extension"), foreign("extension"), _overseer),
        "policy_id": Param(True, own("policy"), foreign("policy"), _city_tenant),
        # Credit entries: their tenant sees them, the city tenant and assessors see all.
        "entry_id": Param(True, own("entry"), foreign("entry"), _overseer),
        "notification_id": Param(
            True,
            own=lambda login: objects["notification"][login],
            foreign=lambda login: objects["notification"]["foreign"],
            foreign_visible=_nobody,
            per_user=True,
        ),
        "chain_id": Param(False, own=lambda key: spare_chain_id, foreign=None),
        # City-wide calendar rows: the city admin's only, like tenant records.
        "day_id": Param(False, own=lambda key: spare_day_id, foreign=None),
        "user_id": Param(
            True,
            own=lambda key: world.users[f"{key.replace('_', '-')}.target"],
            foreign=lambda key: world.users[f"{OTHER_TENANT[key].replace('_', '-')}.target"],
        ),
        # Tenant records are administered by the city admin only: no "own" tenant to speak of.
        "tenant_id": Param(False, own=lambda key: spare_tenant_id, foreign=None),
        "filename": Param(False, own=lambda key: "css/app.css", foreign=None),
        # The assessment year an export names; what it holds follows the reader's scope.
        "year": Param(False, own=lambda key: current_year(), foreign=None),
    }


def _send(world, login_name, lead_id, to_tenant_id) -> int:
    with acting(world, login_name) as actor:
        lead = db.session.get(Lead, lead_id)
        (referral,) = referral_service.send_lead(
            db.session, actor, lead, to_tenant_ids=[to_tenant_id], note="条件相符。"
        )
        db.session.commit()
        return referral.id


def _ask_extension(world, login_name, referral_id) -> int:
    with acting(world, login_name) as actor:
        referral = db.session.get(Referral, referral_id)
        day = referral_service.deadline_day(referral.sign_by) + timedelta(days=3)
        row = referral_service.request_extension(
            db.session, actor, referral, new_date=day.isoformat(), reason="负责人出差。"
        )
        db.session.commit()
        return row.id


def _own_policy(world, login_name, key) -> int:
    """A policy for the tenant alone, with an attachment (so its download route has a file)."""
    return post_policy_with_file(
        world,
        login_name,
        f"{key}政策.txt",
        "第一条 为支持本地产业发展，制定本办法。".encode(),
        title=f"{key} 的政策文件",
        scope="own",
    )


def _credit_entries(objects, world) -> None:
    """A pending credit entry (考核积分) benefiting each actor tenant, and one for county B."""
    keys = {_tenant_key(a) for a in ACTORS} | {"county_b"}
    with wider_scope("cli"):
        for key in sorted(keys):
            proposal = Proposal(
                f"matrix:{key}",
                world.tenants[key],
                "landing_first",
                Decimal("3.0"),
                {"lead_id": objects["lead"].get(key, 1), "lead_code": f"XS-{key}"},
            )
            (row,) = ledger.propose(db.session, SYSTEM, current_year(), [proposal])
            objects["entry"]["foreign" if key == "county_b" else key] = row.id
        db.session.commit()


def _lead_objects(app, world, spare_tenant_id) -> dict:
    """Each actor tenant posts a lead and sends it to county B, which asks for an extension:
    the actor's own lead, referral and extension request. The foreign ones: county B's lead,
    sent to a spare park that asks for an extension; nobody else is on them. Each tenant also
    benefits from a pending credit entry."""
    objects = {
        "lead": {},
        "referral": {},
        "extension": {},
        "notification": {},
        "policy": {},
        "entry": {},
    }
    county_b = world.tenants["county_b"]
    with app.app_context():
        for key in {_tenant_key(a) for a in ACTORS}:
            login_name = f"{key.replace('_', '-')}.officer"
            lead_id = post_lead(world, login_name, title=f"{key} 的线索")
            referral_id = _send(world, login_name, lead_id, county_b)
            objects["lead"][key] = lead_id
            objects["referral"][key] = referral_id
            objects["extension"][key] = _ask_extension(world, "county-b.officer", referral_id)
            objects["policy"][key] = _own_policy(world, login_name, key)
        lead_id = post_lead(world, "county-b.officer", title="乙县自有线索")
        with wider_scope("cli"):
            spare_user = make_user(db.session, spare_tenant_id, "spare-park.officer")
            world.users["spare-park.officer"] = spare_user.id
            db.session.commit()
        referral_id = _send(world, "county-b.officer", lead_id, spare_tenant_id)
        objects["lead"]["foreign"] = lead_id
        objects["referral"]["foreign"] = referral_id
        objects["extension"]["foreign"] = _ask_extension(world, "spare-park.officer", referral_id)
        objects["policy"]["foreign"] = _own_policy(world, "county-b.officer", "county_b")
        with wider_scope("cli"):
            for login_name in [*ACTORS, "county-b.target"]:
                user = db.session.get(User, world.users[login_name])
                note = Notification(
                    tenant_id=user.tenant_id, user_id=user.id, kind="urged", text="测试通知"
                )
                db.session.add(note)
                db.session.flush()
                key = "foreign" if login_name == "county-b.target" else login_name
                objects["notification"][key] = note.id
            db.session.commit()
        _credit_entries(objects, world)
        db.session.remove()
    return objects


def _routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule, method))
    return routes


def test_every_route_declares_an_access_rule(app):
    missing = [
        r.endpoint
        for r in app.url_map.iter_rules()
        if rule_of(app.view_functions[r.endpoint]) is None
    ]
    assert missing == [], f"routes without an access rule: {missing}"


def test_every_url_parameter_has_a_matrix_filler(app, http_world):
    world = http_world
    known = set(_params(world, 0))
    unknown = {
        (rule.endpoint, arg)
        for rule in app.url_map.iter_rules()
        for arg in rule.arguments
        if arg not in known
    }
    assert unknown == set(), f"add these parameters to the access matrix: {sorted(unknown)}"


def _snapshot(app):
    with app.app_context(), wider_scope("cli"):
        db.session.expire_all()
        lead_rows = db.session.execute(
            select(Lead.id, Lead.version, Lead.stage, Lead.host_tenant_id)
        ).all()
        referral_rows = db.session.execute(
            select(Referral.id, Referral.state, Referral.version)
        ).all()
        extension_rows = db.session.execute(
            select(ExtensionRequest.id, ExtensionRequest.state)
        ).all()
        notification_rows = db.session.execute(select(Notification.id, Notification.read_at)).all()
        policy_rows = db.session.execute(
            select(Policy.id, Policy.version, Policy.title, Policy.attachment_key)
        ).all()
        ledger_rows = db.session.execute(
            select(CreditLedger.id, CreditLedger.kind, CreditLedger.entry_id, CreditLedger.hash)
        ).all()
        rule_rows = db.session.execute(select(ScoringRuleSet.id, ScoringRuleSet.version)).all()
        users = db.session.execute(
            select(
                User.id,
                User.tenant_id,
                User.display_name,
                User.roles,
                User.active,
                User.password_hash,
            )
        ).all()
        tenants = db.session.execute(
            select(Tenant.id, Tenant.name, Tenant.parent_id, Tenant.active)
        ).all()
        db.session.rollback()
    return (
        sorted(users),
        sorted(tenants),
        sorted(lead_rows),
        sorted(referral_rows),
        sorted(extension_rows),
        sorted(notification_rows),
        sorted(policy_rows, key=str),
        sorted(ledger_rows),
        sorted(rule_rows),
    )


def _signed_in(app, login_name):
    client = app.test_client()
    if login_name is not None:
        response = login(client, login_name)
        assert response.status_code == 302, f"{login_name} could not sign in"
    token = csrf_from(client.get("/login").get_data(as_text=True)) if login_name is None else None
    if token is None:
        token = csrf_from(client.get("/account/password").get_data(as_text=True))
    return client, token


@dataclass(frozen=True)
class ActorInfo:
    """What the expectations need to know of an actor, read once outside any request."""

    role_set: frozenset
    tenant_kind: str

    def has_role(self, *roles):
        return bool(self.role_set.intersection(roles))

    @property
    def is_authenticated(self):
        return True

    @property
    def tenant(self):
        return self

    @property
    def kind(self):
        return self.tenant_kind


def _user_of(app, login_name):
    if login_name is None:
        return None
    with app.app_context(), wider_scope("cli"):
        user = db.session.scalar(select(User).where(User.login_name == login_name))
        return ActorInfo(user.role_set, user.tenant.kind)


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def _request(client, method, url, token):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token})


def _variants(rule, params, tenant_key, login_name):
    """(label, url path values, query) for the route: own objects, and foreign ones if any."""
    values, foreign_values, has_foreign = {}, {}, False
    for arg in rule.arguments:
        param = params[arg]
        owner = (login_name or "county-a.officer") if param.per_user else tenant_key
        values[arg] = param.own(owner)
        if param.tenant_owned:
            foreign_values[arg] = param.foreign(owner)
            has_foreign = True
        else:
            foreign_values[arg] = values[arg]
    variants = [("own", values, {})]
    if has_foreign:
        variants.append(("foreign", foreign_values, {}))
    return variants


def _build(app, rule, values, query):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values, **query)


def test_access_matrix(app, http_world):
    world = http_world
    with app.app_context(), wider_scope("cli"):
        spare = make_tenant(db.session, "spare-park", "备用园区", "park", world.tenants["city"])
        spare_day = CalendarDay(day=date(2027, 1, 1), is_workday=False, note="元旦")
        spare_chain = IndustryChain(name="备用产业链", sort_order=1, active=True)
        db.session.add_all([spare_day, spare_chain])
        db.session.commit()
        spare_id, spare_day_id, spare_chain_id = spare.id, spare_day.id, spare_chain.id
    objects = _lead_objects(app, world, spare_id)
    params = _params(world, spare_id, spare_day_id, spare_chain_id, objects)
    routes = _routes(app)
    # Sign-out ends the session, so each actor tries it last.
    routes.sort(key=lambda pair: pair[0].endpoint == "auth.logout")
    counts = {
        "requests": 0,
        "refused_anonymous": 0,
        "refused_role": 0,
        "refused_foreign": 0,
        "allowed": 0,
    }
    failures = []
    for actor in [None] + ACTORS:
        client, token = _signed_in(app, actor)
        user = _user_of(app, actor)
        tenant_key = _tenant_key(actor) if actor else "county_a"
        for rule, method in routes:
            access_rule = rule_of(app.view_functions[rule.endpoint])
            variants = _variants(rule, params, tenant_key, actor)
            if rule.endpoint in QUERY_OBJECTS:
                other = world.tenants[OTHER_TENANT[tenant_key]]
                variants.append(("foreign", {}, {QUERY_OBJECTS[rule.endpoint]: other}))
            for label, values, query in variants:
                url = _build(app, rule, values, query)
                before = _snapshot(app) if label == "foreign" else None
                response = _request(client, method, url, token)
                counts["requests"] += 1
                visible_rules = [params[arg].foreign_visible for arg in rule.arguments]
                if rule.endpoint in QUERY_OBJECTS:
                    visible_rules.append(_city_admin)
                foreign_visible = user is not None and any(v(user) for v in visible_rules)
                outcome = _check(
                    actor, user, access_rule, label, response, counts, rule, foreign_visible
                )
                if rule.endpoint == "auth.logout" and actor and not outcome:
                    # Signing out is allowed when it ends the session: / then asks to sign in.
                    if not _is_login_redirect(client.get("/")):
                        outcome = "signed out but the session still works"
                    response = None
                if outcome:
                    failures.append(f"{actor or 'anonymous'} {method} {url}: {outcome}")
                if before is not None and response.status_code == 404 and _snapshot(app) != before:
                    failures.append(f"{actor} {method} {url}: refused but changed data")
    routes_count = len({rule.endpoint + method for rule, method in routes})
    record_figure(
        "access matrix",
        f"{routes_count} route-methods x {len(ACTORS)} signed-in actors "
        "(every role in 6 tenant kinds) "
        f"+ anonymous = {counts['requests']} requests; refused: {counts['refused_anonymous']} "
        f"anonymous, {counts['refused_role']} wrong role, "
        f"{counts['refused_foreign']} other tenant; "
        f"allowed: {counts['allowed']} (of which {counts.get('refused_by_domain', 0)} "
        "refused by the workflow rules for the wrong side)",
    )
    assert failures == [], "\n".join(failures)


def _check(
    actor, user, access_rule, label, response, counts, rule=None, foreign_visible=False
) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if actor is None and access_rule.requires_sign_in:
        counts["refused_anonymous"] += 1
        return (
            None if _is_login_redirect(response) else f"expected a redirect to /login, got {status}"
        )
    if actor is not None and not access_rule.allows(user):
        counts["refused_role"] += 1
        return None if status == 403 else f"expected 403 for a wrong role, got {status}"
    if label == "foreign" and not foreign_visible:
        counts["refused_foreign"] += 1
        return None if status == 404 else f"expected 404 for another tenant's object, got {status}"
    counts["allowed"] += 1
    if status == 403 and rule is not None and rule.endpoint in DOMAIN_CHECKED:
        counts["refused_by_domain"] = counts.get("refused_by_domain", 0) + 1
        return None
    if status in (401, 403, 404, 405):
        return f"expected access, got {status}"
    if _is_login_redirect(response) and urlsplit(response.request.path).path != "/logout":
        return f"expected access, got {status}"
    return None


@pytest.mark.parametrize("path", ["/", "/admin/users", "/admin/tenants", "/admin/audit"])
def test_anonymous_htmx_request_gets_401_and_a_redirect_to_login(client, http_world, path):
    response = client.get(
        path, headers={"HX-Request": "true", "HX-Current-URL": f"http://localhost{path}"}
    )
    assert response.status_code == 401
    assert urlsplit(response.headers["HX-Redirect"]).path == "/login"
    toast = json.loads(response.headers["HX-Trigger"])["xqb:toast"]
    assert toast["message"] == "登录已过期，请重新登录。"


def test_an_expired_session_on_a_filtered_list_returns_to_the_same_filters(client, http_world):
    """The officer was on a filtered list when the session ended: after signing in again they
    land on that list with its filters, not on the bare list."""
    response = client.get(
        "/leads?stage=talking",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/leads?q=储能&min=100"},
    )
    assert response.status_code == 401
    target = parse_qs(urlsplit(response.headers["HX-Redirect"]).query)["next"]
    assert target == ["/leads?q=储能&min=100"]
