"""``piaojue-monitor`` (ballot/monitor.py, docs/protocol.md §13 "The monitor").

* Against small local HTTP servers that serve a simulated meeting's log over the §11 routes the
  monitor uses: an honest log followed as it grows (progress lines, state on disk that
  ``verify_record`` accepts, resume without refetching, cosignatures that verify, a service
  without the cosignature route), and liars: a fork (two signed tree heads that are not
  consistent), a rewritten entry (entries that do not hash to the signed root), and results
  that do not follow (a forged count re-signed, below and above ``counted``). Each must make the
  monitor exit 1 naming the problem.
* Against the real tally service (``flask --app tally demo-serve``, the README's main command)
  while simulated deputies vote: the monitor follows the meeting to the final STH and exits 0.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot import monitor
from ballot.audit import verify_record
from ballot.hashing import canonical_json, parse_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.meeting import parse_meeting
from ballot.record import read_record
from ballot.witness import parse_cosignature, verify_cosignature

try:  # the simulator moved into the tools package
    from piaojue_tools.simulate import simulate
except ImportError:  # pragma: no cover - before the move
    from ballot.simulate import simulate  # type: ignore[no-redef]  # the fallback binds the same name

MEETING = "m-monitor"
T0 = 1_796_534_400_000


@pytest.fixture(scope="module")
def sim():
    return simulate(deputies=6, seed=2, trustees=3, threshold=2)


def _tree(entries: list[dict[str, Any]]) -> MerkleTree:
    return MerkleTree.from_leaf_hashes(leaf_hash(canonical_json(e)) for e in entries)


class Service:
    """A §11 service for one meeting that serves whatever the test sets: ``entries`` (what
    ``GET entries`` returns), ``sth`` (what ``GET sth`` returns) and ``proofs`` (the tree that
    consistency proofs are computed from). ``cosign`` False answers ``POST cosignatures`` 404."""

    def __init__(self, meeting_id: str) -> None:
        self.meeting_id = meeting_id
        self.entries: list[dict[str, Any]] = []
        self.sth: dict[str, Any] | None = None
        self.proofs = MerkleTree()
        self.cosign = True
        self.cosignatures: list[dict[str, Any]] = []
        self.requests: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = {k: int(v[0]) for k, v in urllib.parse.parse_qs(url.query).items()}
                prefix = f"/api/meetings/{service.meeting_id}"
                service.requests.append(self.path)
                if url.path == prefix + "/sth":
                    return self._send(200, service.sth)
                if url.path == prefix + "/entries":
                    return self._send(200, {"entries": service.entries[query["start"]:query["end"]]})
                if url.path == prefix + "/proofs/consistency":
                    proof = service.proofs.consistency_proof(query["first"], query["second"])
                    return self._send(200, {"consistency": [h.hex() for h in proof]})
                self._send(404, {"error": "not_found", "message": self.path})

            def do_POST(self) -> None:
                body = parse_json(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != f"/api/meetings/{service.meeting_id}/cosignatures" or not service.cosign:
                    return self._send(404, {"error": "not_found", "message": self.path})
                service.cosignatures.append(body)
                self._send(201, {k: body[k] for k in ("witness", "tree_size", "cosigned_at")})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, entries: list[dict[str, Any]], size: int, key: Ed25519PrivateKey, *, at: int = 0,
              proofs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Serve ``entries`` and a tree head of their first ``size`` signed by ``key``; proofs
        come from ``proofs`` (default: the same entries)."""
        self.entries = entries
        tree = _tree(entries[:size])
        self.sth = sign_sth(key, size, tree.root(size), T0 + at)
        self.proofs = _tree(proofs if proofs is not None else entries)
        return self.sth

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service(sim):
    meeting_id = sim.log.entries[0]["meeting_id"]
    svc = Service(meeting_id)
    yield svc
    svc.close()


