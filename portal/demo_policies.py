"""`flask demo seed`, part three: the policy library (portal/policies/demo_library.py), posted
by each publisher tenant's officer through the policy service, attachments through the same
checks, extraction and storage as an upload."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import Actor
from portal.policies import files
from portal.policies import service as policies
from portal.policies.demo_library import DEMO_FILES_DIR, DEMO_POLICIES
from portal.policies.models import Policy
from portal.policies.storage import PolicyFiles
from tenants.models import User
from tenants.scoping import acting_as, wider_scope

# The demo was written as of this day: validity and dates hold then (and later: nothing
# in it is dated after it).
DEMO_TODAY = date(2026, 12, 1)


def _form(spec: dict) -> dict:
    def day(value):
        return value.isoformat() if value else ""

    return {
        "title": spec["title"],
        "issuer": spec["issuer"],
        "doc_number": spec["doc_number"],
        "issued_on": day(spec["issued"]),
        "effective_on": day(spec["effective"]),
        "expires_on": day(spec["expires"]),
        "category": spec["category"],
        "validity": spec["validity"],
        "scope": "city" if spec["scope_tenant_code"] is None else "own",
        "body": spec["body"],
    }


def _attachment(spec: dict, storage: PolicyFiles):
    if not spec["attachment"]:
        return None, None
    data = (DEMO_FILES_DIR / spec["attachment"]).read_bytes()
    upload = files.check_upload(spec["attachment_name"] or spec["attachment"], data)
    return policies.Attachment(upload, files.extract_text(upload, data)), storage.save(data)


def seed_demo_policies(session: Session, files_dir: str) -> int:
    """Post the demo policies not yet there (matched by title); return how many were created.
    The caller commits."""
    storage = PolicyFiles(files_dir)
    with wider_scope("cli"):
        existing = set(session.scalars(select(Policy.title)))
        officers = {
            user.tenant.code: user
            for user in session.scalars(select(User).where(User.login_name.like("%.officer")))
        }
    created = 0
    for spec in DEMO_POLICIES:
        if spec["title"] in existing:
            continue
        user = officers[spec["publisher_tenant_code"]]
        data = policies.parse_policy_input(_form(spec), DEMO_TODAY)
        attachment, key = _attachment(spec, storage)
        with acting_as(user):
            policies.create_policy(session, Actor.of(user, "127.0.0.1"), data, attachment, key)
        created += 1
    return created
