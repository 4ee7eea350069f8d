"""The referral pages (推送办理) through HTTP: inbox tabs, the sender's list, the city board, one
referral's actions, refusals, stale actions and other tenants."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from portal.audit.models import AuditEvent
from portal.database import utcnow
from portal.extensions import db
from portal.leads.models import Lead
from portal.notifications.models import Notification
from portal.referrals import service
from portal.referrals.models import ExtensionRequest, Referral
from portal.workdays.calendar import local_date
from tenants.scoping import wider_scope
from tests.conftest import page_token, signed_in_client
from tests.referral_helpers import acting, post_lead

NOTE = "企业需 300 亩工业用地，贵县园区条件相符。"


def send(app, world, sender="city.officer", to="county_a", **kwargs) -> int:
    with app.app_context():
        lead_id = post_lead(world, sender)
        with acting(world, sender) as actor:
            lead = db.session.get(Lead, lead_id)
            [referral] = service.send_lead(
                db.session, actor, lead, to_tenant_ids=[world.tenants[to]], note=NOTE, **kwargs
            )
            db.session.commit()
            return referral.id


def act(app, world, login, fn, referral_id, **kwargs):
    with app.app_context(), acting(world, login) as actor:
        referral = db.session.get(Referral, referral_id)
        fn(db.session, actor, referral, **kwargs)
        db.session.commit()


def referral(app, referral_id) -> Referral:
    with app.app_context(), wider_scope("cli"):
        row = db.session.get(Referral, referral_id)
        db.session.expunge(row)
        return row


def move_deadlines_into_past(app, referral_id, days=3):
    with app.app_context(), wider_scope("cli"):
        past = utcnow() - timedelta(days=days)
        db.session.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(sign_by=past, report_by=past + timedelta(seconds=1))
        )
        db.session.commit()


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, url, data=None, **kwargs):
    payload = {"csrf_token": page_token(client, "/referrals/sent")}
    payload.update(data or {})
    return client.post(url, data=payload, **kwargs)


def url(referral_id, action=""):
    return f"/referrals/{referral_id}" + (f"/{action}" if action else "")


def tab_count(html, tab) -> int:
    match = re.search(
        rf'data-testid="tab-{tab}"[^>]*>[^<]*<span class="tab-count">(\d+)</span>', html
    )
    assert match, f"no {tab} tab"
    return int(match.group(1))


FEEDBACK = {
    "method": "visit",
    "summary": "带队赴深圳拜访企业，企业计划下月来考察。",
    "intention": "strong",
    "next_step": "安排企业来实地考察园区。",
    "stage_after": "talking",
}


def feedback_form():
    return {**FEEDBACK, "contacted_on": local_date(utcnow()).isoformat()}


# ---- the inbox -------------------------------------------------------------------------------


def test_receiver_sees_a_new_referral_in_pending_signs_it_and_it_moves_to_handling(app, http_world):
    rid = send(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    html = text(client.get("/referrals"))
    assert "年产 10GWh 储能电池项目" in html and "测试市投资促进局" in html
    assert tab_count(html, "pending") == 1 and tab_count(html, "handling") == 0
    assert "按时" in html

    response = post(client, url(rid, "accept"))
    assert response.status_code == 302 and response.headers["Location"].endswith(url(rid))
    page = text(client.get(url(rid)))
    assert "已签收，请在反馈时限内报告对接情况。" in page
    assert referral(app, rid).state == "accepted"

    html = text(client.get("/referrals?tab=handling"))
    assert tab_count(html, "pending") == 0 and tab_count(html, "handling") == 1
    assert "年产 10GWh 储能电池项目" in html
    assert "储能电池" not in text(client.get("/referrals?tab=pending")).split("<tbody>")[1]


def test_tab_switch_by_htmx_gets_the_fragment_and_a_full_load_the_page(app, http_world):
    send(app, http_world)
    client = signed_in_client(app, "county-a.officer")
    fragment = client.get(
        "/referrals?tab=pending", headers={"HX-Request": "true", "HX-Target": "referral-results"}
    )
    assert "<html" not in text(fragment) and "储能电池" in text(fragment)
    assert 'hx-push-url="true"' in text(fragment)
    boosted = client.get(
        "/referrals?tab=pending", headers={"HX-Request": "true", "HX-Boosted": "1"}
    )
    assert "<html" in text(boosted)


def test_city_admin_is_sent_to_the_board_and_other_tenants_are_not_admitted(app, http_world):
    rid = send(app, http_world)
    admin = signed_in_client(app, "city.admin")
    response = admin.get("/referrals")
    assert response.status_code == 302 and response.headers["Location"].endswith("/referrals/all")
    board = text(admin.get("/referrals/all"))
    assert "全市推送总览" in board and "储能电池" in board and "甲县" in board
    assert re.search(r'data-testid="count-sent">1<', board)
    assessor = signed_in_client(app, "office.assessor")
    assert "储能电池" in text(assessor.get(f"/referrals/all?to={http_world.tenants['county_a']}"))
    assert (
        "储能电池"
        not in text(assessor.get(f"/referrals/all?to={http_world.tenants['county_b']}")).split(
            "<tbody>"
        )[1]
    )
    assert assessor.get(url(rid)).status_code == 200
    assert signed_in_client(app, "county-a.officer").get("/referrals/all").status_code == 403


# ---- return ----------------------------------------------------------------------------------


def test_return_request_and_the_senders_refusal_then_no_second_return(app, http_world):
    rid = send(app, http_world)
    receiver = signed_in_client(app, "county-a.officer")
    assert "申请退回" in text(receiver.get(url(rid)))

    bad = post(receiver, url(rid, "return"), {"reason": "", "text": ""})
    assert bad.status_code == 422
    assert "请选择退回原因。" in text(bad) and "请填写退回说明。" in text(bad)
    assert referral(app, rid).state == "sent"

    ok = post(receiver, url(rid, "return"), {"reason": "land", "text": "园区无剩余用地指标。"})
    assert ok.status_code == 302 and referral(app, rid).state == "return_requested"

    sender = signed_in_client(app, "city.officer")
    page = text(sender.get(url(rid)))
    assert "退回申请待审核" in page and "园区无剩余用地指标。" in page
    refused = post(sender, url(rid, "return/decide"), {"agree": "0", "note": ""})
    assert refused.status_code == 422 and "请填写审核意见。" in text(refused)
    assert referral(app, rid).state == "return_requested"
    # Neither button (a forged or truncated form): nothing is decided, rather than 不同意.
    for choice in ({}, {"agree": "yes"}):
        undecided = post(sender, url(rid, "return/decide"), {**choice, "note": "意见"})
        assert undecided.status_code == 422 and "请选择同意退回或不同意退回。" in text(undecided)
        assert referral(app, rid).state == "return_requested"
    post(sender, url(rid, "return/decide"), {"agree": "0", "note": "请先与企业对接后再定。"})
    row = referral(app, rid)
    assert row.state == "sent" and row.return_refused
    # Another officer of the sender, on the page opened while the request waited, refuses
    # without a note: told it was decided, and by whom, not asked for the note.
    stale = post(
        signed_in_client(app, "city.head"), url(rid, "return/decide"), {"agree": "0", "note": ""}
    )
    assert stale.status_code == 422
    assert re.search(
        r"该退回申请已由测试市投资促进局 city\.officer于 [-\d]{10} [:\d]{5} 审核（不同意退回），"
        "无需再次审核。",
        text(stale),
    )
    assert "请填写审核意见。" not in text(stale)

    page = text(receiver.get(url(rid)))
    assert "不同意退回" in page and f'action="/referrals/{rid}/return"' not in page
    again = post(receiver, url(rid, "return"), {"reason": "land", "text": "仍无用地。"})
    assert again.status_code == 422
    assert "退回申请已被拒绝过一次，不能再次申请；请签收办理。" in text(again)


def test_sender_agrees_to_the_return(app, http_world):
    rid = send(app, http_world)
    act(
        app,
        http_world,
        "county-a.officer",
        service.request_return,
        rid,
        reason="not_fit",
        text="非本县主导产业。",
    )
    sender = signed_in_client(app, "city.head")
    response = post(sender, url(rid, "return/decide"), {"agree": "1", "note": ""})
    assert response.status_code == 302
    assert referral(app, rid).state == "returned"
    assert "已同意退回。" in text(sender.get(url(rid)))


# ---- withdraw and stale actions ----------------------------------------------------------------


def test_withdraw_and_the_receivers_stale_signing_is_explained(app, http_world):
    rid = send(app, http_world)
    receiver = signed_in_client(app, "county-a.officer")
    page = text(receiver.get(url(rid)))  # the receiver opens the page: 签收 is offered
    assert "签收</button>" in page
    sender = signed_in_client(app, "city.officer")
    assert "data-confirm=" in text(sender.get(url(rid)))
    assert post(sender, url(rid, "withdraw")).status_code == 302
    assert referral(app, rid).state == "withdrawn"

    late = post(receiver, url(rid, "accept"), follow_redirects=True)
    assert late.status_code == 200
    assert "操作未完成：该推送当前为“已撤回”状态（最近一次办理：" in text(late)
    assert "测试市投资促进局 city.officer 撤回推送），请刷新后查看。" in text(late)
    assert referral(app, rid).state == "withdrawn"
    assert "该推送已办结，无需办理。" in text(late)


def test_a_stale_field_form_gets_the_reason_and_422(app, http_world):
    rid = send(app, http_world)
    act(app, http_world, "county-a.officer", service.accept, rid)
    act(
        app,
        http_world,
        "county-a.head",
        service.close_not_landed,
        rid,
        reason="elsewhere",
        note="企业已落户外省。",
    )
    officer = signed_in_client(app, "county-a.officer")
    response = post(officer, url(rid, "feedback"), feedback_form())
    assert response.status_code == 422
    assert "操作未完成：该推送当前为“未落地”状态" in text(response)
    assert referral(app, rid).state == "not_landed"
    htmx = post(
        officer,
        url(rid, "land"),
        {"signed_on": "2026-01-05", "signed_amount": "100"},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 422 and "xqb:toast" in htmx.headers["HX-Trigger"]


# ---- feedback ----------------------------------------------------------------------------------


def test_feedback_moves_to_reported_and_the_sender_reads_it(app, http_world):
    rid = send(app, http_world)
    act(app, http_world, "county-a.officer", service.accept, rid)
    officer = signed_in_client(app, "county-a.officer")

    bad = post(officer, url(rid, "feedback"), {**feedback_form(), "summary": "", "method": "fax"})
    assert bad.status_code == 422
    assert "请填写对接情况。" in text(bad) and "请选择对接方式。" in text(bad)
    assert referral(app, rid).state == "accepted"

    ok = post(officer, url(rid, "feedback"), feedback_form())
    assert ok.status_code == 302
    assert referral(app, rid).state == "reported"

    sender = signed_in_client(app, "city.officer")
    page = text(sender.get(url(rid)))
    assert "带队赴深圳拜访企业" in page and "上门拜访" in page and "意向强烈" in page
    assert 'data-testid="referral-state">已反馈<' in page
    sent = text(sender.get("/referrals/sent?state=reported"))
    assert "储能电池" in sent and "已反馈" in sent


# ---- extensions --------------------------------------------------------------------------------


def _due(app, rid):
    row = referral(app, rid)
    return local_date(row.sign_by - timedelta(microseconds=1))


def test_extension_first_by_the_senders_head_second_by_a_city_head(app, http_world):
    rid = send(app, http_world, sender="dept.officer")
    receiver = signed_in_client(app, "county-a.officer")
    bad = post(receiver, url(rid, "extension"), {"new_date": "", "reason": ""})
    assert bad.status_code == 422
    assert "请填写正确的日期（年-月-日）。" in text(bad) and "请填写延期理由。" in text(bad)

    new_date = (_due(app, rid) + timedelta(days=5)).isoformat()
    ok = post(receiver, url(rid, "extension"), {"new_date": new_date, "reason": "负责人出差。"})
    assert ok.status_code == 302
    first = text(receiver.get(url(rid)))
    assert "待审批" in first and "负责人出差。" in first

    officer = signed_in_client(app, "dept.officer")
    assert "同意延期</button>" not in text(officer.get(url(rid)))
    head = signed_in_client(app, "dept.head")
    assert "同意延期</button>" in text(head.get(url(rid)))
    with app.app_context(), wider_scope("cli"):
        ext_id = db.session.scalar(
            select(ExtensionRequest.id).where(ExtensionRequest.referral_id == rid)
        )
    approved = post(head, f"/referrals/extensions/{ext_id}/decide", {"approve": "1"})
    assert approved.status_code == 302
    assert _due(app, rid).isoformat() == new_date
    assert "已同意延期。" in text(head.get(url(rid)))

    later = (_due(app, rid) + timedelta(days=5)).isoformat()
    post(receiver, url(rid, "extension"), {"new_date": later, "reason": "企业推迟考察。"})
    with app.app_context(), wider_scope("cli"):
        second = db.session.scalar(
            select(ExtensionRequest.id).where(ExtensionRequest.state == "pending")
        )
    assert second is not None
    assert "同意延期</button>" not in text(head.get(url(rid)))
    assert post(head, f"/referrals/extensions/{second}/decide", {"approve": "1"}).status_code == 403
    city_head = signed_in_client(app, "city.head")
    refused = post(
        city_head, f"/referrals/extensions/{second}/decide", {"approve": "0", "note": ""}
    )
    assert refused.status_code == 422 and "请填写审批意见。" in text(refused)
    post(
        city_head,
        f"/referrals/extensions/{second}/decide",
        {"approve": "0", "note": "理由不充分。"},
    )
    assert _due(app, rid).isoformat() == new_date
    assert "理由不充分。" in text(receiver.get(url(rid)))


def _extension_section(page: str) -> str:
    return page.split('data-testid="extension-list"')[1].split("</section>")[0]


def _only_extension(app, rid) -> int:
    with app.app_context(), wider_scope("cli"):
        return db.session.scalars(
            select(ExtensionRequest.id)
            .where(ExtensionRequest.referral_id == rid)
            .order_by(ExtensionRequest.id.desc())
        ).first()


def test_both_sides_read_who_asked_and_who_decided(app, http_world):
    """Each side sees the other tenant's officer by name in the 延期申请 table, though that
    officer's user row is outside its scope."""
    rid = send(app, http_world, sender="dept.officer")
    receiver = signed_in_client(app, "county-a.officer")
    new_date = (_due(app, rid) + timedelta(days=3)).isoformat()
    post(receiver, url(rid, "extension"), {"new_date": new_date, "reason": "负责人出差。"})
    head = signed_in_client(app, "dept.head")
    assert "county-a.officer" in _extension_section(text(head.get(url(rid))))
    ext = _only_extension(app, rid)
    post(head, f"/referrals/extensions/{ext}/decide", {"approve": "1", "note": "同意。"})
    for client in (receiver, head, signed_in_client(app, "city.officer")):
        section = _extension_section(text(client.get(url(rid))))
        assert "county-a.officer" in section and "dept.head" in section and "已同意" in section


