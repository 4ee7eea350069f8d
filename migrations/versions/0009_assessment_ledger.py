"""Assessment ledger (issue 5): scoring rule versions and the append-only, hash-chained credit
ledger, both guarded against UPDATE and DELETE by triggers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:31:09.169335
"""

import sqlalchemy as sa
from alembic import op

import portal.database

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entry_key", sa.String(length=120), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("points", sa.Numeric(precision=8, scale=1), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("actor_tenant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.database.UTCDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "(kind = 'proposed') = (entry_key IS NOT NULL)",
            name=op.f("ck_credit_ledger_key_by_kind"),
        ),
        sa.CheckConstraint(
            "(kind IN ('approved', 'rejected', 'adjusted')) = (entry_id IS NOT NULL)",
            name=op.f("ck_credit_ledger_entry_by_kind"),
        ),
        sa.CheckConstraint(
            "(kind IN ('published', 'locked')) = (points IS NULL)",
            name=op.f("ck_credit_ledger_points_by_kind"),
        ),
        sa.CheckConstraint(
            "(kind IN ('published', 'locked')) = (tenant_id IS NULL)",
            name=op.f("ck_credit_ledger_tenant_by_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('proposed', 'approved', 'rejected', 'adjusted', 'correction', 'published', 'locked')",
            name=op.f("ck_credit_ledger_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_credit_ledger_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["actor_tenant_id"], ["tenant.id"], name=op.f("fk_credit_ledger_actor_tenant_id_tenant")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["credit_ledger.id"], name=op.f("fk_credit_ledger_entry_id_credit_ledger")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_credit_ledger_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
        sa.UniqueConstraint("hash", name=op.f("uq_credit_ledger_hash")),
        sa.UniqueConstraint("year", "entry_key", name="uq_credit_ledger_entry_key"),
    )
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_ledger_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_ledger_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_credit_ledger_year_tenant", ["year", "tenant_id"], unique=False)

    op.create_table(
        "scoring_rule_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.database.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_scoring_rule_set_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_rule_set")),
        sa.UniqueConstraint("year", "version", name="uq_scoring_rule_set_version"),
    )
    for table in GUARDED_TABLES:
        _create_guard(table)


def downgrade():
    for table in GUARDED_TABLES:
        _drop_guard(table)
    op.drop_table("scoring_rule_set")
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_ledger_year_tenant")
        batch_op.drop_index(batch_op.f("ix_credit_ledger_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_credit_ledger_entry_id"))

    op.drop_table("credit_ledger")


# Both tables are append-only in the database itself, not only by convention in the code (as
# audit_event in 0001). TRUNCATE fires neither trigger.
GUARDED_TABLES = ("credit_ledger", "scoring_rule_set")


def _create_guard(table):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only';
            END
            $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_guard(table):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
