"""Fifty deputies post ballots at the same moment to the real service over HTTP (threaded
server): leaf indices stay contiguous and unshared, every receipt's inclusion proof verifies, and
the decrypted aggregate equals the sum of what was cast."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter

from werkzeug.serving import make_server

from ballot.receipt import verify_receipt
from keys.credentials import derive_private_key
from service.conftest import DemoMeeting, Deputy
from tally import demo
from tally.services import lifecycle
from tally.store import cache

DEPUTIES = 50


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_fifty_concurrent_ballots(app):
    with app.app_context():
        people = demo.create_demo("m1", DEPUTIES)
        parsed = cache.sealed_meeting("m1")
    meeting = DemoMeeting("m1", [Deputy(p.seat, p.code, derive_private_key(p.code, "m1")) for p in people],
                          parsed.hash, parsed.public_key)
    client = app.test_client()
    for deputy in meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    with app.app_context():
        lifecycle.open_vote("m1", "v3", actor="test")
    choices = [{"projects": [f"p{(i + j) % 13 + 1:02d}" for j in range(i % 11)]} for i in range(DEPUTIES)]
    ballots = [meeting.ballot(app, "v3", d, c) for d, c in zip(meeting.deputies, choices)]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}/api/meetings/m1/votes/v3/ballots"
    barrier = threading.Barrier(DEPUTIES)
    outcomes: list[tuple[int, dict] | None] = [None] * DEPUTIES

    def cast(i: int) -> None:
        barrier.wait()
        outcomes[i] = _post(url, ballots[i].entry)

    threads = [threading.Thread(target=cast, args=(i,)) for i in range(DEPUTIES)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        server.shutdown()
        server.server_close()
        serving.join(10)

    assert [status for status, _ in outcomes] == [201] * DEPUTIES, [o for o in outcomes if o[0] != 201][:3]
    receipts = [body for _, body in outcomes]
    indices = sorted(r["leaf_index"] for r in receipts)
    assert indices == list(range(indices[0], indices[0] + DEPUTIES))  # contiguous, none shared
    log_key = bytes.fromhex(client.get("/api/meetings/m1").get_json()["meeting"]["log_key"])
    for receipt, ballot in zip(receipts, ballots):
        verify_receipt(receipt, ballot.entry, log_key)
    assert client.get("/api/meetings/m1/votes/v3").get_json()["cast"] == DEPUTIES

    with app.app_context():
        lifecycle.close_vote("m1", "v3", actor="test")
        demo.demo_tally("m1", "v3")
    result = client.get("/api/meetings/m1/votes/v3/result").get_json()
    expected = Counter(option for c in choices for option in c["projects"])
    assert {t["option"]: t["count"] for t in result["tallies"]} == {f"p{i:02d}": expected[f"p{i:02d}"] for i in range(1, 14)}
