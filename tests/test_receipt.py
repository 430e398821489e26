"""§8 receipts, §4.3 ballot hashes and tracker codes."""

from __future__ import annotations

import base64
import copy
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from ballot.errors import EncodingError, ReceiptError
from ballot.hashing import canonical_json, h256
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.receipt import (
    RECEIPT_KEYS,
    ballot_hash,
    display_tracker,
    format_tracker,
    make_receipt,
    parse_tracker,
    tracker_code,
    verify_receipt,
)

LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
LOG_PUB = LOG_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
TIMESTAMP = 1_800_000_000_000


def make_ballot(n: int, vote_id: str = "v1") -> dict[str, Any]:
    """A ballot entry with the §4.3 shape (its crypto is not checked by receipts)."""
    h = lambda tag: h256(tag, n).hex()  # deterministic filler hex
    return {
        "type": "ballot",
        "vote_id": vote_id,
        "credential": h("cred"),
        "contests": [
            {
                "id": "q1",
                "selections": [
                    {
                        "option": "yes",
                        "alpha": h("a1"),
                        "beta": h("b1"),
                        "proof": [[h("c"), h("v")], [h("c2"), h("v2")]],
                    },
                    {
                        "option": "no",
                        "alpha": h("a2"),
                        "beta": h("b2"),
                        "proof": [[h("c3"), h("v3")], [h("c4"), h("v4")]],
                    },
                ],
                "proof": [[h("c5"), h("v5")], [h("c6"), h("v6")]],
            }
        ],
        "constraints": [],
        "signature": h("sig") + h("sig2"),
    }