def test_signing_ends_a_pending_sign_extension_and_a_stale_approval_is_explained(app, http_world):
    rid = send(app, http_world, sender="dept.officer")
    receiver = signed_in_client(app, "county-a.officer")
    new_date = (_due(app, rid) + timedelta(days=3)).isoformat()
    post(receiver, url(rid, "extension"), {"new_date": new_date, "reason": "负责人出差。"})
    ext = _only_extension(app, rid)
    head = signed_in_client(app, "dept.head")
    assert "同意延期</button>" in text(head.get(url(rid)))  # the head opens the page now

    assert post(receiver, url(rid, "accept")).status_code == 302
    page = text(receiver.get(url(rid)))
    section = _extension_section(page)
    assert "已失效" in section and "接收单位已签收，无需再延长签收时限。" in section
    assert "待审批" not in section
    assert "签收（待审批的签收时限延期申请随之失效）" in page
    # The report deadline can now be extended.
    assert "提交延期申请</button>" in page and "当前首次反馈时限" in page

    report_by = referral(app, rid).report_by
    stale = post(head, f"/referrals/extensions/{ext}/decide", {"approve": "1"})
    assert stale.status_code == 422
    assert "该延期申请已失效：接收单位已签收，无需再延长签收时限。" in text(stale)
    row = referral(app, rid)
    assert (row.report_by, row.extensions_granted) == (report_by, 0)
    with app.app_context(), wider_scope("cli"):
        kinds = set(db.session.scalars(select(Notification.kind)))
    assert "extension_approved" not in kinds  # the receiver is not told of a phantom approval


