"""Receipts are issued only for committed ballots, and a ballot posted twice into the same group
commit gets its receipt (SPEC §8, §11; found while writing the crash campaign, issue #6).

1. The store refuses the *commit* of a batch (a deferred constraint, checked at COMMIT, fails:
   the way a full disk or a lost connection fails a commit). Nothing is logged, and the client
   must not get a receipt; once the store accepts writes again the same ballot gets one.
2. The same ballot posted twice while an earlier batch holds the meeting's lock lands twice in
   the next batch: one is appended, the other is a repeat and gets the same receipt (200).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from ballot.receipt import verify_receipt
from service.conftest import log_size, make_app
from tally.services import intake, lifecycle
from tally.store import db

SQLITE_GUARD = [
    "CREATE TABLE commit_guard_parent (id INTEGER PRIMARY KEY)",
    "CREATE TABLE commit_guard (parent INTEGER REFERENCES commit_guard_parent (id) DEFERRABLE INITIALLY DEFERRED)",
    "CREATE TRIGGER commit_guard_ballots AFTER INSERT ON ballots BEGIN INSERT INTO commit_guard VALUES (1); END",
]
POSTGRES_GUARD = [
    "CREATE TABLE commit_guard_parent (id INTEGER PRIMARY KEY)",
    "CREATE TABLE commit_guard (parent INTEGER REFERENCES commit_guard_parent (id) DEFERRABLE INITIALLY DEFERRED)",
    ("CREATE FUNCTION commit_guard_insert() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN INSERT INTO commit_guard VALUES (1); RETURN NULL; END $$"),
    "CREATE TRIGGER commit_guard_ballots AFTER INSERT ON ballots FOR EACH ROW EXECUTE FUNCTION commit_guard_insert()",
]


@pytest.fixture
def app(database_url, tmp_path):
    """As in conftest, but an unexpected store error is a 500 response, as in production."""
    application = make_app(database_url, str(tmp_path / "instance"), PROPAGATE_EXCEPTIONS=False)
    yield application
    application.extensions["piaojue.engine"].dispose()


def _guard(app, on: bool) -> None:
    """Make every commit that logs a ballot fail at COMMIT (a deferred foreign key), or stop."""
    with app.app_context():
        engine = db.engine()
        sqlite = engine.dialect.name == "sqlite"
        with engine.begin() as connection:
            if on:
                for statement in SQLITE_GUARD if sqlite else POSTGRES_GUARD:
                    connection.execute(text(statement))
            else:
                connection.execute(text("DROP TRIGGER commit_guard_ballots" + ("" if sqlite else " ON ballots")))
                connection.execute(text("DELETE FROM commit_guard"))


def test_no_receipt_when_the_commit_fails(app, client, meeting):
    deputy = meeting.deputies[0]
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="test")
    ballot = meeting.ballot(app, "v1", deputy, {"motion": ["yes"]})
    before = log_size(client)

    _guard(app, True)
    with app.app_context(), db.engine().connect() as connection:  # the guard does refuse a commit of a ballot row
        assert connection.scalar(text("SELECT count(*) FROM commit_guard")) == 0
    refused = client.post("/api/meetings/m1/votes/v1/ballots", json=ballot.entry)
    assert refused.status_code >= 500, refused.get_json()
    assert "leaf_index" not in (refused.get_json() or {})
    assert log_size(client) == before
    assert client.get("/api/meetings/m1/votes/v1").get_json()["cast"] == 0
    assert client.get(f"/api/meetings/m1/receipts/{ballot.hash.hex()}").status_code == 404

    _guard(app, False)
    accepted = client.post("/api/meetings/m1/votes/v1/ballots", json=ballot.entry)
    assert accepted.status_code == 201
    receipt = accepted.get_json()
    assert receipt["leaf_index"] == before
    log_key = bytes.fromhex(client.get("/api/meetings/m1").get_json()["meeting"]["log_key"])
    verify_receipt(receipt, ballot.entry, log_key)
    assert client.get("/api/meetings/m1/votes/v1").get_json()["cast"] == 1


def test_same_ballot_twice_in_one_batch(app, client, meeting):
    first, second = meeting.deputies[:2]
    for deputy in (first, second):
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="test")
    other = meeting.ballot(app, "v1", first, {"motion": ["yes"]})
    twice = meeting.ballot(app, "v1", second, {"motion": ["no"]})
    responses: dict[str, object] = {}

    def post(name: str, entry: dict) -> None:
        responses[name] = app.test_client().post("/api/meetings/m1/votes/v1/ballots", json=entry)

    lock = db.process_lock("m1")
    lock.acquire()  # the leader of the first batch waits here, so the next two queue behind it
    threads = [threading.Thread(target=post, args=("other", other.entry))]
    try:
        threads[0].start()
        _wait_for(lambda: "m1" in intake._group_commit._leading)
        for name in ("a", "b"):
            threads.append(threading.Thread(target=post, args=(name, twice.entry)))
            threads[-1].start()
        _wait_for(lambda: len(intake._group_commit._queues.get("m1", ())) == 2)
    finally:
        lock.release()
    for thread in threads:
        thread.join(60)

    assert responses["other"].status_code == 201
    statuses = sorted(responses[name].status_code for name in ("a", "b"))
    assert statuses == [200, 201], [responses[n].get_json() for n in ("a", "b")]
    assert responses["a"].get_json() == responses["b"].get_json()
    log_key = bytes.fromhex(client.get("/api/meetings/m1").get_json()["meeting"]["log_key"])
    verify_receipt(responses["a"].get_json(), twice.entry, log_key)
    assert client.get("/api/meetings/m1/votes/v1").get_json()["cast"] == 2


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
