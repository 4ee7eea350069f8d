"""Index documents built from the database: what each lead and each policy puts in the index.

A lead's document holds its title; its company, credit code and lead code (``names``); its
description and company origin (``body``); its filters; and the labels of who may see it
(DESIGN.md §5): ``t<id>`` for every tenant on its access list (owner, senders, receivers) and
``overseer`` (the city and assessors). The confidential contact is never indexed. ``fingerprint``
is a hash of everything else, so ``flask search check`` can tell a stale document.

A policy's document holds its title; its 文号 and issuer (``names``); its body and the text of
its attachment (``body``); and ``all`` (city-wide) or its tenant's and the city's labels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, select

from portal.workdays.calendar import local_date

OVERSEER_LABEL = "overseer"
EVERYONE_LABEL = "all"
BATCH = 500


def tenant_label(tenant_id: int) -> str:
    return f"t{tenant_id}"


def doc_id(kind: str, object_id: int) -> str:
    return f"{kind}:{object_id}"


def fingerprint(document: dict) -> str:
    content = {k: v for k, v in document.items() if k != "fingerprint"}
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def lead_documents(session, lead_ids: Iterable[int]) -> dict[int, dict | None]:
    """The document of each lead id, or None for a lead that no longer exists. Reads in the
    caller's (wide) scope."""
    from portal.leads.models import Lead, LeadAccess

    ids = sorted(set(lead_ids))
    found: dict[int, dict | None] = dict.fromkeys(ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        labels: dict[int, list[str]] = {}
        for lead_id, tenant_id in session.execute(
            select(LeadAccess.lead_id, LeadAccess.tenant_id)
            .where(LeadAccess.lead_id.in_(chunk))
            .order_by(LeadAccess.lead_id, LeadAccess.tenant_id)
        ):
            labels.setdefault(lead_id, []).append(tenant_label(tenant_id))
        for lead in session.scalars(select(Lead).where(Lead.id.in_(chunk))):
            found[lead.id] = lead_document(lead, labels.get(lead.id, []))
    return found


def lead_document(lead, labels: list[str]) -> dict:
    document = {
        "doc_id": doc_id("lead", lead.id),
        "kind": "lead",
        "object_id": lead.id,
        "title": lead.title,
        "names": " ".join(part for part in (lead.company, lead.credit_code, lead.code) if part),
        "body": "\n".join(part for part in (lead.company_origin, lead.description) if part),
        "labels": " ".join(sorted({*labels, OVERSEER_LABEL})),
        "chain": str(lead.chain_id or ""),
        "stage": lead.stage,
        "tenant": str(lead.tenant_id),
        "validity": "",
        "year": local_date(lead.created_at).year,
        "when": lead.created_at.replace(tzinfo=None),
    }
    document["fingerprint"] = fingerprint(document)
    return document


def policy_documents(session, policy_ids: Iterable[int]) -> dict[int, dict | None]:
    """The document of each policy id, or None for one that no longer exists."""
    from portal.policies.models import Policy

    ids = sorted(set(policy_ids))
    found: dict[int, dict | None] = dict.fromkeys(ids)
    city_labels = [tenant_label(tenant_id) for tenant_id in _city_tenant_ids(session)]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        for policy in session.scalars(select(Policy).where(Policy.id.in_(chunk))):
            found[policy.id] = policy_document(policy, city_labels)
    return found


def _city_tenant_ids(session) -> list[int]:
    from tenants.models import Tenant

    return list(session.scalars(select(Tenant.id).where(Tenant.kind == "city")))


def policy_document(policy, city_labels: list[str]) -> dict:
    """City-wide policies carry ``all``; the others their tenant's label and the city's."""
    if policy.city_wide:
        labels = {EVERYONE_LABEL}
    else:
        labels = {tenant_label(policy.tenant_id), *city_labels}
    document = {
        "doc_id": doc_id("policy", policy.id),
        "kind": "policy",
        "object_id": policy.id,
        "title": policy.title,
        "names": " ".join(part for part in (policy.doc_number, policy.issuer) if part),
        "body": "\n".join(part for part in (policy.body, policy.attachment_text) if part),
        "labels": " ".join(sorted(labels)),
        "chain": "",
        "stage": "",
        "tenant": str(policy.tenant_id),
        "validity": policy.validity,
        "year": policy.issued_on.year,
        "when": datetime.combine(policy.issued_on, time()),
    }
    document["fingerprint"] = fingerprint(document)
    return document


def _all_ids(session, model) -> Iterator[list[int]]:
    """Every id of ``model``, in batches (keyset pagination: no OFFSET over a large table)."""
    last = 0
    while True:
        batch = list(
            session.scalars(select(model.id).where(model.id > last).order_by(model.id).limit(BATCH))
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


def _model(kind: str):
    from portal.leads.models import Lead
    from portal.policies.models import Policy

    return {"lead": Lead, "policy": Policy}[kind]


@dataclass(frozen=True)
class DocumentKind:
    """How one kind of document is built, listed and counted from the database."""

    name: str
    build: Callable[..., dict[int, dict | None]]

    def all_ids(self, session) -> Iterator[list[int]]:
        return _all_ids(session, _model(self.name))

    def count(self, session) -> int:
        model = _model(self.name)
        return session.scalar(select(func.count(model.id))) or 0


KINDS = {
    "lead": DocumentKind("lead", lead_documents),
    "policy": DocumentKind("policy", policy_documents),
}
