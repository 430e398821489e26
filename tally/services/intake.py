"""Ballot and spoiled-ballot intake (SPEC §4.3, §4.4, §5, §11), in one transaction:

1. schema and size (the request size limit is Flask's ``MAX_CONTENT_LENGTH``: ``too_large``);
2. §4.3 verification (proofs and signature), outside the lock, so that verification of
   concurrent ballots runs in parallel;
3. under the meeting's lock: credential registered, not revoked, and registered and checked in
   before the vote's ``open`` entry (``admitted_from ≤ open_index``; SPEC §5, §8.1: credentials
   are fixed at ``open``, so a replacement card registered while the vote is open, or a deputy
   who checked in after it opened, votes from the next vote on);
4. the vote is open;
5. §5: a second ballot from a credential is ``already_voted`` unless the vote allows recasts,
   in which case the earlier one stops counting and is subtracted from the aggregate;
6. append the ballot entry; 7. update the running aggregate (:mod:`tally.services.aggregate`); 8. commit
   (with a signed tree head); 9. the receipt, with an inclusion proof against that tree head.

A rejected ballot raises :class:`~tally.errors.APIError` with the SPEC §11 code and appends
nothing. The same ballot posted twice gets the same receipt (``created`` is False).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select

from ballot.ballot import display_tracker, verify_ballot
from ballot.elgamal import Ciphertext
from ballot.errors import BallotError, EncodingError
from ballot.hashing import canonical_json
from ballot.receipt import make_receipt
from ballot.spoiled import verify_spoiled
from tally.errors import APIError
from tally.live import broadcast
from tally.ops import offload
from tally.services import aggregate
from tally.services.receipts import original_receipt
from tally.store import cache, db, logstore
from tally.store.batching import GroupCommit, Item
from tally.store.models import CastBallot, Credential, LogEntry, SpoiledBallot, TreeHead, Vote

STATUS = {
    "malformed": 400,
    "bad_signature": 400,
    "invalid_proof": 400,
    "unknown_vote": 404,
    "unknown_credential": 403,
    "revoked_credential": 403,
    "not_checked_in": 403,
    "vote_not_open": 409,
    "already_voted": 409,
    "too_large": 413,
}


def rejection(code: str, message: str, **extra: Any) -> APIError:
    return APIError(code, message, STATUS[code], **extra)


@dataclass
class Accepted:
    receipt: dict[str, Any]
    created: bool


def _check_credential(credential: Credential | None, vote: Vote) -> Credential:
    if credential is None:
        raise rejection("unknown_credential", "this credential is not registered for the meeting")
    if credential.state == "revoked":
        raise rejection("revoked_credential", "this credential has been revoked (a replacement card was issued)")
    if credential.state != "registered":
        raise rejection("unknown_credential", "this credential is not registered for the meeting")
    # Before the vote opens there is no ``open`` entry yet: "checked in" then means "now".
    if credential.admitted_from is None:
        raise rejection("not_checked_in", "this credential has not checked in")
    if vote.open_index is not None and credential.admitted_from > vote.open_index:
        if credential.registered_index is not None and credential.registered_index > vote.open_index:
            raise rejection("not_checked_in", "this card was registered after the vote opened (a replacement "
                            "card): it can vote from the next vote on", check="registered_after_open")
        raise rejection("not_checked_in", "this credential was not checked in when the vote opened; "
                        "it can vote from the next vote on", check="checked_in_after_open")
    return credential


@dataclass
class _Pending:
    """A verified ballot waiting for its batch (see tally.store.batching)."""

    meeting_id: str
    vote_id: str
    recast: bool
    digest: bytes
    data: bytes
    credential: str
    ciphertexts: tuple[Ciphertext, ...]
    repeat: CastBallot | None = None


def submit_ballot(meeting_id: str, vote_id: str, body: Any) -> Accepted:
    """Steps 1–2 here, outside any lock; steps 3–9 in the meeting's next group commit."""
    meeting = cache.sealed_meeting(meeting_id)
    definition = cache.vote_definition(meeting_id, vote_id)
    if not isinstance(body, dict):
        raise rejection("malformed", "a ballot is a JSON object")
    try:
        # off the gevent hub: the live fan-out and other requests go on meanwhile (tally.ops.offload)
        verified = offload.cpu_bound(verify_ballot, body, definition, meeting.hash, meeting.public_key)
        data = canonical_json(body)
    except BallotError as exc:
        raise rejection(exc.code, exc.message, where=exc.where) from None
    except EncodingError as exc:
        raise rejection("malformed", str(exc)) from None
    digest = verified.hash
    if any(ct.alpha.is_identity() for ct in verified.ciphertexts):
        # SPEC §2 nonces are in [1, ℓ); α = identity would reveal the selection (docs/spec-notes.md).
        raise rejection("malformed", "a selection was encrypted with a zero nonce (α is the identity)")
    db.session().rollback()  # hold no connection while waiting for the batch
    pending = _Pending(meeting_id, vote_id, definition.recast, digest, data, verified.credential.hex(),
                       verified.ciphertexts)
    accepted = _group_commit.submit(meeting_id, pending)
    if pending.repeat is not None:
        return _repeat(meeting_id, pending.repeat, data)
    return accepted


