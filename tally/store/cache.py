"""Per-process caches of what never changes once logged: a sealed meeting's parsed §6.3 entry
and its votes' parsed §4.1 definitions (both are immutable log entries)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from ballot.hashing import parse_json
from ballot.meeting import Meeting as MeetingEntry
from ballot.meeting import parse_meeting
from ballot.vote import VoteDefinition, parse_vote
from tally.errors import APIError, conflict, not_found
from tally.store import db
from tally.store.models import LogEntry, Meeting, Vote

_meetings: dict[str, MeetingEntry] = {}
_votes: dict[tuple[str, str], VoteDefinition] = {}
_guard = threading.Lock()


def sealed_meeting(meeting_id: str) -> MeetingEntry:
    """The parsed meeting entry (log index 0); 404 if no meeting, 409 if not sealed yet."""
    cached = _meetings.get(meeting_id)
    if cached is not None:
        return cached
    session = db.session()
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise not_found(f"meeting {meeting_id!r}")
    if meeting.state != "sealed":
        raise conflict("not_sealed", f"meeting {meeting_id!r} has not been sealed yet")
    data = session.scalars(select(LogEntry.data).where(LogEntry.meeting_id == meeting_id, LogEntry.idx == 0)).one()
    parsed = parse_meeting(parse_json(data))
    with _guard:
        _meetings[meeting_id] = parsed
    return parsed


def vote_definition(meeting_id: str, vote_id: str) -> VoteDefinition:
    """The parsed definition of a logged vote; ``unknown_vote`` (404) otherwise."""
    key = (meeting_id, vote_id)
    cached = _votes.get(key)
    if cached is not None:
        return cached
    vote = db.session().get(Vote, key) if isinstance(vote_id, str) else None
    if vote is None or not vote.logged:
        raise APIError("unknown_vote", f"meeting {meeting_id!r} has no published vote {vote_id!r}", 404)
    definition = parse_vote(vote.entry)
    with _guard:
        _votes[key] = definition
    return definition


def clear() -> None:
    """Forget every cached entry (tests that recreate databases call this)."""
    with _guard:
        _meetings.clear()
        _votes.clear()
