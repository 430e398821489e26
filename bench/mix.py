"""The write-in mix of protocol §12.5–§12.6 (issue #15 targets), against the scalar-multiplication rate
measured in the same run.

Workload: a 542-deputy election with 3 write-in slots, so 1,626 name ciphertexts of 2 chunks
(3,252 ElGamal ciphertexts). §12.5 mixes one row per ballot (542 rows of width 6); the table also
times the other layout, one row per slot (1,626 rows of width 2), for comparison.

* one trustee's shuffle with its proof (target ≤ 3 s on one core), and its verification;
* per name ciphertext (per slot) prove and verify costs;
* the share of each time that its scalar multiplications alone account for (the ratio of §3's
  bench core): the rest is point additions (each a decode + add + encode in libsodium) and Python;
* one trustee's name shares (§12.6) and their verification, and the close → published estimate
  for 3 trustees mixing and decrypting, everything verified once, sequentially on one core.

Run with ``python -m bench mix``.
"""

from __future__ import annotations

import os
import time

from ballot.elgamal import Ciphertext
from ballot.group import GENERATOR, Point, Scalar
from ballot.shuffle import generators, prove_shuffle, shuffle, verify_shuffle
from ballot.writein import encrypt_name, prove_name_share, verify_name_share
from bench.core import interleaved, median_of
from bench.report import table, write_section


def _rows(ballots: int, slots: int, key: Point, per_ballot: bool) -> list[tuple[Ciphertext, ...]]:
    names = [encrypt_name("王小明" if (b + s) % 5 == 0 else "", key)[0] for b in range(ballots) for s in range(slots)]
    if per_ballot:
        return [tuple(ct for name in names[b * slots : (b + 1) * slots] for ct in name) for b in range(ballots)]
    return [tuple(name) for name in names]


def _shuffle_and_prove(rows, key: Point, q: bytes, hv: bytes, share: Scalar):
    started = time.perf_counter()
    result = shuffle(rows, key)
    t_shuffle = time.perf_counter() - started
    return result, prove_shuffle(rows, result, key, q, hv, 1, share), t_shuffle


def _counts(n: int, width: int) -> dict[str, tuple[int, int]]:
    """(variable-base, fixed-base) scalar multiplications of each step (§12.5 rules 4, 6, 8)."""
    return {
        "prove": (3 * width * n + 3 * n + width + 1, width * n + 3 * n + width + 4),
        "verify": (4 * width * n + 4 * n + width + 2, n + width + 4),
    }


def _baseline(point: Point, scalar: Scalar) -> tuple[float, float]:
    """(variable-base, fixed-base) seconds per multiplication, measured now (about 0.2 s)."""
    samples = interleaved({"var": lambda: point * scalar, "base": lambda: Point.base_mul(scalar)}, seconds=0.05, rounds=2)
    return median_of(samples, lambda s: s["var"]), median_of(samples, lambda s: s["base"])


def _timed(fn, point: Point, scalar: Scalar):
    """Run ``fn`` once; return its result, its time, and the multiplication rates measured just
    before and just after it (averaged), since this VM's speed drifts over seconds."""
    before = _baseline(point, scalar)
    started = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - started
    after = _baseline(point, scalar)
    return value, elapsed, ((before[0] + after[0]) / 2, (before[1] + after[1]) / 2)


