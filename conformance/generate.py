"""Generate the piaojue/1 conformance vectors: ``python -m conformance.generate`` (from the
repository root; about a minute).

It runs one small seeded simulation (:func:`piaojue_tools.simulate.simulate`: 6 deputies, 3 trustees
with threshold 2, six short votes), then writes every vector of ``conformance/manifest.json``:
valid records, and invalid records each forged the way a tally service holding the log key would
forge them (:mod:`conformance.forgery`: edited, recounted with honest decryption, re-signed), so
that one rule of docs/protocol.md §8.1 is broken. Before writing the manifest it reads every
vector back from disk and checks it with the reference verifier (:func:`ballot.audit.verify_record`,
:func:`ballot.audit.check_receipt`); a vector that does not fail as labelled stops the run.

Who votes and how is drawn from the seed, so the entry indexes in the manifest are the same on
every run; the cryptographic randomness (keys, nonces, proofs) cannot be seeded, so every run
writes different bytes. The vectors are therefore generated once and committed: regenerate only
when the protocol changes, and commit the whole folder at once. ``--out DIR`` writes elsewhere
(for a look at the result without touching the committed files).

Long: one forgery per invalid vector, in the order of the manifest, each beside its label.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import shutil
import sys
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import ballot.encrypt as encrypt_module
from ballot import templates
from ballot.audit import CHECKS, check_receipt, verify_record
from ballot.ballot import ballot_hash, format_tracker, signature_message, tracker_code
from ballot.encrypt import encrypt_ballot
from ballot.errors import RecordError
from ballot.group import Point, Scalar
from ballot.hashing import canonical_json, parse_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.receipt import make_receipt
from ballot.record import read_record
from ballot.rules import compute_outcome
from conformance.forgery import index_of, public_hex, retally
from keys.decrypt import partial_decrypt
from piaojue_tools import demo_data
from piaojue_tools.simulate import SimulationResult, simulate

HERE = Path(__file__).resolve().parent
SEED = 7
DEPUTIES = 6
T0 = 1_796_534_400_000
"""The first STH timestamp of every vector (2026-12-06T00:00:00Z in milliseconds)."""
COUNTING = {"shares", "tallies", "decryption", "outcomes"}

# Torsion points of Ed25519 (canonical encodings): the identity, the point of order 2 (0, −1),
# and a point of order 8 (from libsodium's small-order blocklist).
IDENTITY = bytes([1]) + bytes(31)
ORDER_2 = (2**255 - 20).to_bytes(32, "little")
ORDER_8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")


def agenda() -> list[dict[str, Any]]:
    """Six short votes: every kind and counting rule, a constraint, a recast vote, and a
    two-thirds vote on base ``cast`` (for the §9 base-0 rule)."""
    projects = [
        {"id": f"p{i}", "label": label, "budget_cny": budget}
        for i, (label, budget) in enumerate([("背街小巷改造", 120_000_000), ("老旧小区加装电梯", 60_000_000),
                                             ("社区养老服务中心", 48_000_000)], start=1)
    ]
    v3 = templates.selection("v3", "民生实事项目票决", projects, 2)
    v3["constraints"] = [{"id": "k1", "members": [["projects", "p1"], ["projects", "p2"], ["projects", "p3"]],
                          "min": 0, "max": 2}]
    v3["note"] = "display fields on the vote, its contests and options are allowed (§4.1)"
    return [
        templates.resolution("v1", "关于本市国民经济和社会发展计划的决议"),
        templates.appointment("v2", "人事任免案", demo_data.NOMINEES[:2]),
        v3,
        templates.election("v4", "补选常委会委员", [{"id": c["id"], "label": c["label"]} for c in demo_data.CANDIDATES[:2]], 1),
        templates.evaluation("v5", "部门工作满意度测评", demo_data.DEPARTMENTS[:1], recast=True),
        templates.resolution("v6", "关于修改议事规则的决定", threshold="two_thirds", base="cast"),
    ]


# ----------------------------------------------------------------------------- records


@dataclass
class Vector:
    id: str
    result: str
    check: str | None
    rule: str
    entry: int | None
    comment: str
    files: dict[str, bytes] | list[tuple[str, bytes]]
    """A directory's files by name, or a zip's members in order (a list: names may repeat)."""
    zip: bool = False
    receipt: Any = None
    passes: list[str] = field(default_factory=list)
    """Checks that must pass although the record is invalid (optional, informative)."""


class Forge:
    """The simulation and the tools to edit, recount and re-sign its log."""

    def __init__(self, sim: SimulationResult) -> None:
        self.sim = sim
        self.entries = sim.log.entries
        self.keys = {public_hex(k): k for k in sim.deputy_keys}
        self.votes = {v.vote_id: v for v in sim.votes}

    # entries ---------------------------------------------------------------

    def only(self, *vote_ids: str, entries: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The log with the entries of every other vote left out (a smaller, still valid record)."""
        return [
            copy.deepcopy(e) for e in (self.entries if entries is None else entries)
            if "vote_id" not in e or e["vote_id"] in vote_ids
        ]

    def ballots(self, entries: list[dict[str, Any]], vote_id: str) -> list[int]:
        return [i for i, e in enumerate(entries) if e["type"] == "ballot" and e["vote_id"] == vote_id]

    def retally(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return retally(self.sim, entries)

    def encrypt(self, vote_id: str, credential: Ed25519PrivateKey, choices: dict[str, list[str]] | None = None):
        vote = self.votes[vote_id]
        if choices is None:
            choices = {c.id: list(c.options[: max(1, c.min)]) for c in vote.contests}
        return encrypt_ballot(vote, self.sim.meeting.hash, self.sim.meeting.public_key, credential, choices)

    def resign(self, ballot: dict[str, Any]) -> dict[str, Any]:
        """``ballot`` signed again by its credential (as the deputy's tablet would sign an edit)."""
        ballot = {k: v for k, v in ballot.items() if k != "signature"}
        ballot["signature"] = self.keys[ballot["credential"]].sign(signature_message(ballot_hash(ballot))).hex()
        return ballot

    def reoutcome(self, entries: list[dict[str, Any]], at: int) -> None:
        """Recompute the outcome of the result at ``at`` from its (possibly forged) counts."""
        result = entries[at]
        vote = self.votes[result["vote_id"]]
        opened = entries[index_of(entries, "open", result["vote_id"])]
        result["outcome"] = compute_outcome(
            vote.rule, vote.entry, {(t["contest"], t["option"]): t["count"] for t in result["tallies"]},
            members=self.sim.meeting.members, present=opened["present"], counted=result["counted"],
            quorum=self.sim.meeting.quorum,
        )

    def share(self, entries: list[dict[str, Any]], vote_id: str, trustee: int) -> dict[str, Any]:
        """Trustee ``trustee``'s honest share entry for the aggregates in the vote's result."""
        result = entries[index_of(entries, "result", vote_id)]
        aggregates = [(t["contest"], t["option"], _ciphertext(t)) for t in result["tallies"]]
        vote = self.votes[vote_id]
        return partial_decrypt(self.sim.trustee_states[trustee - 1], self.sim.meeting.hash, vote.hash, vote_id, aggregates)

    # files -----------------------------------------------------------------

    def lines(self, entries: list[dict[str, Any]]) -> list[bytes]:
        return [canonical_json(e) for e in entries]

    def heads(self, lines: list[bytes], sizes: list[int] | None = None, key: Ed25519PrivateKey | None = None):
        """STHs over prefixes of ``lines`` (by default after the setup entries, and the whole
        log), one second apart; the last one covers the whole log."""
        tree = MerkleTree()
        tree.extend(leaf_hash(line) for line in lines)
        if sizes is None:
            setup = next((i for i, line in enumerate(lines) if b'"type":"open"' in line), len(lines))
            sizes = sorted({setup, len(lines)})
        return [sign_sth(key or self.sim.log.log_key, n, tree.root(n), T0 + 1000 * i) for i, n in enumerate(sizes)]

    def files(
        self,
        entries: list[dict[str, Any]] | None = None,
        *,
        lines: list[bytes] | None = None,
        sths: list[dict[str, Any]] | None = None,
        sth: dict[str, Any] | None = None,
        history: bool = True,
    ) -> dict[str, bytes]:
        """A record's files: ``log.jsonl``, ``sth.json`` (indented, as the reference writes it)
        and ``sths.jsonl``."""
        if lines is None:
            lines = self.lines(entries if entries is not None else self.entries)
        if sths is None:
            sths = self.heads(lines)
        out = {"log.jsonl": b"".join(line + b"\n" for line in lines)}
        out["sth.json"] = json.dumps(sth or sths[-1], indent=2).encode() + b"\n"
        if history:
            out["sths.jsonl"] = b"".join(canonical_json(h) + b"\n" for h in sths)
        return out


def _torsion_sum(point: bytes, torsion: bytes) -> bytes:
    import ctypes

    import pysodium

    out = ctypes.create_string_buffer(32)
    assert pysodium.sodium.crypto_core_ed25519_add(out, point, torsion) == 0
    return out.raw


def _new_public() -> bytes:
    return Ed25519PrivateKey.generate().public_key().public_bytes_raw()


def _small_order_keys() -> list[tuple[str, bytes, str]]:
    order_2l = _torsion_sum(_new_public(), ORDER_2)
    return [
        ("identity", IDENTITY, "the identity point (order 1)"),
        ("order-8", ORDER_8, "a point of order 8"),
        ("order-2l", order_2l, ("a prime-order point plus the point of order 2: order 2ℓ, which a test of "
                               "'ℓ·P has x = 0' alone would admit")),
    ]


def _zero_nonce_ballot(forge: Forge, vote_id: str, key: Ed25519PrivateKey):
    """A ballot whose first selection is encrypted with nonce 0 (α = identity), every proof valid."""
    # ballot.encrypt imports elgamal.encrypt without re-exporting it (no __all__, strict mypy): the
    # patch replaces that module-level binding, which no type annotation can declare as exported.
    original = encrypt_module.encrypt  # type: ignore[attr-defined]
    calls = [0]

    def first_with_zero_nonce(m, public_key, nonce=None):
        calls[0] += 1
        return original(m, public_key, Scalar.reduce(0) if calls[0] == 1 else nonce)

    encrypt_module.encrypt = first_with_zero_nonce  # type: ignore[attr-defined]  # as above
    try:
        return forge.encrypt(vote_id, key)
    finally:
        encrypt_module.encrypt = original  # type: ignore[attr-defined]  # as above


# ----------------------------------------------------------------------------- the vectors


def build(forge: Forge) -> list[Vector]:  # one flat list of vectors, in manifest order
    sim = forge.sim
    out: list[Vector] = []
    E = forge.entries

    def valid(vid: str, rule: str, comment: str, files, *, zip_: bool = False, receipt: Any = None):
        out.append(Vector(vid, "valid", None, rule, None, comment, files, zip_, receipt))

    def invalid(vid: str, check: str, rule: str, entry: int | None, comment: str, files, *, zip_: bool = False,
                receipt: Any = None, passes: list[str] | None = None):
        out.append(Vector(vid, "invalid", check, rule, entry, comment, files, zip_, receipt, passes or []))

    # -------------------------------------------------------------- valid records
    full = forge.files(E)
    valid("valid/full", "§8.1", "the whole simulated meeting: 6 votes of every kind and rule, a Benaloh challenge "
          "(spoiled entry) in v1, a recast in v5, a constraint in v3, display fields; sths.jsonl with 2 heads", full)
    valid("valid/full-zip", "§8 Election record", "valid/full as a zip with the files at its root", full, zip_=True)
    valid("valid/zip-in-folder", "§8 Election record rule 1",
          "a zip of a record folder (members record/log.jsonl, …) with other members that are ignored: "
          "record/old-log.jsonl, record/README.txt, and a directory entry",
          [("record/", b""), ("record/README.txt", "选举记录\n".encode()), ("record/old-log.jsonl", b"{}\n"),
           *((f"record/{k}", v) for k, v in full.items())], zip_=True)
    valid("valid/extra-files", "§8 Election record rule 1",
          "a directory with other files beside the record's, which are ignored (old-log.jsonl, notes.txt)",
          {**forge.files(forge.only("v4")), "old-log.jsonl": b"not json\n", "notes.txt": b"ignored\n"})
    small = forge.only("v4")
    small_files = forge.files(small)
    valid("valid/no-sths", "§8 Election record", "no sths.jsonl (it is optional)", forge.files(small, history=False))
    valid("valid/empty-sths", "§8.1 V5", "an empty sths.jsonl: no tree heads besides sth.json",
          {**small_files, "sths.jsonl": b""})
    compact = dict(small_files)
    compact["sth.json"] = canonical_json(json.loads(small_files["sth.json"]))  # no trailing newline either
    valid("valid/sth-compact", "§8 Election record", "sth.json in compact form without a final newline: any "
          "layout of a JSON document is accepted there", compact)
    valid("valid/recast", "§8.1 V19, §5", "v5 allows recasting: the first voter's second ballot replaces the first",
          forge.files(forge.only("v5")))
    nothing = forge.retally([e for e in forge.only("v5", "v6") if e["type"] != "ballot"])
    assert nothing[index_of(nothing, "result", "v6")]["outcome"]["items"][0]["passed"] is False
    valid("valid/nothing-counted", "§9 base 0, §8 Result entry",
          "v5 (rating, base cast) and v6 (two thirds of cast) with no ballot: aggregates (identity, identity), "
          "counts 0, grade null, nothing passes on base 0 (rev 2)", forge.files(nothing))
    zero = forge.only("v6")
    zero = [e for e in zero if e["type"] != "ballot"]
    zero[index_of(zero, "open", "v6")]["present"] = 0
    valid("valid/present-zero", "§8.1 V15, §9", "v6 opened with present 0 and no ballot: quorum not met",
          forge.files(forge.retally(zero)))
    pending = [e for e in forge.only("v1", "v2") if not (e.get("vote_id") == "v2" and e["type"] in ("close", "share", "result"))]
    pending = [e for e in pending if not (e.get("vote_id") == "v1" and e["type"] in ("share", "result"))]
    valid("valid/open-and-closed-without-result", "§8.1 (end)", "the record ends with v1 closed without a result "
          "and v2 still open: not a failure", forge.files(pending))
    notes = forge.only("v4")
    nested: Any = "deep"
    for _ in range(31):
        nested = [nested]
    notes.insert(1, {"type": "note", "text": "不认识的类型", "depth": nested})  # the entry is level 1: 32 levels
    notes.append({"type": "x-witness", "n": 2**53 - 1, "neg": -(2**53 - 1), "s": "\u2028\u007f/😀"})
    valid("valid/unknown-types", "§8.1 V39, §1 rule 14",
          "entries of unknown types (after the meeting entry and at the end) are skipped; one nests exactly 32 "
          "levels deep, one holds ±(2^53 − 1) and characters written unescaped", forge.files(notes))
    times = forge.only("v1", "v4")
    times[index_of(times, "open", "v1")]["at"] = "2028-02-29T23:59:59.123456789Z"
    times[index_of(times, "close", "v1")]["at"] = "2028-02-29T23:59:59.123456789Z"
    times[index_of(times, "open", "v4")]["at"] = "2028-03-01T00:00:00Z"
    times[index_of(times, "close", "v4")]["at"] = "2028-03-01T00:00:00.000Z"
    valid("valid/times", "§7 Times, §8.1 V26", "a leap day, nine fraction digits, and closes at the same instant "
          "as their opens (…:00Z and …:00.000Z are one instant)", forge.files(times))
    extra = forge.only("v2")
    result_at = index_of(extra, "result", "v2")
    used = extra[result_at]["trustees"]
    spare = next(t for t in (1, 2, 3) if t not in used)
    extra.insert(result_at, forge.share(extra, "v2", spare))
    valid("valid/extra-share", "§8.1 V29, V34", f"all three trustees post shares; the result combines {used}",
          forge.files(extra))
    both = forge.only("v4")
    gone = public_hex(Ed25519PrivateKey.generate())
    both.insert(2, {"type": "credentials", "add": [gone], "revoke": [gone]})
    both.insert(3, {"type": "credentials", "add": [], "revoke": []})
    valid("valid/add-and-revoke", "§8.1 V11", "a credentials entry that adds a key and revokes it at once "
          "(add takes effect first), and an empty credentials entry", forge.files(both))
    late = forge.only("v1")
    newcomer = Ed25519PrivateKey.generate()
    forge.keys[public_hex(newcomer)] = newcomer
    late.insert(index_of(late, "open", "v1") + 1, {"type": "credentials", "add": [public_hex(newcomer)], "revoke": []})
    late.insert(index_of(late, "close", "v1"), forge.encrypt("v1", newcomer).spoiled_entry())
    valid("valid/late-credential-challenges", "§8.1 V23", "a credential registered after v1's open may challenge "
          "(spoil) a ballot in v1: a spoiled entry needs a credential active where it stands, not at the open",
          forge.files(late))

    twice = forge.only("v1")
    at = index_of(twice, "spoiled", "v1")
    twice.insert(at + 1, copy.deepcopy(twice[at]))
    valid("valid/spoiled-twice", "§4.4 rule 5", "the same ballot challenged twice (allowed: it reveals nothing new)",
          forge.files(twice))
    v4_only = forge.only("v4")
    v4_lines = forge.lines(v4_only)
    heads = forge.heads(v4_lines, [0, 1, 1, 3, len(v4_lines)])
    heads[2] = heads[1]  # the same head twice: sizes and timestamps never decrease
    valid("valid/sths-from-zero", "§8.1 V5", "sths.jsonl from the empty tree (size 0) on, with one head listed twice",
          forge.files(lines=v4_lines, sths=heads))

    # -------------------------------------------------------------- receipts (against valid/full)
    tree = MerkleTree()
    tree.extend(leaf_hash(line) for line in forge.lines(E))
    heads = forge.heads(forge.lines(E))
    at = forge.ballots(E, "v3")[1]

    def receipt(index: int, head: dict[str, Any]) -> dict[str, Any]:
        digest = ballot_hash(E[index])
        return make_receipt(sim.meeting.meeting_id, E[index]["vote_id"], digest, format_tracker(tracker_code(digest)),
                            index, head, tree.inclusion_proof(index, head["tree_size"]))

    good = receipt(at, heads[-1])
    valid("receipt/valid", "§8 Receipt", "a receipt for a v3 ballot under the latest tree head", full, receipt=good)
    first = forge.ballots(E, "v1")[0]
    early = sign_sth(sim.log.log_key, first + 1, tree.root(first + 1), T0 + 500)
    valid("receipt/valid-earlier-head", "§8 Receipt item 6", "a receipt under an earlier tree head that ends at "
          "the ballot itself (a prefix of the record)", full, receipt=receipt(first, early))

    def bad_receipt(vid: str, comment: str, edit: Callable[[dict[str, Any]], None], item: str) -> None:
        r = copy.deepcopy(good)
        edit(r)
        invalid(f"receipt/{vid}", "receipt", f"§8 Receipt item {item}", None, comment, full, receipt=r)

    bad_receipt("tracker", "the tracker of another ballot", lambda r: r.update(
        tracker=format_tracker(tracker_code(ballot_hash(E[at + 1])))), "3")
    bad_receipt("ballot-hash", "ballot_hash of another ballot", lambda r: r.update(ballot_hash=ballot_hash(E[at + 1]).hex()), "3")
    bad_receipt("leaf-index", "leaf_index of the next entry", lambda r: r.update(leaf_index=at + 1), "5")
    bad_receipt("leaf-index-beyond", "leaf_index beyond the log", lambda r: r.update(leaf_index=len(E) + 3), "5")
    bad_receipt("inclusion", "one inclusion hash changed", lambda r: r["inclusion"].__setitem__(0, "00" * 32), "5")
    bad_receipt("inclusion-short", "the inclusion proof without its last hash", lambda r: r["inclusion"].pop(), "5")
    other = Ed25519PrivateKey.generate()
    bad_receipt("sth-signature", "the tree head signed by another key",
                lambda r: r.update(sth=sign_sth(other, len(E), tree.root(len(E)), T0 + 1000)), "4")
    forked = MerkleTree()
    forked.extend([*tree.leaf_hashes(0, len(E) - 1), b"\x00" * 32])
    fork_receipt = dict(good, sth=sign_sth(sim.log.log_key, len(E), forked.root(len(E)), T0 + 2000),
                        inclusion=[h.hex() for h in forked.inclusion_proof(at, len(E))])
    invalid("receipt/fork", "receipt", "§8 Receipt item 6", None, "a tree head validly signed by the log key whose "
            "root is not the record's (a fork): the inclusion proof holds in that tree, not in the record", full,
            receipt=fork_receipt)
    bad_receipt("meeting-id", "another meeting's id", lambda r: r.update(meeting_id="sim-other"), "2")
    bad_receipt("vote-id", "another vote's id", lambda r: r.update(vote_id="v4"), "2")
    bad_receipt("extra-field", "an extra field", lambda r: r.update(note="x"), "1")
    bad_receipt("leaf-index-string", "leaf_index as a string", lambda r: r.update(leaf_index=str(at)), "1")
    invalid("receipt/not-a-ballot", "receipt", "§8 Receipt item 2", None, "a receipt for the v3 result entry",
            full, receipt=dict(good, leaf_index=index_of(E, "result", "v3")))

    # -------------------------------------------------------------- record_format (container, lines)
    base = forge.only("v4")
    # The meeting, credentials and v4's definition: enough for the container, line, meeting, credentials rules.
    setup = [e for e in base if "vote_id" not in e or e["type"] == "vote"]
    bf = forge.files(setup)
    log = bf["log.jsonl"]
    invalid("record_format/log-no-final-newline", "record_format", "§8.1 V1, §8 Election record rule 2", None,
            "log.jsonl does not end with \\n (the reference cannot read the record: exit 2)", {**bf, "log.jsonl": log[:-1]})
    invalid("record_format/no-log", "record_format", "§8.1 V1, §8 Election record rule 1", None,
            "no log.jsonl, only old-log.jsonl (a member is found by its exact name)",
            {"old-log.jsonl": log, "sth.json": bf["sth.json"]})
    invalid("record_format/no-sth", "record_format", "§8.1 V1, §8 Election record rule 1", None, "no sth.json",
            {"log.jsonl": log, "sths.jsonl": bf["sths.jsonl"]})
    invalid("record_format/zip-duplicate-log", "record_format", "§8.1 V1, §8 Election record rule 1", None,
            "a zip holding log.jsonl twice", [("log.jsonl", log), ("sth.json", bf["sth.json"]), ("log.jsonl", log)], zip_=True)
    invalid("record_format/zip-same-base-name", "record_format", "§8.1 V1, §8 Election record rule 1", None,
            "a zip holding a/log.jsonl and b/log.jsonl: members are found by their base name, so twice",
            [("a/log.jsonl", log), ("a/sth.json", bf["sth.json"]), ("b/log.jsonl", log)], zip_=True)
    invalid("record_format/zip-duplicate-sths", "record_format", "§8.1 V1, §8 Election record rule 1", None,
            "a zip holding sths.jsonl twice", [("log.jsonl", log), ("sth.json", bf["sth.json"]),
                                               ("sths.jsonl", bf["sths.jsonl"]), ("x/sths.jsonl", bf["sths.jsonl"])], zip_=True)
    invalid("record_format/zip-old-log-only", "record_format", "§8.1 V1, §8 Election record rule 1", None,
            "a zip whose only log is old-log.jsonl", [("old-log.jsonl", log), ("sth.json", bf["sth.json"])], zip_=True)
    invalid("record_format/sth-not-object", "record_format", "§8.1 V1, V4", None, "sth.json holds a JSON array",
            {**bf, "sth.json": b"[" + bf["sth.json"] + b"]"})
    invalid("record_format/sth-timestamp-huge", "record_format", "§8.1 V4, §1 rule 14.4", None,
            "sth.json with timestamp 2^53: not a document (|n| < 2^53), so the record cannot be read",
            {**bf, "sth.json": json.dumps(dict(json.loads(bf["sth.json"]), timestamp=2**53)).encode()})
    sth_text = bf["sth.json"].decode()
    invalid("record_format/sth-duplicate-key", "record_format", "§8.1 V1, V4, §1 rule 14.2", None,
            "sth.json holds the key tree_size twice", {**bf, "sth.json": sth_text.replace("{", '{\n  "tree_size": 0,', 1).encode()})
    invalid("record_format/sths-no-final-newline", "record_format", "§8 Election record, §8.1 V5", None,
            "sths.jsonl does not end with \\n", {**bf, "sths.jsonl": bf["sths.jsonl"][:-1]})
    invalid("record_format/sths-not-json", "record_format", "§8.1 V5", None, "a line of sths.jsonl is not JSON",
            {**bf, "sths.jsonl": b"{tree_size: 1}\n" + bf["sths.jsonl"]})

    def raw(vid: str, comment: str, rule: str, lines: list[bytes], index: int, check: str = "record_format"):
        invalid(f"record_format/{vid}", check, rule, index, comment, forge.files(lines=lines))

    L = forge.lines(setup)
    LB = forge.lines(base)
    raw("empty-line", "an empty line in log.jsonl (an empty leaf, which is not a JSON document)", "§8.1 V3, §8 Election record rule 2",
        [*L[:2], b"", *L[2:]], 2)
    raw("crlf", "every line ends with \\r\\n: the \\r belongs to the line, which is then not canonical",
        "§8.1 V3, §8 Election record rule 2", [line + b"\r" for line in L], 0)
    raw("not-json", "a line that is not JSON", "§8.1 V3", [*L[:2], b"{type: note}", *L[2:]], 2)
    raw("array", "a line holding a JSON array", "§8.1 V3", [*L[:2], b'["note"]', *L[2:]], 2)
    raw("no-type", "an object without type", "§8.1 V3", [*L[:2], b'{"kind":"note"}', *L[2:]], 2)
    raw("type-not-string", "type is an integer", "§8.1 V3", [*L[:2], b'{"type":7}', *L[2:]], 2)
    raw("whitespace", "an entry with a space after a colon", "§8.1 V3, §1 rule 16.1",
        [*L[:2], L[2].replace(b'":', b'": ', 1), *L[3:]], 2)
    swapped = b'{"type":"note","a":1}'
    raw("key-order", "keys not in sorted order", "§8.1 V3, §1 rule 16.2", [*L[:2], swapped, *L[2:]], 2)
    escaped = L[0].decode().replace("某", "\\u67d0", 1).encode()
    assert escaped != L[0]
    raw("escaped-non-ascii", "the meeting entry with a non-ASCII character written as a \\u escape: it parses to the "
        "same entry but is not its canonical JSON (and the tree head is over these bytes)", "§8.1 V3, §1 rule 16.6",
        [escaped, *L[1:]], 0)
    raw("escaped-slash", "a / written as \\/", "§8.1 V3, §1 rule 16.6", [*L[:2], b'{"type":"note","u":"a\\/b"}', *L[2:]], 2)
    raw("uppercase-escape", "a control character escaped with uppercase hex (\\u001F)", "§8.1 V3, §1 rule 16.6",
        [*L[:2], b'{"type":"note","u":"\\u001F"}', *L[2:]], 2)
    raw("float", "a number with a fraction (1.0)", "§8.1 V3, §1 rule 14.3", [*L[:2], b'{"n":1.0,"type":"note"}', *L[2:]], 2)
    raw("exponent", "a number with an exponent (1e3)", "§8.1 V3, §1 rule 14.3", [*L[:2], b'{"n":1e3,"type":"note"}', *L[2:]], 2)
    raw("huge-integer", "an integer 2^53", "§8.1 V3, §1 rule 14.4", [*L[:2], b'{"n":9007199254740992,"type":"note"}', *L[2:]], 2)
    raw("duplicate-key", "an object with the key n twice", "§8.1 V3, §1 rule 14.2", [*L[:2], b'{"n":1,"n":2,"type":"note"}', *L[2:]], 2)
    raw("lone-surrogate", "a string with a lone surrogate escape \\ud800", "§8.1 V3, §1 rule 14.5",
        [*L[:2], b'{"s":"\\ud800","type":"note"}', *L[2:]], 2)
    raw("surrogate-bytes", "a lone surrogate encoded in (invalid) UTF-8 bytes", "§8.1 V3, §1 rule 14.5",
        [*L[:2], b'{"s":"\xed\xa0\x80","type":"note"}', *L[2:]], 2)
    raw("invalid-utf8", "bytes that are not UTF-8", "§8.1 V3, §1 rule 14.1", [*L[:2], b'{"s":"\xff","type":"note"}', *L[2:]], 2)
    raw("bom", "the first line starts with a UTF-8 byte-order mark", "§8.1 V3, §1 rule 14.1", [b"\xef\xbb\xbf" + L[0], *L[1:]], 0)
    deep: Any = "deep"
    for _ in range(32):
        deep = [deep]
    raw("nesting-33", "an entry nesting 33 levels deep (the entry is level 1; 32 is the limit)", "§8.1 V3, §1 rule 14.6",
        [*L[:2], canonical_json({"type": "note"})[:-1] + b',"x":' + json.dumps(deep, separators=(",", ":")).encode() + b"}", *L[2:]], 2)
    raw("nan", "NaN as a value", "§8.1 V3, §1 rule 14.3", [*L[:2], b'{"n":NaN,"type":"note"}', *L[2:]], 2)
    raw("known-type-not-canonical", "a ballot entry (otherwise valid) written with its keys in another order",
        "§8.1 V3", [*LB[:forge.ballots(base, "v4")[0]],
                    json.dumps(base[forge.ballots(base, "v4")[0]], ensure_ascii=False, separators=(",", ":")).encode(),
                    *LB[forge.ballots(base, "v4")[0] + 1:]], forge.ballots(base, "v4")[0])
    invalid("record_format/empty-log", "meeting", "§8.1 V2", None, "log.jsonl is empty (the reference reports the "
            "empty log under the check meeting)", forge.files(lines=[], sths=[sign_sth(sim.log.log_key, 0, MerkleTree().root(0), T0)]))

    # -------------------------------------------------------------- sth
    lines = forge.lines(base)
    hist = forge.heads(lines)
    n = len(lines)
    tree = MerkleTree()
    tree.extend(leaf_hash(line) for line in lines)

    def sth_vector(vid: str, comment: str, head: dict[str, Any], check: str = "sth", rule: str = "§8.1 V4"):
        invalid(f"{check}/{vid}", check, rule, None, comment, forge.files(lines=lines, sths=hist, sth=head))

    sth_vector("other-key", "sth.json signed by another key", sign_sth(Ed25519PrivateKey.generate(), n, tree.root(n), T0 + 5000))
    sth_vector("short", "sth.json covers one entry fewer than log.jsonl (validly signed)",
               sign_sth(sim.log.log_key, n - 1, tree.root(n - 1), T0 + 5000))
    sth_vector("wrong-root", "sth.json with the root of another tree (validly signed)",
               sign_sth(sim.log.log_key, n, tree.root(n - 1), T0 + 5000))
    sth_vector("extra-field", "sth.json with an extra field", dict(hist[-1], log_id="x"))
    sth_vector("size-string", "tree_size as a string", dict(hist[-1], tree_size=str(n)))
    sth_vector("size-bool", "tree_size true (a boolean is not an integer)", dict(hist[-1], tree_size=True))
    sth_vector("signature-uppercase", "the signature in uppercase hex", dict(hist[-1], signature=hist[-1]["signature"].upper()))
    sth_vector("root-uppercase", "the root in uppercase hex", dict(hist[-1], root=hist[-1]["root"].upper()))

    def history(vid: str, comment: str, heads: list[dict[str, Any]], latest: dict[str, Any] | None = None):
        invalid(f"sth_history/{vid}", "sth_history", "§8.1 V5", None, comment,
                forge.files(lines=lines, sths=heads, sth=latest or heads[-1]))

    mid = [sign_sth(sim.log.log_key, k, tree.root(k), T0 + 1000 * i) for i, k in enumerate([3, 5, n])]
    history("bad-signature", "a head of sths.jsonl signed by another key",
            [sign_sth(Ed25519PrivateKey.generate(), 3, tree.root(3), T0), *mid[1:]])
    history("size-order", "sths.jsonl lists the head of size 5 before the one of size 3 (timestamps ascending)",
            [sign_sth(sim.log.log_key, 5, tree.root(5), T0), sign_sth(sim.log.log_key, 3, tree.root(3), T0 + 1000), mid[2]])
    history("time-order", "sths.jsonl: the second head has an earlier timestamp than the first",
            [mid[0], sign_sth(sim.log.log_key, 5, tree.root(5), T0 - 1), mid[2]])
    history("larger-than-log", "a head covering more entries than log.jsonl",
            [mid[0], sign_sth(sim.log.log_key, n + 1, b"\x11" * 32, T0 + 1000), mid[2]])
    history("later-than-latest", "a head with a timestamp later than sth.json's",
            [sign_sth(sim.log.log_key, 3, tree.root(3), T0 + 9000), *mid[1:]], mid[2])
    history("fork", "a validly signed head of size 5 whose root is not the root of the first 5 entries (a fork)",
            [mid[0], sign_sth(sim.log.log_key, 5, tree.root(4), T0 + 1000), mid[2]])
    history("extra-field", "a head of sths.jsonl with an extra field", [dict(mid[0], note="x"), *mid[1:]])

    # -------------------------------------------------------------- meeting
    def meeting_vector(vid: str, comment: str, edit: Callable[[dict[str, Any]], None], rule: str = "§8.1 V7",
                       index: int = 0, entries: list[dict[str, Any]] | None = None):
        entries = copy.deepcopy(entries if entries is not None else setup)
        edit(entries[0])
        invalid(f"meeting/{vid}", "meeting", rule, index, comment, forge.files(entries))

    swapped_entries = [copy.deepcopy(setup[1]), copy.deepcopy(setup[0]), *copy.deepcopy(setup[2:])]
    invalid("meeting/not-first", "meeting", "§8.1 V6", 0, "entry 0 is the credentials entry and entry 1 the meeting",
            forge.files(swapped_entries))
    twice = copy.deepcopy(setup)
    twice.insert(2, copy.deepcopy(setup[0]))
    invalid("meeting/twice", "meeting", "§8.1 V6", 2, "a second meeting entry at index 2", forge.files(twice))
    meeting_vector("extra-field", "the meeting entry with an extra field", lambda m: m.update(note="x"))
    meeting_vector("missing-field", "the meeting entry without body", lambda m: m.pop("body"))
    meeting_vector("trustee-extra-field", "a trustee with an extra field", lambda m: m["trustees"][0].update(email="x@example.org"))
    meeting_vector("trustee-order", "trustees listed 2, 1, 3", lambda m: m["trustees"].insert(0, m["trustees"].pop(1)))
    meeting_vector("threshold-zero", "threshold 0", lambda m: m.update(threshold=0))
    meeting_vector("threshold-above-n", "threshold 4 of 3 trustees", lambda m: m.update(threshold=4))
    meeting_vector("threshold-bool", "threshold true", lambda m: m.update(threshold=True), "§8.1 V7, V40")
    meeting_vector("commitments-count", "a trustee with one commitment instead of threshold = 2",
                   lambda m: m["trustees"][0]["commitments"].pop())
    meeting_vector("pok", "a trustee's proofs of knowledge swapped", lambda m: m["trustees"][1].update(
        proofs=m["trustees"][1]["proofs"][::-1]), "§8.1 V8")
    meeting_vector("public-key", "public_key is not Σ A_i0 (it is trustee 1's A_10)",
                   lambda m: m.update(public_key=m["trustees"][0]["commitments"][0]), "§8.1 V8")
    meeting_vector("commitment-bit-255", "a commitment with bit 255 set (not a canonical point encoding)",
                   lambda m: m["trustees"][1]["commitments"].__setitem__(1, _bit_255(m["trustees"][1]["commitments"][1])),
                   "§8.1 V7, §1 rule 2")
    meeting_vector("members-bool", "members true", lambda m: m.update(members=True), "§8.1 V7, V40")
    meeting_vector("members-negative", "members −1", lambda m: m.update(members=-1))
    meeting_vector("quorum", "quorum three_quarters", lambda m: m.update(quorum="three_quarters"))
    meeting_vector("spec", "spec piaojue/2", lambda m: m.update(spec="piaojue/2"))
    meeting_vector("log-key-uppercase", "log_key in uppercase hex", lambda m: m.update(log_key=m["log_key"].upper()))
    for name, key, what in _small_order_keys():
        def small_order_key(m: dict[str, Any], k: bytes = key) -> None:
            m.update(log_key=k.hex())
        meeting_vector(f"log-key-{name}", f"log_key is {what}", small_order_key, "§8.1 V7, Keys of prime order")

    # -------------------------------------------------------------- credentials
    def credentials_vector(vid: str, comment: str, entry: dict[str, Any], rule: str, index: int = 2,
                           entries: list[dict[str, Any]] | None = None):
        entries = copy.deepcopy(entries if entries is not None else setup)
        entries.insert(index, entry)
        invalid(f"credentials/{vid}", "credentials", rule, index, comment, forge.files(entries))

    registered = base[1]["add"]
    fresh = sorted(public_hex(Ed25519PrivateKey.generate()) for _ in range(2))
    credentials_vector("extra-field", "a credentials entry with an extra field", {"type": "credentials", "add": fresh, "revoke": [], "note": "x"}, "§8.1 V9")
    credentials_vector("missing-revoke", "a credentials entry without revoke", {"type": "credentials", "add": fresh}, "§8.1 V9")
    credentials_vector("unsorted", "add not sorted", {"type": "credentials", "add": fresh[::-1], "revoke": []}, "§8.1 V9")
    credentials_vector("duplicate", "a key twice in add", {"type": "credentials", "add": [fresh[0], fresh[0]], "revoke": []}, "§8.1 V9")
    credentials_vector("uppercase", "a key in uppercase hex", {"type": "credentials", "add": [fresh[0].upper()], "revoke": []}, "§8.1 V9, §1 rule 12")
    credentials_vector("not-a-list", "add is a string", {"type": "credentials", "add": fresh[0], "revoke": []}, "§8.1 V9")
    for name, key, what in _small_order_keys():
        credentials_vector(f"small-order-{name}", f"a credential that is {what}",
                           {"type": "credentials", "add": [key.hex()], "revoke": []}, "§8.1 V10, Keys of prime order")
    non_canonical = bytearray(ORDER_2)
    non_canonical[0] += 19  # y = p − 1 + 19 ≥ p
    credentials_vector("non-canonical", "a key whose y coordinate is not reduced (y ≥ p)",
                       {"type": "credentials", "add": [bytes(non_canonical).hex()], "revoke": []}, "§8.1 V10, Keys of prime order")
    credentials_vector("added-twice", "a key of the first credentials entry added again", {"type": "credentials", "add": [registered[0]], "revoke": []}, "§8.1 V11")
    credentials_vector("revoke-unknown", "revokes a key never added", {"type": "credentials", "add": [], "revoke": [fresh[0]]}, "§8.1 V11")
    twice_revoked = copy.deepcopy(setup)
    idle = sorted(set(registered) - {base[i]["credential"] for i in forge.ballots(base, "v4")})
    twice_revoked.insert(2, {"type": "credentials", "add": [], "revoke": [idle[0]]})
    credentials_vector("revoke-twice", "revokes a key revoked by the entry before", {"type": "credentials", "add": [], "revoke": [idle[0]]},
                       "§8.1 V11", 3, twice_revoked)
    readded = copy.deepcopy(setup)
    readded.insert(2, {"type": "credentials", "add": [], "revoke": [idle[0]]})
    credentials_vector("re-add-after-revoke", "adds again a key that was revoked (a key is registered at most once)",
                       {"type": "credentials", "add": [idle[0]], "revoke": []}, "§8.1 V11", 3, readded)

    # -------------------------------------------------------------- votes
    def votes_vector(vid: str, comment: str, vote: dict[str, Any], rule: str = "§8.1 V12"):
        entries = copy.deepcopy(setup)
        at = index_of(entries, "vote", "v4") + 1
        entries.insert(at, vote)
        invalid(f"votes/{vid}", "votes", rule, at, comment, forge.files(entries))

    v4 = forge.votes["v4"].entry
    spare_vote = dict(copy.deepcopy(v4), vote_id="v9")
    votes_vector("defined-twice", "vote v4 defined a second time", copy.deepcopy(v4))
    votes_vector("recast-integer", "recast 0 instead of false", dict(copy.deepcopy(spare_vote), recast=0), "§8.1 V12, V40")
    votes_vector("unknown-kind", "kind referendum", dict(copy.deepcopy(spare_vote), kind="referendum"))
    votes_vector("bad-id", "vote_id with a space", dict(copy.deepcopy(spare_vote), vote_id="v 9"))
    broken = copy.deepcopy(spare_vote)
    broken["contests"][0]["min"], broken["contests"][0]["max"] = 2, 1
    votes_vector("min-above-max", "a contest with min 2 > max 1", broken)
    broken = copy.deepcopy(spare_vote)
    broken["contests"][0]["options"][1]["id"] = broken["contests"][0]["options"][0]["id"]
    votes_vector("duplicate-option", "two options with the same id", broken)
    broken = copy.deepcopy(spare_vote)
    broken["constraints"] = [{"id": "k", "members": [["candidates", "c1"]], "min": 0, "max": 1, "label": "x"}]
    votes_vector("constraint-extra-field", "a constraint with a display field (constraints have exact shapes)", broken, "§8.1 V12, §4.1")
    broken = copy.deepcopy(spare_vote)
    broken["rule"]["seats"] = 0
    votes_vector("rule-seats-zero", "a select rule with 0 seats", broken, "§8.1 V12, §9 rule 3")
    broken = copy.deepcopy(spare_vote)
    broken["rule"]["extra"] = 1
    votes_vector("rule-extra-field", "a rule with an extra field", broken, "§8.1 V12, §9 rule 1")
    broken = copy.deepcopy(forge.votes["v1"].entry)
    broken["vote_id"] = "v9"
    broken["rule"]["yes"] = "maybe"
    votes_vector("rule-yes", "a majority rule whose yes is not an option", broken, "§8.1 V12, §9 rule 2")
    broken = copy.deepcopy(forge.votes["v5"].entry)
    broken["vote_id"] = "v9"
    broken["contests"][0]["max"] = 2
    votes_vector("rating-max", "a rating contest with max 2", broken, "§8.1 V12, §9 rule 4")

    # -------------------------------------------------------------- vote_lifecycle
    def lifecycle(vid: str, comment: str, rule: str, entries: list[dict[str, Any]], index: int, *, recount: bool = False,
                  check: str = "vote_lifecycle", passes: list[str] | None = None):
        invalid(f"{check}/{vid}", check, rule, index, comment, forge.files(forge.retally(entries) if recount else entries),
                passes=passes)

    def edited(kind: str, changes: dict[str, Any], vote_id: str = "v4", entries=None):
        entries = copy.deepcopy(entries if entries is not None else base)
        at = index_of(entries, kind, vote_id)
        entries[at].update(changes)
        return entries, at

    lifecycle("open-extra-field", "an open entry with an extra field", "§8.1 V14", *edited("open", {"note": "x"}))
    e = copy.deepcopy(base)
    at = index_of(e, "open", "v4")
    e.insert(at + 1, copy.deepcopy(e[at]))
    lifecycle("opened-twice", "v4 opened twice", "§8.1 V14", e, at + 1)
    lifecycle("present-bool", "present true", "§8.1 V14, V40", *edited("open", {"present": True}))
    lifecycle("present-negative", "present −1", "§8.1 V14", *edited("open", {"present": -1}))
    lifecycle("present-string", "present \"6\"", "§8.1 V14", *edited("open", {"present": "6"}))
    lifecycle("present-above-members", "present 7 of 6 members", "§8.1 V15", *edited("open", {"present": 7}))
    lifecycle("present-huge", "present 2^53 − 1", "§8.1 V15", *edited("open", {"present": 2**53 - 1}))
    e = copy.deepcopy(base)
    opened = index_of(e, "open", "v4")
    voted = {e[i]["credential"] for i in forge.ballots(e, "v4")}
    idle = sorted(set(registered) - voted)
    e.insert(opened, {"type": "credentials", "add": [], "revoke": idle})
    lifecycle("present-above-active", f"{len(idle)} idle credentials revoked just before v4's open: present "
              f"{e[opened + 1]['present']} ≤ members but more than the {DEPUTIES - len(idle)} credentials active (rev 2)",
              "§8.1 V15", e, opened + 1, recount=True)
    for vid, kind, value, what in [
        ("time-fullwidth", "open", "２０２６-12-06T09:00:00Z", "full-width digits"),
        ("time-no-such-date", "close", "2027-13-45T99:99:99Z", "month 13, day 45, hour 99"),
        ("time-offset", "open", "2026-12-06T09:00:00+00:00", "+00:00 instead of Z"),
        ("time-not-leap-year", "close", "2026-02-29T09:00:00Z", "29 February 2026 (not a leap year)"),
        ("time-ten-digits", "open", "2026-12-06T09:00:00.1234567890Z", "ten fraction digits"),
        ("time-lowercase", "open", "2026-12-06t09:00:00z", "lowercase t and z"),
        ("time-leap-second", "close", "2026-12-31T23:59:60Z", "second 60"),
        ("time-no-seconds", "open", "2026-12-06T09:00Z", "no seconds"),
        ("time-integer", "open", 1796534400, "an integer"),
    ]:
        e, at = edited(kind, {"at": value})
        if kind == "close":
            e[index_of(e, "open", "v4")]["at"] = "2026-01-01T00:00:00Z"
        lifecycle(vid, f"{kind} at {what}", "§8.1 V14, V26, §7 Times", e, at)
    e, _ = edited("open", {"at": "2026-12-06T09:00:00.5Z"})
    e, at = edited("close", {"at": "2026-12-06T09:00:00.499999999Z"}, entries=e)
    lifecycle("close-before-open", "close 1 ns before the open (compared as instants, not strings)", "§8.1 V26", e, at)
    lifecycle("close-extra-field", "a close entry with an extra field", "§8.1 V26", *edited("close", {"note": "x"}))
    e = copy.deepcopy(base)
    at = index_of(e, "close", "v4")
    e.insert(at + 1, copy.deepcopy(e[at]))
    lifecycle("closed-twice", "v4 closed twice", "§8.1 V26", e, at + 1)
    e = copy.deepcopy(base)
    lifecycle("close-count", "close.ballots one more than the ballots logged", "§8.1 V27",
              *edited("close", {"ballots": len(forge.ballots(base, "v4")) + 1}))
    e = [x for x in forge.only("v6") if x["type"] != "ballot"]
    e = forge.retally(e)
    lifecycle("close-count-bool", "close.ballots false for 0 ballots", "§8.1 V27, V40", *edited("close", {"ballots": False}, "v6", e))
    e = [x for x in forge.retally([x for x in forge.only("v6") if x["type"] != "ballot"]) if x["type"] != "open"]
    lifecycle("close-without-open", "v6 closed (with 0 ballots), decrypted and published without an open entry",
              "§8.1 V26", e, index_of(e, "close", "v6"))
    e = copy.deepcopy(base)
    e.insert(index_of(e, "close", "v4") + 1, {"type": "open", "vote_id": "v8", "at": "2026-12-06T09:00:00Z", "present": 1})
    lifecycle("open-undefined-vote", "an open entry for a vote never defined", "§8.1 V13", e, index_of(e, "close", "v4") + 1)
    e = copy.deepcopy(base)
    e.insert(index_of(e, "vote", "v4") + 1, {"type": "open", "vote_id": ["v4"], "at": "2026-12-06T09:00:00Z", "present": 1})
    lifecycle("vote-id-list", "an open entry whose vote_id is a list", "§8.1 V13", e, index_of(e, "vote", "v4") + 1)

    # -------------------------------------------------------------- ballots
    b1 = forge.only("v1")
    v1_ballots = forge.ballots(b1, "v1")

    def ballot_vector(vid: str, comment: str, rule: str, entries: list[dict[str, Any]], index: int, *, recount: bool = True,
                      passes: list[str] | None = None, check: str = "ballots"):
        lifecycle(vid, comment, rule, entries, index, recount=recount, check=check, passes=passes)

    e = copy.deepcopy(b1)
    moved = e.pop(v1_ballots[-1])
    at = index_of(e, "open", "v1")
    e.insert(at, moved)
    ballot_vector("before-open", "a ballot standing before its vote's open", "§8.1 V16", e, at)
    e = copy.deepcopy(b1)
    moved = e.pop(v1_ballots[-1])
    at = index_of(e, "close", "v1") + 1
    e.insert(at, moved)
    ballot_vector("after-close", "a ballot standing after its vote's close (before the shares)", "§8.1 V16", e, at)

    def with_ballot(vid: str, comment: str, rule: str, change: Callable[[dict[str, Any]], dict[str, Any]], *,
                    entries=None, vote_id: str = "v1", nth: int = 1, passes=None):
        e = copy.deepcopy(entries if entries is not None else b1)
        at = forge.ballots(e, vote_id)[nth]
        e[at] = change(copy.deepcopy(e[at]))
        ballot_vector(vid, comment, rule, e, at, passes=passes)

    with_ballot("extra-field", "a ballot with an extra field (signed with it)", "§8.1 V17, §4.3",
                lambda b: forge.resign(dict(b, note="x")))
    with_ballot("bad-signature", "a ballot signed by another key", "§8.1 V17",
                lambda b: dict(b, signature=Ed25519PrivateKey.generate().sign(signature_message(ballot_hash(b))).hex()),
                passes=["vote_lifecycle"])
    with_ballot("selection-proof", "two selections' range proofs swapped (re-signed)", "§8.1 V17, §3",
                lambda b: forge.resign(_swap_selection_proofs(b)))
    b2 = forge.only("v2")
    with_ballot("contest-proof", "the two contests' proofs swapped (re-signed)", "§8.1 V17, §3",
                lambda b: forge.resign(_swap_contest_proofs(b)), entries=b2, vote_id="v2")
    b3 = forge.only("v3")
    other_constraint = b3[forge.ballots(b3, "v3")[0]]["constraints"][0]["proof"]
    with_ballot("constraint-proof", "the constraint's proof replaced by another ballot's constraint proof (re-signed)",
                "§8.1 V17, §3", lambda b: forge.resign(_replace_constraint_proof(b, other_constraint)), entries=b3,
                vote_id="v3")
    with_ballot("selection-order", "two selections in another order (re-signed)", "§8.1 V17, §4.3",
                lambda b: forge.resign(_swap_selections(b)))
    with_ballot("uppercase-hex", "a selection's α in uppercase hex (re-signed)", "§8.1 V17, §1 rule 12",
                lambda b: forge.resign(_upper_alpha(b)))
    with_ballot("alpha-identity", "a selection encrypted with nonce 0 (α = identity), every proof and the signature "
                "valid: the vote is in the clear (rev 2)", "§8.1 V17",
                lambda b: _zero_nonce_ballot(forge, "v1", forge.keys[b["credential"]]).entry)
    with_ballot("proof-scalar-not-reduced", "a range proof scalar v written as v + ℓ (32 bytes, not < ℓ; re-signed): "
                "scalars are never reduced", "§8.1 V17, §1 rule 4",
                lambda b: forge.resign(_unreduce_first_proof_scalar(b)))
    with_ballot("alpha-bit-255", "a selection's α with bit 255 set (not a canonical point encoding; re-signed)",
                "§8.1 V17, §1 rule 2", lambda b: forge.resign(_set_bit_255_alpha(b)))
    with_ballot("wrong-vote", "a v1 ballot whose vote_id says v9 (undefined)", "§8.1 V13",
                lambda b: forge.resign(dict(b, vote_id="v9")))
    e = copy.deepcopy(b1)
    stranger = Ed25519PrivateKey.generate()
    at = index_of(e, "close", "v1")
    e.insert(at, forge.encrypt("v1", stranger).entry)
    ballot_vector("unknown-credential", "a ballot by a credential never registered", "§8.1 V18", e, at)
    e = copy.deepcopy(b1)
    victim = e[v1_ballots[2]]["credential"]
    e.insert(v1_ballots[2], {"type": "credentials", "add": [], "revoke": [victim]})
    ballot_vector("revoked-before-ballot", "the credential revoked after the open and before its ballot", "§8.1 V18",
                  e, v1_ballots[2] + 1)
    for replacement in (False, True):
        e = copy.deepcopy(b1)
        opened = index_of(e, "open", "v1")
        newcomer = Ed25519PrivateKey.generate()
        revoke = []
        if replacement:
            voted = {e[i]["credential"] for i in forge.ballots(e, "v1")} | {x["ballot"]["credential"] for x in e if x["type"] == "spoiled"}
            revoke = [min(set(registered) - voted)]
        e.insert(opened + 1, {"type": "credentials", "add": [public_hex(newcomer)], "revoke": revoke})
        at = index_of(e, "close", "v1")
        e.insert(at, forge.encrypt("v1", newcomer).entry)
        ballot_vector("replacement-card-votes" if replacement else "registered-after-open",
                      ("a lost card replaced after v1's open (old credential revoked, new one added); the new card votes "
                       "in v1" if replacement else "a credential registered after v1's open votes in v1") +
                      ": not_checked_in, it votes from the next vote on (rev 2)", "§8.1 V18", e, at)
    e = copy.deepcopy(b1)
    again = forge.encrypt("v1", forge.keys[e[v1_ballots[0]]["credential"]]).entry
    at = index_of(e, "close", "v1")
    e.insert(at, again)
    ballot_vector("second-ballot", "a second ballot by the same credential in v1, which does not allow recasting", "§8.1 V19", e, at)
    e = copy.deepcopy(b1)
    at = index_of(e, "close", "v1")
    e.insert(at, copy.deepcopy(e[v1_ballots[0]]))
    ballot_vector("replay", "the same ballot (same bytes) cast twice in v1", "§8.1 V20", e, at)
    b5 = forge.only("v5")
    by_credential: dict[str, list[int]] = {}
    for i in forge.ballots(b5, "v5"):
        by_credential.setdefault(b5[i]["credential"], []).append(i)
    first_cast = next(p for p in by_credential.values() if len(p) == 2)[0]
    e = copy.deepcopy(b5)
    at = index_of(e, "close", "v5")
    e.insert(at, copy.deepcopy(e[first_cast]))
    ballot_vector("replay-after-recast", "after a recast, the deputy's first ballot appended again so that it counts "
                  "last: the recast rolled back (rev 2)", "§8.1 V20", e, at)
    e = copy.deepcopy(b1)
    spoiled_at = index_of(e, "spoiled", "v1")
    challenged = e[spoiled_at]["ballot"]
    own = next(i for i in forge.ballots(e, "v1") if e[i]["credential"] == challenged["credential"])
    del e[own]
    e.insert(spoiled_at + 1, copy.deepcopy(challenged))
    ballot_vector("challenged-then-cast", "the challenged (spoiled) ballot cast afterwards, in place of the deputy's "
                  "own ballot (rev 2)", "§8.1 V21, §4.4", e, spoiled_at + 1)
    e = copy.deepcopy(b5)
    real_at = forge.ballots(e, "v5")[2]
    voter_key = forge.keys[e[real_at]["credential"]]
    challenge = forge.encrypt("v5", voter_key, {c.id: [c.options[-1]] for c in forge.votes["v5"].contests})
    e.insert(real_at, challenge.spoiled_entry())
    e.insert(real_at + 2, copy.deepcopy(challenge.entry))
    ballot_vector("challenged-cast-under-recast", "in v5 (recast allowed) a challenged ballot appended after the "
                  "deputy's real one, so that it would count last (rev 2)", "§8.1 V21, §4.4", e, real_at + 2)
    e = copy.deepcopy(b1)
    at = index_of(e, "open", "v1")
    counted_n = len(forge.ballots(b1, "v1"))
    e[at]["present"] = counted_n - 1
    ballot_vector("counted-above-present", f"{counted_n} ballots counted with present {counted_n - 1}", "§8.1 V28",
                  e, index_of(e, "close", "v1"), recount=False)
    e = copy.deepcopy(b1)
    at = v1_ballots[1]
    e[at] = dict(e[at], signature=Ed25519PrivateKey.generate().sign(b"x").hex())
    e = forge.retally(e)
    e[index_of(e, "close", "v1")]["ballots"] -= 1
    lifecycle("close-count-skips-invalid", "close.ballots leaves out a logged ballot whose signature is bad: every "
              "ballot entry inside open..close is logged, valid or not", "§8.1 V16, V27", e, index_of(e, "close", "v1"))

    # -------------------------------------------------------------- spoiled
    def spoiled_vector(vid: str, comment: str, rule: str, change: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                       *, entries=None, index: int | None = None):
        e = copy.deepcopy(entries if entries is not None else b1)
        at = index_of(e, "spoiled", "v1") if index is None else index
        if change is not None:
            e[at] = change(copy.deepcopy(e[at]))
        lifecycle(vid, comment, rule, e, at, recount=True, check="spoiled")

    spoiled_vector("extra-field", "a spoiled entry with an extra field", "§8.1 V22", lambda s: dict(s, note="x"))
    e = copy.deepcopy(b1)
    moved = e.pop(index_of(e, "spoiled", "v1"))
    e.insert(index_of(e, "close", "v1") + 1, moved)
    spoiled_vector("after-close", "a spoiled entry after its vote's close (rev 2)", "§8.1 V22", entries=e)
    e = copy.deepcopy(b1)
    moved = e.pop(index_of(e, "spoiled", "v1"))
    e.insert(index_of(e, "open", "v1"), moved)
    spoiled_vector("before-open", "a spoiled entry before its vote's open (rev 2)", "§8.1 V22", entries=e)
    spoiled_vector("bad-signature", "the spoiled ballot's signature by another key", "§8.1 V23", lambda s: dict(
        s, ballot=dict(s["ballot"], signature=Ed25519PrivateKey.generate().sign(b"x").hex())))
    spoiled_vector("alpha-identity", "a spoiled ballot with α = identity (nonce 0), its openings valid", "§8.1 V23",
                   lambda s: _zero_nonce_ballot(forge, "v1", forge.keys[s["ballot"]["credential"]]).spoiled_entry())
    e = copy.deepcopy(b1)
    spoiled_at = index_of(e, "spoiled", "v1")
    credential = e[spoiled_at]["ballot"]["credential"]
    e = [x for x in e if not (x["type"] == "ballot" and x["credential"] == credential)]
    e.insert(spoiled_at, {"type": "credentials", "add": [], "revoke": [credential]})
    spoiled_vector("revoked-credential", "the spoiled ballot's credential revoked just before it (rev 2)", "§8.1 V23",
                   entries=e, index=spoiled_at + 1)
    e = copy.deepcopy(b1)
    at = index_of(e, "spoiled", "v1")
    e.insert(at, forge.encrypt("v1", Ed25519PrivateKey.generate()).spoiled_entry())
    spoiled_vector("unknown-credential", "a spoiled ballot by a credential never registered (rev 2)", "§8.1 V23",
                   entries=e, index=at)
    spoiled_vector("openings-missing", "one opening fewer than selections", "§8.1 V24", lambda s: dict(s, openings=s["openings"][:-1]))
    spoiled_vector("opening-five", "an opening with a fifth element", "§8.1 V24",
                   lambda s: dict(s, openings=[[*s["openings"][0], 0], *s["openings"][1:]]))
    spoiled_vector("opening-m-bool", "an opening whose m is true instead of 1 (or false for 0)", "§8.1 V24, V40",
                   lambda s: dict(s, openings=[[*o[:2], bool(o[2]), o[3]] for o in s["openings"]]))
    spoiled_vector("opening-m-two", "an opening with m = 2", "§8.1 V24",
                   lambda s: dict(s, openings=[[*s["openings"][0][:2], 2, s["openings"][0][3]], *s["openings"][1:]]))
    spoiled_vector("opening-r-uppercase", "an opening's r in uppercase hex", "§8.1 V24",
                   lambda s: dict(s, openings=[[*s["openings"][0][:3], s["openings"][0][3].upper()], *s["openings"][1:]]))
    spoiled_vector("opening-order", "the first two openings swapped", "§8.1 V24",
                   lambda s: dict(s, openings=[s["openings"][1], s["openings"][0], *s["openings"][2:]]))
    spoiled_vector("opening-wrong-m", "openings claiming another choice (m of two selections swapped)", "§8.1 V24",
                   lambda s: dict(s, openings=_swap_m(s["openings"])))
    spoiled_vector("opening-wrong-r", "an opening whose r is another selection's nonce", "§8.1 V24",
                   lambda s: dict(s, openings=[[*s["openings"][0][:3], s["openings"][1][3]], *s["openings"][1:]]))
    spoiled_vector("opening-r-not-reduced", "an opening's r written as r + ℓ", "§8.1 V24, §1 rule 4",
                   lambda s: dict(s, openings=[[*s["openings"][0][:3], _plus_l(s["openings"][0][3])], *s["openings"][1:]]))
    e = forge.only("v1", "v4")
    at = index_of(e, "spoiled", "v1")
    other = forge.encrypt("v4", forge.keys[e[at]["ballot"]["credential"]])
    e[at] = dict(other.spoiled_entry(), vote_id="v1")
    spoiled_vector("ballot-of-other-vote", "a spoiled entry for v1 holding a (valid, opened) ballot of v4",
                   "§8.1 V23", entries=e, index=at)
    e = copy.deepcopy(b2)
    at = forge.ballots(e, "v2")[0]
    cast = forge.encrypt("v2", forge.keys[e[at]["credential"]])
    e[at] = cast.entry
    close = index_of(e, "close", "v2")
    e.insert(close, cast.spoiled_entry())
    spoiled_vector("cast-then-spoiled", "a counted ballot later published as spoiled: its openings reveal a cast vote "
                   "(rev 2)", "§8.1 V25, §4.4", entries=e, index=close)

    # -------------------------------------------------------------- shares
    b4 = forge.only("v4")
    share_ats = [i for i, x in enumerate(b4) if x["type"] == "share"]

    def share_vector(vid: str, comment: str, rule: str, change: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                     *, entries=None, index: int | None = None):
        e = copy.deepcopy(entries if entries is not None else b4)
        at = share_ats[0] if index is None else index
        if change is not None:
            e[at] = change(copy.deepcopy(e[at]))
        invalid(f"shares/{vid}", "shares", rule, at, comment, forge.files(e))

    share_vector("extra-field", "a share entry with an extra field", "§8.1 V29", lambda s: dict(s, note="x"))
    e = copy.deepcopy(b4)
    moved = e.pop(share_ats[0])
    at = index_of(e, "close", "v4")
    e.insert(at, moved)
    share_vector("before-close", "a share entry before its vote's close", "§8.1 V29", entries=e, index=at)
    e = copy.deepcopy(b4)
    extra_share = copy.deepcopy(e[share_ats[0]])
    e.append(extra_share)
    share_vector("after-result", "a share entry after its vote's result", "§8.1 V29", entries=e, index=len(e) - 1)
    e = copy.deepcopy(b4)
    e.insert(share_ats[1] + 1, copy.deepcopy(e[share_ats[0]]))
    share_vector("trustee-twice", "the same trustee's share twice", "§8.1 V29", entries=e, index=share_ats[1] + 1)
    share_vector("trustee-zero", "trustee 0", "§8.1 V29", lambda s: dict(s, trustee=0))
    share_vector("trustee-above-n", "trustee 4 of 3", "§8.1 V29", lambda s: dict(s, trustee=4))
    share_vector("trustee-bool", "trustee true (for 1)", "§8.1 V29, V40", lambda s: dict(s, trustee=True))
    share_vector("other-trustee", "a share labelled with another trustee's index than the one who computed it",
                 "§8.1 V30", lambda s: dict(s, trustee=next(t for t in (1, 2, 3) if t != s["trustee"] and t not in
                                                           [b4[i]["trustee"] for i in share_ats])))
    share_vector("count", "one element missing", "§8.1 V30", lambda s: dict(s, shares=s["shares"][:-1]))
    share_vector("order", "the two elements swapped", "§8.1 V30", lambda s: dict(s, shares=s["shares"][::-1]))
    share_vector("element-extra-field", "an element with an extra field", "§8.1 V30",
                 lambda s: dict(s, shares=[dict(s["shares"][0], note="x"), *s["shares"][1:]]))
    share_vector("m-not-point", "M is not a point encoding", "§8.1 V30",
                 lambda s: dict(s, shares=[dict(s["shares"][0], M="ff" * 32), *s["shares"][1:]]))
    share_vector("proof", "the two elements' proofs swapped", "§8.1 V30, §6.2",
                 lambda s: dict(s, shares=[dict(s["shares"][0], proof=s["shares"][1]["proof"]),
                                           dict(s["shares"][1], proof=s["shares"][0]["proof"])]))
    share_vector("proof-not-reduced", "a share proof scalar written as v + ℓ", "§8.1 V30, §1 rule 4",
                 lambda s: dict(s, shares=[dict(s["shares"][0], proof=[s["shares"][0]["proof"][0],
                                                                       _plus_l(s["shares"][0]["proof"][1])]),
                                           *s["shares"][1:]]))
    share_vector("m-swapped", "the two elements' M swapped (each proof then fails)", "§8.1 V30, §6.2",
                 lambda s: dict(s, shares=[dict(s["shares"][0], M=s["shares"][1]["M"]),
                                           dict(s["shares"][1], M=s["shares"][0]["M"])]))
    e = copy.deepcopy(b4)
    e.insert(share_ats[0], dict(copy.deepcopy(e[share_ats[0]]), vote_id="v8"))
    share_vector("undefined-vote", "a share entry for a vote never defined", "§8.1 V13", entries=e, index=share_ats[0])

    # -------------------------------------------------------------- tallies
    result_at = index_of(b4, "result", "v4")
    counted = b4[result_at]["counted"]
    logged = len(forge.ballots(b4, "v4"))

    def result_vector(vid: str, comment: str, rule: str, change: Callable[[dict[str, Any]], None], check: str = "tallies",
                      *, entries=None, index: int | None = None, outcome: bool = False):
        e = copy.deepcopy(entries if entries is not None else b4)
        at = index_of(e, "result", "v4") if index is None else index
        change(e[at])
        if outcome:
            forge.reoutcome(e, at)
        invalid(f"{check}/{vid}", check, rule, at, comment, forge.files(e))

    result_vector("extra-field", "a result with an extra field", "§8.1 V31", lambda r: r.update(note="x"))
    result_vector("missing-field", "a result without outcome", "§8.1 V31", lambda r: r.pop("outcome"))
    e = copy.deepcopy(b4)
    e.append(copy.deepcopy(e[result_at]))
    result_vector("twice", "the result entry twice", "§8.1 V31", lambda r: None, entries=e, index=len(e) - 1)
    e = copy.deepcopy(b4)
    moved = e.pop(result_at)
    at = index_of(e, "close", "v4")
    e.insert(at, moved)
    result_vector("before-close", "the result before the close", "§8.1 V31", lambda r: None, entries=e, index=at)
    result_vector("counted-low", f"counted {counted - 1} (the honest {counted} minus one); tallies and outcome "
                  "recomputed to match", "§8.1 V32", lambda r: r.update(counted=counted - 1), outcome=True)
    result_vector("counted-above-logged", f"counted {logged + 1}: more than the {logged} ballots logged (rejected "
                  "before any other work; the other checks do not run)", "§8.1 V32, V36", lambda r: r.update(counted=logged + 1))
    result_vector("counted-bool", "counted true", "§8.1 V32, V40", lambda r: r.update(counted=True))
    result_vector("counted-huge", "counted 2^53 − 1", "§8.1 V32, V36", lambda r: r.update(counted=2**53 - 1))
    result_vector("tallies-count", "one tally missing", "§8.1 V33", lambda r: r.update(tallies=r["tallies"][:-1]))
    result_vector("tallies-order", "the tallies in another order", "§8.1 V33", lambda r: r.update(tallies=r["tallies"][::-1]))
    result_vector("tally-extra-field", "a tally with an extra field", "§8.1 V33",
                  lambda r: r["tallies"][0].update(note="x"))
    result_vector("a-uppercase", "A in uppercase hex", "§8.1 V33", lambda r: r["tallies"][0].update(A=r["tallies"][0]["A"].upper()))
    result_vector("aggregate", "the two tallies' (A, B) swapped: not the sums of the counted ballots", "§8.1 V33",
                  lambda r: _swap_ab(r))
    result_vector("count-huge", "a count of 2^53 − 1 (rejected before any discrete-logarithm work)", "§8.1 V35, V36",
                  lambda r: r["tallies"][0].update(count=2**53 - 1))
    result_vector("count-above-counted", f"a count of counted + 1 = {counted + 1}", "§8.1 V35, V36",
                  lambda r: r["tallies"][0].update(count=counted + 1))
    result_vector("count-negative", "a count of −1", "§8.1 V35", lambda r: r["tallies"][0].update(count=-1))
    result_vector("count-bool", "a count of true", "§8.1 V35, V40", lambda r: r["tallies"][0].update(count=True))
    result_vector("count-string", "a count of \"1\"", "§8.1 V35", lambda r: r["tallies"][0].update(count="1"))
    e = copy.deepcopy(b4)
    e.append(dict(copy.deepcopy(e[result_at]), vote_id="v8"))
    result_vector("undefined-vote", "a result for a vote never defined", "§8.1 V13", lambda r: None, entries=e, index=len(e) - 1)

    # -------------------------------------------------------------- decryption
    trustees = b4[result_at]["trustees"]
    spare = next(t for t in (1, 2, 3) if t not in trustees)
    result_vector("trustees-descending", "trustees in descending order", "§8.1 V34",
                  lambda r: r.update(trustees=trustees[::-1]), "decryption")
    result_vector("trustees-duplicate", "a trustee listed twice", "§8.1 V34",
                  lambda r: r.update(trustees=[trustees[0], *trustees]), "decryption")
    result_vector("trustees-below-threshold", "one trustee, threshold 2", "§8.1 V34",
                  lambda r: r.update(trustees=trustees[:1]), "decryption")
    result_vector("trustee-without-share", f"trustees {sorted([trustees[0], spare])}: trustee {spare} posted no share",
                  "§8.1 V34", lambda r: r.update(trustees=sorted([trustees[0], spare])), "decryption")
    e = copy.deepcopy(b4)
    if 1 not in trustees:  # trustee 1 posts a share too, so that the result can name it
        e.insert(result_at, forge.share(e, "v4", 1))
    result_vector("trustees-bool", "trustee index 1 written as true (in a list that is otherwise right)",
                  "§8.1 V34, V40", lambda r: r.update(trustees=[True, next(t for t in trustees if t != 1)]),
                  "decryption", entries=e)
    top = max(range(len(b4[result_at]["tallies"])), key=lambda i: b4[result_at]["tallies"][i]["count"])

    def shift(r: dict[str, Any]) -> None:
        r["tallies"][top]["count"] -= 1
        r["tallies"][1 - top]["count"] += 1

    result_vector("count", "one vote moved from the leading candidate to the other, within 0..counted, the outcome "
                  "recomputed from the forged counts", "§8.1 V37", shift, "decryption", outcome=True)

    # -------------------------------------------------------------- outcomes
    r1 = index_of(b1, "result", "v1")

    def outcome_vector(vid: str, comment: str, rule: str, change: Callable[[dict[str, Any]], None], entries=None,
                       vote_id: str = "v1"):
        e = copy.deepcopy(entries if entries is not None else b1)
        at = index_of(e, "result", vote_id)
        change(e[at]["outcome"])
        invalid(f"outcomes/{vid}", "outcomes", rule, at, comment, forge.files(e))

    assert b1[r1]["outcome"]["items"][0]["passed"] is True
    outcome_vector("passed-integer", "passed 1 instead of true", "§8.1 V38, V40", lambda o: o["items"][0].update(passed=1))
    outcome_vector("quorum-integer", "quorum_met 1 instead of true", "§8.1 V38, V40", lambda o: o.update(quorum_met=1))
    outcome_vector("flipped", "passed false although the counts pass it", "§8.1 V38", lambda o: o["items"][0].update(passed=False))
    outcome_vector("extra-field", "an extra field in the outcome", "§8.1 V38", lambda o: o.update(note="x"))
    outcome_vector("missing-field", "the outcome without quorum_met", "§8.1 V38", lambda o: o.pop("quorum_met"))
    outcome_vector("not-voted", "not_voted one more than computed", "§8.1 V38, §9",
                   lambda o: o["items"][0].update(not_voted=o["items"][0]["not_voted"] + 1))
    outcome_vector("ranking-count-bool", "a ranking count of 1 written as true", "§8.1 V38, V40",
                   lambda o: _first_count_one(o), entries=_one_ballot(forge, "v4"), vote_id="v4")
    outcome_vector("status", "the runner-up marked elected", "§8.1 V38, §9",
                   lambda o: o["ranking"][1].update(status="elected"), entries=b4, vote_id="v4")
    outcome_vector("grade", "grade basically_satisfied where the counts give another", "§8.1 V38, §9",
                   lambda o: o["items"][0].update(grade="unsatisfied" if o["items"][0]["grade"] != "unsatisfied" else "satisfied"),
                   entries=b5, vote_id="v5")
    zero_base = forge.retally([x for x in forge.only("v6") if x["type"] != "ballot"])
    outcome_vector("base-zero", "two thirds of base cast with nothing counted: the outcome says passed (3·0 ≥ 2·0); "
                   "base 0 meets no threshold (rev 2)", "§8.1 V38, §9 base 0",
                   lambda o: o["items"][0].update(passed=True), entries=zero_base, vote_id="v6")
    return out


def _ciphertext(tally: dict[str, Any]):
    from ballot.elgamal import Ciphertext

    return Ciphertext(Point.from_hex(tally["A"]), Point.from_hex(tally["B"]))


def _selections(b: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for c in b["contests"] for s in c["selections"]]


def _swap_selection_proofs(b: dict[str, Any]) -> dict[str, Any]:
    s = b["contests"][0]["selections"]
    s[0]["proof"], s[1]["proof"] = s[1]["proof"], s[0]["proof"]
    return b


def _swap_contest_proofs(b: dict[str, Any]) -> dict[str, Any]:
    c = b["contests"]
    c[0]["proof"], c[1]["proof"] = c[1]["proof"], c[0]["proof"]
    return b


def _replace_constraint_proof(b: dict[str, Any], proof: list[list[str]]) -> dict[str, Any]:
    assert b["constraints"][0]["proof"] != proof
    b["constraints"][0]["proof"] = copy.deepcopy(proof)
    return b


def _swap_selections(b: dict[str, Any]) -> dict[str, Any]:
    s = b["contests"][0]["selections"]
    s[0], s[1] = s[1], s[0]
    return b


def _upper_alpha(b: dict[str, Any]) -> dict[str, Any]:
    sel = b["contests"][0]["selections"][0]
    sel["alpha"] = sel["alpha"].upper()
    return b


L_ORDER = 2**252 + 27742317777372353535851937790883648493


def _plus_l(scalar_hex: str) -> str:
    """The same scalar, not reduced: ``s + ℓ`` as 32 bytes little-endian (always < 2^256)."""
    return (int.from_bytes(bytes.fromhex(scalar_hex), "little") + L_ORDER).to_bytes(32, "little").hex()


def _bit_255(point_hex: str) -> str:
    raw = bytearray(bytes.fromhex(point_hex))
    raw[31] |= 0x80
    return raw.hex()


def _unreduce_first_proof_scalar(b: dict[str, Any]) -> dict[str, Any]:
    pair = b["contests"][0]["selections"][0]["proof"][0]
    pair[1] = _plus_l(pair[1])
    return b


def _set_bit_255_alpha(b: dict[str, Any]) -> dict[str, Any]:
    sel = b["contests"][0]["selections"][0]
    sel["alpha"] = _bit_255(sel["alpha"])
    return b


def _swap_m(openings: list[list[Any]]) -> list[list[Any]]:
    i = next(k for k, o in enumerate(openings) if o[2] == 1)
    j = next(k for k, o in enumerate(openings) if o[2] == 0 and o[0] == openings[i][0])
    openings = copy.deepcopy(openings)
    openings[i][2], openings[j][2] = 0, 1
    return openings


def _swap_ab(r: dict[str, Any]) -> None:
    t = r["tallies"]
    (t[0]["A"], t[0]["B"]), (t[1]["A"], t[1]["B"]) = (t[1]["A"], t[1]["B"]), (t[0]["A"], t[0]["B"])


def _first_count_one(o: dict[str, Any]) -> None:
    row = next(row for row in o["ranking"] if row["count"] == 1)
    row["count"] = True


def _one_ballot(forge: Forge, vote_id: str) -> list[dict[str, Any]]:
    """Only ``vote_id``, with one ballot (choosing the first option of every contest), recounted."""
    e = forge.only(vote_id)
    ballots = forge.ballots(e, vote_id)
    key = forge.keys[e[ballots[0]]["credential"]]
    vote = forge.votes[vote_id]
    e[ballots[0]] = forge.encrypt(vote_id, key, {c.id: [c.options[0]] for c in vote.contests}).entry
    return forge.retally([x for i, x in enumerate(e) if i not in ballots[1:]])


# ----------------------------------------------------------------------------- writing and checking


def _zip(members: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in items:
                info = zipfile.ZipInfo(name, date_time=(2026, 12, 6, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED if not name.endswith("/") else zipfile.ZIP_STORED
                archive.writestr(info, data)
    return buffer.getvalue()


def write(vector: Vector, root: Path) -> dict[str, Any]:
    path = Path(vector.result if vector.result == "valid" else "invalid") / vector.id
    if vector.id.startswith(("valid/", "receipt/")):
        path = Path(vector.id)
    if vector.receipt is not None:
        record = "valid/full"
        receipt_path = Path("receipts") / (vector.id.split("/", 1)[1] + ".json")
        (root / receipt_path).parent.mkdir(parents=True, exist_ok=True)
        (root / receipt_path).write_bytes(json.dumps(vector.receipt, indent=2, ensure_ascii=False).encode() + b"\n")
        file = record
    elif vector.zip:
        file = str(path) + ".zip"
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_bytes(_zip(vector.files))
    else:
        file = str(path)
        (root / file).mkdir(parents=True, exist_ok=True)
        assert isinstance(vector.files, dict)
        for name, data in vector.files.items():
            (root / file / name).write_bytes(data)
    item: dict[str, Any] = {"id": vector.id, "file": file}
    if vector.receipt is not None:
        item["receipt"] = str(receipt_path)
    item.update({"result": vector.result, "check": vector.check, "rule": vector.rule, "entry": vector.entry,
                 "comment": vector.comment})
    if vector.passes:
        item["passes"] = vector.passes
    return item


def evaluate(item: dict[str, Any], root: Path) -> tuple[list[str], dict[str, Any]]:
    """Run the reference verifier over one manifest item: the failed checks and their first
    failures (entry indexes). A record that cannot be read fails ``record_format``."""
    try:
        record = read_record(root / item["file"])
    except RecordError:
        return ["record_format"], {"record_format": None}
    report = verify_record(record)
    if "receipt" in item:
        check_receipt(record, report, parse_json((root / item["receipt"]).read_bytes()))
    failed = report.failed()
    firsts = {name: report.checks[name].first_failure for name in failed}
    return failed, {name: first.index for name, first in firsts.items() if first is not None}


def expectation_problem(item: dict[str, Any], failed: list[str], first: dict[str, Any]) -> str | None:
    if item["result"] == "valid":
        return None if not failed else f"expected valid, failed {failed} {first}"
    if item["check"] not in failed:
        return f"expected {item['check']} to fail, failed {failed}"
    if item["entry"] is not None and first[item["check"]] != item["entry"]:
        return f"expected {item['check']} to fail first at entry {item['entry']}, got {first[item['check']]}"
    for name in item.get("passes", []):
        if name in failed:
            return f"expected {name} to pass"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: conformance/ itself)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sim = simulate(deputies=DEPUTIES, seed=SEED, trustees=3, threshold=2, votes_json=agenda(), turnout=0.75)
    vectors = build(Forge(sim))
    ids = [v.id for v in vectors]
    assert len(ids) == len(set(ids)), "duplicate vector ids"
    root = args.out
    for folder in ("valid", "invalid", "receipt", "receipts"):
        shutil.rmtree(root / folder, ignore_errors=True)
    items = [write(v, root) for v in vectors]
    problems = []
    for item in items:
        failed, first = evaluate(item, root)
        problem = expectation_problem(item, failed, first)
        if problem:
            problems.append(f"{item['id']}: {problem}")
        item["failures"] = failed
    manifest = {
        "protocol": "piaojue/1 revision 2",
        "document": "docs/protocol.md",
        "generator": "python -m conformance.generate",
        "checks": [name for name, _ in CHECKS] + ["receipt"],
        "vectors": items,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for problem in problems:
        print("PROBLEM", problem, file=sys.stderr)
    valid_n = sum(1 for i in items if i["result"] == "valid")
    print(f"{len(items)} vectors ({valid_n} valid, {len(items) - valid_n} invalid) in {time.perf_counter() - started:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