def run(service: Service, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = monitor.main([service.url, service.meeting_id, "--once", *args])
    return code, out.getvalue(), err.getvalue()


def _witness_key(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    path = tmp_path / "witness.key"
    path.write_text(bytes(range(32)).hex() + "\n")
    return path, key


# ----------------------------------------------------------------------------- honest logs


def test_follows_a_growing_log_resumes_from_its_state_and_cosigns(sim, service, tmp_path):
    entries, key = sim.log.entries, sim.log.log_key
    state = tmp_path / "state"
    key_file, _ = _witness_key(tmp_path)
    meeting = parse_meeting(entries[0])
    sizes = [12, 40, len(entries)]
    for step, size in enumerate(sizes):
        service.requests.clear()
        service.serve(entries, size, key, at=1000 * step)
        code, out, err = run(service, "--state", str(state), "--witness-key", str(key_file))
        assert code == 0, err
        assert re.search(rf"^tree {size} \(\+{size - ([0] + sizes)[step]}\): {size} entries verified, \d+ ballots "
                         r"counted, votes \d+ published/\d+, lag [\d.]+ s$", out, re.MULTILINE), out
        if step:  # resumed: the verified prefix is replayed from disk, not fetched again
            assert f"resumed from {state}: tree size {sizes[step - 1]}" in out
            starts = [int(q) for q in re.findall(r"entries\?start=(\d+)", " ".join(service.requests))]
            assert starts and min(starts) == sizes[step - 1], service.requests
        # The state directory is a record of the verified prefix.
        report = verify_record(read_record(state))
        assert report.ok, report.format()
        assert report.entries == size
    # Every cosignature is of a verified tree head, under the witness key, bound to Q.
    assert [c["tree_size"] for c in service.cosignatures] == sizes
    for cosignature in service.cosignatures:
        verify_cosignature(parse_cosignature(cosignature), meeting.hash)
        assert cosignature["root"] == _tree(entries).root(cosignature["tree_size"]).hex()
    report = verify_record(read_record(state))
    assert all(vote["state"] == "published" for vote in report.votes[:4])
    # Nothing new: still exit 0, nothing refetched.
    service.requests.clear()
    code, out, _ = run(service, "--state", str(state))
    assert code == 0 and not any("entries" in r for r in service.requests)


def test_a_service_without_the_cosignature_route_is_tolerated(sim, service, tmp_path):
    service.cosign = False
    service.serve(sim.log.entries, 20, sim.log.log_key)
    key_file, _ = _witness_key(tmp_path)
    code, out, err = run(service, "--witness-key", str(key_file))
    assert code == 0, err
    assert "the service does not take cosignatures" in out


def test_until_idle_exits_zero_once_the_log_stops_growing(sim, service):
    service.serve(sim.log.entries, len(sim.log.entries), sim.log.log_key)
    out = io.StringIO()
    with redirect_stdout(out):
        code = monitor.main([service.url, service.meeting_id, "--interval", "0.05", "--until-idle", "0.3"])
    assert code == 0
    assert f"at tree size {len(sim.log.entries)}: every entry verified" in out.getvalue()


# ----------------------------------------------------------------------------- liars


def _expect_failure(service: Service, *args: str) -> str:
    code, out, err = run(service, *args)
    assert code == 1, (out, err)
    assert err.startswith("FAIL: "), err
    return err


def test_a_fork_names_the_two_tree_heads(sim, service, tmp_path):
    entries, key = sim.log.entries, sim.log.log_key
    state = tmp_path / "state"
    service.serve(entries, 20, key)
    assert run(service, "--state", str(state))[0] == 0
    # The service now shows a log in which entry 3 (a vote definition) was rewritten, signed.
    forked = copy.deepcopy(entries)
    forked[3]["title"] = forked[3]["title"] + "（改）"
    service.serve(forked, 40, key, at=5000)
    err = _expect_failure(service, "--state", str(state))
    assert "fork: tree heads (tree_size 20," in err and "(tree_size 40," in err and "not consistent" in err
    evidence = json.loads((state / "failure.json").read_text())
    assert evidence["sth"]["tree_size"] == 40 and evidence["last_verified_sth"]["tree_size"] == 20
    # A witness never goes on after a failure, even when the service turns honest again.
    service.serve(entries, 40, key, at=6000)
    assert "records an earlier failure" in _expect_failure(service, "--state", str(state))


def test_same_size_different_root_is_a_fork(sim, service, tmp_path):
    entries, key = sim.log.entries, sim.log.log_key
    state = tmp_path / "state"
    service.serve(entries, 20, key)
    assert run(service, "--state", str(state))[0] == 0
    forked = copy.deepcopy(entries)
    forked[4]["title"] = "另一个标题"
    service.serve(forked, 20, key, at=5000)
    assert "same size and different roots" in _expect_failure(service, "--state", str(state))


def test_a_rewritten_entry_is_named(sim, service):
    entries, key = sim.log.entries, sim.log.log_key
    service.serve(entries, len(entries), key)  # the signed head and the proofs are the true log's
    rewritten = copy.deepcopy(entries)
    index = next(i for i, e in enumerate(entries) if e["type"] == "ballot" and i > 20)
    rewritten[index]["signature"] = "00" * 64
    service.entries = rewritten
    err = _expect_failure(service)
    assert f"entry {index}: the entries served do not hash to the signed root" in err, err


def _forged_result(entries: list[dict[str, Any]], delta: int) -> tuple[list[dict[str, Any]], int]:
    forged = copy.deepcopy(entries)
    index = next(i for i, e in enumerate(forged) if e["type"] == "result"
                 and any(item["count"] >= 1 for item in e["tallies"]))
    result = forged[index]
    item = next(item for item in result["tallies"] if item["count"] >= 1)
    item["count"] = result["counted"] + 1 if delta > 0 else item["count"] - 1
    return forged, index


@pytest.mark.parametrize(("delta", "check"), [(-1, "decryption"), (+1, "tallies")])
def test_a_result_that_does_not_follow_is_named(sim, service, delta, check):
    """A forged count in a log the service re-signed: consistent and signed, but the count is not
    what the shares decrypt to (−1), or exceeds ``counted`` and is refused before any decryption
    work (+1, V36)."""
    forged, index = _forged_result(sim.log.entries, delta)
    service.serve(forged, len(forged), sim.log.log_key)
    err = _expect_failure(service)
    assert f"entry {index}: {check}: " in err, err


def test_a_tree_head_signed_by_another_key_is_refused(sim, service):
    service.serve(sim.log.entries, 20, Ed25519PrivateKey.generate())
    assert "signature does not verify under the log key" in _expect_failure(service)


# ----------------------------------------------------------------------------- the real service


def _json(url: str, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_follows_the_real_service_while_deputies_vote(tmp_path):
    """demo-serve with simulated deputies: open a vote, let them vote, close and tally while the
    monitor (a separate process, as an auditor runs it) follows; it reaches the final STH and
    exits 0 when the log goes idle, and its state verifies as a record."""
    from bench.cluster import free_port, wait_http

    port = free_port()
    env = dict(os.environ, PIAOJUE_INSTANCE_PATH=str(tmp_path / "instance"), PIAOJUE_KEY_ENCRYPTION_KEY="44" * 32)
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "tally", "demo-serve", "--deputies", "12", "--port", str(port),
         "--pace", "4"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(server.stdout.readline, "")), daemon=True)
    reader.start()
    watcher = None
    try:
        def printed() -> bool:
            assert server.poll() is None, "demo-serve exited:\n" + "".join(lines)
            return any("Audit:" in line for line in lines)

        _wait(printed, 120, "demo-serve's links")
        control = re.search(r"(http://127\.0\.0\.1:\d+/demo/(demo-[\d-]+))", "".join(lines))
        assert control, "".join(lines)
        meeting, base = control.group(2), f"http://127.0.0.1:{port}"
        wait_http(f"{base}/kiosk/")
        _wait(lambda: _json(f"{control.group(1)}/state")["quorum_met"], 60, "the quorum")
        _json(f"{control.group(1)}/step", {"action": "open", "vote_id": "v1"})
        state = tmp_path / "monitor-state"
        watcher = subprocess.Popen(
            [sys.executable, "-m", "ballot.monitor", base, meeting, "--state", str(state), "--interval", "0.2",
             "--until-idle", "6"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        # 9 simulated deputies; some are absent or abstain by the demo's draw, so wait for most, not all.
        cast = _wait(lambda: (v := _json(f"{control.group(1)}/state")["votes"][0])["cast"] >= 5 and v["cast"], 90,
                     "simulated ballots")
        _json(f"{control.group(1)}/step", {"action": "close", "vote_id": "v1"})
        _json(f"{control.group(1)}/step", {"action": "tally", "vote_id": "v1"})
        final = _json(f"{base}/api/meetings/{meeting}/sth")
        out, err = watcher.communicate(timeout=180)
        assert watcher.returncode == 0, out + err
        progress = re.findall(r"^tree (\d+) \(\+\d+\): (\d+) entries verified, (\d+) ballots counted, "
                              r"votes (\d+) published/\d+, lag ([\d.]+) s$", out, re.MULTILINE)
        assert len(progress) >= 2, out  # it followed the log as it grew, not in one go
        last = progress[-1]
        assert int(last[0]) >= final["tree_size"] and last[0] == last[1]
        assert int(last[3]) >= 1  # the tallied vote's result was verified
        record = read_record(state)
        report = verify_record(record)
        assert report.ok, report.format()
        assert report.votes[0]["state"] == "published" and report.votes[0]["counted"] >= cast
        lags = [float(p[4]) for p in progress]
        print(f"monitor lag over {len(lags)} tree heads: max {max(lags):.2f} s, last {lags[-1]:.2f} s")
    finally:
        if watcher is not None:
            if watcher.poll() is None:
                watcher.kill()
            watcher.communicate(timeout=10)  # reaps it and closes its pipes
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        reader.join(5)
        server.stdout.close()


# ----------------------------------------------------------------------------- witness entries (V52)


def test_witness_entries_are_checked_by_v52(sim):
    from ballot.audit import Auditor
    from ballot.witness import sign_registration

    entries, q = sim.log.entries, parse_meeting(sim.log.entries[0]).hash
    witness = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    good = sign_registration(witness, q, "审计组 张三")

    def replay(extra: list[dict[str, Any]]):
        auditor = Auditor()
        failures = [auditor.feed(canonical_json(e)) for e in [*entries, *extra]]
        return auditor, [f for batch in failures for f in batch]

    auditor, failures = replay([good])
    assert failures == [] and auditor.report().checks["witnesses"].checked == 1
    assert "witnesses" not in replay([])[0].report().checks  # only when the log holds one
    n = len(entries)
    for bad, message in [
        ([good, good], "registered twice"),
        ([dict(good, name="审计组 李四")], "does not verify"),
        ([dict(good, key=entries[0]["log_key"])], "log key"),
        ([dict(good, extra=1)], "exactly the fields"),
        ([dict(good, name="")], "1 to 64"),
    ]:
        _, failures = replay(bad)
        assert [name for name, _ in failures] == ["witnesses"], (message, failures)
        assert failures[0][1].index == n + len(bad) - 1 and message in failures[0][1].message, failures
