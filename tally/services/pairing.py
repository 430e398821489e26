"""Binding a tablet to a seat with a one-time pairing code.

The clerk creates codes for seats (staff API or the demo); a tablet posts one code and learns its
meeting and seat. A code is 8 digits, works once, and expires after 12 hours; only its SHA-256 is
stored. Pairing grants nothing by itself: checking in still needs the deputy's credential.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tally.errors import APIError
from tally.store import db
from tally.store.audit_trail import record_event
from tally.store.models import Deputy, Meeting, Pairing

LIFETIME = timedelta(hours=12)


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


def create_codes(meeting_id: str, seats: list[str], *, actor: str) -> list[dict[str, str]]:
    """One code per seat, stored (as SHA-256) in one transaction with the audit event that
    records who created them: both or neither."""
    session = db.session()
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise APIError("not_found", f"meeting {meeting_id!r} does not exist", 404)
    if not isinstance(seats, list) or not seats or not all(isinstance(s, str) and 0 < len(s) <= 32 for s in seats):
        raise APIError("malformed", "seats must be a non-empty list of seat strings")
    roster = set(session.scalars(select(Deputy.seat).where(Deputy.meeting_id == meeting_id)))
    unknown = [s for s in seats if roster and s not in roster]
    if unknown:
        raise APIError("unknown_seat", f"not in the roster: {unknown[:5]}", 404)
    expires = datetime.now(UTC) + LIFETIME
    codes = []
    for seat in seats:
        code = f"{secrets.randbelow(10**8):08d}"
        session.add(Pairing(meeting_id=meeting_id, seat=seat, code_hash=_digest(code), expires_at=expires))
        codes.append({"seat": seat, "code": code})
    record_event(actor, "pairing.create", meeting_id, {"seats": len(codes)})
    session.commit()
    return codes


def redeem(code: Any) -> dict[str, str]:
    if not isinstance(code, str) or not code.isdigit() or len(code) != 8:
        raise APIError("malformed", "a pairing code is 8 digits")
    session = db.session()
    pairing = session.scalar(select(Pairing).where(Pairing.code_hash == _digest(code)))
    now = datetime.now(UTC)
    expires = pairing.expires_at if pairing is not None else None
    if expires is not None and expires.tzinfo is None:  # SQLite hands datetimes back naive (UTC)
        expires = expires.replace(tzinfo=UTC)
    if pairing is None or pairing.used_at is not None or expires is None or expires < now:
        raise APIError("invalid_pairing", "this pairing code is unknown, used or expired; ask the clerk for a new one", 404)
    pairing.used_at = now
    meeting = session.get(Meeting, pairing.meeting_id)
    assert meeting is not None
    result = {"meeting_id": meeting.id, "seat": pairing.seat, "title": meeting.title}
    session.commit()
    return result
