"""From a closed vote to its published result (SPEC §6.2, §8, §9).

The service has kept each vote's aggregate ``(A, B)`` per option up to date with every counted
ballot (:mod:`tally.services.aggregate`), so closing costs nothing. Trustees fetch the aggregates, post
``share`` entries (each verified against the trustee's ``K_l`` before it is logged), and once
``threshold`` valid shares are in, the result is combined, its §9 outcome computed, and the
``result`` entry logged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ballot.elgamal import Ciphertext
from ballot.errors import PiaojueError, ProofError
from ballot.hashing import parse_json
from ballot.results import result_entry
from keys.decrypt import combine_shares, verify_share_entry
from tally.errors import APIError, conflict, not_found
from tally.live import broadcast
from tally.services import aggregate
from tally.store import cache, db, logstore
from tally.store.audit_trail import record_event
from tally.store.models import LogEntry, Vote

Aggregate = tuple[str, str, Ciphertext]


def _vote(meeting_id: str, vote_id: str) -> Vote:
    vote = db.session().get(Vote, (meeting_id, vote_id))
    if vote is None:
        raise not_found(f"vote {vote_id!r}")
    return vote


def vote_aggregates(vote: Vote) -> list[Aggregate]:
    """The vote's running aggregate (:mod:`tally.services.aggregate`) as ``(contest, option, (A, B))``."""
    refs = cache.vote_definition(vote.meeting_id, vote.vote_id).option_refs()
    return [(c, o, ct) for (c, o), ct in zip(refs, aggregate.read(vote, len(refs)))]


def aggregates_json(meeting_id: str, vote_id: str) -> dict[str, Any]:
    """The sums trustees decrypt: ``{"vote_id", "counted", "aggregates": [{"contest", "option", "A", "B"}]}``."""
    vote = _vote(meeting_id, vote_id)
    if vote.state not in ("closed", "published"):
        raise conflict("vote_not_closed", f"vote {vote_id!r} is {vote.state}; aggregates are final once it closes")
    return {
        "vote_id": vote_id,
        "counted": vote.counted,
        "aggregates": [
            {"contest": c, "option": o, "A": ct.alpha.hex(), "B": ct.beta.hex()} for c, o, ct in vote_aggregates(vote)
        ],
    }


def _share_entries(session: Any, meeting_id: str, vote_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(LogEntry.data)
        .where(LogEntry.meeting_id == meeting_id, LogEntry.vote_id == vote_id, LogEntry.type == "share")
        .order_by(LogEntry.idx)
    )
    return [parse_json(data) for data in rows]


def _missing(meeting: Any, posted: list[int]) -> tuple[list[int], list[dict[str, Any]]]:
    """The trustees (from the §6.3 meeting entry) who have not posted a share: indices, and
    ``{"index", "name"}`` for people to read."""
    missing = [t for t in meeting.trustees if t.index not in posted]
    return [t.index for t in missing], [{"index": t.index, "name": t.name} for t in missing]


def decryption_status(meeting_id: str, vote_id: str) -> dict[str, Any]:
    """Which trustees have posted a verified share for the vote, and which are awaited (SPEC §8)."""
    meeting = cache.sealed_meeting(meeting_id)
    vote = _vote(meeting_id, vote_id)
    posted = sorted(entry["trustee"] for entry in _share_entries(db.session(), meeting_id, vote_id))
    missing, missing_trustees = _missing(meeting, posted)
    return {
        "vote_id": vote_id,
        "state": vote.state,
        "threshold": meeting.threshold,
        "posted": posted,
        "missing": missing,
        "missing_trustees": missing_trustees,
    }


