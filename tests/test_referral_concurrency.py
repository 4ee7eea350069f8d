"""Two people acting on one referral at once: exactly one wins, the others are told why (in
Chinese), the state is consistent and exactly one audit event is written. Runs on SQLite and on
PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import contextlib
import itertools
import threading

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.leads.models import Lead
from portal.referrals import service as referrals
from portal.referrals.models import ExtensionRequest, Referral
from tenants.scoping import wider_scope
from tests.conftest import make_user, race
from tests.referral_helpers import Clock, acting, post_lead, send, shanghai

THREADS = 8
ROUNDS = 3
CJK = range(0x4E00, 0xA000)


def _chinese(message: str) -> bool:
    return any(ord(ch) in CJK for ch in message)


class Actors:
    """A race scope that gives thread i the i-th login of ``logins`` (round robin) and exposes
    the thread's audit Actor to prepare/act."""

    def __init__(self, world, logins):
        self.world, self.logins = world, logins
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.local = threading.local()

    @contextlib.contextmanager
    def __call__(self):
        with self.lock:
            login = self.logins[next(self.counter) % len(self.logins)]
        with acting(self.world, login) as actor:
            self.local.actor, self.local.login = actor, login
            yield

    @property
    def actor(self):
        return self.local.actor

    @property
    def login(self):
        return self.local.login


def _audit(actions, object_id) -> list[str]:
    with wider_scope("cli"):
        return list(
            db.session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.in_(actions), AuditEvent.object_id == str(object_id)
                )
            )
        )


def _referral(referral_id) -> Referral:
    with wider_scope("cli"):
        db.session.expire_all()
        return db.session.get(Referral, referral_id)


def _sign_extension_asked(world, title: str) -> tuple[int, int]:
    """dept sends a new lead to county-a, which asks to extend its signing deadline: the
    referral's id and the request's."""
    lead_id = post_lead(world, "dept.officer", title=title)
    rid = send(world, "dept.officer", lead_id, "county_a")[0]
    with acting(world, "county-a.officer") as actor:
        request_id = referrals.request_extension(
            db.session,
            actor,
            db.session.get(Referral, rid),
            new_date="2026-03-10",
            reason="企业负责人出差",
        ).id
        db.session.commit()
    return rid, request_id


def test_accept_and_withdraw_at_once_exactly_one_wins(app, world, monkeypatch):
    Clock(monkeypatch, shanghai(2026, 3, 2, 10))
    actors = Actors(world, ["county-a.officer", "dept.officer", "county-a.head", "dept.head"])
    for round_ in range(ROUNDS):
        lead_id = post_lead(world, "dept.officer", title=f"并发签收撤回 {round_}")
        rid = send(world, "dept.officer", lead_id, "county_a")[0]
        db.session.commit()

        def prepare(session, rid=rid):
            return session.get(Referral, rid)

        def act(session, referral):
            if actors.login.startswith("county-a"):
                referrals.accept(session, actors.actor, referral)
            else:
                referrals.withdraw(session, actors.actor, referral, note="撤回")

        outcomes = race(app, THREADS, prepare, act, referrals.ReferralError, actors)
        assert outcomes.count("won") == 1, outcomes
        losers = [o for o in outcomes if o != "won"]
        assert all(_chinese(o) and "刷新" in o for o in losers), losers
        final = _referral(rid)
        assert final.state in ("accepted", "withdrawn")
        assert (final.accepted_at is not None) == (final.state == "accepted")
        events = _audit(("referral_accepted", "referral_withdrawn"), rid)
        assert events == [f"referral_{final.state}"], events
        db.session.commit()


def test_two_heads_deciding_one_extension(app, world, monkeypatch):
    Clock(monkeypatch, shanghai(2026, 3, 2, 10))
    with wider_scope("cli"):
        make_user(db.session, world.tenants["dept"], "dept.head2", ("head",))
        world.users["dept.head2"] = db.session.scalar(
            select(db.metadata.tables["user_account"].c.id).where(
                db.metadata.tables["user_account"].c.login_name == "dept.head2"
            )
        )
        db.session.commit()
    for round_ in range(ROUNDS):
        rid, request_id = _sign_extension_asked(world, f"并发延期 {round_}")
        old_sign_by = _referral(rid).sign_by
        db.session.commit()
        actors = Actors(world, ["dept.head", "dept.head2"])

        def prepare(session, request_id=request_id):
            return session.get(ExtensionRequest, request_id)

        def act(session, request_row, actors=actors):
            approve = actors.login == "dept.head"
            referrals.decide_extension(
                session, actors.actor, request_row, approve=approve, note="审批意见"
            )

        outcomes = race(app, 4, prepare, act, referrals.ReferralError, actors)
        assert outcomes.count("won") == 1, outcomes
        with wider_scope("cli"):
            db.session.expire_all()
            decided = db.session.get(ExtensionRequest, request_id)
            state, winner = decided.state, decided.decided_by_name
        # The others are told who decided it, and how.
        how = "同意延期" if state == "approved" else "不同意延期"
        assert all(
            o.startswith(f"该延期申请已由{winner}于 ")
            and o.endswith(f"审批（{how}），无需再次审批。")
            for o in outcomes
            if o != "won"
        ), outcomes
        final = _referral(rid)
        if state == "approved":
            assert final.sign_by > old_sign_by and final.extensions_granted == 1
        else:
            assert state == "refused"
            assert final.sign_by == old_sign_by and final.extensions_granted == 0
        events = _audit(("extension_approved", "extension_refused"), rid)
        assert events == [f"extension_{state}"], events
        db.session.commit()


