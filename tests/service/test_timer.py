"""A vote opened with a duration closes by itself when its timer ends, exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tally.services import lifecycle, timers


def test_expired_votes_close_once(app, client, meeting):
    for deputy in meeting.deputies:
        client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy))
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t", duration_seconds=60)
        assert timers.close_expired_votes() == []  # not yet
        later = datetime.now(UTC) + timedelta(seconds=61)
        assert timers.close_expired_votes(later) == [("m1", "v1")]
        assert timers.close_expired_votes(later) == []  # already closed: one close entry
    entries = client.get(f"/api/meetings/m1/entries?start=0&end={client.get('/api/meetings/m1/sth').get_json()['tree_size']:d}")
    closes = [e for e in entries.get_json()["entries"] if e["type"] == "close"]
    assert len(closes) == 1 and closes[0]["vote_id"] == "v1"
    assert client.get("/api/meetings/m1/votes/v1").get_json()["state"] == "closed"


def test_timer_thread_closes_a_vote(app, client, meeting):
    with app.app_context():
        lifecycle.open_vote("m1", "v2", actor="t", duration_seconds=1)
    timer = timers.start(app)
    try:
        deadline = time.monotonic() + 10
        while client.get("/api/meetings/m1/votes/v2").get_json()["state"] != "closed":
            assert time.monotonic() < deadline, "the timer did not close the vote"
            time.sleep(0.2)
    finally:
        timer.stop()
