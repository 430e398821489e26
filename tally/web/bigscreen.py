"""The hall's big screen (1920×1080): public and read-only, no login. The page is static; its
script reads the public API (``GET /api/meetings/<mid>``, ``…/votes/<vid>``, ``…/result``) and
the public ``/live`` events (presence, vote_state, turnout, result), never the staff seat map."""

from __future__ import annotations

from flask import Blueprint, render_template

from tally import setup

bp = Blueprint("bigscreen", __name__)


@bp.get("/screen/<meeting_id>")
def screen(meeting_id: str):  # type: ignore[no-untyped-def]
    meeting = setup.get_meeting(meeting_id)
    response = render_template("bigscreen/screen.html", meeting=meeting)
    return response, 200, {"Cache-Control": "no-store"}
