"""The referral workflow of DESIGN.md §4, transition by transition: the happy path and every
refusal (who may act, state preconditions, windows, once-only rules).

Every success writes exactly one audit event of the right action and one timeline line; every
refusal raises ReferralError/PermissionError and changes nothing — checked inside the same
transaction, before the rollback, so a service that writes first and refuses afterwards fails.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.leads import service as leads
from portal.leads.models import Lead, LeadContact, LeadEvent, LeadStage
from portal.notifications.models import Notification
from portal.referrals import service as referrals
from portal.referrals.models import ExtensionRequest, Feedback, Referral
from portal.validation import InputError
from portal.workdays.calendar import WorkCalendar, end_of_local_day
from tenants.scoping import wider_scope
from tests.referral_helpers import (
    Clock,
    acting,
    audit_actions,
    post_lead,
    send,
    shanghai,
    timeline_count,
)

MONDAY = shanghai(2026, 3, 2, 10, 0)  # an ordinary working week, no holiday near

FEEDBACK = {
    "contacted_on": "2026-03-03",
    "method": "visit",
    "summary": "上门拜访企业，企业有意向在我县选址。",
    "intention": "strong",
    "next_step": "安排实地考察",
    "stage_after": "talking",
}


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, MONDAY)


@pytest.fixture
def lead_id(world, clock):
    """A lead of the city commerce bureau (a department that cannot host it)."""
    return post_lead(world, "dept.officer", title="储能电池项目")


# ---- harness ---------------------------------------------------------------------------------


def snapshot():
    """Everything a referral action may change, read straight from the database (flushing
    whatever the session still holds, as a later commit would)."""
    with wider_scope("cli"):
        db.session.flush()

        def rows(table, *order):
            return [tuple(r) for r in db.session.execute(select(table).order_by(*order))]

        return {
            "referral": rows(Referral.__table__, Referral.__table__.c.id),
            "lead": rows(Lead.__table__, Lead.__table__.c.id),
            "extension": rows(ExtensionRequest.__table__, ExtensionRequest.__table__.c.id),
            "feedback": db.session.scalar(select(func.count()).select_from(Feedback.__table__)),
            "stage": db.session.scalar(select(func.count()).select_from(LeadStage.__table__)),
            "events": db.session.scalar(select(func.count()).select_from(LeadEvent.__table__)),
            "notifications": db.session.scalar(
                select(func.count()).select_from(Notification.__table__)
            ),
            "audit": len(audit_actions()),
        }


def _load(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:  # not visible to the actor: hand the service the object anyway
        with wider_scope("cli"):
            obj = db.session.get(model, ident)
    assert obj is not None
    return obj


def ok(world, login, fn, target, action, **kwargs):
    """``fn(session, actor, target_obj, **kwargs)`` succeeds: one audit event ``action``, one
    timeline line."""
    audit_before, events_before = audit_actions(), timeline_count()
    with acting(world, login) as actor:
        result = fn(db.session, actor, _load(*target), **kwargs)
        db.session.flush()
        # Hand back ids (objects expire at commit, outside the actor's scope).
        if isinstance(result, list):
            result = [item.id for item in result]
        elif result is not None:
            result = result.id
        db.session.commit()
    assert audit_actions() == audit_before + [action]
    assert timeline_count() == events_before + 1
    return result


def refused(world, login, fn, target, exc=InputError, **kwargs):
    """``fn`` refuses with ``exc`` and changed nothing, even before the rollback."""
    before = snapshot()
    with acting(world, login) as actor:
        obj = _load(*target)
        with pytest.raises(exc) as info:
            fn(db.session, actor, obj, **kwargs)
        after = snapshot()
        db.session.rollback()
    assert after == before
    return info.value


def ref(referral_id):
    return (Referral, referral_id)


def fresh_row(model, row_id):
    """The row as the database has it now (nothing cached in the session)."""
    with wider_scope("cli"):
        db.session.expire_all()
        return db.session.get(model, row_id)


def referral_row(referral_id) -> Referral:
    return fresh_row(Referral, referral_id)


def lead_row(lead_id) -> Lead:
    return fresh_row(Lead, lead_id)


def sent_to_a(world, lead_id, **kwargs):
    return send(world, "dept.officer", lead_id, "county_a", **kwargs)[0]


def accepted_by_a(world, lead_id):
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    return rid


def _send(session, actor, lead, **kwargs):
    return referrals.send_lead(session, actor, lead, **kwargs)


def _return(session, actor, referral, **kwargs):
    kwargs.setdefault("reason", "land")
    kwargs.setdefault("text", "本县用地指标已用完。")
    return referrals.request_return(session, actor, referral, **kwargs)


def _feedback(session, actor, referral, **overrides):
    return referrals.add_feedback(session, actor, referral, {**FEEDBACK, **overrides})


def _land(session, actor, referral, **kwargs):
    kwargs.setdefault("host_tenant_id", "")
    kwargs.setdefault("signed_on", "2026-03-04")
    kwargs.setdefault("signed_amount", "120000")
    return referrals.close_landed(session, actor, referral, **kwargs)


def _extend(session, actor, referral, **kwargs):
    kwargs.setdefault("reason", "企业负责人出差，需延后对接。")
    return referrals.request_extension(session, actor, referral, **kwargs)


def _decide(session, actor, request_row, **kwargs):
    return referrals.decide_extension(session, actor, request_row, **kwargs)


# ---- sending ---------------------------------------------------------------------------------


def test_send_to_two_tenants_sets_deadlines_from_dispatch(world, lead_id):
    audit_before, events_before = audit_actions(), timeline_count()
    ids = send(world, "dept.officer", lead_id, "county_a", "county_b")
    assert audit_actions() == audit_before + ["referral_sent", "referral_sent"]
    assert timeline_count() == events_before + 2
    for rid in ids:
        row = referral_row(rid)
        assert row.state == "sent"
        assert row.sent_at == MONDAY
        # Monday 10:00: sign by the end of Tuesday 3 March, report by the end of Monday 9 March.
        assert row.sign_by == shanghai(2026, 3, 4)
        assert row.report_by == shanghai(2026, 3, 10)


@pytest.mark.parametrize("login", ["dept.admin", "office.assessor", "city.assessor"])
def test_admins_and_assessors_cannot_send(world, lead_id, login):
    refused(
        world,
        login,
        _send,
        (Lead, lead_id),
        PermissionError,
        to_tenant_ids=[str(world.tenants["county_a"])],
        note="说明",
    )


def test_only_the_owner_sends_a_lead(world, lead_id):
    sent_to_a(world, lead_id)
    for login in ("county-a.officer", "city.officer", "county-b.head"):
        refused(
            world,
            login,
            _send,
            (Lead, lead_id),
            PermissionError,
            to_tenant_ids=[str(world.tenants["park_a"])],
            note="说明",
        )


@pytest.mark.parametrize(
    "targets, extra, field",
    [
        ([], {}, "to_tenant_ids"),
        (["dept"], {}, "to_tenant_ids"),  # itself, the owner
        (["office"], {}, "to_tenant_ids"),  # the assessment office receives no leads
        (["county_a"], {"note": "  "}, "note"),
        (["county_a"], {"sign_days": "0"}, "sign_days"),
        (["county_a"], {"sign_days": "61"}, "sign_days"),
        (["county_a"], {"report_days": "x"}, "report_days"),
        (["county_a"], {"sign_days": "3", "report_days": "2"}, "report_days"),
    ],
)
def test_bad_sends_are_refused(world, lead_id, targets, extra, field):
    kwargs = {"note": "该县有用地指标。", **extra}
    error = refused(
        world,
        "dept.officer",
        _send,
        (Lead, lead_id),
        to_tenant_ids=[str(world.tenants[k]) for k in targets],
        **kwargs,
    )
    assert field in error.errors


def test_no_duplicate_open_referral_to_the_same_tenant(world, lead_id):
    sent_to_a(world, lead_id)
    error = refused(
        world,
        "dept.officer",
        _send,
        (Lead, lead_id),
        to_tenant_ids=[str(world.tenants["county_b"]), str(world.tenants["county_a"])],
        note="再推一次",
    )
    assert "甲县" in error.errors["to_tenant_ids"]


def test_a_tenant_whose_return_was_granted_is_not_offered_the_lead_again(world, lead_id):
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", _return, ref(rid), "referral_return_requested")
    ok(world, "dept.head", referrals.decide_return, ref(rid), "referral_returned", agree=True)
    assert referral_row(rid).state == "returned"
    error = refused(
        world,
        "dept.officer",
        _send,
        (Lead, lead_id),
        to_tenant_ids=[str(world.tenants["county_a"])],
        note="再推一次",
    )
    assert "override_returned" in error.errors
    again = ok(
        world,
        "dept.officer",
        _send,
        (Lead, lead_id),
        "referral_sent",
        to_tenant_ids=[str(world.tenants["county_a"])],
        note="企业改变了选址要求，请再看一下。",
        override_returned=True,
    )
    assert referral_row(again[0]).state == "sent"


def test_custom_deadlines_and_a_lead_landed_elsewhere_cannot_be_sent(world, lead_id, clock):
    rid = sent_to_a(world, lead_id, sign_days="3", report_days="10")
    row = referral_row(rid)
    assert row.sign_by == shanghai(2026, 3, 6)  # end of Thursday 5 March
    assert row.report_by == shanghai(2026, 3, 17)  # end of Monday 16 March
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    clock.advance(days=2)
    ok(world, "county-a.officer", _land, ref(rid), "referral_landed")
    refused(
        world,
        "dept.officer",
        _send,
        (Lead, lead_id),
        to_tenant_ids=[str(world.tenants["county_b"])],
        note="说明",
    )


# ---- accepting ---------------------------------------------------------------------------------


def test_receiver_accepts_and_then_sees_the_contact(world, lead_id):
    rid = sent_to_a(world, lead_id)
    with acting(world, "county-a.officer"):
        lead = db.session.get(Lead, lead_id)
        assert lead is not None
        assert leads.contact_of(db.session, lead) is None
    ok(world, "county-a.head", referrals.accept, ref(rid), "referral_accepted")
    row = referral_row(rid)
    assert row.state == "accepted" and row.accepted_at == MONDAY
    with acting(world, "county-a.officer"):
        assert db.session.get(LeadContact, lead_id).contact_name == "王经理"


@pytest.mark.parametrize(
    "login",
    [
        "dept.officer",  # the sender
        "dept.head",
        "county-b.officer",  # an uninvolved county
        "park-a.officer",  # a park under the receiver is not the receiver
        "city.head",  # the city oversees but does not sign for a county
        "county-a.admin",  # the receiver's admin
    ],
)
def test_only_the_receivers_officers_and_heads_accept(world, lead_id, login):
    rid = sent_to_a(world, lead_id)
    refused(world, login, referrals.accept, ref(rid), PermissionError)


def test_accept_twice_or_after_withdrawal_is_refused_in_chinese(world, lead_id):
    rid = accepted_by_a(world, lead_id)
    error = refused(world, "county-a.head", referrals.accept, ref(rid))
    assert "已签收" in error.errors["state"]
    other = send(world, "dept.officer", lead_id, "county_b")[0]
    ok(world, "dept.officer", referrals.withdraw, ref(other), "referral_withdrawn")
    error = refused(world, "county-b.officer", referrals.accept, ref(other))
    assert "已撤回" in error.errors["state"]


def test_a_late_accept_is_allowed_and_recorded_as_late(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    clock.set(shanghai(2026, 3, 4, 0, 0, 1))  # one second past the end of Tuesday
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    with acting(world, "dept.officer"):
        line = db.session.scalars(
            select(LeadEvent).where(LeadEvent.referral_id == rid, LeadEvent.kind == "accepted")
        ).one()
    assert "超过签收时限" in line.summary


# ---- returning -------------------------------------------------------------------------------


def test_return_inside_the_window_and_granted(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    clock.set(shanghai(2026, 3, 3, 23, 59, 59))  # the last second of the signing window
    ok(world, "county-a.officer", _return, ref(rid), "referral_return_requested")
    assert referral_row(rid).state == "return_requested"
    # While the return is pending nobody accepts it, and the receiver cannot ask again.
    refused(world, "county-a.officer", referrals.accept, ref(rid))
    refused(world, "county-a.officer", _return, ref(rid))
    # The receiver does not decide its own return.
    refused(world, "county-a.head", referrals.decide_return, ref(rid), PermissionError, agree=True)
    ok(world, "dept.officer", referrals.decide_return, ref(rid), "referral_returned", agree=True)
    row = referral_row(rid)
    assert row.state == "returned" and row.closed_at is not None


def test_return_after_the_signing_window_is_refused(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    clock.set(shanghai(2026, 3, 4, 0, 0, 1))
    error = refused(world, "county-a.officer", _return, ref(rid))
    assert "签收时限" in error.errors["reason"]


@pytest.mark.parametrize("reason, text", [("", "说明"), ("bogus", "说明"), ("land", " ")])
def test_return_needs_a_reason_code_and_text(world, lead_id, reason, text):
    rid = sent_to_a(world, lead_id)
    refused(world, "county-a.officer", _return, ref(rid), reason=reason, text=text)


def test_a_refused_return_is_final_and_the_deadlines_stand(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    original = referral_row(rid)
    sign_by, report_by = original.sign_by, original.report_by
    ok(world, "county-a.officer", _return, ref(rid), "referral_return_requested")
    # Refusing needs a reason.
    refused(world, "dept.head", referrals.decide_return, ref(rid), agree=False, note="")
    ok(
        world,
        "dept.head",
        referrals.decide_return,
        ref(rid),
        "referral_return_refused",
        agree=False,
        note="该县工业园有现成厂房，请对接。",
    )
    row = referral_row(rid)
    assert row.state == "sent" and row.return_refused
    assert (row.sign_by, row.report_by) == (sign_by, report_by)
    clock.advance(hours=1)
    error = refused(world, "county-a.officer", _return, ref(rid))
    assert "拒绝" in error.errors["reason"]
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")


def test_decide_return_only_on_a_requested_return(world, lead_id):
    rid = sent_to_a(world, lead_id)
    refused(world, "dept.head", referrals.decide_return, ref(rid), agree=True)


# ---- withdrawing -----------------------------------------------------------------------------


def test_sender_withdraws_before_acceptance_only(world, lead_id):
    first = sent_to_a(world, lead_id)
    refused(world, "county-a.officer", referrals.withdraw, ref(first), PermissionError)
    refused(world, "dept.admin", referrals.withdraw, ref(first), PermissionError)
    refused(world, "city.officer", referrals.withdraw, ref(first), PermissionError)
    ok(world, "dept.head", referrals.withdraw, ref(first), "referral_withdrawn", note="误推")
    refused(world, "dept.head", referrals.withdraw, ref(first))
    with wider_scope("cli"):  # the receiver is told why, not only that
        told = db.session.scalars(
            select(Notification.text).where(
                Notification.referral_id == first, Notification.kind == "withdrawn"
            )
        ).all()
    assert told and all(text.endswith("无需办理。撤回说明：误推") for text in told)
    second = send(world, "dept.officer", lead_id, "county_b")[0]
    ok(world, "county-b.officer", _return, ref(second), "referral_return_requested")
    ok(world, "dept.officer", referrals.withdraw, ref(second), "referral_withdrawn")
    third = send(world, "dept.officer", lead_id, "park_a")[0]
    ok(world, "park-a.officer", referrals.accept, ref(third), "referral_accepted")
    error = refused(world, "dept.officer", referrals.withdraw, ref(third))
    assert "已签收" in error.errors["state"]


# ---- transferring ----------------------------------------------------------------------------


def test_only_the_receivers_head_transfers_an_accepted_referral(world, lead_id):
    rid = sent_to_a(world, lead_id)
    to_b = {"to_tenant_id": str(world.tenants["county_b"]), "note": "乙县更适合"}
    refused(world, "county-a.head", referrals.transfer, ref(rid), **to_b)  # not accepted yet
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    refused(world, "county-a.officer", referrals.transfer, ref(rid), **to_b)
    refused(world, "county-a.admin", referrals.transfer, ref(rid), PermissionError, **to_b)
    refused(world, "dept.head", referrals.transfer, ref(rid), PermissionError, **to_b)
    refused(world, "city.head", referrals.transfer, ref(rid), PermissionError, **to_b)


TRANSFER_INVALID = "转交单位无效（不能转交给本单位、线索所属单位或已停用的单位）。"


@pytest.mark.parametrize(
    "target_key, note, field, message",
    [
        ("dept", "退给原单位", "to_tenant_ids", TRANSFER_INVALID),  # the lead's owner
        ("county_a", "转给自己", "to_tenant_ids", TRANSFER_INVALID),
        ("office", "考核办", "to_tenant_ids", TRANSFER_INVALID),
        (None, "没选单位", "to_tenant_ids", "请选择转交给哪个单位。"),
        ("county_b", "", "note", "请填写转交说明（落地条件、推荐理由）。"),
        (
            "park_a",
            "甲县工业园已在办",
            "to_tenant_ids",
            "甲县工业园已在办理该线索，不能再转交给该单位。",
        ),
    ],
)
def test_a_refused_transfer_changes_nothing_and_speaks_of_transferring(
    world, lead_id, target_key, note, field, message
):
    """The transfer form's refusals name what it asks for (转交给, 转交说明), not the send
    form's 接收单位 and 推送说明."""
    rid = accepted_by_a(world, lead_id)
    send(world, "dept.officer", lead_id, "park_a")  # the park is working the lead already
    error = refused(
        world,
        "county-a.head",
        referrals.transfer,
        ref(rid),
        to_tenant_id=str(world.tenants[target_key]) if target_key else "",
        note=note,
    )
    assert error.errors[field] == message
    assert referral_row(rid).state == "accepted"