def test_a_head_on_a_stale_page_is_told_the_extension_was_decided(app, http_world):
    rid = send(app, http_world, sender="dept.officer")
    act(app, http_world, "county-a.officer", service.accept, rid)
    receiver = signed_in_client(app, "county-a.officer")
    new_date = (local_date(referral(app, rid).report_by) + timedelta(days=5)).isoformat()
    post(receiver, url(rid, "extension"), {"new_date": new_date, "reason": "企业推迟考察。"})
    ext = _only_extension(app, rid)
    head = signed_in_client(app, "dept.head")
    post(head, f"/referrals/extensions/{ext}/decide", {"approve": "0", "note": "请按期反馈。"})
    again = post(head, f"/referrals/extensions/{ext}/decide", {"approve": "0", "note": ""})
    assert again.status_code == 422
    assert re.search(
        r"该延期申请已由dept\.head于 [-\d]{10} [:\d]{5} 审批（不同意延期），无需再次审批。",
        text(again),
    )
    assert "请填写审批意见。" not in text(again)


# ---- closing -----------------------------------------------------------------------------------


def test_landing_and_not_landing(app, http_world):
    landed = send(app, http_world)
    other = send(app, http_world)
    for rid in (landed, other):
        act(app, http_world, "county-a.officer", service.accept, rid)
    officer = signed_in_client(app, "county-a.officer")
    today = local_date(utcnow()).isoformat()

    bad = post(
        officer,
        url(landed, "land"),
        {"host_tenant_id": "", "signed_on": today, "signed_amount": "abc"},
    )
    assert bad.status_code == 422 and "请填写签约金额（万元，正整数）。" in text(bad)
    assert referral(app, landed).state == "accepted"

    park = http_world.tenants["park_a"]
    page = text(officer.get(url(landed)))
    assert "甲县工业园" in page.split('name="host_tenant_id"')[1].split("</select>")[0]
    ok = post(
        officer,
        url(landed, "land"),
        {"host_tenant_id": str(park), "signed_on": today, "signed_amount": "52000"},
    )
    assert ok.status_code == 302
    assert referral(app, landed).state == "landed"
    page = text(officer.get(url(landed)))
    assert "落地甲县工业园" in page and "52,000 万元" in page

    bad = post(officer, url(other, "not-landed"), {"reason": "", "note": ""})
    assert bad.status_code == 422 and "请选择未落地原因。" in text(bad)
    ok = post(
        officer, url(other, "not-landed"), {"reason": "elsewhere", "note": "企业已落户外省。"}
    )
    assert ok.status_code == 302 and referral(app, other).state == "not_landed"
    closed = text(officer.get("/referrals?tab=closed"))
    assert tab_count(closed, "closed") == 2 and "已落地" in closed and "未落地" in closed


