"""A Hypothesis state machine over the referral workflow (DESIGN.md §4).

One lead of the city commerce bureau (dept) is sent to county A and county B; random actors
(sender officer/head, receiver officers/heads, a third tenant, the city head, an assessor, an
admin) take random actions at random times (the services' clock moves forward by hours). The
test keeps its own model of the legal state machine and checks after every step: the action
succeeded iff the model says it is legal for that actor at that time; a success wrote exactly
one audit event of the matching action; a refusal wrote none and changed nothing; closed
referrals never change, the lead has at most one host, and deadlines move only by an approved
extension."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from portal.extensions import db
from portal.leads.models import Lead
from portal.referrals import service as referrals
from portal.referrals.models import ExtensionRequest, Referral
from portal.validation import InputError
from portal.workdays.calendar import end_of_local_day, local_date
from tenants.scoping import wider_scope
from tests.referral_helpers import Clock, acting, audit_actions, post_lead, send, shanghai

OWNER = "dept"
ACTORS = [
    "dept.officer",
    "dept.head",
    "dept.admin",
    "county-a.officer",
    "county-a.head",
    "county-b.officer",
    "county-b.head",
    "park-a.officer",
    "park-a.head",
    "city.head",
    "office.assessor",
]
TRANSFER_TARGETS = ["park_a", "county_a", "county_b", "city", "dept", "office"]
OPEN = ("sent", "return_requested", "accepted", "reported")
CLOSED = ("returned", "withdrawn", "transferred", "landed", "not_landed")


def tenant_of(login: str) -> str:
    return login.split(".")[0].replace("-", "_")


def roles_of(login: str) -> set[str]:
    return {login.split(".")[1]}


def handler(login: str) -> bool:
    return bool(roles_of(login) & {"officer", "head"})


@dataclass
class Ref:
    id: int
    from_t: str
    to_t: str
    state: str
    sign_by: datetime
    report_by: datetime
    return_refused: bool = False
    pending: tuple | None = None  # (ordinal, "sign"/"report", new_due, request id)
    ext_count: int = 0
    last_urged: object = None  # local date
    last_feedback: object = None  # local date of the latest feedback


@dataclass
class Model:
    refs: list = field(default_factory=list)
    host: str | None = None


class Workflow(RuleBasedStateMachine):
    world = None
    clock = None

    def __init__(self):
        super().__init__()
        world, clock = type(self).world, type(self).clock
        clock.set(shanghai(2026, 3, 2, 9))
        self.lead_id = post_lead(world, "dept.officer", title="状态机线索")
        ids = send(world, "dept.officer", self.lead_id, "county_a", "county_b")
        self.model = Model()
        with wider_scope("cli"):
            for rid in ids:
                row = db.session.get(Referral, rid)
                to = "county_a" if row.to_tenant_id == world.tenants["county_a"] else "county_b"
                self.model.refs.append(Ref(rid, OWNER, to, "sent", row.sign_by, row.report_by))
            db.session.commit()

    # ---- harness ---------------------------------------------------------------------------

    @property
    def now(self):
        return type(self).clock.now

    def _run(self, login, legal, action, fn, model_ident, **kwargs):
        """Run ``fn`` as ``login``; check success iff ``legal`` and the audit trail."""
        world = type(self).world
        before = audit_actions()
        result_id = None
        with acting(world, login) as actor:
            model, ident = model_ident
            obj = db.session.get(model, ident)
            if obj is None:
                with wider_scope("cli"):
                    obj = db.session.get(model, ident)
            try:
                result = fn(db.session, actor, obj, **kwargs)
                db.session.flush()
                result_id = getattr(result, "id", None)
                db.session.commit()
                succeeded = True
            except (InputError, PermissionError) as exc:
                db.session.rollback()
                succeeded = False
                if isinstance(exc, InputError):
                    assert exc.errors and all(exc.errors.values())
        after = audit_actions()
        assert succeeded == legal, (login, fn.__name__, kwargs, legal, self._db_states())
        if succeeded:
            assert after == before + [action], (after[len(before) :], action)
        else:
            assert after == before
        return result_id

    def _db_states(self):
        with wider_scope("cli"):
            db.session.expire_all()
            rows = db.session.scalars(select(Referral).where(Referral.lead_id == self.lead_id))
            result = {r.id: (r.state, r.sign_by, r.report_by) for r in rows}
            lead = db.session.get(Lead, self.lead_id)
            host = lead.host_tenant_id
            db.session.commit()
        return result, host

    def _compare(self):
        states, host = self._db_states()
        assert set(states) == {r.id for r in self.model.refs}
        for ref in self.model.refs:
            assert states[ref.id] == (ref.state, ref.sign_by, ref.report_by), ref
        world = type(self).world
        assert host == (world.tenants[self.model.host] if self.model.host else None)

    def _open_receivers(self):
        return {r.to_t for r in self.model.refs if r.state in OPEN}

    def _returned(self):
        return {r.to_t for r in self.model.refs if r.state == "returned"}

    # ---- rules -----------------------------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=60))
    def advance(self, hours):
        type(self).clock.advance(hours=hours)

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS))
    def accept(self, i, login):
        ref = self.model.refs[i % len(self.model.refs)]
        legal = handler(login) and tenant_of(login) == ref.to_t and ref.state == "sent"
        self._run(login, legal, "referral_accepted", referrals.accept, (Referral, ref.id))
        if legal:
            ref.state = "accepted"

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS))
    def request_return(self, i, login):
        ref = self.model.refs[i % len(self.model.refs)]
        legal = (
            handler(login)
            and tenant_of(login) == ref.to_t
            and ref.state == "sent"
            and not ref.return_refused
            and self.now <= ref.sign_by
        )
        self._run(
            login,
            legal,
            "referral_return_requested",
            referrals.request_return,
            (Referral, ref.id),
            reason="not_fit",
            text="不符合产业定位",
        )
        if legal:
            ref.state = "return_requested"

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS), agree=st.booleans())
    def decide_return(self, i, login, agree):
        ref = self.model.refs[i % len(self.model.refs)]
        legal = handler(login) and tenant_of(login) == ref.from_t
        legal = legal and ref.state == "return_requested"
        action = "referral_returned" if agree else "referral_return_refused"
        self._run(
            login,
            legal,
            action,
            referrals.decide_return,
            (Referral, ref.id),
            agree=agree,
            note="审核意见",
        )
        if legal:
            ref.state = "returned" if agree else "sent"
            ref.return_refused = ref.return_refused or not agree

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS))
    def withdraw(self, i, login):
        ref = self.model.refs[i % len(self.model.refs)]
        legal = handler(login) and tenant_of(login) == ref.from_t
        legal = legal and ref.state in ("sent", "return_requested")
        self._run(login, legal, "referral_withdrawn", referrals.withdraw, (Referral, ref.id))
        if legal:
            ref.state = "withdrawn"

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS))
    def feedback(self, i, login):
        ref = self.model.refs[i % len(self.model.refs)]
        legal = handler(login) and tenant_of(login) == ref.to_t
        legal = legal and ref.state in ("accepted", "reported")
        form = {
            "contacted_on": local_date(self.now).isoformat(),
            "method": "phone",
            "summary": "电话联系企业",
            "intention": "medium",
            "stage_after": "talking",
        }
        self._run(
            login,
            legal,
            "referral_feedback",
            referrals.add_feedback,
            (Referral, ref.id),
            form=form,
        )
        if legal:
            ref.state = "reported"
            ref.last_feedback = local_date(self.now)

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS))
    def land(self, i, login):
        ref = self.model.refs[i % len(self.model.refs)]
        legal = handler(login) and tenant_of(login) == ref.to_t
        legal = legal and ref.state in ("accepted", "reported") and self.model.host is None
        self._run(
            login,
            legal,
            "referral_landed",
            referrals.close_landed,
            (Referral, ref.id),
            host_tenant_id="",
            signed_on=local_date(self.now).isoformat(),
            signed_amount="30000",
        )
        if legal:
            ref.state = "landed"
            self.model.host = ref.to_t

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS))
    def not_land(self, i, login):
        ref = self.model.refs[i % len(self.model.refs)]
        legal = handler(login) and tenant_of(login) == ref.to_t
        legal = legal and ref.state in ("accepted", "reported")
        self._run(
            login,
            legal,
            "referral_not_landed",
            referrals.close_not_landed,
            (Referral, ref.id),
            reason="no_intent",
            note="企业暂无投资计划",
        )
        if legal:
            ref.state = "not_landed"

    @rule(
        i=st.integers(0, 5), login=st.sampled_from(ACTORS), onward=st.sampled_from(TRANSFER_TARGETS)
    )
    def transfer(self, i, login, onward):
        ref = self.model.refs[i % len(self.model.refs)]
        me = tenant_of(login)
        legal = (
            "head" in roles_of(login)
            and me == ref.to_t
            and ref.state in ("accepted", "reported")
            and self.model.host is None
            and onward not in (OWNER, me, "office")
            and onward not in self._open_receivers()
            and onward not in self._returned()
        )
        world = type(self).world
        child = self._run(
            login,
            legal,
            "referral_transferred",
            referrals.transfer,
            (Referral, ref.id),
            to_tenant_id=str(world.tenants[onward]),
            note="转交给更合适的单位",
        )
        if legal:
            ref.state = "transferred"
            with wider_scope("cli"):
                row = db.session.get(Referral, child)
                assert row.parent_id == ref.id and row.state == "sent"
                self.model.refs.append(Ref(child, me, onward, "sent", row.sign_by, row.report_by))
                db.session.commit()

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS), days=st.integers(1, 10))
    def request_extension(self, i, login, days):
        ref = self.model.refs[i % len(self.model.refs)]
        if ref.state in ("sent", "return_requested"):
            which, due = "sign", ref.sign_by
        elif ref.state == "accepted":
            which, due = "report", ref.report_by
        else:
            which, due = None, ref.report_by
        legal = (
            handler(login)
            and tenant_of(login) == ref.to_t
            and which is not None
            and self.now <= due
            and ref.pending is None
        )
        new_day = local_date(due) + timedelta(days=days)
        request_id = self._run(
            login,
            legal,
            "extension_requested",
            referrals.request_extension,
            (Referral, ref.id),
            new_date=new_day.isoformat(),
            reason="企业负责人出差",
        )
        if legal:
            ref.ext_count += 1
            ref.pending = (ref.ext_count, which, end_of_local_day(new_day), request_id)

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS), approve=st.booleans())
    def decide_extension(self, i, login, approve):
        ref = self.model.refs[i % len(self.model.refs)]
        if ref.pending is None:
            return
        ordinal, which, new_due, request_id = ref.pending
        legal = "head" in roles_of(login) and (
            tenant_of(login) == ref.from_t if ordinal == 1 else tenant_of(login) == "city"
        )
        action = "extension_approved" if approve else "extension_refused"
        self._run(
            login,
            legal,
            action,
            referrals.decide_extension,
            (ExtensionRequest, request_id),
            approve=approve,
            note="审批意见",
        )
        if legal:
            ref.pending = None
            if approve and which == "sign" and ref.state in ("sent", "return_requested"):
                ref.sign_by, ref.report_by = new_due, max(ref.report_by, new_due)
            elif approve and which == "report" and ref.state == "accepted":
                ref.report_by = new_due

    @rule(i=st.integers(0, 5), login=st.sampled_from(ACTORS))
    def urge(self, i, login):
        ref = self.model.refs[i % len(self.model.refs)]
        if ref.state in ("sent", "return_requested"):
            due = ref.sign_by
        elif ref.state == "accepted":
            due = ref.report_by
        elif ref.state == "reported":  # a progress entry is expected every fortnight
            due = end_of_local_day(ref.last_feedback + timedelta(days=14))
        else:
            due = None
        today = local_date(self.now)
        legal = (
            handler(login)
            and (tenant_of(login) == ref.from_t or tenant_of(login) == "city")
            and due is not None
            and self.now > due
            and (ref.last_urged is None or ref.last_urged < today)
        )
        self._run(login, legal, "referral_urged", referrals.urge, (Referral, ref.id))
        if legal:
            ref.last_urged = today

    # ---- invariants ------------------------------------------------------------------------

    @invariant()
    def database_matches_the_model(self):
        # States, deadlines and host equal the model's: closed referrals never changed, and
        # deadlines moved only where the model applied an approved extension.
        self._compare()

    @invariant()
    def closed_states_are_final_and_one_host(self):
        landed = [r for r in self.model.refs if r.state == "landed"]
        assert len(landed) <= 1
        assert (self.model.host is None) == (not landed)


def test_referral_state_machine(world, monkeypatch):
    Workflow.world = world
    Workflow.clock = Clock(monkeypatch, shanghai(2026, 3, 2, 9))
    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],  # a failure prints its steps
        ),
    )
