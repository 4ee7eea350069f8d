"""Helpers for policy tests: a valid form, posting a policy as a world user."""

from __future__ import annotations

from datetime import date

from portal.extensions import db
from portal.policies import service as policies
from tests.referral_helpers import acting

POLICY_FORM = {
    "title": "关于支持光伏产业高质量发展的若干措施",
    "issuer": "市人民政府办公室",
    "doc_number": "",
    "issued_on": "2024-03-15",
    "effective_on": "2024-04-01",
    "expires_on": "",
    "category": "产业扶持",
    "validity": "valid",
    "scope": "city",
    "body": "对新落户的光伏组件项目，按设备投资额给予补助。",
}


def policy_form(**overrides) -> dict:
    form = dict(POLICY_FORM)
    form.update(overrides)
    return form


def post_policy(world, login: str = "city.officer", **overrides) -> int:
    with acting(world, login) as actor:
        data = policies.parse_policy_input(policy_form(**overrides), date(2026, 12, 3))
        policy = policies.create_policy(db.session, actor, data)
        db.session.commit()
        return policy.id


def post_policy_with_file(world, login: str, filename: str, data: bytes, **overrides) -> int:
    """Post a policy with an attachment, the way the upload view does: checked, extracted,
    stored under a generated name, then the row."""
    from flask import current_app

    from portal.policies import files
    from portal.policies.storage import PolicyFiles

    upload = files.check_upload(filename, data)
    attachment = policies.Attachment(upload, files.extract_text(upload, data))
    key = PolicyFiles(current_app.config["POLICY_FILES_PATH"]).save(data)
    with acting(world, login) as actor:
        parsed = policies.parse_policy_input(policy_form(**overrides), date(2026, 12, 3))
        policy = policies.create_policy(db.session, actor, parsed, attachment, key)
        db.session.commit()
        return policy.id


def edit_policy(world, login: str, policy_id: int, **overrides) -> None:
    from portal.policies.models import Policy

    with acting(world, login) as actor:
        policy = db.session.get(Policy, policy_id)
        data = policies.parse_policy_input(policy_form(**overrides), date(2026, 12, 3))
        change = policies.AttachmentChange()
        policies.update_policy(db.session, actor, policy, data, policy.version, change)
        db.session.commit()
