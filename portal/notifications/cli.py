"""`flask deadlines sweep`: reminders, overdue notices, escalation and e-mail delivery."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.notifications.sweep import deliver_email, sweep
from tenants.scoping import wider_scope

deadlines_cli = AppGroup("deadlines", help="Referral deadline reminders.")


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise click.BadParameter(
            "give a time zone, e.g. 2026-03-02T09:00+08:00", param_hint="--now"
        )
    return moment


@deadlines_cli.command("sweep")
@click.option("--now", "now_text", help="Pretend it is this moment (ISO 8601 with zone); tests.")
@click.option("--no-email", is_flag=True, help="Write reminders only; send no e-mail.")
def sweep_command(now_text: str | None, no_email: bool):
    """Send due-soon reminders, overdue notices and escalations, then e-mail copies.

    Idempotent and safe to run every minute from cron, even twice at once."""
    now = _parse_now(now_text)
    with wider_scope("cli"):
        try:
            report = sweep(db.session, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if not no_email:
            # Commits per claim; never raises for a failing SMTP server (errors are reported).
            report.emailed = deliver_email(
                db.session, current_app.config, errors=report.email_errors, now=now
            )
    click.echo(report.summary())
    if report.email_errors:
        for message in report.email_errors[1:]:
            click.echo(f"  {message}", err=True)
