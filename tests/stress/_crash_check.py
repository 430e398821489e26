"""The checker of the crash campaign (issue #6, docs/reliability.md): given what the clients saw
and what the service holds at the end, list every violation of the promises the crash campaign
tests. Pure: no HTTP, no database; the campaign (tests.stress.crash) gathers the evidence, and
the tests feed the checker doctored evidence to show that it notices.

The promises (SPEC §5, §7, §8, §11):

``receipt``        every receipt a client got verifies (§8: shape, tracker, STH signature,
                   inclusion under its own STH) and names the ballot the client posted
``exactly_once``   every receipted ballot is in the log exactly once, at its receipt's leaf
``unreceipted``    a ballot that never got a receipt is in the log at most once
``foreign``        every ballot entry in the log is one a client posted
``gap``            the stored leaf indices are 0…n−1 and ``GET /entries`` serves the same n entries
``final_sth``      the final STH is signed by the log key, covers the whole log, and its root is
                   the Merkle root of the logged entries (recomputed here)
``sth_signature``  every STH a client ever saw (in a receipt or from ``GET /sth``) and every STH
                   in the record's history is signed by the log key
``sth_unrecorded`` every STH a client saw is in the record's history (an STH outside it was
                   signed by a transaction that did not commit)
``consistency``    every one of those STHs is consistent with the final one, by the consistency
                   proof ``GET /proofs/consistency`` served, checked with ballot.log (§7)
``inclusion``      every receipted ballot is in the final tree, by the inclusion proof
                   ``GET /proofs/inclusion`` served for the final tree size
``counted``        the vote's counted number (``GET …/aggregates``), the ``close`` entry's
                   ``ballots`` and the result's ``counted`` equal the distinct logged ballots
``aggregate``      the served aggregate is the homomorphic sum of the logged ballots
``tally``          the published counts are the counts of the choices the clients encrypted
``http``           no client got a 4xx, or a 5xx from a running server
``kills``          the server was killed at least as often as asked, while ballots were streaming
``verify``         ``python -m ballot.verify`` accepted the record (exit 0)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ballot.ballot import ballot_hash
from ballot.elgamal import Ciphertext, sum_ciphertexts
from ballot.errors import PiaojueError
from ballot.group import Point
from ballot.hashing import canonical_json, parse_json
from ballot.log import (
    leaf_hash,
    parse_hash_list,
    tree_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
    verify_sth,
)
from ballot.receipt import verify_receipt


@dataclass
class Evidence:
    """Everything the checker looks at. Hex strings and JSON objects as the API serves them."""

    vote_id: str
    log_key: bytes
    posted: list[str]
    """The §4.3 hash (hex) of each ballot the clients posted, by position."""
    choices: list[dict[str, list[str]]]
    """The plaintext choices of each posted ballot, by position."""
    receipts: dict[int, dict[str, Any]]
    """Position → the receipt the client kept (the 201, or the 200 of a retry)."""
    seen_sths: list[dict[str, Any]]
    """Every distinct STH a client saw, in receipts or from ``GET /sth``."""
    lines: list[bytes]
    """The record's ``log.jsonl``, one ``d_i`` per line."""
    served_entries: list[dict[str, Any]]
    """The log as ``GET /entries`` serves it, page after page."""
    stored_indices: list[int]
    """The leaf indices the database holds for the meeting, in order."""
    final_sth: dict[str, Any]
    sth_history: list[dict[str, Any]]
    """The record's ``sths.jsonl``: every STH the service signed and committed."""
    consistency: dict[int, list[str]]
    """Tree size → the served consistency proof from that size to the final size."""
    inclusion: dict[int, list[str]]
    """Leaf index → the served inclusion proof in the final tree."""
    counted: int
    """``counted`` of ``GET …/aggregates`` once the vote closed."""
    aggregates: list[dict[str, Any]]
    """``aggregates`` of ``GET …/aggregates``: ``{"contest", "option", "A", "B"}`` in vote order."""
    http_errors: list[str] = field(default_factory=list)
    """Responses no client should get: every 4xx, and every 5xx (a killed server answers none)."""
    kills: int = 0
    kills_wanted: int = 0
    verify_exit: int | None = None
    verify_output: str = ""


