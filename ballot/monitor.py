"""``piaojue-monitor BASE_URL MEETING`` (also ``python -m ballot.monitor``): follows a live meeting
over the §11 API and verifies every entry as it is logged (docs/protocol.md §13 "The monitor").

For each new STH it:

1. checks the STH's shape and its signature under the meeting's ``log_key`` (§7);
2. verifies the RFC 9162 consistency proof from the last tree head it verified (§7) — a failure
   names the two tree heads (a fork);
3. fetches the new entries (``GET …/entries``, pages of at most 1000) and checks that the tree
   of everything it holds has exactly the STH's root — otherwise it locates, by consistency
   proofs against prefixes, the first entry the signed root does not commit to;
4. feeds the entries to :class:`ballot.audit.Auditor`, the reference verifier's own replay (the
   checks of ``piaojue-verify``, by the same code, counts bounded as each result arrives);
5. saves its state, prints one progress line, and with ``--witness-key`` posts a §13
   cosignature of the tree head.

On the first failure it exits 1 naming the entry (and the check) or the two tree heads, and
records the failure in the state directory, so that a restarted witness never cosigns again
(§13 rule 7). Exit 2: usage, the service cannot be reached with ``--once``, or a state directory
that does not verify.

**State** (``--state DIR``): a §8 record of the verified prefix — ``log.jsonl``, ``sth.json``
(the last verified STH), ``sths.jsonl`` (every STH verified) — which ``piaojue-verify`` accepts,
plus ``failure.json`` after a failure and ``cosigned.json`` (the last cosignature). On restart the
monitor re-reads the record, replays it through the auditor and checks the saved STH against it
(signature, size, root) before it polls again: it re-verifies rather than trusts its file, so no
serialised auditor state exists to go stale or be edited, and the promise of §13 rule 7 survives
a restart. The cost is one full replay at start (what ``piaojue-verify`` takes on the record).

Only the standard library (``urllib``) and ``ballot/``: it installs with the verifier alone.
Ballot checks run on one core; spreading them over processes is left for later (the auditor's
state is sequential, but ballot proofs are independent and could be verified ahead in a pool).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot.audit import Auditor
from ballot.errors import EncodingError, FetchError, LogError, MeetingError, MonitorError, RecordError
from ballot.hashing import canonical_json, parse_json
from ballot.log import (
    MerkleTree,
    SignedTreeHead,
    leaf_hash,
    parse_hash_list,
    parse_sth,
    verify_consistency,
    verify_sth,
)
from ballot.meeting import parse_meeting
from ballot.record import read_record
from ballot.witness import load_witness_key, sign_cosignature

PAGE = 1000
"""Entries per request: the reference service's bound (§11)."""


def _head(sth: SignedTreeHead) -> str:
    return f"(tree_size {sth.tree_size}, root {sth.root.hex()[:16]}…, timestamp {sth.timestamp})"