# ---- transfer ----------------------------------------------------------------------------------


def test_transfer_by_the_receivers_head(app, http_world):
    rid = send(app, http_world)
    act(app, http_world, "county-a.officer", service.accept, rid)
    officer = signed_in_client(app, "county-a.officer")
    assert "转交其他单位" not in text(officer.get(url(rid)))
    refused = post(
        officer,
        url(rid, "transfer"),
        {"to_tenant_id": str(http_world.tenants["county_b"]), "note": "x"},
    )
    assert refused.status_code == 422 and "转交须由本单位分管领导操作。" in text(refused)

    head = signed_in_client(app, "county-a.head")
    assert "转交其他单位" in text(head.get(url(rid)))
    bad = post(head, url(rid, "transfer"), {"to_tenant_id": "", "note": ""})
    assert bad.status_code == 422
    assert "请选择转交给哪个单位。" in text(bad)
    assert "请填写转交说明（落地条件、推荐理由）。" in text(bad)
    assert "请选择至少一个接收单位" not in text(bad) and "请填写推送说明" not in text(bad)
    assert referral(app, rid).state == "accepted"
    ok = post(
        head,
        url(rid, "transfer"),
        {"to_tenant_id": str(http_world.tenants["county_b"]), "note": "乙县有配套产业园。"},
    )
    assert ok.status_code == 302
    assert referral(app, rid).state == "transferred"
    with app.app_context(), wider_scope("cli"):
        child = db.session.scalar(select(Referral).where(Referral.parent_id == rid))
        child_id, child_state = child.id, child.state
    assert child_state == "sent"
    assert f'href="/referrals/{child_id}"' in text(head.get(url(rid)))
    receiver_b = signed_in_client(app, "county-b.officer")
    inbox = text(receiver_b.get("/referrals"))
    assert "储能电池" in inbox and "（转交）" in inbox and "甲县" in inbox
    assert "由甲县转交" in text(receiver_b.get(url(child_id)))


