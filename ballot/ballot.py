"""Encrypted ballots (SPEC §4.3): context, hash, tracker, signature, and the well-formedness check.

:func:`verify_ballot` checks everything §4.3 asks of a ballot except the credential's
registration (which depends on the log position; see :mod:`ballot.record` and the tally
service). It raises :class:`BallotError` whose ``code`` is the SPEC §11 rejection code:

* ``malformed``: not a §4.3 ballot for this vote: wrong keys or types, ids or order that do not
  match the vote, proofs of the wrong length, hex that does not decode as a point or scalar, or
  a selection whose ``α`` is the identity (nonce 0, SPEC §8.1);
* ``bad_signature``: the Ed25519 signature does not verify;
* ``invalid_proof``: a range proof, or a write-in slot proof (docs/protocol.md §12.4 rule 4),
  does not verify (``where`` names which).

A ballot of a statutory election with write-ins (docs/protocol.md §12.4) also carries
``writeins``: per slot the name ciphertexts and the blank-or-named proof, checked after the range
proofs.

The signature is checked before the proofs, so an unsigned ballot costs no proof verification.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ballot.election import election_of
from ballot.elgamal import Ciphertext, sum_ciphertexts
from ballot.errors import BallotError, EncodingError, ProofError, VoteDefinitionError, wrong_fields
from ballot.group import Point, small_multiple
from ballot.hashing import canonical_json, h256, hex_bytes
from ballot.proofs import ScalarPair, parse_pairs, verify_range
from ballot.vote import Constraint, OptionRef, VoteDefinition
from ballot.writein import Name, SlotProof, parse_slot, verify_slot

CONTEXT_TAG = "piaojue/1/context"
BALLOT_TAG = "piaojue/1/ballot"
SIGNATURE_PREFIX = b"piaojue/1/ballot-signature"
TRACKER_BYTES = 10
TRACKER_CHARS = 16
_TRACKER_CODE = re.compile(r"[A-Z2-7]{16}")

_BALLOT_KEYS = {"type", "vote_id", "credential", "contests", "constraints", "signature"}
_CONTEST_KEYS = {"id", "selections", "proof"}
_SELECTION_KEYS = {"option", "alpha", "beta", "proof"}
_CONSTRAINT_KEYS = {"id", "proof"}


def constraint_combination(constraint: Constraint, by_ref: dict[OptionRef, Ciphertext]) -> Ciphertext:
    """``C = Σ₊ ct − Σ₋ ct + (identity, d·G)`` (protocol §12.1 rule 3); with no ``−1`` member it is
    the §4.3 sum. The constraint's proof is over ``C`` for ``[min + d, max + d]`` (rule 4)."""
    total = Ciphertext.zero()
    for ref, coefficient in constraint.signed_members():
        ct = by_ref[ref]
        total = total + (ct if coefficient == 1 else Ciphertext(-ct.alpha, -ct.beta))
    if constraint.offset:
        total = Ciphertext(total.alpha, total.beta + small_multiple(constraint.offset))
    return total


def ballot_context(meeting_hash: bytes, vote_hash: bytes, credential: bytes) -> bytes:
    """``ctx = H256("piaojue/1/context", Q, Hv, credential)`` (SPEC §4.3)."""
    return h256(CONTEXT_TAG, meeting_hash, vote_hash, credential)


def signature_message(digest: bytes) -> bytes:
    """The bytes a ballot's credential signs: ``"piaojue/1/ballot-signature" ‖ ballot_hash``."""
    return SIGNATURE_PREFIX + digest


def ballot_hash(ballot: dict[str, Any]) -> bytes:
    """``H256("piaojue/1/ballot", canonical JSON of the ballot without "signature")`` (SPEC §4.3).

    Works on the ballot before or after signing: a ``signature`` key, if present, is left out.
    Raises :class:`EncodingError` if the ballot is not a JSON object or not a §1 document.
    """
    if not isinstance(ballot, dict):
        raise EncodingError("a ballot must be a JSON object", where="ballot")
    unsigned = {k: v for k, v in ballot.items() if k != "signature"}
    return h256(BALLOT_TAG, canonical_json(unsigned))


def tracker_code(ballot_hash: bytes) -> str:
    """The tracker code: RFC 4648 base32 of the first 10 bytes of ``ballot_hash``, 16 uppercase
    characters without dashes (SPEC §4.3)."""
    if not isinstance(ballot_hash, (bytes, bytearray)) or len(ballot_hash) != 32:
        raise EncodingError("a ballot hash is 32 bytes", where="ballot_hash")
    return base64.b32encode(bytes(ballot_hash[:TRACKER_BYTES])).decode("ascii")


