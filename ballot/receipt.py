"""Ballot hashes, tracker codes and receipts (SPEC §4.3, §8).

A **receipt** (SPEC §8) is the JSON object

    {"meeting_id", "vote_id", "ballot_hash", "tracker", "leaf_index", "sth", "inclusion"}

with ``ballot_hash`` as 64 lowercase hex characters, ``sth`` a §7 signed tree head and
``inclusion`` the RFC 9162 audit path (lowercase hex hashes) of the ballot's log entry at
``leaf_index`` in the tree of size ``sth.tree_size``.

A receipt does not contain the ballot entry itself. To verify one (:func:`verify_receipt`) you also
need the ballot entry as logged: the kiosk kept it, and the log serves it (SPEC §11 ``entries``).

Decisions where SPEC is silent:

* **Tracker form in the receipt.** SPEC §4.3 defines the tracker code as 16 uppercase RFC 4648
  base32 characters (the first 10 bytes of ``ballot_hash``, so no padding) *shown* as
  ``XXXX-XXXX-XXXX-XXXX``; §8 says the receipt shows the tracker as text. The receipt's
  ``tracker`` field therefore holds the **dashed display form** (19 characters), exactly
  :func:`format_tracker` of :func:`tracker_code`. :func:`verify_receipt` accepts only that form;
  :func:`make_receipt` accepts either form and writes the dashed one. :func:`parse_tracker`
  normalises what a person types (either form, any case, spaces) for look-ups.
* **The ballot entry** given to :func:`verify_receipt` is the log entry (with ``"type": "ballot"``
  and its ``signature``); its ``vote_id`` must equal the receipt's. ``meeting_id`` is not in the
  ballot entry, so it is checked by whoever looks the meeting up, not here.
* :func:`verify_receipt` checks the log's evidence (hashes, tracker, STH signature, inclusion). It
  does not check the ballot's own proofs or signature; that is §4.3 well-formedness, checked by
  the ballot verifier.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ballot.ballot import ballot_hash, display_tracker, format_tracker, parse_tracker, tracker_code
from ballot.errors import EncodingError, LogError, ReceiptError
from ballot.hashing import MAX_SAFE_INTEGER, canonical_json
from ballot.log import leaf_hash, parse_hash_list, parse_sth, verify_inclusion, verify_sth

RECEIPT_KEYS = ("meeting_id", "vote_id", "ballot_hash", "tracker", "leaf_index", "sth", "inclusion")
"""The exact keys of a §8 receipt."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TRACKER_DISPLAY = re.compile(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")


# --------------------------------------------------------------------------------------------
# Receipts (SPEC §8)


def _check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ReceiptError("must be a non-empty string", where=field)
    return value


def _check_index(value: object, field: str = "leaf_index") -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ReceiptError("must be an integer", where=field)
    if not 0 <= value < MAX_SAFE_INTEGER:
        raise ReceiptError(f"must be in [0, 2^53), got {value}", where=field)
    return value


def make_receipt(
    meeting_id: str,
    vote_id: str,
    ballot_hash: bytes,
    tracker: str,
    leaf_index: int,
    sth: dict[str, Any],
    inclusion: Sequence[bytes],
) -> dict[str, Any]:
    """Build the §8 receipt ``{"meeting_id", "vote_id", "ballot_hash", "tracker", "leaf_index",
    "sth", "inclusion"}`` with hex strings (SPEC §8).

    ``tracker`` may be given dashed or undashed; it must be the tracker of ``ballot_hash`` and is
    written in the dashed display form. ``sth`` must have the §7 shape and cover ``leaf_index``.
    The signature and inclusion are not re-verified here (the caller just produced them); use
    :func:`verify_receipt` for that. Raises :class:`ReceiptError`.
    """
    _check_id(meeting_id, "meeting_id")
    _check_id(vote_id, "vote_id")
    if not isinstance(ballot_hash, (bytes, bytearray)) or len(ballot_hash) != 32:
        raise ReceiptError("must be 32 bytes", where="ballot_hash")
    try:
        code = parse_tracker(tracker)
    except EncodingError as exc:
        raise ReceiptError(exc.message, where="tracker") from None
    if code != tracker_code(ballot_hash):
        raise ReceiptError("is not the tracker of this ballot hash", where="tracker")
    _check_index(leaf_index)
    try:
        parsed = parse_sth(sth)
    except LogError as exc:
        raise ReceiptError(exc.message, where=exc.where or "sth") from None
    if leaf_index >= parsed.tree_size:
        raise ReceiptError(
            f"leaf {leaf_index} is not in a tree of size {parsed.tree_size}", where="leaf_index"
        )
    path: list[str] = []
    for i, h in enumerate(inclusion):
        if not isinstance(h, (bytes, bytearray)) or len(h) != 32:
            raise ReceiptError("must be 32 bytes", where=f"inclusion[{i}]")
        path.append(bytes(h).hex())
    return {
        "meeting_id": meeting_id,
        "vote_id": vote_id,
        "ballot_hash": bytes(ballot_hash).hex(),
        "tracker": format_tracker(code),
        "leaf_index": leaf_index,
        "sth": parsed.to_json(),
        "inclusion": path,
    }