@dataclass
class _Appended:
    """A ballot this batch appends: its request, its row (inserted in bulk) and the deputy's seat."""

    item: Item[_Pending]
    row: CastBallot
    seat: str | None


@dataclass
class _Batch:
    """What one batch reads under the meeting's lock (one query each), and what it appends."""

    meeting_id: str
    logged: dict[bytes, CastBallot]  # by ballot hash, logged before or in this batch: repeats
    challenged: set[bytes]  # ballot hashes of the pending ballots that have a §4.4 spoiled entry
    credentials: dict[str, Credential]
    counting: dict[tuple[str, str], CastBallot]  # (vote, credential) → the ballot that counts (§5)
    votes: dict[str, Vote | None]
    sums: dict[str, list[Ciphertext]]  # vote → its running aggregate (tally.services.aggregate)
    appended: list[_Appended] = field(default_factory=list)
    appended_ciphertexts: dict[int, tuple[Ciphertext, ...]] = field(default_factory=dict)  # by leaf index
    touched: dict[str, Vote] = field(default_factory=dict)  # votes with a ballot appended


def _run_batch(meeting_id: str, items: Sequence[Item[_Pending]]) -> None:
    """Steps 3–9 for every ballot of one batch, in one transaction, in arrival order.

    Each ballot is admitted or refused (:func:`_admit`), counted (:func:`_recast`: a recast's
    earlier ballot leaves the aggregate) and appended (:func:`_append`); then the rows go in, in
    bulk, under one signed tree head (:func:`_insert`), and every receipt carries an inclusion
    proof against it (:func:`_receipts`, handed out by :func:`_hand_out`). A rejected ballot
    gets its own error and appends nothing; the others go on.
    """
    with logstore.writing(meeting_id) as log:
        batch = _load(log.session, meeting_id, [item.payload for item in items])
        for item in items:
            p = item.payload
            p.repeat = batch.logged.get(p.digest)
            if p.repeat is not None:
                continue  # answered outside the lock (_repeat)
            try:
                vote, seat = _admit(batch, p)
            except APIError as exc:
                item.error = exc
                continue
            _recast(batch, log.session, p, vote)
            _append(batch, log, item, vote, seat)
        receipts = _receipts(batch, log, _insert(batch, log))
    # Receipts go out only now that the batch is committed: if the commit fails, the error is
    # every item's (tally.store.batching) and no client holds a receipt for an unlogged ballot.
    _hand_out(batch, receipts)


def _load(session: Any, meeting_id: str, pending: list[_Pending]) -> _Batch:
    """The rows the batch's checks need, for all its ballots at once."""
    digests = {p.digest for p in pending}
    keys = {p.credential for p in pending}
    logged = session.scalars(
        select(CastBallot).where(CastBallot.meeting_id == meeting_id, CastBallot.ballot_hash.in_(digests))
    )
    credentials = session.scalars(
        select(Credential).where(Credential.meeting_id == meeting_id, Credential.public_key.in_(keys))
    )
    counting = session.scalars(
        select(CastBallot).where(
            CastBallot.meeting_id == meeting_id,
            CastBallot.credential.in_(keys),
            CastBallot.vote_id.in_({p.vote_id for p in pending}),
            CastBallot.counts.is_(True),
        )
    )
    challenged = session.scalars(
        select(SpoiledBallot.ballot_hash).where(
            SpoiledBallot.meeting_id == meeting_id, SpoiledBallot.ballot_hash.in_(digests)
        )
    )
    votes = {vote_id: session.get(Vote, (meeting_id, vote_id)) for vote_id in {p.vote_id for p in pending}}
    size = {p.vote_id: len(p.ciphertexts) for p in pending}  # one ciphertext per option (verified)
    return _Batch(
        meeting_id=meeting_id,
        logged={row.ballot_hash: row for row in logged},
        credentials={c.public_key: c for c in credentials},
        counting={(row.vote_id, row.credential): row for row in counting},
        challenged=set(challenged),
        votes=votes,
        sums={vote_id: aggregate.read(vote, size[vote_id])
              for vote_id, vote in votes.items() if vote is not None},
    )