class Log:
    """A tiny stand-in for the tally service's log."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.tree = MerkleTree()

    def append(self, entry: dict[str, Any]) -> int:
        self.entries.append(entry)
        return self.tree.append_data(canonical_json(entry))

    def receipt(self, index: int, size: int | None = None, meeting_id: str = "m1") -> dict[str, Any]:
        n = self.tree.size if size is None else size
        entry = self.entries[index]
        bh = ballot_hash(entry)
        sth = sign_sth(LOG_KEY, n, self.tree.root(n), TIMESTAMP + n)
        proof = self.tree.inclusion_proof(index, n)
        return make_receipt(meeting_id, entry["vote_id"], bh, tracker_code(bh), index, sth, proof)


@pytest.fixture()
def log() -> Log:
    log = Log()
    log.append({"type": "meeting", "spec": "piaojue/1", "meeting_id": "m1"})
    log.append({"type": "open", "vote_id": "v1", "at": "2027-03-05T01:00:00Z", "present": 3})
    for n in range(5):
        log.append(make_ballot(n))
    log.append({"type": "close", "vote_id": "v1", "at": "2027-03-05T01:10:00Z", "ballots": 5})
    return log


# Ballot hash and tracker ---------------------------------------------------------------------------


def test_ballot_hash_definition() -> None:
    ballot = make_ballot(1)
    unsigned = {k: v for k, v in ballot.items() if k != "signature"}
    assert ballot_hash(ballot) == h256("piaojue/1/ballot", canonical_json(unsigned))
    assert ballot_hash(ballot) == ballot_hash(unsigned)
    changed = dict(ballot, signature="00" * 64)
    assert ballot_hash(changed) == ballot_hash(ballot)
    assert ballot_hash(make_ballot(2)) != ballot_hash(ballot)
    with pytest.raises(EncodingError):
        ballot_hash([])  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)
    with pytest.raises(EncodingError):
        ballot_hash({"x": 1.5})


def test_tracker_rfc4648_vectors() -> None:
    # RFC 4648 §10: BASE32("fooba") = "MZXW6YTB"; ten bytes are 16 characters without padding.
    assert tracker_code(b"foobafooba" + bytes(22)) == "MZXW6YTBMZXW6YTB"
    assert tracker_code(bytes(32)) == "AAAAAAAAAAAAAAAA"
    assert tracker_code(b"\xff" * 32) == "7777777777777777"
    assert format_tracker("MZXW6YTBMZXW6YTB") == "MZXW-6YTB-MZXW-6YTB"
    assert display_tracker(b"foobafooba" + bytes(22)) == "MZXW-6YTB-MZXW-6YTB"


@given(st.binary(min_size=32, max_size=32))
def test_tracker_properties(h: bytes) -> None:
    code = tracker_code(h)
    assert re.fullmatch(r"[A-Z2-7]{16}", code)
    assert base64.b32decode(code) == h[:10]
    shown = format_tracker(code)
    assert len(shown) == 19 and shown.count("-") == 3
    assert parse_tracker(shown) == code
    assert parse_tracker(shown.lower()) == code
    assert parse_tracker(" ".join(code[i : i + 4] for i in range(0, 16, 4))) == code


@pytest.mark.parametrize("bad", [b"", bytes(31), bytes(33), "00" * 32])
def test_tracker_code_rejects_bad_hash(bad: Any) -> None:
    with pytest.raises(EncodingError):
        tracker_code(bad)


@pytest.mark.parametrize(
    "bad",
    ["MZXW6YTBMZXW6YT", "MZXW6YTBMZXW6YTB0", "mzxw6ytbmzxw6ytb", "MZXW-6YTB-MZXW-6YTB", "MZXW6YTBMZXW6YT1", 5],
)
def test_format_tracker_rejects_bad_code(bad: Any) -> None:
    with pytest.raises(EncodingError):
        format_tracker(bad)


@pytest.mark.parametrize("bad", ["", "MZXW-6YTB-MZXW", "MZXW-6YTB-MZXW-6YT1", "MZXW-6YTB-MZXW-6YTB-A", None])
def test_parse_tracker_rejects(bad: Any) -> None:
    with pytest.raises(EncodingError):
        parse_tracker(bad)


# Receipts -----------------------------------------------------------------------------------------------


def test_receipt_shape(log: Log) -> None:
    r = log.receipt(3)
    assert tuple(r) == RECEIPT_KEYS
    assert set(r) == {"meeting_id", "vote_id", "ballot_hash", "tracker", "leaf_index", "sth", "inclusion"}
    assert r["ballot_hash"] == ballot_hash(log.entries[3]).hex()
    assert r["tracker"] == format_tracker(tracker_code(ballot_hash(log.entries[3])))
    assert r["leaf_index"] == 3
    assert r["sth"]["tree_size"] == 8
    assert all(isinstance(x, str) and len(x) == 64 for x in r["inclusion"])
    # The receipt is a §1 document.
    canonical_json(r)


@pytest.mark.parametrize("index", range(2, 7))
def test_receipt_verifies(log: Log, index: int) -> None:
    verify_receipt(log.receipt(index), log.entries[index], LOG_PUB)


def test_receipt_against_later_sth(log: Log) -> None:
    early = log.receipt(2)
    for n in range(5, 40):
        log.append(make_ballot(n))
    later = log.receipt(2)
    assert later["sth"]["tree_size"] > early["sth"]["tree_size"]
    verify_receipt(early, log.entries[2], LOG_PUB)
    verify_receipt(later, log.entries[2], LOG_PUB)
    # The old proof does not fit the new STH.
    mixed = dict(later, inclusion=early["inclusion"])
    with pytest.raises(ReceiptError) as info:
        verify_receipt(mixed, log.entries[2], LOG_PUB)
    assert info.value.where == "inclusion"


def test_receipt_at_past_size(log: Log) -> None:
    verify_receipt(log.receipt(2, size=3), log.entries[2], LOG_PUB)


def test_make_receipt_accepts_dashed_tracker(log: Log) -> None:
    r = log.receipt(4)
    bh = bytes.fromhex(r["ballot_hash"])
    proof = [bytes.fromhex(x) for x in r["inclusion"]]
    again = make_receipt("m1", "v1", bh, r["tracker"], 4, r["sth"], proof)
    assert again == r


def _mutations(r: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []

    def m(where: str, **changes: Any) -> None:
        c = copy.deepcopy(r)
        c.update(changes)
        out.append((where, c))

    m("meeting_id", meeting_id="")
    m("meeting_id", meeting_id=7)
    m("vote_id", vote_id="v2")
    m("vote_id", vote_id=None)
    m("ballot_hash", ballot_hash=r["ballot_hash"].upper())
    m("ballot_hash", ballot_hash=r["ballot_hash"][:-1])
    m("ballot_hash", ballot_hash=("0" if r["ballot_hash"][0] != "0" else "1") + r["ballot_hash"][1:])
    m("tracker", tracker=r["tracker"].replace("-", ""))
    m("tracker", tracker=r["tracker"].lower())
    other_tracker = "AAAA-AAAA-AAAA-AAAA" if r["tracker"] != "AAAA-AAAA-AAAA-AAAA" else "BBBB-AAAA-AAAA-AAAA"
    m("tracker", tracker=other_tracker)
    m("inclusion", leaf_index=r["leaf_index"] + 1)  # a well-formed index the proof does not fit
    m("leaf_index", leaf_index=str(r["leaf_index"]))
    m("leaf_index", leaf_index=True)
    m("leaf_index", leaf_index=-1)
    m("leaf_index", leaf_index=r["sth"]["tree_size"])
    m("inclusion", inclusion=r["inclusion"][:-1])
    m("inclusion", inclusion=[*r["inclusion"], r["inclusion"][0]])
    m("inclusion[0]", inclusion=[r["inclusion"][0].upper(), *r["inclusion"][1:]])
    m("inclusion", inclusion="nope")
    first = r["inclusion"][0]
    m("inclusion", inclusion=[("0" if first[0] != "0" else "1") + first[1:], *r["inclusion"][1:]])
    m("sth", sth=dict(r["sth"], extra=1))
    m("sth", sth="nope")
    m("sth.root", sth=dict(r["sth"], root=r["sth"]["root"][:-2]))
    m("sth.signature", sth=dict(r["sth"], timestamp=r["sth"]["timestamp"] + 1))
    m("sth.signature", sth=dict(r["sth"], tree_size=r["sth"]["tree_size"] + 1))
    m("receipt", extra="x")
    missing = copy.deepcopy(r)
    del missing["inclusion"]
    out.append(("inclusion", missing))
    return out


def test_receipt_tampering_fails(log: Log) -> None:
    r = log.receipt(4)
    entry = log.entries[4]
    verify_receipt(r, entry, LOG_PUB)
    mutations = _mutations(r)
    assert len(mutations) > 20
    for where, bad in mutations:
        with pytest.raises(ReceiptError) as info:
            verify_receipt(bad, entry, LOG_PUB)
        assert info.value.where == where, (where, info.value)


def test_receipt_wrong_ballot_entry(log: Log) -> None:
    r = log.receipt(4)
    with pytest.raises(ReceiptError) as info:
        verify_receipt(r, log.entries[5], LOG_PUB)
    assert info.value.where == "ballot_hash"
    # Same ballot hash, but the logged bytes differ (signature changed): inclusion fails.
    resigned = dict(log.entries[4], signature="11" * 64)
    with pytest.raises(ReceiptError) as info:
        verify_receipt(r, resigned, LOG_PUB)
    assert info.value.where == "inclusion"
    with pytest.raises(ReceiptError) as info:
        verify_receipt(r, dict(log.entries[4], vote_id="v9"), LOG_PUB)
    assert info.value.where == "vote_id"
    with pytest.raises(ReceiptError) as info:
        verify_receipt(r, dict(log.entries[4], type="spoiled"), LOG_PUB)
    assert info.value.where == "ballot.type"
    with pytest.raises(ReceiptError) as info:
        verify_receipt(r, dict(log.entries[4], weight=0.5), LOG_PUB)
    assert info.value.where == "ballot"
    with pytest.raises(ReceiptError):
        verify_receipt(r, "ballot", LOG_PUB)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


def test_receipt_wrong_log_key(log: Log) -> None:
    r = log.receipt(4)
    other_key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    other = other_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(ReceiptError) as info:
        verify_receipt(r, log.entries[4], other)
    assert info.value.where == "sth.signature"
    with pytest.raises(ReceiptError):
        verify_receipt(r, log.entries[4], b"short")


def test_receipt_for_a_non_ballot_leaf_fails(log: Log) -> None:
    r = log.receipt(4)
    forged = dict(r, leaf_index=1, inclusion=[h.hex() for h in log.tree.inclusion_proof(1)])
    with pytest.raises(ReceiptError) as info:
        verify_receipt(forged, log.entries[4], LOG_PUB)
    assert info.value.where == "inclusion"


def test_receipt_not_a_dict(log: Log) -> None:
    with pytest.raises(ReceiptError):
        verify_receipt([], log.entries[4], LOG_PUB)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


def test_make_receipt_rejects_bad_input(log: Log) -> None:
    entry = log.entries[3]
    bh = ballot_hash(entry)
    sth = sign_sth(LOG_KEY, log.tree.size, log.tree.root(), TIMESTAMP)
    proof = log.tree.inclusion_proof(3)
    code = tracker_code(bh)
    other_code = "AAAAAAAAAAAAAAAA" if code != "AAAAAAAAAAAAAAAA" else "B" * 16
    make_receipt("m1", "v1", bh, code, 3, sth, proof)
    bad_calls: list[tuple[str, tuple[Any, ...]]] = [
        ("meeting_id", ("", "v1", bh, code, 3, sth, proof)),
        ("vote_id", ("m1", 1, bh, code, 3, sth, proof)),
        ("ballot_hash", ("m1", "v1", bh.hex(), code, 3, sth, proof)),
        ("tracker", ("m1", "v1", bh, other_code, 3, sth, proof)),
        ("tracker", ("m1", "v1", bh, "not a tracker", 3, sth, proof)),
        ("leaf_index", ("m1", "v1", bh, code, -1, sth, proof)),
        ("leaf_index", ("m1", "v1", bh, code, 99, sth, proof)),
        ("sth.root", ("m1", "v1", bh, code, 3, dict(sth, root="zz"), proof)),
        ("sth", ("m1", "v1", bh, code, 3, {}, proof)),
        ("inclusion[0]", ("m1", "v1", bh, code, 3, sth, [b"short"])),
    ]
    for where, args in bad_calls:
        with pytest.raises(ReceiptError) as info:
            make_receipt(*args)
        assert info.value.where == where, (where, info.value)


def test_leaf_is_canonical_json_of_entry(log: Log) -> None:
    entry = log.entries[4]
    assert log.tree.leaf_hash(4) == leaf_hash(canonical_json(entry))
