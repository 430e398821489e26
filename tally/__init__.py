"""The Piaojue tally service (Flask): meetings, check-in, ballot intake, the public log,
receipts and threshold results, per SPEC §11. ``create_app()`` is the factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from tally.config import Config
from tally.errors import APIError


def database_url(app: Flask) -> str:
    configured = app.config.get("DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{Path(app.instance_path) / 'piaojue.sqlite3'}"


def create_app(test_config: dict[str, Any] | type | None = None, *, instance_path: str | None = None) -> Flask:
    """The app factory. ``test_config`` (a dict or a config class) overrides :class:`Config`;
    ``instance_path`` moves the instance folder (the SQLite file, demo trustee files, the KEK)."""
    configured = test_config.get("INSTANCE_PATH") if isinstance(test_config, dict) else getattr(
        test_config, "INSTANCE_PATH", None)
    instance_path = instance_path or configured or Config.INSTANCE_PATH
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_object(Config)
    if isinstance(test_config, dict):
        app.config.update(test_config)
    elif test_config is not None:
        app.config.from_object(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    provider = cast(DefaultJSONProvider, app.json)  # Flask's default provider: no other is set
    provider.sort_keys = False
    provider.ensure_ascii = False

    from tally.store import db, migrations

    url = database_url(app)
    app.config["DATABASE_URL"] = url
    db.init_app(app, url)
    if url.startswith("sqlite") and app.config.get("AUTO_MIGRATE", True):
        migrations.upgrade(app)

    from tally.api import demo_control, public, staff
    from tally.http import check_path_ids
    from tally.live import broadcast
    from tally.web import kiosk

    broadcast.init_app(app)

    app.url_value_preprocessor(check_path_ids)
    app.register_blueprint(public.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(kiosk.receipt_bp)
    app.register_blueprint(demo_control.bp)
    _register_error_handlers(app)

    # Staff web pages (issue #5): Flask-Babel, Flask-Login, CSRF (staff pages only), blueprints.
    from tally import web

    web.init_app(app)
    web.csrf.exempt(staff.bp)  # the staff JSON API authenticates with bearer tokens, not cookies

    # Rate limits and the client address behind trusted proxies (issue #6).
    from tally.ops import ratelimit

    ratelimit.init_app(app)

    from tally import cli
    from tally.services import timers

    cli.init_app(app)
    if app.config.get("VOTE_TIMER", True) and not app.config.get("TESTING"):
        app.extensions["piaojue.timer"] = timers.start(app)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def api_error(exc: APIError):
        return jsonify(exc.to_json()), exc.status

    @app.errorhandler(OperationalError)
    def store_unavailable(exc: OperationalError):
        # The store refused a write or a connection (disk full, database down): the client may
        # retry the same request. If the connection broke during a commit that did succeed, the
        # retry finds the ballot logged and gets the same receipt: never logged twice.
        app.logger.error("database unavailable: %s", exc.orig)
        # SQLITE_FULL (13), PostgreSQL's disk_full (53100): say so, the operators must free space.
        if getattr(exc.orig, "sqlite_errorcode", None) == 13 or getattr(exc.orig, "sqlstate", None) == "53100":
            message = "the ballot store refused the write: its disk is full; nothing was recorded, retry once space is freed"
        else:
            message = "the ballot store is temporarily unavailable; retry the same request"
        return jsonify({"error": "unavailable", "message": message}), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 500: "internal_error"}
        code = codes.get(exc.code or 400, "bad_request")
        return jsonify({"error": code, "message": exc.description or exc.name}), exc.code
