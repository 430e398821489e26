"""The staff JSON API (bearer tokens; see tally.api.tokens): clerks set meetings up, the presidium runs
votes, trustees relay the key ceremony, auditors read the audit trail. Documented in docs/api.md."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from tally.api.tokens import actor, require
from tally.errors import APIError
from tally.http import json_body
from tally.live import broadcast
from tally.services import ceremony, checkin, lifecycle, meetings, pairing, results
from tally.store import db
from tally.store.models import AuditEvent, Credential, Deputy, Vote

bp = Blueprint("staff", __name__, url_prefix="/api/staff")


def _field(body: Any, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if not isinstance(body, dict):
        raise APIError("malformed", "the body must be a JSON object")
    if name not in body:
        if default is ...:
            raise APIError("malformed", f"missing field {name!r}")
        return default
    value = body[name]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise APIError("malformed", f"field {name!r} has the wrong type")
    return value


def _trustee_index(meeting_id: str) -> int:
    """A trustee acts only as itself; a clerk may relay announcements for any trustee (``?index=N``)."""
    from flask import g

    staff = g.staff
    if staff.role == "trustee":
        return int(staff.trustee_index)
    raw = request.args.get("index")
    if raw is None or not raw.isdigit():
        raise APIError("malformed", "clerks name the trustee with ?index=N")
    return int(raw)


@bp.post("/meetings")
@require("clerk")
def create_meeting():
    body = json_body()
    meeting = meetings.create_meeting(
        _field(body, "meeting_id", str),
        _field(body, "title", str),
        _field(body, "body", str),
        _field(body, "members", int),
        _field(body, "quorum", str, "two_thirds"),
        _field(body, "trustees", list),
        _field(body, "threshold", int),
        actor=actor(),
    )
    return jsonify({"meeting_id": meeting.id, "state": meeting.state}), 201


@bp.get("/meetings/<meeting_id>")
@require("clerk", "presidium", "auditor", "trustee")
def meeting_status(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    session = db.session()
    votes = session.scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.position))
    credentials = list(session.scalars(select(Credential).where(Credential.meeting_id == meeting_id)))
    return jsonify(
        {
            "meeting_id": meeting.id,
            "title": meeting.title,
            "state": meeting.state,
            "members": meeting.members,
            "quorum": meeting.quorum,
            "present": meeting.checkins,
            "credentials": {
                "registered": sum(c.state in ("pending", "registered") for c in credentials),
                "revoked": sum(c.state == "revoked" for c in credentials),
            },
            "log_size": meeting.log_size,
            "votes": [
                {"vote_id": v.vote_id, "title": v.entry.get("title"), "kind": v.entry.get("kind"), "state": v.state,
                 "present": v.present, "cast": v.counted}
                for v in votes
            ],
            "trustees": ceremony.ceremony_status(meeting_id),
        }
    )


@bp.post("/meetings/<meeting_id>/roster")
@require("clerk")
def import_roster(meeting_id: str):
    upload = request.files.get("file")
    if upload is not None:
        data, filename = upload.read(), upload.filename or "roster"
    else:
        data, filename = request.get_data(cache=False), request.args.get("filename", "roster.csv")
    if not data:
        raise APIError("malformed", "send the roster file as multipart field 'file' or as the request body")
    deputies = meetings.import_roster(meeting_id, data, filename, actor=actor())
    return jsonify({"imported": len(deputies)}), 201


@bp.get("/meetings/<meeting_id>/roster")
@require("clerk", "presidium")
def roster(meeting_id: str):
    meetings.get_meeting(meeting_id)
    rows = db.session().scalars(select(Deputy).where(Deputy.meeting_id == meeting_id).order_by(Deputy.id))
    return jsonify({"deputies": [{"seat": d.seat, "name": d.name, "group": d.group} for d in rows]})


@bp.post("/meetings/<meeting_id>/credentials")
@require("clerk")
def register_credentials(meeting_id: str):
    body = json_body()
    if isinstance(body, dict) and "meeting_id" in body and body["meeting_id"] != meeting_id:
        raise APIError("malformed", f"creds.json is for meeting {body['meeting_id']!r}, not {meeting_id!r}")
    count = meetings.register_credentials(meeting_id, _field(body, "credentials", list), actor=actor())
    return jsonify({"registered": count}), 201


@bp.post("/meetings/<meeting_id>/credentials/replace")
@require("clerk")
def replace_credential(meeting_id: str):
    body = json_body()
    new = _field(body, "new", (str, type(None)), None)
    meetings.replace_credential(meeting_id, _field(body, "old", str), new, actor=actor())
    return jsonify({"revoked": body["old"], "registered": new})


@bp.post("/meetings/<meeting_id>/votes")
@require("clerk")
def define_vote(meeting_id: str):
    body = json_body()
    if isinstance(body, dict) and "template" in body:
        entry = meetings.vote_from_template(_field(body, "template", str), _field(body, "params", dict))
    else:
        entry = _field(body, "entry", dict)
    vote = meetings.define_vote(meeting_id, entry, actor=actor())
    return jsonify({"vote_id": vote.vote_id, "vote_hash": vote.vote_hash.hex(), "entry": vote.entry}), 201


@bp.post("/meetings/<meeting_id>/seal")
@require("clerk")
def seal(meeting_id: str):
    entry = meetings.seal(meeting_id, actor=actor())
    return jsonify({"meeting": entry})


@bp.get("/meetings/<meeting_id>/ceremony")
@require("clerk", "trustee", "presidium")
def ceremony_status(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    return jsonify(
        {
            "meeting_id": meeting_id,
            "state": meeting.state,
            "trustees": meeting.trustee_count,
            "threshold": meeting.threshold,
            "status": ceremony.ceremony_status(meeting_id),
        }
    )


@bp.get("/meetings/<meeting_id>/ceremony/announcements")
@require("clerk", "trustee")
def get_announcements(meeting_id: str):
    return jsonify({"announcements": ceremony.announcements(meeting_id)})


@bp.post("/meetings/<meeting_id>/ceremony/announcements")
@require("trustee", "clerk")
def post_announcement(meeting_id: str):
    ceremony.post_announcement(meeting_id, _trustee_index(meeting_id), json_body(), actor=actor())
    return jsonify({"ok": True}), 201


@bp.get("/meetings/<meeting_id>/ceremony/messages")
@require("trustee")  # only the trustee itself (docs/api.md); clerks may relay announcements only
def get_messages(meeting_id: str):
    return jsonify({"messages": ceremony.messages_for(meeting_id, _trustee_index(meeting_id))})


@bp.post("/meetings/<meeting_id>/ceremony/messages")
@require("trustee")  # only the trustee itself (docs/api.md); clerks may relay announcements only
def post_messages(meeting_id: str):
    body = json_body()
    count = ceremony.post_messages(meeting_id, _trustee_index(meeting_id), _field(body, "messages", list), actor=actor())
    return jsonify({"relayed": count}), 201


@bp.post("/meetings/<meeting_id>/ceremony/confirm")
@require("trustee")  # only the trustee itself (docs/api.md); clerks may relay announcements only
def confirm(meeting_id: str):
    body = json_body()
    ceremony.confirm_trustee(
        meeting_id, _trustee_index(meeting_id), _field(body, "ok", bool), _field(body, "complaint", (str, type(None)), None),
        actor=actor(),
    )
    return jsonify({"ok": True})


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/open")
@require("presidium", "clerk")
def open_vote(meeting_id: str, vote_id: str):
    body = json_body() if request.get_data() else {}
    vote = lifecycle.open_vote(
        meeting_id, vote_id, actor=actor(), duration_seconds=_field(body, "duration", (int, type(None)), None)
    )
    return jsonify({"vote_id": vote.vote_id, "state": vote.state, "present": vote.present})


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/close")
@require("presidium", "clerk")
def close_vote(meeting_id: str, vote_id: str):
    vote = lifecycle.close_vote(meeting_id, vote_id, actor=actor())
    return jsonify({"vote_id": vote.vote_id, "state": vote.state, "ballots": vote.ballots_logged})


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/hold")
@require("presidium", "clerk")
def hold_vote(meeting_id: str, vote_id: str):
    vote = lifecycle.hold_vote(meeting_id, vote_id, actor=actor())
    return jsonify(broadcast.hold_payload(vote))


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/resume")
@require("presidium", "clerk")
def resume_vote(meeting_id: str, vote_id: str):
    vote = lifecycle.resume_vote(meeting_id, vote_id, actor=actor())
    return jsonify({**broadcast.hold_payload(vote), **broadcast.vote_state_payload(vote)})


@bp.post("/meetings/<meeting_id>/checkin/open")
@require("presidium", "clerk")
def open_checkin(meeting_id: str):
    return jsonify(checkin.set_checkin_open(meeting_id, True, actor=actor()))


@bp.post("/meetings/<meeting_id>/checkin/close")
@require("presidium", "clerk")
def close_checkin(meeting_id: str):
    return jsonify(checkin.set_checkin_open(meeting_id, False, actor=actor()))


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/publish")
@require("presidium", "clerk")
def publish(meeting_id: str, vote_id: str):
    """409 ``awaiting_shares`` until ``threshold`` shares are in, naming the trustees awaited."""
    return jsonify(results.publish(meeting_id, vote_id, actor=actor()))


@bp.get("/meetings/<meeting_id>/votes/<vote_id>/decryption")
@require("presidium", "clerk", "auditor", "trustee")
def decryption(meeting_id: str, vote_id: str):
    """Decryption progress (SPEC §8 shares): posted, threshold, and the trustees still awaited
    by index and name (``missing_trustees``)."""
    return jsonify(results.decryption_status(meeting_id, vote_id))


@bp.get("/meetings/<meeting_id>/audit")
@require("auditor", "clerk", "presidium")
def audit_trail(meeting_id: str):
    meetings.get_meeting(meeting_id)
    rows = db.session().scalars(
        select(AuditEvent).where(AuditEvent.meeting_id == meeting_id).order_by(AuditEvent.id)
    )
    return jsonify(
        {
            "events": [
                {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail} for e in rows
            ]
        }
    )


@bp.post("/meetings/<meeting_id>/pairings")
@require("clerk")
def create_pairings(meeting_id: str):
    """One-time codes that bind tablets to seats: ``{"seats": [...]}`` → ``{"pairings": [{"seat", "code"}]}``."""
    body = json_body()
    codes = pairing.create_codes(meeting_id, _field(body, "seats", list), actor=actor())
    return jsonify({"pairings": codes}), 201
