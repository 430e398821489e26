"""Coalesced ``turnout`` on ``/live`` (tally.live.turnout, docs/spec-notes.md): at most one event
per room and vote per interval, the first at once and the latest count always delivered, never a
lower count after a higher one, and never overtaken by the room's next event (``vote_state``
``closed`` comes after the final count). Real ballots, real crypto, SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from service.conftest import make_app, staff_headers
from tally.live.broadcast import NAMESPACE, meeting_room, socketio, staff_room
from tally.live.turnout import TurnoutGate
from tally.services import lifecycle

INTERVAL = 2.0  # long enough that a handful of in-process ballots fall inside one interval
STAFF_INTERVAL = 0.5


@pytest.fixture
def app(database_url, tmp_path):
    application = make_app(database_url, str(tmp_path / "instance"), LIVE_TURNOUT_INTERVAL=INTERVAL,
                           LIVE_TURNOUT_STAFF_INTERVAL=STAFF_INTERVAL)
    yield application
    application.extensions["piaojue.engine"].dispose()


def _events(live) -> list[tuple[str, dict]]:
    """Everything received so far (read without clearing: the trailing edge appends from a
    background thread, which the test client's get_received could race with)."""
    return [(e["name"], e["args"][0]) for e in list(live.queue) if e["namespace"] == NAMESPACE]


def _wait(live, predicate, timeout: float = INTERVAL + 5) -> list[tuple[str, dict]]:
    deadline = time.monotonic() + timeout
    while True:
        events = _events(live)
        if predicate(events):
            return events
        assert time.monotonic() < deadline, f"timed out; received {events}"
        time.sleep(0.02)


def _turnouts(events) -> list[int]:
    return [p["cast"] for name, p in events if name == "turnout"]


def _joined(app, client, token: str | None = None):
    auth = {"token": token} if token else None
    live = socketio.test_client(app, namespace=NAMESPACE, auth=auth, flask_test_client=client)
    ack = live.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    assert ack == {"joined": "m1", "staff": token is not None}
    return live


def test_turnout_is_coalesced_and_the_final_count_precedes_close(app, client, meeting):
    gate = socketio.server.manager
    assert isinstance(gate, TurnoutGate) and (gate.gate_interval, gate.gate_staff_interval) == (INTERVAL, STAFF_INTERVAL)
    for deputy in meeting.deputies[:8]:
        client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy))
    live = _joined(app, client)
    staff = _joined(app, client, staff_headers(app, "presidium")["Authorization"].split()[1])
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t")
    _wait(live, lambda ev: _turnouts(ev) == [0])  # the first count goes out at once (leading edge)

    started = time.monotonic()
    for deputy in meeting.deputies[:3]:
        entry = meeting.ballot(app, "v1", deputy, {"motion": ["yes"]}).entry
        assert client.post("/api/meetings/m1/votes/v1/ballots", json=entry).status_code == 201
    elapsed = time.monotonic() - started
    # without a close, the latest count still arrives: at the end of the interval (trailing edge)
    events = _wait(live, lambda ev: _turnouts(ev)[-1:] == [3])
    casts = _turnouts(events)
    assert casts == sorted(set(casts)) and casts[0] == 0
    # one event per interval at most: 3 ballots inside one interval give 1 or 2 events, not 3
    assert len(casts) - 1 <= 2 + int(elapsed / INTERVAL), (casts, elapsed)

    for deputy in meeting.deputies[3:7]:
        entry = meeting.ballot(app, "v1", deputy, {"motion": ["no"]}).entry
        assert client.post("/api/meetings/m1/votes/v1/ballots", json=entry).status_code == 201
    with app.app_context():  # at once: the count 7 is still pending when the vote closes
        lifecycle.close_vote("m1", "v1", actor="t")
    events = _wait(live, lambda ev: ("vote_state", "closed") in [(n, p.get("state")) for n, p in ev])
    tail = [(name, p.get("cast", p.get("state"))) for name, p in events][-2:]
    assert tail == [("turnout", 7), ("vote_state", "closed")]
    casts = _turnouts(events)
    assert casts == sorted(set(casts)) and len(casts) < 8  # coalesced, never decreasing
    # the presidium: from the staff room only (never twice the same count), in order, final before close
    staff_events = _wait(staff, lambda ev: ("vote_state", "closed") in [(n, p.get("state")) for n, p in ev])
    staff_casts = _turnouts(staff_events)
    assert staff_casts == sorted(set(staff_casts)) and staff_casts[0] == 0
    assert [(n, p.get("cast", p.get("state"))) for n, p in staff_events if n in ("turnout", "vote_state")][-2:] == [
        ("turnout", 7), ("vote_state", "closed")]
    time.sleep(0.2)
    assert _events(live)[-1][0] == "vote_state"  # nothing trails after the close
    assert [n for n, _ in _events(staff) if n in ("turnout", "vote_state")][-1] == "vote_state"
    live.disconnect(NAMESPACE)
    staff.disconnect(NAMESPACE)


