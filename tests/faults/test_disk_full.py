"""Fault: the disk under SQLite fills up (issue #6; docs/reliability.md "Faults").

SQLite: the instance folder (database, WAL, trustee files) lives on an 8 MiB tmpfs mounted for the
test. After a few ballots the WAL is checkpointed and truncated (so the next write must grow a
file) and the filesystem is filled to the last byte. A ballot then gets a clear 503
``unavailable`` saying the disk is full, no receipt, and nothing is half written: the log, its
tree head, the vote's count and the ballot's receipt lookup are all as before. Once space is freed
the *same* ballot is accepted, and the log is consistent with the tree head signed before the
fault (a §7 consistency proof), and the record and every receipt verify.
"""

from __future__ import annotations

import pytest

from ballot.log import verify_consistency
from faults.conftest import cast, make_app, open_with_ballots, public_state, verify_all
from tally.store import db

FULL = "disk is full"


@pytest.fixture
def app(small_filesystem):
    """The tally with its whole instance folder (SQLite file, WAL, trustee files) on the tmpfs."""
    application = make_app(f"sqlite:///{small_filesystem.path}/tally.sqlite3", str(small_filesystem.path / "instance"))
    yield application
    application.extensions["piaojue.engine"].dispose()


def test_sqlite_disk_full_is_a_clear_503_and_nothing_is_lost(app, client, meeting, small_filesystem, tmp_path):
    receipts = open_with_ballots(app, client, meeting, 3)
    before = public_state(client)

    with app.app_context(), db.engine().connect() as connection:  # empty the WAL: the next commit must grow a file
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        assert busy == 0
    filler = small_filesystem.fill()
    assert small_filesystem.free_bytes() == 0

    ballot, response = cast(client, meeting, app, meeting.deputies[3], "no")
    assert response.status_code == 503
    body = response.get_json()
    assert set(body) == {"error", "message"} and body["error"] == "unavailable" and FULL in body["message"]
    assert "receipt" not in body and "leaf_index" not in body
    # Nothing half written: the same log, tree head and count, and the ballot is unknown.
    assert public_state(client) == before
    assert client.get(f"/api/meetings/m1/receipts/{ballot.hash.hex()}").status_code == 404
    # Still full: a check-in is refused the same way, and the state is still untouched.
    again = client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[3]))
    assert again.status_code in (200, 503)  # a repeated check-in may need no write at all
    assert cast(client, meeting, app, meeting.deputies[4], "no")[1].status_code == 503
    assert public_state(client) == before

    filler.unlink()  # the operators free space; the service was never restarted
    retry = client.post("/api/meetings/m1/votes/v1/ballots", json=ballot.entry)
    assert retry.status_code == 201, retry.get_json()
    receipt = retry.get_json()
    assert receipt["ballot_hash"] == ballot.hash.hex() and receipt["leaf_index"] == before[0]["tree_size"]
    receipts.append(receipt)

    sth, entries, counted = public_state(client)
    assert entries[: len(before[1])] == before[1] and counted == before[2] + 1
    proof = client.get(f"/api/meetings/m1/proofs/consistency?first={before[0]['tree_size']}"
                       f"&second={sth['tree_size']}").get_json()["consistency"]
    verify_consistency(before[0]["tree_size"], sth["tree_size"], bytes.fromhex(before[0]["root"]),
                       bytes.fromhex(sth["root"]), [bytes.fromhex(h) for h in proof])
    verify_all(client, receipts, tmp_path)


