"""Policy documents (政策文件): metadata, body text, an optional attachment whose text is
extracted, and a scope (DESIGN.md §3, §5).

A policy belongs to the tenant that publishes and maintains it. ``city_wide`` policies are seen
by everyone signed in; the others by their own tenant and the city tenant. Assessors see what
every tenant sees (city-wide ones), nothing more: a scoped policy is not lead oversight.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, exists, or_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from tenants.scoping import SharedRecord

CATEGORIES = ("产业扶持", "招商引资", "土地要素", "人才政策", "财税金融", "营商环境")
VALIDITY = {"valid": "有效", "expired": "失效", "repealed": "废止"}


def _city_among(tenant_ids):
    tenant = db.metadata.tables["tenant"].alias()
    return exists().where(tenant.c.id.in_(tenant_ids), tenant.c.kind == "city")


class Policy(SharedRecord, db.Model):
    __tablename__ = "policy"
    __table_args__ = (Index("ix_policy_issued", "issued_on", "id"),)
    writer_tenant_column = "tenant_id"
    overseers_see_all = False

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)  # publisher
    city_wide: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(100))
    doc_number: Mapped[str] = mapped_column(String(60), default="", index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    effective_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(16))
    validity: Mapped[str] = mapped_column(String(16), default="valid")
    body: Mapped[str] = mapped_column(Text, default="")
    # The attachment: stored under ``attachment_key`` (a generated name) in the policy file
    # folder; ``attachment_name`` is the user's own file name, given back on download.
    attachment_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_kind: Mapped[str | None] = mapped_column(String(8))
    # As served: a TXT keeps the encoding it was written in (GB18030 from many office PCs).
    attachment_mimetype: Mapped[str | None] = mapped_column(String(100))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_text: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    publisher = relationship("Tenant", lazy="joined")
    created_by = relationship("User")

    @classmethod
    def visibility(cls, cols, tenant_ids, counting=False):
        return or_(
            cols.city_wide.is_(True), cols.tenant_id.in_(tenant_ids), _city_among(tenant_ids)
        )

    @property
    def validity_label(self) -> str:
        return VALIDITY.get(self.validity, self.validity)
