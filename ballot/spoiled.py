"""Spoiled ballots: the Benaloh challenge (SPEC §4.4).

A ``spoiled`` entry carries a ballot and the opening of every selection. :func:`verify_spoiled`
checks that the ballot is well-formed for the vote and that every opening matches its
ciphertext: ``(α, β) = (r·G, m·G + r·K)`` with ``m ∈ {0, 1}``. Openings must cover every
selection, in ballot order (docs/spec-notes.md). For a statutory election with write-ins the
entry also carries ``name_openings``, one ``[option, name, [r_1, r_2]]`` per slot, checked
against the slot's name ciphertexts with the string encoded exactly as given (docs/protocol.md
§12.4 rule 7).
"""

from __future__ import annotations

from typing import Any

from ballot.ballot import VerifiedBallot, verify_ballot
from ballot.election import election_of
from ballot.elgamal import opening_matches
from ballot.errors import BallotError, EncodingError, PiaojueError
from ballot.group import Point, Scalar
from ballot.vote import VoteDefinition
from ballot.writein import name_opening_matches

_SPOILED_KEYS = {"type", "vote_id", "ballot", "openings"}


def verify_spoiled(
    entry: Any, vote: VoteDefinition, meeting_hash: bytes, public_key: Point
) -> VerifiedBallot:
    """Check a §4.4 spoiled entry; raise :class:`BallotError` (code ``malformed`` or
    ``invalid_proof``) naming the first opening that does not match."""
    expected = _SPOILED_KEYS | {"name_openings"} if _has_writeins(entry, vote) else _SPOILED_KEYS
    if not isinstance(entry, dict) or set(entry) != expected or entry.get("type") != "spoiled":
        raise BallotError("malformed", f"a spoiled entry has exactly the fields {sorted(expected)}")
    if entry["vote_id"] != vote.vote_id:
        raise BallotError("malformed", "spoiled entry's vote_id does not match", where="vote_id")
    verified = verify_ballot(entry["ballot"], vote, meeting_hash, public_key)
    refs = vote.option_refs()
    openings = entry["openings"]
    if not isinstance(openings, list) or len(openings) != len(refs):
        raise BallotError("malformed", f"expected {len(refs)} openings, one per selection", where="openings")
    for i, (opening, ref, ct) in enumerate(zip(openings, refs, verified.ciphertexts)):
        at = f"openings[{i}]"
        if not (isinstance(opening, list) and len(opening) == 4):
            raise BallotError("malformed", "an opening is [contest_id, option_id, m, r]", where=at)
        contest, option, m, r_hex = opening
        if (contest, option) != ref:
            raise BallotError("malformed", f"expected the opening of {list(ref)}", where=at)
        if m not in (0, 1) or isinstance(m, bool):
            raise BallotError("malformed", "m must be 0 or 1", where=f"{at}[2]")
        try:
            r = Scalar.from_hex(r_hex, where=f"{at}[3]")
        except EncodingError as exc:
            raise BallotError("malformed", exc.message, where=exc.where) from None
        if not opening_matches(ct, m, r, public_key):
            raise BallotError("invalid_proof", "(α, β) ≠ (r·G, m·G + r·K)", where=at, check="opening")
    if verified.names:
        _check_name_openings(entry["name_openings"], verified, public_key)
    return verified


def _has_writeins(entry: Any, vote: VoteDefinition) -> bool:
    try:
        election = election_of(vote)
    except PiaojueError:
        return False  # verify_ballot reports the vote
    return isinstance(entry, dict) and election is not None and bool(election.slots)


def _check_name_openings(openings: Any, verified: VerifiedBallot, public_key: Point) -> None:
    """§12.4 rule 7: one ``[option, name, [r_1, r_2]]`` per slot, each matching."""
    slots = [slot["option"] for slot in verified.entry["writeins"]]
    if not isinstance(openings, list) or len(openings) != len(slots):
        raise BallotError("malformed", f"expected {len(slots)} name openings, one per slot", where="name_openings")
    for s, (opening, option, name) in enumerate(zip(openings, slots, verified.names)):
        at = f"name_openings[{s}]"
        if not (isinstance(opening, list) and len(opening) == 3 and isinstance(opening[1], str)):
            raise BallotError("malformed", "a name opening is [option_id, name, [r_1, r_2]]", where=at)
        if opening[0] != option:
            raise BallotError("malformed", f"expected the name opening of slot {option!r}", where=at)
        nonces_raw = opening[2]
        if not isinstance(nonces_raw, list) or len(nonces_raw) != 2:
            raise BallotError("malformed", "a name opening has two nonces", where=f"{at}[2]")
        try:
            nonces = [Scalar.from_hex(r, where=f"{at}[2][{j}]") for j, r in enumerate(nonces_raw)]
        except EncodingError as exc:
            raise BallotError("malformed", exc.message, where=exc.where) from None
        if not name_opening_matches(name, opening[1], nonces, public_key):
            raise BallotError("invalid_proof", "N_j ≠ (r_j·G, P_j + r_j·K) for the name as given", where=at, check="name_opening")
