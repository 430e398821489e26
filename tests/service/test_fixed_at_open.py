"""SPEC §5 and §8.1 (revision 2), the service side: credentials are fixed at ``open``, and
``present`` never exceeds the credentials active at ``open`` nor ``members``.

Every test drives the service through its public paths (§11 API, staff API, clerk CLI), on
SQLite and PostgreSQL, and checks that what it refuses gets a §11 code and logs nothing."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot.audit import verify_record
from ballot.encrypt import encrypt_ballot
from ballot.record import read_record
from keys.credentials import derive_private_key, new_code, public_key_hex, sign_checkin
from service.conftest import DemoMeeting, Deputy, log_size, staff_headers
from tally import demo
from tally.store import cache

STAFF = "/api/staff/meetings/m1"
BALLOTS = "/api/meetings/m1/votes/{}/ballots"


def _checkin(client, meeting, deputies=None) -> None:
    for deputy in deputies if deputies is not None else meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200


def _open(client, headers, vote_id: str) -> dict:
    response = client.post(f"{STAFF}/votes/{vote_id}/open", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _close(client, headers, vote_id: str) -> None:
    assert client.post(f"{STAFF}/votes/{vote_id}/close", headers=headers).status_code == 200


def _refused(client, url: str, body, status: int, code: str) -> dict:
    """Post ``body``; it must get ``status`` and ``code`` with a message, and the log must not grow."""
    before = log_size(client)
    response = client.post(url, json=body)
    assert response.status_code == status, response.get_json()
    payload = response.get_json()
    assert payload["error"] == code and payload["message"], payload
    assert log_size(client) == before
    return payload


def _encrypt(app, meeting, vote_id: str, key: Ed25519PrivateKey, choices):
    with app.app_context():
        definition = cache.vote_definition("m1", vote_id)
    return encrypt_ballot(definition, meeting.hash, meeting.public_key, key, choices)


def _spoil_body(ballot) -> dict:
    return {k: v for k, v in ballot.spoiled_entry().items() if k != "type"}


def _entries(client) -> list[dict]:
    size = log_size(client)
    return client.get(f"/api/meetings/m1/entries?start=0&end={size}").get_json()["entries"]


def _open_entry(client, vote_id: str) -> dict:
    return next(e for e in _entries(client) if e["type"] == "open" and e["vote_id"] == vote_id)


def _verified(app, client) -> None:
    """The exported record (§8) passes the record verifier."""
    path = os.path.join(app.instance_path, "record.zip")
    with open(path, "wb") as handle:
        handle.write(client.get("/api/meetings/m1/record.zip").data)
    report = verify_record(read_record(path))
    assert report.ok, report.format()


V1 = {"motion": ["yes"]}
V2 = {"n1": ["yes"], "n2": [], "n3": []}


def test_a_replacement_card_votes_from_the_next_vote(app, client, meeting):
    """§8.1: a credential registered after a vote's ``open`` (here the replacement of a lost card,
    through the staff API) does not vote in it, and is told it can vote from the next vote on; it
    needs no new check-in for that one (the deputy is in the hall). The revoked card votes no more."""
    clerk = staff_headers(app)
    _checkin(client, meeting)
    assert _open(client, clerk, "v1")["present"] == 8
    lost = meeting.deputies[0]
    new_key = Ed25519PrivateKey.generate()
    response = client.post(f"{STAFF}/credentials/replace", headers=clerk,
                           json={"old": lost.credential, "new": public_key_hex(new_key)})
    assert response.status_code == 200, response.get_json()
    ballot = _encrypt(app, meeting, "v1", new_key, V1)
    payload = _refused(client, BALLOTS.format("v1"), ballot.entry, 403, "not_checked_in")
    assert "next vote" in payload["message"] and payload["check"] == "registered_after_open"
    payload = _refused(client, "/api/meetings/m1/votes/v1/spoiled", _spoil_body(ballot), 403, "not_checked_in")
    assert "next vote" in payload["message"]
    # A repeated check-in from the new card changes nothing for the vote already open.
    assert client.post("/api/meetings/m1/checkin", json={
        "credential": public_key_hex(new_key), "seat": lost.seat,
        "signature": sign_checkin(new_key, meeting.hash, lost.seat)}).get_json() == {"present": 8}
    _refused(client, BALLOTS.format("v1"), ballot.entry, 403, "not_checked_in")
    old = meeting.ballot(app, "v1", lost, V1)
    _refused(client, BALLOTS.format("v1"), old.entry, 403, "revoked_credential")
    _refused(client, "/api/meetings/m1/votes/v1/spoiled", _spoil_body(old), 403, "revoked_credential")
    assert client.post(BALLOTS.format("v1"), json=meeting.ballot(app, "v1", meeting.deputies[1], V1).entry
                       ).status_code == 201
    _close(client, clerk, "v1")
    assert _open(client, clerk, "v2")["present"] == 8  # the revoked card left, the new one came in
    assert client.post(BALLOTS.format("v2"), json=_encrypt(app, meeting, "v2", new_key, V2).entry).status_code == 201
    _verified(app, client)


def test_a_replacement_of_a_card_that_never_checked_in_must_check_in(app, client, meeting):
    clerk = staff_headers(app)
    _checkin(client, meeting, meeting.deputies[1:])
    lost = meeting.deputies[0]
    new_key = Ed25519PrivateKey.generate()
    assert client.post(f"{STAFF}/credentials/replace", headers=clerk,
                       json={"old": lost.credential, "new": public_key_hex(new_key)}).status_code == 200
    assert _open(client, clerk, "v1")["present"] == 7
    payload = _refused(client, BALLOTS.format("v1"), _encrypt(app, meeting, "v1", new_key, V1).entry,
                       403, "not_checked_in")
    assert payload["message"] == "this credential has not checked in"


def _meeting_with_room(app, members: int, deputies: int) -> DemoMeeting:
    """A sealed demo-trustee meeting with ``members`` members and credentials for ``deputies``."""
    from tally.services import meetings

    with app.app_context():
        meetings.create_meeting("m1", "room", "body", members, "majority", demo.TRUSTEE_NAMES, 3, actor="test",
                             is_demo=True)
        codes = [new_code() for _ in range(deputies)]
        meetings.register_credentials("m1", [public_key_hex(derive_private_key(c, "m1")) for c in codes], actor="test")
        demo._demo_ceremony("m1")
        from piaojue_tools.simulate import agenda

        for entry in agenda():
            meetings.define_vote("m1", entry, actor="test")
        meetings.seal("m1", actor="test")
        parsed = cache.sealed_meeting("m1")
    people = [Deputy(f"S{i}", c, derive_private_key(c, "m1")) for i, c in enumerate(codes)]
    return DemoMeeting("m1", people, parsed.hash, parsed.public_key)


def test_a_credential_registered_after_open_votes_from_the_next_vote(app, client):
    """§8.1: a ``credentials`` entry after the ``open`` entry admits nobody to that vote, even
    after a check-in; from the next vote on the new credential votes."""
    meeting = _meeting_with_room(app, 10, 8)
    clerk = staff_headers(app)
    _checkin(client, meeting)
    _open(client, clerk, "v1")
    code = new_code()
    late = Deputy("S9", code, derive_private_key(code, "m1"))
    assert client.post(f"{STAFF}/credentials", headers=clerk,
                       json={"credentials": [late.credential]}).status_code == 201
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(late)).get_json() == {"present": 9}
    ballot = _encrypt(app, meeting, "v1", late.key, V1)
    payload = _refused(client, BALLOTS.format("v1"), ballot.entry, 403, "not_checked_in")
    assert payload["check"] == "registered_after_open" and "next vote" in payload["message"]
    _refused(client, "/api/meetings/m1/votes/v1/spoiled", _spoil_body(ballot), 403, "not_checked_in")
    # A deputy registered before the open who checks in after it: the next vote too.
    _close(client, clerk, "v1")
    assert _open(client, clerk, "v2")["present"] == 9
    assert _open_entry(client, "v2")["present"] == 9
    assert client.post(BALLOTS.format("v2"), json=_encrypt(app, meeting, "v2", late.key, V2).entry).status_code == 201
    _verified(app, client)


def test_present_counts_only_active_credentials(app, client, meeting):
    """§8.1: ``present`` ≤ the credentials active at ``open``. A checked-in card revoked without
    a replacement (clerk CLI) no longer counts: 7 active credentials, present 7, not 8."""
    _checkin(client, meeting)
    result = app.test_cli_runner().invoke(args=["credentials", "replace", "m1", meeting.deputies[0].credential])
    assert result.exit_code == 0, result.output
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[1])
                       ).get_json() == {"present": 7}
    assert _open(client, staff_headers(app, "presidium"), "v1")["present"] == 7
    assert _open_entry(client, "v1")["present"] == 7
    _verified(app, client)


def test_open_refuses_a_present_above_members(app, client, meeting):
    """§8.1: ``present ≤ members``. Registration keeps the credentials within ``members``, so
    only a damaged store can get here (simulated by lowering ``members``): the service refuses
    to open rather than log such an entry."""
    from tally.store import db
    from tally.store.models import Meeting

    _checkin(client, meeting)
    with app.app_context():
        db.session().get(Meeting, "m1").members = 5
        db.session().commit()
    before = log_size(client)
    response = client.post(f"{STAFF}/votes/v1/open", headers=staff_headers(app, "presidium"))
    assert response.status_code == 409 and response.get_json()["error"] == "invalid_present"
    assert log_size(client) == before
    assert client.get("/api/meetings/m1/votes/v1").get_json()["state"] == "pending"


def test_migration_0006_fixes_credentials_at_open(app, client, meeting):
    """A store upgraded to 0006 learns from its log which vote each credential may vote in: a
    replacement registered while a vote was open (which the old rule let inherit the check-in)
    and a deputy who checked in after the open are refused for that vote; the others vote."""
    from alembic import command

    from tally.store.migrations import alembic_config

    clerk = staff_headers(app)
    late, lost, *early = meeting.deputies
    _checkin(client, meeting, [lost] + early)
    _open(client, clerk, "v1")
    _checkin(client, meeting, [late])
    new_key = Ed25519PrivateKey.generate()
    assert client.post(f"{STAFF}/credentials/replace", headers=clerk,
                       json={"old": lost.credential, "new": public_key_hex(new_key)}).status_code == 200
    engine = app.extensions["piaojue.engine"]
    engine.dispose()
    command.downgrade(alembic_config(engine), "0005")
    from sqlalchemy import text

    with engine.begin() as connection:  # what 0005's replace_credential stored: the inherited number
        order = connection.execute(text("SELECT checkin_order FROM credentials WHERE public_key = :k"),
                                   {"k": lost.credential}).scalar_one()
        connection.execute(text("UPDATE credentials SET checkin_order = :o WHERE public_key = :k"),
                           {"o": order, "k": public_key_hex(new_key)})
        assert connection.execute(text("SELECT checkins FROM meetings")).scalar_one() == 8
    command.upgrade(alembic_config(engine), "head")
    _refused(client, BALLOTS.format("v1"), _encrypt(app, meeting, "v1", new_key, V1).entry, 403, "not_checked_in")
    _refused(client, BALLOTS.format("v1"), meeting.ballot(app, "v1", late, V1).entry, 403, "not_checked_in")
    assert client.post(BALLOTS.format("v1"), json=meeting.ballot(app, "v1", early[0], V1).entry).status_code == 201
    _close(client, clerk, "v1")
    assert _open(client, clerk, "v2")["present"] == 8  # 6 early + late + the replacement
    for key in (new_key, late.key):
        assert client.post(BALLOTS.format("v2"), json=_encrypt(app, meeting, "v2", key, V2).entry).status_code == 201
    _verified(app, client)


@pytest.mark.parametrize("order", ["replace_then_open", "open_then_replace"])
def test_entries_carry_the_registration_order(app, client, meeting, order):
    """The ``credentials`` entry of a replacement stands before or after the ``open`` exactly as
    the service decided eligibility: a verifier replaying the log reaches the same answer."""
    clerk = staff_headers(app)
    _checkin(client, meeting)
    new_key = Ed25519PrivateKey.generate()

    def replace() -> None:
        assert client.post(f"{STAFF}/credentials/replace", headers=clerk,
                           json={"old": meeting.deputies[0].credential, "new": public_key_hex(new_key)}
                           ).status_code == 200

    if order == "replace_then_open":
        replace()
        _open(client, clerk, "v1")
    else:
        _open(client, clerk, "v1")
        replace()
    response = client.post(BALLOTS.format("v1"), json=_encrypt(app, meeting, "v1", new_key, V1).entry)
    entries = _entries(client)
    open_index = next(i for i, e in enumerate(entries) if e["type"] == "open")
    added = next(i for i, e in enumerate(entries) if e["type"] == "credentials" and e["add"] == [public_key_hex(new_key)])
    assert (response.status_code == 201) == (added < open_index)
    _verified(app, client)
