"""The hall's big screen (1920×1080): public and read-only, no login. The page is static; its
script reads the public API (``GET /api/meetings/<mid>``, ``…/votes/<vid>``, ``…/result``) and
the public ``/live`` events (presence, vote_state, turnout, result, vote_hold), never the staff
seat map. Chinese by default; ``?lang=en`` shows the screen in English (vote texts use their
``*_en`` fields where the definition has them)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from tally.services import meetings

bp = Blueprint("bigscreen", __name__)


@bp.get("/screen/<meeting_id>")
def screen(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    lang = "en" if request.args.get("lang") == "en" else "zh"
    response = render_template("bigscreen/screen.html", meeting=meeting, lang=lang)
    return response, 200, {"Cache-Control": "no-store"}
