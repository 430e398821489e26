"""The live channel: Socket.IO namespace ``/live`` (SPEC §11).

A client emits ``join`` with ``{"meeting": mid}`` and then receives, in order, ``presence``,
``vote_state``, ``turnout`` and ``result`` events for that meeting, ``vote_hold``
(``{"vote_id", "held", "remaining"}``) when the presidium holds or resumes the open vote, and
``checkin_state`` when it closes or reopens check-in. On joining it is sent the
current presence and the state of the open (or most recent) vote, so a tablet that reconnects
catches up at once. Staff clients pass their API token in the connection's ``auth``
(``{"token": …}``); it is checked once, at connect, and a bad token is refused.

Events are emitted by the service functions after their transaction commits (check-in, open,
close, ballot accepted, result published), from whichever process ran them: with
``SOCKETIO_MESSAGE_QUEUE`` (Redis) set, an emit from any instance or from a CLI command reaches
the clients of every instance.

``turnout`` is coalesced per instance (tally.live.turnout; docs/spec-notes.md): at most one
event per vote every 0.1 s to staff clients (``LIVE_TURNOUT_STAFF_INTERVAL``) and every 1 s to
the others (``LIVE_TURNOUT_INTERVAL``; both 0, one per batch, under ``TESTING`` unless set), the
first change at once and the latest count always sent at the end of the interval; a count is
never followed by a lower one; and any other event to the meeting (``vote_state`` ``closed`` …)
first sends the pending count, so it is never overtaken.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

from flask import Flask, current_app, request
from flask_socketio import SocketIO, join_room
from sqlalchemy import select

from ballot.rules import quorum_met
from tally.live.turnout import (
    STAFF_TURNOUT_INTERVAL,
    TURNOUT_INTERVAL,
    LiveManager,
    LiveRedisManager,
    TurnoutGate,
)
from tally.store import db
from tally.store.models import Meeting, StaffToken, Vote

NAMESPACE = "/live"
socketio = SocketIO()
_staff_sessions: dict[str, StaffToken | SimpleNamespace] = {}
SEAT_MAP_ROLES = ("presidium", "clerk")
"""Who receives the staff-only seat map (who has checked in and voted), by token or by login:
the roles of the presidium console."""


def _sid() -> str:
    """The Socket.IO session id of the event being handled."""
    # Flask-SocketIO sets ``sid`` on Flask's request during an event; flask.Request does not
    # declare it, and Flask-SocketIO ships no types to say so.
    sid: str = request.sid  # type: ignore[attr-defined]
    return sid


def meeting_room(meeting_id: str) -> str:
    return f"meeting:{meeting_id}"


def staff_room(meeting_id: str) -> str:
    return f"staff:{meeting_id}"


def init_app(app: Flask) -> None:
    """Socket.IO on ``app``: async mode ``SOCKETIO_ASYNC_MODE`` (``threading`` under gunicorn's
    gthread worker, ``gevent`` under its gevent worker), coalesced turnout (tally.live.turnout:
    ``LIVE_TURNOUT_INTERVAL`` / ``LIVE_TURNOUT_STAFF_INTERVAL`` seconds, 0 under ``TESTING``
    unless set)."""
    interval = app.config.get("LIVE_TURNOUT_INTERVAL")
    if interval is None:
        interval = 0.0 if app.testing else TURNOUT_INTERVAL
    staff_interval = app.config.get("LIVE_TURNOUT_STAFF_INTERVAL")
    if staff_interval is None:
        staff_interval = 0.0 if app.testing else STAFF_TURNOUT_INTERVAL
    queue = app.config.get("SOCKETIO_MESSAGE_QUEUE")
    channel = app.config.get("SOCKETIO_CHANNEL", "piaojue-live")
    manager = (LiveRedisManager(queue, channel, NAMESPACE, interval, staff_interval) if queue
               else LiveManager(NAMESPACE, interval, staff_interval))
    socketio.init_app(
        app,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE") or "threading",
        client_manager=manager,
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS", []),
        logger=False,
        engineio_logger=False,
    )


def _emit(event: str, payload: dict[str, Any], meeting_id: str) -> None:
    """Broadcast to the meeting's room. A broken message queue never fails the request that
    caused the event (the ballot is already committed); clients catch up when they rejoin."""
    try:
        socketio.emit(event, payload, to=meeting_room(meeting_id), namespace=NAMESPACE)
    except Exception as exc:  # noqa: BLE001 - any transport failure (e.g. Redis down) is logged, not raised
        current_app.logger.warning("live %s event for %s not sent: %s", event, meeting_id, exc)


# ---------------------------------------------------------------- payloads


def presence_payload(meeting: Meeting) -> dict[str, Any]:
    return {
        "present": meeting.checkins,
        "members": meeting.members,
        "quorum_met": quorum_met(meeting.quorum, members=meeting.members, present=min(meeting.checkins, meeting.members)),
    }


def vote_state_payload(vote: Vote) -> dict[str, Any]:
    closes_at = vote.closes_at.isoformat().replace("+00:00", "Z") if vote.closes_at else None
    return {"vote_id": vote.vote_id, "state": vote.state, "closes_at": closes_at}


def turnout_payload(vote: Vote) -> dict[str, Any]:
    return {"vote_id": vote.vote_id, "cast": vote.counted, "present": vote.present or 0}


def hold_payload(vote: Vote) -> dict[str, Any]:
    """``vote_hold`` (the implementation's own event, beside SPEC §11's): whether the open vote is
    on hold, and the timer's seconds left while it is (null: no timer)."""
    remaining = vote.held_remaining_ms
    return {"vote_id": vote.vote_id, "held": bool(vote.held),
            "remaining": None if remaining is None else round(remaining / 1000)}


