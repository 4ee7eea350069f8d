"""The deadline sweep (DESIGN.md §4, 催办) and e-mail copies of notifications.

Plain functions over a session; no Flask. ``flask deadlines sweep`` runs both every minute.

For every open referral and the deadline it is working against (``open_deadline``: signing while
``sent``/``return_requested``, the first report while ``accepted`` without one):

* **due_soon** — the receiving tenant's officers and heads, once, from 00:00 Asia/Shanghai of the
  *last working day before the deadline's day* until the deadline. A deadline is stored as 24:00
  (Shanghai) at the end of its day D, so a deadline on Monday is reminded from Friday 00:00 (or
  the last working day before a holiday), never two working days ahead. A referral sent on or
  after that working day gets no separate reminder: its "收到推送" notice already names the
  deadline and a second notice the same day is noise.
* **overdue** — once the deadline has passed (``now > deadline``, i.e. from 00:00 of the day
  after D): the receiving and the sending tenant's officers and heads.
* **progress_due** — once a referral is reported, a progress entry is expected every
  ``PROGRESS_INTERVAL_DAYS`` calendar days until it is closed; the day after a fortnight passes
  without one, the receiving tenant's officers and heads are reminded, once per missed fortnight
  (the key holds the due moment, which each new feedback moves).
* **escalated** — when still overdue on the fifth working day after the deadline
  (``calendar.working_days_overdue(deadline, now) >= 5``): the city tenant's heads, and one audit
  event.

Every reminder carries a dedupe key of the kind, the referral, which deadline and its value, plus
the recipient (``notify_tenant`` adds ``:u<id>``). The unique index on ``notification.dedupe_key``
with INSERT … ON CONFLICT DO NOTHING makes repeated and concurrent sweeps send each reminder once;
an approved extension moves the deadline, so the new deadline gets its own reminders.

The candidate query is bounded: open states (indexed with the deadline column) and deadlines in
[now − LOOKBACK, now + LOOKAHEAD]. LOOKAHEAD covers the longest run of non-working days before a
deadline (Spring Festival plus weekends); LOOKBACK covers five working days after a deadline
across such a holiday. A referral overdue for longer than LOOKBACK has had its overdue notice and
escalation already (or the sweep was not running then: it is not chased retroactively).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from portal.audit import service as audit
from portal.database import utcnow
from portal.leads.models import Lead
from portal.notifications.kinds import kind_label
from portal.notifications.models import Notification
from portal.notifications.service import notify_tenant
from portal.referrals.models import Referral
from portal.referrals.service import PROGRESS_INTERVAL_DAYS, open_deadline, progress_due
from portal.workdays.calendar import WorkCalendar, local_date
from portal.workdays.service import load_calendar
from tenants.models import Tenant, User
from tenants.scoping import wider_scope

log = logging.getLogger(__name__)

SWEEP_KINDS = ("due_soon", "overdue", "escalated", "progress_due")
ESCALATE_AFTER_WORKING_DAYS = 5
LOOKAHEAD = timedelta(days=21)
LOOKBACK = timedelta(days=45)
# Who is told: the receiver's and sender's handlers; the city's heads on escalation.
HANDLER_ROLES = ("officer", "head")
CITY_ESCALATION_ROLES = ("head",)
# E-mail: copies of notifications younger than this, not yet read in the portal.
EMAIL_MAX_AGE = timedelta(days=7)
EMAIL_BATCH = 500
CHUNK = 500
DEADLINE_LABELS = {"sign": "签收", "report": "首次反馈"}


@dataclass
class SweepReport:
    """Notifications written per kind by one sweep, and what e-mail delivery did."""

    referrals_checked: int = 0
    due_soon: int = 0
    overdue: int = 0
    escalated: int = 0
    progress_due: int = 0
    emailed: int = 0
    email_errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"期限巡检 deadline sweep: 检查 {self.referrals_checked} 条推送 checked, "
            f"即将到期 due_soon {self.due_soon}, 逾期 overdue {self.overdue}, "
            f"升级督办 escalated {self.escalated}, 待更新进展 progress_due {self.progress_due}, "
            f"邮件 emailed {self.emailed}"
        )
        if self.email_errors:
            line += f", 邮件发送失败 e-mail failed: {self.email_errors[0]}"
        return line


def deadline_day(due: datetime) -> date:
    """The Shanghai day a deadline belongs to: 24:00 at the end of day D belongs to D."""
    return local_date(due - timedelta(microseconds=1))


def previous_workday(calendar: WorkCalendar, day: date) -> date:
    """The last working day strictly before ``day`` (``day`` itself for a table with none)."""
    for offset in range(1, 60):
        candidate = day - timedelta(days=offset)
        if calendar.is_workday(candidate):
            return candidate
    return day


def reminder_starts(calendar: WorkCalendar, due: datetime) -> date:
    """The Shanghai day from whose 00:00 the due-soon reminder is sent."""
    return previous_workday(calendar, deadline_day(due))


def _due_text(due: datetime) -> str:
    return deadline_day(due).isoformat() + " 24:00"


def _dedupe(kind: str, referral_id: int, which: str, due: datetime) -> str:
    return f"{kind}:r{referral_id}:{which}:{int(due.timestamp())}"


def _candidates(session: Session, now: datetime):
    low, high = now - LOOKBACK, now + LOOKAHEAD
    return session.execute(
        select(
            Referral.id,
            Referral.state,
            Referral.sign_by,
            Referral.report_by,
            Referral.first_report_at,
            Referral.sent_at,
            Referral.from_tenant_id,
            Referral.to_tenant_id,
            Referral.lead_id,
            Lead.title,
        )
        .join(Lead, Lead.id == Referral.lead_id)
        .where(
            or_(
                and_(
                    Referral.state.in_(("sent", "return_requested")),
                    Referral.sign_by.between(low, high),
                ),
                and_(
                    Referral.state == "accepted",
                    Referral.first_report_at.is_(None),
                    Referral.report_by.between(low, high),
                ),
            )
        )
        .order_by(Referral.id)
    ).all()


def _progress_candidates(session: Session, now: datetime):
    """Reported referrals whose last feedback is more than a fortnight (and less than a fortnight
    plus LOOKBACK) old: one range of ix_referral_state_feedback."""
    latest = now - timedelta(days=PROGRESS_INTERVAL_DAYS)
    return session.execute(
        select(
            Referral.id,
            Referral.state,
            Referral.last_feedback_at,
            Referral.to_tenant_id,
            Referral.lead_id,
            Lead.title,
        )
        .join(Lead, Lead.id == Referral.lead_id)
        .where(
            Referral.state == "reported",
            Referral.last_feedback_at.between(latest - LOOKBACK, latest),
        )
        .order_by(Referral.id)
    ).all()


def _already_sent(session: Session, referral_ids: list[int]) -> set[str]:
    """Dedupe keys (without the recipient part) the sweep already wrote for these referrals."""
    done: set[str] = set()
    for start in range(0, len(referral_ids), CHUNK):
        chunk = referral_ids[start : start + CHUNK]
        keys = session.scalars(
            select(Notification.dedupe_key).where(
                Notification.referral_id.in_(chunk), Notification.kind.in_(SWEEP_KINDS)
            )
        )
        done.update(key.rsplit(":u", 1)[0] for key in keys if key)
    return done


@dataclass
class _Reminder:
    """One referral's deadline: writes a reminder kind to a tenant, once."""

    session: Session
    done: set[str]
    row: object
    which: str
    due: datetime

    def send(self, kind: str, tenant_id: int | None, text: str, roles=HANDLER_ROLES) -> int:
        key = _dedupe(kind, self.row.id, self.which, self.due)
        if tenant_id is None or key in self.done:
            return 0
        return notify_tenant(
            self.session,
            tenant_id,
            kind,
            text,
            referral_id=self.row.id,
            lead_id=self.row.lead_id,
            url=f"/referrals/{self.row.id}",
            roles=roles,
            dedupe=key,
        )


