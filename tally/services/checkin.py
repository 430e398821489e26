"""Check-in (SPEC §11): a deputy's tablet proves the credential and names the seat.

The signature is ``Ed25519-Sign(credential key, "piaojue/1/checkin" ‖ Q ‖ seat)``. A credential
counts toward ``present`` once, whatever seat it checks in from; repeating is harmless. A first
check-in records the log size at that moment (``admitted_from``): a vote whose ``open`` entry
stands at or after it admits the credential, one opened earlier does not (SPEC §5, §8.1: a later
arrival votes from the next vote on). If the meeting has a roster, the seat must be one of its
seats.

Check-in control (the implementation's own, docs/spec-notes.md): the presidium may close check-in
(签到截止) and reopen it. While it is closed a new credential gets ``409 checkin_closed``; a
credential already checked in may repeat its check-in (a tablet that restarts), which changes
nothing.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from ballot.errors import EncodingError
from ballot.hashing import hex_bytes
from keys.credentials import checkin_message
from tally.errors import APIError
from tally.live import broadcast
from tally.store import cache, db
from tally.store.audit_trail import record_event
from tally.store.models import Credential, Deputy, utcnow

MAX_SEAT = 32


def check_in(meeting_id: str, body: Any) -> dict[str, int]:
    meeting = cache.sealed_meeting(meeting_id)
    if not isinstance(body, dict) or set(body) != {"credential", "seat", "signature"}:
        raise APIError("malformed", "check-in needs exactly credential, seat and signature")
    seat = body["seat"]
    if not isinstance(seat, str) or not seat or len(seat) > MAX_SEAT:
        raise APIError("malformed", f"seat must be a non-empty string of at most {MAX_SEAT} characters")
    try:
        credential = hex_bytes(body["credential"], 32, where="credential")
        signature = hex_bytes(body["signature"], 64, where="signature")
    except EncodingError as exc:
        raise APIError("malformed", str(exc)) from None
    try:
        Ed25519PublicKey.from_public_bytes(credential).verify(signature, checkin_message(meeting.hash, seat))
    except (InvalidSignature, ValueError):
        raise APIError("bad_signature", "the check-in signature does not verify") from None
    session = db.session()
    has_roster = session.scalar(select(func.count()).select_from(Deputy).where(Deputy.meeting_id == meeting_id))
    if has_roster and session.scalar(
        select(Deputy.id).where(Deputy.meeting_id == meeting_id, Deputy.seat == seat)
    ) is None:
        raise APIError("unknown_seat", f"seat {seat!r} is not in the meeting's roster", 404)
    session.rollback()
    with db.locked_meeting(meeting_id) as (locked, row):
        stored = locked.scalar(
            select(Credential).where(Credential.meeting_id == meeting_id, Credential.public_key == credential.hex())
        )
        if stored is None or stored.state == "pending":
            raise APIError("unknown_credential", "this credential is not registered for the meeting", 403)
        if stored.state == "revoked":
            raise APIError("revoked_credential", "this credential has been revoked", 403)
        first_time = stored.admitted_from is None
        if first_time and not row.checkin_open:
            raise APIError("checkin_closed", "check-in is closed; ask the clerk to reopen it", 409)
        if first_time:
            row.checkins += 1
            stored.checkin_order = (locked.scalar(
                select(func.max(Credential.checkin_order)).where(Credential.meeting_id == meeting_id)) or 0) + 1
            # The lock orders this check-in against every ``open``: the next open entry goes at
            # index ``log_size`` or later, and admits this credential.
            stored.admitted_from = row.log_size
            stored.seat = seat
            stored.checked_in_at = utcnow()
        present = row.checkins
    broadcast.announce_presence(row)
    if first_time:
        broadcast.announce_seat_checked_in(meeting_id, seat)
    return {"present": present}


def set_checkin_open(meeting_id: str, is_open: bool, *, actor: str) -> dict[str, Any]:
    """Close or reopen check-in for a sealed meeting (an audited staff action)."""
    cache.sealed_meeting(meeting_id)
    db.session().rollback()
    with db.locked_meeting(meeting_id) as (locked, row):
        changed = row.checkin_open != is_open
        row.checkin_open = is_open
        if changed:
            record_event(actor, "checkin.open" if is_open else "checkin.close", meeting_id,
                         {"present": row.checkins}, session=locked)
        state = checkin_state_payload(row)
    broadcast.announce_checkin_state(meeting_id, state)
    return state


def checkin_state_payload(meeting: Any) -> dict[str, Any]:
    return {"open": bool(meeting.checkin_open), "present": meeting.checkins, "members": meeting.members}
