"""The staff API and the clerk's CLI: authentication, meeting setup, roster errors by row,
credential registration and replacement, vote templates, and the audit trail."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect

from ballot import templates
from keys.credentials import public_key_hex
from service.conftest import staff_headers
from tally.store import db
from tally.store.migrations import alembic_config
from tally.store.models import Base

MEETING = {"meeting_id": "m2", "title": "常委会第十次会议", "body": "某市人大常委会", "members": 40,
           "quorum": "majority", "trustees": ["甲", "乙", "丙"], "threshold": 2}


def _keys(n):
    return sorted(public_key_hex(Ed25519PrivateKey.generate()) for _ in range(n))


def test_authentication_and_roles(app, client):
    assert client.post("/api/staff/meetings", json=MEETING).get_json()["error"] == "unauthorized"
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.post("/api/staff/meetings", json=MEETING, headers=bad).status_code == 401
    presidium = staff_headers(app, "presidium")
    response = client.post("/api/staff/meetings", json=MEETING, headers=presidium)
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    clerk = staff_headers(app, "clerk")
    assert client.post("/api/staff/meetings", json=MEETING, headers=clerk).status_code == 201
    trustee_elsewhere = staff_headers(app, "trustee", meeting_id="other", trustee_index=1)
    assert client.get("/api/staff/meetings/m2/ceremony", headers=trustee_elsewhere).status_code == 403
    auditor = staff_headers(app, "auditor")
    events = client.get("/api/staff/meetings/m2/audit", headers=auditor).get_json()["events"]
    assert [e["action"] for e in events] == ["meeting.create"] and events[0]["actor"] == "clerk:test-clerk"


def test_meeting_setup_via_api(app, client):
    clerk = staff_headers(app)
    for field, value in [("meeting_id", "bad id"), ("members", 0), ("threshold", 4), ("quorum", "all"), ("trustees", [])]:
        response = client.post("/api/staff/meetings", json={**MEETING, field: value}, headers=clerk)
        assert response.status_code == 400 and response.get_json()["error"] == "malformed", field
    assert client.post("/api/staff/meetings", json=MEETING, headers=clerk).status_code == 201
    assert client.post("/api/staff/meetings", json=MEETING, headers=clerk).get_json()["error"] == "exists"

    roster = "座位号,姓名,代表团\n1,王伟,城东\n2,,城西\n1,李娜,城西\n".encode()
    response = client.post("/api/staff/meetings/m2/roster?filename=r.csv", data=roster, headers=clerk)
    problems = response.get_json()["problems"]
    assert response.status_code == 400 and {p["row"] for p in problems} == {3, 4}
    good = "座位号,姓名,代表团\n1,王伟,城东\n2,李娜,城西\n".encode()
    assert client.post("/api/staff/meetings/m2/roster?filename=r.csv", data=good, headers=clerk).get_json() == {"imported": 2}

    keys = _keys(3)
    response = client.post("/api/staff/meetings/m2/credentials", json={"meeting_id": "m2", "credentials": keys},
                           headers=clerk)
    assert response.status_code == 201 and response.get_json() == {"registered": 3}
    assert client.post("/api/staff/meetings/m2/credentials", json={"credentials": keys[:1]},
                       headers=clerk).get_json()["error"] == "exists"
    assert client.post("/api/staff/meetings/m2/credentials", json={"credentials": ["XY"]},
                       headers=clerk).get_json()["error"] == "malformed"
    # a small-order key (here the identity) would let anyone forge its signatures: refused, and
    # the valid key beside it is not registered either
    small_order = "01" + "00" * 31
    refused = client.post("/api/staff/meetings/m2/credentials", json={"credentials": [_keys(1)[0], small_order]},
                          headers=clerk)
    assert refused.status_code == 400 and refused.get_json()["error"] == "malformed"
    assert "credentials[1]" in refused.get_json()["message"] and "small-order" in refused.get_json()["message"]
    assert client.post("/api/staff/meetings/m2/credentials", json={"meeting_id": "m9", "credentials": _keys(1)},
                       headers=clerk).get_json()["error"] == "malformed"

    for kind, params in [
        ("resolution", {"vote_id": "v1", "title": "决议"}),
        ("appointment", {"vote_id": "v2", "title": "任免", "nominees": [{"id": "n1", "name": "王"}]}),
        ("selection", {"vote_id": "v3", "title": "民生", "seats": 1,
                       "projects": [{"id": "p1", "label": "路", "budget_cny": 100}, {"id": "p2", "label": "桥"}]}),
        ("election", {"vote_id": "v4", "title": "选举", "seats": 1, "candidates": [{"id": "c1", "label": "甲"}]}),
        ("evaluation", {"vote_id": "v5", "title": "测评", "items": [{"id": "d1", "name": "局"}]}),
    ]:
        response = client.post("/api/staff/meetings/m2/votes", json={"template": kind, "params": params}, headers=clerk)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["entry"]["kind"] == kind
    bad = client.post("/api/staff/meetings/m2/votes", json={"template": "selection", "params": {"vote_id": "v6", "title": "x"}},
                      headers=clerk)
    assert bad.get_json()["error"] == "malformed"
    broken = templates.resolution("v7", "x")
    broken["contests"][0]["max"] = 9
    assert client.post("/api/staff/meetings/m2/votes", json={"entry": broken}, headers=clerk).get_json()["error"] == "invalid_vote"
    assert client.post("/api/staff/meetings/m2/votes", json={"template": "resolution", "params": {"vote_id": "v1", "title": "again"}},
                       headers=clerk).get_json()["error"] == "exists"
    response = client.post("/api/staff/meetings/m2/seal", headers=clerk)
    assert response.status_code == 409 and response.get_json()["error"] == "ceremony_incomplete"
    status = client.get("/api/staff/meetings/m2", headers=clerk).get_json()
    assert status["state"] == "setup" and status["credentials"]["registered"] == 3 and len(status["votes"]) == 5


def test_credential_replacement_after_seal_is_logged(app, client, meeting):
    clerk = staff_headers(app)
    old = meeting.deputies[0].credential
    new = _keys(1)[0]
    response = client.post("/api/staff/meetings/m1/credentials/replace", json={"old": old, "new": new}, headers=clerk)
    assert response.status_code == 200
    size = client.get("/api/meetings/m1/sth").get_json()["tree_size"]
    last = client.get(f"/api/meetings/m1/entries?start={size - 1}&end={size}").get_json()["entries"][0]
    assert last == {"type": "credentials", "add": [new], "revoke": [old]}
    again = client.post("/api/staff/meetings/m1/credentials/replace", json={"old": old, "new": None}, headers=clerk)
    assert again.status_code == 404
    late = _keys(1)
    assert client.post("/api/staff/meetings/m1/credentials", json={"credentials": late}, headers=clerk).status_code == 400  # members full


def test_vote_lifecycle_via_api(app, client, meeting):
    presidium = staff_headers(app, "presidium")
    for deputy in meeting.deputies:
        client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy))
    response = client.post("/api/staff/meetings/m1/votes/v1/open", json={"duration": 120}, headers=presidium)
    assert response.get_json() == {"vote_id": "v1", "state": "open", "present": 8}
    assert client.get("/api/meetings/m1/votes/v1").get_json()["closes_at"] is not None
    assert client.post("/api/staff/meetings/m1/votes/v2/open", headers=presidium).get_json()["error"] == "another_vote_open"
    assert client.post("/api/staff/meetings/m1/votes/v1/open", headers=presidium).get_json()["error"] == "vote_not_pending"
    assert client.post("/api/staff/meetings/m1/votes/v1/open", json={"duration": -5}, headers=presidium).status_code == 400
    ballot = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["yes"]})
    assert client.post("/api/meetings/m1/votes/v1/ballots", json=ballot.entry).status_code == 201
    assert client.post("/api/staff/meetings/m1/votes/v1/close", headers=presidium).get_json()["ballots"] == 1
    publish = client.post("/api/staff/meetings/m1/votes/v1/publish", headers=presidium)
    assert publish.status_code == 409 and "waiting for trustees" in publish.get_json()["message"]
    aggregates = client.get("/api/meetings/m1/votes/v1/aggregates").get_json()
    assert aggregates["counted"] == 1 and len(aggregates["aggregates"]) == 3
    status = client.get("/api/meetings/m1/votes/v1/decryption").get_json()
    assert status["posted"] == [] and status["missing"] == [1, 2, 3, 4, 5] and status["threshold"] == 3


def test_invalid_share_is_rejected_and_others_combine(app, client, meeting):
    from keys.decrypt import partial_decrypt
    from keys.statefile import load_state
    from tally import demo
    from tally.services import lifecycle, results
    from tally.store import cache
    from tally.store.models import Vote

    for deputy in meeting.deputies:
        client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy))
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="t")
    for deputy in meeting.deputies[:5]:
        client.post("/api/meetings/m1/votes/v1/ballots", json=meeting.ballot(app, "v1", deputy, {"motion": ["yes"]}).entry)
    with app.app_context():
        lifecycle.close_vote("m1", "v1", actor="t")
        definition = cache.vote_definition("m1", "v1")
        aggregates = results.vote_aggregates(db.session().get(Vote, ("m1", "v1")))
        shares = [partial_decrypt(load_state(demo.trustee_dir("m1") / f"trustee-{i}.json", demo.DEMO_PASSPHRASE),
                                  meeting.hash, definition.hash, "v1", aggregates) for i in (1, 2, 4, 5)]
    forged = json.loads(json.dumps(shares[0]))
    forged["shares"][0]["M"] = shares[1]["shares"][0]["M"]
    before = client.get("/api/meetings/m1/sth").get_json()["tree_size"]
    response = client.post("/api/meetings/m1/votes/v1/shares", json=forged)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_share"
    assert "shares[0]" in response.get_json()["message"]
    assert client.get("/api/meetings/m1/sth").get_json()["tree_size"] == before
    assert client.post("/api/meetings/m1/votes/v1/shares", json=shares[0]).get_json()["posted"] == [1]
    assert client.post("/api/meetings/m1/votes/v1/shares", json=shares[0]).get_json()["error"] == "already_shared"
    status = client.post("/api/meetings/m1/votes/v1/shares", json=shares[1]).get_json()
    assert status["missing"] == [3, 4, 5] and status["state"] == "closed"
    status = client.post("/api/meetings/m1/votes/v1/shares", json=shares[2]).get_json()
    assert status["state"] == "published"
    result = client.get("/api/meetings/m1/votes/v1/result").get_json()
    assert result["trustees"] == [1, 2, 4] and result["tallies"][0]["count"] == 5
    assert client.post("/api/meetings/m1/votes/v1/shares", json=shares[3]).get_json()["error"] == "vote_not_closed"


def test_clerk_cli_end_to_end(app, tmp_path):
    runner = app.test_cli_runner()
    ok = lambda *args: runner.invoke(args=list(args))
    result = ok("meeting", "create", "m3", "--title", "会议", "--body", "人大", "--members", "5",
                "--trustee", "甲", "--trustee", "乙", "--threshold", "2")
    assert result.exit_code == 0, result.output
    roster = tmp_path / "roster.csv"
    roster.write_text("座位号,姓名\n1,王伟\n1,李娜\n", encoding="utf-8")
    result = ok("roster", "m3", str(roster))
    assert result.exit_code == 2 and "3" in result.output and "Traceback" not in result.output
    roster.write_text("座位号,姓名\n1,王伟\n2,李娜\n", encoding="utf-8")
    assert ok("roster", "m3", str(roster)).exit_code == 0
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"meeting_id": "m3", "credentials": _keys(2)}))
    assert "registered 2" in ok("credentials", "register", "m3", str(creds)).output
    vote = tmp_path / "vote.json"
    vote.write_text(json.dumps({"template": "resolution", "params": {"vote_id": "v1", "title": "决议"}}))
    assert ok("vote", "define", "m3", str(vote)).exit_code == 0
    vote.write_text("{broken")
    assert ok("vote", "define", "m3", str(vote)).exit_code == 2
    result = ok("meeting", "seal", "m3")
    assert result.exit_code == 2 and "ceremony_incomplete" in result.output
    assert "trustee 1 甲" in ok("meeting", "status", "m3").output
    token = ok("staff", "alice", "--role", "clerk").output.strip()
    assert len(token) > 30
    assert ok("record", "m3", "--out", str(tmp_path / "r.zip")).exit_code == 2  # not sealed: no log yet


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = app.extensions["piaojue.engine"]
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == [], diff
        tables = set(inspect(connection).get_table_names())
    assert {"meetings", "log_entries", "ballots", "tree_heads", "credentials", "votes"} <= tables
    assert alembic_config(engine).get_main_option("script_location").endswith("migrations")


@pytest.mark.parametrize("body", [b"", b"[]", b'{"meeting_id": 1}', b"\xff\xfe"])
def test_staff_bad_bodies(app, client, body):
    clerk = staff_headers(app)
    response = client.post("/api/staff/meetings", data=body, content_type="application/json", headers=clerk)
    assert response.status_code == 400 and response.get_json()["error"] == "malformed"


def test_non_identifier_ids_are_404_everywhere(app, client, meeting):
    """A NUL or other non-identifier id in any URL is a 404 before the store sees it (PostgreSQL
    refuses NUL in text: this was a 500 on the staff API)."""
    clerk = staff_headers(app, "clerk")
    for path in ("/api/staff/meetings/m1%00", "/api/staff/meetings/m1%00/roster",
                 "/api/staff/meetings/m1/votes/v1%00/decryption", "/api/meetings/m%C3%A9"):
        response = client.get(path, headers=clerk)
        assert response.status_code == 404, (path, response.status_code)
        assert response.get_json()["error"] in ("not_found", "unknown_vote")
    assert client.post("/api/staff/meetings/m1/votes/v1%00/open", headers=clerk).status_code == 404
    assert client.get("/staff/meetings/m1%00/console").status_code == 404