def sweep(session: Session, now: datetime | None = None, calendar=None) -> SweepReport:
    """Write the reminders due at ``now``. Does not commit: the caller does."""
    now = now or utcnow()
    report = SweepReport()
    with wider_scope("system"):
        calendar = calendar or load_calendar(session)
        rows = _candidates(session, now)
        stale = _progress_candidates(session, now)
        report.referrals_checked = len(rows) + len(stale)
        if not rows and not stale:
            return report
        done = _already_sent(session, [row.id for row in rows + stale])
        report.progress_due = _remind_progress(session, done, stale, now)
        names = dict(session.execute(select(Tenant.id, Tenant.name)).all())
        city_id = session.scalar(select(Tenant.id).where(Tenant.kind == "city"))
        today = local_date(now)
        for row in rows:
            deadline = open_deadline(row)
            if deadline is None:
                continue
            reminder = _Reminder(session, done, row, *deadline)
            which, due = deadline
            label = DEADLINE_LABELS[which]
            if now <= due:
                starts = reminder_starts(calendar, due)
                if today >= starts and local_date(row.sent_at) < starts:
                    report.due_soon += reminder.send(
                        "due_soon",
                        row.to_tenant_id,
                        f"线索“{row.title}”的{label}时限将于 {_due_text(due)} 到期，请及时办理。",
                    )
                continue
            receiver = names.get(row.to_tenant_id, "")
            text = f"线索“{row.title}”（推送至{receiver}）{label}已逾期，时限为 {_due_text(due)}。"
            report.overdue += reminder.send("overdue", row.to_tenant_id, text)
            report.overdue += reminder.send("overdue", row.from_tenant_id, text)
            late_days = calendar.working_days_overdue(due, now)
            if late_days < ESCALATE_AFTER_WORKING_DAYS:
                continue
            written = reminder.send(
                "escalated",
                city_id,
                f"线索“{row.title}”推送至{receiver}后{label}已逾期 {late_days} 个工作日"
                f"（时限 {_due_text(due)}），请督办。",
                CITY_ESCALATION_ROLES,
            )
            report.escalated += written
            if written:
                audit.record(
                    session,
                    audit.SYSTEM,
                    "referral_escalated",
                    tenant_id=row.to_tenant_id,
                    object_type="referral",
                    object_id=row.id,
                    after={
                        "deadline": which,
                        "due": _due_text(due),
                        "working_days_overdue": late_days,
                    },
                )
    return report


