"""SPEC §11 public API on both stores: check-in, ballots (every rejection code, idempotency,
recasts), receipts, the log, proofs and the record."""

from __future__ import annotations

import copy
import io

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot.audit import verify_record
from ballot.ballot import ballot_hash, signature_message
from ballot.hashing import canonical_json
from ballot.log import leaf_hash, verify_consistency, verify_inclusion, verify_sth
from ballot.receipt import verify_receipt
from ballot.record import read_record
from keys.credentials import public_key_hex, sign_checkin
from service.conftest import log_size, staff_headers
from tally import demo

BALLOTS = "/api/meetings/m1/votes/{}/ballots"


def _open(app, vote_id: str) -> None:
    from tally.services import lifecycle

    with app.app_context():
        lifecycle.open_vote("m1", vote_id, actor="test")


def _close(app, vote_id: str) -> None:
    from tally.services import lifecycle

    with app.app_context():
        lifecycle.close_vote("m1", vote_id, actor="test")


def _checkin_all(client, meeting, deputies=None) -> None:
    for deputy in deputies or meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200


def _state(client):
    """What a rejected request must leave untouched: the log and every vote's cast count."""
    votes = client.get("/api/meetings/m1").get_json()["votes"]
    casts = {v["vote_id"]: client.get(f"/api/meetings/m1/votes/{v['vote_id']}").get_json()["cast"] for v in votes}
    return log_size(client), casts


def _reject(client, url, body, status, code, *, raw=None):
    before = _state(client)
    response = client.post(url, data=raw, content_type="application/json") if raw is not None else client.post(url, json=body)
    assert response.status_code == status, response.get_json()
    payload = response.get_json()
    assert payload["error"] == code and payload["message"]
    assert _state(client) == before
    return payload


def test_meeting_and_vote_endpoints(client, meeting):
    data = client.get("/api/meetings/m1").get_json()
    assert data["meeting"]["type"] == "meeting" and data["meeting_hash"] == meeting.hash.hex()
    assert [v["vote_id"] for v in data["votes"]] == ["v1", "v2", "v3", "v4", "v5"]
    assert {v["state"] for v in data["votes"]} == {"pending"}
    vote = client.get("/api/meetings/m1/votes/v3").get_json()
    assert vote["vote"]["kind"] == "selection" and vote["state"] == "pending" and vote["cast"] == 0
    assert client.get("/api/meetings/nope").status_code == 404
    assert client.get("/api/meetings/m1/votes/nope").get_json()["error"] == "unknown_vote"


def test_checkin(client, meeting):
    deputy = meeting.deputies[0]
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).get_json() == {"present": 1}
    # Repeating, even from another seat, is harmless and counts once.
    again = client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy, meeting.deputies[1].seat))
    assert again.get_json() == {"present": 1}
    other = meeting.deputies[1]
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(other)).get_json() == {"present": 2}

    stranger = Ed25519PrivateKey.generate()
    body = {"credential": public_key_hex(stranger), "seat": deputy.seat,
            "signature": sign_checkin(stranger, meeting.hash, deputy.seat)}
    assert client.post("/api/meetings/m1/checkin", json=body).get_json()["error"] == "unknown_credential"
    bad = meeting.checkin_body(other)
    bad["seat"] = meeting.deputies[2].seat  # signed for another seat
    assert client.post("/api/meetings/m1/checkin", json=bad).get_json()["error"] == "bad_signature"
    unknown_seat = meeting.checkin_body(other, "Z999")
    assert client.post("/api/meetings/m1/checkin", json=unknown_seat).get_json()["error"] == "unknown_seat"
    for junk in ({}, {"credential": "xx", "seat": "A", "signature": "yy"}, [], {"credential": 1, "seat": 2, "signature": 3}):
        response = client.post("/api/meetings/m1/checkin", json=junk)
        assert response.status_code == 400 and response.get_json()["error"] == "malformed"
    assert client.post("/api/meetings/m1/checkin", data="{not json", content_type="application/json").status_code == 400


