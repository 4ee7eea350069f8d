"""Tenant and User."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from tenants.scoping import TenantOwned

TENANT_KINDS = {
    "city": "市级招商部门",
    "department": "市直部门",
    "county": "县（市、区）",
    "park": "园区",
    "office": "考核机构",
}

ROLES = {
    "officer": "招商专员",
    "head": "分管领导",
    "assessor": "考核员",
    "admin": "管理员",
}
ROLE_ORDER = ("officer", "head", "assessor", "admin")
# The assessment office and the city bureau host assessors (DESIGN.md §2).
ASSESSOR_TENANT_KINDS = frozenset({"city", "office"})


class Tenant(db.Model):
    __tablename__ = "tenant"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('city', 'department', 'county', 'park', 'office')", name="kind_known"
        ),
        # A city has exactly one city tenant: the bureau that sees the whole pipeline.
        Index(
            "uq_tenant_one_city",
            "kind",
            unique=True,
            sqlite_where=text("kind = 'city'"),
            postgresql_where=text("kind = 'city'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Tenant | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Tenant]] = relationship(back_populates="parent")
    users: Mapped[list[User]] = relationship(back_populates="tenant")

    @property
    def kind_label(self) -> str:
        return TENANT_KINDS.get(self.kind, self.kind)

    def __repr__(self) -> str:
        return f"<Tenant {self.code}>"


class User(TenantOwned, UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    login_name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    # Where notifications are e-mailed when SMTP is configured; optional.
    email: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Space-separated subset of ROLES, kept sorted in ROLE_ORDER.
    roles: Mapped[str] = mapped_column(String(64), default="officer")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship(back_populates="users")

    # Set by the login loader: the server-side session this request is signed in with, and the
    # cookie token naming it (flask-login stores get_id() in the cookie).
    current_session_id = None
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles.split())

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    def set_roles(self, roles) -> None:
        self.roles = " ".join(r for r in ROLE_ORDER if r in set(roles))

    @property
    def role_labels(self) -> list[str]:
        return [ROLES[r] for r in ROLE_ORDER if r in self.role_set]

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def in_city_tenant(self) -> bool:
        return self.tenant.kind == "city"

    def __repr__(self) -> str:
        return f"<User {self.login_name}>"