def result_payload(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "vote_id": result["vote_id"],
        "tallies": [{"contest": t["contest"], "option": t["option"], "count": t["count"]} for t in result["tallies"]],
        "outcome": result["outcome"],
    }


# ---------------------------------------------------------------- broadcasts (after commit)


def announce_presence(meeting: Meeting) -> None:
    _emit("presence", presence_payload(meeting), meeting.id)


def announce_vote_state(vote: Vote) -> None:
    _emit("vote_state", vote_state_payload(vote), vote.meeting_id)


def announce_turnout(vote: Vote) -> None:
    """Once per group-commit batch, to the meeting room and to its staff room; each instance
    coalesces what it sends its own clients (tally.live.turnout), and staff clients get it from
    the staff room only."""
    payload = turnout_payload(vote)
    _emit("turnout", payload, vote.meeting_id)
    _emit_staff("turnout", payload, vote.meeting_id)


def _catch_up_turnout(sid: str, meeting_id: str, payload: dict[str, Any]) -> None:
    manager = socketio.server.manager
    if isinstance(manager, TurnoutGate):
        manager.catch_up(sid, meeting_room(meeting_id), payload)
    else:
        socketio.emit("turnout", payload, to=sid, namespace=NAMESPACE)


def announce_hold(vote: Vote) -> None:
    _emit("vote_hold", hold_payload(vote), vote.meeting_id)


def announce_checkin_state(meeting_id: str, state: dict[str, Any]) -> None:
    """``checkin_state`` (the implementation's own): ``{"open", "present", "members"}`` when the
    presidium closes or reopens check-in."""
    _emit("checkin_state", state, meeting_id)


def announce_result(meeting_id: str, result: dict[str, Any]) -> None:
    _emit("result", result_payload(result), meeting_id)


# ---------------------------------------------------------------- staff-only: the seat map


def _emit_staff(event: str, payload: dict[str, Any], meeting_id: str) -> None:
    try:
        socketio.emit(event, payload, to=staff_room(meeting_id), namespace=NAMESPACE)
    except Exception as exc:  # noqa: BLE001 - see _emit
        current_app.logger.warning("live %s event for %s not sent: %s", event, meeting_id, exc)


def announce_seat_checked_in(meeting_id: str, seat: str) -> None:
    """Staff only: a seat's deputy has checked in."""
    _emit_staff("seat", {"seat": seat, "checked_in": True}, meeting_id)


def announce_seat_voted(meeting_id: str, vote_id: str, seat: str | None) -> None:
    """Staff only: the deputy at ``seat`` has cast a ballot in ``vote_id`` (never how)."""
    _emit_staff("seat_voted", {"vote_id": vote_id, "seat": seat}, meeting_id)