def test_cast_receipt_and_idempotency(app, client, meeting):
    _checkin_all(client, meeting)
    _open(app, "v3")
    deputy = meeting.deputies[0]
    ballot = meeting.ballot(app, "v3", deputy, {"projects": ["p01", "p02", "p03"]})
    first = client.post(BALLOTS.format("v3"), json=ballot.entry)
    assert first.status_code == 201
    receipt = first.get_json()
    assert receipt["tracker"] == ballot.tracker and receipt["ballot_hash"] == ballot.hash.hex()
    log_key = bytes.fromhex(client.get("/api/meetings/m1").get_json()["meeting"]["log_key"])
    verify_receipt(receipt, ballot.entry, log_key)
    again = client.post(BALLOTS.format("v3"), json=ballot.entry)
    assert again.status_code == 200 and again.get_json() == receipt
    # The latest-STH receipt verifies too, after more entries.
    other = meeting.ballot(app, "v3", meeting.deputies[1], {"projects": []})
    assert client.post(BALLOTS.format("v3"), json=other.entry).status_code == 201
    latest = client.get(f"/api/meetings/m1/receipts/{ballot.hash.hex()}").get_json()
    assert latest["sth"]["tree_size"] > receipt["sth"]["tree_size"]
    verify_receipt(latest, ballot.entry, log_key)
    assert client.get("/api/meetings/m1/receipts/" + "00" * 32).status_code == 404
    assert client.get("/api/meetings/m1/receipts/XYZ").get_json()["error"] == "malformed"
    assert client.get("/api/meetings/m1/votes/v3").get_json()["cast"] == 2


def test_every_ballot_rejection_code(app, client, meeting):
    late, *early = meeting.deputies
    _checkin_all(client, meeting, early)
    ballot = meeting.ballot(app, "v1", early[0], {"motion": ["yes"]})
    _reject(client, BALLOTS.format("v1"), ballot.entry, 409, "vote_not_open")  # pending
    _open(app, "v1")
    _reject(client, BALLOTS.format("v9"), ballot.entry, 404, "unknown_vote")
    _reject(client, BALLOTS.format("v1"), None, 400, "malformed", raw="[1, 2")
    _reject(client, BALLOTS.format("v1"), [ballot.entry], 400, "malformed")
    tampered = copy.deepcopy(ballot.entry)
    tampered["contests"][0]["selections"][0]["alpha"] = "ff" * 32  # not a point
    _reject(client, BALLOTS.format("v1"), tampered, 400, "malformed")
    tampered = copy.deepcopy(ballot.entry)
    tampered["contests"][0]["selections"][0]["proof"].append(tampered["contests"][0]["selections"][0]["proof"][0])
    _reject(client, BALLOTS.format("v1"), tampered, 400, "malformed")  # proof of the wrong length
    tampered = copy.deepcopy(ballot.entry)
    tampered["signature"] = "00" * 64
    _reject(client, BALLOTS.format("v1"), tampered, 400, "bad_signature")
    tampered = copy.deepcopy(ballot.entry)
    proof = tampered["contests"][0]["selections"][1]["proof"]
    proof[0], proof[1] = proof[1], proof[0]
    tampered["signature"] = early[0].key.sign(signature_message(ballot_hash(tampered))).hex()
    assert _reject(client, BALLOTS.format("v1"), tampered, 400, "invalid_proof")["where"].startswith("contests[0]")
    # A ballot for v2 replayed into v1 (vote_id rewritten and re-signed): ctx binds the vote.
    _replayed = meeting.ballot(app, "v2", early[0], {"n1": ["yes"], "n2": [], "n3": []}).entry
    stranger = Ed25519PrivateKey.generate()
    with app.app_context():
        from tally.store import cache

        definition = cache.vote_definition("m1", "v1")
    from ballot.encrypt import encrypt_ballot

    foreign = encrypt_ballot(definition, meeting.hash, meeting.public_key, stranger, {"motion": ["no"]})
    _reject(client, BALLOTS.format("v1"), foreign.entry, 403, "unknown_credential")
    late_ballot = meeting.ballot(app, "v1", late, {"motion": ["no"]})
    _reject(client, BALLOTS.format("v1"), late_ballot.entry, 403, "not_checked_in")  # no check-in at all
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(late)).status_code == 200
    _reject(client, BALLOTS.format("v1"), late_ballot.entry, 403, "not_checked_in")  # arrived after the open
    assert client.post(BALLOTS.format("v1"), json=ballot.entry).status_code == 201
    second = meeting.ballot(app, "v1", early[0], {"motion": ["no"]})
    _reject(client, BALLOTS.format("v1"), second.entry, 409, "already_voted")
    # Revocation: a replaced card's old credential is refused.
    replacement = Ed25519PrivateKey.generate()
    with app.app_context():
        from tally.services import meetings

        meetings.replace_credential("m1", early[1].credential, public_key_hex(replacement), actor="test")
    revoked = meeting.ballot(app, "v1", early[1], {"motion": ["yes"]})
    _reject(client, BALLOTS.format("v1"), revoked.entry, 403, "revoked_credential")
    with app.app_context():
        fresh = encrypt_ballot(definition, meeting.hash, meeting.public_key, replacement, {"motion": ["yes"]})
    # SPEC §8.1: credentials are fixed at open; the replacement votes from the next vote on.
    payload = _reject(client, BALLOTS.format("v1"), fresh.entry, 403, "not_checked_in")
    assert "next vote" in payload["message"] and payload["check"] == "registered_after_open"
    _close(app, "v1")
    _reject(client, BALLOTS.format("v1"), meeting.ballot(app, "v1", early[2], {"motion": ["yes"]}).entry,
            409, "vote_not_open")
    _open(app, "v2")  # the replacement inherited the old card's check-in: no new check-in needed
    with app.app_context():
        definition = cache.vote_definition("m1", "v2")
        fresh = encrypt_ballot(definition, meeting.hash, meeting.public_key, replacement,
                               {"n1": ["yes"], "n2": [], "n3": []})
    assert client.post(BALLOTS.format("v2"), json=fresh.entry).status_code == 201