def test_transfer_choices_leave_out_sender_and_owner_and_busy_units_are_known(world, lead_id):
    rid = accepted_by_a(world, lead_id)
    send(world, "dept.officer", lead_id, "park_a")
    with acting(world, "county-a.head") as actor:
        referral = db.session.get(Referral, rid)
        choices = {t.id for t in referrals.transfer_choices(db.session, actor, referral)}
        busy = referrals.busy_receiver_ids(db.session, lead_id)
    tenants = world.tenants
    assert tenants["dept"] not in choices and tenants["county_a"] not in choices
    assert {tenants["county_b"], tenants["park_a"]} <= choices
    # The park is busy although county_a cannot see the park's referral itself.
    assert busy == {tenants["county_a"], tenants["park_a"]}


def test_transfer_creates_a_child_and_the_transferring_tenant_sees_the_chain(world, lead_id):
    rid = accepted_by_a(world, lead_id)
    sibling = send(world, "dept.officer", lead_id, "park_a")[0]
    with acting(world, "county-a.officer"):
        assert db.session.get(Referral, sibling) is None  # a receiver sees no sibling
    child = ok(
        world,
        "county-a.head",
        referrals.transfer,
        ref(rid),
        "referral_transferred",
        to_tenant_id=str(world.tenants["county_b"]),
        note="乙县有配套产业园，更适合。",
    )
    parent = referral_row(rid)
    assert parent.state == "transferred" and parent.closed_at is not None
    child_row = referral_row(child)
    assert child_row.parent_id == rid and child_row.state == "sent"
    assert child_row.from_tenant_id == world.tenants["county_a"]
    assert child_row.to_tenant_id == world.tenants["county_b"]
    with acting(world, "county-a.officer"):
        seen = set(db.session.scalars(select(Referral.id)))
    assert seen == {rid, child, sibling}  # the transferring tenant is now a referrer
    with acting(world, "dept.officer"):
        assert db.session.get(Referral, child) is not None
    with acting(world, "county-b.officer"):
        assert set(db.session.scalars(select(Referral.id))) == {child}
    # The third tenant acts on the child as a normal receiver; county_a decides its return.
    ok(world, "county-b.officer", _return, ref(child), "referral_return_requested")
    refused(world, "dept.head", referrals.decide_return, ref(child), PermissionError, agree=True)
    ok(
        world,
        "county-a.officer",
        referrals.decide_return,
        ref(child),
        "referral_returned",
        agree=True,
    )