def run(quick: bool = False) -> str:
    secret, share = Scalar.random(), Scalar.random()
    key, k_l = Point.base_mul(secret), Point.base_mul(share)
    q, hv = os.urandom(32), os.urandom(32)
    ballots, slots = (60, 3) if quick else (542, 3)
    load = os.getloadavg()[0]
    point, scalar = GENERATOR * Scalar.random(), Scalar.random()
    samples = interleaved({"var": lambda: point * scalar, "base": lambda: Point.base_mul(scalar), "add": lambda: point + key},
                          rounds=3 if quick else 5)
    t_var = median_of(samples, lambda s: s["var"])
    t_base = median_of(samples, lambda s: s["base"])
    t_add = median_of(samples, lambda s: s["add"])

    rows_out = []
    measured: dict[str, float] = {}
    for label, per_ballot in (("one row per ballot (§12.5)", True), ("one row per slot", False)):
        rows = _rows(ballots, slots, key, per_ballot)
        n, width = len(rows), len(rows[0])
        generators(n + 1)  # cached per process, as in a trustee tool or a verifier
        (result, proof, t_shuffle), t_prove, rates_p = _timed(lambda: _shuffle_and_prove(rows, key, q, hv, share), point, scalar)  # noqa: B023 - called within this iteration
        _, t_verify, rates_v = _timed(lambda: verify_shuffle(rows, result.output, proof, key, q, hv, 1, k_l), point, scalar)  # noqa: B023 - called within this iteration
        counts = _counts(n, width)
        bound_p = counts["prove"][0] * rates_p[0] + counts["prove"][1] * rates_p[1]
        bound_v = counts["verify"][0] * rates_v[0] + counts["verify"][1] * rates_v[1]
        names = ballots * slots
        rows_out.append([
            label, f"{n} × {width}", f"{t_shuffle:.2f} s", f"**{t_prove:.2f} s**", f"{t_verify:.2f} s",
            f"{t_prove / names * 1e3:.2f} ms", f"{t_verify / names * 1e3:.2f} ms",
            f"{bound_p / t_prove:.0%}", f"{bound_v / t_verify:.0%}",
        ])
        measured[label] = t_prove + t_verify
        if per_ballot:
            mix_rows, mix_result, mix_times = rows, result, (t_prove, t_verify)

    # §12.6: one trustee's name shares over the last output, and their verification
    alphas = [ct.alpha for row in mix_result.output for ct in row]
    started = time.perf_counter()
    shares = [prove_name_share(share, alpha, q, hv, 1) for alpha in alphas]
    t_share = time.perf_counter() - started
    started = time.perf_counter()
    for alpha, (partial, pair) in zip(alphas, shares):
        verify_name_share(partial, pair, k_l, alpha, q, hv, 1)
    t_share_verify = time.perf_counter() - started
    t_prove, t_verify = mix_times
    pipeline = 3 * (t_prove + t_verify) + 3 * (t_share + t_share_verify)
    # trustees on their own machines: the shuffles are sequential (each takes the previous output)
    # and verified by the service as they arrive; the name shares are made in parallel
    critical = 3 * (t_prove + t_verify) + t_share + 3 * t_share_verify
    _ = mix_rows

    body = "\n\n".join([
        (f"Baseline in this run: variable-base scalar multiplication {t_var * 1e6:.1f} µs, fixed-base "
        f"{t_base * 1e6:.1f} µs, point addition {t_add * 1e6:.1f} µs (load average "
        f"{load:.1f} on this 2-core VM when the benchmark started)."),
        f"One trustee's shuffle of {ballots} ballots × {slots} write-in slots = {ballots * slots:,} name "
        "ciphertexts of 2 chunks (target: shuffle with proof ≤ 3 s on one core). \"mult share\" is the "
        "time that the step's scalar multiplications alone take, at the rates measured just before and "
        "after the step, over the measured time; the rest is point additions and Python:\n\n"
        + table(
            ["layout", "rows × width", "shuffle", "shuffle + proof", "verify", "prove / name", "verify / name",
             "prove mult share", "verify mult share"],
            rows_out,
        ),
        "Name decryption (§12.6), one trustee, and close → published for 3 trustees, sequential on one "
        "core (each shuffle proved and verified once, each trustee's name shares made and verified; "
        "target ≤ 10 s):\n\n"
        + table(
            ["step", "time"],
            [
                [f"name shares of one trustee ({len(alphas):,} Chaum–Pedersen proofs)", f"{t_share:.2f} s"],
                ["their verification", f"{t_share_verify:.2f} s"],
                ["3 × (shuffle + proof + verify) + 3 × (shares + verify), all on one core", f"**{pipeline:.1f} s**"],
                ["the same with each trustee on its own machine (shares in parallel)", f"{critical:.1f} s"],
            ],
        ),
    ])
    return body


def main(quick: bool = False) -> str:
    body = run(quick)
    print(body)
    if not quick:
        write_section("mix", "python -m bench mix", body)
    return body
