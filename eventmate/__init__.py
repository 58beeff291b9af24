"""EventMate: the application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import clock, config
from .extensions import compress, csrf, db, limiter, login_manager, migrate
from .web.requests import FormRequest

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: settings, extensions, database tuning, blueprints, errors, CLI."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(config.load(app.instance_path))
    app.config.update(overrides or {})
    app.request_class = FormRequest
    _configure_logging(app)
    _use_test_clock(app)
    _trust_proxies(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    with app.app_context():
        from .database import tune_engine

        tune_engine(db.engine)

    from .web import after, api, assets, attendee, errors, mine, organiser, public, pwa, security, templating

    templating.register(app)  # first: it adds the URL converter the blueprints use
    assets.register(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(organiser.bp)
    app.register_blueprint(attendee.bp)
    app.register_blueprint(after.bp)
    app.register_blueprint(mine.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pwa.bp)
    errors.register(app)
    security.register(app)

    from . import cli

    cli.register(app)
    return app


def _configure_logging(app: Flask) -> None:
    actions = logging.getLogger("eventmate.actions")
    # Domain actions go to stderr, unless the host (gunicorn, pytest) already set up logging.
    if not actions.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        actions.addHandler(handler)
    actions.setLevel(logging.INFO)


def _trust_proxies(app: Flask) -> None:
    """Behind EVENTMATE_PROXY_HOPS proxies, take the client's address and scheme from them.

    The forwarded host only when EVENTMATE_PROXY_TRUST_HOST says so: a proxy that passes a
    client's own X-Forwarded-Host on would otherwise let that client choose where links point.
    """
    hops = app.config["PROXY_HOPS"]
    if hops > 0:
        host_hops = hops if app.config["PROXY_TRUST_HOST"] else 0
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=host_hops)


def _use_test_clock(app: Flask) -> None:
    """A live test server may start at a chosen time; never outside testing."""
    test_now = app.config.get("TEST_NOW")
    if test_now is None:
        return
    if not app.config.get("TESTING"):
        raise RuntimeError("TEST_NOW is only honoured when TESTING is on")
    clock.set_now(clock.parse_iso(test_now) if isinstance(test_now, str) else test_now)