def _current_vote(session: Any, meeting_id: str) -> Vote | None:
    """The open vote, or else the most recent one that was opened (None before the first)."""
    return session.scalar(
        select(Vote)
        .where(Vote.meeting_id == meeting_id, Vote.state != "pending")
        .order_by((Vote.state == "open").desc(), Vote.position.desc())
        .limit(1)
    )


def seat_map_payload(meeting_id: str) -> dict[str, Any]:
    """Staff only: every roster seat, whether its deputy has checked in, and whether the deputy
    checked in there has voted in the open (or latest) vote. Never a choice."""
    from tally.store.models import CastBallot, Credential, Deputy

    session = db.session()
    current = _current_vote(session, meeting_id)
    checked = {
        c.seat: c.public_key
        for c in session.scalars(
            select(Credential).where(Credential.meeting_id == meeting_id, Credential.checkin_order.is_not(None))
        )
    }
    voted: set[str] = set()
    if current is not None:
        voted = set(
            session.scalars(
                select(CastBallot.credential).where(
                    CastBallot.meeting_id == meeting_id, CastBallot.vote_id == current.vote_id
                )
            )
        )
    seats = [
        {"seat": d.seat, "name": d.name, "group": d.group, "checked_in": d.seat in checked,
         "voted": checked.get(d.seat) in voted}
        for d in session.scalars(select(Deputy).where(Deputy.meeting_id == meeting_id).order_by(Deputy.id))
    ]
    return {"vote_id": current.vote_id if current else None, "seats": seats}


# ---------------------------------------------------------------- handlers


@socketio.on("connect", namespace=NAMESPACE)
def on_connect(auth: Any = None) -> None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if token is None:
        _session_staff()
        return
    if not isinstance(token, str):
        raise ConnectionRefusedError("unauthorized")
    digest = hashlib.sha256(token.encode()).digest()
    staff = db.session().scalar(select(StaffToken).where(StaffToken.token_hash == digest))
    if staff is None or staff.revoked:
        raise ConnectionRefusedError("unauthorized")
    db.session().expunge(staff)
    if staff.role in SEAT_MAP_ROLES:  # other roles connect as the public does (docs/security.md)
        _staff_sessions[_sid()] = staff


def _session_staff() -> None:
    """A staff web page (the presidium console) connects with its Flask-Login session cookie
    instead of a token: a signed-in presidium or clerk account is staff for the seat map."""
    from flask_login import current_user

    try:
        user = current_user if current_user.is_authenticated else None
        if user is not None and user.role in SEAT_MAP_ROLES:
            _staff_sessions[_sid()] = SimpleNamespace(role=user.role, meeting_id=user.meeting_id)
    finally:
        db.session().rollback()


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(*_args: Any) -> None:
    _staff_sessions.pop(_sid(), None)


@socketio.on("join", namespace=NAMESPACE)
def on_join(data: Any) -> dict[str, Any]:
    meeting_id = data.get("meeting") if isinstance(data, dict) else None
    session = db.session()
    meeting = session.get(Meeting, meeting_id) if isinstance(meeting_id, str) else None
    if meeting is None or meeting.state != "sealed":
        return {"error": "unknown_meeting", "message": "no sealed meeting with that id"}
    join_room(meeting_room(meeting.id))
    staff = _staff_sessions.get(_sid())
    if staff is not None and (staff.role != "trustee" or staff.meeting_id == meeting.id):
        join_room(staff_room(meeting.id))
        socketio.emit("seat_map", seat_map_payload(meeting.id), to=_sid(), namespace=NAMESPACE)
    # Catch the client up: presence, then the open vote (or the latest one that was opened).
    socketio.emit("presence", presence_payload(meeting), to=_sid(), namespace=NAMESPACE)
    current = _current_vote(session, meeting.id)
    if current is not None:
        socketio.emit("vote_state", vote_state_payload(current), to=_sid(), namespace=NAMESPACE)
        _catch_up_turnout(_sid(), meeting.id, turnout_payload(current))
        if current.held:
            socketio.emit("vote_hold", hold_payload(current), to=_sid(), namespace=NAMESPACE)
    session.rollback()
    return {"joined": meeting.id, "staff": staff is not None}