def _remind_progress(session: Session, done: set[str], rows, now: datetime) -> int:
    written = 0
    for row in rows:
        due = progress_due(row)
        if due is None or now <= due:
            continue
        last = local_date(row.last_feedback_at).isoformat()
        written += _Reminder(session, done, row, "progress", due).send(
            "progress_due",
            row.to_tenant_id,
            f"线索“{row.title}”最近一次对接反馈在 {last}，按要求每两周须补充一次进展"
            f"（应于 {_due_text(due)} 前），请尽快补充对接进展。",
        )
    return written


# ---- e-mail ----------------------------------------------------------------------------------


def mail_configured(settings) -> bool:
    return bool((settings.get("SMTP_HOST") or "").strip())


def _sender_address(settings) -> str:
    configured = (settings.get("SMTP_FROM") or "").strip()
    if configured:
        return configured
    user = (settings.get("SMTP_USER") or "").strip()
    return user if "@" in user else "xinxiqiao@localhost"


def build_message(settings, *, to: str, name: str, kind: str, text: str, url: str) -> EmailMessage:
    base = (settings.get("PORTAL_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    link = base + (url if url.startswith("/") else "/notifications")
    message = EmailMessage()
    message["Subject"] = f"【信息桥】{kind_label(kind)}：{text[:60]}"
    message["From"] = formataddr(("信息桥招商协同平台", _sender_address(settings)))
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="xinxiqiao.local")
    message.set_content(
        f"{name}，您好：\n\n{text}\n\n查看详情：{link}\n\n"
        "—— 信息桥招商协同平台（系统自动发送，请勿直接回复）\n",
        charset="utf-8",
        cte="base64",
    )
    return message


def _connect(settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(
        settings["SMTP_HOST"],
        int(settings.get("SMTP_PORT") or 25),
        timeout=float(settings.get("SMTP_TIMEOUT") or 10),
    )
    try:
        if settings.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if settings.get("SMTP_USER"):
            smtp.login(settings["SMTP_USER"], settings.get("SMTP_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _release(session: Session, ids: list[int], stamp: datetime) -> None:
    """Give claimed rows back to the next run."""
    if not ids:
        return
    with wider_scope("system"):
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.emailed_at == stamp)
            .values(emailed_at=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def deliver_email(session: Session, settings, *, errors: list[str] | None = None, now=None) -> int:
    """E-mail every unsent, unread notification (at most EMAIL_MAX_AGE old) to its recipient's
    address; return how many were sent. Off unless SMTP_HOST is set.

    Each row is claimed first — ``UPDATE … SET emailed_at = :stamp WHERE id = :id AND emailed_at
    IS NULL``, committed — so two sweeps at once never send the same mail twice. Rows the server
    does not take are released (emailed_at back to NULL) for the next run, and the failure goes
    to ``errors``; nothing is raised. A crash between claim and send loses that mail copy only:
    the notification itself stays in the portal. This function commits its own transactions.
    """
    if not mail_configured(settings):
        return 0
    errors = errors if errors is not None else []
    now = now or utcnow()
    stamp = utcnow()
    with wider_scope("system"):
        recipients = {
            user_id: (email, name)
            for user_id, email, name in session.execute(
                select(User.id, User.email, User.display_name).where(
                    User.active.is_(True), User.email.is_not(None), User.email != ""
                )
            )
        }
        rows = []
        ids = sorted(recipients)
        for start in range(0, len(ids), CHUNK):
            rows += session.execute(
                select(
                    Notification.id,
                    Notification.user_id,
                    Notification.kind,
                    Notification.text,
                    Notification.url,
                )
                .where(
                    Notification.user_id.in_(ids[start : start + CHUNK]),
                    Notification.read_at.is_(None),
                    Notification.created_at >= now - EMAIL_MAX_AGE,
                    Notification.emailed_at.is_(None),
                )
                .order_by(Notification.id)
                .limit(EMAIL_BATCH)
            ).all()
        rows = sorted(rows, key=lambda r: r.id)[:EMAIL_BATCH]
        claimed = []
        for row in rows:
            won = session.execute(
                update(Notification)
                .where(Notification.id == row.id, Notification.emailed_at.is_(None))
                .values(emailed_at=stamp)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won == 1:
                claimed.append(row)
    session.commit()
    if not claimed:
        return 0
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        errors.append(f"SMTP {settings['SMTP_HOST']}:{settings.get('SMTP_PORT')}: {exc}")
        log.warning("e-mail delivery failed, will retry: %s", exc)
        _release(session, [row.id for row in claimed], stamp)
        return 0
    sent = 0
    unsent: list[int] = []
    try:
        for index, row in enumerate(claimed):
            email, name = recipients[row.user_id]
            message = build_message(
                settings, to=email, name=name, kind=row.kind, text=row.text, url=row.url
            )
            try:
                smtp.send_message(message)
                sent += 1
            except smtplib.SMTPRecipientsRefused as exc:
                # This address is refused for good: do not retry it every minute.
                errors.append(f"收件人被拒绝 recipient refused: {email}: {exc.recipients}")
            except (OSError, smtplib.SMTPException) as exc:
                errors.append(f"SMTP {settings['SMTP_HOST']}: {exc}")
                log.warning("e-mail delivery failed, will retry: %s", exc)
                unsent = [r.id for r in claimed[index:]]
                break
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    _release(session, unsent, stamp)
    return sent