def format_tracker(code: str) -> str:
    """The display form ``XXXX-XXXX-XXXX-XXXX`` of a 16-character tracker code (SPEC §4.3)."""
    if not isinstance(code, str) or _TRACKER_CODE.fullmatch(code) is None:
        raise EncodingError("a tracker code is 16 uppercase base32 characters", where="tracker")
    return "-".join(code[i : i + 4] for i in range(0, TRACKER_CHARS, 4))


def parse_tracker(text: str) -> str:
    """Normalise a tracker as typed (dashed or not, any case, spaces) to the 16-character code."""
    if not isinstance(text, str):
        raise EncodingError("a tracker must be text", where="tracker")
    code = re.sub(r"[\s-]", "", text).upper()
    if _TRACKER_CODE.fullmatch(code) is None:
        raise EncodingError("not a tracker code (16 base32 characters)", where="tracker")
    return code


def display_tracker(ballot_hash: bytes) -> str:
    """The tracker of a ballot hash in the receipt's dashed display form."""
    return format_tracker(tracker_code(ballot_hash))



@dataclass(frozen=True, slots=True)
class VerifiedBallot:
    """A ballot that passed :func:`verify_ballot`, with its selection ciphertexts in vote order."""

    vote_id: str
    credential: bytes
    hash: bytes
    ciphertexts: tuple[Ciphertext, ...]
    entry: dict[str, Any]
    names: tuple[Name, ...] = ()
    """The write-in slots' name ciphertexts ``(N_1, N_2)``, in slot order (§12.4; empty without)."""

    def ciphertext_map(self, refs: list[OptionRef]) -> dict[OptionRef, Ciphertext]:
        return dict(zip(refs, self.ciphertexts))


@dataclass(frozen=True, slots=True)
class _ParsedContest:
    ciphertexts: list[Ciphertext]
    selection_proofs: list[list[ScalarPair]]
    proof: list[ScalarPair]


def _malformed(message: str, where: str) -> BallotError:
    return BallotError("malformed", message, where=where, check="structure")


