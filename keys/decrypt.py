"""Partial decryption by a trustee and combination of the shares (SPEC §6.2, §8 share entry).

A trustee, given the aggregates ``(A, B)`` of a closed vote, publishes a §8 ``share`` entry::

    {"type": "share", "vote_id": "v3", "trustee": l,
     "shares": [{"contest": "c", "option": "o", "M": "<hex M_l = s_l·A>", "proof": ["<c>", "<v>"]}, …]}

with one element per aggregate, in the vote's option order, each with the Chaum–Pedersen proof
of SPEC §6.2 (:func:`ballot.proofs.prove_partial`).

The tally service (or anyone) checks every entry's proofs against ``K_l`` from the meeting
entry, and combines any ``k`` valid ones: ``M = Σ λ_l·M_l`` and ``B − M = t·G``
(:func:`combine_shares`).  Invalid entries are skipped and reported, not fatal, as long as ``k``
valid ones remain.

Aggregates travel as JSON in the same shape as a §8 result's ``tallies`` without ``count``:
``[{"contest", "option", "A", "B"}, …]`` (:func:`parse_aggregates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ballot.elgamal import Ciphertext, DiscreteLogTable
from ballot.errors import EncodingError, PiaojueError, ProofError, ThresholdError
from ballot.group import Point
from ballot.meeting import Meeting, parse_meeting
from ballot.proofs import pair_to_json, parse_pair, prove_partial, verify_partial
from ballot.threshold import combine_partials
from keys.ceremony import parse_state

Aggregate = tuple[str, str, Ciphertext]
"""``(contest_id, option_id, (A, B))``: the sum of one option's counted ciphertexts."""

SHARE_KEYS = frozenset({"type", "vote_id", "trustee", "shares"})
SHARE_ITEM_KEYS = frozenset({"contest", "option", "M", "proof"})
UNATTRIBUTED = 0
"""The key in :attr:`Decryption.rejected` for entries that name no valid trustee index."""


