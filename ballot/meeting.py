"""The meeting entry (SPEC §6.3): parsing, the meeting hash ``Q``, and its verification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ballot.errors import EncodingError, MeetingError, ProofError, wrong_fields
from ballot.group import Point, ed25519_key_has_prime_order
from ballot.hashing import canonical_json, h256, hex_bytes
from ballot.proofs import ScalarPair, parse_pairs, verify_knowledge
from ballot.threshold import joint_public_key, verification_key
from ballot.vote import IDENTIFIER

MEETING_TAG = "piaojue/1/meeting"
SPEC_VERSION = "piaojue/1"
QUORUMS = ("two_thirds", "majority")
MAX_TRUSTEES = 64
MEETING_KEYS = frozenset(
    {"type", "spec", "meeting_id", "title", "body", "members", "quorum", "log_key", "threshold", "trustees",
     "public_key"}
)
"""The exact fields of a §6.3 entry (SPEC §8.1 "Exact shapes")."""
TRUSTEE_KEYS = frozenset({"index", "name", "commitments", "proofs"})


@dataclass(frozen=True, slots=True)
class Trustee:
    index: int
    name: str
    commitments: tuple[Point, ...]
    proofs: tuple[ScalarPair, ...]


@dataclass(frozen=True, slots=True)
class Meeting:
    """A parsed §6.3 ``meeting`` entry. ``entry`` is the exact JSON object."""

    meeting_id: str
    title: str
    body: str
    members: int
    quorum: str
    log_key: bytes
    threshold: int
    trustees: tuple[Trustee, ...]
    public_key: Point
    entry: dict[str, Any]
    hash: bytes

    def verification_keys(self) -> dict[int, Point]:
        """``K_l`` of every trustee (SPEC §6.1)."""
        commitments = [t.commitments for t in self.trustees]
        return {t.index: verification_key(t.index, commitments) for t in self.trustees}


def meeting_hash(entry: dict[str, Any]) -> bytes:
    """``Q = H256("piaojue/1/meeting", canonical JSON of the entry)`` (SPEC §6.3)."""
    return h256(MEETING_TAG, canonical_json(entry))


def _field(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    if value is None or isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise MeetingError(f"field {key!r} is missing or has the wrong type", where=f"{where}.{key}")
    return value


def parse_meeting(entry: Any, *, where: str = "meeting") -> Meeting:
    """Parse a §6.3 entry and check its shape (not its proofs: see :func:`verify_meeting`): exactly
    the §6.3 fields, trustees with exactly ``index, name, commitments, proofs`` listed 1..n, and a
    ``log_key`` of prime order (SPEC §8.1)."""
    if not isinstance(entry, dict):
        raise MeetingError("the meeting entry is a JSON object", where=where)
    if entry.get("type") != "meeting":
        raise MeetingError('"type" must be "meeting"', where=f"{where}.type")
    if set(entry) != MEETING_KEYS:
        raise MeetingError(wrong_fields(entry, MEETING_KEYS), where=where)
    if entry.get("spec") != SPEC_VERSION:
        raise MeetingError(f'"spec" must be "{SPEC_VERSION}"', where=f"{where}.spec")
    meeting_id = _field(entry, "meeting_id", str, where)
    if IDENTIFIER.fullmatch(meeting_id) is None:
        raise MeetingError("meeting_id must match [A-Za-z0-9_-]{1,64}", where=f"{where}.meeting_id")
    members = _field(entry, "members", int, where)
    if members < 1:
        raise MeetingError("members must be at least 1", where=f"{where}.members")
    quorum = _field(entry, "quorum", str, where)
    if quorum not in QUORUMS:
        raise MeetingError(f"quorum must be one of {', '.join(QUORUMS)}", where=f"{where}.quorum")
    try:
        log_key = hex_bytes(entry.get("log_key"), 32, where=f"{where}.log_key")
    except EncodingError as exc:
        raise MeetingError(exc.message, where=exc.where) from None
    if not ed25519_key_has_prime_order(log_key):
        raise MeetingError("log_key is not an Ed25519 point of prime order (SPEC §8.1)", where=f"{where}.log_key")
    threshold = _field(entry, "threshold", int, where)
    trustees_raw = _field(entry, "trustees", list, where)
    if not 1 <= len(trustees_raw) <= MAX_TRUSTEES:
        raise MeetingError(f"between 1 and {MAX_TRUSTEES} trustees", where=f"{where}.trustees")
    if not 1 <= threshold <= len(trustees_raw):
        raise MeetingError(
            f"threshold must satisfy 1 ≤ k ≤ n = {len(trustees_raw)}, got {threshold}", where=f"{where}.threshold"
        )
    trustees = []
    for position, raw in enumerate(trustees_raw):
        at = f"{where}.trustees[{position}]"
        if not isinstance(raw, dict):
            raise MeetingError("a trustee is an object", where=at)
        if set(raw) != TRUSTEE_KEYS:
            raise MeetingError(wrong_fields(raw, TRUSTEE_KEYS), where=at)
        index = _field(raw, "index", int, at)
        if index != position + 1:
            raise MeetingError(f"trustee indices run 1..n in order; expected {position + 1}", where=f"{at}.index")
        commitments_raw = _field(raw, "commitments", list, at)
        if len(commitments_raw) != threshold:
            raise MeetingError(f"expected {threshold} commitments", where=f"{at}.commitments")
        try:
            commitments = tuple(
                Point.from_hex(c, where=f"{at}.commitments[{j}]") for j, c in enumerate(commitments_raw)
            )
            proofs = tuple(parse_pairs(raw.get("proofs"), where=f"{at}.proofs", length=threshold))
        except EncodingError as exc:
            raise MeetingError(exc.message, where=exc.where) from None
        trustees.append(Trustee(index, _field(raw, "name", str, at), commitments, proofs))
    try:
        public_key = Point.from_hex(entry.get("public_key"), where=f"{where}.public_key")
        digest = meeting_hash(entry)
    except EncodingError as exc:
        raise MeetingError(exc.message, where=exc.where) from None
    return Meeting(
        meeting_id,
        _field(entry, "title", str, where),
        _field(entry, "body", str, where),
        members,
        quorum,
        log_key,
        threshold,
        tuple(trustees),
        public_key,
        entry,
        digest,
    )


def verify_meeting(meeting: Meeting) -> None:
    """Check every proof of knowledge and ``public_key = Σ_i A_i0`` (SPEC §6.3)."""
    for trustee in meeting.trustees:
        for j, (commitment, proof) in enumerate(zip(trustee.commitments, trustee.proofs)):
            try:
                verify_knowledge(commitment, proof, meeting.meeting_id, trustee.index, j)
            except ProofError as exc:
                raise MeetingError(exc.message, where=f"meeting.trustees[{trustee.index - 1}].proofs[{j}]") from None
    if joint_public_key([t.commitments for t in meeting.trustees]) != meeting.public_key:
        raise MeetingError("public_key ≠ Σ_i A_i0", where="meeting.public_key")
