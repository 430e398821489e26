"""Two gunicorn instances behind nginx (ip_hash), PostgreSQL, and Redis as the Socket.IO message
queue: a ballot accepted by instance A produces ``turnout`` on a client connected to instance B,
and clients through nginx get the same events. Real processes, real sockets, real Redis."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
import socketio

from ballot.encrypt import encrypt_ballot
from ballot.hashing import parse_json
from ballot.meeting import parse_meeting
from ballot.vote import parse_vote
from bench.cluster import Cluster
from keys.credentials import derive_private_key, public_key_hex, sign_checkin


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return parse_json(response.read())


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


class Listener:
    """A python-socketio client over a real WebSocket, recording every /live event in order."""

    def __init__(self, base_url: str, meeting_id: str) -> None:
        self.events: list[tuple[str, dict]] = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        for name in ("presence", "vote_state", "turnout", "result"):
            self.client.on(name, self._recorder(name), namespace="/live")
        self.client.connect(base_url, namespaces=["/live"], transports=["websocket"], wait_timeout=10)
        assert self.client.call("join", {"meeting": meeting_id}, namespace="/live", timeout=10)["joined"] == meeting_id

    def _recorder(self, name: str):
        def record(payload: dict) -> None:
            with self.changed:
                self.events.append((name, payload))
                self.changed.notify_all()
        return record

    def wait_for(self, name: str, predicate, timeout: float = 10) -> dict:
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((p for n, p in self.events if n == name and predicate(p)), None), timeout
            )
        assert found, f"no {name} event matching; got {self.events}"
        return found

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(instances=2) as running:
        codes = tmp_path_factory.mktemp("codes") / "codes.json"
        running.flask("demo", "--deputies", "6", "--codes", str(codes), "--meeting", "m1")
        running.codes = json.loads(codes.read_text())["codes"]
        yield running


def test_a_ballot_on_instance_a_reaches_a_client_on_instance_b(cluster):
    a, b = cluster.url(0), cluster.url(1)
    on_b = Listener(b, "m1")
    via_nginx = Listener(cluster.url(), "m1")
    try:
        meeting = parse_meeting(_get(f"{a}/api/meetings/m1")["meeting"])
        keys = [derive_private_key(c["code"], "m1") for c in cluster.codes]
        for i, (key, code) in enumerate(zip(keys, cluster.codes)):
            body = {"credential": public_key_hex(key), "seat": code["seat"],
                    "signature": sign_checkin(key, meeting.hash, code["seat"])}
            assert _post(f"{a if i % 2 == 0 else b}/api/meetings/m1/checkin", body)[0] == 200
        on_b.wait_for("presence", lambda p: p["present"] == 6 and p["quorum_met"])
        via_nginx.wait_for("presence", lambda p: p["present"] == 6)

        cluster.flask("vote", "open", "m1", "v1")  # a CLI process: its events travel through Redis too
        on_b.wait_for("vote_state", lambda p: p["vote_id"] == "v1" and p["state"] == "open")
        vote = parse_vote(_get(f"{a}/api/meetings/m1/votes/v1")["vote"])
        ballot = encrypt_ballot(vote, meeting.hash, meeting.public_key, keys[0], {"motion": ["yes"]})
        status, receipt = _post(f"{a}/api/meetings/m1/votes/v1/ballots", ballot.entry)
        assert status == 201, receipt
        assert on_b.wait_for("turnout", lambda p: p["cast"] == 1) == {"vote_id": "v1", "cast": 1, "present": 6}
        via_nginx.wait_for("turnout", lambda p: p["cast"] == 1)

        second = encrypt_ballot(vote, meeting.hash, meeting.public_key, keys[1], {"motion": ["no"]})
        assert _post(f"{cluster.url()}/api/meetings/m1/votes/v1/ballots", second.entry)[0] == 201  # through nginx
        on_b.wait_for("turnout", lambda p: p["cast"] == 2)
        casts = [p["cast"] for n, p in on_b.events if n == "turnout"]
        assert casts == sorted(casts)  # never reordered

        cluster.flask("vote", "close", "m1", "v1")
        cluster.flask("vote", "tally", "m1", "v1")
        result = on_b.wait_for("result", lambda p: p["vote_id"] == "v1")
        assert result["outcome"]["items"][0]["counts"] == {"yes": 1, "no": 1, "abstain": 0}
    finally:
        on_b.close()
        via_nginx.close()
