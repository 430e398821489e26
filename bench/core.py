"""The protocol core's speed (issue #2 targets), measured against libsodium's own bound.

* scalar multiplications per second (variable base and fixed base): the baseline;
* [0,1] range-proof verification per second, and its ratio to the rate that its 2 fixed-base
  and 6 variable-base multiplications alone allow (target ≥ 70 %);
* encrypt and verify time for the 13-project (up to 10) and 23-project (up to 20) ballots;
* whole-record verification of a 542-deputy meeting with a 23-project selection, in ballots per
  second on one core (target: under 15 s).

Run with ``python -m bench core`` (or ``python -m bench`` for every benchmark).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot import demo_data, templates
from ballot.audit import verify_record
from ballot.ballot import verify_ballot
from ballot.elgamal import encrypt
from ballot.encrypt import encrypt_ballot
from ballot.group import GENERATOR, Point, Scalar
from ballot.proofs import prove_range, verify_range
from ballot.record import read_record, write_record
from ballot.simulate import simulate
from ballot.vote import parse_vote
from bench.report import table, write_section


def per_call(fn: Callable[[], object], *, seconds: float = 0.5, repeats: int = 5) -> float:
    """Median seconds per call over ``repeats`` runs of about ``seconds`` each."""
    fn()
    calls = 1
    start = time.perf_counter()
    while time.perf_counter() - start < 0.05:
        fn()
        calls += 1
    batch = max(1, int(calls * seconds / 0.05))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples)


def run(quick: bool = False) -> str:
    secret = Scalar.random()
    key = Point.base_mul(secret)
    point = GENERATOR * Scalar.random()
    scalar = Scalar.random()
    t_var = per_call(lambda: point * scalar)
    t_base = per_call(lambda: Point.base_mul(scalar))
    t_add = per_call(lambda: point + key)

    ctx = os.urandom(32)
    ct, r = encrypt(1, key)
    proof = prove_range(ct, 1, r, 0, 1, key, ctx)
    t_verify01 = per_call(lambda: verify_range(ct, proof, 0, 1, key, ctx))
    bound01 = 2 * t_base + 6 * t_var
    rows = [
        ["scalar mult, variable base (baseline)", f"{1 / t_var:,.0f} /s", f"{t_var * 1e6:.1f} µs", "1.00"],
        ["scalar mult, fixed base", f"{1 / t_base:,.0f} /s", f"{t_base * 1e6:.1f} µs", f"{t_var / t_base:.2f}"],
        ["point addition (decode+add+encode)", f"{1 / t_add:,.0f} /s", f"{t_add * 1e6:.1f} µs", f"{t_var / t_add:.2f}"],
        ["[0,1] proof: bound from its 2 fixed + 6 variable mults", f"{1 / bound01:,.0f} /s", f"{bound01 * 1e6:.0f} µs", "—"],
        [
            "[0,1] proof verification",
            f"{1 / t_verify01:,.0f} /s",
            f"{t_verify01 * 1e6:.0f} µs",
            f"**{bound01 / t_verify01:.0%} of bound** (target ≥ 70%)",
        ],
    ]

    meeting_hash = os.urandom(32)
    credential = Ed25519PrivateKey.generate()
    ballot_rows = []
    for projects, seats in ((13, 10), (23, 20)):
        vote = parse_vote(templates.selection("v", "bench", demo_data.projects(projects), seats))
        choices = {"projects": [f"p{i:02d}" for i in range(1, seats + 1)]}
        t_enc = per_call(lambda: encrypt_ballot(vote, meeting_hash, key, credential, choices), seconds=1, repeats=3)
        entry = encrypt_ballot(vote, meeting_hash, key, credential, choices).entry
        t_ver = per_call(lambda: verify_ballot(entry, vote, meeting_hash, key), seconds=1, repeats=3)
        mults = projects * 8 + (seats + 1) * 4
        bound = projects * bound01 + (seats + 1) * (t_base + 3 * t_var)
        ballot_rows.append(
            [f"{projects} projects, up to {seats}", f"{t_enc * 1000:.1f} ms", f"{t_ver * 1000:.1f} ms",
             f"{mults}", f"{bound / t_ver:.0%}"]
        )

    deputies = 60 if quick else 542
    votes_json = [templates.selection("v1", "2027年民生实事项目票决", demo_data.projects(23), 20)]
    started = time.perf_counter()
    sim = simulate(deputies, seed=7, votes_json=votes_json, turnout=1.0, spoil=False)
    t_sim = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        write_record(tmp, sim.log.entries, sim.log.sths[-1], sim.log.sths)
        started = time.perf_counter()
        report = verify_record(read_record(tmp))
        t_record = time.perf_counter() - started
    assert report.ok, report.format()
    ballots = sim.results["v1"]["counted"]
    record_rows = [
        [f"{deputies} deputies, 23-project selection (20 of 23)", f"{ballots}", f"{len(sim.log.entries)}",
         f"{t_record:.1f} s", f"{ballots / t_record:.1f} /s", f"{t_sim:.1f} s"],
    ]
    body = "\n\n".join(
        [
            "Group operations and [0,1] proofs (baseline: one variable-base scalar multiplication):\n\n"
            + table(["operation", "rate", "time", "ratio"], rows),
            "Whole ballots (encrypt = kiosk side in Python; verify = §4.3 check incl. signature; "
            "last column: share of verify time spent in scalar multiplications):\n\n"
            + table(["ballot", "encrypt", "verify", "scalar mults", "mult share"], ballot_rows),
            "Whole-record verification, one core (target for 542 deputies: < 15 s):\n\n"
            + table(["record", "ballots", "entries", "verify time", "ballots/s", "simulate time"], record_rows),
        ]
    )
    return body


def main(quick: bool = False) -> str:
    body = run(quick)
    print(body)
    if not quick:
        write_section("core", "python -m bench core", body)
    return body
