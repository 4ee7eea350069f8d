"""Deadline reminders (due soon, overdue, escalation), e-mail copies, the bell and the list."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import socketserver
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.leads.models import Lead
from portal.notifications.models import Notification
from portal.notifications.sweep import deliver_email, reminder_starts, sweep
from portal.referrals import service as referrals
from portal.referrals.models import Referral
from portal.workdays.calendar import WorkCalendar, end_of_local_day
from tenants.models import User
from tenants.scoping import wider_scope
from tests.conftest import page_token, race, signed_in_client
from tests.referral_helpers import acting, post_lead, shanghai

HANDLERS_A = {"county-a.officer", "county-a.head", "county-a.target"}
HANDLERS_CITY = {"city.officer", "city.head", "city.target"}


# ---- building referrals with chosen deadlines --------------------------------------------------


def make_referral(world, *, sign_day: date, report_day: date | None = None, **values) -> int:
    """city.officer posts a lead and sends it to county A; the deadlines are then placed at the
    end (24:00 Shanghai) of the given days, and the referral dated ten days before signing."""
    lead_id = post_lead(world, "city.officer")
    with acting(world, "city.officer") as actor:
        lead = db.session.get(Lead, lead_id)
        [referral] = referrals.send_lead(
            db.session,
            actor,
            lead,
            to_tenant_ids=[str(world.tenants["county_a"])],
            note="甲县有用地指标，产业匹配。",
        )
        referral_id = referral.id
        db.session.commit()
    sign_by = end_of_local_day(sign_day)
    report_by = end_of_local_day(report_day or sign_day + timedelta(days=7))
    place(
        referral_id,
        sign_by=sign_by,
        report_by=report_by,
        sent_at=sign_by - timedelta(days=10),
        **values,
    )
    return referral_id


def place(referral_id: int, **values) -> None:
    with wider_scope("cli"):
        db.session.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def received(world, kind: str, referral_id: int | None = None) -> dict[str, list[str]]:
    """login name -> texts of the notifications of ``kind`` they got."""
    logins = {uid: login for login, uid in world.users.items()}
    with wider_scope("cli"):
        statement = select(Notification.user_id, Notification.text).where(Notification.kind == kind)
        if referral_id is not None:
            statement = statement.where(Notification.referral_id == referral_id)
        rows = db.session.execute(statement.order_by(Notification.id)).all()
        db.session.rollback()
    result: dict[str, list[str]] = {}
    for user_id, text in rows:
        result.setdefault(logins[user_id], []).append(text)
    return result


def run(now):
    report = sweep(db.session, now)
    db.session.commit()
    return report


# ---- the reminder day ----------------------------------------------------------------------------


def test_reminder_window_starts_on_the_working_day_before_the_deadline_day():
    calendar = WorkCalendar()
    # Monday 2026-03-09 → Friday; Thursday 2026-10-08 (after National Day) → Wednesday 09-30.
    assert reminder_starts(calendar, end_of_local_day(date(2026, 3, 9))) == date(2026, 3, 6)
    assert reminder_starts(calendar, end_of_local_day(date(2026, 3, 11))) == date(2026, 3, 10)
    assert reminder_starts(calendar, end_of_local_day(date(2026, 10, 8))) == date(2026, 9, 30)
    # The city's own table counts: a make-up working Saturday before the deadline day.
    table = WorkCalendar({date(2026, 3, 7): True})
    assert reminder_starts(table, end_of_local_day(date(2026, 3, 9))) == date(2026, 3, 7)


def test_due_soon_on_the_friday_before_a_monday_deadline_and_not_earlier(world):
    referral_id = make_referral(world, sign_day=date(2026, 3, 9))  # Monday
    assert run(shanghai(2026, 3, 5, 17, 0)).due_soon == 0  # Thursday: two working days ahead
    assert received(world, "due_soon") == {}
    report = run(shanghai(2026, 3, 6, 8, 30))  # Friday
    assert report.due_soon == 3
    got = received(world, "due_soon", referral_id)
    assert set(got) == HANDLERS_A  # the receiver's officers and heads, not its admin
    assert "签收时限将于 2026-03-09 24:00 到期" in got["county-a.officer"][0]
    # Saturday, Sunday, Monday evening: still inside the window, nothing new.
    for moment in (shanghai(2026, 3, 7, 10), shanghai(2026, 3, 9, 23, 59)):
        assert run(moment).due_soon == 0
    assert sum(len(texts) for texts in received(world, "due_soon").values()) == 3
    assert received(world, "overdue") == {}


def test_due_soon_before_a_long_holiday(world):
    make_referral(world, sign_day=date(2026, 10, 8))  # first working day after National Day
    assert run(shanghai(2026, 9, 29, 18)).due_soon == 0
    assert run(shanghai(2026, 9, 30, 9)).due_soon == 3


def test_report_deadline_reminded_once_signed(world):
    referral_id = make_referral(
        world, sign_day=date(2026, 3, 2), report_day=date(2026, 3, 11), state="accepted"
    )
    place(referral_id, accepted_at=shanghai(2026, 3, 2, 10))
    run(shanghai(2026, 3, 10, 9))
    [text] = received(world, "due_soon", referral_id)["county-a.head"]
    assert "首次反馈时限将于 2026-03-11 24:00 到期" in text


def test_no_reminder_for_a_referral_sent_inside_the_window(world):
    """Sent on the working day before its deadline: the 收到推送 notice names the deadline."""
    referral_id = make_referral(world, sign_day=date(2026, 3, 11))
    place(referral_id, sent_at=shanghai(2026, 3, 10, 9))
    assert run(shanghai(2026, 3, 10, 10)).due_soon == 0
    assert received(world, "due_soon") == {}


def test_overdue_the_day_after_to_receiver_and_sender(world):
    referral_id = make_referral(world, sign_day=date(2026, 3, 9))
    assert run(shanghai(2026, 3, 9, 23, 59)).overdue == 0
    report = run(shanghai(2026, 3, 10, 0, 5))
    assert report.overdue == 6
    got = received(world, "overdue", referral_id)
    assert set(got) == HANDLERS_A | HANDLERS_CITY
    assert "签收已逾期，时限为 2026-03-09 24:00" in got["city.officer"][0]
    assert "甲县" in got["city.officer"][0]
    assert run(shanghai(2026, 3, 11, 9)).overdue == 0  # once, not every day
    assert received(world, "escalated") == {}


def test_escalation_only_at_five_working_days_and_only_to_city_heads(world):
    referral_id = make_referral(world, sign_day=date(2026, 3, 9))
    # Working days late: Tue 10 (1), Wed (2), Thu (3), Fri 13 (4), Mon 16 (5).
    assert run(shanghai(2026, 3, 13, 23)).escalated == 0
    assert run(shanghai(2026, 3, 15, 12)).escalated == 0  # Sunday: still four
    report = run(shanghai(2026, 3, 16, 8))
    assert report.escalated == 1
    got = received(world, "escalated", referral_id)
    assert list(got) == ["city.head"]
    assert "已逾期 5 个工作日" in got["city.head"][0] and "请督办" in got["city.head"][0]
    assert run(shanghai(2026, 3, 17, 8)).escalated == 0
    with wider_scope("cli"):
        escalations = db.session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "referral_escalated")
        ).all()
    assert escalations == [str(referral_id)]


def test_escalation_counts_working_days_across_a_holiday(world):
    make_referral(world, sign_day=date(2026, 9, 30))
    # 10-08 (1), 10-09 (2), Saturday 10-10 make-up day (3), 10-12 (4), 10-13 (5).
    assert run(shanghai(2026, 10, 7, 12)).escalated == 0
    assert run(shanghai(2026, 10, 12, 18)).escalated == 0
    assert run(shanghai(2026, 10, 13, 9)).escalated == 1


def test_sweeping_twice_changes_nothing_and_an_extension_brings_new_reminders(world):
    referral_id = make_referral(world, sign_day=date(2026, 3, 9))
    now = shanghai(2026, 3, 10, 9)
    run(now)

    def count():
        with wider_scope("cli"):
            return db.session.scalar(
                select(func.count(Notification.id)).where(Notification.referral_id == referral_id)
            )

    before = count()
    again = run(now)
    assert (again.due_soon, again.overdue, again.escalated) == (0, 0, 0)
    assert count() == before
    # An approved extension moves the deadline to Friday: a new reminder Thursday, and a new
    # overdue notice Saturday.
    place(referral_id, sign_by=end_of_local_day(date(2026, 3, 13)))
    assert run(shanghai(2026, 3, 12, 9)).due_soon == 3
    assert run(shanghai(2026, 3, 14, 9)).overdue == 6
    assert len(received(world, "due_soon", referral_id)["county-a.officer"]) == 1
    assert len(received(world, "overdue", referral_id)["county-a.officer"]) == 2


def test_two_sweeps_at_once_write_each_reminder_once(app, world):
    make_referral(world, sign_day=date(2026, 3, 9))
    now = shanghai(2026, 3, 16, 9)  # due soon is past; overdue and escalation both due
    outcomes = race(
        app,
        2,
        prepare=lambda session: None,
        act=lambda session, _: sweep(session, now),
        refused=RuntimeError,
        scope=lambda: wider_scope("cli"),
    )
    assert outcomes == ["won", "won"]
    db.session.expire_all()
    assert sum(len(t) for t in received(world, "overdue").values()) == 6
    assert sum(len(t) for t in received(world, "escalated").values()) == 1


@pytest.mark.parametrize("state", ["reported", "landed", "not_landed", "returned", "withdrawn"])
def test_closed_or_reported_referrals_get_nothing(world, state):
    make_referral(world, sign_day=date(2026, 3, 9), state=state)
    for moment in (shanghai(2026, 3, 6, 9), shanghai(2026, 3, 10, 9), shanghai(2026, 3, 20, 9)):
        report = run(moment)
        assert (report.due_soon, report.overdue, report.escalated) == (0, 0, 0)


def test_a_signed_referral_is_no_longer_chased_for_signing(world):
    referral_id = make_referral(
        world, sign_day=date(2026, 3, 9), report_day=date(2026, 3, 20), state="accepted"
    )
    assert run(shanghai(2026, 3, 10, 9)).overdue == 0
    assert received(world, "overdue", referral_id) == {}


def test_a_fortnight_without_progress_reminds_the_receiver_once(world):
    last = shanghai(2026, 3, 2, 15)
    referral_id = make_referral(
        world,
        sign_day=date(2026, 2, 24),
        report_day=date(2026, 2, 27),
        state="reported",
        accepted_at=shanghai(2026, 2, 24, 9),
        first_report_at=shanghai(2026, 2, 26, 9),
        last_feedback_at=last,
    )
    assert run(shanghai(2026, 3, 16, 23, 59)).progress_due == 0
    assert run(shanghai(2026, 3, 17, 0, 5)).progress_due == 3
    got = received(world, "progress_due", referral_id)
    assert set(got) == HANDLERS_A  # the receiver's handlers; the sender sees the mark
    assert "最近一次对接反馈在 2026-03-02" in got["county-a.officer"][0]
    assert "2026-03-16 24:00" in got["county-a.officer"][0]
    assert run(shanghai(2026, 3, 20, 9)).progress_due == 0  # once per missed fortnight
    # New progress on 18 March: the next fortnight ends 1 April, reminded once more after it.
    place(referral_id, last_feedback_at=shanghai(2026, 3, 18, 11))
    assert run(shanghai(2026, 4, 1, 23)).progress_due == 0
    assert run(shanghai(2026, 4, 2, 8)).progress_due == 3
    assert len(received(world, "progress_due", referral_id)["county-a.officer"]) == 2
    assert received(world, "overdue", referral_id) == {}  # the hard deadlines were met


@pytest.mark.parametrize("state", ["accepted", "landed", "not_landed", "transferred"])
def test_no_progress_reminder_outside_the_reported_state(world, state):
    make_referral(
        world, sign_day=date(2026, 2, 24), state=state, last_feedback_at=shanghai(2026, 3, 2, 15)
    )
    assert run(shanghai(2026, 3, 20, 9)).progress_due == 0


# ---- the bell and the list through HTTP --------------------------------------------------------


def _notify(app, world, login: str, count: int, *, url: str = "/referrals/1") -> list[int]:
    with app.app_context(), wider_scope("cli"):
        user = db.session.get(User, world.users[login])
        rows = [
            Notification(
                tenant_id=user.tenant_id,
                user_id=user.id,
                kind="urged",
                text=f"测试市投资促进局催办线索“储能电池项目{n}”的签收，请尽快办理。",
                url=url,
            )
            for n in range(count)
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
        db.session.remove()
        return ids


def _bell(client) -> str:
    response = client.get("/notifications/bell", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_bell_counts_unread_and_the_header_polls_it(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    page = client.get("/").get_data(as_text=True)
    assert 'hx-get="/notifications/bell"' in page and 'hx-trigger="load, every 60s"' in page
    assert ">通知<" in page
    assert "bell-count" not in _bell(client)
    _notify(app, http_world, "county-a.officer", 3)
    _notify(app, http_world, "county-a.head", 5)  # a colleague's: not counted
    bell = _bell(client)
    assert 'aria-label="通知：3 条未读"' in bell
    assert re.search(r'class="bell-count"[^>]*>3<', bell)
    assert "<script" not in bell


def test_list_shows_own_notifications_newest_first_with_paging_and_filter(app, http_world):
    ids = _notify(app, http_world, "county-a.officer", 25)
    _notify(app, http_world, "county-a.head", 1, url="/referrals/999")
    client = signed_in_client(app, "county-a.officer")
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('data-testid="notification-row"') == 20
    assert "储能电池项目24" in page and "储能电池项目0”" not in page  # newest first
    assert "第 1 / 2 页，共 25 条" in page
    assert "/referrals/999" not in page
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert second.count('data-testid="notification-row"') == 5
    token = page_token(client, "/notifications")
    client.post(f"/notifications/{ids[0]}/read", data={"csrf_token": token})
    unread = client.get("/notifications?filter=unread").get_data(as_text=True)
    assert "共 24 条" in unread
    fragment = client.get(
        "/notifications?filter=unread&page=2",
        headers={"HX-Request": "true", "HX-Target": "notification-results"},
    ).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count('data-testid="notification-row"') == 4


def test_mark_read_goes_to_the_object_and_mark_all_read(app, http_world):
    ids = _notify(app, http_world, "county-a.officer", 3, url="/referrals/42")
    client = signed_in_client(app, "county-a.officer")
    token = page_token(client, "/notifications")
    response = client.post(f"/notifications/{ids[1]}/read", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/referrals/42"
    assert 'aria-label="通知：2 条未读"' in _bell(client)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("未读</span>") == 2 and page.count("已读</span>") == 1
    response = client.post("/notifications/read-all", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/notifications")
    assert "已将 2 条通知标为已读" in client.get("/notifications").get_data(as_text=True)
    assert "bell-count" not in _bell(client)


def test_a_notification_without_a_link_returns_to_the_list(app, http_world):
    [nid] = _notify(app, http_world, "county-a.officer", 1, url="")
    client = signed_in_client(app, "county-a.officer")
    token = page_token(client, "/notifications")
    response = client.post(f"/notifications/{nid}/read", data={"csrf_token": token})
    assert response.headers["Location"].endswith("/notifications")


def test_another_users_notification_is_not_found(app, http_world):
    [colleague] = _notify(app, http_world, "county-a.head", 1)
    [foreign] = _notify(app, http_world, "county-b.officer", 1)
    client = signed_in_client(app, "county-a.officer")
    token = page_token(client, "/notifications")
    for nid in (colleague, foreign, 2_000_000_000):
        assert (
            client.post(f"/notifications/{nid}/read", data={"csrf_token": token}).status_code == 404
        )
    client.post("/notifications/read-all", data={"csrf_token": token})
    with app.app_context(), wider_scope("cli"):
        unread = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.read_at.is_(None))
        )
    assert unread == 2  # the colleague's and the other tenant's stay unread


def test_notifications_need_sign_in_and_post_needs_csrf(app, http_world):
    [nid] = _notify(app, http_world, "county-a.officer", 1)
    anonymous = app.test_client()
    assert anonymous.get("/notifications").status_code == 302
    assert anonymous.get("/notifications/bell", headers={"HX-Request": "true"}).status_code == 401
    client = signed_in_client(app, "county-a.officer")
    assert client.post(f"/notifications/{nid}/read").status_code in (400, 403)
    assert 'aria-label="通知：1 条未读"' in _bell(client)


# ---- e-mail ----------------------------------------------------------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self):
        self._reply("220 test.local ESMTP")
        recipients: list[str] = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("ascii", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 test.local")
            elif verb == "MAIL":
                recipients = []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.server.messages.append((recipients, b"".join(lines)))
                self._reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _mail_settings(app, port: int) -> dict:
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_FROM="xinxiqiao@city.example",
        SMTP_TIMEOUT=5,
        PORTAL_BASE_URL="https://xqb.city.example",
    )
    return app.config


def _set_email(world, login: str, address: str) -> None:
    with wider_scope("cli"):
        db.session.get(User, world.users[login]).email = address
        db.session.commit()


def _date_notifications(moment) -> None:
    """Date every notification at ``moment`` (the fixed clock of the test, not today)."""
    with wider_scope("cli"):
        db.session.execute(update(Notification).values(created_at=moment))
        db.session.commit()


def _unemailed(world) -> int:
    with wider_scope("cli"):
        return db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.emailed_at.is_(None),
                Notification.user_id == world.users["county-a.officer"],
            )
        )


def test_email_copies_go_to_recipients_with_an_address(app, world, smtp_server):
    _set_email(world, "county-a.officer", "wang@county-a.example")
    referral_id = make_referral(world, sign_day=date(2026, 3, 9))
    settings = _mail_settings(app, smtp_server.server_address[1])
    run(shanghai(2026, 3, 6, 8, 30))
    _date_notifications(shanghai(2026, 3, 6, 8, 30))
    errors: list[str] = []
    sent = deliver_email(db.session, settings, errors=errors, now=shanghai(2026, 3, 6, 8, 31))
    # The 收到推送 notice and the due-soon reminder, to the one officer with an address.
    assert (sent, errors) == (2, [])
    assert all(rcpts == ["wang@county-a.example"] for rcpts, _ in smtp_server.messages)
    messages = [
        email.message_from_bytes(data, policy=email.policy.default)
        for _, data in smtp_server.messages
    ]
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert subjects[0].startswith("【信息桥】即将到期：线索“年产 10GWh 储能电池项目”的签收时限")
    reminder = next(m for m in messages if "即将到期" in str(m["Subject"]))
    body = reminder.get_content()
    assert "签收时限将于 2026-03-09 24:00 到期" in body
    assert f"https://xqb.city.example/referrals/{referral_id}" in body
    assert reminder.get_content_charset() == "utf-8"
    assert "信息桥招商协同平台" in str(reminder["From"])
    # Sent once: a second delivery finds nothing.
    assert deliver_email(db.session, settings, now=shanghai(2026, 3, 6, 8, 32)) == 0
    assert len(smtp_server.messages) == 2 and _unemailed(world) == 0


def test_a_dead_smtp_server_leaves_mail_for_the_next_run(app, world, smtp_server):
    _set_email(world, "county-a.officer", "wang@county-a.example")
    make_referral(world, sign_day=date(2026, 3, 9))
    _date_notifications(shanghai(2026, 3, 9, 8))
    settings = _mail_settings(app, _free_port())  # nobody listens there
    errors: list[str] = []
    assert deliver_email(db.session, settings, errors=errors, now=shanghai(2026, 3, 9, 9)) == 0
    assert errors and "SMTP 127.0.0.1" in errors[0]
    assert _unemailed(world) == 1
    # The CLI reports it and still writes the reminders.
    result = app.test_cli_runner().invoke(
        args=["deadlines", "sweep", "--now", "2026-03-10T09:00+08:00"]
    )
    assert result.exit_code == 0, result.output
    assert "逾期 overdue 6" in result.output and "邮件发送失败" in result.output
    assert set(received(world, "overdue")) == HANDLERS_A | HANDLERS_CITY
    # The server is back: the waiting mail goes out.
    _date_notifications(shanghai(2026, 3, 10, 9))
    settings = _mail_settings(app, smtp_server.server_address[1])
    assert deliver_email(db.session, settings, now=shanghai(2026, 3, 10, 9, 1)) == 2
    assert _unemailed(world) == 0


def test_no_smtp_host_means_no_mail(app, world):
    _set_email(world, "county-a.officer", "wang@county-a.example")
    make_referral(world, sign_day=date(2026, 3, 9))
    app.config["SMTP_HOST"] = ""
    assert deliver_email(db.session, app.config) == 0
    assert _unemailed(world) == 1


def test_cli_sweep_prints_a_summary_and_is_idempotent(app, world):
    make_referral(world, sign_day=date(2026, 3, 9))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["deadlines", "sweep", "--now", "2026-03-16T09:00+08:00"])
    assert first.exit_code == 0, first.output
    assert "逾期 overdue 6" in first.output and "升级督办 escalated 1" in first.output
    second = runner.invoke(args=["deadlines", "sweep", "--now", "2026-03-16T09:01+08:00"])
    assert "逾期 overdue 0" in second.output and "升级督办 escalated 0" in second.output
    assert set(received(world, "escalated")) == {"city.head"}
    bad = runner.invoke(args=["deadlines", "sweep", "--now", "2026-03-16T09:00"])
    assert bad.exit_code != 0


# ---- the user's e-mail address in administration -----------------------------------------------


def test_admin_sets_and_clears_a_users_email(app, http_world):
    client = signed_in_client(app, "county-a.admin")
    user_id = http_world.users["county-a.officer"]
    token = page_token(client)
    form = {"csrf_token": token, "display_name": "王军", "roles": ["officer"]}
    bad = client.post(f"/admin/users/{user_id}/edit", data={**form, "email": "wang@@example"})
    assert bad.status_code == 422 and "电子邮箱格式不正确" in bad.get_data(as_text=True)
    ok = client.post(f"/admin/users/{user_id}/edit", data={**form, "email": " wang@dean.gov.cn "})
    assert ok.status_code == 302

    def stored():
        with app.app_context(), wider_scope("cli"):
            return db.session.get(User, user_id).email

    assert stored() == "wang@dean.gov.cn"
    page = client.get(f"/admin/users/{user_id}/edit").get_data(as_text=True)
    assert 'value="wang@dean.gov.cn"' in page
    client.post(f"/admin/users/{user_id}/edit", data=form)  # a form without the field keeps it
    assert stored() == "wang@dean.gov.cn"
    client.post(f"/admin/users/{user_id}/edit", data={**form, "email": ""})
    assert stored() is None
    created = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "tenant": http_world.tenants["county_a"],
            "login_name": "county-a.li",
            "display_name": "李明",
            "email": "li@dean.gov.cn",
            "roles": ["officer"],
            "password": "Good-pass-2026",
        },
    )
    assert created.status_code == 302
    with app.app_context(), wider_scope("cli"):
        assert (
            db.session.scalar(select(User.email).where(User.login_name == "county-a.li"))
            == "li@dean.gov.cn"
        )
