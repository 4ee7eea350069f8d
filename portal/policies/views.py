"""The policy library (政策文件): list, page, register, edit, attachment download."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_wtf import FlaskForm

from portal import htmx
from portal.access import SIGNED_IN, access, roles
from portal.database import utcnow
from portal.extensions import db
from portal.ids import parse_id
from portal.pagination import parse_page
from portal.policies import files, service
from portal.policies.models import CATEGORIES, VALIDITY, Policy
from portal.policies.storage import PolicyFiles
from portal.web import current_actor, form_response
from portal.workdays.calendar import local_date
from tenants.admin import filter_tenants

log = logging.getLogger(__name__)
bp = Blueprint("policies", __name__)

POLICY_EDITORS = roles("officer", "head")
LIST_TARGET = "policy-results"
FORM_FIELDS = (
    "title",
    "issuer",
    "doc_number",
    "issued_on",
    "effective_on",
    "expires_on",
    "category",
    "validity",
    "scope",
    "body",
)


class PolicyForm(FlaskForm):
    """Carries the CSRF token; the service reads and checks the fields."""


def policy_files() -> PolicyFiles:
    return PolicyFiles(current_app.config["POLICY_FILES_PATH"])


def _today():
    return local_date(utcnow())


def _policy_or_404(policy_id: int) -> Policy:
    policy = db.session.get(Policy, policy_id)
    if policy is None:
        abort(404)
    return policy


@bp.route("/policies")
@access(SIGNED_IN)
def policy_list():
    today = _today()
    tenants = filter_tenants(db.session)
    filters = service.parse_list_filters(request.args, today, {t.id for t in tenants})
    actor = current_actor()
    page = service.policy_page(db.session, actor, filters, parse_page(request.args.get("page")))
    context = {
        "page": page,
        "filters": filters,
        "today": today,
        "past_expiry": service.past_expiry,
    }
    if htmx.wants_fragment(LIST_TARGET):
        return render_template("policies/_rows.html", **context)
    return render_template(
        "policies/list.html",
        categories=CATEGORIES,
        validity=VALIDITY,
        scopes=service.LIST_SCOPES,
        tenants=tenants,
        sorts=service.SORTS,
        years=range(today.year, today.year - 15, -1),
        may_create=actor.has_role("officer", "head"),
        **context,
    )


@bp.route("/policies/<int:policy_id>")
@access(SIGNED_IN)
def policy_detail(policy_id: int):
    policy = _policy_or_404(policy_id)
    return render_template(
        "policies/detail.html",
        policy=policy,
        may_edit=service.may_edit(current_actor(), policy),
        past_expiry=service.past_expiry(policy, _today()),
    )


@bp.route("/policies/<int:policy_id>/file")
@access(SIGNED_IN)
def policy_file(policy_id: int):
    """The attachment, only after the scoped read above found the policy visible; sent under
    the user's original (Chinese) file name."""
    policy = _policy_or_404(policy_id)
    if not policy.attachment_key:
        abort(404)
    storage = policy_files()
    if not storage.exists(policy.attachment_key):
        log.error("policy %s: attachment %s missing on disk", policy.id, policy.attachment_key)
        abort(404)
    response = send_file(
        storage.path(policy.attachment_key),
        mimetype=policy.attachment_mimetype or "application/octet-stream",
        as_attachment=True,
        download_name=policy.attachment_name or f"policy-{policy.id}.{policy.attachment_kind}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    # send_file appends "; charset=utf-8" to any text type; keep the file's own encoding.
    response.headers["Content-Type"] = policy.attachment_mimetype or "application/octet-stream"
    return response


def _read_upload(errors: dict) -> tuple[service.Attachment, bytes] | None:
    """The chosen file, checked and its text extracted; None (and a message) otherwise."""
    chosen = request.files.get("attachment")
    if chosen is None or not chosen.filename:
        return None
    limit = current_app.config["POLICY_MAX_UPLOAD_BYTES"]
    data = chosen.stream.read(limit + 1)
    try:
        upload = files.check_upload(chosen.filename, data, limit)
        text = files.extract_text(upload, data)
    except files.UploadRejected as exc:
        errors["attachment"] = exc.message
        return None
    return service.Attachment(upload, text), data


def _parse(errors: dict):
    try:
        return service.parse_policy_input(request.form, _today())
    except service.PolicyError as exc:
        errors.update(exc.errors)
        return None


def _form_context(values, errors, policy: Policy | None = None) -> dict:
    return {
        "values": values,
        "errors": errors,
        "policy": policy,
        "categories": CATEGORIES,
        "validity": VALIDITY,
        "scopes": service.SCOPES,
        "max_upload_mb": current_app.config["POLICY_MAX_UPLOAD_BYTES"] // (1024 * 1024),
    }


def _saved(policy: Policy, upload_text: str | None, message: str):
    if upload_text is not None and not upload_text.strip():
        flash("附件已保存，但未能从中提取文字（可能是扫描件），搜索只能找到标题和正文。", "warning")
    flash(message, "success")
    return htmx.client_redirect(url_for("policies.policy_detail", policy_id=policy.id))


@bp.route("/policies/new", methods=["GET", "POST"])
@access(POLICY_EDITORS)
def policy_new():
    form = PolicyForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        data = _parse(errors)
        read = _read_upload(errors)
        if not errors:
            storage = policy_files()
            key = storage.save(read[1]) if read else None
            try:
                policy = service.create_policy(
                    db.session, current_actor(), data, read[0] if read else None, key
                )
                db.session.commit()
            except service.PolicyError as exc:
                db.session.rollback()
                storage.delete(key)
                errors = exc.errors
            except BaseException:
                db.session.rollback()
                storage.delete(key)
                raise
            else:
                return _saved(policy, read[0].text if read else None, f"已登记“{policy.title}”。")
    values = request.form if errors else {"validity": "valid", "scope": "city"}
    body = render_template("policies/form.html", form=form, **_form_context(values, errors))
    return form_response(body, errors, conflict_field="version")


def _policy_values(policy: Policy) -> dict:
    return {
        "title": policy.title,
        "issuer": policy.issuer,
        "doc_number": policy.doc_number,
        "issued_on": policy.issued_on.isoformat(),
        "effective_on": policy.effective_on.isoformat() if policy.effective_on else "",
        "expires_on": policy.expires_on.isoformat() if policy.expires_on else "",
        "category": policy.category,
        "validity": policy.validity,
        "scope": "city" if policy.city_wide else "own",
        "body": policy.body,
        "version": policy.version,
    }


@bp.route("/policies/<int:policy_id>/edit", methods=["GET", "POST"])
@access(POLICY_EDITORS)
def policy_edit(policy_id: int):
    policy = _policy_or_404(policy_id)
    actor = current_actor()
    if not service.may_edit(actor, policy):
        raise PermissionError("only the publishing tenant edits a policy")
    form = PolicyForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        data = _parse(errors)
        read = _read_upload(errors)
        if not errors:
            storage = policy_files()
            change = service.AttachmentChange(
                new=read[0] if read else None,
                new_key=storage.save(read[1]) if read else None,
                remove=request.form.get("remove_attachment") == "1",
            )
            # A form without a readable version cannot prove it saw the latest edit.
            version = parse_id(request.form.get("version")) or -1
            try:
                service.update_policy(db.session, actor, policy, data, version, change)
                db.session.commit()
            except service.PolicyError as exc:
                db.session.rollback()
                storage.delete(change.new_key)
                errors = exc.errors
            except BaseException:
                db.session.rollback()
                storage.delete(change.new_key)
                raise
            else:
                storage.delete(change.replaced_key)
                return _saved(policy, read[0].text if read else None, "已保存政策文件。")
    values = request.form if errors else _policy_values(policy)
    body = render_template(
        "policies/form.html", form=form, **_form_context(values, errors, policy=policy)
    )
    return form_response(body, errors, conflict_field="version")
