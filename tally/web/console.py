"""The presidium console (presidium, clerk): live 应到/实到 with the quorum and the check-in control
(close and reopen check-in), the agenda, opening a vote with an optional timer, holding and
resuming it, closing it, the live turnout bar and seat map (from the staff-only
``/live`` events), decryption progress and publishing.

The page itself is static HTML plus ``static/staff/console.js``; its actions are JSON endpoints
under ``/staff/meetings/<mid>/console/…`` that need the session's CSRF token (``staffFetch``).
The timer is the service's: ``lifecycle.open_vote(duration_seconds=…)`` stores ``closes_at`` and
``tally/services/timers.py`` closes the vote in whichever instance sees it first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from tally.errors import APIError
from tally.live import broadcast
from tally.services import checkin, lifecycle, meetings, results
from tally.store import db
from tally.store.models import Trustee, Vote
from tally.web import staff_blueprint
from tally.web.logins import actor, roles_required

bp = staff_blueprint("staff_console", __name__)
ROLES = ("presidium", "clerk")
MAX_DURATION = 24 * 3600


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _sealed(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    if meeting.state != "sealed":
        raise APIError("meeting_not_sealed", "seal the meeting before running the session", status=409)
    return meeting


def _votes(meeting_id: str) -> list[Vote]:
    return list(db.session().scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.position)))


def _trustee_names(meeting_id: str) -> dict[int, str]:
    rows = db.session().scalars(select(Trustee).where(Trustee.meeting_id == meeting_id).order_by(Trustee.index))
    return {t.index: t.name for t in rows}


def _decryption(meeting_id: str, vote_id: str) -> dict[str, Any]:
    status = results.decryption_status(meeting_id, vote_id)
    names = _trustee_names(meeting_id)
    status["trustees"] = [{"index": i, "name": names.get(i, str(i)), "posted": i in status["posted"]}
                          for i in sorted(names)]
    return status


def _state(meeting_id: str) -> dict[str, Any]:
    meeting = _sealed(meeting_id)
    votes = []
    for vote in _votes(meeting_id):
        row: dict[str, Any] = {
            "vote_id": vote.vote_id, "title": vote.entry.get("title"), "kind": vote.entry.get("kind"),
            "state": vote.state, "closes_at": _iso(vote.closes_at), "cast": vote.counted, "present": vote.present,
            "held": bool(vote.held), "remaining": broadcast.hold_payload(vote)["remaining"],
        }
        if vote.state == "closed":
            row["decryption"] = _decryption(meeting_id, vote.vote_id)
        votes.append(row)
    return {"meeting": meeting_id, "now": _iso(datetime.now(UTC)),
            "presence": broadcast.presence_payload(meeting), "checkin": checkin.checkin_state_payload(meeting),
            "votes": votes}


@bp.get("/meetings/<meeting_id>/console")
@roles_required(*ROLES)
def console(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    if meeting.state != "sealed":
        return render_template("staff/error.html", status=409, title=_("The meeting is not sealed yet"),
                               message=_("Seal the meeting before running the session.")), 409
    return render_template("staff/console.html", meeting=meeting, votes=_votes(meeting_id), state=_state(meeting_id))


@bp.get("/meetings/<meeting_id>/console/state")
@roles_required(*ROLES)
def state(meeting_id: str):
    return jsonify(_state(meeting_id))


def _duration() -> int | None:
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        abort(400)
    total = 0
    for key, factor in (("minutes", 60), ("seconds", 1)):
        value = body.get(key)
        if value in (None, ""):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise APIError("bad_timer", "the timer's minutes and seconds must be whole numbers") from None
        if number < 0:
            raise APIError("bad_timer", "the timer cannot be negative")
        total += number * factor
    if total > MAX_DURATION:
        raise APIError("bad_timer", "the timer is longer than a day")
    return total or None


@bp.post("/meetings/<meeting_id>/console/votes/<vote_id>/open")
@roles_required(*ROLES)
def open_vote(meeting_id: str, vote_id: str):
    _sealed(meeting_id)
    duration = _duration()
    vote = lifecycle.open_vote(meeting_id, vote_id, actor=actor(), duration_seconds=duration)
    return jsonify(broadcast.vote_state_payload(vote))


@bp.post("/meetings/<meeting_id>/console/votes/<vote_id>/close")
@roles_required(*ROLES)
def close_vote(meeting_id: str, vote_id: str):
    _sealed(meeting_id)
    vote = lifecycle.close_vote(meeting_id, vote_id, actor=actor())
    return jsonify(broadcast.vote_state_payload(vote))


@bp.post("/meetings/<meeting_id>/console/votes/<vote_id>/hold")
@roles_required(*ROLES)
def hold_vote(meeting_id: str, vote_id: str):
    _sealed(meeting_id)
    vote = lifecycle.hold_vote(meeting_id, vote_id, actor=actor())
    return jsonify(broadcast.hold_payload(vote))


@bp.post("/meetings/<meeting_id>/console/votes/<vote_id>/resume")
@roles_required(*ROLES)
def resume_vote(meeting_id: str, vote_id: str):
    _sealed(meeting_id)
    vote = lifecycle.resume_vote(meeting_id, vote_id, actor=actor())
    return jsonify({**broadcast.hold_payload(vote), **broadcast.vote_state_payload(vote)})


@bp.post("/meetings/<meeting_id>/console/checkin/<action>")
@roles_required(*ROLES)
def checkin_control(meeting_id: str, action: str):
    if action not in ("open", "close"):
        abort(404)
    _sealed(meeting_id)
    return jsonify(checkin.set_checkin_open(meeting_id, action == "open", actor=actor()))


@bp.get("/meetings/<meeting_id>/console/votes/<vote_id>/decryption")
@roles_required(*ROLES)
def decryption(meeting_id: str, vote_id: str):
    _sealed(meeting_id)
    return jsonify(_decryption(meeting_id, vote_id))


@bp.post("/meetings/<meeting_id>/console/votes/<vote_id>/publish")
@roles_required(*ROLES)
def publish(meeting_id: str, vote_id: str):
    _sealed(meeting_id)
    try:
        result = results.publish(meeting_id, vote_id, actor=actor())
    except APIError as exc:
        if exc.code != "awaiting_shares":
            raise
        db.session().rollback()
        status = _decryption(meeting_id, vote_id)
        return jsonify({**exc.to_json(), "missing": status["missing"], "posted": status["posted"],
                        "threshold": status["threshold"]}), exc.status
    return jsonify({"vote_id": vote_id, "state": "published", "outcome": result["outcome"]})
