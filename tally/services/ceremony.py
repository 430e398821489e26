"""The key-ceremony relay (SPEC §6.1): the service passes the trustees' messages, and learns nothing.

Each trustee's tool (``python -m keys ceremony … --server``) posts its announcement (the
commitments to its polynomial), its share envelopes for the others, and the result of checking the
shares it received (ok, or a complaint naming whose share failed). Only a meeting still in setup
relays; :func:`tally.services.meetings.seal` then combines the announcements into the meeting entry.
Every function raises :class:`~tally.errors.APIError` for a caller's mistake and commits its own work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ballot.errors import PiaojueError
from ballot.hashing import canonical_json
from tally.errors import APIError, conflict, not_found
from tally.services.meetings import get_meeting, require_setup
from tally.store import db
from tally.store.audit_trail import record_event
from tally.store.models import CeremonyMessage, Trustee


def _trustee(meeting_id: str, index: Any) -> Trustee:
    if not isinstance(index, int) or isinstance(index, bool):
        raise APIError("malformed", "trustee index must be an integer")
    trustee = db.session().get(Trustee, (meeting_id, index))
    if trustee is None:
        raise not_found(f"trustee {index} of meeting {meeting_id!r}")
    return trustee


def post_announcement(meeting_id: str, index: int, announcement: Any, *, actor: str) -> None:
    meeting = get_meeting(meeting_id)
    require_setup(meeting)
    trustee = _trustee(meeting_id, index)
    if not isinstance(announcement, dict) or announcement.get("index") != index:
        raise APIError("malformed", "the announcement must be an object for this trustee's index")
    if trustee.announcement is not None and trustee.announcement != announcement:
        raise conflict("exists", f"trustee {index} has already announced different commitments")
    try:
        canonical_json(announcement)
    except PiaojueError as exc:
        raise APIError("malformed", str(exc)) from None
    trustee.announcement = announcement
    record_event(actor, "ceremony.announce", meeting_id, {"trustee": index})
    db.session().commit()


def announcements(meeting_id: str) -> list[dict[str, Any]]:
    get_meeting(meeting_id)
    rows = db.session().scalars(select(Trustee).where(Trustee.meeting_id == meeting_id).order_by(Trustee.index))
    return [t.announcement for t in rows if t.announcement is not None]


def post_messages(meeting_id: str, sender: int, messages: Any, *, actor: str) -> int:
    meeting = get_meeting(meeting_id)
    require_setup(meeting)
    _trustee(meeting_id, sender)
    if not isinstance(messages, list):
        raise APIError("malformed", "messages must be a list")
    session = db.session()
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("from") != sender or not isinstance(message.get("to"), int):
            raise APIError("malformed", f"messages[{i}] must be from trustee {sender} to a trustee index")
        _trustee(meeting_id, message["to"])
        existing = session.scalar(
            select(CeremonyMessage).where(
                CeremonyMessage.meeting_id == meeting_id,
                CeremonyMessage.sender == sender,
                CeremonyMessage.recipient == message["to"],
            )
        )
        if existing is None:
            session.add(CeremonyMessage(meeting_id=meeting_id, sender=sender, recipient=message["to"], message=message))
        elif existing.message != message:
            raise conflict("exists", f"trustee {sender} already sent a different share to {message['to']}")
    record_event(actor, "ceremony.deal", meeting_id, {"trustee": sender, "messages": len(messages)})
    session.commit()
    return len(messages)


def messages_for(meeting_id: str, recipient: int) -> list[dict[str, Any]]:
    get_meeting(meeting_id)
    _trustee(meeting_id, recipient)
    rows = db.session().scalars(
        select(CeremonyMessage)
        .where(CeremonyMessage.meeting_id == meeting_id, CeremonyMessage.recipient == recipient)
        .order_by(CeremonyMessage.sender)
    )
    return [row.message for row in rows]


def confirm_trustee(meeting_id: str, index: int, ok: bool, complaint: str | None, *, actor: str) -> None:
    """A trustee reports the Feldman result of ``receive``: ok, or a complaint naming whose share failed."""
    meeting = get_meeting(meeting_id)
    require_setup(meeting)
    trustee = _trustee(meeting_id, index)
    trustee.confirmed = bool(ok)
    trustee.complaint = None if ok else str(complaint or "share check failed")[:2000]
    record_event(actor, "ceremony.confirm", meeting_id, {"trustee": index, "ok": bool(ok)})
    db.session().commit()


def ceremony_status(meeting_id: str) -> list[dict[str, Any]]:
    get_meeting(meeting_id)
    rows = db.session().scalars(select(Trustee).where(Trustee.meeting_id == meeting_id).order_by(Trustee.index))
    session = db.session()
    return [
        {
            "index": t.index,
            "name": t.name,
            "announced": t.announcement is not None,
            "dealt": session.scalar(
                select(func.count()).select_from(CeremonyMessage).where(
                    CeremonyMessage.meeting_id == meeting_id, CeremonyMessage.sender == t.index
                )
            ),
            "confirmed": t.confirmed,
            "complaint": t.complaint,
        }
        for t in rows
    ]
