"""The tablet's pages: ``/kiosk/`` (and ``/kiosk/pair/<code>``), pairing, QR codes, and the phone
receipt page ``/r/<meeting>/<ballot_hash>``.

The templates and static files are the browser client in ``kiosk/`` (its ``templates/`` and
``static/``, reached as ``url_for('kiosk.static', …)``); this module is its Flask side. Everything
secret (the credential key, the ballot's plaintext and nonces) stays in the browser.
"""

from __future__ import annotations

import io
import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from sqlalchemy import select

import kiosk
from tally.http import json_body
from tally.ops import ratelimit
from tally.services import pairing
from tally.store import db
from tally.store.models import CastBallot, Meeting

CLIENT = Path(kiosk.__file__).resolve().parent
"""The browser client's folder (``kiosk/``): its templates and static files."""
bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder=str(CLIENT / "templates"),
               static_folder=str(CLIENT / "static"))
receipt_bp = Blueprint("receipt_page", __name__, template_folder=str(CLIENT / "templates"))
MAX_QR_DATA = 512
_HEX64 = re.compile(r"[0-9a-f]{64}")
SHORT_HASH = 16  # hex digits of a ballot hash in a receipt's short link /r/<meeting>/<16 hex>
_SHORT = re.compile(rf"[0-9a-f]{{{SHORT_HASH}}}")


def public_url(app: Flask) -> str:
    """``PIAOJUE_PUBLIC_URL`` without a trailing slash, or "" (the tablets then use their own origin)."""
    return (app.config.get("PUBLIC_URL") or "").strip().rstrip("/")


def loopback_warning(app: Flask) -> str | None:
    """Why phones cannot open the receipt links the tablets will show, or None if they can."""
    configured = public_url(app)
    if not configured:
        return ("PIAOJUE_PUBLIC_URL is not set: receipt QR codes and links carry the address each tablet "
                "opened (http://127.0.0.1:… in the demo), which a deputy's phone cannot reach. Set it to "
                "the address phones use, e.g. PIAOJUE_PUBLIC_URL=https://vote.example.org (docs/deployment.md).")
    host = urlsplit(configured).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        return (f"PIAOJUE_PUBLIC_URL={configured} is a loopback address: receipt QR codes and links "
                "will not open on a deputy's phone. Use the address phones reach (docs/deployment.md).")
    return None


def _warn_at_start(state) -> None:
    """Log the loopback warning when a server starts (gunicorn, ``flask run``); not for the other
    ``flask`` commands, and not under TESTING (tests call :func:`loopback_warning`)."""
    app = state.app
    if app.testing or not app.config.get("PUBLIC_URL_WARNING", True):
        return
    import click

    command = click.get_current_context(silent=True)
    if command is not None and command.find_root().invoked_subcommand not in ("run",):
        return
    message = loopback_warning(app)
    if message:
        app.logger.warning(message)


bp.record_once(_warn_at_start)


@bp.get("/")
def kiosk_page():
    return _kiosk_page(pairing_code="")


@bp.get("/pair/<code>")
def kiosk_pair_page(code: str):
    return _kiosk_page(pairing_code=code if code.isdigit() and len(code) == 8 else "")


def _kiosk_page(pairing_code: str):
    """The tablet's single page; ``KIOSK_POST_TIMEOUT`` (tally.config) goes to its ballot posts."""
    post_timeout_ms = max(1000, round(float(current_app.config.get("KIOSK_POST_TIMEOUT", 30)) * 1000))
    return render_template("kiosk/kiosk.html", pairing_code=pairing_code, post_timeout_ms=post_timeout_ms,
                           public_url=public_url(current_app))


@bp.post("/api/pair")
def pair():
    with ratelimit.pairing_limits():  # 429 rate_limited over a limit (docs/api.md)
        body = json_body()
        return pairing.redeem(body.get("code") if isinstance(body, dict) else None)


@bp.get("/qr.svg")
def qr_svg():
    """An SVG QR code of ``data`` (the public receipt URL: nothing secret passes through here)."""
    data = request.args.get("data", "")
    if not data or len(data) > MAX_QR_DATA:
        abort(400)
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@receipt_bp.get("/favicon.ico")
def favicon():
    """The service's icon (every page: browsers ask for /favicon.ico by themselves)."""
    return send_from_directory(bp.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)


@receipt_bp.get("/r/<meeting_id>/<ballot_hash>")
def receipt_page(meeting_id: str, ballot_hash: str):
    """The phone receipt page; a short link (the first 16 hex digits of the ballot hash, shown on
    the tablet to be typed) redirects to the full one if exactly one cast ballot matches."""
    if _SHORT.fullmatch(ballot_hash) is not None:
        prefix = bytes.fromhex(ballot_hash)
        matches = db.session().scalars(
            select(CastBallot.ballot_hash).where(
                CastBallot.meeting_id == meeting_id,
                CastBallot.ballot_hash >= prefix + bytes(32 - len(prefix)),
                CastBallot.ballot_hash <= prefix + b"\xff" * (32 - len(prefix)),
            ).limit(2)
        ).all()
        if len(matches) != 1:
            abort(404)
        return redirect(url_for(".receipt_page", meeting_id=meeting_id, ballot_hash=matches[0].hex()))
    if _HEX64.fullmatch(ballot_hash) is None or db.session().get(Meeting, meeting_id) is None:
        abort(404)
    return render_template("kiosk/receipt.html", meeting_id=meeting_id, ballot_hash=ballot_hash)
