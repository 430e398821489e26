"""The deputy's tablet client (SPEC §11 client side): pages, static JavaScript and templates.

The pages are served by the tally service under ``/kiosk/`` and the phone receipt page under
``/r/<meeting>/<ballot_hash>``; everything secret (the credential key, the ballot's plaintext and
nonces) stays in the browser. The crypto modules in ``static/js/crypto/`` mirror ``ballot/``.
"""

from __future__ import annotations

import io
import re

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, current_app, render_template, request

from tally import db, pairing, ratelimit
from tally.api import json_body
from tally.models import Meeting

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static")
receipt_bp = Blueprint("receipt_page", __name__, template_folder="templates")
MAX_QR_DATA = 512
_HEX64 = re.compile(r"[0-9a-f]{64}")


@bp.get("/")
def kiosk_page():  # type: ignore[no-untyped-def]
    return _kiosk_page(pairing_code="")


@bp.get("/pair/<code>")
def kiosk_pair_page(code: str):  # type: ignore[no-untyped-def]
    return _kiosk_page(pairing_code=code if code.isdigit() and len(code) == 8 else "")


def _kiosk_page(pairing_code: str):  # type: ignore[no-untyped-def]
    """The tablet's single page; ``KIOSK_POST_TIMEOUT`` (tally.config) goes to its ballot posts."""
    post_timeout_ms = max(1000, round(float(current_app.config.get("KIOSK_POST_TIMEOUT", 30)) * 1000))
    return render_template("kiosk/kiosk.html", pairing_code=pairing_code, post_timeout_ms=post_timeout_ms)


@bp.post("/api/pair")
def pair():  # type: ignore[no-untyped-def]
    with ratelimit.pairing_limits():  # 429 rate_limited over a limit (docs/api.md)
        body = json_body()
        return pairing.redeem(body.get("code") if isinstance(body, dict) else None)


@bp.get("/qr.svg")
def qr_svg():  # type: ignore[no-untyped-def]
    """An SVG QR code of ``data`` (the public receipt URL: nothing secret passes through here)."""
    data = request.args.get("data", "")
    if not data or len(data) > MAX_QR_DATA:
        abort(400)
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@receipt_bp.get("/r/<meeting_id>/<ballot_hash>")
def receipt_page(meeting_id: str, ballot_hash: str):  # type: ignore[no-untyped-def]
    if _HEX64.fullmatch(ballot_hash) is None or db.session().get(Meeting, meeting_id) is None:
        abort(404)
    return render_template("kiosk/receipt.html", meeting_id=meeting_id, ballot_hash=ballot_hash)
