"""Policy library (search issue): policy documents with an optional attachment whose text is
extracted and indexed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:47:48.436373
"""

import sqlalchemy as sa
from alembic import op

import portal.database

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("city_wide", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=100), nullable=False),
        sa.Column("doc_number", sa.String(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("validity", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_key", sa.String(length=64), nullable=True),
        sa.Column("attachment_name", sa.String(length=200), nullable=True),
        sa.Column("attachment_kind", sa.String(length=8), nullable=True),
        sa.Column("attachment_mimetype", sa.String(length=100), nullable=True),
        sa.Column("attachment_size", sa.Integer(), nullable=True),
        sa.Column("attachment_sha256", sa.String(length=64), nullable=True),
        sa.Column("attachment_text", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", portal.database.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_policy_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_policy_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy")),
        sa.UniqueConstraint("attachment_key", name=op.f("uq_policy_attachment_key")),
    )
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_doc_number"), ["doc_number"], unique=False)
        batch_op.create_index("ix_policy_issued", ["issued_on", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_tenant_id"), ["tenant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_tenant_id"))
        batch_op.drop_index("ix_policy_issued")
        batch_op.drop_index(batch_op.f("ix_policy_doc_number"))

    op.drop_table("policy")