def test_two_receivers_landing_one_lead_through_two_referrals(app, world, monkeypatch):
    clock = Clock(monkeypatch, shanghai(2026, 3, 2, 10))
    for round_ in range(ROUNDS):
        clock.set(shanghai(2026, 3, 2, 10))
        lead_id = post_lead(world, "dept.officer", title=f"并发落地 {round_}")
        ids = send(world, "dept.officer", lead_id, "county_a", "county_b")
        for login, rid in zip(("county-a.officer", "county-b.officer"), ids, strict=True):
            with acting(world, login) as actor:
                referrals.accept(db.session, actor, db.session.get(Referral, rid))
                db.session.commit()
        clock.set(shanghai(2026, 3, 5, 10))
        db.session.commit()
        by_login = dict(zip(("county-a.officer", "county-b.officer"), ids, strict=True))
        actors = Actors(world, list(by_login))

        def prepare(session, by_login=by_login, actors=actors):
            return session.get(Referral, by_login[actors.login])

        def act(session, referral, actors=actors):
            referrals.close_landed(
                session,
                actors.actor,
                referral,
                host_tenant_id="",
                signed_on="2026-03-04",
                signed_amount="50000",
            )

        outcomes = race(app, 6, prepare, act, referrals.ReferralError, actors)
        assert outcomes.count("won") == 1, outcomes
        assert all(_chinese(o) for o in outcomes if o != "won"), outcomes
        states = {rid: _referral(rid).state for rid in ids}
        landed = [rid for rid, state in states.items() if state == "landed"]
        assert len(landed) == 1, states
        assert [s for r, s in states.items() if r not in landed] == ["accepted"]
        with wider_scope("cli"):
            db.session.expire_all()
            lead = db.session.get(Lead, lead_id)
            assert lead.host_tenant_id == _referral(landed[0]).to_tenant_id
            assert lead.stage == "signed"
        assert sum(len(_audit(("referral_landed",), rid)) for rid in ids) == 1
        db.session.commit()


def test_signing_while_the_sign_extension_is_approved(app, world, monkeypatch):
    """The receiver signs as the sender's head approves its sign-deadline extension: either the
    approval comes first (the deadline moves, then the signing) or the signing does (the
    request goes void and the approval is refused) — never an approval that changes nothing,
    and never a deadlock between the two (both take the referral's row before the request's)."""
    Clock(monkeypatch, shanghai(2026, 3, 2, 10))
    actors = Actors(world, ["county-a.officer", "dept.head"])
    for round_ in range(ROUNDS * 2):
        rid, request_id = _sign_extension_asked(world, f"并发签收延期 {round_}")
        old_sign_by = _referral(rid).sign_by
        db.session.commit()

        def prepare(session, rid=rid, request_id=request_id):
            return session.get(Referral, rid), session.get(ExtensionRequest, request_id)

        def act(session, prepared):
            referral, request_row = prepared
            if actors.login == "dept.head":
                referrals.decide_extension(session, actors.actor, request_row, approve=True)
            else:
                referrals.accept(session, actors.actor, referral)

        outcomes = race(app, 2, prepare, act, referrals.ReferralError, actors)
        with wider_scope("cli"):
            db.session.expire_all()
            state = db.session.get(ExtensionRequest, request_id).state
            final = db.session.get(Referral, rid)
            assert final.state == "accepted"  # signing is never refused here
            if state == "approved":
                assert outcomes == ["won", "won"], outcomes
                assert final.sign_by > old_sign_by and final.extensions_granted == 1
            else:
                assert state == "void"
                assert sorted(outcomes) == [
                    "won",
                    "该延期申请已失效：接收单位已签收，无需再延长签收时限。",
                ], outcomes
                assert final.sign_by == old_sign_by and final.extensions_granted == 0
        approvals = _audit(("extension_approved",), rid)
        assert approvals == ([] if state == "void" else ["extension_approved"]), approvals
        db.session.commit()