def _admit(batch: _Batch, p: _Pending) -> tuple[Vote, str | None]:
    """Steps 3–5's refusals (SPEC §5, §8.1 V18–V21, §11): the vote and the deputy's seat, or an
    :class:`APIError` with the §11 code."""
    if p.digest in batch.challenged:
        # Its openings are public (§4.4): counting it would publish this deputy's vote.
        raise rejection("malformed", "this ballot was challenged (spoiled): its selections are public; "
                        "encrypt afresh and cast the new ballot")
    vote = batch.votes[p.vote_id]
    assert vote is not None
    seat = _check_credential(batch.credentials.get(p.credential), vote).seat
    if vote.state != "open":
        raise rejection("vote_not_open", f"vote {p.vote_id!r} is {vote.state}, not open")
    if vote.held:
        raise rejection("vote_not_open", f"vote {p.vote_id!r} is on hold; cast again when it resumes")
    if not p.recast and (p.vote_id, p.credential) in batch.counting:
        raise rejection("already_voted", "this credential has already voted in this vote")
    return vote, seat


def _recast(batch: _Batch, session: Any, p: _Pending, vote: Vote) -> None:
    """Steps 5 and 7 (SPEC §5): the ballot counts and joins the aggregate; on a recast, the
    credential's earlier ballot stops counting and leaves it."""
    sums = batch.sums[p.vote_id]
    earlier = batch.counting.get((p.vote_id, p.credential))
    if earlier is not None:
        old: Sequence[Ciphertext] | None = batch.appended_ciphertexts.get(earlier.leaf_index)
        if old is None:
            old = aggregate.logged_ballot(session, batch.meeting_id, earlier.leaf_index)
        aggregate.subtract(sums, old)
        earlier.counts = False
        vote.counted -= 1
    aggregate.add(sums, p.ciphertexts)
    vote.counted += 1


def _append(
    batch: _Batch, log: logstore.LogWriter, item: Item[_Pending], vote: Vote, seat: str | None
) -> None:
    """Step 6: the ballot's log entry; its row is inserted with the batch's (:func:`_insert`)."""
    p = item.payload
    leaf_index = log.append_data(p.data, "ballot", p.vote_id)
    vote.ballots_logged += 1
    row = CastBallot(meeting_id=batch.meeting_id, vote_id=p.vote_id, credential=p.credential,
                     ballot_hash=p.digest, leaf_index=leaf_index, counts=True)
    batch.counting[(p.vote_id, p.credential)] = row
    batch.logged[p.digest] = row
    batch.appended_ciphertexts[leaf_index] = p.ciphertexts
    batch.touched[p.vote_id] = vote
    batch.appended.append(_Appended(item, row, seat))


def _insert(batch: _Batch, log: logstore.LogWriter) -> TreeHead | None:
    """Step 8 up to the commit: the aggregates, and the batch's rows in one statement under one
    signed tree head (``None`` when the batch appended nothing)."""
    for vote_id, vote in batch.touched.items():
        aggregate.write(vote, batch.sums[vote_id])
    if not batch.appended:
        return None
    head = log.sign_tree_head()
    rows = [appended.row for appended in batch.appended]
    for row in rows:
        row.tree_head_id = head.id  # an in-batch repeat's receipt is at this head (_repeat)
    log.session.execute(
        insert(CastBallot),
        [{"meeting_id": batch.meeting_id, "vote_id": row.vote_id, "credential": row.credential,
          "ballot_hash": row.ballot_hash, "leaf_index": row.leaf_index, "tree_head_id": head.id,
          "counts": row.counts} for row in rows],
    )
    return head


