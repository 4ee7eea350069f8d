"""`flask search sync | rebuild | check | merge`: the index's maintenance commands."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from whoosh.index import LockError

from portal.extensions import db
from search.extension import get_index
from search.sync import check, database_count, drain, rebuild

search_cli = AppGroup("search", help="The full-text search index.")


@search_cli.command("sync")
def sync_command():
    """Index every change waiting in the outbox (safe to run from cron every minute)."""
    try:
        done = drain(db.session, get_index())
    except LockError:
        click.echo("索引正被其他进程写入，稍后再试 (index writer busy; try again)", err=True)
        sys.exit(75)
    click.echo(f"已同步 {done} 条变更 (synced {done} outbox rows)")


@search_cli.command("rebuild")
def rebuild_command():
    """Re-index everything from the database (the index stays searchable meanwhile)."""
    total = database_count(db.session)
    db.session.rollback()
    with click.progressbar(length=total, label="重建索引 rebuilding", show_pos=True) as bar:
        count = rebuild(db.session, get_index(), progress=bar.update)
    click.echo(f"已重建索引：{count} 个文档 (rebuilt {count} documents)")


@search_cli.command("check")
def check_command():
    """Compare the index with the database; exit 1 when they drift."""
    report = check(db.session, get_index())
    click.echo(
        f"数据库 database: {report.database} 个文档（线索和政策文件）; "
        f"索引 index: {report.indexed} 个文档; "
        f"待同步 waiting in outbox: {report.waiting}"
    )
    for label, keys in (
        ("索引缺失 missing", report.missing),
        ("索引多余 extra", report.extra),
        ("内容过期 stale", report.stale),
    ):
        if keys:
            shown = ", ".join(keys[:20]) + (" …" if len(keys) > 20 else "")
            click.echo(f"{label}: {len(keys)} ({shown})")
    if not report.in_step:
        click.echo("索引与数据库不一致：运行 flask search sync 或 flask search rebuild")
        sys.exit(1)
    click.echo("索引与数据库一致 (in step)")


@search_cli.command("merge")
@click.option("--optimize", is_flag=True, help="Merge into one segment (minutes on a large index).")
def merge_command(optimize):
    """Merge the small segments that request commits leave (cron, off the request path)."""
    get_index().merge(optimize=optimize)
    click.echo("已合并索引段 (merged)")