# ---- feedback --------------------------------------------------------------------------------


def test_feedback_first_reports_then_adds_progress(world, lead_id, clock):
    rid = accepted_by_a(world, lead_id)
    clock.advance(days=1)
    ok(world, "county-a.officer", _feedback, ref(rid), "referral_feedback")
    row = referral_row(rid)
    assert row.state == "reported" and row.first_report_at == clock.now
    first_report = row.first_report_at
    assert lead_row(lead_id).stage == "talking"
    clock.advance(days=14)
    ok(world, "county-a.head", _feedback, ref(rid), "referral_feedback", contacted_on="2026-03-16")
    row = referral_row(rid)
    assert row.state == "reported" and row.first_report_at == first_report
    assert row.last_feedback_at == clock.now


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"contacted_on": "2026-03-04"}, "contacted_on"),  # tomorrow (today is 3 March)
        ({"contacted_on": "2026-03-01"}, "contacted_on"),  # before the referral was sent
        ({"contacted_on": "3/3/2026"}, "contacted_on"),
        ({"method": "telepathy"}, "method"),
        ({"summary": ""}, "summary"),
        ({"intention": ""}, "intention"),
        ({"stage_after": "signed"}, "stage_after"),  # landing is its own action
    ],
)
def test_bad_feedback_is_refused(world, lead_id, clock, overrides, field):
    rid = accepted_by_a(world, lead_id)
    clock.advance(days=1)
    error = refused(world, "county-a.officer", _feedback, ref(rid), **overrides)
    assert field in error.errors


