"""Socket.IO ``/live`` (SPEC §11): join, presence, vote_state, turnout, result, in order."""

from __future__ import annotations

import pytest

from service.conftest import staff_headers
from tally import demo
from tally.live.broadcast import NAMESPACE, socketio
from tally.services import lifecycle


def _events(client, name=None):
    received = client.get_received(NAMESPACE)
    return [(e["name"], e["args"][0]) for e in received if name is None or e["name"] == name]


def test_live_events_follow_the_session(app, client, meeting):
    live = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    assert live.is_connected(NAMESPACE)
    ack = live.emit("join", {"meeting": "nope"}, namespace=NAMESPACE, callback=True)
    assert ack["error"] == "unknown_meeting"
    ack = live.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    assert ack == {"joined": "m1", "staff": False}
    assert _events(live) == [("presence", {"present": 0, "members": 8, "quorum_met": False})]

    for deputy in meeting.deputies[:6]:
        client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy))
    presence = [payload for _, payload in _events(live, "presence")]
    assert [p["present"] for p in presence] == [1, 2, 3, 4, 5, 6]
    assert [p["quorum_met"] for p in presence] == [False] * 5 + [True]  # 3·6 ≥ 2·8

    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t", duration_seconds=60)
    events = _events(live)
    assert [name for name, _ in events] == ["vote_state", "turnout"]
    assert events[0][1]["state"] == "open" and events[0][1]["closes_at"].endswith("Z")
    assert events[1][1] == {"vote_id": "v1", "cast": 0, "present": 6}

    for deputy in meeting.deputies[:3]:
        client.post("/api/meetings/m1/votes/v1/ballots", json=meeting.ballot(app, "v1", deputy, {"motion": ["yes"]}).entry)
    assert [t["cast"] for _, t in _events(live)] == [1, 2, 3]

    with app.app_context():
        lifecycle.close_vote("m1", "v1", actor="t")
        demo.demo_tally("m1", "v1")
    events = _events(live)
    names = [name for name, _ in events]
    assert names == ["vote_state", "vote_state", "result"]
    assert [e["state"] for n, e in events if n == "vote_state"] == ["closed", "published"]
    result = events[-1][1]
    assert result["vote_id"] == "v1" and result["outcome"]["items"][0]["counts"]["yes"] == 3
    assert {"contest", "option", "count"} == set(result["tallies"][0])

    # A tablet that reconnects is caught up at once.
    late = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    late.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    assert [name for name, _ in _events(late)] == ["presence", "vote_state", "turnout"]
    live.disconnect(NAMESPACE)
    late.disconnect(NAMESPACE)


def test_staff_token_checked_once_at_connect(app, client, meeting):
    token = staff_headers(app, "presidium")["Authorization"].split()[1]
    staff = socketio.test_client(app, namespace=NAMESPACE, auth={"token": token}, flask_test_client=client)
    assert staff.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)["staff"] is True
    staff.disconnect(NAMESPACE)
    refused = socketio.test_client(app, namespace=NAMESPACE, auth={"token": "wrong"}, flask_test_client=client)
    assert not refused.is_connected(NAMESPACE)


@pytest.mark.parametrize("payload", [None, "m1", {"meeting": 5}, {}])
def test_bad_join_payloads(app, client, meeting, payload):
    live = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    assert live.emit("join", payload, namespace=NAMESPACE, callback=True)["error"] == "unknown_meeting"
    live.disconnect(NAMESPACE)


def test_staff_seat_map_shows_who_voted_never_how(app, client, meeting):
    token = staff_headers(app, "presidium")["Authorization"].split()[1]
    staff = socketio.test_client(app, namespace=NAMESPACE, auth={"token": token}, flask_test_client=client)
    public = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    staff.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    public.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    seat_map = _events(staff, "seat_map")[0][1]
    assert len(seat_map["seats"]) == 8 and not any(s["checked_in"] for s in seat_map["seats"])
    deputy = meeting.deputies[2]
    client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy))
    assert _events(staff, "seat") == [("seat", {"seat": deputy.seat, "checked_in": True})]
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t")
    client.post("/api/meetings/m1/votes/v1/ballots", json=meeting.ballot(app, "v1", deputy, {"motion": ["no"]}).entry)
    voted = _events(staff, "seat_voted")
    assert voted == [("seat_voted", {"vote_id": "v1", "seat": deputy.seat})]
    assert not [n for n, _ in _events(public) if n.startswith("seat")]  # the public never sees the seat map
    staff.disconnect(NAMESPACE)
    fresh = socketio.test_client(app, namespace=NAMESPACE, auth={"token": token}, flask_test_client=client)
    fresh.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    seats = {s["seat"]: s for s in _events(fresh, "seat_map")[0][1]["seats"]}
    assert seats[deputy.seat]["checked_in"] and seats[deputy.seat]["voted"]
    assert set(seats[deputy.seat]) == {"seat", "name", "group", "checked_in", "voted"}
    fresh.disconnect(NAMESPACE)
    public.disconnect(NAMESPACE)
