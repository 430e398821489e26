"""``python -m bench live`` in small (issue #5): 100 kiosk sockets and 5 presidium sockets on two
gunicorn instances behind nginx, Redis, PostgreSQL; 100 ballots. Every client must receive every
turnout event of its instance in order (never a lower count, the final count, then
``vote_state`` closed), the same sequence as the other clients of its kind on that instance.
Both workers run with tally.ops.gc_tuning's collector settings. Figures are the benchmark's
business; nothing here is timed."""

from __future__ import annotations

from bench import live
from tally.ops import gc_tuning


def test_no_turnout_event_is_lost_or_reordered_across_two_instances():
    (result,) = live.measure("gevent", 100, 1, lambda _line: None, streams=[("v1", None)], quiet=False)
    assert result.posted == result.ballots == 100
    assert not result.problems, result.problems
    assert result.complete == 100 + live.PRESIDIUM
    assert [i.sockets >= 50 for i in result.instances] == [True, True]  # ip_hash spread them over both
    assert result.presidium and result.kiosk  # every count reached the clients (latencies exist)
    assert 1 <= result.distinct_sequences <= 4  # one per instance and kind (kiosk, staff) at most
    # deploy/gunicorn.conf.py applied tally.ops.gc_tuning in both workers (their pause logs say so)
    assert result.gc_thresholds == [f"{gc_tuning.THRESHOLD0},10,10"] * 2
