"""Fault: PostgreSQL refuses the commit itself (issue #6; docs/reliability.md "Faults").

A deferred constraint trigger on ``tree_heads`` raises ``disk_full`` (SQLSTATE 53100) when the
transaction commits, which is after the batch's ballots were appended, its tree head signed and
its receipts built: the exact moment a lost disk or a crashed server would hurt most. The client
must get the 503 ``unavailable`` (saying the disk is full), never a receipt for a ballot that is
not in the log; nothing is half written; once the trigger is gone, the same ballot is accepted.
"""

from __future__ import annotations

import threading
import time

import pytest
from service.conftest import postgres_schema

from faults.conftest import cast, open_with_ballots, public_state, verify_all
from tally.store import db


@pytest.fixture
def database_url():
    """PostgreSQL only (a fresh schema of the shared server, as in tests/service)."""
    with postgres_schema("f_") as url:
        yield url


def test_a_refused_commit_gives_no_receipt(app, client, meeting, tmp_path):
    receipts = open_with_ballots(app, client, meeting, 2)
    before = public_state(client)
    with app.app_context(), db.engine().begin() as connection:
        connection.exec_driver_sql(
            "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$")
        connection.exec_driver_sql(
            "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON tree_heads DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION refuse_commit()")

    ballot, response = cast(client, meeting, app, meeting.deputies[2], "no")
    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert set(body) == {"error", "message"} and body["error"] == "unavailable" and "disk is full" in body["message"]
    assert public_state(client) == before  # nothing half written
    assert client.get(f"/api/meetings/m1/receipts/{ballot.hash.hex()}").status_code == 404

    with app.app_context(), db.engine().begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_commit ON tree_heads")
    retry = client.post("/api/meetings/m1/votes/v1/ballots", json=ballot.entry)
    assert retry.status_code == 201 and retry.get_json()["leaf_index"] == before[0]["tree_size"]
    receipts.append(retry.get_json())
    verify_all(client, receipts, tmp_path)


def test_a_failed_transaction_is_every_items_answer():
    """tally.store.batching: results and rejections decided inside a transaction that then fails are
    replaced by its error (a rejection such as ``already_voted`` may rest on an uncommitted write)."""
    from tally.store.batching import GroupCommit

    gate = threading.Event()
    sizes = []

    def run(_key, items):
        gate.wait(5)  # the first batch holds the lead while the others queue into the second
        sizes.append(len(items))
        items[0].result = "a receipt for a ballot that will not be committed"
        for item in items[1:]:
            item.error = ValueError("already_voted, judged against the first item")
        raise ConnectionError("the commit failed")

    commit = GroupCommit(run)
    outcomes = []

    def submit(payload):
        try:
            outcomes.append(commit.submit("m1", payload))
        except Exception as exc:  # noqa: BLE001 - the answer under test
            outcomes.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
    threads[0].start()
    time.sleep(0.1)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.1)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert sizes == [1, 3]
    assert len(outcomes) == 4 and all(isinstance(o, ConnectionError) for o in outcomes), outcomes