def _receipts(batch: _Batch, log: logstore.LogWriter, head: TreeHead | None) -> list[Accepted]:
    """Step 9 under the lock: each appended ballot's §8 receipt, with an inclusion proof against
    ``head`` (handed out by :func:`_hand_out` once the batch is committed)."""
    if head is None:
        return []
    sth = logstore.sth_json(head)
    receipts: list[Accepted] = []
    for row in (appended.row for appended in batch.appended):
        inclusion = log.tree.inclusion_proof(row.leaf_index, head.tree_size)
        tracker = display_tracker(row.ballot_hash)
        receipt = make_receipt(batch.meeting_id, row.vote_id, row.ballot_hash, tracker, row.leaf_index, sth,
                               inclusion)
        receipts.append(Accepted(receipt, True))
    return receipts


def _hand_out(batch: _Batch, receipts: list[Accepted]) -> None:
    """Step 9, once the batch is committed: each appended ballot's receipt, then the live news."""
    for appended, accepted in zip(batch.appended, receipts):
        appended.item.result = accepted
    for vote in batch.touched.values():
        broadcast.announce_turnout(vote)
    for appended in batch.appended:
        broadcast.announce_seat_voted(batch.meeting_id, appended.item.payload.vote_id, appended.seat)


_group_commit: GroupCommit[_Pending] = GroupCommit(_run_batch)


def _repeat(meeting_id: str, row: CastBallot, data: bytes) -> Accepted:
    """The ballot with this hash is logged: the same bytes get the same receipt (SPEC §11)."""
    logged = db.session().scalar(
        select(LogEntry.data).where(LogEntry.meeting_id == meeting_id, LogEntry.idx == row.leaf_index)
    )
    if logged != data:
        raise rejection("already_voted", "a different ballot with this hash is already logged")
    return Accepted(original_receipt(meeting_id, row), False)


def submit_spoiled(meeting_id: str, vote_id: str, body: Any) -> dict[str, Any]:
    """Log a §4.4 spoiled ballot (the Benaloh challenge) while the vote is open."""
    meeting = cache.sealed_meeting(meeting_id)
    definition = cache.vote_definition(meeting_id, vote_id)
    if not isinstance(body, dict) or "type" in body:
        raise rejection("malformed", "the body is a §4.4 spoiled entry without \"type\"")
    entry = {"type": "spoiled", **body}
    try:
        verified = offload.cpu_bound(verify_spoiled, entry, definition, meeting.hash, meeting.public_key)
    except BallotError as exc:
        raise rejection(exc.code, exc.message, where=exc.where) from None
    credential_hex = verified.credential.hex()
    db.session().rollback()
    with logstore.writing(meeting_id) as log:
        vote = log.session.get(Vote, (meeting_id, vote_id))
        assert vote is not None
        credential = log.session.scalar(
            select(Credential).where(Credential.meeting_id == meeting_id, Credential.public_key == credential_hex)
        )
        if credential is None or credential.state == "pending":
            raise rejection("unknown_credential", "spoiled ballots come from registered credentials")
        if credential.state == "revoked":
            raise rejection("revoked_credential", "this credential has been revoked (a replacement card was issued)")
        if vote.state != "open":
            raise rejection("vote_not_open", f"vote {vote_id!r} is {vote.state}, not open")
        if vote.held:
            raise rejection("vote_not_open", f"vote {vote_id!r} is on hold")
        if vote.open_index is None or credential.registered_index is None \
                or credential.registered_index > vote.open_index:
            # SPEC §8.1: a spoiled ballot's credential is active, fixed at the vote's ``open``.
            raise rejection("not_checked_in", "this card was registered after the vote opened (a replacement "
                            "card): it can vote from the next vote on", check="registered_after_open")
        if log.session.scalar(select(CastBallot.id).where(CastBallot.meeting_id == meeting_id,
                                                          CastBallot.ballot_hash == verified.hash)) is not None:
            # Its openings would publish a counted vote (docs/spec-notes.md).
            raise rejection("already_voted", "this ballot was cast; a cast ballot cannot be challenged")
        index = log.append(entry)
        log.session.add(SpoiledBallot(meeting_id=meeting_id, vote_id=vote_id, ballot_hash=verified.hash,
                                      leaf_index=index))
    return {"leaf_index": index, "ballot_hash": verified.hash.hex(), "tracker": display_tracker(verified.hash)}