def _keys(obj: Any, expected: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _malformed("expected a JSON object", where)
    if set(obj) != expected:
        raise _malformed(wrong_fields(obj, expected), where)
    return obj


def _list(value: Any, length: int, what: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _malformed(f"expected a list of {what}", where)
    if len(value) != length:
        raise _malformed(f"expected {length} {what}, got {len(value)}", where)
    return value


def _decode(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except EncodingError as exc:
        raise BallotError("malformed", exc.message, where=exc.where, check="encoding") from None


def _parse_contests(ballot: dict[str, Any], vote: VoteDefinition) -> list[_ParsedContest]:
    contests_raw = _list(ballot["contests"], len(vote.contests), "contests", "contests")
    parsed = []
    for ci, (raw, contest) in enumerate(zip(contests_raw, vote.contests)):
        at = f"contests[{ci}]"
        _keys(raw, _CONTEST_KEYS, at)
        if raw["id"] != contest.id:
            raise _malformed(f"expected contest {contest.id!r}, got {raw['id']!r}", f"{at}.id")
        selections = _list(raw["selections"], len(contest.options), "selections", f"{at}.selections")
        ciphertexts, proofs = [], []
        for si, (selection, option) in enumerate(zip(selections, contest.options)):
            sat = f"{at}.selections[{si}]"
            _keys(selection, _SELECTION_KEYS, sat)
            if selection["option"] != option:
                raise _malformed(f"expected option {option!r}, got {selection['option']!r}", f"{sat}.option")
            alpha = _decode(Point.from_hex, selection["alpha"], where=f"{sat}.alpha")
            if alpha.is_identity():
                # SPEC §8.1: α = r·G is the identity only for r = 0, a vote in the clear (§2).
                raise BallotError(
                    "malformed", "α is the identity: encrypted with nonce 0", where=f"{sat}.alpha", check="zero_nonce"
                )
            beta = _decode(Point.from_hex, selection["beta"], where=f"{sat}.beta")
            ciphertexts.append(Ciphertext(alpha, beta))
            proofs.append(_decode(parse_pairs, selection["proof"], where=f"{sat}.proof", length=2))
        width = contest.max - contest.min + 1
        proof = _decode(parse_pairs, raw["proof"], where=f"{at}.proof", length=width)
        parsed.append(_ParsedContest(ciphertexts, proofs, proof))
    return parsed


def verify_ballot(
    ballot: Any, vote: VoteDefinition, meeting_hash: bytes, public_key: Point
) -> VerifiedBallot:
    """Check that ``ballot`` is a well-formed §4.3 ballot for ``vote`` (proofs and signature).

    Raises :class:`BallotError` with the SPEC §11 code; never returns a failure value.
    """
    try:
        election = election_of(vote)
    except VoteDefinitionError as exc:
        raise _malformed(f"the vote is not a valid statutory election: {exc}", "vote_id") from None
    slots = election.slots if election is not None else ()
    _keys(ballot, _BALLOT_KEYS | {"writeins"} if slots else _BALLOT_KEYS, "ballot")
    if ballot["type"] != "ballot":
        raise _malformed('"type" must be "ballot"', "type")
    if ballot["vote_id"] != vote.vote_id:
        raise _malformed(f"ballot is for vote {ballot['vote_id']!r}, not {vote.vote_id!r}", "vote_id")
    credential = _decode(hex_bytes, ballot["credential"], 32, where="credential")
    signature = _decode(hex_bytes, ballot["signature"], 64, where="signature")
    contests = _parse_contests(ballot, vote)
    constraints_raw = _list(ballot["constraints"], len(vote.constraints), "constraints", "constraints")
    constraint_proofs = []
    for ki, (raw, constraint) in enumerate(zip(constraints_raw, vote.constraints)):
        at = f"constraints[{ki}]"
        _keys(raw, _CONSTRAINT_KEYS, at)
        if raw["id"] != constraint.id:
            raise _malformed(f"expected constraint {constraint.id!r}, got {raw['id']!r}", f"{at}.id")
        width = constraint.max - constraint.min + 1
        constraint_proofs.append(_decode(parse_pairs, raw["proof"], where=f"{at}.proof", length=width))
    writeins: list[tuple[Name, SlotProof]] = []
    if slots:  # §12.4 rule 1
        raw_slots = _list(ballot["writeins"], len(slots), "write-in slots", "writeins")
        for s, (raw, option) in enumerate(zip(raw_slots, slots)):
            writeins.append(_decode(parse_slot, raw, option, where=f"writeins[{s}]"))

    try:
        digest = ballot_hash(ballot)
    except EncodingError as exc:
        raise BallotError("malformed", exc.message, where=exc.where, check="encoding") from None
    try:
        Ed25519PublicKey.from_public_bytes(credential).verify(signature, signature_message(digest))
    except (InvalidSignature, ValueError):
        raise BallotError(
            "bad_signature", "the ballot signature does not verify", where="signature", check="signature"
        ) from None

    ctx = ballot_context(meeting_hash, vote.hash, credential)
    by_ref: dict[OptionRef, Ciphertext] = {}
    ordered: list[Ciphertext] = []
    for ci, (parsed, contest) in enumerate(zip(contests, vote.contests)):
        for si, (ct, proof) in enumerate(zip(parsed.ciphertexts, parsed.selection_proofs)):
            _check_range(ct, proof, 0, 1, public_key, ctx, f"contests[{ci}].selections[{si}].proof")
            by_ref[(contest.id, contest.options[si])] = ct
            ordered.append(ct)
        total = sum_ciphertexts(parsed.ciphertexts)
        _check_range(total, parsed.proof, contest.min, contest.max, public_key, ctx, f"contests[{ci}].proof")
    for ki, (proof, constraint) in enumerate(zip(constraint_proofs, vote.constraints)):
        total = constraint_combination(constraint, by_ref)
        lo, hi = constraint.min + constraint.offset, constraint.max + constraint.offset
        _check_range(total, proof, lo, hi, public_key, ctx, f"constraints[{ki}].proof")
    for s, ((name, slot_proof), option) in enumerate(zip(writeins, slots)):  # §12.4 rule 4
        assert election is not None and election.writein is not None
        try:
            verify_slot(by_ref[(election.writein, option)], name, slot_proof, public_key, ctx, s + 1)
        except ProofError as exc:
            raise BallotError("invalid_proof", exc.message, where=f"writeins[{s}].proof", check="writein_proof") from None
    return VerifiedBallot(vote.vote_id, credential, digest, tuple(ordered), ballot, tuple(name for name, _ in writeins))


def _check_range(
    ct: Ciphertext, proof: list[ScalarPair], lo: int, hi: int, public_key: Point, ctx: bytes, where: str
) -> None:
    try:
        verify_range(ct, proof, lo, hi, public_key, ctx)
    except ProofError as exc:
        raise BallotError("invalid_proof", exc.message, where=where, check="range_proof") from None
