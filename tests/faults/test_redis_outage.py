"""Fault: Redis (the Socket.IO message queue) down, then back (issue #6; docs/reliability.md
"Faults").

Two gunicorn instances share a private ``redis-server`` as ``SOCKETIO_MESSAGE_QUEUE``
(bench/cluster.py, with nginx and a fresh PostgreSQL schema as deployed). Python-socketio clients
listen on instance A and instance B over real WebSockets.

- Redis up: a ballot accepted by A reaches the client on B as ``turnout``.
- Redis stopped: ballots on both instances are still accepted (201 with receipts, nothing 5xx, no
  slower than a bound); each instance's own clients still get their instance's events (the
  Socket.IO manager delivers locally before it publishes), and a client joining B meanwhile is
  caught up with the current count. Only the cross-instance path is lost.
- Redis started again (same port): without restarting either instance, the client on B receives
  ``turnout`` for ballots accepted by A again, and the count it shows is the true one. The outage
  lasts 20 s: python-socketio's listener would by then wait 16 s between reconnections (it
  doubles up to 60 s); tally.live.turnout.LiveRedisManager caps that at 5 s, so live updates
  must resume within that cap (plus a second) of Redis coming back.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import socketio

from ballot.encrypt import encrypt_ballot
from ballot.meeting import parse_meeting
from ballot.vote import parse_vote
from bench.cluster import Cluster
from faults.conftest import request
from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from tally.live.turnout import LISTEN_RETRY_MAX

DEPUTIES = 40
BOUND = 5.0  # seconds: no ballot may wait on the missing message queue longer than this
OUTAGE = 20.0  # seconds: long enough for python-socketio's own back-off (1+2+4+8) to exceed the cap


class Listener:
    """A python-socketio client on one instance, recording ``(monotonic time, event, payload)``."""

    def __init__(self, base_url: str, meeting_id: str = "m1") -> None:
        self.events: list[tuple[float, str, dict]] = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        for name in ("presence", "vote_state", "turnout"):
            self.client.on(name, self._recorder(name), namespace="/live")
        self.client.connect(base_url, namespaces=["/live"], transports=["websocket"], wait_timeout=10)
        joined = self.client.call("join", {"meeting": meeting_id}, namespace="/live", timeout=10)
        assert joined["joined"] == meeting_id

    def _recorder(self, name: str):
        def record(payload: dict) -> None:
            with self.changed:
                self.events.append((time.monotonic(), name, payload))
                self.changed.notify_all()
        return record

    def wait_for(self, name: str, predicate, timeout: float = 10) -> tuple[float, dict] | None:
        def found():
            return next(((t, p) for t, n, p in self.events if n == name and predicate(p)), None)
        with self.changed:
            return self.changed.wait_for(found, timeout)

    def casts(self) -> list[int]:
        with self.changed:
            return [p["cast"] for _, n, p in self.events if n == "turnout"]

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def cluster(private_redis, tmp_path):
    with Cluster(instances=2, threads=16, redis_url=private_redis.url) as running:
        codes = tmp_path / "codes.json"
        running.flask("demo", "--deputies", str(DEPUTIES), "--codes", str(codes), "--meeting", "m1")
        running.codes = json.loads(codes.read_text())["codes"]
        yield running


def test_redis_down_then_back(cluster, private_redis):
    ports = cluster.ports
    meeting = parse_meeting(request(ports[0], "GET", "/api/meetings/m1").body["meeting"])
    keys = [derive_private_key(c["code"], "m1") for c in cluster.codes]
    for i, (key, code) in enumerate(zip(keys, cluster.codes)):
        body = {"credential": public_key_hex(key), "seat": code["seat"],
                "signature": sign_checkin(key, meeting.hash, code["seat"])}
        assert request(ports[i % 2], "POST", "/api/meetings/m1/checkin", body).status == 200
    cluster.flask("vote", "open", "m1", "v1")
    vote = parse_vote(request(ports[0], "GET", "/api/meetings/m1/votes/v1").body["vote"])
    ballots = iter(encrypt_ballot(vote, meeting.hash, meeting.public_key, key, {"motion": ["yes"]}) for key in keys)
    answers: list[tuple[int, int, float]] = []  # (instance, status, seconds)

    def cast(instance: int) -> int:
        """Post the next deputy's ballot to instance ``instance``; return the count after it."""
        answer = request(ports[instance], "POST", "/api/meetings/m1/votes/v1/ballots", next(ballots).entry)
        answers.append((instance, answer.status, answer.seconds))
        assert answer.status == 201 and answer.body["leaf_index"] > 0, answer
        return sum(1 for _, status, _ in answers if status == 201)

    on_a, on_b = Listener(cluster.url(0)), Listener(cluster.url(1))
    late = None
    try:
        # Redis up: A's ballot reaches B.
        assert on_b.wait_for("vote_state", lambda p: p["state"] == "open")
        count = cast(0)
        assert on_b.wait_for("turnout", lambda p, c=count: p["cast"] == c), on_b.events

        # Redis down: ballots still accepted on both instances, each instance's own clients still
        # live, and a client joining meanwhile is caught up.
        private_redis.stop()
        down_at = time.monotonic()
        for instance in (0, 1, 0, 1, 0, 1):
            count = cast(instance)
        assert on_a.wait_for("turnout", lambda p, c=count - 1: p["cast"] == c), on_a.events  # A's own ballot
        assert on_b.wait_for("turnout", lambda p, c=count: p["cast"] == c), on_b.events  # B's own ballot
        late = Listener(cluster.url(1))
        assert late.wait_for("turnout", lambda p, c=count: p["cast"] == c), late.events
        outage_answers = answers[1:]
        assert all(status == 201 for _, status, _ in outage_answers)
        slowest_in_outage = max(seconds for _, _, seconds in outage_answers)
        assert slowest_in_outage < BOUND

        # Redis back: without restarting anything, A's ballots reach B again.
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        private_redis.start()
        up_at = time.monotonic()
        resumed = None
        while resumed is None:
            assert time.monotonic() - up_at < LISTEN_RETRY_MAX + 1, (
                f"live updates did not resume within {LISTEN_RETRY_MAX + 1} s of Redis coming back")
            count = cast(0)
            resumed = on_b.wait_for("turnout", lambda p, c=count: p["cast"] == c, timeout=0.5)
        resumed_after = resumed[0] - up_at
        count = cast(1)  # and the other way: B's ballot reaches A
        assert on_a.wait_for("turnout", lambda p, c=count: p["cast"] == c), on_a.events
        for listener in (on_a, on_b, late):
            assert listener.casts() == sorted(listener.casts())  # never a lower count after a higher
        assert request(ports[1], "GET", "/api/meetings/m1/votes/v1").body["cast"] == count
        assert all(p.poll() is None for p in cluster.processes)  # nothing was restarted
        print(f"\nRedis down {up_at - down_at:.2f} s; slowest ballot during the outage {slowest_in_outage:.3f} s; "
              f"turnout from A reached B again {resumed_after:.2f} s after Redis was back "
              f"({len(answers)} ballots, all 201)")
    finally:
        for listener in (on_a, on_b, late):
            if listener is not None:
                listener.close()