def test_feedback_only_by_the_receiver_on_a_referral_in_hand(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    clock.advance(days=1)
    refused(world, "county-a.officer", _feedback, ref(rid))  # not accepted yet
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    refused(world, "dept.officer", _feedback, ref(rid), PermissionError)
    refused(world, "county-a.admin", _feedback, ref(rid), PermissionError)
    ok(
        world,
        "county-a.officer",
        referrals.close_not_landed,
        ref(rid),
        "referral_not_landed",
        reason="elsewhere",
        note="企业最终落户外省。",
    )
    refused(world, "county-a.officer", _feedback, ref(rid))


# ---- extensions ------------------------------------------------------------------------------


def _extension_id(referral_id, state="pending"):
    with wider_scope("cli"):
        return db.session.scalars(
            select(ExtensionRequest.id).where(
                ExtensionRequest.referral_id == referral_id, ExtensionRequest.state == state
            )
        ).one()


def test_extension_first_by_the_senders_head_second_by_a_city_head(world, lead_id, clock):
    rid = accepted_by_a(world, lead_id)
    report_by = referral_row(rid).report_by  # end of Monday 9 March
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-13")
    refused(world, "county-a.officer", _extend, ref(rid), new_date="2026-03-20")  # one pending
    first = _extension_id(rid)
    for login in ("dept.officer", "city.head", "county-a.head", "office.assessor", "dept.admin"):
        refused(world, login, _decide, (ExtensionRequest, first), PermissionError, approve=True)
    ok(world, "dept.head", _decide, (ExtensionRequest, first), "extension_approved", approve=True)
    row = referral_row(rid)
    assert row.report_by == end_of_local_day(date(2026, 3, 13)) != report_by
    assert row.extensions_granted == 1
    refused(world, "dept.head", _decide, (ExtensionRequest, first), approve=False, note="改主意")
    clock.set(shanghai(2026, 3, 13, 12))
    ok(world, "county-a.head", _extend, ref(rid), "extension_requested", new_date="2026-03-20")
    second = _extension_id(rid)
    refused(world, "dept.head", _decide, (ExtensionRequest, second), PermissionError, approve=True)
    refused(
        world, "city.officer", _decide, (ExtensionRequest, second), PermissionError, approve=True
    )
    refused(world, "city.head", _decide, (ExtensionRequest, second), approve=False, note="")
    ok(
        world,
        "city.head",
        _decide,
        (ExtensionRequest, second),
        "extension_refused",
        approve=False,
        note="已延期一次，请按期反馈。",
    )
    row = referral_row(rid)
    assert row.report_by == end_of_local_day(date(2026, 3, 13))
    assert row.extensions_granted == 1


def test_extension_of_the_signing_deadline(world, lead_id):
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-05")
    ok(
        world,
        "dept.head",
        _decide,
        (ExtensionRequest, _extension_id(rid)),
        "extension_approved",
        approve=True,
        note="同意",
    )
    row = referral_row(rid)
    assert row.sign_by == end_of_local_day(date(2026, 3, 5))
    assert row.report_by == shanghai(2026, 3, 10)  # still later than the new sign deadline


def test_extension_must_be_asked_before_the_deadline(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    clock.set(shanghai(2026, 3, 4, 0, 0, 1))
    error = refused(world, "county-a.officer", _extend, ref(rid), new_date="2026-03-06")
    assert "超过时限" in error.errors["new_date"]


@pytest.mark.parametrize(
    "new_date, reason",
    [
        ("2026-03-03", "理由"),
        ("2026-02-28", "理由"),
        ("2026-09-01", "理由"),
        ("x", "理由"),
        ("2026-03-06", ""),
    ],
)
def test_bad_extension_requests(world, lead_id, new_date, reason):
    rid = sent_to_a(world, lead_id)
    refused(world, "county-a.officer", _extend, ref(rid), new_date=new_date, reason=reason)


def test_extension_only_by_the_receiver_with_a_deadline_open(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    for login in ("dept.officer", "county-a.admin", "county-b.head", "city.assessor"):
        refused(world, login, _extend, ref(rid), PermissionError, new_date="2026-03-06")
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    ok(
        world,
        "county-a.officer",
        _feedback,
        ref(rid),
        "referral_feedback",
        contacted_on="2026-03-02",
    )
    refused(world, "county-a.officer", _extend, ref(rid), new_date="2026-03-20")


def _extension(extension_id) -> ExtensionRequest:
    return fresh_row(ExtensionRequest, extension_id)


def _last_timeline_line(referral_id) -> str:
    with wider_scope("cli"):
        return db.session.scalars(
            select(LeadEvent.summary)
            .where(LeadEvent.referral_id == referral_id)
            .order_by(LeadEvent.id.desc())
        ).first()


def _last_audit_after() -> str:
    from portal.audit.models import AuditEvent

    with wider_scope("cli"):
        return db.session.scalars(select(AuditEvent.after).order_by(AuditEvent.id.desc())).first()


def test_signing_voids_a_pending_sign_extension_which_can_then_not_be_approved(world, lead_id):
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-05")
    ext = _extension_id(rid)
    # Signing is one action: one audit event, one timeline line, both telling of the request.
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    row = _extension(ext)
    assert row.state == "void" and row.decided_by_id is None
    assert row.decision_note == "接收单位已签收，无需再延长签收时限。"
    assert _last_timeline_line(rid) == "签收（待审批的签收时限延期申请随之失效）"
    assert f'"extension_voided":{ext}' in _last_audit_after()
    before = referral_row(rid)
    error = refused(world, "dept.head", _decide, (ExtensionRequest, ext), approve=True)
    assert error.errors == {"state": "该延期申请已失效：接收单位已签收，无需再延长签收时限。"}
    after = referral_row(rid)
    assert (after.report_by, after.extensions_granted) == (before.report_by, 0)
    # The report deadline may now be extended; the void request never made this a second one,
    # so the sender's head decides it.
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-13")
    report_ext = _extension_id(rid)
    assert _extension(report_ext).ordinal == 1
    ok(
        world,
        "dept.head",
        _decide,
        (ExtensionRequest, report_ext),
        "extension_approved",
        approve=True,
    )
    assert referral_row(rid).report_by == end_of_local_day(date(2026, 3, 13))


def _moves(world):
    """The moves past a deadline other than signing, by name."""
    to_b = str(world.tenants["county_b"])
    return {
        "withdraw": referrals.withdraw,
        "grant_return": lambda s, a, r: referrals.decide_return(s, a, r, agree=True),
        "first_report": lambda s, a, r: _feedback(s, a, r, contacted_on="2026-03-02"),
        "not_landed": lambda s, a, r: referrals.close_not_landed(
            s, a, r, reason="elsewhere", note="企业已落户外省。"
        ),
        "transfer": lambda s, a, r: referrals.transfer(s, a, r, to_tenant_id=to_b, note="乙县。"),
    }


@pytest.mark.parametrize(
    "deadline, login, move, audit_action, why",
    [
        (
            "sign",
            "dept.head",
            "withdraw",
            "referral_withdrawn",
            "推送已办结（已撤回），无需再延期。",
        ),
        (
            "sign",
            "dept.head",
            "grant_return",
            "referral_returned",
            "推送已办结（已退回），无需再延期。",
        ),
        (
            "report",
            "county-a.officer",
            "first_report",
            "referral_feedback",
            "接收单位已首次反馈，无需再延长首次反馈时限。",
        ),
        (
            "report",
            "county-a.head",
            "not_landed",
            "referral_not_landed",
            "推送已办结（未落地），无需再延期。",
        ),
        (
            "report",
            "county-a.head",
            "transfer",
            "referral_transferred",
            "推送已办结（已转交），无需再延期。",
        ),
    ],
)
def test_every_move_past_a_deadline_voids_its_pending_extension(
    world, lead_id, deadline, login, move, audit_action, why
):
    rid = sent_to_a(world, lead_id) if deadline == "sign" else accepted_by_a(world, lead_id)
    if move == "grant_return":
        ok(world, "county-a.officer", _return, ref(rid), "referral_return_requested")
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-12")
    ext = _extension_id(rid)
    ok(world, login, _moves(world)[move], ref(rid), audit_action)
    row = _extension(ext)
    assert (row.state, row.decision_note) == ("void", why)
    assert f'"extension_voided":{ext}' in _last_audit_after()
    error = refused(world, "dept.head", _decide, (ExtensionRequest, ext), approve=True)
    assert error.errors == {"state": f"该延期申请已失效：{why}"}


def _refuse_return(world, rid) -> None:
    """The sender refuses county-a's return request: back to 待签收."""
    ok(
        world,
        "dept.officer",
        referrals.decide_return,
        ref(rid),
        "referral_return_refused",
        agree=False,
        note="请签收办理。",
    )


def test_a_return_refused_keeps_the_sign_extension_pending(world, lead_id):
    """Back to 待签收 after a refused return: the signing deadline still runs, so its pending
    extension still applies."""
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", _return, ref(rid), "referral_return_requested")
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-05")
    _refuse_return(world, rid)
    ext = _extension_id(rid)
    ok(world, "dept.head", _decide, (ExtensionRequest, ext), "extension_approved", approve=True)
    assert referral_row(rid).sign_by == end_of_local_day(date(2026, 3, 5))


def test_a_pending_request_whose_deadline_already_ended_is_refused_and_nothing_changes(
    world, lead_id
):
    """A request left pending by an older version (or any path that moved the referral past
    its deadline without voiding it): deciding it says why and changes nothing."""
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-05")
    ext = _extension_id(rid)
    with wider_scope("cli"):
        db.session.execute(
            update(Referral).where(Referral.id == rid).values(state="accepted", accepted_at=MONDAY)
        )
        db.session.commit()
    for approve, note in ((True, ""), (False, "")):
        error = refused(
            world, "dept.head", _decide, (ExtensionRequest, ext), approve=approve, note=note
        )
        assert error.errors == {
            "state": "该延期申请已不再适用：接收单位已签收，无需再延长签收时限。"
        }
    assert _extension(ext).state == "pending"


def test_deciding_a_decided_extension_says_who_decided_it_before_asking_for_a_note(world, lead_id):
    rid = accepted_by_a(world, lead_id)
    ok(world, "county-a.officer", _extend, ref(rid), "extension_requested", new_date="2026-03-13")
    ext = _extension_id(rid)
    ok(world, "dept.head", _decide, (ExtensionRequest, ext), "extension_approved", approve=True)
    row = _extension(ext)
    assert (row.requested_by_name, row.decided_by_name) == ("county-a.officer", "dept.head")
    # The same head on a page opened before: refusing without a note.
    error = refused(world, "dept.head", _decide, (ExtensionRequest, ext), approve=False, note="")
    assert error.errors == {
        "state": "该延期申请已由dept.head于 2026-03-02 10:00 审批（同意延期），无需再次审批。"
    }


def test_deciding_a_decided_return_says_who_decided_it_before_asking_for_a_note(world, lead_id):
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", _return, ref(rid), "referral_return_requested")
    _refuse_return(world, rid)
    error = refused(world, "dept.head", referrals.decide_return, ref(rid), agree=False, note="")
    assert error.errors == {
        "state": "该退回申请已由测试市商务局 dept.officer于 2026-03-02 10:00 审核（不同意退回），"
        "无需再次审核。"
    }
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    error = refused(world, "dept.head", referrals.decide_return, ref(rid), agree=True)
    assert "不同意退回" in error.errors["state"]


def test_deciding_the_return_of_a_withdrawn_referral_is_explained(world, lead_id):
    rid = sent_to_a(world, lead_id)
    ok(world, "county-a.officer", _return, ref(rid), "referral_return_requested")
    ok(world, "dept.officer", referrals.withdraw, ref(rid), "referral_withdrawn")
    error = refused(world, "dept.head", referrals.decide_return, ref(rid), agree=False, note="")
    assert error.errors == {"state": "该推送已撤回，退回申请无需再审核。"}


# ---- landing ---------------------------------------------------------------------------------


def test_landing_sets_the_host_and_signed_stage(world, lead_id, clock):
    rid = accepted_by_a(world, lead_id)
    clock.set(shanghai(2026, 3, 5, 9))
    ok(
        world,
        "county-a.officer",
        _land,
        ref(rid),
        "referral_landed",
        host_tenant_id=str(world.tenants["park_a"]),
    )
    lead = lead_row(lead_id)
    assert lead.host_tenant_id == world.tenants["park_a"]
    assert lead.stage == "signed" and lead.signed_on == date(2026, 3, 4)
    assert lead.signed_amount == 120000
    assert referral_row(rid).state == "landed"
    with acting(world, "park-a.officer"):  # the host sees the contact
        assert db.session.get(LeadContact, lead_id) is not None


def test_a_second_landing_of_the_same_lead_is_refused(world, lead_id, clock):
    first = accepted_by_a(world, lead_id)
    second = send(world, "dept.officer", lead_id, "county_b")[0]
    ok(world, "county-b.officer", referrals.accept, ref(second), "referral_accepted")
    clock.advance(days=3)
    ok(world, "county-a.officer", _land, ref(first), "referral_landed")
    error = refused(world, "county-b.officer", _land, ref(second))
    assert "落地" in error.errors["state"]
    assert referral_row(second).state == "accepted"
    assert lead_row(lead_id).host_tenant_id == world.tenants["county_a"]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"host_tenant_id": "county_b"}, "host_tenant_id"),  # not the receiver's area
        ({"host_tenant_id": "999999"}, "host_tenant_id"),
        ({"signed_on": "2026-03-06"}, "signed_on"),  # after today
        ({"signed_on": ""}, "signed_on"),
        ({"signed_amount": "0"}, "signed_amount"),
        ({"signed_amount": "-5"}, "signed_amount"),
        ({"signed_amount": "abc"}, "signed_amount"),
    ],
)
def test_bad_landings_are_refused(world, lead_id, clock, overrides, field):
    rid = accepted_by_a(world, lead_id)
    clock.set(shanghai(2026, 3, 5, 9))
    if overrides.get("host_tenant_id") == "county_b":
        overrides = {"host_tenant_id": str(world.tenants["county_b"])}
    error = refused(world, "county-a.officer", _land, ref(rid), **overrides)
    assert field in error.errors


