"""``python -m tests.stress.fuzz --examples N``: the bad-input campaign at full size (issue #6).

Runs every class of tests/service/test_endpoint_fuzz.py (tests/stress/_fuzz_inputs.py) with N
generated inputs per class on each store (SQLite and PostgreSQL at 127.0.0.1:5432, a fresh schema),
and the record verifier classes of tests/test_record_fuzz.py with N tampered records each. Unlike
the tests it does not stop at the first violation: it counts them all. It prints two Markdown
tables (the ones in docs/reliability.md, "Bad input") and exits 1 if any input got a 5xx, changed
the store, got a code other than the one expected, or made the verifier raise or pass a tampered
record.

    .venv/bin/python -m tests.stress.fuzz --examples 1000            # both stores, all classes
    .venv/bin/python -m tests.stress.fuzz --examples 200 --stores sqlite --classes replay,identity
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from tests.stress._fuzz_inputs import CLASSES
from tests.stress._fuzz_record import (
    RecordJudge,
    RecordStats,
    resigned_tampering,
    service_record,
    simulated_record,
    tampered_zip,
)
from tests.stress._fuzz_run import run_class, table
from tests.stress._fuzz_world import STORES, ClassStats, Probe, open_world


def _records(examples: int, seed: int) -> dict[str, RecordStats]:
    folder = Path(tempfile.mkdtemp(prefix="piaojue-record-"))
    judge = RecordJudge(service_record(folder), strict=False)
    judge.verify_zip("untouched", judge.original_zip, cls="untouched")
    sim = simulated_record()
    config = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )

    @hypothesis_seed(seed)
    @config
    @given(tampered_zip(judge.original_zip))
    def zips(tampered):
        judge.verify_zip(*tampered)

    @hypothesis_seed(seed)
    @config
    @given(resigned_tampering(sim))
    def resigned(tampered):
        judge.verify_resigned(*tampered)

    zips()
    resigned()
    return judge.stats


def record_table(stats: dict[str, RecordStats]) -> str:
    rows = [
        "| Class | Records tried | Verifier exits | Checks that failed | Uncaught exceptions | Tampered records passed |",
        "|---|---:|---|---|---:|---:|",
    ]
    for name, s in stats.items():
        exits = ", ".join(f"{code}: {n}" for code, n in sorted(s.exits.items(), key=lambda kv: str(kv[0])))
        checks = ", ".join(f"`{check}` {n}" for check, n in s.failed_checks.most_common())
        passed = sum(1 for v in s.violations if "passed" in v)
        rows.append(f"| {name} | {s.tried:,} | {exits} | {checks or '—'} | {s.uncaught} | {passed} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="inputs per class and store (default 500)")
    parser.add_argument("--stores", default=",".join(STORES), help="sqlite,postgresql (default both; '' for none)")
    parser.add_argument("--classes", default="", help="comma-separated endpoint classes (default all)")
    parser.add_argument(
        "--records",
        type=int,
        default=None,
        help="tampered records per record class (default --examples; 0 skips the verifier)",
    )
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default random, printed)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    names = [n for n in args.classes.split(",") if n] or list(CLASSES)
    unknown = set(names) - set(CLASSES)
    if unknown:
        parser.error(f"unknown classes {sorted(unknown)}; known: {', '.join(CLASSES)}")
    print(f"seed {seed} (+1 per further store), {args.examples} inputs per class and store", flush=True)

    combined: dict[str, ClassStats] = {}
    violations: list[str] = []
    started = time.monotonic()
    for offset, store in enumerate(s for s in args.stores.split(",") if s):
        with open_world(store) as world:
            probe = Probe(world, strict=False)
            for name in names:
                t = time.monotonic()
                stats = run_class(
                    probe, name, max_examples=args.examples, derandomize=False, seed=seed + offset
                )
                print(
                    f"{store:10} {name:22} {stats.tried:6} inputs  {time.monotonic() - t:6.1f} s  "
                    f"5xx {stats.server_errors}  changes {stats.state_changes}  violations {len(stats.violations)}",
                    flush=True,
                )
                combined.setdefault(name, ClassStats()).merge(stats)
                violations.extend(f"{store}: {v}" for v in stats.violations)
    if combined:
        print(f"\nEndpoints ({', '.join(args.stores.split(','))}; {time.monotonic() - started:.0f} s):\n")
        print(table(combined))

    records = args.examples if args.records is None else args.records
    if records:
        t = time.monotonic()
        record_stats = _records(records, seed)
        print(f"\nRecord verifier ({time.monotonic() - t:.0f} s):\n")
        print(record_table(record_stats))
        violations.extend(f"record: {v}" for s in record_stats.values() for v in s.violations)
    if violations:
        print(f"\n{len(violations)} violations:")
        for line in violations[:50]:
            print("  " + line[:400])
        return 1
    print("\nno violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
