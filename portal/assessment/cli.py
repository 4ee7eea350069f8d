"""`flask assessment verify`: walk the credit ledger's hash chain and report the first broken
row."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.assessment.ledger import verify
from portal.extensions import db
from tenants.scoping import wider_scope

assessment_cli = AppGroup("assessment", help="Assessment (referral credit) tools.")


@assessment_cli.command("verify")
def verify_command():
    """Check every ledger row's link and hash; exit 1 at the first broken one."""
    with wider_scope("cli"):
        report = verify(db.session)
        db.session.rollback()
    if report.ok:
        click.echo(f"积分台账校验通过：{report.checked} 条")
        return
    click.echo(
        f"积分台账校验失败：记录 #{report.broken_id}：{report.reason}"
        f"（此前 {report.checked} 条校验通过）",
        err=True,
    )
    raise SystemExit(1)