def submit_share(meeting_id: str, vote_id: str, entry: Any, *, actor: str = "trustee") -> dict[str, Any]:
    """Verify and log a trustee's §8 share entry; publish the result once ``threshold`` are in."""
    meeting = cache.sealed_meeting(meeting_id)
    definition = cache.vote_definition(meeting_id, vote_id)
    vote = _vote(meeting_id, vote_id)
    if vote.state != "closed":
        raise conflict("vote_not_closed", f"vote {vote_id!r} is {vote.state}; shares are taken after it closes")
    try:
        verify_share_entry(meeting, definition.hash, vote_aggregates(vote), entry, vote_id=vote_id)
    except PiaojueError as exc:
        # ``check`` says why: a §6.2 proof that does not verify against the trustee's K_l (a
        # wrong key share, another vote's share, a forged proof, another trustee's index), or
        # an entry that is not a §8 share for this vote at all. Nothing is logged either way.
        check = "invalid_proof" if isinstance(exc, ProofError) else "malformed"
        located: dict[str, Any] = {"where": exc.where} if exc.where else {}
        raise APIError("invalid_share", f"the share does not verify: {exc}", check=check, **located) from None
    trustee = entry["trustee"]
    db.session().rollback()
    with logstore.writing(meeting_id) as log:
        locked = log.session.get(Vote, (meeting_id, vote_id))
        assert locked is not None
        if locked.state != "closed":
            raise conflict("vote_not_closed", f"vote {vote_id!r} is {locked.state}")
        earlier = _share_entries(log.session, meeting_id, vote_id)
        if any(e["trustee"] == trustee for e in earlier):
            raise conflict("already_shared", f"trustee {trustee} has already posted a share for vote {vote_id!r}")
        log.append(entry)
        record_event(actor, "share.post", meeting_id, {"vote_id": vote_id, "trustee": trustee}, session=log.session)
        posted = len(earlier) + 1
    status = decryption_status(meeting_id, vote_id)
    if posted >= meeting.threshold:
        publish(meeting_id, vote_id, actor=actor)
        status = decryption_status(meeting_id, vote_id)
    return status


def publish(meeting_id: str, vote_id: str, *, actor: str) -> dict[str, Any]:
    """Combine the logged shares and log the §8 result with its §9 outcome."""
    meeting = cache.sealed_meeting(meeting_id)
    definition = cache.vote_definition(meeting_id, vote_id)
    db.session().rollback()
    with logstore.writing(meeting_id) as log:
        vote = log.session.get(Vote, (meeting_id, vote_id))
        assert vote is not None
        if vote.state == "published":
            raise conflict("already_published", f"vote {vote_id!r} is already published")
        if vote.state != "closed":
            raise conflict("vote_not_closed", f"vote {vote_id!r} is {vote.state}")
        aggregates = vote_aggregates(vote)
        shares = _share_entries(log.session, meeting_id, vote_id)
        try:
            decryption = combine_shares(meeting, definition.hash, aggregates, shares, vote.counted, vote_id=vote_id)
        except PiaojueError as exc:
            posted = sorted(e["trustee"] for e in shares)
            missing, missing_trustees = _missing(meeting, posted)
            names = ", ".join(f"{t['index']} {t['name']}" for t in missing_trustees)
            raise APIError(
                "awaiting_shares", f"cannot decrypt yet: {exc}; waiting for trustees {names}", 409,
                threshold=meeting.threshold, posted=posted, missing=missing, missing_trustees=missing_trustees,
            ) from None
        result = result_entry(
            definition,
            [ct for _, _, ct in aggregates],
            dict(zip(definition.option_refs(), decryption.counts)),
            trustees=decryption.trustees_used,
            counted=vote.counted,
            present=vote.present or 0,
            members=meeting.members,
            quorum=meeting.quorum,
        )
        log.append(result)
        vote.state = "published"
        record_event(actor, "vote.publish", meeting_id, {"vote_id": vote_id}, session=log.session)
    broadcast.announce_vote_state(vote)
    broadcast.announce_result(meeting_id, result)
    return result


def published_result(meeting_id: str, vote_id: str) -> dict[str, Any]:
    data = db.session().scalar(
        select(LogEntry.data).where(
            LogEntry.meeting_id == meeting_id, LogEntry.vote_id == vote_id, LogEntry.type == "result"
        )
    )
    if data is None:
        raise conflict("not_published", f"vote {vote_id!r} has no result yet")
    return parse_json(data)