def _transfer_options(page: str) -> dict[str, str]:
    """The transfer form's options: label -> the option's attributes."""
    select_html = page.split('id="tr-target"')[1].split("</select>")[0]
    return {
        label: attrs
        for attrs, label in re.findall(r'<option value="\d+"([^>]*)>([^<]+)</option>', select_html)
    }


def test_transfer_form_greys_out_units_already_working_the_lead(app, http_world):
    rid = send(app, http_world)
    with app.app_context(), wider_scope("cli"):
        lead_id = db.session.get(Referral, rid).lead_id
    with app.app_context(), acting(http_world, "city.officer") as actor:
        lead = db.session.get(Lead, lead_id)
        service.send_lead(
            db.session, actor, lead, to_tenant_ids=[http_world.tenants["county_b"]], note=NOTE
        )
        db.session.commit()
    act(app, http_world, "county-a.officer", service.accept, rid)
    head = signed_in_client(app, "county-a.head")
    options = _transfer_options(text(head.get(url(rid))))
    assert "disabled" in options["乙县（已推送，办理中）"]
    assert "disabled" not in options["甲县工业园"]
    assert "测试市投资促进局" not in options  # the sender (and owner) is not offered
    refused = post(
        head,
        url(rid, "transfer"),
        {"to_tenant_id": str(http_world.tenants["county_b"]), "note": "乙县。"},
    )
    assert refused.status_code == 422
    assert "乙县已在办理该线索，不能再转交给该单位。" in text(refused)
    assert referral(app, rid).state == "accepted"


