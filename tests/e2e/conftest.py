"""Fixtures for the end-to-end tests: Debian's chromium driven by Playwright, and the real
application served by werkzeug on a free local port, seeded with the demo city."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.demo import DEMO_TENANTS, demo_users, seed_demo_city
from portal.extensions import db
from tenants.models import Tenant
from tenants.scoping import wider_scope
from tests.conftest import TEST_PASSWORD, _make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The common office laptop (DESIGN.md, section 6).
VIEWPORT = {"width": 1366, "height": 768}

DISPLAY_NAMES = {login: name for _code, login, name, _role in demo_users()}
TENANT_NAMES = {code: name for code, name, _kind, _parent in DEMO_TENANTS}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so the page fixture knows whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ---- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing: install Debian's chromium package to run the e2e tests"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the end-to-end tests must run, not be skipped)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


# ---- the server --------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: Flask

    @contextlib.contextmanager
    def database(self):
        """A session over every tenant, as a CLI job would have; the caller commits."""
        with self.app.app_context(), wider_scope("cli"):
            yield db.session

    def tenant_id(self, code: str) -> int:
        with self.database() as session:
            return session.scalar(select(Tenant.id).where(Tenant.code == code))


@pytest.fixture
def live_server(database_url, tmp_path) -> Iterator[LiveServer]:
    # A server error must render the 500 page, not raise inside the server thread.
    app = _make_app(database_url, tmp_path / "instance", PROPAGATE_UNEXPECTED=False)
    with app.app_context():
        seed_demo_city(db.session, TEST_PASSWORD)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# ---- one browser tab per test ------------------------------------------------------------------


@dataclass
class Problems:
    """What the browser complained about while the test ran."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location.get("url") or ""
            self.console_errors.append(f"{msg.text} [{where}]" if where else msg.text)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]

    def clear(self) -> None:
        self.console_errors.clear()
        self.page_errors.clear()


@dataclass
class Portal:
    page: Page
    server: LiveServer
    problems: Problems

    def shot(self, step: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"e2e-{step}.png"), full_page=True)

    def settled(self) -> None:
        """Wait until htmx has settled the last boosted swap. The new page is visible before
        htmx wires up its hx- attributes (settle runs ~20 ms later), and a test, unlike a person,
        can type into a search box inside that gap. Also wait for the requests the new page
        starts on load (the notification bell): a test that ends the session next must not have
        one of them answer 401 and redirect under the request it means to test."""
        expect(self.page.locator("body")).not_to_have_class(re.compile(r"htmx-(swapping|settling)"))
        expect(self.page.locator(".htmx-request")).to_have_count(0)

    def sign_in(self, login_name: str, password: str = TEST_PASSWORD) -> None:
        """Fill and submit the login form; navigates to /login first unless already there."""
        if not re.search(r"/login(\?|$)", self.page.url):
            self.page.goto("/login")
        self.page.get_by_label("登录名", exact=True).fill(login_name)
        self.page.get_by_label("密码", exact=True).fill(password)
        self.page.get_by_role("button", name="登录", exact=True).click()


@pytest.fixture
def portal(browser, live_server, request) -> Iterator[Portal]:
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    problems = Problems()
    page.on("console", problems.on_console)
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    name = re.sub(r"[^\w-]+", "-", request.node.name).strip("-")
    ui = Portal(page, live_server, problems)
    try:
        yield ui
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            # A crashed page must not hide the test's own failure.
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=str(ARTIFACTS / f"e2e-FAILED-{name}.png"), full_page=True)
        elif report is not None and report.passed:
            # Every test, not only the dedicated one: the pages it visited broke no CSP rule
            # and threw no uncaught JavaScript error.
            assert problems.csp_violations() == [], problems.csp_violations()
            assert problems.page_errors == [], problems.page_errors
    finally:
        context.close()
