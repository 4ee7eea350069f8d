"""Writing and verifying the audit chain. Plain functions over a session: no Flask here."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import GENESIS_HASH, AuditEvent
from portal.database import utcnow
from tenants.scoping import wider_scope

# Any constant works: all audit writers on PostgreSQL take this advisory lock, so the chain never
# forks. On SQLite the write transaction (BEGIN IMMEDIATE) already serialises them.
AUDIT_CHAIN_LOCK_KEY = 7_345_001

ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "password_changed": "修改密码",
    "tenant_created": "新建单位",
    "tenant_updated": "修改单位",
    "tenant_deactivated": "停用单位",
    "tenant_activated": "启用单位",
    "user_created": "新建用户",
    "user_updated": "修改用户",
    "user_deactivated": "停用用户",
    "user_activated": "启用用户",
    "user_password_reset": "重置密码",
    "user_roles_changed": "调整角色",
    "calendar_day_added": "设置节假日/调休",
    "calendar_day_removed": "删除节假日/调休",
    "chain_added": "新增产业链",
    "chain_updated": "修改产业链",
    "chain_activated": "启用产业链",
    "chain_deactivated": "停用产业链",
    "lead_created": "登记线索",
    "lead_updated": "修改线索",
    "lead_stage_recorded": "登记项目进展",
    "referral_sent": "推送线索",
    "referral_accepted": "签收推送",
    "referral_return_requested": "申请退回",
    "referral_returned": "同意退回",
    "referral_return_refused": "不同意退回",
    "referral_withdrawn": "撤回推送",
    "referral_transferred": "转交线索",
    "referral_feedback": "对接反馈",
    "referral_landed": "登记落地",
    "referral_not_landed": "登记未落地",
    "referral_urged": "催办",
    "extension_requested": "申请延期",
    "extension_approved": "同意延期",
    "extension_refused": "不同意延期",
    "referral_defaults_changed": "修改反馈时限默认值",
    "referral_escalated": "逾期升级督办",
    "policy_created": "登记政策文件",
    "policy_updated": "修改政策文件",
    "credit_approved": "通过积分条目",
    "credit_rejected": "驳回积分条目",
    "credit_adjusted": "调整积分条目",
    "credit_corrected": "年度锁定后更正积分",
    "credit_year_locked": "锁定考核年度",
    "credit_year_published": "公示考核结果",
    "credit_rules_changed": "修改积分规则",
}


def canonical_json(value) -> str:
    if value is None or value == "":
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_hash(event: AuditEvent) -> str:
    occurred = event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload = [
        event.prev_hash,
        occurred,
        event.tenant_id,
        event.actor_id,
        event.actor_name,
        event.action,
        event.object_type,
        event.object_id,
        event.before,
        event.after,
        event.client_addr,
    ]
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, or the system (CLI, anonymous visitor)."""

    user_id: int | None
    name: str
    tenant_id: int | None
    client_addr: str = ""
    # What domain services check the actor against; not part of the audit record itself.
    roles: frozenset[str] = frozenset()
    tenant_kind: str = ""
    display_name: str = ""

    @classmethod
    def of(cls, user, client_addr: str = "") -> Actor:
        return cls(
            user.id,
            user.login_name,
            user.tenant_id,
            client_addr,
            user.role_set,
            user.tenant.kind,
            user.display_name,
        )

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def oversees_leads(self) -> bool:
        return self.tenant_kind == "city" or "assessor" in self.roles


SYSTEM = Actor(None, "system", None)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    tenant_id: int | None = None,
    object_type: str = "",
    object_id: object = "",
    before=None,
    after=None,
) -> AuditEvent:
    """Append one event in the caller's transaction; it commits or rolls back with the change."""
    with wider_scope("audit_chain"):
        _lock_chain(session)
        prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        event = AuditEvent(
            tenant_id=tenant_id if tenant_id is not None else actor.tenant_id,
            occurred_at=utcnow(),
            actor_id=actor.user_id,
            actor_name=actor.name,
            action=action,
            object_type=object_type,
            object_id=str(object_id) if object_id not in (None, "") else "",
            before=canonical_json(before),
            after=canonical_json(after),
            client_addr=actor.client_addr or "",
            prev_hash=prev or GENESIS_HASH,
        )
        event.hash = event_hash(event)
        session.add(event)
        session.flush()
    return event


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_CHAIN_LOCK_KEY)))


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(session: Session, batch_size: int = 1000) -> ChainReport:
    """Walk the chain in order and report the first event whose link or content is wrong."""
    with wider_scope("audit_chain"):
        return walk_chain(
            session,
            AuditEvent,
            event_hash,
            batch_size,
            ("previous-hash link does not match", "content does not match its hash"),
        )


def walk_chain(session: Session, model, hash_of, batch_size: int, messages) -> ChainReport:
    """Walk a hash-chained table (``id``, ``prev_hash``, ``hash``) in id order, in batches read
    afresh from the database, and report the first row whose link or content is wrong.
    ``messages``: what to say of a broken link and of altered content. The caller opens the
    scope that lets it read every row."""
    broken_link, altered = messages
    expected_prev = GENESIS_HASH
    checked = last_id = 0
    while True:
        batch = session.scalars(
            select(model)
            .where(model.id > last_id)
            .order_by(model.id)
            .limit(batch_size)
            .execution_options(populate_existing=True)
        ).all()
        if not batch:
            return ChainReport(checked)
        for row in batch:
            if row.prev_hash != expected_prev:
                return ChainReport(checked, row.id, broken_link)
            if hash_of(row) != row.hash:
                return ChainReport(checked, row.id, altered)
            expected_prev = row.hash
            checked += 1
            last_id = row.id
