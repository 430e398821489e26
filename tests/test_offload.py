"""tally.ops.offload: under gevent, a ballot's CPU-bound check runs in a native thread and the hub
keeps serving other greenlets meanwhile; without gevent it runs in the caller. Real ballot
verification, in a fresh interpreter with gevent's monkey-patching (as gunicorn's gevent worker
applies it)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _run(mode: str) -> dict:
    script = textwrap.dedent(
        """
        import sys
        if sys.argv[1] == "gevent":
            from gevent import monkey
            monkey.patch_all()
        import json, time
        import gevent
        from tally.ops import offload
        from ballot.group import Point, Scalar

        def work():
            # CPU-bound like a ballot check: libsodium scalar multiplications, about 0.3 s
            from gevent import monkey as m
            ident = m.get_original("threading", "get_ident")()
            p = Point.generator()
            for _ in range(5000):
                p = p * Scalar.random()
            return ident

        ticks = []
        def ticker():
            while True:
                ticks.append(time.monotonic())
                gevent.sleep(0.001)

        from gevent import monkey as m
        main_ident = m.get_original("threading", "get_ident")()
        g = gevent.spawn(ticker)
        gevent.sleep(0.01)
        before = len(ticks)
        worker_ident = offload.cpu_bound(work)
        during = len(ticks) - before
        g.kill()
        print(json.dumps({"same_thread": worker_ident == main_ident, "ticks_during": during}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_under_gevent_the_work_runs_in_a_native_thread_and_the_hub_goes_on():
    result = _run("gevent")
    assert result["same_thread"] is False
    assert result["ticks_during"] >= 10, result  # the ticker greenlet kept running


def test_without_gevent_the_work_runs_in_the_caller():
    result = _run("plain")
    # no monkey-patching: the caller's thread does the work, and the ticker (a greenlet that
    # only runs when the main greenlet yields) cannot run meanwhile
    assert result == {"same_thread": True, "ticks_during": 0}