def test_landing_and_not_landing_need_an_accepted_referral_and_the_receiver(world, lead_id):
    rid = sent_to_a(world, lead_id)
    refused(world, "county-a.officer", _land, ref(rid), signed_on="2026-03-02")
    refused(
        world, "county-a.officer", referrals.close_not_landed, ref(rid), reason="other", note="x"
    )
    ok(world, "county-a.officer", referrals.accept, ref(rid), "referral_accepted")
    refused(world, "dept.officer", _land, ref(rid), PermissionError, signed_on="2026-03-02")
    refused(
        world,
        "city.head",
        referrals.close_not_landed,
        ref(rid),
        PermissionError,
        reason="other",
        note="x",
    )
    refused(world, "county-a.officer", referrals.close_not_landed, ref(rid), reason="", note="x")
    refused(
        world, "county-a.officer", referrals.close_not_landed, ref(rid), reason="other", note=""
    )
    ok(
        world,
        "county-a.officer",
        referrals.close_not_landed,
        ref(rid),
        "referral_not_landed",
        reason="conditions",
        note="用地指标不足。",
    )
    refused(world, "county-a.officer", _land, ref(rid), signed_on="2026-03-02")
    assert lead_row(lead_id).host_tenant_id is None


# ---- lifecycle after landing -----------------------------------------------------------------


