"""Managing the industry-chain list; plain functions over a session and the acting user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.activation import flip_active
from portal.audit import service as audit
from portal.leads.models import IndustryChain
from portal.validation import InputError, clean_name

# A realistic starting list for a prefecture-level city; the city admin edits it.
DEFAULT_CHAINS = [
    "电子信息",
    "新能源",
    "光伏光电",
    "锂电新能源",
    "新材料",
    "装备制造",
    "汽车及零部件",
    "生物医药",
    "绿色食品",
    "现代纺织服装",
    "数字经济",
    "现代物流",
    "文化旅游",
    "石油化工",
]


class ChainInputError(InputError):
    """A refused change to the industry-chain list."""


def all_chains(session: Session) -> list[IndustryChain]:
    """Every chain, active ones first: the choices of a filter (old leads keep retired chains)."""
    return list(
        session.scalars(
            select(IndustryChain).order_by(
                IndustryChain.active.desc(), IndustryChain.sort_order, IndustryChain.id
            )
        )
    )


def active_chains(session: Session) -> list[IndustryChain]:
    return list(
        session.scalars(
            select(IndustryChain)
            .where(IndustryChain.active.is_(True))
            .order_by(IndustryChain.sort_order, IndustryChain.id)
        )
    )


def _parse_order(value, errors: dict) -> int:
    try:
        order = int(str(value).strip() or "100")
    except ValueError:
        errors["sort_order"] = "排序须为 0–999 之间的整数。"
        return 100
    if not 0 <= order <= 999:
        errors["sort_order"] = "排序须为 0–999 之间的整数。"
    return order


def _check_name(session: Session, name: str, errors: dict, exclude_id: int | None = None) -> str:
    name = clean_name(name)
    if not name or len(name) > 40:
        errors["name"] = "请填写产业链名称（不超过 40 个字）。"
        return name
    clash = select(IndustryChain.id).where(IndustryChain.name == name)
    if exclude_id is not None:
        clash = clash.where(IndustryChain.id != exclude_id)
    if session.scalar(clash):
        errors["name"] = "已有同名产业链。"
    return name


def add_chain(session: Session, actor: audit.Actor, *, name: str, sort_order) -> IndustryChain:
    errors: dict[str, str] = {}
    name = _check_name(session, name, errors)
    order = _parse_order(sort_order, errors)
    if errors:
        raise ChainInputError(errors)
    chain = IndustryChain(name=name, sort_order=order, active=True)
    session.add(chain)
    try:
        session.flush()
    except IntegrityError as exc:  # the same name added twice at once
        session.rollback()
        raise ChainInputError({"name": "已有同名产业链。"}) from exc
    audit.record(
        session,
        actor,
        "chain_added",
        object_type="industry_chain",
        object_id=chain.id,
        after=_snapshot(chain),
    )
    return chain


def update_chain(
    session: Session, actor: audit.Actor, chain: IndustryChain, *, name: str, sort_order
) -> IndustryChain:
    errors: dict[str, str] = {}
    name = _check_name(session, name, errors, exclude_id=chain.id)
    order = _parse_order(sort_order, errors)
    if errors:
        raise ChainInputError(errors)
    before = _snapshot(chain)
    chain.name, chain.sort_order = name, order
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ChainInputError({"name": "已有同名产业链。"}) from exc
    if before != _snapshot(chain):
        audit.record(
            session,
            actor,
            "chain_updated",
            object_type="industry_chain",
            object_id=chain.id,
            before=before,
            after=_snapshot(chain),
        )
    return chain


def set_chain_active(
    session: Session, actor: audit.Actor, chain: IndustryChain, active: bool
) -> None:
    """Retire or restore a chain; of two admins pressing at once, one wins."""
    if not flip_active(session, chain, active):
        state = "启用" if active else "停用"
        raise ChainInputError({"active": f"该产业链已处于{state}状态（可能刚被其他管理员修改）。"})
    audit.record(
        session,
        actor,
        "chain_activated" if active else "chain_deactivated",
        object_type="industry_chain",
        object_id=chain.id,
        before={"active": not active},
        after={"active": active},
    )


def seed_default_chains(session: Session) -> int:
    """Add the default list where missing (the demo seed); returns how many were added."""
    existing = set(session.scalars(select(IndustryChain.name)))
    added = 0
    for order, name in enumerate(DEFAULT_CHAINS, start=1):
        if name not in existing:
            session.add(IndustryChain(name=name, sort_order=order * 10, active=True))
            added += 1
    session.flush()
    return added


def _snapshot(chain: IndustryChain) -> dict:
    return {"name": chain.name, "sort_order": chain.sort_order, "active": chain.active}