# ---- urging ------------------------------------------------------------------------------------


def test_urge_only_when_overdue(app, http_world):
    rid = send(app, http_world)
    sender = signed_in_client(app, "city.officer")
    sent = text(sender.get("/referrals/sent"))
    assert "催办</button>" not in sent
    early = post(sender, url(rid, "urge"), follow_redirects=True)
    assert "只能对已逾期或逾期未更新进展的在办推送催办。" in text(early)

    move_deadlines_into_past(app, rid)
    sent = text(sender.get("/referrals/sent?overdue=1"))
    assert "催办</button>" in sent and "签收逾期" in sent and "个工作日" in sent
    receiver = signed_in_client(app, "county-a.officer")
    inbox = text(receiver.get("/referrals?tab=overdue"))
    assert tab_count(inbox, "overdue") == 1 and "⚠ 签收逾期" in inbox

    ok = text(post(sender, url(rid, "urge"), follow_redirects=True))
    assert "已催办，接收单位会收到提醒。" in ok
    # Once a day: the pages say so instead of offering a button that would be refused.
    assert "催办</button>" not in ok and "今日已于" in ok and "明天可再次催办" in ok
    sent = text(sender.get("/referrals/sent?overdue=1"))
    assert "催办</button>" not in sent and "今日已催办" in sent
    again = post(sender, url(rid, "urge"), follow_redirects=True)
    assert "今天已催办过该推送" in text(again)
    assert post(receiver, url(rid, "urge")).status_code == 403


