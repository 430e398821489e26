"""The staff web pages (issue #5): login, the clerk's meeting setup wizard, results with the
公告 exports, and the audit trail, in Chinese (default) or English.

``init_app(app)`` (called from ``create_app``) sets up Flask-Babel, Flask-Login and Flask-WTF's
CSRF protection and registers the page blueprints. Every page blueprint is made with
:func:`staff_blueprint`, which is what later pages (the presidium console) should use too:

- **CSRF** is checked on every POST/PUT/PATCH/DELETE to a staff blueprint: a form carries the
  ``csrf_token`` field (``{{ form.csrf_token }}`` or ``{{ csrf_token() }}``); JavaScript sends the
  token from ``<meta name="csrf-token">`` in an ``X-CSRFToken`` header (``staffFetch`` in
  ``static/staff/staff.js``). The check is opt-in per blueprint (``WTF_CSRF_CHECK_DEFAULT`` is
  off), so the token-authenticated JSON API under ``/api/staff`` (exempted as well), the public
  SPEC §11 API and the kiosk are untouched.
- **Access**: :func:`tally.web.logins.roles_required` (anonymous → the login page, wrong role → 403).
- Errors (403, 404, a missing CSRF token, a service :class:`~tally.errors.APIError`) render as
  HTML pages, or as JSON for a JSON request; responses are never cached.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, session
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from tally.errors import APIError
from tally.web import logins

LANGUAGES = {"zh_CN": "中文", "en": "English"}
"""The page languages, by the code kept in the session (``lang``) and shown in ``<html lang>``."""
DEFAULT_LOCALE = "zh_CN"
BABEL_LOCALES = {"zh_CN": "zh_Hans_CN", "en": "en"}
"""Babel resolves ``zh_CN`` to ``zh_Hans_CN`` (CLDR adds the script), and looks its catalog up
under that name: hence ``tally/translations/zh_Hans_CN/``."""

csrf = CSRFProtect()
babel = Babel()


def page_language() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LOCALE


def select_locale() -> str:
    return BABEL_LOCALES[page_language()]


def staff_blueprint(name: str, import_name: str, url_prefix: str = "/staff") -> Blueprint:
    """A blueprint of staff pages: CSRF on every unsafe request, the idle timeout, HTML errors."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(_before_staff_request)
    bp.after_request(_no_store)
    bp.register_error_handler(CSRFError, _csrf_error)
    bp.register_error_handler(APIError, _api_error)
    for code in (400, 403, 404, 405, 409, 413):
        bp.register_error_handler(code, _http_error)
    bp.context_processor(_staff_globals)
    return bp


def _staff_globals() -> dict[str, Any]:
    from tally.web.labels import helpers

    language = page_language()
    return {"languages": LANGUAGES, "current_locale": language, "html_lang": language.replace("_", "-"), **helpers()}


def _before_staff_request() -> Any:
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    # A page polling for JSON in the background is not someone at the desk.
    logins.enforce_idle_timeout(touch=not (request.method == "GET" and wants_json()))
    return None


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _csrf_error(exc: CSRFError):
    if wants_json():
        return jsonify({"error": "csrf", "message": exc.description}), 400
    return render_template(
        "staff/error.html", status=400, title=_("The form has expired"),
        message=_("The security token of this form is missing or has expired. Go back, reload the page and try again."),
    ), 400


def _api_error(exc: APIError):
    if wants_json():
        return jsonify(exc.to_json()), exc.status
    return render_template("staff/error.html", status=exc.status, title=_("The service refused this"),
                           message=exc.message, code=exc.code), exc.status


def _http_error(exc):
    code = exc.code or 400
    titles = {
        403: _("You do not have access to this page"),
        404: _("Not found"),
        405: _("Method not allowed"),
        413: _("The upload is too large"),
    }
    if wants_json():
        return jsonify({"error": {403: "forbidden", 404: "not_found"}.get(code, "bad_request"),
                        "message": exc.description}), code
    return render_template("staff/error.html", status=code, title=titles.get(code, _("Bad request")),
                           message=exc.description if code not in (403, 404) else ""), code


def init_app(app: Flask) -> None:
    """Babel, Flask-Login, CSRF and the page blueprints; the settings come from ``Config``
    (``STAFF_*``, ``BABEL_DEFAULT_TIMEZONE``, ``SESSION_COOKIE_SECURE``)."""
    for key, value in logins.DEFAULTS.items():  # an app configured without Config
        app.config.setdefault(key, value)
    # CSRF is checked by the staff blueprints themselves (opt-in): the JSON APIs and the kiosk
    # authenticate otherwise and must not need a token.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", BABEL_LOCALES[DEFAULT_LOCALE])
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")

    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    logins.login_manager.init_app(app)
    logins.login_manager.login_message = None

    from tally.web import account, audit_pages, bigscreen, console, results_pages, setup_pages

    for bp in (account.bp, setup_pages.bp, results_pages.bp, audit_pages.bp, console.bp, bigscreen.bp):
        app.register_blueprint(bp)
