"""Index documents built from the database: what each lead puts in the index.

A lead's document holds its title; its company, credit code and lead code (``names``); its
description and company origin (``body``); its filters; and the labels of who may see it
(DESIGN.md §5): ``t<id>`` for every tenant on its access list (owner, senders, receivers) and
``overseer`` (the city and assessors). The confidential contact is never indexed. ``fingerprint``
is a hash of everything else, so ``flask search check`` can tell a stale document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

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


def all_lead_ids(session) -> Iterator[list[int]]:
    """Every lead id, in batches (keyset pagination: no OFFSET over a large table)."""
    from portal.leads.models import Lead

    last = 0
    while True:
        batch = list(
            session.scalars(select(Lead.id).where(Lead.id > last).order_by(Lead.id).limit(BATCH))
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


def lead_count(session) -> int:
    from portal.leads.models import Lead

    return session.scalar(select(func.count(Lead.id))) or 0