def test_too_large(app, client, meeting):
    before = log_size(client)
    response = client.post(BALLOTS.format("v1"), data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                           content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert log_size(client) == before


def test_recast_counts_the_last_ballot(app, client, meeting):
    _checkin_all(client, meeting)
    _open(app, "v5")  # the evaluation allows recasts
    items = ["d1", "d2", "d3", "d4"]
    first = meeting.ballot(app, "v5", meeting.deputies[0], {d: ["unsatisfied"] for d in items})
    second = meeting.ballot(app, "v5", meeting.deputies[0], {d: ["satisfied"] for d in items})
    other = meeting.ballot(app, "v5", meeting.deputies[1], {d: ["basically_satisfied"] for d in items})
    for b in (first, other, second):
        assert client.post(BALLOTS.format("v5"), json=b.entry).status_code == 201
    assert client.get("/api/meetings/m1/votes/v5").get_json()["cast"] == 2
    _close(app, "v5")
    with app.app_context():
        demo.demo_tally("m1", "v5")
    result = client.get("/api/meetings/m1/votes/v5/result").get_json()
    counts = {(t["contest"], t["option"]): t["count"] for t in result["tallies"]}
    assert result["counted"] == 2
    assert all(counts[(d, "satisfied")] == 1 and counts[(d, "unsatisfied")] == 0 for d in items)


def test_spoiled_ballot(app, client, meeting):
    _checkin_all(client, meeting)
    _open(app, "v1")
    challenged = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["abstain"]})
    body = {k: v for k, v in challenged.spoiled_entry().items() if k != "type"}
    response = client.post("/api/meetings/m1/votes/v1/spoiled", json=body)
    assert response.status_code == 201 and response.get_json()["tracker"] == challenged.tracker
    bad = copy.deepcopy(body)
    bad["openings"][0][2] = 1 - bad["openings"][0][2]
    _reject(client, "/api/meetings/m1/votes/v1/spoiled", bad, 400, "invalid_proof")
    _reject(client, "/api/meetings/m1/votes/v1/spoiled", challenged.spoiled_entry(), 400, "malformed")
    # The spoiled ballot never counts; the deputy casts a fresh encryption.
    cast = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["abstain"]})
    assert client.post(BALLOTS.format("v1"), json=cast.entry).status_code == 201
    assert client.get("/api/meetings/m1/votes/v1").get_json()["cast"] == 1


