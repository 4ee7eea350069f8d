"""Our only contact with the htmx-flask package: request questions and response headers."""

from __future__ import annotations

import json

from flask import Response, make_response, redirect, request
from htmx_flask import Htmx

htmx_extension = Htmx()


def init_app(app) -> None:
    htmx_extension.init_app(app)
    app.after_request(keep_address_after_boosted_post)


def is_htmx() -> bool:
    return bool(getattr(request, "htmx", False))


def wants_fragment(target: str | None = None) -> bool:
    """True for a targeted htmx request: not boosted navigation, not a history restore."""
    if not is_htmx() or request.htmx.boosted or request.htmx.history_restore_request:
        return False
    return target is None or request.htmx.target == target


def add_toast(response: Response, message: str, level: str = "info") -> Response:
    """Show a toast in the browser through HX-Trigger (kept with any other triggers)."""
    triggers = {}
    existing = response.headers.get("HX-Trigger")
    if existing:
        try:
            triggers = json.loads(existing)
        except ValueError:
            triggers = {existing: None}
    triggers["xqb:toast"] = {"message": message, "level": level}
    # Header values travel as Latin-1: keep the Chinese as \uXXXX escapes; htmx parses the JSON.
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return response


def client_redirect(url: str) -> Response:
    """Redirect that works for htmx too: HX-Trigger is dropped on a 3xx, so answer 204."""
    if is_htmx() and not request.htmx.boosted:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def keep_address_after_boosted_post(response: Response) -> Response:
    """A boosted form posted to an action URL and answered with a page (the form with its errors)
    would put that URL in the address bar, where reloading asks for it with GET: 405. Keep the
    address of the page the form was on instead."""
    answered_with_page = response.status_code != 204 and not 300 <= response.status_code < 400
    if (
        answered_with_page
        and request.method not in ("GET", "HEAD")
        and is_htmx()
        and request.htmx.boosted
        and "HX-Push-Url" not in response.headers
        and "HX-Replace-Url" not in response.headers
    ):
        response.headers["HX-Push-Url"] = "false"
    return response
