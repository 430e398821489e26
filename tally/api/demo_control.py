"""Demo controls: open, close and tally the votes of a DEMO meeting from a browser page, so a
newcomer can run a whole session alone. Refused (404) for any meeting that is not a demo."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import select

from ballot.rules import quorum_met
from tally import demo
from tally.errors import APIError, not_found
from tally.http import json_body
from tally.services import lifecycle, meetings
from tally.store import db
from tally.store.models import Vote

bp = Blueprint("demo_control", __name__, url_prefix="/demo")
ACTOR = "demo-control"
KINDS = {"resolution": "议案表决", "appointment": "人事任免", "selection": "民生实事项目票决", "election": "选举",
         "evaluation": "满意度测评"}
STATES = {"pending": "未开始", "open": "表决中", "closed": "已结束，待计票", "published": "已公布"}
"""The page's words for a vote's kind and state (the API's ``kind`` and ``state`` stay as they are)."""


def _demo_meeting(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    if not meeting.is_demo:
        raise not_found(f"demo meeting {meeting_id!r}")
    return meeting


def _votes(meeting_id: str) -> list[dict[str, object]]:
    rows = db.session().scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.position))
    return [{"vote_id": v.vote_id, "title": v.entry["title"], "kind": v.entry["kind"], "state": v.state,
             "cast": v.counted, "present": v.present} for v in rows]


def _quorum(meeting) -> bool:
    return quorum_met(meeting.quorum, members=meeting.members, present=min(meeting.checkins, meeting.members))


@bp.get("/<meeting_id>")
def page(meeting_id: str):
    meeting = _demo_meeting(meeting_id)
    return render_template("demo_control.html", meeting=meeting, votes=_votes(meeting_id), kinds=KINDS,
                           states=STATES, quorum_met=_quorum(meeting), presidium=demo.DEMO_PRESIDIUM)


@bp.get("/<meeting_id>/state")
def state(meeting_id: str):
    meeting = _demo_meeting(meeting_id)
    return jsonify({"present": meeting.checkins, "members": meeting.members, "quorum_met": _quorum(meeting),
                    "votes": _votes(meeting_id)})


@bp.post("/<meeting_id>/step")
def step(meeting_id: str):
    _demo_meeting(meeting_id)
    body = json_body()
    action = body.get("action") if isinstance(body, dict) else None
    vote_id = body.get("vote_id") if isinstance(body, dict) else None
    if not isinstance(vote_id, str):
        raise APIError("malformed", "vote_id is required")
    if action == "open":
        lifecycle.open_vote(meeting_id, vote_id, actor=ACTOR, duration_seconds=body.get("duration"))
    elif action == "close":
        lifecycle.close_vote(meeting_id, vote_id, actor=ACTOR)
    elif action == "tally":
        demo.demo_tally(meeting_id, vote_id)
    else:
        raise APIError("malformed", "action is open, close or tally")
    return jsonify({"votes": _votes(meeting_id)})
