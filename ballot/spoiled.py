"""Spoiled ballots: the Benaloh challenge (SPEC §4.4).

A ``spoiled`` entry carries a ballot and the opening of every selection. :func:`verify_spoiled`
checks that the ballot is well-formed for the vote and that every opening matches its
ciphertext: ``(α, β) = (r·G, m·G + r·K)`` with ``m ∈ {0, 1}``. Openings must cover every
selection, in ballot order (docs/spec-notes.md).
"""

from __future__ import annotations

from typing import Any

from ballot.ballot import VerifiedBallot, verify_ballot
from ballot.elgamal import opening_matches
from ballot.errors import BallotError, EncodingError
from ballot.group import Point, Scalar
from ballot.vote import VoteDefinition

_SPOILED_KEYS = {"type", "vote_id", "ballot", "openings"}


def verify_spoiled(
    entry: Any, vote: VoteDefinition, meeting_hash: bytes, public_key: Point
) -> VerifiedBallot:
    """Check a §4.4 spoiled entry; raise :class:`BallotError` (code ``malformed`` or
    ``invalid_proof``) naming the first opening that does not match."""
    if not isinstance(entry, dict) or set(entry) != _SPOILED_KEYS or entry.get("type") != "spoiled":
        raise BallotError("malformed", f"a spoiled entry has exactly the fields {sorted(_SPOILED_KEYS)}")
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
    return verified
