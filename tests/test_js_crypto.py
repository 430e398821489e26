"""Cross-tests of the kiosk's JS crypto (kiosk/static/js/crypto/) against the Python core.

The JS runs under node (the drivers tests/js/*.mjs, JSON on stdin and stdout, with the pages' import
map through tests/js/importmap.mjs); node is required and its absence is a failure, not a skip.
docs/kiosk-crypto.md describes the set-up. The vendored files themselves: tests/test_vendor.py.

* JS → Python: ballots encrypted by the JS code, for each of the five vote kinds of
  ballot/templates.py and a vote with constraints, pass ballot.ballot.verify_ballot, decrypt to
  the chosen options, and their spoiled bodies pass ballot.spoiled.verify_spoiled.
* Python → JS: the JS code accepts range proofs, ballots, spoiled entries, STHs, inclusion and
  consistency proofs and §8 receipts made by the Python code, and rejects tampered ones exactly
  where Python does (same verdict, same ``where``, same §11 code).
* Shared vectors tests/vectors/js_*.json (made by tests/vectors/make_js_vectors.py) are current
  (Python) and hold in JS (node), as do the RFC 9496 and RFC 9162 vectors.
* The node timing script runs for the 13- and 23-project ballots (reported, not asserted).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot import templates
from ballot.ballot import ballot_context, ballot_hash, display_tracker, signature_message, verify_ballot
from ballot.elgamal import Ciphertext, DiscreteLogTable, decrypt_with_secret
from ballot.encrypt import check_choices, encrypt_ballot
from ballot.errors import BallotError, ChoiceError, PiaojueError
from ballot.group import Point, Scalar
from ballot.hashing import canonical_json
from ballot.log import MerkleTree, sign_sth, verify_consistency, verify_inclusion, verify_sth
from ballot.proofs import parse_pairs, verify_range
from ballot.receipt import make_receipt, verify_receipt
from ballot.spoiled import verify_spoiled
from ballot.vote import VoteDefinition, parse_vote
from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from piaojue_tools import demo_data, simulate

ROOT = Path(__file__).resolve().parents[1]
JS_TEST_DIR = ROOT / "tests" / "js"
VECTORS = Path(__file__).resolve().parent / "vectors"

MEETING_ID = "2027-rd-3"
SECRET = Scalar.reduce(int.from_bytes(hashlib.sha512(b"js cross-test joint secret").digest(), "little"))
JOINT_KEY = Point.base_mul(SECRET)
MEETING_HASH = hashlib.sha256(b"js cross-test meeting entry").digest()
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"js cross-test log key").digest())
LOG_KEY_HEX = public_key_hex(LOG_KEY)
CODES = [
    "ABCDE23456FGHIJ7KLMN",
    "QRSTU-VWXYZ-23456-7ABCD",
    "zzzzz 77777 aaaaa 22222",
    "MNOPQ RSTUV WXYZ2 34567",
]


# ---------------------------------------------------------------------------------- helpers


def run_node(script: str, payload: Any = None, *args: str, timeout: float = 600) -> Any:
    """Run a node driver in tests/js/ (bare imports through the import map) with JSON on stdin;
    return its JSON stdout."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the kiosk's JS crypto cannot be cross-tested (install node >= 20)")
    proc = subprocess.run(
        [node, "--import", "./importmap.mjs", script, *args],
        cwd=JS_TEST_DIR,
        input=json.dumps(payload, ensure_ascii=False) if payload is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"node {script} failed ({proc.returncode}):\n{proc.stderr}"
    return json.loads(proc.stdout)


def constraint_vote() -> dict[str, Any]:
    """Per-project 赞成/反对/弃权 contests with two constraints (one with min > 0)."""
    projects = demo_data.projects(4)
    options = [
        {"id": "yes", "label": "赞成"},
        {"id": "no", "label": "反对"},
        {"id": "abstain", "label": "弃权"},
    ]
    entry = {
        "type": "vote",
        "vote_id": "v6",
        "kind": "resolution",
        "title": "逐项表决（至多 2 项赞成）",
        "contests": [
            {"id": p["id"], "title": p["label"], "min": 0, "max": 1, "options": options} for p in projects
        ],
        "constraints": [
            {"id": "k1", "members": [[p["id"], "yes"] for p in projects], "min": 0, "max": 2},
            {
                "id": "k2",
                "members": [[p["id"], o] for p in projects for o in ("no", "abstain")],
                "min": 1,
                "max": 8,
            },
        ],
        "rule": {"name": "majority", "yes": "yes", "threshold": "half", "base": "members"},
        "recast": False,
    }
    parse_vote(entry)
    return entry


def vote_entries() -> list[dict[str, Any]]:
    """The five kinds of ballot/templates.py (the simulator's agenda) and a vote with constraints."""
    entries = simulate.agenda() + [constraint_vote()]
    assert {e["kind"] for e in entries[:5]} == {
        "resolution",
        "appointment",
        "selection",
        "election",
        "evaluation",
    }
    return entries


CHOICES: dict[str, list[dict[str, list[str]]]] = {
    "v1": [{"motion": ["yes"]}, {"motion": ["abstain"]}],
    "v2": [{"n1": ["yes"], "n2": ["no"], "n3": ["abstain"]}, {"n1": [], "n3": ["yes"]}],
    "v3": [
        {"projects": ["p01", "p02", "p03", "p05", "p07", "p08", "p09", "p11", "p12", "p13"]},
        {"projects": []},
        {"projects": ["p13"]},
    ],
    "v4": [{"candidates": ["c1", "c3"]}, {"candidates": ["c2"]}],
    "v5": [{"d1": ["satisfied"], "d2": ["basically_satisfied"], "d3": ["unsatisfied"], "d4": ["satisfied"]}],
    "v6": [
        {"p01": ["yes"], "p02": ["no"], "p03": ["yes"], "p04": ["abstain"]},
        {"p01": ["no"], "p02": [], "p03": [], "p04": []},
    ],
}

BAD_CHOICES: list[tuple[str, dict[str, Any]]] = [
    ("v1", {"motion": []}),
    ("v1", {"motion": ["yes", "no"]}),
    ("v1", {"motion": ["maybe"]}),
    ("v1", {"motion": ["yes"], "zzz": [], "aaa": ["x"]}),
    ("v3", {"projects": [f"p{i:02d}" for i in range(1, 12)]}),
    ("v5", {"d1": ["satisfied"], "d2": ["satisfied"], "d3": ["satisfied"]}),
    ("v6", {"p01": ["yes"], "p02": ["yes"], "p03": ["yes"], "p04": ["no"]}),
    ("v6", {"p01": ["yes"]}),
]


def expected_plaintexts(vote: VoteDefinition, choices: dict[str, list[str]]) -> list[int]:
    return [
        1 if option in choices.get(contest.id, []) else 0
        for contest in vote.contests
        for option in contest.options
    ]


# ------------------------------------------------------------------------ JS encrypts, Python verifies


@pytest.fixture(scope="module")
def js_ballots() -> list[dict[str, Any]]:
    cases = []
    for entry in vote_entries():
        for i, choices in enumerate(CHOICES[entry["vote_id"]]):
            cases.append(
                {
                    "name": f"{entry['vote_id']}#{i}",
                    "vote": entry,
                    "meeting_hash": MEETING_HASH.hex(),
                    "public_key": JOINT_KEY.hex(),
                    "code": CODES[i % len(CODES)],
                    "meeting_id": MEETING_ID,
                    "choices": choices,
                }
            )
    results = run_node("encrypt_cases.mjs", {"cases": cases})["results"]
    assert [r["name"] for r in results] == [c["name"] for c in cases]
    return [{**case, "result": result} for case, result in zip(cases, results)]


def test_js_ballots_verify_in_python(js_ballots: list[dict[str, Any]]) -> None:
    table = DiscreteLogTable(1)
    kinds = set()
    for case in js_ballots:
        result = case["result"]
        assert result["ok"], f"{case['name']}: {result.get('error_name')}: {result.get('error_message')}"
        vote = parse_vote(case["vote"])
        kinds.add(vote.kind)
        entry = result["entry"]
        verified = verify_ballot(entry, vote, MEETING_HASH, JOINT_KEY)
        assert verified.hash.hex() == result["ballot_hash"]
        assert result["tracker"] == result["tracker_of"] == display_tracker(verified.hash)
        assert (
            entry["credential"]
            == result["credential"]
            == public_key_hex(derive_private_key(case["code"], MEETING_ID))
        )
        assert result["canonical"] == canonical_json(entry).decode("utf-8")
        assert result["js_verify"] is True
        plaintexts = [table.lookup(decrypt_with_secret(ct, SECRET), 1) for ct in verified.ciphertexts]
        assert plaintexts == expected_plaintexts(vote, case["choices"]), case["name"]
        # The exact §4.3 shape: the keys Python's encrypt_ballot writes, nothing else.
        assert set(entry) == {"type", "vote_id", "credential", "contests", "constraints", "signature"}
        for contest in entry["contests"]:
            assert set(contest) == {"id", "selections", "proof"}
            for selection in contest["selections"]:
                assert set(selection) == {"option", "alpha", "beta", "proof"}
    assert kinds == {"resolution", "appointment", "selection", "election", "evaluation"}


def test_js_spoiled_bodies_verify_in_python(js_ballots: list[dict[str, Any]]) -> None:
    for case in js_ballots:
        body = case["result"]["spoiled_body"]
        vote = parse_vote(case["vote"])
        assert set(body) == {"vote_id", "ballot", "openings"}
        assert body["ballot"] == case["result"]["entry"]
        verify_spoiled({"type": "spoiled", **body}, vote, MEETING_HASH, JOINT_KEY)
        assert [m for _, _, m, _ in body["openings"]] == expected_plaintexts(vote, case["choices"])
        assert [tuple(o[:2]) for o in body["openings"]] == vote.option_refs()


def test_js_ballots_use_fresh_nonces(js_ballots: list[dict[str, Any]]) -> None:
    alphas = [
        s["alpha"]
        for case in js_ballots
        for c in case["result"]["entry"]["contests"]
        for s in c["selections"]
    ]
    assert len(alphas) == len(set(alphas))


def test_js_choice_errors_match_python() -> None:
    entries = {e["vote_id"]: e for e in vote_entries()}
    cases = [
        {
            "name": f"bad#{i}",
            "vote": entries[vote_id],
            "meeting_hash": MEETING_HASH.hex(),
            "public_key": JOINT_KEY.hex(),
            "code": CODES[0],
            "meeting_id": MEETING_ID,
            "choices": choices,
        }
        for i, (vote_id, choices) in enumerate(BAD_CHOICES)
    ]
    results = run_node("encrypt_cases.mjs", {"cases": cases})["results"]
    for (vote_id, choices), result in zip(BAD_CHOICES, results):
        with pytest.raises(ChoiceError) as info:
            check_choices(parse_vote(entries[vote_id]), choices)
        assert not result["ok"], f"JS accepted {choices}"
        assert result["error_name"] == "ChoiceError"
        assert result["error_message"] == str(info.value)
        assert result["where"] == info.value.where


# ------------------------------------------------------------------------ Python makes, JS verifies


def _flip_hex(text: str, position: int = 0) -> str:
    """Change one hex digit (keeps the string lowercase hex of the same length)."""
    digit = "0123456789abcdef"[(int(text[position], 16) + 1) % 16]
    return text[:position] + digit + text[position + 1 :]


def _python_verdict(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        fn()
    except BallotError as exc:
        return {"ok": False, "where": exc.where, "code": exc.code, "message": str(exc)}
    except PiaojueError as exc:
        return {"ok": False, "where": exc.where, "code": None, "message": str(exc)}
    return {"ok": True, "where": None, "code": None, "message": None}


@pytest.fixture(scope="module")
def python_world() -> dict[str, Any]:
    """A small log made by the Python core: meeting and vote entries, ballots, STHs, receipts."""
    votes = [parse_vote(e) for e in vote_entries()]
    tree = MerkleTree()
    entries: list[dict[str, Any]] = []

    def append(entry: dict[str, Any]) -> int:
        entries.append(entry)
        return tree.append_data(canonical_json(entry))

    append({"type": "meeting", "spec": "piaojue/1", "meeting_id": MEETING_ID, "public_key": JOINT_KEY.hex()})
    ballots = []
    for vote in votes:
        append(vote.entry)
        for i, choices in enumerate(CHOICES[vote.vote_id]):
            key = derive_private_key(CODES[i % len(CODES)], MEETING_ID)
            encrypted = encrypt_ballot(vote, MEETING_HASH, JOINT_KEY, key, choices)
            index = append(encrypted.entry)
            ballots.append({"vote": vote, "encrypted": encrypted, "index": index, "size": tree.size})
    sths = {}
    for size in sorted({b["size"] for b in ballots} | {tree.size}):
        sths[size] = sign_sth(LOG_KEY, size, tree.root(size), 1_800_000_000_000 + size)
    return {"votes": votes, "tree": tree, "entries": entries, "ballots": ballots, "sths": sths}


def _receipt(world: dict[str, Any], ballot: dict[str, Any], size: int) -> dict[str, Any]:
    tree: MerkleTree = world["tree"]
    encrypted = ballot["encrypted"]
    return make_receipt(
        MEETING_ID,
        encrypted.entry["vote_id"],
        encrypted.hash,
        encrypted.tracker,
        ballot["index"],
        world["sths"][size],
        tree.inclusion_proof(ballot["index"], size),
    )


def _cases(world: dict[str, Any]) -> list[dict[str, Any]]:
    """(name, op, args, intended verdict, Python's verdict) for every Python → JS case."""
    cases: list[dict[str, Any]] = []
    latest = world["tree"].size

    def add(name: str, op: str, args: dict[str, Any], intended: bool, python: Callable[[], Any]) -> None:
        cases.append(
            {"name": name, "op": op, "args": args, "intended": intended, "python": _python_verdict(python)}
        )

    key = LOG_KEY.public_key().public_bytes_raw()
    other_key = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key().public_bytes_raw()

    # §8 receipts: at the ballot's own tree size and at the latest STH.
    for n, ballot in enumerate(world["ballots"]):
        entry = ballot["encrypted"].entry
        for size in sorted({ballot["size"], latest}):
            receipt = _receipt(world, ballot, size)
            add(
                f"receipt {n} @{size}",
                "receipt",
                {"receipt": receipt, "ballot": entry, "log_key": LOG_KEY_HEX},
                True,
                lambda r=receipt, e=entry: verify_receipt(r, e, key),
            )

    ballot = world["ballots"][4]
    entry = ballot["encrypted"].entry
    good = _receipt(world, ballot, latest)
    other_entry = world["ballots"][5]["encrypted"].entry
    tampered_entry = copy.deepcopy(entry)
    tampered_entry["contests"][0]["selections"][0]["alpha"] = entry["contests"][0]["selections"][1]["alpha"]

    def variant(**changes: Any) -> dict[str, Any]:
        receipt = copy.deepcopy(good)
        for path, value in changes.items():
            target = receipt
            parts = path.split("__")
            for part in parts[:-1]:
                target = target[part]
            target[parts[-1]] = value
        return receipt

    receipt_tampers: list[tuple[str, dict[str, Any], dict[str, Any], bytes]] = [
        ("ballot_hash flipped", variant(ballot_hash=_flip_hex(good["ballot_hash"])), entry, key),
        ("ballot_hash uppercase", variant(ballot_hash=good["ballot_hash"].upper()), entry, key),
        ("tracker of another ballot", variant(tracker=display_tracker(bytes(32))), entry, key),
        ("tracker undashed", variant(tracker=good["tracker"].replace("-", "")), entry, key),
        ("leaf_index + 1", variant(leaf_index=good["leaf_index"] + 1), entry, key),
        ("leaf_index beyond tree", variant(leaf_index=latest), entry, key),
        ("leaf_index negative", variant(leaf_index=-1), entry, key),
        (
            "inclusion flipped",
            variant(inclusion=[_flip_hex(good["inclusion"][0])] + good["inclusion"][1:]),
            entry,
            key,
        ),
        ("inclusion short", variant(inclusion=good["inclusion"][:-1]), entry, key),
        ("inclusion long", variant(inclusion=good["inclusion"] + [good["inclusion"][0]]), entry, key),
        ("inclusion not hex", variant(inclusion=["zz"] + good["inclusion"][1:]), entry, key),
        ("sth signature flipped", variant(sth__signature=_flip_hex(good["sth"]["signature"], 5)), entry, key),
        ("sth root flipped", variant(sth__root=_flip_hex(good["sth"]["root"])), entry, key),
        ("sth tree_size - 1", variant(sth__tree_size=latest - 1), entry, key),
        ("sth timestamp + 1", variant(sth__timestamp=good["sth"]["timestamp"] + 1), entry, key),
        ("sth extra key", variant(sth__extra=1), entry, key),
        ("sth tree_size float-like string", variant(sth__tree_size=str(latest)), entry, key),
        ("receipt extra key", variant(extra="x"), entry, key),
        ("vote_id of another vote", variant(vote_id="v9"), entry, key),
        ("meeting_id empty", variant(meeting_id=""), entry, key),
        ("wrong log key", good, entry, other_key),
        ("another ballot entry", good, other_entry, key),
        ("tampered ballot entry", good, tampered_entry, key),
        ("entry without type", good, {k: v for k, v in entry.items() if k != "type"}, key),
    ]
    missing = copy.deepcopy(good)
    del missing["inclusion"]
    receipt_tampers.append(("receipt missing inclusion", missing, entry, key))
    for name, receipt, ballot_entry, log_key in receipt_tampers:
        add(
            f"receipt tampered: {name}",
            "receipt",
            {"receipt": receipt, "ballot": ballot_entry, "log_key": log_key.hex()},
            False,
            lambda r=receipt, e=ballot_entry, k=log_key: verify_receipt(r, e, k),
        )

    # §7 STHs.
    for size, sth in world["sths"].items():
        add(
            f"sth @{size}",
            "sth",
            {"sth": sth, "log_key": LOG_KEY_HEX},
            True,
            lambda s=sth: verify_sth(s, key),
        )
    sth = world["sths"][latest]
    for name, bad in [
        ("signature flipped", {**sth, "signature": _flip_hex(sth["signature"], 70)}),
        ("root flipped", {**sth, "root": _flip_hex(sth["root"], 63)}),
        ("tree_size + 1", {**sth, "tree_size": sth["tree_size"] + 1}),
        ("timestamp - 1", {**sth, "timestamp": sth["timestamp"] - 1}),
        ("timestamp 2^53", {**sth, "timestamp": 2**53}),
        ("missing root", {k: v for k, v in sth.items() if k != "root"}),
    ]:
        add(
            f"sth tampered: {name}",
            "sth",
            {"sth": bad, "log_key": LOG_KEY_HEX},
            False,
            lambda s=bad: verify_sth(s, key),
        )
    add(
        "sth under another key",
        "sth",
        {"sth": sth, "log_key": other_key.hex()},
        False,
        lambda: verify_sth(sth, other_key),
    )

    # RFC 9162 inclusion and consistency proofs of the Python tree.
    tree: MerkleTree = world["tree"]
    for index in range(0, latest, 3):
        for size in (index + 1, latest):
            proof = tree.inclusion_proof(index, size)
            args = {
                "leaf_hash": tree.leaf_hash(index).hex(),
                "leaf_index": index,
                "tree_size": size,
                "inclusion": [h.hex() for h in proof],
                "root": tree.root(size).hex(),
            }
            add(
                f"inclusion {index}/{size}",
                "inclusion",
                args,
                True,
                lambda i=index, s=size, p=proof: verify_inclusion(tree.leaf_hash(i), i, s, p, tree.root(s)),
            )
            if size > 1:
                wrong = {**args, "leaf_index": (index + 1) % size}
                add(
                    f"inclusion wrong index {index}/{size}",
                    "inclusion",
                    wrong,
                    False,
                    lambda i=index, s=size, p=proof: verify_inclusion(
                        tree.leaf_hash(i), (i + 1) % s, s, p, tree.root(s)
                    ),
                )
    for first in range(0, latest + 1, 4):
        proof = tree.consistency_proof(first, latest)
        first_root = tree.root(first)
        args = {
            "first": first,
            "second": latest,
            "first_root": first_root.hex(),
            "second_root": tree.root().hex(),
            "consistency": [h.hex() for h in proof],
        }
        add(
            f"consistency {first}->{latest}",
            "consistency",
            args,
            True,
            lambda f=first, p=proof, r=first_root: verify_consistency(f, latest, r, tree.root(), p),
        )
        if proof:
            bad = {**args, "consistency": [h.hex() for h in proof[:-1]] + [_flip_hex(proof[-1].hex())]}
            add(
                f"consistency tampered {first}->{latest}",
                "consistency",
                bad,
                False,
                lambda f=first, p=bad["consistency"], r=first_root: verify_consistency(
                    f, latest, r, tree.root(), [bytes.fromhex(h) for h in p]
                ),
            )

    # §3 range proofs and §4.3 ballots of every Python ballot; §4.4 spoiled entries.
    for n, ballot in enumerate(world["ballots"]):
        vote: VoteDefinition = ballot["vote"]
        encrypted = ballot["encrypted"]
        entry = encrypted.entry
        ctx = ballot_context(MEETING_HASH, vote.hash, bytes.fromhex(entry["credential"]))
        common = {"public_key": JOINT_KEY.hex(), "ctx": ctx.hex()}
        for ci, contest in enumerate(entry["contests"]):
            for si, selection in enumerate(contest["selections"][:3]):
                args = {
                    **common,
                    "alpha": selection["alpha"],
                    "beta": selection["beta"],
                    "proof": selection["proof"],
                    "lo": 0,
                    "hi": 1,
                }
                add(f"range {n} c{ci} s{si}", "range", args, True, lambda a=args: _verify_range_py(a))
            definition = vote.contests[ci]
            total = sum(
                (
                    Ciphertext(Point.from_hex(s["alpha"]), Point.from_hex(s["beta"]))
                    for s in contest["selections"]
                ),
                Ciphertext.zero(),
            )
            args = {
                **common,
                "alpha": total.alpha.hex(),
                "beta": total.beta.hex(),
                "proof": contest["proof"],
                "lo": definition.min,
                "hi": definition.max,
            }
            add(f"range {n} contest {ci}", "range", args, True, lambda a=args: _verify_range_py(a))
        add(
            f"ballot {n}",
            "ballot",
            {
                "ballot": entry,
                "vote": vote.entry,
                "meeting_hash": MEETING_HASH.hex(),
                "public_key": JOINT_KEY.hex(),
            },
            True,
            lambda e=entry, v=vote: verify_ballot(e, v, MEETING_HASH, JOINT_KEY),
        )
        spoiled = encrypted.spoiled_entry()
        add(
            f"spoiled {n}",
            "spoiled",
            {
                "entry": spoiled,
                "vote": vote.entry,
                "meeting_hash": MEETING_HASH.hex(),
                "public_key": JOINT_KEY.hex(),
            },
            True,
            lambda s=spoiled, v=vote: verify_spoiled(s, v, MEETING_HASH, JOINT_KEY),
        )

    ballot = world["ballots"][0]
    vote = ballot["vote"]
    entry = ballot["encrypted"].entry
    selection = entry["contests"][0]["selections"][0]
    ctx = ballot_context(MEETING_HASH, vote.hash, bytes.fromhex(entry["credential"]))
    base = {
        "public_key": JOINT_KEY.hex(),
        "ctx": ctx.hex(),
        "alpha": selection["alpha"],
        "beta": selection["beta"],
        "proof": selection["proof"],
        "lo": 0,
        "hi": 1,
    }
    other_selection = entry["contests"][0]["selections"][1]
    for name, args in [
        (
            "c flipped",
            {**base, "proof": [[_flip_hex(base["proof"][0][0]), base["proof"][0][1]], base["proof"][1]]},
        ),
        (
            "v flipped",
            {**base, "proof": [base["proof"][0], [base["proof"][1][0], _flip_hex(base["proof"][1][1])]]},
        ),
        ("pairs swapped", {**base, "proof": base["proof"][::-1]}),
        ("alpha and beta swapped", {**base, "alpha": base["beta"], "beta": base["alpha"]}),
        ("another selection's proof", {**base, "proof": other_selection["proof"]}),
        ("another context", {**base, "ctx": hashlib.sha256(b"other").hexdigest()}),
        ("another key", {**base, "public_key": Point.base_mul(Scalar(7)).hex()}),
        ("range [1, 2]", {**base, "lo": 1, "hi": 2}),
        ("range [0, 2]", {**base, "lo": 0, "hi": 2}),
        ("scalar ≥ ℓ", {**base, "proof": [["ff" * 32, base["proof"][0][1]], base["proof"][1]]}),
        ("invalid alpha", {**base, "alpha": "01" + "00" * 31}),
    ]:
        add(f"range tampered: {name}", "range", args, False, lambda a=args: _verify_range_py(a))

    # Tampered ballots: Python re-signs where needed, so the failure is the one intended.
    signer = derive_private_key(CODES[0], MEETING_ID)

    def resign(ballot_entry: dict[str, Any]) -> dict[str, Any]:
        ballot_entry["signature"] = signer.sign(signature_message(ballot_hash(ballot_entry))).hex()
        return ballot_entry

    swapped = copy.deepcopy(entry)
    s0, s1 = swapped["contests"][0]["selections"][0], swapped["contests"][0]["selections"][1]
    s0["proof"], s1["proof"] = s1["proof"], s0["proof"]
    contest_proof = copy.deepcopy(entry)
    contest_proof["contests"][0]["proof"][0][1] = _flip_hex(contest_proof["contests"][0]["proof"][0][1])
    bad_point = copy.deepcopy(entry)
    bad_point["contests"][0]["selections"][2]["beta"] = "ed" + "ff" * 30 + "7f"
    wrong_option = copy.deepcopy(entry)
    wrong_option["contests"][0]["selections"][0]["option"] = "nope"
    extra_key = copy.deepcopy(entry)
    extra_key["contests"][0]["selections"][0]["extra"] = 1
    short_proof = copy.deepcopy(entry)
    short_proof["contests"][0]["proof"] = (
        short_proof["contests"][0]["proof"][:-1] or [["00" * 32, "00" * 32]] * 2
    )
    for name, bad in [
        ("signature flipped", {**entry, "signature": _flip_hex(entry["signature"], 3)}),
        ("credential changed", {**entry, "credential": _flip_hex(entry["credential"])}),
        ("selection proofs swapped", resign(swapped)),
        ("contest proof flipped", resign(contest_proof)),
        ("invalid point", resign(bad_point)),
        ("wrong option id", resign(wrong_option)),
        ("extra selection key", resign(extra_key)),
        ("short contest proof", resign(short_proof)),
        ("type spoiled", resign({**copy.deepcopy(entry), "type": "spoiled"})),
    ]:
        add(
            f"ballot tampered: {name}",
            "ballot",
            {
                "ballot": bad,
                "vote": vote.entry,
                "meeting_hash": MEETING_HASH.hex(),
                "public_key": JOINT_KEY.hex(),
            },
            False,
            lambda b=bad: verify_ballot(b, vote, MEETING_HASH, JOINT_KEY),
        )
    add(
        "ballot for another meeting",
        "ballot",
        {
            "ballot": entry,
            "vote": vote.entry,
            "meeting_hash": hashlib.sha256(b"x").hexdigest(),
            "public_key": JOINT_KEY.hex(),
        },
        False,
        lambda: verify_ballot(entry, vote, hashlib.sha256(b"x").digest(), JOINT_KEY),
    )

    spoiled = ballot["encrypted"].spoiled_entry()
    flipped_m = copy.deepcopy(spoiled)
    flipped_m["openings"][0][2] = 1 - flipped_m["openings"][0][2]
    wrong_r = copy.deepcopy(spoiled)
    wrong_r["openings"][1][3] = spoiled["openings"][0][3]
    reordered = copy.deepcopy(spoiled)
    reordered["openings"][0], reordered["openings"][1] = reordered["openings"][1], reordered["openings"][0]
    for name, bad in [
        ("m flipped", flipped_m),
        ("r of another selection", wrong_r),
        ("openings reordered", reordered),
        ("openings missing", {**spoiled, "openings": spoiled["openings"][:-1]}),
    ]:
        add(
            f"spoiled tampered: {name}",
            "spoiled",
            {
                "entry": bad,
                "vote": vote.entry,
                "meeting_hash": MEETING_HASH.hex(),
                "public_key": JOINT_KEY.hex(),
            },
            False,
            lambda s=bad: verify_spoiled(s, vote, MEETING_HASH, JOINT_KEY),
        )
    return cases


def _verify_range_py(args: dict[str, Any]) -> None:
    ct = Ciphertext(Point.from_hex(args["alpha"], where="alpha"), Point.from_hex(args["beta"], where="beta"))
    proof = parse_pairs(args["proof"], where="proof")
    verify_range(
        ct, proof, args["lo"], args["hi"], Point.from_hex(args["public_key"]), bytes.fromhex(args["ctx"])
    )


def test_js_verifies_python_artifacts(python_world: dict[str, Any]) -> None:
    cases = _cases(python_world)
    results = run_node(
        "verify_cases.mjs", {"cases": [{"name": c["name"], "op": c["op"], "args": c["args"]} for c in cases]}
    )["results"]
    assert len(results) == len(cases)
    problems = []
    counts = {True: 0, False: 0}
    for case, result in zip(cases, results):
        python = case["python"]
        counts[case["intended"]] += 1
        if python["ok"] != case["intended"]:
            problems.append(f"{case['name']}: Python says {python} (test case is wrong)")
            continue
        if result["ok"] != python["ok"]:
            problems.append(
                f"{case['name']}: JS ok={result['ok']} ({result.get('error_message')}), Python {python}"
            )
            continue
        if not python["ok"]:
            if result["where"] != python["where"]:
                problems.append(
                    f"{case['name']}: JS where={result['where']!r} ({result['error_message']}), "
                    f"Python where={python['where']!r} ({python['message']})"
                )
            if result["error_message"] != python["message"]:
                problems.append(
                    f"{case['name']}: JS message {result['error_message']!r}, Python {python['message']!r}"
                )
            if case["op"] in ("ballot", "spoiled") and result["code"] != python["code"]:
                problems.append(f"{case['name']}: JS code={result['code']}, Python code={python['code']}")
    assert not problems, "\n".join(problems)
    assert counts[True] > 50 and counts[False] > 40, counts


def test_js_rejects_log_errors_with_typed_errors(python_world: dict[str, Any]) -> None:
    """Failures surface as the typed errors (ReceiptError, LogError, ProofError, BallotError)."""
    cases = [c for c in _cases(python_world) if not c["intended"]]
    results = run_node(
        "verify_cases.mjs", {"cases": [{"name": c["name"], "op": c["op"], "args": c["args"]} for c in cases]}
    )["results"]
    expected = {
        "receipt": "ReceiptError",
        "sth": "LogError",
        "inclusion": "LogError",
        "consistency": "LogError",
        "ballot": "BallotError",
        "spoiled": "BallotError",
    }
    for case, result in zip(cases, results):
        if case["op"] == "range":
            assert result["error_name"] in ("ProofError", "InvalidPoint", "InvalidScalar"), (
                case["name"],
                result,
            )
        else:
            assert result["error_name"] == expected[case["op"]], (case["name"], result)
        assert result["error_message"], case["name"]


# ------------------------------------------------------------------------------------ vectors


def _load_vector_builder() -> Any:
    spec = importlib.util.spec_from_file_location("make_js_vectors", VECTORS / "make_js_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_current_in_python() -> None:
    builder = _load_vector_builder()
    built = builder.build()
    assert sorted(built) == sorted(p.name for p in VECTORS.glob("js_*.json"))
    for name, data in built.items():
        assert (VECTORS / name).read_text(encoding="utf-8") == builder.dump(data), (
            f"{name} is stale: run .venv/bin/python tests/vectors/make_js_vectors.py"
        )


def test_vectors_hold_in_python() -> None:
    """The committed vectors, recomputed by the Python core from their inputs."""
    from ballot.ballot import format_tracker, parse_tracker, tracker_code
    from ballot.hashing import h256, hq
    from keys.credentials import (
        card_qr_payload,
        check_meeting_id,
        derive_seed,
        normalize_code,
        parse_card_qr,
        sign_checkin,
    )

    canonical = json.loads((VECTORS / "js_canonical_json.json").read_text(encoding="utf-8"))
    for doc in canonical["documents"]:
        assert canonical_json(doc["document"]).decode("utf-8") == doc["canonical"], doc["name"]
    for bad in canonical["rejected"]:
        with pytest.raises((PiaojueError, UnicodeEncodeError)):
            canonical_json(json.loads(bad["json"]))

    hashes = json.loads((VECTORS / "js_hashes.json").read_text(encoding="utf-8"))

    def decode(x: dict[str, Any]) -> Any:
        kind, value = next(iter(x.items()))
        return {
            "point": Point.from_hex,
            "scalar": Scalar.from_hex,
            "bytes": bytes.fromhex,
            "text": str,
            "int": int,
        }[kind](value)

    for case in hashes["hashes"]:
        inputs = [decode(x) for x in case["inputs"]]
        assert h256(case["tag"], *inputs).hex() == case["h256"]
        assert hq(case["tag"], *inputs).hex() == case["hq"]

    creds = json.loads((VECTORS / "js_credentials.json").read_text(encoding="utf-8"))
    for d in creds["derivations"]:
        key = derive_private_key(d["input"], d["meeting_id"])
        assert derive_seed(d["input"], d["meeting_id"]).hex() == d["seed"]
        assert public_key_hex(key) == d["public_key"]
        assert sign_checkin(key, bytes.fromhex(d["meeting_hash"]), d["seat"]) == d["checkin_signature"]
        assert card_qr_payload(d["meeting_id"], d["input"]) == d["qr_payload"]
    for c in creds["normalize_errors"]:
        with pytest.raises(PiaojueError) as info:
            normalize_code(c["input"])
        assert str(info.value) == c["error"]
    for c in creds["meeting_id_errors"]:
        with pytest.raises(PiaojueError) as info:
            check_meeting_id(c["meeting_id"])
        assert str(info.value) == c["error"]
    for c in creds["card_qr"]:
        if "error" in c:
            with pytest.raises(PiaojueError):
                parse_card_qr(c["payload"])
        else:
            assert parse_card_qr(c["payload"]) == (c["meeting_id"], c["code"])

    trackers = json.loads((VECTORS / "js_trackers.json").read_text(encoding="utf-8"))
    for t in trackers["trackers"]:
        assert format_tracker(tracker_code(bytes.fromhex(t["ballot_hash"]))) == t["display"]
    for p in trackers["parse"]:
        if "code" in p:
            assert parse_tracker(p["input"]) == p["code"]


def test_vectors_hold_in_js() -> None:
    report = run_node("check_vectors.mjs", None, str(VECTORS))
    assert report["failures"] == [], "\n".join(report["failures"])
    assert report["checks"] > 250


# ------------------------------------------------------------------------------------- timing


def test_node_timing_13_and_23_projects(capsys: pytest.CaptureFixture[str]) -> None:
    """Reports encryption times of the 13- and 23-project ballots under node (not asserted);
    the ballots it produced must verify in Python."""
    votes = [
        templates.selection("t13", "2027年民生实事项目票决", demo_data.projects(13), 10),
        templates.selection("t23", "2027年民生实事项目票决", demo_data.projects(23), 20),
    ]
    report = run_node(
        "timing.mjs", {"votes": votes, "meeting_hash": MEETING_HASH.hex(), "public_key": JOINT_KEY.hex()}, "3"
    )
    for vote, result in zip(votes, report["results"]):
        verify_ballot(result["entry"], parse_vote(vote), MEETING_HASH, JOINT_KEY)
    with capsys.disabled():
        for result in report["results"]:
            print(
                f"\n[node {report['node']}] {result['options']}-option ballot (max {result['max']}): "
                f"encrypt median {result['encrypt_ms']['median']} ms (min {result['encrypt_ms']['min']}, "
                f"first {result['first_ms']}), JS verify {result['verify_ms']} ms; "
                f"K precompute {report['precompute_ms']} ms",
                end="",
            )


# ------------------------------------------------------------------------- canonical JSON fuzz


def _random_text(rng: random.Random, length: int) -> str:
    pools = [
        (0x00, 0x20),
        (0x20, 0x7F),
        (0x7F, 0xA1),
        (0x2028, 0x202A),
        (0x4E00, 0x4E40),
        (0xFF00, 0xFF10),
        (0xE000, 0xE004),
        (0xFFF0, 0x10000),
        (0x1F600, 0x1F610),
        (0x20000, 0x20004),
        (0x10FFF0, 0x110000),
    ]
    chars = []
    for _ in range(length):
        lo, hi = rng.choice(pools)
        chars.append(chr(rng.randrange(lo, hi)))
    return "".join(chars) + rng.choice(['"', "\\", "", "/"])


def _random_document(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth >= 3 or roll < 0.45:
        return rng.choice(
            [
                None,
                True,
                False,
                rng.randrange(-(2**53) + 1, 2**53),
                rng.randrange(-1000, 1000),
                _random_text(rng, rng.randrange(0, 8)),
            ]
        )
    if roll < 0.7:
        return [_random_document(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    return {
        _random_text(rng, rng.randrange(0, 4)): _random_document(rng, depth + 1)
        for _ in range(rng.randrange(0, 6))
    }


def test_canonical_json_of_random_documents_matches_python() -> None:
    rng = random.Random(20270301)
    documents = [_random_document(rng) for _ in range(400)]
    got = run_node("canonical.mjs", {"documents": documents})["canonical"]
    for doc, text in zip(documents, got):
        assert text == canonical_json(doc).decode("utf-8"), doc


# -------------------------------------------------------------------------------- the facade

FACADE = {
    "deriveCredential",
    "signCheckin",
    "checkinBody",
    "encryptBallot",
    "spoiledBody",
    "verifyReceipt",
    "verifySth",
    "verifyInclusion",
    "verifyConsistency",
    "verifyBallot",
    "verifySpoiled",
    "trackerOf",
    "parseTracker",
    "normalizeCode",
    "formatCode",
    "parseCardQr",
    "cardQrPayload",
    "checkChoices",
    "prepareJointKey",
    "canonicalJson",
    "ballotHashHex",
    "voteHashHex",
    "entryLeafHashHex",
    "PiaojueError",
    "EncodingError",
    "InvalidPoint",
    "InvalidScalar",
    "BallotError",
    "ChoiceError",
    "CredentialError",
    "LogError",
    "ProofError",
    "ReceiptError",
    "VoteDefinitionError",
}


def test_facade_exports_and_throws_typed_errors() -> None:
    report = run_node("facade.mjs")
    assert FACADE <= set(report["exports"]), FACADE - set(report["exports"])
    for result in report["results"]:
        assert result["ok"] is False, (
            f"{result['name']} returned {result.get('returned')!r} instead of throwing"
        )
        assert result["typed"] is True, f"{result['name']} threw an untyped {result['error_name']}: {result}"
        assert result["error_message"], result
    happy = report["happy"]
    assert happy["tracker"] == happy["tracker_of"]
    assert happy["ballot_hash"] == happy["ballot_hash_again"]
    assert happy["spoiled_keys"] == ["ballot", "openings", "vote_id"]
    assert happy["normalized"] == "ABCDE23456FGHIJ7KLMN"
    assert happy["card"] == {"meetingId": "m1", "code": "ABCDE23456FGHIJ7KLMN"}
    q = bytes.fromhex("ab" * 32)
    key = derive_private_key("ABCDE23456FGHIJ7KLMN", "m1")
    assert happy["checkin"] == {
        "credential": public_key_hex(key),
        "seat": "A001",
        "signature": sign_checkin(key, q, "A001"),
    }
    assert happy["checkin_signature"] == happy["checkin"]["signature"]