def _stage(session, actor, lead, **kwargs):
    return leads.record_stage(session, actor, lead, **kwargs)


def test_lifecycle_stages_in_order_with_dates_never_earlier(world, lead_id, clock):
    rid = accepted_by_a(world, lead_id)
    ok(world, "county-a.officer", _land, ref(rid), "referral_landed", signed_on="2026-03-02")
    clock.set(shanghai(2026, 6, 30, 10))
    target = (Lead, lead_id)
    refused(
        world,
        "dept.officer",
        _stage,
        target,
        PermissionError,
        stage="registered",
        on_date="2026-03-10",
    )  # only the host records stages
    refused(world, "county-a.officer", _stage, target, stage="registered", on_date="2026-03-01")
    refused(world, "county-a.officer", _stage, target, stage="registered", on_date="2026-07-01")
    refused(world, "county-a.officer", _stage, target, stage="signed", on_date="2026-03-10")
    ok(
        world,
        "county-a.officer",
        _stage,
        target,
        "lead_stage_recorded",
        stage="registered",
        on_date="2026-03-10",
    )
    refused(world, "county-a.officer", _stage, target, stage="started", on_date="2026-03-09")
    refused(world, "county-a.officer", _stage, target, stage="registered", on_date="2026-04-01")
    ok(
        world,
        "county-a.officer",
        _stage,
        target,
        "lead_stage_recorded",
        stage="started",
        on_date="2026-03-10",
    )  # the same day as the previous stage is fine
    ok(
        world,
        "county-a.head",
        _stage,
        target,
        "lead_stage_recorded",
        stage="full",
        on_date="2026-06-01",
    )  # stages may be skipped, never reversed
    refused(world, "county-a.officer", _stage, target, stage="producing", on_date="2026-06-02")
    refused(
        world,
        "county-a.officer",
        _stage,
        target,
        stage="terminated",
        on_date="2026-06-02",
        reason="",
    )
    ok(
        world,
        "county-a.officer",
        _stage,
        target,
        "lead_stage_recorded",
        stage="terminated",
        on_date="2026-06-02",
        reason="business",
    )
    refused(world, "county-a.officer", _stage, target, stage="in_stats", on_date="2026-06-03")
    assert lead_row(lead_id).stage == "terminated"


