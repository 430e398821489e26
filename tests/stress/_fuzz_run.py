"""Running a bad-input class with Hypothesis, and the report's table (issue #6 "Bad input").

Used by tests/service/test_endpoint_fuzz.py (CI-sized, strict: the first violation fails the
test) and by ``python -m tests.stress.fuzz`` (full-sized: every violation is counted)."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from tests.stress._fuzz_inputs import CLASSES
from tests.stress._fuzz_world import ClassStats, Probe


def run_class(
    probe: Probe, name: str, *, max_examples: int, derandomize: bool = True, seed: int | None = None
) -> ClassStats:
    """Send ``max_examples`` generated inputs of class ``name`` through ``probe``."""
    strategy = CLASSES[name].strategy(probe.world)
    phases = [Phase.generate, Phase.shrink] if probe.strict else [Phase.generate]

    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=phases,
        report_multiple_bugs=False,
    )
    @given(strategy)
    def each(req):
        probe.send(name, req)

    if seed is not None and not derandomize:
        each = hypothesis_seed(seed)(each)
    each()
    return probe.stats.setdefault(name, ClassStats())


def table(stats: dict[str, ClassStats], stores: Iterable[str] = ()) -> str:
    """The Markdown table of docs/reliability.md: one row per class."""
    rows = ["| Class | Inputs tried | 4xx codes seen | 5xx | Store changes |", "|---|---:|---|---:|---:|"]
    total = ClassStats()
    for name in CLASSES:
        s = stats.get(name)
        if s is None:
            continue
        total.merge(s)
        seen = ", ".join(f"`{code}` {n}" for code, n in s.codes.most_common())
        rows.append(f"| {name} | {s.tried:,} | {seen} | {s.server_errors} | {s.state_changes} |")
    rows.append(
        f"| **all** | **{total.tried:,}** | {len(total.codes)} distinct codes | **{total.server_errors}** "
        f"| **{total.state_changes}** |"
    )
    return "\n".join(rows)