@dataclass
class Violation:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class _Findings:
    """Collects violations, keeping at most ``limit`` details per kind (and the count of all)."""

    def __init__(self, limit: int = 5) -> None:
        self.items: list[Violation] = []
        self.counts: Counter[str] = Counter()
        self.limit = limit

    def add(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= self.limit:
            self.items.append(Violation(kind, detail))

    def result(self) -> list[Violation]:
        out = list(self.items)
        for kind, count in self.counts.items():
            if count > self.limit:
                out.append(Violation(kind, f"… and {count - self.limit} more"))
        return out


def _sth_key(sth: dict[str, Any]) -> bytes:
    return canonical_json(sth)


def check(ev: Evidence) -> list[Violation]:
    """Every violation found in ``ev`` (an empty list when the campaign kept every promise)."""
    found = _Findings()
    entries = [parse_json(line) for line in ev.lines]
    size = len(entries)

    # gap: the stored indices, the served pages and the record are the same n entries.
    if ev.stored_indices != list(range(len(ev.stored_indices))):
        missing = sorted(set(range(max(ev.stored_indices, default=-1) + 1)) - set(ev.stored_indices))
        found.add("gap", f"stored leaf indices are not 0…n−1 (missing {missing[:10]})")
    if len(ev.stored_indices) != size:
        found.add("gap", f"the database holds {len(ev.stored_indices)} entries, the record {size}")
    if len(ev.served_entries) != size:
        found.add("gap", f"GET /entries served {len(ev.served_entries)} entries, the record has {size}")
    for i, (served, line) in enumerate(zip(ev.served_entries, ev.lines)):
        if canonical_json(served) != line:
            found.add("gap", f"GET /entries entry {i} differs from the record's line {i}")

    # final_sth: signed, covering the log, root recomputed here.
    leaves = [leaf_hash(line) for line in ev.lines]
    tree = tree_from_leaf_hashes(leaves)
    final = ev.final_sth
    try:
        verify_sth(final, ev.log_key)
    except PiaojueError as exc:
        found.add("final_sth", f"signature: {exc}")
    if final.get("tree_size") != size:
        found.add("final_sth", f"tree_size {final.get('tree_size')} but the log has {size} entries")
    elif tree.root(size).hex() != final.get("root"):
        found.add("final_sth", f"root is not the Merkle root of the {size} logged entries")
    final_size = final.get("tree_size") if isinstance(final.get("tree_size"), int) else size
    final_root = bytes.fromhex(final["root"]) if isinstance(final.get("root"), str) else b""

    # Ballots in the log, by hash.
    where: dict[str, list[int]] = {}
    ballot_entries: dict[int, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("type") == "ballot" and entry.get("vote_id") == ev.vote_id:
            digest = ballot_hash(entry).hex()
            where.setdefault(digest, []).append(i)
            ballot_entries[i] = entry
    posted = set(ev.posted)
    for digest, indices in where.items():
        if digest not in posted:
            found.add("foreign", f"ballot {digest[:16]}… at {indices} was never posted by a client")

    # receipt, exactly_once, inclusion.
    for position, receipt in sorted(ev.receipts.items()):
        digest = ev.posted[position]
        indices = where.get(digest, [])
        if receipt.get("ballot_hash") != digest:
            found.add("receipt", f"ballot {position}: the receipt names {str(receipt.get('ballot_hash'))[:16]}…")
        if len(indices) != 1:
            found.add("exactly_once", f"ballot {position} ({digest[:16]}…) got a receipt and is logged "
                                      f"{len(indices)} times, at {indices[:10]}")
        leaf = receipt.get("leaf_index")
        if not isinstance(leaf, int) or leaf not in ballot_entries:
            found.add("receipt", f"ballot {position}: leaf_index {leaf!r} is not a ballot entry of the log")
            continue
        if leaf not in indices:
            found.add("exactly_once", f"ballot {position}: its receipt says leaf {leaf}, the log has it at {indices}")
        try:
            verify_receipt(receipt, ballot_entries[leaf], ev.log_key)
        except PiaojueError as exc:
            found.add("receipt", f"ballot {position} (leaf {leaf}): {exc}")
        proof = ev.inclusion.get(leaf)
        if proof is None:
            found.add("inclusion", f"no inclusion proof of leaf {leaf} in the final tree")
            continue
        try:
            verify_inclusion(leaf_hash(ev.lines[leaf]), leaf, final_size,
                             parse_hash_list(proof, f"inclusion[{leaf}]"), final_root)
        except PiaojueError as exc:
            found.add("inclusion", f"leaf {leaf} (ballot {position}) in the final tree: {exc}")
    for position, digest in enumerate(ev.posted):
        if position not in ev.receipts and len(where.get(digest, [])) > 1:
            found.add("unreceipted", f"ballot {position} never got a receipt and is logged "
                                     f"{len(where[digest])} times")

    # STHs: signature, recorded, consistent with the final one.
    history = {_sth_key(sth) for sth in ev.sth_history}
    for sth in ev.seen_sths:
        if _sth_key(sth) not in history:
            found.add("sth_unrecorded", f"the STH of size {sth.get('tree_size')} a client saw is not in sths.jsonl")
    distinct = {_sth_key(sth): sth for sth in [*ev.seen_sths, *ev.sth_history]}
    for sth in distinct.values():
        try:
            verify_sth(sth, ev.log_key)
        except PiaojueError as exc:
            found.add("sth_signature", f"STH of size {sth.get('tree_size')}: {exc}")
            continue
        first = sth["tree_size"]
        proof = ev.consistency.get(first)
        if proof is None:
            found.add("consistency", f"no consistency proof from size {first} to the final size {final_size}")
            continue
        try:
            verify_consistency(first, final_size, bytes.fromhex(sth["root"]), final_root,
                               parse_hash_list(proof, f"consistency[{first}]"))
        except PiaojueError as exc:
            found.add("consistency", f"STH of size {first} and the final STH ({final_size}): {exc}")

    # counted, aggregate, tally.
    distinct_logged = len(where)
    if ev.counted != distinct_logged:
        found.add("counted", f"the service counts {ev.counted} ballots, the log holds {distinct_logged} distinct")
    closes = [e for e in entries if isinstance(e, dict) and e.get("type") == "close" and e.get("vote_id") == ev.vote_id]
    logged_entries = sum(len(v) for v in where.values())
    if len(closes) != 1 or closes[0].get("ballots") != logged_entries:
        found.add("counted", f"close entries {[c.get('ballots') for c in closes]}, {logged_entries} ballot entries")
    results = [e for e in entries if isinstance(e, dict) and e.get("type") == "result" and e.get("vote_id") == ev.vote_id]
    if len(results) != 1:
        found.add("tally", f"{len(results)} result entries for vote {ev.vote_id}")
    elif results[0].get("counted") != distinct_logged:
        found.add("counted", f"the result counts {results[0].get('counted')}, the log holds {distinct_logged} distinct")
    _check_sums(found, ev, where, ballot_entries, results[0] if len(results) == 1 else None)

    # http, kills, verify.
    for error in ev.http_errors:
        found.add("http", error)
    if ev.kills < ev.kills_wanted:
        found.add("kills", f"the server was killed {ev.kills} times under load, {ev.kills_wanted} wanted")
    if ev.verify_exit != 0:
        found.add("verify", f"python -m ballot.verify exited {ev.verify_exit}: {ev.verify_output[-500:]}")
    return found.result()


def _check_sums(found: _Findings, ev: Evidence, where: dict[str, list[int]],
                ballot_entries: dict[int, dict[str, Any]], result: dict[str, Any] | None) -> None:
    """The served aggregate is the sum of the logged ballots; the published counts are those of
    the choices encrypted in them (each logged ballot counted once: no recasts in this vote)."""
    columns: list[list[Ciphertext]] = []
    expected: Counter[tuple[str, str]] = Counter()
    position_of = {digest: i for i, digest in enumerate(ev.posted)}
    for digest, indices in where.items():
        entry = ballot_entries[indices[0]]
        cts = [Ciphertext(Point.from_hex(s["alpha"]), Point.from_hex(s["beta"]))
               for contest in entry["contests"] for s in contest["selections"]]
        if not columns:
            columns = [[] for _ in cts]
        for column, ct in zip(columns, cts):
            column.append(ct)
        if digest in position_of:
            for contest, options in ev.choices[position_of[digest]].items():
                for option in options:
                    expected[(contest, option)] += 1
    sums = [sum_ciphertexts(column) for column in columns]
    refs = [(a.get("contest"), a.get("option")) for a in ev.aggregates]
    if sums and len(sums) != len(ev.aggregates):
        found.add("aggregate", f"{len(ev.aggregates)} aggregates served, ballots have {len(sums)} selections")
    for (contest, option), total, served in zip(refs, sums, ev.aggregates):
        if (total.alpha.hex(), total.beta.hex()) != (served.get("A"), served.get("B")):
            found.add("aggregate", f"{contest}/{option}: the served (A, B) is not the sum of the logged ballots")
    if result is None:
        return
    for tally in result.get("tallies", []):
        key = (tally.get("contest"), tally.get("option"))
        if tally.get("count") != expected[key]:
            found.add("tally", f"{key[0]}/{key[1]}: published {tally.get('count')}, the logged ballots "
                               f"encrypt {expected[key]}")
