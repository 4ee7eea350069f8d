"""Request plumbing: who is signed in, access rules, the tenant scope, headers and error pages."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, g, make_response, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal import htmx
from portal.access import PUBLIC, rule_of
from portal.database import write_intent
from portal.extensions import db, login_manager
from tenants.scoping import Scope, enter_scope, leave_scope, user_scope

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints a user who must change the password may still reach.
PASSWORD_CHANGE_ENDPOINTS = frozenset(
    {"auth.change_password", "auth.logout", "static", "health.healthz"}
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)

ERROR_MESSAGES = {
    400: "请求无效，请检查后重试。",
    401: "登录已过期，请重新登录。",
    403: "您没有权限执行此操作。",
    404: "找不到该页面或对象，可能已被删除，或您无权查看。",
    405: "不支持该请求方式。",
    413: "上传的内容过大。",
    500: "系统出现错误，已记录，请稍后再试。",
}
CSRF_MESSAGE = "页面已过期或表单校验失败，请刷新页面后重试。"
INVALID_CHARACTERS_MESSAGE = "输入内容包含无法识别的控制字符，请删除后重试。"
# NUL cannot be stored in PostgreSQL text; no legitimate input carries it or other C0 controls
# except tab and line breaks.
FORBIDDEN_CHARACTERS = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}

SHANGHAI = ZoneInfo("Asia/Shanghai")


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_user)
    app.view_functions["static"].access_rule = PUBLIC
    app.before_request(_before_request)
    app.teardown_request(_teardown_request)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(PermissionError, _permission_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.add_template_filter(local_datetime, "local_dt")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(deadline_text, "due")
    app.context_processor(_template_context)


def _load_user(token: str):
    from portal.auth.service import load_session_user

    return load_session_user(db.session, token)


def client_addr() -> str:
    return (request.remote_addr or "")[:64]


def current_actor():
    """The signed-in user as the audit log names them, with their address."""
    from portal.audit.service import Actor

    return Actor.of(current_user._get_current_object(), client_addr())


def apply_toggle(action, success: str) -> bool:
    """Run a one-button change (activate, retire, delete): commit and flash ``success``, or, when
    the service refuses, roll back and flash its reason. Returns whether it was applied."""
    from flask import flash

    from portal.validation import InputError

    try:
        action()
    except InputError as exc:
        db.session.rollback()
        flash(exc.first_message, "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def _before_request():
    g.write_intent_token = write_intent.set(request.method not in SAFE_METHODS)
    if _has_forbidden_characters():
        return error_response(400, INVALID_CHARACTERS_MESSAGE)
    user = current_user if current_user.is_authenticated else None
    scope = user_scope(user) if user is not None else Scope("anonymous", frozenset(), None)
    g.scope_token = enter_scope(scope)
    return _enforce_access(user)


def _has_forbidden_characters() -> bool:
    try:
        values = [*request.args.values(), *request.args.keys()]
        if request.method not in SAFE_METHODS:
            values += [*request.form.values(), *request.form.keys()]
    except UnicodeDecodeError:
        return True
    return any(ch in FORBIDDEN_CHARACTERS for value in values for ch in value)


def _enforce_access(user):
    view = _view_function()
    if view is None:
        return None  # unknown URL: routing raises 404/405 itself
    rule = rule_of(view)
    if rule is None:
        # Fail closed: a route that forgot to declare its rule is refused, and the suite fails.
        return error_response(403)
    if rule.requires_sign_in and user is None:
        return login_required_response()
    if not rule.allows(user):
        return error_response(403)
    must_change = user is not None and user.must_change_password
    if must_change and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return htmx.client_redirect(url_for("auth.change_password"))
    return None


def _view_function():
    if request.url_rule is None:
        return None
    from flask import current_app

    return current_app.view_functions.get(request.endpoint)


def _teardown_request(exc=None):
    token = g.pop("scope_token", None)
    if token is not None:
        leave_scope(token)
    intent = g.pop("write_intent_token", None)
    if intent is not None:
        write_intent.reset(intent)


def login_required_response():
    if htmx.is_htmx():
        # Back to the page the user was on, filters included, once signed in again.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        page = (current.path or "/") + (f"?{current.query}" if current.query else "")
        response = htmx.add_toast(render_error_body(401), ERROR_MESSAGES[401], "warning")
        response.status_code = 401
        response.headers["HX-Redirect"] = url_for("auth.login", next=safe_next(page) or None)
        return response
    target = request.full_path if request.query_string else request.path
    from flask import redirect

    return redirect(url_for("auth.login", next=safe_next(target) or None))


def safe_next(target: str | None) -> str | None:
    """A local path to return to after sign-in, or None. Anything that could leave the site is
    refused: schemes, hosts, protocol-relative and backslash forms, control characters."""
    if not target or len(target) > 2000:
        return None
    if any(ch in target for ch in "\\\r\n\t\x00") or any(ord(ch) < 32 for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def render_error_body(status: int, message: str | None = None):
    message = message or ERROR_MESSAGES.get(status, ERROR_MESSAGES[400])
    template = "errors/fragment.html" if htmx.wants_fragment() else "errors/error.html"
    return make_response(render_template(template, status=status, message=message), status)


def error_response(status: int, message: str | None = None):
    message = message or ERROR_MESSAGES.get(status, ERROR_MESSAGES[400])
    response = render_error_body(status, message)
    if htmx.is_htmx():
        htmx.add_toast(response, message, "error")
    return response


def _csrf_error(exc: CSRFError):
    db.session.rollback()
    return error_response(400, CSRF_MESSAGE)


def _permission_error(exc: PermissionError):
    # A domain service refused the actor (tenants.admin.NotAllowedError and the like): the access
    # rules should have stopped the request earlier, so this is the second line of defence.
    db.session.rollback()
    return error_response(403)


def _http_error(exc: HTTPException):
    if exc.code == 401:
        return login_required_response()
    if exc.code is None or exc.code < 400:
        return exc
    db.session.rollback()
    return error_response(exc.code, _message_for(exc))


def _message_for(exc: HTTPException) -> str | None:
    # A view may raise abort(400, description="…中文…") to explain bad input.
    description = exc.description or ""
    if exc.code in (400, 409, 422) and any("\u4e00" <= ch <= "\u9fff" for ch in description):
        return description
    return None


def _unexpected_error(exc: Exception):
    from flask import current_app

    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if current_app.testing and current_app.config.get("PROPAGATE_UNEXPECTED", True):
        raise exc
    return error_response(500)


def _security_headers(response):
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.vary.update(("Cookie", "HX-Request"))
    if current_user.is_authenticated or request.endpoint == "auth.login":
        headers["Cache-Control"] = "no-store"
    return response


def local_datetime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def deadline_text(value) -> str:
    """A deadline as people say it: "2026-03-02 24:00", not "2026-03-03 00:00"."""
    if value is None:
        return ""
    from portal.workdays.calendar import deadline_day

    return f"{deadline_day(value).isoformat()} 24:00"


def local_date(value) -> str:
    return local_datetime(value, "%Y-%m-%d")


def _calendar_years_to_update(user) -> list[int]:
    """For the city admin's banner: years whose holidays nobody has entered yet."""
    if user is None or not (user.has_role("admin") and user.tenant.kind == "city"):
        return []
    from portal.database import utcnow
    from portal.workdays.calendar import local_date
    from portal.workdays.service import years_needing_update

    return years_needing_update(db.session, local_date(utcnow()))


def _template_context():
    from portal.audit.service import ACTION_LABELS
    from portal.navigation import navigation_for
    from tenants.models import TENANT_KINDS

    user = current_user if current_user.is_authenticated else None
    return {
        "calendar_years_to_update": _calendar_years_to_update(user),
        "nav_items": navigation_for(user),
        "signed_in_user": user,
        "tenant_kinds": TENANT_KINDS,
        "action_labels": ACTION_LABELS,
    }


def form_response(
    body: str,
    errors: dict[str, str],
    conflict_field: str | None = None,
    status: int | None = None,
):
    """A form page: 200, or 422 for refused input (409 when ``conflict_field`` is among the
    errors: someone saved in between; ``status`` when the service said why), with the first
    message as a toast for htmx requests."""
    if status is None:
        status = 200
        if errors:
            status = 409 if conflict_field and conflict_field in errors else 422
    response = make_response(body, status)
    if errors and htmx.is_htmx():
        htmx.add_toast(response, next(iter(errors.values())), "error")
    return response