def _check_receipt_shape(receipt: object) -> tuple[bytes, int, list[bytes]]:
    if not isinstance(receipt, dict):
        raise ReceiptError("a receipt must be a JSON object", where="receipt")
    keys = set(receipt)
    expected = set(RECEIPT_KEYS)
    for key in RECEIPT_KEYS:
        if key not in keys:
            raise ReceiptError("missing", where=key)
    extra = sorted(str(k) for k in keys - expected)
    if extra:
        raise ReceiptError(f"unexpected keys {extra}", where="receipt")
    _check_id(receipt["meeting_id"], "meeting_id")
    _check_id(receipt["vote_id"], "vote_id")
    bh = receipt["ballot_hash"]
    if not isinstance(bh, str) or _HEX64.fullmatch(bh) is None:
        raise ReceiptError("must be 64 lowercase hex characters", where="ballot_hash")
    tracker = receipt["tracker"]
    if not isinstance(tracker, str) or _TRACKER_DISPLAY.fullmatch(tracker) is None:
        raise ReceiptError("must be the display form XXXX-XXXX-XXXX-XXXX (uppercase base32)", where="tracker")
    index = _check_index(receipt["leaf_index"])
    try:
        sth = parse_sth(receipt["sth"])
        path = parse_hash_list(receipt["inclusion"], "inclusion")
    except LogError as exc:
        raise ReceiptError(exc.message, where=exc.where) from None
    if index >= sth.tree_size:
        raise ReceiptError(f"leaf {index} is not in a tree of size {sth.tree_size}", where="leaf_index")
    return bytes.fromhex(bh), index, path


def verify_receipt(receipt: dict[str, Any], ballot_entry: dict[str, Any], log_public_key: bytes) -> None:
    """Verify a §8 receipt against the logged ballot entry and the meeting's log key.

    Checks, in order (each failure raises :class:`ReceiptError` naming the field):

    1. the receipt's shape: exactly the §8 keys, lowercase hex, dashed tracker, §7 STH shape;
    2. the ballot entry is a ``ballot`` for the receipt's ``vote_id``;
    3. ``ballot_hash`` equals the §4.3 hash of the entry without ``signature``;
    4. ``tracker`` is the dashed tracker of that hash (§4.3);
    5. the STH's Ed25519 signature under ``log_public_key`` (§7);
    6. ``leaf_hash(canonical_json(entry))`` is leaf ``leaf_index`` of the tree of size
       ``sth.tree_size`` whose root is ``sth.root`` (RFC 9162 §2.1.3.2).

    Returns ``None`` on success.
    """
    claimed_hash, index, path = _check_receipt_shape(receipt)
    if not isinstance(ballot_entry, dict):
        raise ReceiptError("the ballot entry must be a JSON object", where="ballot")
    if ballot_entry.get("type") != "ballot":
        raise ReceiptError('the entry is not of type "ballot"', where="ballot.type")
    if ballot_entry.get("vote_id") != receipt["vote_id"]:
        raise ReceiptError("the ballot entry is for another vote", where="vote_id")
    try:
        actual_hash = ballot_hash(ballot_entry)
        data = canonical_json(ballot_entry)
    except EncodingError as exc:
        message = f"the ballot entry is not a valid document: {exc.message}"
        raise ReceiptError(message, where="ballot") from None
    if actual_hash != claimed_hash:
        raise ReceiptError("does not match the ballot entry", where="ballot_hash")
    if receipt["tracker"] != display_tracker(claimed_hash):
        raise ReceiptError("is not the tracker of ballot_hash", where="tracker")
    try:
        verify_sth(receipt["sth"], log_public_key)
    except LogError as exc:
        raise ReceiptError(exc.message, where=exc.where or "sth") from None
    sth = parse_sth(receipt["sth"])
    try:
        verify_inclusion(leaf_hash(data), index, sth.tree_size, path, sth.root)
    except LogError as exc:
        raise ReceiptError(exc.message, where="inclusion") from None
