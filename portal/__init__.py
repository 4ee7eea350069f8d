"""信息桥 portal: the Flask application factory."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as portal_config
from portal.extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config: dict | None = None) -> Flask:
    from portal.ids import BoundedIntConverter

    app = Flask(
        __name__,
        instance_path=os.environ.get(
            "PORTAL_INSTANCE_PATH", os.path.join(PROJECT_ROOT, "instance")
        ),
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
    )
    app.url_map.converters["int"] = BoundedIntConverter
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(portal_config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"])

    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    from portal import web

    web.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from portal import htmx
    from portal.auth import passwords
    from search import extension as search_extension

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(PROJECT_ROOT, "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    search_extension.init_app(app)
    passwords.configure(app.config["PASSWORD_HASH_METHOD"])
    _import_models()


def _import_models() -> None:
    # Every model module, so that metadata (and Alembic) sees the whole schema.
    import portal.assessment.models  # noqa: F401
    import portal.audit.models  # noqa: F401
    import portal.auth.models  # noqa: F401
    import portal.leads.models  # noqa: F401
    import portal.notifications.models  # noqa: F401
    import portal.policies.models  # noqa: F401
    import portal.referrals.models  # noqa: F401
    import portal.workdays.models  # noqa: F401
    import search.models  # noqa: F401
    import tenants.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from portal.assessment.appeal_views import bp as appeals_bp
    from portal.assessment.views import bp as assessment_bp
    from portal.audit.views import bp as audit_bp
    from portal.auth.views import bp as auth_bp
    from portal.dashboard.views import bp as dashboard_bp
    from portal.health import bp as health_bp
    from portal.leads.views import bp as leads_bp
    from portal.notifications.views import bp as notifications_bp
    from portal.policies.views import bp as policies_bp
    from portal.referrals.views import bp as referrals_bp
    from portal.workdays.views import bp as workdays_bp
    from search.views import bp as search_bp
    from tenants.views import bp as tenants_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(tenants_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(workdays_bp)
    app.register_blueprint(leads_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(policies_bp)
    app.register_blueprint(assessment_bp)
    app.register_blueprint(appeals_bp)
    app.register_blueprint(search_bp)


def _register_cli(app: Flask) -> None:
    from portal.assessment.cli import assessment_cli
    from portal.audit.cli import audit_cli
    from portal.demo import demo_cli
    from portal.notifications.cli import deadlines_cli
    from search.cli import search_cli

    app.cli.add_command(assessment_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(deadlines_cli)
    app.cli.add_command(search_cli)