class Client:
    """The §11 API of one meeting over ``urllib``; every body is parsed strictly (§1 rule 14)."""

    def __init__(self, base_url: str, meeting_id: str, *, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/") + "/api/meetings/" + urllib.parse.quote(meeting_id, safe="")
        self.timeout = timeout

    def _request(self, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else canonical_json(body)
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data, headers, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            code = None
            try:
                parsed = parse_json(raw)
                code = parsed.get("error") if isinstance(parsed, dict) else None
            except EncodingError:
                pass
            raise FetchError(f"{request.get_method()} {path}: HTTP {exc.code} {code or ''}".rstrip(),
                             status=exc.code, code=code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"{request.get_method()} {path}: {exc}") from None
        try:
            return status, parse_json(raw, where=path)
        except EncodingError as exc:
            raise FetchError(f"{path}: the body is not a JSON document: {exc}") from None

    def sth(self) -> Any:
        return self._request("/sth")[1]

    def entries(self, start: int, end: int) -> list[Any]:
        body = self._request(f"/entries?start={start}&end={end}")[1]
        entries = body.get("entries") if isinstance(body, dict) else None
        if not isinstance(entries, list) or len(entries) != end - start:
            raise MonitorError(f"GET entries?start={start}&end={end} did not return {end - start} entries",
                               index=start)
        return entries

    def consistency(self, first: int, second: int) -> list[bytes]:
        body = self._request(f"/proofs/consistency?first={first}&second={second}")[1]
        try:
            return parse_hash_list(body.get("consistency") if isinstance(body, dict) else None, "consistency")
        except LogError as exc:
            raise MonitorError(f"the consistency proof from {first} to {second} is malformed: {exc}") from None

    def post_cosignature(self, cosignature: dict[str, Any]) -> int:
        return self._request("/cosignatures", cosignature)[0]


class Monitor:
    """One meeting's monitor: the verified prefix, the auditor fed with it, and the state on disk."""

    def __init__(
        self,
        client: Client,
        meeting_id: str,
        *,
        state: Path | None = None,
        witness_key: Ed25519PrivateKey | None = None,
        meeting_hash: bytes | None = None,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.meeting_id = meeting_id
        self.state = state
        self.witness_key = witness_key
        self.pinned_hash = meeting_hash
        self.out = out if out is not None else sys.stdout
        self.clock = clock
        self.auditor = Auditor()
        self.tree = MerkleTree()
        """The tree of every entry fetched (it runs ahead of the auditor's only inside a step)."""
        self.last: SignedTreeHead | None = None
        self.last_json: dict[str, Any] | None = None
        self.cosigning = witness_key is not None

    # ------------------------------------------------------------------ state

    def resume(self) -> None:
        """Reload the state directory, if it holds a record: replay it and check its STH."""
        if self.state is None:
            return
        self.state.mkdir(parents=True, exist_ok=True)
        failure_file = self.state / "failure.json"
        if failure_file.exists():
            raise MonitorError("this state directory records an earlier failure, and a witness never cosigns "
                               f"after one (§13 rule 7): {failure_file.read_text(encoding='utf-8').strip()}")
        if not (self.state / "log.jsonl").exists():
            return
        try:
            record = read_record(self.state)
        except RecordError as exc:
            raise RecordError(f"the state directory {self.state} cannot be read: {exc}") from None
        for line, entry in zip(record.lines, record.entries):
            self.tree.append(leaf_hash(line))
            failures = self.auditor.feed(line, entry)
            if failures:
                name, failure = failures[0]
                raise RecordError(f"the state directory does not verify: {name}: {failure}")
        try:
            self.last = self.auditor.check_tree_head(record.sth)
        except LogError as exc:
            raise RecordError(f"the state directory's sth.json does not match its log: {exc}") from None
        self.last_json = record.sth
        self._check_meeting_id()
        self.out.write(f"resumed from {self.state}: tree size {self.last.tree_size}, "
                       f"{self.auditor.size} entries re-verified\n")
        self.out.flush()

    def _save(self, lines: list[bytes], sth: dict[str, Any]) -> None:
        if self.state is None:
            return
        with open(self.state / "log.jsonl", "ab") as log:
            log.write(b"".join(line + b"\n" for line in lines))
            log.flush()
            os.fsync(log.fileno())
        with open(self.state / "sths.jsonl", "ab") as sths:
            sths.write(canonical_json(sth) + b"\n")
        _write_atomic(self.state / "sth.json", json.dumps(sth, indent=2).encode() + b"\n")

    def _record_failure(self, message: str, evidence: dict[str, Any]) -> None:
        if self.state is None:
            return
        _write_atomic(self.state / "failure.json",
                      json.dumps({"failure": message, **evidence}, ensure_ascii=False, indent=2).encode() + b"\n")

    def _check_meeting_id(self) -> None:
        meeting = self.auditor.meeting
        if meeting is not None and meeting.meeting_id != self.meeting_id:
            raise MonitorError(f"the log's meeting entry is for meeting {meeting.meeting_id!r}, not {self.meeting_id!r}",
                               index=0)
        if meeting is not None and self.pinned_hash is not None and meeting.hash != self.pinned_hash:
            raise MonitorError("the meeting entry's hash is not the pinned --meeting-hash", index=0)

    # ------------------------------------------------------------------ one step

    def step(self) -> bool:
        """Fetch the latest STH and verify it and everything up to it. True if it was new."""
        sth_json = self.client.sth()
        try:
            head = parse_sth(sth_json)
        except LogError as exc:
            raise MonitorError(f"the service's STH is malformed: {exc}") from None
        try:
            return self._step(head, sth_json)
        except MonitorError as exc:
            evidence: dict[str, Any] = {"sth": sth_json}
            if self.last_json is not None:
                evidence["last_verified_sth"] = self.last_json
            if exc.index is not None:
                evidence["entry"] = exc.index
            self._record_failure(str(exc), evidence)
            raise

    def _log_key(self, first_entry: Any) -> bytes:
        if self.auditor.meeting is not None:
            return self.auditor.meeting.log_key
        try:
            return parse_meeting(first_entry).log_key
        except MeetingError as exc:
            raise MonitorError(f"entry 0 is not a meeting entry, so there is no log key: {exc}", index=0) from None

    def _step(self, head: SignedTreeHead, sth_json: dict[str, Any]) -> bool:
        last = self.last
        m, n = self.auditor.size, head.tree_size
        if self.auditor.meeting is not None:  # a fork is evidence only between two signed heads
            try:
                verify_sth(sth_json, self.auditor.meeting.log_key)
            except LogError as exc:
                raise MonitorError(f"tree head {_head(head)}: {exc}") from None
        if last is not None:
            if n < m:
                self._consistent(head, last, older_is_new=True)
                return False  # a stale tree head (a lagging replica): consistent, nothing new
            if n == m:
                if head.root != last.root:
                    raise MonitorError(f"fork: tree heads {_head(last)} and {_head(head)} have the same size and "
                                       "different roots")
                return False
            self._consistent(last, head)
        elif n == 0:
            return False
        # Fetch the new entries and check them against the signed root before replaying them.
        entries: list[Any] = []
        for start in range(m, n, PAGE):
            entries.extend(self.client.entries(start, min(n, start + PAGE)))
        lines = [canonical_json(entry) for entry in entries]  # a parsed document has a canonical form
        for line in lines:  # only once every page is in: a network error leaves the state as it was
            self.tree.append(leaf_hash(line))
        if self.auditor.meeting is None:
            try:
                verify_sth(sth_json, self._log_key(entries[0]))
            except LogError as exc:
                raise MonitorError(f"tree head {_head(head)}: {exc}") from None
        if self.tree.root(n) != head.root:
            index = self._first_uncommitted(m, head)
            raise MonitorError(f"entry {index}: the entries served do not hash to the signed root of tree head "
                               f"{_head(head)} (entry {index} is not the entry the log signed)", index=index)
        for offset, (line, entry) in enumerate(zip(lines, entries)):
            failures = self.auditor.feed(line, entry)
            if failures:
                name, failure = failures[0]
                raise MonitorError(f"entry {m + offset}: {name}: {failure.message}", index=m + offset)
            if m + offset == 0:
                self._check_meeting_id()
        try:
            self.auditor.check_tree_head(sth_json)
        except LogError as exc:
            raise MonitorError(f"tree head {_head(head)}: {exc}") from None
        self.last, self.last_json = head, sth_json
        self._save(lines, sth_json)
        lag = self.clock() - head.timestamp / 1000
        self._progress(head, n - m, lag)
        if self.cosigning:
            self._cosign(head)
        return True

    def _consistent(self, old: SignedTreeHead, new: SignedTreeHead, *, older_is_new: bool = False) -> None:
        first, second = (new, old) if older_is_new else (old, new)
        try:
            proof = self.client.consistency(first.tree_size, second.tree_size)
            verify_consistency(first.tree_size, second.tree_size, first.root, second.root, proof)
        except (LogError, FetchError) as exc:
            raise MonitorError(f"fork: tree heads {_head(first)} and {_head(second)} are not consistent: {exc}") from None

    def _first_uncommitted(self, good: int, head: SignedTreeHead) -> int:
        """The first index whose fetched entry the signed root does not commit to: the largest
        prefix size ``k`` that a consistency proof links to ``head`` is found by bisection, from
        ``good`` (known consistent) to ``head.tree_size`` (known not)."""
        low, high = good, head.tree_size
        while high - low > 1:
            middle = (low + high) // 2
            try:
                proof = self.client.consistency(middle, head.tree_size)
                verify_consistency(middle, head.tree_size, self.tree.root(middle), head.root, proof)
                low = middle
            except (LogError, FetchError, MonitorError):
                high = middle
        return low

    def _progress(self, head: SignedTreeHead, new: int, lag: float) -> None:
        report = self.auditor.report()
        counted = sum(vote["counted"] for vote in report.votes)
        states = [vote["state"] for vote in report.votes]
        self.out.write(
            f"tree {head.tree_size} (+{new}): {self.auditor.size} entries verified, {counted} ballots counted, "
            f"votes {states.count('published')} published/{len(states)}, lag {lag:.2f} s\n"
        )
        self.out.flush()

    def _cosign(self, head: SignedTreeHead) -> None:
        assert self.witness_key is not None and self.auditor.meeting is not None
        cosignature = sign_cosignature(self.witness_key, self.auditor.meeting.hash, head.tree_size, head.root,
                                       int(self.clock() * 1000))
        try:
            self.client.post_cosignature(cosignature)
        except FetchError as exc:
            if exc.status == 404 and exc.code in (None, "not_found"):
                self.out.write("the service does not take cosignatures (POST …/cosignatures: 404); "
                               "continuing without cosigning\n")
                self.cosigning = False
            elif exc.code == "unknown_tree_head":
                raise MonitorError(f"the service refuses a cosignature of its own signed tree head {_head(head)} "
                                   "as unknown_tree_head: it has signed two views") from None
            else:
                self.out.write(f"cosignature of tree size {head.tree_size} not accepted: {exc}\n")
            self.out.flush()
            return
        if self.state is not None:
            _write_atomic(self.state / "cosigned.json", canonical_json(cosignature) + b"\n")


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="piaojue-monitor",
        description="Follow a live Piaojue meeting over the public API and verify every entry as it is logged "
        "(docs/protocol.md §13).",
    )
    parser.add_argument("base_url", help="the tally service, e.g. http://127.0.0.1:5000")
    parser.add_argument("meeting", help="the meeting id")
    parser.add_argument("--state", type=Path, help="state directory (a record of the verified prefix); resumes from it")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls of the STH (default 1)")
    parser.add_argument("--once", action="store_true", help="verify up to the current STH, then exit")
    parser.add_argument("--until-idle", type=float, metavar="SECONDS",
                        help="exit 0 once no new STH has appeared for SECONDS")
    parser.add_argument("--witness-key", type=Path, metavar="FILE",
                        help="cosign every verified tree head with this witness key (32-byte seed, hex; §13)")
    parser.add_argument("--meeting-hash", help="pin the meeting hash Q (64 hex) instead of trusting entry 0 on first use")
    parser.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout in seconds")
    args = parser.parse_args(argv)
    try:
        key = load_witness_key(args.witness_key) if args.witness_key else None
        pinned = bytes.fromhex(args.meeting_hash) if args.meeting_hash else None
    except (LogError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    monitor = Monitor(Client(args.base_url, args.meeting, timeout=args.timeout), args.meeting, state=args.state,
                      witness_key=key, meeting_hash=pinned)
    try:
        monitor.resume()
    except MonitorError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    except RecordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    idle_since = time.monotonic()
    while True:
        try:
            if monitor.step():
                idle_since = time.monotonic()
        except MonitorError as exc:
            print(f"FAIL: {exc}", file=sys.stderr)
            return 1
        except FetchError as exc:
            print(f"warning: {exc}", file=sys.stderr)
            if args.once:
                return 2
        if args.once:
            return 0
        if args.until_idle is not None and time.monotonic() - idle_since >= args.until_idle:
            size = monitor.last.tree_size if monitor.last else 0
            print(f"idle for {args.until_idle:g} s at tree size {size}: every entry verified")
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
