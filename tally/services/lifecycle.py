"""Opening, holding, resuming and closing votes (SPEC §5, §7 ``open`` and ``close`` entries).

Opening snapshots ``present`` (the active credentials checked in so far) into the ``open``
entry, and its log index into ``Vote.open_index``; only those credentials may vote (SPEC §5, §8.1:
credentials are fixed at ``open``). ``present`` never exceeds the credentials active at ``open``
nor ``members``; the service refuses to open rather than log one that does. At most one vote is
open at a time, so every tablet shows one ballot (docs/spec-notes.md). Closing logs how many
ballot entries the vote received.

``at`` times are written as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (SPEC §8.1), and a ``close`` is never
earlier than its ``open``: if the clock went back in between, the close takes the open's time.

A hold (暂停) is the implementation's own (SPEC §10 leaves holds out of the log): an open vote on
hold stays ``open`` in every SPEC view, refuses ballots and spoiled ballots with ``vote_not_open``,
and its timer stops; resuming restarts the timer with the time that was left. Holds and resumes
are staff actions in the audit trail and reach clients as the ``vote_hold`` live event. A held
vote can still be closed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ballot.clock import format_log_time, parse_log_time
from ballot.hashing import parse_json
from tally.errors import APIError, conflict, not_found
from tally.live import broadcast
from tally.store import logstore
from tally.store.audit_trail import record_event
from tally.store.models import Credential, LogEntry, Vote

MAX_DURATION = 24 * 3600


def _clock() -> datetime:
    """The time for ``at`` (tests replace it to move the clock)."""
    return datetime.now(UTC)


def log_time(not_before: str | None = None) -> str:
    """Now as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (SPEC §7, §8.1), never earlier than ``not_before``
    (an ``at`` this service wrote): a clock that went back gives that time."""
    at = format_log_time(_clock())
    if not_before is not None and parse_log_time(at) < parse_log_time(not_before):
        at = not_before
    return at


def open_vote(meeting_id: str, vote_id: str, *, actor: str, duration_seconds: int | None = None) -> Vote:
    if duration_seconds is not None and (
        not isinstance(duration_seconds, int) or isinstance(duration_seconds, bool)
        or not 1 <= duration_seconds <= MAX_DURATION
    ):
        raise APIError("malformed", f"duration must be 1 to {MAX_DURATION} seconds")
    with logstore.writing(meeting_id) as log:
        if log.meeting.state != "sealed":
            raise conflict("not_sealed", "seal the meeting before opening votes")
        vote = log.session.get(Vote, (meeting_id, vote_id))
        if vote is None:
            raise not_found(f"vote {vote_id!r}")
        if vote.state != "pending":
            raise conflict("vote_not_pending", f"vote {vote_id!r} is {vote.state}; a vote opens once")
        already = log.session.scalar(select(Vote.vote_id).where(Vote.meeting_id == meeting_id, Vote.state == "open"))
        if already is not None:
            raise conflict("another_vote_open", f"close vote {already!r} first")
        # SPEC §5, §8.1: present = the active credentials checked in before this entry, so never
        # more than the credentials active at it; the credentials the vote admits
        # (admitted_from ≤ its index, still not revoked) are exactly those.
        present = log.session.scalars(select(func.count()).select_from(Credential).where(
            Credential.meeting_id == meeting_id, Credential.state == "registered",
            Credential.admitted_from.is_not(None))).one()
        if present > log.meeting.members:
            raise conflict("invalid_present", f"present would be {present}, more than the meeting's "
                           f"{log.meeting.members} members (SPEC §8.1); nothing was logged")
        log.meeting.checkins = present
        vote.open_index = log.append({"type": "open", "vote_id": vote_id, "at": log_time(), "present": present})
        vote.state = "open"
        vote.present = present
        vote.closes_at = (
            datetime.now(UTC) + timedelta(seconds=duration_seconds) if duration_seconds else None
        )
        record_event(actor, "vote.open", meeting_id, {"vote_id": vote_id, "present": present}, session=log.session)
    broadcast.announce_vote_state(vote)
    broadcast.announce_turnout(vote)
    return vote


def close_vote(meeting_id: str, vote_id: str, *, actor: str) -> Vote:
    with logstore.writing(meeting_id) as log:
        vote = log.session.get(Vote, (meeting_id, vote_id))
        if vote is None:
            raise not_found(f"vote {vote_id!r}")
        if vote.state != "open":
            raise conflict("vote_not_open", f"vote {vote_id!r} is {vote.state}, not open")
        opened = log.session.scalar(
            select(LogEntry.data).where(LogEntry.meeting_id == meeting_id, LogEntry.idx == vote.open_index))
        at = log_time(parse_json(opened)["at"] if opened is not None else None)
        log.append({"type": "close", "vote_id": vote_id, "at": at, "ballots": vote.ballots_logged})
        vote.state = "closed"
        vote.closes_at = None
        vote.held = False
        vote.held_remaining_ms = None
        record_event(actor, "vote.close", meeting_id, {"vote_id": vote_id, "ballots": vote.ballots_logged},
                     session=log.session)
    broadcast.announce_vote_state(vote)
    return vote


def _open_vote_row(log: logstore.LogWriter, meeting_id: str, vote_id: str) -> Vote:
    vote = log.session.get(Vote, (meeting_id, vote_id))
    if vote is None:
        raise not_found(f"vote {vote_id!r}")
    if vote.state != "open":
        raise conflict("vote_not_open", f"vote {vote_id!r} is {vote.state}, not open")
    return vote


def hold_vote(meeting_id: str, vote_id: str, *, actor: str) -> Vote:
    """Put an open vote on hold: no ballots are accepted and its timer stops."""
    with logstore.writing(meeting_id) as log:
        vote = _open_vote_row(log, meeting_id, vote_id)
        if vote.held:
            raise conflict("vote_held", f"vote {vote_id!r} is already on hold")
        remaining_ms = None
        if vote.closes_at is not None:
            closes_at = vote.closes_at if vote.closes_at.tzinfo else vote.closes_at.replace(tzinfo=UTC)
            remaining_ms = max(0, int((closes_at - datetime.now(UTC)).total_seconds() * 1000))
        vote.held = True
        vote.held_remaining_ms = remaining_ms
        vote.closes_at = None
        record_event(actor, "vote.hold", meeting_id, {"vote_id": vote_id, "remaining_ms": remaining_ms},
                     session=log.session)
    broadcast.announce_vote_state(vote)
    broadcast.announce_hold(vote)
    return vote


def resume_vote(meeting_id: str, vote_id: str, *, actor: str) -> Vote:
    """Resume a held vote; a timer restarts with the time it had left (at least one second)."""
    with logstore.writing(meeting_id) as log:
        vote = _open_vote_row(log, meeting_id, vote_id)
        if not vote.held:
            raise conflict("vote_not_held", f"vote {vote_id!r} is not on hold")
        if vote.held_remaining_ms is not None:
            vote.closes_at = datetime.now(UTC) + timedelta(milliseconds=max(1000, vote.held_remaining_ms))
        vote.held = False
        vote.held_remaining_ms = None
        record_event(actor, "vote.resume", meeting_id, {"vote_id": vote_id}, session=log.session)
    broadcast.announce_vote_state(vote)
    broadcast.announce_hold(vote)
    return vote