def _check_hash(value: object, name: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ThresholdError(f"{name} must be 32 bytes")
    return bytes(value)


def _check_aggregates(aggregates: Sequence[Aggregate]) -> list[Aggregate]:
    if isinstance(aggregates, (str, bytes, dict)):
        raise ThresholdError("aggregates must be a list of (contest, option, ciphertext)")
    checked = []
    seen = set()
    for position, item in enumerate(aggregates):
        if (
            not isinstance(item, tuple)
            or len(item) != 3
            or not isinstance(item[0], str)
            or not isinstance(item[1], str)
            or not isinstance(item[2], Ciphertext)
        ):
            raise ThresholdError(
                "expected (contest_id, option_id, Ciphertext)", where=f"aggregates[{position}]"
            )
        if (item[0], item[1]) in seen:
            raise ThresholdError(
                f"duplicate aggregate for {item[0]}/{item[1]}", where=f"aggregates[{position}]"
            )
        seen.add((item[0], item[1]))
        checked.append(item)
    if not checked:
        raise ThresholdError("no aggregates to decrypt")
    return checked


def partial_decrypt(
    state: dict[str, Any],
    meeting_hash: bytes,
    vote_hash: bytes,
    vote_id: str,
    aggregates: Sequence[Aggregate],
) -> dict[str, Any]:
    """Trustee ``l``'s §8 share entry for ``aggregates``: ``M_l = s_l·A`` with a §6.2 proof each.

    ``meeting_hash`` is ``Q`` (SPEC §6.3) and ``vote_hash`` is ``Hv`` (SPEC §4.1); both enter
    the proof's challenge. The elements follow the order of ``aggregates``.
    """
    parsed = parse_state(state)
    share = parsed.require_complete()
    meeting_hash = _check_hash(meeting_hash, "meeting_hash")
    vote_hash = _check_hash(vote_hash, "vote_hash")
    if not isinstance(vote_id, str) or not vote_id:
        raise ThresholdError("vote_id must be non-empty text")
    items = []
    for contest, option, ciphertext in _check_aggregates(aggregates):
        partial, proof = prove_partial(share, ciphertext.alpha, meeting_hash, vote_hash, parsed.index)
        items.append({"contest": contest, "option": option, "M": partial.hex(), "proof": pair_to_json(proof)})
    return {"type": "share", "vote_id": vote_id, "trustee": parsed.index, "shares": items}


def _meeting(meeting: Meeting | dict[str, Any]) -> Meeting:
    if isinstance(meeting, Meeting):
        return meeting
    return parse_meeting(meeting)


def share_trustee(entry: Any) -> int | None:
    """The trustee index an entry claims, or ``None`` if it names none."""
    if isinstance(entry, dict):
        value = entry.get("trustee")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def verify_share_entry(
    meeting: Meeting | dict[str, Any],
    vote_hash: bytes,
    aggregates: Sequence[Aggregate],
    entry: Any,
    *,
    vote_id: str | None = None,
    verification_keys: dict[int, Point] | None = None,
) -> list[Point]:
    """Check a §8 share entry (shape, one element per aggregate in order, every §6.2 proof).

    Returns the partials ``M_l`` in aggregate order. Raises :class:`ProofError` for a proof that
    does not verify and :class:`ThresholdError` for anything malformed, with ``where`` set.
    """
    meeting = _meeting(meeting)
    vote_hash = _check_hash(vote_hash, "vote_hash")
    aggregates = _check_aggregates(aggregates)
    keys = verification_keys if verification_keys is not None else meeting.verification_keys()
    if not isinstance(entry, dict) or set(entry) != SHARE_KEYS:
        raise ThresholdError(f"a share entry has exactly the fields {sorted(SHARE_KEYS)}", where="share")
    if entry["type"] != "share":
        raise ThresholdError('"type" must be "share"', where="share.type")
    if not isinstance(entry["vote_id"], str) or (vote_id is not None and entry["vote_id"] != vote_id):
        raise ThresholdError(
            f"share entry is for vote {entry['vote_id']!r}, not {vote_id!r}", where="share.vote_id"
        )
    index = share_trustee(entry)
    if index is None or index not in keys:
        raise ThresholdError(f"trustee must be an index in 1..{len(keys)}", where="share.trustee")
    items = entry["shares"]
    if not isinstance(items, list) or len(items) != len(aggregates):
        raise ThresholdError(f"expected {len(aggregates)} shares, one per option", where="share.shares")
    partials = []
    for position, (item, (contest, option, ciphertext)) in enumerate(zip(items, aggregates, strict=True)):
        where = f"share.shares[{position}]"
        if not isinstance(item, dict) or set(item) != SHARE_ITEM_KEYS:
            raise ThresholdError(f"a share has exactly the fields {sorted(SHARE_ITEM_KEYS)}", where=where)
        if item["contest"] != contest or item["option"] != option:
            raise ThresholdError(
                f"share is for {item['contest']!r}/{item['option']!r}, expected {contest}/{option}",
                where=where,
            )
        try:
            partial = Point.from_hex(item["M"], where=f"{where}.M")
            proof = parse_pair(item["proof"], where=f"{where}.proof")
        except EncodingError as exc:
            raise ThresholdError(exc.message, where=exc.where) from None
        try:
            verify_partial(partial, proof, keys[index], ciphertext.alpha, meeting.hash, vote_hash, index)
        except ProofError as exc:
            raise ProofError(f"{exc.message} for {contest}/{option}", where=where) from None
        partials.append(partial)
    return partials


@dataclass(frozen=True)
class Decryption:
    """The outcome of :func:`combine_shares`.

    ``counts[i]`` is the count of ``aggregates[i]``; ``trustees_used`` are the indices whose
    shares were combined (the §8 result's ``trustees``); ``rejected`` maps a trustee index to why
    its entry was skipped (key :data:`UNATTRIBUTED` for entries naming no valid trustee).
    """

    counts: list[int]
    trustees_used: list[int]
    rejected: dict[int, str] = field(default_factory=dict)


def combine_shares(
    meeting: Meeting | dict[str, Any],
    vote_hash: bytes,
    aggregates: Sequence[Aggregate],
    share_entries: Sequence[Any],
    counted: int,
    *,
    vote_id: str | None = None,
) -> Decryption:
    """Verify the share entries and decrypt every aggregate with ``k`` valid ones (SPEC §6.2).

    Uses the ``k`` valid entries with the lowest trustee indices. ``counted`` bounds each
    count (SPEC §2). Raises :class:`ThresholdError` if fewer than ``k`` entries are valid, naming
    the trustees that are missing or invalid, or if some ``B − M`` is not ``t·G`` with
    ``0 ≤ t ≤ counted``.
    """
    meeting = _meeting(meeting)
    vote_hash = _check_hash(vote_hash, "vote_hash")
    aggregates = _check_aggregates(aggregates)
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise ThresholdError(f"counted must be a non-negative integer, got {counted!r}")
    if isinstance(share_entries, (dict, str, bytes)):
        raise ThresholdError("share_entries must be a list of share entries")
    keys = meeting.verification_keys()
    valid: dict[int, list[Point]] = {}
    rejected: dict[int, str] = {}
    for position, entry in enumerate(share_entries):
        index = share_trustee(entry)
        if index in valid:
            continue  # a later copy of an entry we already accepted
        try:
            partials = verify_share_entry(
                meeting, vote_hash, aggregates, entry, vote_id=vote_id, verification_keys=keys
            )
        except PiaojueError as exc:
            key = index if index in keys else UNATTRIBUTED
            reason = str(exc) if key != UNATTRIBUTED else f"entry {position}: {exc}"
            rejected[key] = f"{rejected[key]}; {reason}" if key in rejected else reason
            continue
        assert index is not None
        valid[index] = partials
        rejected.pop(index, None)
    k = meeting.threshold
    if len(valid) < k:
        missing = [i for i in sorted(keys) if i not in valid and i not in rejected]
        parts = [f"{len(valid)} valid share{'s' if len(valid) != 1 else ''}, the threshold is {k}"]
        if missing:
            parts.append("missing: trustee " + ", ".join(map(str, missing)))
        if rejected:
            parts.append(
                "invalid: "
                + "; ".join(
                    (f"trustee {i} ({reason})" if i != UNATTRIBUTED else reason)
                    for i, reason in sorted(rejected.items())
                )
            )
        raise ThresholdError("cannot decrypt: " + "; ".join(parts))
    used = sorted(valid)[:k]
    table = DiscreteLogTable(counted)
    counts = []
    for position, (contest, option, ciphertext) in enumerate(aggregates):
        combined = combine_partials({index: valid[index][position] for index in used}, k)
        try:
            counts.append(table.lookup(ciphertext.beta - combined, counted))
        except ThresholdError as exc:
            raise ThresholdError(
                f"{contest}/{option}: {exc.message}", where=f"aggregates[{position}]"
            ) from None
    return Decryption(counts, used, rejected)


# ---------------------------------------------------------------------------------------------
# JSON


def aggregates_to_json(aggregates: Sequence[Aggregate]) -> list[dict[str, str]]:
    """``[{"contest", "option", "A", "B"}, …]``."""
    return [
        {"contest": contest, "option": option, "A": ct.alpha.hex(), "B": ct.beta.hex()}
        for contest, option, ct in _check_aggregates(aggregates)
    ]


def parse_aggregates(value: Any, *, where: str = "aggregates") -> list[Aggregate]:
    """Aggregates from JSON: a list of ``{"contest", "option", "A", "B"}`` objects (extra fields,
    such as a result's ``count``, are ignored), or an object holding one under ``"aggregates"``
    or ``"tallies"``."""
    if isinstance(value, dict):
        for key in ("aggregates", "tallies"):
            if key in value:
                return parse_aggregates(value[key], where=f"{where}.{key}")
        raise ThresholdError(
            'expected a list of aggregates, or an object with "aggregates" or "tallies"', where=where
        )
    if not isinstance(value, list):
        raise ThresholdError("expected a list of aggregates", where=where)
    out: list[Aggregate] = []
    for position, item in enumerate(value):
        at = f"{where}[{position}]"
        if not isinstance(item, dict) or not {"contest", "option", "A", "B"} <= set(item):
            raise ThresholdError('an aggregate has "contest", "option", "A" and "B"', where=at)
        if not isinstance(item["contest"], str) or not isinstance(item["option"], str):
            raise ThresholdError("contest and option are text", where=at)
        try:
            ct = Ciphertext(
                Point.from_hex(item["A"], where=f"{at}.A"), Point.from_hex(item["B"], where=f"{at}.B")
            )
        except EncodingError as exc:
            raise ThresholdError(exc.message, where=exc.where) from None
        out.append((item["contest"], item["option"], ct))
    return _check_aggregates(out)


__all__ = [
    "Aggregate",
    "Decryption",
    "aggregates_to_json",
    "combine_shares",
    "parse_aggregates",
    "partial_decrypt",
    "share_trustee",
    "verify_share_entry",
]
