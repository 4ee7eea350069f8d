"""Indexes that answer "overdue" per receiving and per sending tenant from ranges.

The inbox's 已逾期 tab and the outbox's overdue filter count and list referrals past the deadline
they are working against: still to sign (sign_by) or owing the first report (report_by). Without
these they read every open referral of the tenant from the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:05:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_referral_to_sign": ["to_tenant_id", "state", "sign_by"],
    "ix_referral_to_report": ["to_tenant_id", "state", "first_report_at", "report_by"],
    "ix_referral_from_sign": ["from_tenant_id", "state", "sign_by"],
    "ix_referral_from_report": ["from_tenant_id", "state", "first_report_at", "report_by"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "referral", columns)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="referral")
