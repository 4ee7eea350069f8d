"""An index for the fortnightly progress reminder (DESIGN.md §4).

``flask deadlines sweep`` reminds receivers of reported referrals whose last feedback is more
than two weeks old; this index answers that as one range instead of reading every reported
referral.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:20:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_referral_state_feedback", "referral", ["state", "last_feedback_at"])


def downgrade():
    op.drop_index("ix_referral_state_feedback", table_name="referral")
