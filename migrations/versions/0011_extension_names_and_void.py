"""Extension requests (延期申请): the requester's and decider's names on the row, and the
``void`` state.

Names: the detail page of a referral is read by both sides and the city, but another tenant's
users are out of scope, so names read through ``user_account`` came out blank. The row now keeps
the names as they were when the officers acted (as lead_event.actor_name does); existing rows
are filled from user_account.

Void: a request still pending when the deadline it extends ended (the receiver signed, gave the
first report, or the referral was closed) had nothing left to extend but stayed pending, open to
an approval that changed nothing. Such rows become ``void``, dated when the deadline ended.
There is no CHECK constraint on the state; the downgrade turns void rows back into pending ones,
the only way revision 0010 could show them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NAME_COLUMNS = {"requested_by_name": "requested_by_id", "decided_by_name": "decided_by_id"}

# The tables as this revision knows them (never the models, which move on).
extension = sa.table(
    "extension_request",
    sa.column("id"),
    sa.column("referral_id"),
    sa.column("deadline"),
    sa.column("state"),
    sa.column("requested_by_id"),
    sa.column("requested_by_name"),
    sa.column("decided_by_id"),
    sa.column("decided_by_name"),
    sa.column("decided_at"),
    sa.column("decision_note"),
)
user = sa.table("user_account", sa.column("id"), sa.column("display_name"), sa.column("login_name"))
referral = sa.table(
    "referral",
    sa.column("id"),
    sa.column("state"),
    sa.column("accepted_at"),
    sa.column("first_report_at"),
    sa.column("closed_at"),
)
SIGN_STATES = ("sent", "return_requested")
SIGNED_STATES = ("accepted", "reported")


def upgrade():
    with op.batch_alter_table("extension_request", schema=None) as batch_op:
        for column in NAME_COLUMNS:
            batch_op.add_column(
                sa.Column(column, sa.String(length=64), server_default="", nullable=False)
            )
    for column, user_column in NAME_COLUMNS.items():
        name = (
            sa.select(sa.func.coalesce(sa.func.nullif(user.c.display_name, ""), user.c.login_name))
            .where(user.c.id == extension.c[user_column])
            .scalar_subquery()
        )
        op.execute(extension.update().values({column: sa.func.coalesce(name, "")}))
    _void_stale_requests()
    # The model has no server default: new rows get their names from the services.
    with op.batch_alter_table("extension_request", schema=None) as batch_op:
        for column in NAME_COLUMNS:
            batch_op.alter_column(column, existing_type=sa.String(length=64), server_default=None)


def _void_stale_requests():
    """Pending requests whose deadline the referral no longer works against become void, dated
    when that deadline ended, with the sentence the service writes (without the state label)."""
    sign = extension.c.deadline == "sign"
    stale = sa.or_(
        sa.and_(sign, referral.c.state.not_in(SIGN_STATES)),
        sa.and_(
            extension.c.deadline == "report",
            sa.or_(referral.c.state != "accepted", referral.c.first_report_at.is_not(None)),
        ),
    )
    ended_at = sa.case(
        (sign, sa.func.coalesce(referral.c.accepted_at, referral.c.closed_at)),
        else_=sa.func.coalesce(referral.c.first_report_at, referral.c.closed_at),
    )
    why = sa.case(
        (
            sa.and_(sign, referral.c.state.in_(SIGNED_STATES)),
            "接收单位已签收，无需再延长签收时限。",
        ),
        (
            sa.and_(extension.c.deadline == "report", referral.c.first_report_at.is_not(None)),
            "接收单位已首次反馈，无需再延长首次反馈时限。",
        ),
        else_="推送已办结，无需再延期。",
    )
    own = referral.c.id == extension.c.referral_id

    def about_referral(value):
        return sa.select(value).where(own).scalar_subquery()

    op.execute(
        extension.update()
        .where(extension.c.state == "pending", sa.exists().where(own, stale))
        .values(
            state="void", decided_at=about_referral(ended_at), decision_note=about_referral(why)
        )
    )


def downgrade():
    op.execute(
        extension.update()
        .where(extension.c.state == "void")
        .values(state="pending", decided_at=None, decision_note="")
    )
    with op.batch_alter_table("extension_request", schema=None) as batch_op:
        for column in reversed(NAME_COLUMNS):
            batch_op.drop_column(column)