def _stored_aggregate(app):
    """The running homomorphic sum of the vote's counted ballots (public only once it closes)."""
    from tally.store import db
    from tally.store.models import Vote

    with app.app_context():
        return list(db.session().get(Vote, ("m1", "v1")).aggregate)


def test_a_ballot_is_never_both_spoiled_and_cast(app, client, meeting):
    """docs/spec-notes.md: a challenged ballot's selections are public, so it is never cast; a
    cast ballot is never challenged (its openings would publish a counted vote). Both are
    refused before anything is logged: the log, the counts and the aggregate stay as they were."""
    _checkin_all(client, meeting)
    _open(app, "v1")
    spoil_url = "/api/meetings/m1/votes/v1/spoiled"
    # cast, then a challenge of the same ballot
    cast = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["yes"]})
    assert client.post(BALLOTS.format("v1"), json=cast.entry).status_code == 201
    aggregate = _stored_aggregate(app)
    challenge = {k: v for k, v in cast.spoiled_entry().items() if k != "type"}
    payload = _reject(client, spoil_url, challenge, 409, "already_voted")
    assert "cannot be challenged" in payload["message"]
    assert _stored_aggregate(app) == aggregate and len(aggregate) == 3
    # a challenge, then casting the challenged ballot
    challenged = meeting.ballot(app, "v1", meeting.deputies[1], {"motion": ["no"]})
    body = {k: v for k, v in challenged.spoiled_entry().items() if k != "type"}
    assert client.post(spoil_url, json=body).status_code == 201
    payload = _reject(client, BALLOTS.format("v1"), challenged.entry, 400, "malformed")
    assert "challenged" in payload["message"]
    assert client.get("/api/meetings/m1/votes/v1").get_json()["cast"] == 1
    # challenging it again is still allowed (nothing new is revealed); a fresh encryption is cast
    assert client.post(spoil_url, json=body).status_code == 201
    fresh = meeting.ballot(app, "v1", meeting.deputies[1], {"motion": ["no"]})
    assert client.post(BALLOTS.format("v1"), json=fresh.entry).status_code == 201
    assert client.get("/api/meetings/m1/votes/v1").get_json()["cast"] == 2


def test_migration_0005_indexes_the_spoiled_ballots_already_logged(app, client, meeting):
    """A store upgraded to 0005 learns the spoiled ballots its log already holds (the log is the
    source of truth): the challenged ballot stays uncastable across the upgrade."""
    from alembic import command

    from tally.store.migrations import alembic_config

    _checkin_all(client, meeting)
    _open(app, "v1")
    challenged = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["no"]})
    body = {k: v for k, v in challenged.spoiled_entry().items() if k != "type"}
    assert client.post("/api/meetings/m1/votes/v1/spoiled", json=body).status_code == 201
    engine = app.extensions["piaojue.engine"]
    engine.dispose()
    command.downgrade(alembic_config(engine), "0004")
    command.upgrade(alembic_config(engine), "head")
    _reject(client, BALLOTS.format("v1"), challenged.entry, 400, "malformed")