# ---- urging ----------------------------------------------------------------------------------


def test_urge_only_an_overdue_referral_once_a_day(world, lead_id, clock):
    rid = sent_to_a(world, lead_id)
    refused(world, "dept.officer", referrals.urge, ref(rid))  # not overdue yet
    clock.set(shanghai(2026, 3, 4, 9))
    refused(world, "county-b.officer", referrals.urge, ref(rid), PermissionError)
    refused(world, "county-a.officer", referrals.urge, ref(rid), PermissionError)
    refused(world, "dept.admin", referrals.urge, ref(rid), PermissionError)
    ok(world, "dept.officer", referrals.urge, ref(rid), "referral_urged", note="请尽快签收")
    clock.set(shanghai(2026, 3, 4, 23, 59))
    refused(world, "dept.head", referrals.urge, ref(rid))
    clock.set(shanghai(2026, 3, 5, 0, 1))
    ok(world, "city.officer", referrals.urge, ref(rid), "referral_urged")


def test_progress_is_expected_every_two_weeks_after_the_first_report(world, lead_id, clock):
    rid = accepted_by_a(world, lead_id)
    clock.set(shanghai(2026, 3, 3, 10))
    ok(world, "county-a.officer", _feedback, ref(rid), "referral_feedback")
    # Due at 24:00 on 17 March, a fortnight after the feedback's day; a fortnight, not ten
    # working days.
    assert referrals.progress_due(referral_row(rid)) == shanghai(2026, 3, 18)
    clock.set(shanghai(2026, 3, 17, 23, 59))
    assert referrals.progress_late_days(referral_row(rid), clock.now) == 0
    refused(world, "dept.officer", referrals.urge, ref(rid))
    clock.set(shanghai(2026, 3, 20, 9))
    late = referrals.timeliness(referral_row(rid), clock.now, WorkCalendar())
    assert late.progress_late_days == 3 and late.progress_label == "进展更新已逾期 3 天"
    assert late.overdue_now is None and late.on_time  # the hard deadlines were met
    refused(world, "county-a.officer", referrals.urge, ref(rid), PermissionError)
    ok(world, "dept.officer", referrals.urge, ref(rid), "referral_urged")
    # A new progress entry starts the next fortnight.
    ok(
        world,
        "county-a.officer",
        _feedback,
        ref(rid),
        "referral_feedback",
        contacted_on="2026-03-19",
    )
    assert referrals.progress_late_days(referral_row(rid), clock.now) == 0
    assert referrals.progress_due(referral_row(rid)) == shanghai(2026, 4, 4)
    clock.set(shanghai(2026, 4, 10, 9))
    assert referrals.progress_late_days(referral_row(rid), clock.now) == 7  # due day 3 April
    ok(world, "county-a.officer", _land, ref(rid), "referral_landed", signed_on="2026-04-09")
    assert referrals.progress_due(referral_row(rid)) is None  # closed: nothing more expected
    assert referrals.progress_late_days(referral_row(rid), clock.now) == 0


