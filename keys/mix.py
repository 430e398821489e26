"""A trustee's part in counting write-in names (docs/protocol.md §12.5–§12.6): the shuffle entry
and the name-share entry, and combining the shares into the decoded names.

* :func:`shuffle_entry`: re-encrypt and permute the rows (the counted ballots' name ciphertexts,
  or the previous trustee's output), prove the shuffle (Terelius–Wikström, CHVote Algorithms
  8.42–8.47) and sign it with this trustee's share ``s_l`` (§12.5 rule 7): the ``shuffle`` entry.
* :func:`name_share_entry`: ``M = s_l·A`` with a Chaum–Pedersen proof for every ciphertext of
  the last shuffle's output (§12.6 rule 1): the ``name_share`` entry.
* :func:`combine_names`: verify name-share entries, combine ``threshold`` of them and decode each
  row's slots (§12.6 rule 3), for the result (:func:`ballot.results.result_entry`).

A trustee shuffles at most once per vote and the names are decrypted only after ``threshold``
trustees have shuffled (§12.5 rule 9); the tools check what they can see of that (the verifier
checks all of it, V45–V48).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ballot.election import decode_row
from ballot.errors import EncodingError, ProofError, ThresholdError
from ballot.group import Point
from ballot.meeting import Meeting
from ballot.proofs import pair_to_json, parse_pair
from ballot.shuffle import Row, prove_shuffle, rows_to_json, shuffle
from ballot.threshold import combine_partials
from ballot.writein import prove_name_share, verify_name_share
from keys.ceremony import parse_state


def _hash(value: object, name: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ThresholdError(f"{name} must be 32 bytes")
    return bytes(value)


def shuffle_entry(
    state: dict[str, Any], meeting_hash: bytes, vote_hash: bytes, vote_id: str, rows: Sequence[Row]
) -> dict[str, Any]:
    """Trustee ``l``'s ``shuffle`` entry of ``rows`` (§12.5 rules 3–7)."""
    parsed = parse_state(state)
    share = parsed.require_complete()
    meeting_hash, vote_hash = _hash(meeting_hash, "meeting_hash"), _hash(vote_hash, "vote_hash")
    if not rows:
        raise ThresholdError("nothing to shuffle: no ballot was counted")
    if parsed.public_key is None:  # require_complete() has already refused an unfinished ceremony
        raise ThresholdError("the ceremony has no joint public key yet")
    result = shuffle(rows, parsed.public_key)
    proof = prove_shuffle(rows, result, parsed.public_key, meeting_hash, vote_hash, parsed.index, share)
    return {
        "type": "shuffle",
        "vote_id": vote_id,
        "trustee": parsed.index,
        "output": rows_to_json(result.output),
        "proof": proof.to_json(),
        "signature": proof.signature_json(),
    }


def name_share_entry(
    state: dict[str, Any], meeting_hash: bytes, vote_hash: bytes, vote_id: str, rows: Sequence[Row]
) -> dict[str, Any]:
    """Trustee ``l``'s ``name_share`` entry for the last shuffle's output ``rows`` (§12.6 rule 1)."""
    parsed = parse_state(state)
    share = parsed.require_complete()
    meeting_hash, vote_hash = _hash(meeting_hash, "meeting_hash"), _hash(vote_hash, "vote_hash")
    shares = []
    for row in rows:
        out = []
        for ct in row:
            partial, proof = prove_name_share(share, ct.alpha, meeting_hash, vote_hash, parsed.index)
            out.append([partial.hex(), *pair_to_json(proof)])
        shares.append(out)
    return {"type": "name_share", "vote_id": vote_id, "trustee": parsed.index, "shares": shares}


def verify_name_share_entry(
    meeting: Meeting, vote_hash: bytes, rows: Sequence[Row], entry: Any
) -> tuple[int, list[list[Point]]]:
    """Check a ``name_share`` entry's shape and every proof against ``rows``; return the trustee
    and its partials. Raises :class:`EncodingError` or :class:`ProofError`."""
    keys = meeting.verification_keys()
    if not isinstance(entry, dict) or set(entry) != {"type", "vote_id", "trustee", "shares"}:
        raise EncodingError("a name_share entry has exactly type, vote_id, trustee, shares")
    trustee = entry["trustee"]
    if not isinstance(trustee, int) or isinstance(trustee, bool) or trustee not in keys:
        raise EncodingError(f"'trustee' must be a trustee index 1..{len(keys)}")
    shares = entry["shares"]
    if not isinstance(shares, list) or len(shares) != len(rows):
        raise EncodingError(f"'shares' must have {len(rows)} rows")
    partials = []
    for i, (raw_row, row) in enumerate(zip(shares, rows)):
        if not isinstance(raw_row, list) or len(raw_row) != len(row):
            raise EncodingError(f"a row of shares has {len(row)} elements", where=f"shares[{i}]")
        out = []
        for j, (item, ct) in enumerate(zip(raw_row, row)):
            at = f"shares[{i}][{j}]"
            if not isinstance(item, list) or len(item) != 3:
                raise EncodingError("a name share is [M, c, v]", where=at)
            partial = Point.from_hex(item[0], where=f"{at}[0]")
            verify_name_share(partial, parse_pair(item[1:], where=at), keys[trustee], ct.alpha, meeting.hash, vote_hash, trustee)
            out.append(partial)
        partials.append(out)
    return trustee, partials


def combine_names(
    meeting: Meeting,
    vote_hash: bytes,
    rows: Sequence[Row],
    entries: Sequence[Any],
    trustees: Sequence[int] | None = None,
) -> tuple[list[int], list[list[str | None]]]:
    """Verify the ``name_share`` entries, combine those of ``trustees`` (the result's, which also
    decrypted the counts, §12.7 rule 1), or by default the lowest-indexed ``threshold`` valid
    ones, and decode every row: ``(trustees used, decoded rows)``. Invalid entries are skipped;
    :class:`ThresholdError` if too few remain."""
    valid: dict[int, list[list[Point]]] = {}
    for entry in entries:
        try:
            trustee, partials = verify_name_share_entry(meeting, vote_hash, rows, entry)
        except (EncodingError, ProofError):
            continue
        valid.setdefault(trustee, partials)
    if len(valid) < meeting.threshold:
        raise ThresholdError(f"{len(valid)} valid name shares; {meeting.threshold} are needed")
    used = sorted(valid)[: meeting.threshold] if trustees is None else sorted(trustees)
    missing = [t for t in used if t not in valid]
    if missing or len(used) < meeting.threshold:
        raise ThresholdError(f"no valid name shares of trustees {missing}; {meeting.threshold} are needed")
    decoded = []
    for i, row in enumerate(rows):
        points = [ct.beta - combine_partials({t: valid[t][i][j] for t in used}, meeting.threshold) for j, ct in enumerate(row)]
        decoded.append(decode_row(points))
    return used, decoded


__all__ = ["combine_names", "name_share_entry", "shuffle_entry", "verify_name_share_entry"]
