"""Holding and resuming a vote, and closing and reopening check-in (docs/spec-notes.md): staff
actions that are not log entries, enforced by intake and check-in, audited, and broadcast."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from service.conftest import log_size, staff_headers
from tally.live.broadcast import NAMESPACE, socketio
from tally.services import lifecycle, timers


def _events(live, name):
    return [e["args"][0] for e in live.get_received(NAMESPACE) if e["name"] == name]


def _audit_actions(client, app):
    rows = client.get("/api/staff/meetings/m1/audit", headers=staff_headers(app, "auditor")).get_json()["events"]
    return [row["action"] for row in rows]


def test_a_held_vote_refuses_ballots_and_resumes(app, client, meeting):
    for deputy in meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    presidium = staff_headers(app, "presidium")
    assert client.post("/api/staff/meetings/m1/votes/v1/open", headers=presidium, json={"duration": 600}).status_code == 200
    first = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["yes"]}).entry
    accepted = client.post("/api/meetings/m1/votes/v1/ballots", json=first)
    assert accepted.status_code == 201

    held = client.post("/api/staff/meetings/m1/votes/v1/hold", headers=presidium)
    assert held.status_code == 200, held.get_json()
    assert held.get_json()["held"] is True and 590 <= held.get_json()["remaining"] <= 600
    vote = client.get("/api/meetings/m1/votes/v1").get_json()
    assert vote["state"] == "open"  # SPEC §11's four states: a hold is not one of them
    size = log_size(client)

    second = meeting.ballot(app, "v1", meeting.deputies[1], {"motion": ["no"]}).entry
    refused = client.post("/api/meetings/m1/votes/v1/ballots", json=second)
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "vote_not_open" and "hold" in refused.get_json()["message"]
    spoiled = meeting.ballot(app, "v1", meeting.deputies[2], {"motion": ["yes"]}).spoiled_entry()
    spoiled.pop("type")
    assert client.post("/api/meetings/m1/votes/v1/spoiled", json=spoiled).get_json()["error"] == "vote_not_open"
    # A retry of a ballot logged before the hold still gets its receipt (SPEC §11 idempotence).
    again = client.post("/api/meetings/m1/votes/v1/ballots", json=first)
    assert again.status_code == 200 and again.get_json() == client.get(
        f"/api/meetings/m1/receipts/{accepted.get_json()['ballot_hash']}").get_json() | {"sth": again.get_json()["sth"]}
    assert log_size(client) == size
    assert client.get("/api/meetings/m1/votes/v1").get_json()["cast"] == 1

    # The timer is stopped: a held vote never closes by time.
    with app.app_context():
        assert timers.close_expired_votes(datetime.now(UTC) + timedelta(days=2)) == []
    assert client.post("/api/staff/meetings/m1/votes/v1/hold", headers=presidium).get_json()["error"] == "vote_held"

    resumed = client.post("/api/staff/meetings/m1/votes/v1/resume", headers=presidium)
    assert resumed.status_code == 200
    body = resumed.get_json()
    assert body["held"] is False and body["state"] == "open"
    closes_at = datetime.fromisoformat(body["closes_at"])
    left = (closes_at - datetime.now(UTC)).total_seconds()
    assert 580 < left <= 600  # the time that was left, not a fresh start and not lost
    assert client.post("/api/staff/meetings/m1/votes/v1/resume", headers=presidium).get_json()["error"] == "vote_not_held"
    assert client.post("/api/meetings/m1/votes/v1/ballots", json=second).status_code == 201

    # A held vote can be closed; the record verifies (holds are not log entries).
    client.post("/api/staff/meetings/m1/votes/v1/hold", headers=presidium)
    closed = client.post("/api/staff/meetings/m1/votes/v1/close", headers=presidium)
    assert closed.status_code == 200 and closed.get_json()["ballots"] == 2
    with app.app_context():
        from tally.store import db
        from tally.store.models import Vote

        row = db.session().get(Vote, ("m1", "v1"))
        assert row.held is False and row.held_remaining_ms is None
    actions = _audit_actions(client, app)
    assert actions.count("vote.hold") == 2 and actions.count("vote.resume") == 1
    entries = client.get(f"/api/meetings/m1/entries?start=0&end={log_size(client)}").get_json()["entries"]
    assert {e["type"] for e in entries} <= {"meeting", "credentials", "vote", "open", "ballot", "close"}


def test_hold_needs_an_open_vote_and_a_running_role(app, client, meeting):
    presidium = staff_headers(app, "presidium")
    assert client.post("/api/staff/meetings/m1/votes/v1/hold", headers=presidium).get_json()["error"] == "vote_not_open"
    assert client.post("/api/staff/meetings/m1/votes/nope/hold", headers=presidium).status_code == 404
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t")
    for role in ("auditor", "trustee"):
        kwargs = {"meeting_id": "m1", "trustee_index": 1} if role == "trustee" else {}
        denied = client.post("/api/staff/meetings/m1/votes/v1/hold", headers=staff_headers(app, role, **kwargs))
        assert denied.status_code == 403
    assert client.post("/api/staff/meetings/m1/votes/v1/hold").status_code == 401
    held = client.post("/api/staff/meetings/m1/votes/v1/hold", headers=presidium).get_json()
    assert held == {"vote_id": "v1", "held": True, "remaining": None}  # no timer
    resumed = client.post("/api/staff/meetings/m1/votes/v1/resume", headers=presidium).get_json()
    assert resumed["closes_at"] is None and resumed["held"] is False


def test_hold_and_checkin_state_reach_live_clients(app, client, meeting):
    live = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    live.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    live.get_received(NAMESPACE)
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t", duration_seconds=120)
        lifecycle.hold_vote("m1", "v1", actor="t")
    received = [(e["name"], e["args"][0]) for e in live.get_received(NAMESPACE)]
    names = [name for name, _ in received]
    assert names == ["vote_state", "turnout", "vote_state", "vote_hold"]
    assert received[2][1]["closes_at"] is None  # the timer stopped
    assert received[3][1]["held"] is True and 115 <= received[3][1]["remaining"] <= 120

    # A tablet that joins during the hold learns of it at once.
    late = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    late.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
    assert [e["name"] for e in late.get_received(NAMESPACE)] == ["presence", "vote_state", "turnout", "vote_hold"]

    with app.app_context():
        lifecycle.resume_vote("m1", "v1", actor="t")
    resumed = _events(live, "vote_hold")
    assert resumed == [{"vote_id": "v1", "held": False, "remaining": None}]

    client.post("/api/staff/meetings/m1/checkin/close", headers=staff_headers(app, "presidium"))
    assert _events(late, "checkin_state") == [{"open": False, "present": 0, "members": 8}]
    live.disconnect(NAMESPACE)
    late.disconnect(NAMESPACE)


def test_closed_checkin_refuses_newcomers_only(app, client, meeting):
    early, late = meeting.deputies[0], meeting.deputies[1]
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(early)).get_json() == {"present": 1}
    clerk = staff_headers(app, "clerk")
    closed = client.post("/api/staff/meetings/m1/checkin/close", headers=clerk)
    assert closed.status_code == 200 and closed.get_json() == {"open": False, "present": 1, "members": 8}

    refused = client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(late))
    assert refused.status_code == 409 and refused.get_json()["error"] == "checkin_closed"
    # The tablet of a deputy already present may repeat its check-in (a restart): harmless.
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(early)).get_json() == {"present": 1}
    assert client.post("/api/staff/meetings/m1/checkin/close", headers=staff_headers(app, "auditor")).status_code == 403

    reopened = client.post("/api/staff/meetings/m1/checkin/open", headers=clerk)
    assert reopened.get_json()["open"] is True
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(late)).get_json() == {"present": 2}
    actions = _audit_actions(client, app)
    assert actions.count("checkin.close") == 1 and actions.count("checkin.open") == 1


def test_cli_hold_resume_and_checkin(app, client, meeting):
    runner = app.test_cli_runner()
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t", duration_seconds=300)
    result = runner.invoke(args=["vote", "hold", "m1", "v1"])
    assert result.exit_code == 0 and "on hold" in result.output and "s left" in result.output
    result = runner.invoke(args=["vote", "hold", "m1", "v1"])
    assert result.exit_code != 0 and "already on hold" in result.output
    result = runner.invoke(args=["vote", "resume", "m1", "v1"])
    assert result.exit_code == 0 and "resumed" in result.output
    result = runner.invoke(args=["meeting", "checkin", "m1", "close"])
    assert result.exit_code == 0 and "check-in closed" in result.output
    refused = client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[0]))
    assert refused.get_json()["error"] == "checkin_closed"
    result = runner.invoke(args=["meeting", "checkin", "m1", "reopen"])
    assert result.exit_code != 0  # only open or close


def test_record_with_holds_verifies(app, client, meeting, tmp_path):
    for deputy in meeting.deputies[:4]:
        client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy))
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t")
        lifecycle.hold_vote("m1", "v1", actor="t")
        lifecycle.resume_vote("m1", "v1", actor="t")
    for deputy in meeting.deputies[:4]:
        ballot = meeting.ballot(app, "v1", deputy, {"motion": ["yes"]}).entry
        assert client.post("/api/meetings/m1/votes/v1/ballots", json=ballot).status_code == 201
    with app.app_context():
        lifecycle.close_vote("m1", "v1", actor="t")
    record = tmp_path / "record.zip"
    record.write_bytes(client.get("/api/meetings/m1/record.zip").data)
    done = subprocess.run([sys.executable, "-m", "ballot.verify", str(record)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