def test_a_lower_count_never_follows_a_higher_one(app, client, meeting):
    """Two instances' batches can reach Redis in the opposite order of their commits: a stale,
    lower count must be dropped, never delivered after a higher one."""
    live = _joined(app, client)
    room = meeting_room("m1")

    def turnout(cast: int) -> None:
        socketio.emit("turnout", {"vote_id": "v1", "cast": cast, "present": 8}, to=room, namespace=NAMESPACE)

    turnout(5)
    _wait(live, lambda ev: _turnouts(ev) == [5])
    turnout(3)  # stale: dropped
    turnout(5)  # unchanged: dropped
    turnout(7)  # pending until the interval ends …
    socketio.emit("presence", {"present": 8, "members": 8, "quorum_met": True}, to=room, namespace=NAMESPACE)
    events = _events(live)  # … or until the room's next event, which sends it first
    assert [(n, p.get("cast")) for n, p in events][-2:] == [("turnout", 7), ("presence", None)]
    turnout(6)
    time.sleep(INTERVAL + 0.5)
    assert _turnouts(_events(live)) == [5, 7]
    live.disconnect(NAMESPACE)


def test_a_joining_client_is_never_sent_less_than_its_catch_up(app, client, meeting):
    first = _joined(app, client)
    room = meeting_room("m1")
    gate = socketio.server.manager

    def turnout(cast: int) -> None:
        socketio.emit("turnout", {"vote_id": "v1", "cast": cast, "present": 8}, to=room, namespace=NAMESPACE)

    turnout(5)
    _wait(first, lambda ev: _turnouts(ev) == [5])
    turnout(9)  # pending for the room
    second = _joined(app, client)
    sid = gate.sid_from_eio_sid(second.eio_sid, NAMESPACE)
    # what on_join does with the count it read from the database (here ahead of the room)
    gate.catch_up(sid, room, {"vote_id": "v1", "cast": 12, "present": 8})
    assert _turnouts(_events(second)) == [12]  # sent at once
    _wait(first, lambda ev: _turnouts(ev) == [5, 9])  # the room's pending 9 …
    assert _turnouts(_events(second)) == [12]  # … skips the client that already has 12
    turnout(14)
    _wait(first, lambda ev: _turnouts(ev) == [5, 9, 14])
    _wait(second, lambda ev: _turnouts(ev) == [12, 14])
    first.disconnect(NAMESPACE)
    second.disconnect(NAMESPACE)


def test_the_redis_managers_local_fan_out_goes_through_the_gate():
    """With a message queue, every instance delivers events from ``PubSubManager._handle_emit``,
    which calls the next ``emit`` in the MRO: that must be the gate's, not ``Manager.emit``."""
    import socketio as sio

    from tally.live.turnout import LiveRedisManager

    mro = LiveRedisManager.__mro__
    assert mro.index(sio.PubSubManager) < mro.index(TurnoutGate) < mro.index(sio.Manager)


def test_the_presidium_is_not_held_up_by_the_meeting_room_fan_out(app, client, meeting):
    """While the meeting room's fan-out (thousands of tablets in a hall) is in flight, the staff
    room still gets its turnout: the two kinds of room send under separate locks, and the message
    queue's listener never waits for either (tally.live.turnout)."""
    live = _joined(app, client)
    staff = _joined(app, client, staff_headers(app, "presidium")["Authorization"].split()[1])
    gate = socketio.server.manager
    meeting_room_sending = gate._gate_send_locks[False]
    with meeting_room_sending:  # as if a fan-out to the meeting room were under way
        for room in (meeting_room("m1"), staff_room("m1")):  # what live.announce_turnout emits
            socketio.emit("turnout", {"vote_id": "v1", "cast": 4, "present": 8}, to=room, namespace=NAMESPACE)
        _wait(staff, lambda ev: _turnouts(ev) == [4], timeout=STAFF_INTERVAL + 3)
        assert _turnouts(_events(live)) == []  # the tablets' turnout waits for the fan-out
    _wait(live, lambda ev: _turnouts(ev) == [4])
    live.disconnect(NAMESPACE)
    staff.disconnect(NAMESPACE)