def test_entries_proofs_and_record(app, client, meeting):
    _checkin_all(client, meeting)
    _open(app, "v1")
    for deputy in meeting.deputies[:4]:
        assert client.post(BALLOTS.format("v1"),
                           json=meeting.ballot(app, "v1", deputy, {"motion": ["yes"]}).entry).status_code == 201
    old_sth = client.get("/api/meetings/m1/sth").get_json()
    _close(app, "v1")
    with app.app_context():
        demo.demo_tally("m1", "v1")
    sth = client.get("/api/meetings/m1/sth").get_json()
    log_key = bytes.fromhex(client.get("/api/meetings/m1").get_json()["meeting"]["log_key"])
    verify_sth(sth, log_key)
    size = sth["tree_size"]
    entries = client.get(f"/api/meetings/m1/entries?start=0&end={size}").get_json()["entries"]
    assert len(entries) == size and entries[0]["type"] == "meeting" and entries[-1]["type"] == "result"
    root = bytes.fromhex(sth["root"])
    for index in (0, 7, size - 1):
        proof = client.get(f"/api/meetings/m1/proofs/inclusion?leaf_index={index}&tree_size={size}").get_json()
        verify_inclusion(leaf_hash(canonical_json(entries[index])), index, size,
                         [bytes.fromhex(h) for h in proof["inclusion"]], root)
    proof = client.get(f"/api/meetings/m1/proofs/consistency?first={old_sth['tree_size']}&second={size}").get_json()
    verify_consistency(old_sth["tree_size"], size, bytes.fromhex(old_sth["root"]), root,
                       [bytes.fromhex(h) for h in proof["consistency"]])
    for bad in ("start=5&end=2", f"start=0&end={size + 1}", "start=-1&end=2", "start=a&end=2", "end=2"):
        assert client.get(f"/api/meetings/m1/entries?{bad}").get_json()["error"] == "malformed"
    assert client.get(f"/api/meetings/m1/proofs/inclusion?leaf_index={size}&tree_size={size}").status_code == 400
    zipped = client.get("/api/meetings/m1/record.zip")
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    path = app.instance_path + "/record.zip"
    with open(path, "wb") as handle:
        handle.write(zipped.data)
    report = verify_record(read_record(path))
    assert report.ok, report.format()
    assert report.checks["sth_history"].checked >= 5


def test_unsealed_and_unknown_meetings(app, client):
    headers = staff_headers(app)
    body = {"meeting_id": "m2", "title": "t", "body": "b", "members": 10, "trustees": ["a", "b"], "threshold": 2}
    assert client.post("/api/staff/meetings", json=body, headers=headers).status_code == 201
    assert client.get("/api/meetings/m2").get_json()["error"] == "not_sealed"
    assert client.post("/api/meetings/m2/checkin", json={}).status_code == 409
    assert client.get("/api/meetings/none/sth").status_code == 404
    assert client.get("/no/such/path").get_json()["error"] == "not_found"
    assert client.delete("/api/meetings/m2").get_json()["error"] == "method_not_allowed"


def test_demo_codes_file_and_cli(app, tmp_path):
    runner = app.test_cli_runner()
    codes = tmp_path / "codes.json"
    result = runner.invoke(args=["demo", "--deputies", "6", "--codes", str(codes), "--meeting", "d1"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(codes.read_text())
    assert data["meeting_id"] == "d1" and len(data["codes"]) == 6
    assert set(data["codes"][0]) == {"seat", "name", "code"}
    with app.app_context():
        assert demo.trustee_dir("d1").joinpath("trustee-1.json").exists()
    with app.test_client() as client:
        assert {v["state"] for v in client.get("/api/meetings/d1").get_json()["votes"]} == {"pending"}
    bad = runner.invoke(args=["vote", "open", "d1", "v9"])
    assert bad.exit_code == 2 and "error:" in bad.output and "Traceback" not in bad.output


def test_record_zip_file_object(client, meeting):
    data = client.get("/api/meetings/m1/record.zip").data
    import zipfile

    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == {"log.jsonl", "sth.json", "sths.jsonl"}


@pytest.mark.parametrize("path", ["/api/meetings/m1/votes/v1/aggregates", "/api/meetings/m1/votes/v1/result"])
def test_results_endpoints_before_close(client, meeting, path):
    response = client.get(path)
    assert response.status_code == 409 and response.get_json()["error"] in ("vote_not_closed", "not_published")
