"""The record verifier against an earlier version of itself, in the same run.

``python -m bench verifier [--against REF]`` writes one record (542 deputies, the 23-project
selection, as ``bench core``), extracts the verifier of git revision ``REF`` (default: the last
commit before SPEC revision 2 reached the verifier) with ``git archive``, and times
``python -m ballot.verify`` of both versions on that record, alternating (ABBA), one process
each, so both see the same machine; the CPU time of each process is compared. It reports the median of each and their ratio, and the time to reject
the same record with one count forged to 2^53 − 1.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from ballot import templates
from ballot.record import write_record
from bench.report import table, write_section
from piaojue_tools import demo_data
from piaojue_tools.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REVISION_2 = "3687396"
"""The last commit whose verifier predates SPEC revision 2 (§8.1)."""


def _extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref, "ballot"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _time_verify(tree: Path, record: Path) -> tuple[float, float, int]:
    """Wall time and CPU time (user + system, from the child's rusage) of one verification, and
    its exit code. CPU time is the figure compared: on a shared machine it moves far less with the
    load than wall time does."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "ballot.verify", str(record)],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, child.returncode


def run(quick: bool = False, against: str = BEFORE_REVISION_2, rounds: int = 5) -> str:
    deputies = 60 if quick else 542
    rounds = 2 if quick else rounds
    votes_json = [templates.selection("v1", "2027年民生实事项目票决", demo_data.projects(23), 20)]
    sim = simulate(deputies, seed=7, votes_json=votes_json, turnout=1.0, spoil=False)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        honest = write_record(base / "honest", sim.log.entries, sim.log.sths[-1], sim.log.sths)
        forged_entries = json.loads(json.dumps(sim.log.entries))
        forged_entries[-1]["tallies"][0]["count"] = 2**53 - 1
        # The forger re-signs the tree head (tests/forgery.py does the same); only the count lies.
        from ballot.hashing import canonical_json
        from ballot.log import MerkleTree, leaf_hash, sign_sth

        tree = MerkleTree()
        tree.extend(leaf_hash(canonical_json(entry)) for entry in forged_entries)
        forged_sth = sign_sth(sim.log.log_key, tree.size, tree.root(tree.size), sim.log.sths[-1]["timestamp"])
        forged = write_record(base / "forged", forged_entries, forged_sth)
        trees = {"current": ROOT, f"before ({against})": _extract(against, base / "before")}
        cpu: dict[str, list[float]] = {name: [] for name in trees}
        wall: dict[str, list[float]] = {name: [] for name in trees}
        for turn in range(rounds):
            order = list(trees.items())
            for name, source in order if turn % 2 == 0 else reversed(order):  # ABBA: neither always first
                elapsed, used, code = _time_verify(source, honest)
                if code != 0:
                    raise SystemExit(f"{name} verifier rejected the honest record (exit {code})")
                wall[name].append(elapsed)
                cpu[name].append(used)
        forged_time, _forged_cpu, forged_code = _time_verify(ROOT, forged)
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    current = medians["current"]
    rows = [
        [name, f"{deputies}", f"{medians[name]:.2f} s", f"{min(values):.2f}–{max(values):.2f} s",
         f"{statistics.median(wall[name]):.2f} s", f"{medians[name] / current:.3f}"]
        for name, values in cpu.items()
    ]
    body = "\n\n".join(
        [
            f"`python -m ballot.verify` of one {deputies}-deputy record (23-project selection), "
            f"{rounds} alternating runs each, one process per run; CPU time (user + system) of the "
            "process, and the ratio of CPU times (version / current):\n\n"
            + table(["verifier", "deputies", "CPU median", "CPU range", "wall median", "ratio"], rows),
            (f"The same record with one count forged to 2^53 − 1 and the tree head re-signed: "
            f"rejected by the current verifier in {forged_time:.2f} s (exit {forged_code}; the "
            "honest record's verification includes the same process start-up)."),
        ]
    )
    return body


def main(quick: bool = False) -> str:
    body = run(quick)
    print(body)
    if not quick:
        write_section("verifier", "python -m bench verifier", body)
    return body
