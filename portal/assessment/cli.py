"""`flask assessment verify | propose | recompute`: the credit ledger's maintenance commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.assessment.ledger import verify
from portal.assessment.service import propose_all, recompute
from portal.database import utcnow
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


@assessment_cli.command("propose")
def propose_command():
    """Propose every entry not yet in the ledger (late deadlines; cron, e.g. hourly)."""
    added = propose_all(db.session, utcnow())
    db.session.commit()
    click.echo(f"新增积分条目 {added} 条 (proposed {added} entries)")


@assessment_cli.command("recompute")
@click.option("--year", type=int, required=True, help="The assessment year.")
def recompute_command(year):
    """Show, changing nothing, where the current rules would propose differently."""
    differences = recompute(db.session, year, utcnow())
    if not differences:
        click.echo(f"{year} 年度：按现行规则重新计算，与台账一致。")
        return
    click.echo(f"{year} 年度：按现行规则重新计算，有 {len(differences)} 处不同（未做任何修改）：")
    for item in differences:
        stored = "无" if item.stored is None else f"{item.stored} 分"
        current = "无" if item.current is None else f"{item.current} 分"
        click.echo(f"  {item.key}（单位 #{item.tenant_id}）：台账 {stored}，现行规则 {current}")
