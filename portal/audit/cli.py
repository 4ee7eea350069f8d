"""`flask audit verify`: walk the hash chain and report the first broken link."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.audit.service import verify_chain
from portal.extensions import db

audit_cli = AppGroup("audit", help="Audit log tools.")


@audit_cli.command("verify")
def verify_command():
    """Check every audit event's link and hash; exit 1 at the first broken one."""
    report = verify_chain(db.session)
    db.session.rollback()
    if report.ok:
        click.echo(f"audit chain OK: {report.checked} events verified")
        return
    click.echo(
        f"audit chain BROKEN at event #{report.broken_id}: {report.reason} "
        f"({report.checked} events before it verified)",
        err=True,
    )
    raise SystemExit(1)
