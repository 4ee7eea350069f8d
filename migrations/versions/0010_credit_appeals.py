"""Credit appeals (issue 5, 申诉): three new ledger kinds — an appeal against a decided entry,
upheld or dismissed — that name their entry; one appeal per entry, answered once.

The kind and entry CHECK constraints are replaced; on SQLite batch mode recreates the table,
which drops its append-only triggers, so they are dropped first and created again after (env.py
checks foreign keys once the table is back in place: the table refers to itself).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_KINDS = "'proposed', 'approved', 'rejected', 'adjusted', 'correction', 'published', 'locked'"
NEW_APPEAL_KINDS = "'appealed', 'appeal_upheld', 'appeal_dismissed'"
NEW_KINDS = f"{OLD_KINDS}, {NEW_APPEAL_KINDS}"
OLD_ENTRY_KINDS = "'approved', 'rejected', 'adjusted'"
NEW_ENTRY_KINDS = f"{OLD_ENTRY_KINDS}, {NEW_APPEAL_KINDS}"
COUNT_APPEALS = (
    "SELECT COUNT(*) FROM credit_ledger "
    "WHERE kind IN ('appealed', 'appeal_upheld', 'appeal_dismissed')"
)
ONE_APPEAL = "kind = 'appealed'"
ONE_ANSWER = "kind IN ('appeal_upheld', 'appeal_dismissed')"


def upgrade():
    _drop_guard()
    _replace_checks(NEW_KINDS, NEW_ENTRY_KINDS)
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        for name, where in (
            ("uq_credit_ledger_one_appeal", ONE_APPEAL),
            ("uq_credit_ledger_one_appeal_answer", ONE_ANSWER),
        ):
            batch_op.create_index(
                name,
                ["entry_id"],
                unique=True,
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )
    _create_guard()


def downgrade():
    # Appeal rows cannot stay under the old constraints, and deleting them would break the
    # ledger's hash chain: a ledger that holds appeals is not downgraded.
    appeals = op.get_bind().scalar(sa.text(COUNT_APPEALS))
    if appeals:
        raise RuntimeError(
            f"credit_ledger holds {appeals} appeal rows; revision 0009 cannot represent them"
        )
    _drop_guard()
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_index("uq_credit_ledger_one_appeal_answer")
        batch_op.drop_index("uq_credit_ledger_one_appeal")
    _replace_checks(OLD_KINDS, OLD_ENTRY_KINDS)
    _create_guard()


def _replace_checks(kinds, entry_kinds):
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_credit_ledger_kind_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_credit_ledger_entry_by_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_credit_ledger_kind_known"), f"kind IN ({kinds})")
        batch_op.create_check_constraint(
            op.f("ck_credit_ledger_entry_by_kind"),
            f"(kind IN ({entry_kinds})) = (entry_id IS NOT NULL)",
        )


# The append-only guard of 0009, for this table.
def _create_guard():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER credit_ledger_no_change BEFORE UPDATE OR DELETE ON credit_ledger "
            "FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER credit_ledger_no_{verb.lower()} BEFORE {verb} ON credit_ledger "
                "BEGIN SELECT RAISE(ABORT, 'credit_ledger is append-only'); END"
            )


def _drop_guard():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS credit_ledger_no_change ON credit_ledger")
    else:
        op.execute("DROP TRIGGER IF EXISTS credit_ledger_no_update")
        op.execute("DROP TRIGGER IF EXISTS credit_ledger_no_delete")
