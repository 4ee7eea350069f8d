"""The outbox keeps the index equal to the database: written in the changing transaction,
drained after commit, repaired after a crash, rebuilt to the same documents, checked for drift."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import date

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.leads import service as leads
from portal.leads.models import Lead
from portal.policies import service as policies
from portal.referrals import service as referrals
from search.extension import get_index
from search.index import SearchIndex
from search.models import SearchOutbox
from search.service import labels_for
from search.sync import check, drain, rebuild
from tenants.scoping import user_scope, wider_scope
from tests.policy_helpers import edit_policy, policy_form, post_policy
from tests.referral_helpers import acting, lead_form, load_user, post_lead


def outbox_rows() -> list[tuple[str, int]]:
    with wider_scope("cli"):
        rows = db.session.execute(
            select(SearchOutbox.kind, SearchOutbox.object_id).order_by(SearchOutbox.id)
        ).all()
        db.session.rollback()
    return [tuple(row) for row in rows]


def found(world, login: str, text: str) -> set[int]:
    """Lead ids the index gives ``login`` for ``text`` (labels from their scope)."""
    scope = user_scope(load_user(world, login))
    results = get_index().search(text, labels_for(scope), filters={"kind": "lead"}, per_page=100)
    return {hit.object_id for hit in results.hits}


def send_to(world, lead_id: int, sender: str, receiver_key: str) -> int:
    with acting(world, sender) as actor:
        lead = db.session.get(Lead, lead_id)
        [referral] = referrals.send_lead(
            db.session, actor, lead, to_tenant_ids=[str(world.tenants[receiver_key])], note="请对接"
        )
        db.session.commit()
        return referral.id


def test_a_committed_lead_is_indexed_by_the_drain_and_a_rolled_back_one_never(world):
    lead_id = post_lead(world, "county-a.officer", title="年产五万吨锂电隔膜项目")
    assert outbox_rows() == [("lead", lead_id)]
    assert found(world, "county-a.officer", "锂电隔膜") == set()  # not before the drain
    assert drain(db.session, get_index()) == 1
    assert outbox_rows() == []
    assert found(world, "county-a.officer", "锂电隔膜") == {lead_id}

    with acting(world, "county-a.officer") as actor:
        data = leads.parse_lead_input(db.session, lead_form(title="回滚的光伏组件项目"))
        leads.create_lead(db.session, actor, data)
        db.session.flush()
        assert len(outbox_rows_in_session()) == 1  # written in the same transaction…
        db.session.rollback()
    assert outbox_rows() == []  # …and gone with it
    assert drain(db.session, get_index()) == 0
    assert found(world, "county-a.officer", "光伏组件") == set()
    assert check(db.session, get_index()).in_step


def outbox_rows_in_session():
    with wider_scope("cli"):
        return db.session.execute(select(SearchOutbox.id)).all()


def test_edits_referrals_and_landing_reach_the_index(world):
    lead_id = post_lead(world, "dept.officer", title="储能电站项目", company="赣能储能有限公司")
    drain(db.session, get_index())
    assert found(world, "county-a.officer", "储能电站") == set()
    referral_id = send_to(world, lead_id, "dept.officer", "county_a")
    drain(db.session, get_index())
    assert found(world, "county-a.officer", "储能电站") == {lead_id}  # a receiver sees it
    assert found(world, "county-b.officer", "储能电站") == set()
    assert found(world, "city.officer", "储能电站") == {lead_id}  # the city oversees leads
    with acting(world, "dept.officer") as actor:
        lead = db.session.get(Lead, lead_id)
        data = leads.parse_lead_input(
            db.session, lead_form(title="新型储能电站项目", company="赣能新能源有限公司")
        )
        leads.update_lead(db.session, actor, lead, data, version=lead.version)
        db.session.commit()
    drain(db.session, get_index())
    assert found(world, "county-a.officer", "赣能新能源") == {lead_id}
    assert found(world, "county-a.officer", "赣能储能") == set()
    with acting(world, "county-a.officer") as actor:
        referrals.accept(db.session, actor, db.session.get(referrals.Referral, referral_id))
        db.session.commit()
    assert outbox_rows() == [("lead", lead_id)]
    drain(db.session, get_index())
    assert check(db.session, get_index()).in_step


def test_a_failure_before_the_index_commit_leaves_the_rows(world, monkeypatch):
    lead_id = post_lead(world, "county-a.officer", title="光伏支架项目")

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr("search.sync._index_rows", broken)
    with pytest.raises(OSError):
        drain(db.session, get_index())
    assert outbox_rows() == [("lead", lead_id)]
    monkeypatch.undo()
    assert drain(db.session, get_index()) == 1
    assert found(world, "county-a.officer", "光伏支架") == {lead_id}


KILLED_DRAIN = textwrap.dedent(
    """
    import os, sys
    from portal import create_app
    import search.sync as sync
    from portal.extensions import db
    from search.extension import get_index

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SEARCH_INDEX_PATH": sys.argv[2],
                      "SECRET_KEY": "x"})
    where = sys.argv[3]
    real_index_rows = sync._index_rows

    def die_while_writing(session, index, writer, rows):
        real_index_rows(session, index, writer, rows)
        os._exit(9)  # documents written, index not committed

    def die_after_commit(*args, **kwargs):
        os._exit(9)  # index committed, outbox rows not yet deleted

    if where == "writing":
        sync._index_rows = die_while_writing
    else:
        sync.delete = die_after_commit
    with app.app_context():
        sync.drain(db.session, get_index())
    sys.exit(0)  # not reached
    """
)


@pytest.mark.parametrize("where", ["writing", "after_commit"])
def test_a_killed_indexer_loses_nothing_after_the_next_drain(app, world, where):
    lead_ids = [post_lead(world, "county-a.officer", title=f"第{n}号锂矿项目") for n in range(3)]
    db.session.remove()
    index = get_index()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_DRAIN,
            app.config["SQLALCHEMY_DATABASE_URI"],
            str(index.path),
            where,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 9, result.stderr[-2000:]
    assert len(outbox_rows()) == 3  # the dead process deleted nothing
    committed = found(world, "county-a.officer", "锂矿")
    assert committed == (set(lead_ids) if where == "after_commit" else set())
    assert drain(db.session, index) == 3  # the lock died with the process
    assert found(world, "county-a.officer", "锂矿") == set(lead_ids)
    report = check(db.session, index)
    assert report.in_step and report.waiting == 0 and report.indexed == 3


def test_two_drains_at_once_index_everything_once(app, world):
    lead_ids = [post_lead(world, "county-a.officer", title=f"并发项目{n}") for n in range(12)]
    db.session.remove()
    barrier = threading.Barrier(2)
    errors = []

    def run():
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                drain(db.session, get_index())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert outbox_rows() == []
    assert found(world, "county-a.officer", "并发项目") == set(lead_ids)
    assert get_index().doc_count() == 12


def test_a_rebuilt_index_equals_the_incrementally_maintained_one(world, tmp_path):
    first = post_lead(world, "dept.officer", title="光伏逆变器项目", company="德安光伏科技")
    drain(db.session, get_index())
    second = post_lead(world, "county-a.officer", title="锂电池回收项目")
    referral_id = send_to(world, first, "dept.officer", "county_b")
    drain(db.session, get_index())
    with acting(world, "county-b.officer") as actor:
        referrals.accept(db.session, actor, db.session.get(referrals.Referral, referral_id))
        db.session.commit()
    drain(db.session, get_index())
    public = post_policy(world, "city.officer", title="光伏产业扶持办法")
    scoped = post_policy(world, "county-a.officer", title="甲县锂电池奖励细则", scope="own")
    edit_policy(world, "county-a.officer", scoped, title="甲县锂电池奖励细则（修订）", scope="own")
    drain(db.session, get_index())
    incremental = get_index().stored()
    assert set(incremental) == {
        f"lead:{first}",
        f"lead:{second}",
        f"policy:{public}",
        f"policy:{scoped}",
    }

    fresh = SearchIndex(tmp_path / "rebuilt")
    assert rebuild(db.session, fresh) == 4
    assert fresh.stored() == incremental  # same documents, same content fingerprints
    # Same answers (scores differ a little until the incremental index merges away the
    # replaced versions, which still count in its term statistics).
    for login, text, total in [
        ("county-b.officer", "光伏", 2),
        ("county-a.officer", "锂电池", 2),
        ("county-b.officer", "锂电池", 0),
        ("city.officer", "修订", 1),
    ]:
        labels = labels_for(user_scope(load_user(world, login)))
        rebuilt, kept = fresh.search(text, labels), get_index().search(text, labels)
        assert rebuilt.total == kept.total == total
        assert [h.object_id for h in rebuilt.hits] == [h.object_id for h in kept.hits]


def test_a_policy_reaches_the_index_with_its_labels_and_a_rolled_back_one_never(world):
    with acting(world, "county-a.officer") as actor:
        data = policies.parse_policy_input(policy_form(title="撤回的风电政策"), date(2026, 12, 3))
        policies.create_policy(db.session, actor, data)
        db.session.flush()
        db.session.rollback()
    assert outbox_rows() == []
    scoped = post_policy(world, "county-a.officer", title="甲县风电用地政策", scope="own")
    assert outbox_rows() == [("policy", scoped)]
    drain(db.session, get_index())
    labels = {"county-a.officer": {scoped}, "city.head": {scoped}, "county-b.officer": set()}
    for login, expected in labels.items():
        scope = user_scope(load_user(world, login))
        results = get_index().search("风电", labels_for(scope), filters={"kind": "policy"})
        assert {hit.object_id for hit in results.hits} == expected, login
    assert found(world, "county-a.officer", "撤回") == set()


def test_check_finds_missing_extra_and_stale_documents_and_rebuild_repairs(world):
    kept = post_lead(world, "county-a.officer", title="风电叶片项目")
    changed = post_lead(world, "county-a.officer", title="氢能重卡项目")
    dropped = post_lead(world, "county-a.officer", title="碳纤维项目")
    drain(db.session, get_index())
    index = get_index()
    with index.writer() as writer:  # the index loses one document
        index.remove(writer, f"lead:{kept}")
    with wider_scope("cli"):  # changes that bypass the ORM and so the outbox
        db.session.execute(
            update(Lead).where(Lead.id == changed).values(title="氢燃料电池重卡项目")
        )
        db.session.execute(Lead.__table__.delete().where(Lead.id == dropped))
        db.session.commit()
    report = check(db.session, index)
    assert (report.missing, report.stale, report.extra) == (
        [f"lead:{kept}"],
        [f"lead:{changed}"],
        [f"lead:{dropped}"],
    )
    assert report.database == 2 and report.indexed == 2 and not report.in_step
    rebuild(db.session, index)
    assert check(db.session, index).in_step
    assert found(world, "county-a.officer", "氢燃料") == {changed}


def test_cli_sync_check_and_rebuild(app, world):
    post_lead(world, "county-a.officer", title="半导体封装项目")
    db.session.remove()
    runner = app.test_cli_runner()
    drifted = runner.invoke(args=["search", "check"])
    assert drifted.exit_code == 1 and "索引缺失 missing: 1" in drifted.output
    assert "待同步 waiting in outbox: 1" in drifted.output
    synced = runner.invoke(args=["search", "sync"])
    assert synced.exit_code == 0 and "已同步 1 条变更" in synced.output
    in_step = runner.invoke(args=["search", "check"])
    assert in_step.exit_code == 0 and "索引与数据库一致" in in_step.output
    rebuilt = runner.invoke(args=["search", "rebuild"])
    assert rebuilt.exit_code == 0 and "已重建索引：1 个文档" in rebuilt.output
    assert runner.invoke(args=["search", "merge"]).exit_code == 0
    with app.app_context(), wider_scope("cli"):
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