# ---- the overdue tab: two index ranges merged equal the single condition ----------------------


def test_overdue_tab_counts_and_orders_like_the_overdue_condition(world, clock, monkeypatch):
    """The inbox reads "overdue" as two streams (late to sign, late with the first report),
    merged by deadline; count and every page must equal one query on overdue_condition ordered
    by the deadline being missed."""
    from portal.referrals import queries
    from portal.workdays.service import load_calendar

    monkeypatch.setattr(queries, "PER_PAGE", 3)
    lead_ids = [post_lead(world, "dept.officer", title=f"逾期排序{i}") for i in range(8)]
    sent = []
    for i, lid in enumerate(lead_ids):
        clock.advance(hours=7 * i)  # spread the deadlines over several days
        sent += send(world, "dept.officer", lid, "county_a")
    for rid in sent[::2]:  # half signed: they owe the first report
        with acting(world, "county-a.officer") as actor:
            referrals.accept(db.session, actor, db.session.get(Referral, rid))
            db.session.commit()
    with acting(world, "county-a.officer") as actor:  # one signed and reported: not overdue
        referrals.add_feedback(db.session, actor, db.session.get(Referral, sent[0]), FEEDBACK)
        db.session.commit()
    county = world.tenants["county_a"]
    for days in (1, 3, 6, 9, 14):
        clock.advance(days=days)
        now = referrals.utcnow()
        with acting(world, "county-a.officer"):
            expected = list(
                db.session.scalars(
                    select(Referral.id)
                    .where(Referral.to_tenant_id == county, referrals.overdue_condition(now))
                    .order_by(queries._current_deadline(), Referral.id)
                )
            )
            total = queries.overdue_count(db.session, now, to_id=county)
            assert total == len(expected)
            shown = []
            calendar = load_calendar(db.session)
            for number in range(1, len(expected) // 3 + 2):
                page = queries.inbox_page(
                    db.session, county, "overdue", number, total, now, calendar
                )
                shown += [row.referral.id for row in page.items if row.referral.id not in shown]
            assert shown == expected, f"after {days} more days"
    assert len(expected) == 7  # every one but the reported one is late by the end