def test_late_progress_is_marked_on_both_sides_and_can_be_urged(app, http_world):
    rid = send(app, http_world)
    with app.app_context(), wider_scope("cli"):
        long_ago = utcnow() - timedelta(days=20)
        db.session.execute(
            update(Referral)
            .where(Referral.id == rid)
            .values(
                state="reported",
                accepted_at=long_ago,
                first_report_at=long_ago,
                last_feedback_at=long_ago,
                report_by=long_ago + timedelta(days=1),
            )
        )
        db.session.commit()
    receiver = signed_in_client(app, "county-a.officer")
    page = text(receiver.get(url(rid)))
    assert "进展更新已逾期 6 天" in page and 'data-testid="progress-due"' in page
    assert "进展更新已逾期 6 天" in text(receiver.get("/referrals?tab=handling"))
    sender = signed_in_client(app, "city.officer")
    sent = text(sender.get("/referrals/sent"))
    assert "进展更新已逾期 6 天" in sent and "催办</button>" in sent
    ok = post(sender, url(rid, "urge"), follow_redirects=True)
    assert "已催办，接收单位会收到提醒。" in text(ok)


# ---- other tenants -----------------------------------------------------------------------------


def test_another_tenant_gets_404_on_the_page_and_its_actions(app, http_world):
    rid = send(app, http_world)
    act(
        app,
        http_world,
        "county-a.officer",
        service.request_extension,
        rid,
        new_date=(_due(app, rid) + timedelta(days=3)).isoformat(),
        reason="出差。",
    )
    with app.app_context(), wider_scope("cli"):
        ext_id = db.session.scalar(select(ExtensionRequest.id))
    stranger = signed_in_client(app, "county-b.head")
    assert stranger.get(url(rid)).status_code == 404
    for action in ("accept", "withdraw", "urge", "return", "feedback", "land"):
        assert post(stranger, url(rid, action)).status_code == 404, action
    assert (
        post(stranger, f"/referrals/extensions/{ext_id}/decide", {"approve": "1"}).status_code
        == 404
    )
    assert referral(app, rid).state == "sent"
    assert "储能电池" not in text(stranger.get("/referrals")).split("<tbody>")[1]


# ---- settings ----------------------------------------------------------------------------------


def test_city_admin_sets_the_default_deadlines(app, http_world):
    admin = signed_in_client(app, "city.admin")
    page = text(admin.get("/admin/referral-settings"))
    assert 'value="1"' in page and 'value="5"' in page
    token = page_token(admin, "/admin/referral-settings")
    bad = admin.post(
        "/admin/referral-settings", data={"csrf_token": token, "sign_days": "0", "report_days": "5"}
    )
    assert bad.status_code == 422 and "签收时限须为 1–60 个工作日。" in text(bad)
    ok = admin.post(
        "/admin/referral-settings", data={"csrf_token": token, "sign_days": "2", "report_days": "7"}
    )
    assert ok.status_code == 302
    assert 'value="2"' in text(admin.get("/admin/referral-settings"))
    with app.app_context(), wider_scope("cli"):
        assert service.default_days(db.session) == (2, 7)
    # Saving the same values again writes no second audit event.
    again = {"csrf_token": token, "sign_days": "2", "report_days": "7"}
    answer = admin.post("/admin/referral-settings", data=again, follow_redirects=True)
    assert "推送时限默认值没有变化，无需保存。" in text(answer)
    with app.app_context(), wider_scope("cli"):
        changes = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "referral_defaults_changed")
        )
    assert changes == 1
    blank = admin.post(
        "/admin/referral-settings", data={"csrf_token": token, "sign_days": " ", "report_days": ""}
    )
    assert blank.status_code == 422
    assert "请填写签收时限（1–60 个工作日）。" in text(blank)
    assert "请填写首次反馈时限（1–60 个工作日）。" in text(blank)
    assert "已保存" not in text(blank)
    with app.app_context(), wider_scope("cli"):
        assert service.default_days(db.session) == (2, 7)
    assert (
        signed_in_client(app, "county-a.admin").get("/admin/referral-settings").status_code == 403
    )
