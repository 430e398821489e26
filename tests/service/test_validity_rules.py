"""SPEC §8.1 (revision 2), every other rule the tally service could break by writing something:
replays, spoiled entries, shares and results, vote definitions and their limits, times, keys
and number types. Each test tries to make the service write the forbidden thing through its
public paths (§11 API, staff API, clerk CLI), on SQLite and PostgreSQL, and checks that it is
refused with a clear code and that nothing is logged; where the service writes on its own
(times, tree heads, results), that what it writes follows the rule."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ballot.audit import verify_record
from ballot.record import read_record
from keys.credentials import derive_private_key, new_code, public_key_hex
from keys.decrypt import partial_decrypt
from keys.statefile import load_state
from service.conftest import log_size, staff_headers
from tally import demo
from tally.store import cache
from tests.test_public_key_order import _plus_torsion

STAFF = "/api/staff/meetings/m1"
BALLOTS = "/api/meetings/m1/votes/{}/ballots"
SPOILED = "/api/meetings/m1/votes/{}/spoiled"
SHARES = "/api/meetings/m1/votes/{}/shares"
AT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z"


def _checkin(client, meeting) -> None:
    for deputy in meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200


def _post(client, url: str, body, headers=None):
    return client.post(url, json=body, headers=headers or {})


def _refused(client, url: str, body, status: int, code: str, headers=None) -> dict:
    before = log_size(client)
    response = _post(client, url, body, headers)
    assert response.status_code == status, response.get_json()
    payload = response.get_json()
    assert payload["error"] == code and payload["message"], payload
    assert log_size(client) == before
    return payload


def _entries(client) -> list[dict]:
    return client.get(f"/api/meetings/m1/entries?start=0&end={log_size(client)}").get_json()["entries"]


def _record(app, client):
    path = os.path.join(app.instance_path, "record.zip")
    with open(path, "wb") as handle:
        handle.write(client.get("/api/meetings/m1/record.zip").data)
    return read_record(path)


def _verified(app, client) -> None:
    report = verify_record(_record(app, client))
    assert report.ok, report.format()


def _spoil_body(ballot) -> dict:
    return {k: v for k, v in ballot.spoiled_entry().items() if k != "type"}


def _share(app, vote_id: str, index: int) -> dict:
    """Demo trustee ``index``'s §8 share entry for the closed vote."""
    from tally.services import results
    from tally.store import db
    from tally.store.models import Vote

    with app.app_context():
        parsed = cache.sealed_meeting("m1")
        definition = cache.vote_definition("m1", vote_id)
        aggregates = results.vote_aggregates(db.session().get(Vote, ("m1", vote_id)))
        state = load_state(demo.trustee_dir("m1") / f"trustee-{index}.json", demo.DEMO_PASSPHRASE)
        return partial_decrypt(state, parsed.hash, definition.hash, vote_id, aggregates)


# ------------------------------------------------------------------ who may vote, what counts


def test_a_replayed_ballot_after_a_recast_gets_its_receipt_and_appends_nothing(app, client, meeting):
    """§8.1 "No replay": within a vote a ballot hash appears at most once among cast ballots, so
    the recast is never rolled back. The earlier ballot re-posted after the recast gets its
    original receipt (200, §11 idempotency), appends nothing, and the recast still counts."""
    clerk = staff_headers(app)
    _checkin(client, meeting)
    assert _post(client, f"{STAFF}/votes/v5/open", {}, clerk).status_code == 200  # recast allowed
    items = ["d1", "d2", "d3", "d4"]
    deputy = meeting.deputies[0]
    first = meeting.ballot(app, "v5", deputy, {d: ["unsatisfied"] for d in items})
    second = meeting.ballot(app, "v5", deputy, {d: ["satisfied"] for d in items})
    receipt = _post(client, BALLOTS.format("v5"), first.entry).get_json()
    assert _post(client, BALLOTS.format("v5"), second.entry).status_code == 201
    before = log_size(client)
    again = _post(client, BALLOTS.format("v5"), first.entry)
    assert again.status_code == 200 and again.get_json() == receipt
    assert log_size(client) == before
    assert client.get("/api/meetings/m1/votes/v5").get_json()["cast"] == 1
    hashes = [e for e in _entries(client) if e["type"] == "ballot"]
    assert len(hashes) == 2
    assert _post(client, f"{STAFF}/votes/v5/close", {}, clerk).status_code == 200
    with app.app_context():
        demo.demo_tally("m1", "v5")
    result = client.get("/api/meetings/m1/votes/v5/result").get_json()
    counts = {(t["contest"], t["option"]): t["count"] for t in result["tallies"]}
    assert result["counted"] == 1 and all(counts[(d, "satisfied")] == 1 for d in items)
    _verified(app, client)


def test_spoiled_entries_only_while_the_vote_is_open(app, client, meeting):
    """§8.1: spoiled entries stand between their vote's ``open`` and ``close``."""
    clerk = staff_headers(app)
    _checkin(client, meeting)
    challenged = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["no"]})
    _refused(client, SPOILED.format("v1"), _spoil_body(challenged), 409, "vote_not_open")  # pending
    assert _post(client, f"{STAFF}/votes/v1/open", {}, clerk).status_code == 200
    assert _post(client, f"{STAFF}/votes/v1/close", {}, clerk).status_code == 200
    _refused(client, SPOILED.format("v1"), _spoil_body(challenged), 409, "vote_not_open")  # closed
    # A spoiled entry with one opening missing, or two swapped, is refused too (one per
    # selection, in ballot order).
    assert _post(client, f"{STAFF}/votes/v2/open", {}, clerk).status_code == 200
    ballot = meeting.ballot(app, "v2", meeting.deputies[0], {"n1": ["yes"], "n2": ["no"], "n3": []})
    body = _spoil_body(ballot)
    short = dict(body, openings=body["openings"][:-1])
    _refused(client, SPOILED.format("v2"), short, 400, "malformed")
    swapped = dict(body, openings=[body["openings"][1], body["openings"][0], *body["openings"][2:]])
    assert _post(client, SPOILED.format("v2"), swapped, None).status_code == 400
    assert _post(client, SPOILED.format("v2"), body, None).status_code == 201
    _verified(app, client)


# ------------------------------------------------------------------ shares and results


def test_shares_come_after_close_once_per_trustee_and_before_the_result(app, client, meeting):
    """§8.1 "Order": a vote's shares come after its ``close``, at most one per trustee, before
    its ``result``; the result's trustees are distinct and ascending, its tallies in vote order."""
    clerk = staff_headers(app)
    _checkin(client, meeting)
    assert _post(client, f"{STAFF}/votes/v2/open", {}, clerk).status_code == 200
    for deputy in meeting.deputies[:3]:
        ballot = meeting.ballot(app, "v2", deputy, {"n1": ["yes"], "n2": ["no"], "n3": ["abstain"]})
        assert _post(client, BALLOTS.format("v2"), ballot.entry).status_code == 201
    assert client.get("/api/meetings/m1/votes/v2/aggregates").get_json()["error"] == "vote_not_closed"
    assert _post(client, f"{STAFF}/votes/v2/close", {}, clerk).status_code == 200
    share5 = _share(app, "v2", 5)
    assert _post(client, SHARES.format("v2"), share5).status_code == 201
    payload = _refused(client, SHARES.format("v2"), share5, 409, "already_shared")
    assert "trustee 5" in payload["message"]
    assert _post(client, SHARES.format("v2"), _share(app, "v2", 3)).status_code == 201
    assert client.get("/api/meetings/m1/votes/v2").get_json()["state"] == "closed"
    assert _post(client, SHARES.format("v2"), _share(app, "v2", 2)).status_code == 201  # the third: published
    _refused(client, SHARES.format("v2"), _share(app, "v2", 1), 409, "vote_not_closed")  # after the result
    entries = _entries(client)
    result = next(e for e in entries if e["type"] == "result" and e["vote_id"] == "v2")
    assert result["trustees"] == [2, 3, 5]
    with app.app_context():
        refs = cache.vote_definition("m1", "v2").option_refs()
    assert [(t["contest"], t["option"]) for t in result["tallies"]] == list(refs)
    assert [e["type"] for e in entries if e.get("vote_id") == "v2"][-4:] == ["share", "share", "share", "result"]
    _verified(app, client)


def test_a_vote_is_not_decrypted_before_it_closes(app, client, meeting):
    clerk = staff_headers(app)
    _checkin(client, meeting)
    assert _post(client, f"{STAFF}/votes/v1/open", {}, clerk).status_code == 200
    assert _post(client, BALLOTS.format("v1"),
                 meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["yes"]}).entry).status_code == 201
    assert _post(client, f"{STAFF}/votes/v1/close", {}, clerk).status_code == 200
    share = _share(app, "v1", 1)
    # The same vote re-opened is refused; a share for a vote still open cannot be posted.
    _refused(client, f"{STAFF}/votes/v1/open", {}, 409, "vote_not_pending", clerk)
    assert _post(client, f"{STAFF}/votes/v2/open", {}, clerk).status_code == 200
    wrong_vote = dict(share, vote_id="v2")
    _refused(client, SHARES.format("v2"), wrong_vote, 409, "vote_not_closed")
    _refused(client, f"{STAFF}/votes/v1/publish", {}, 409, "awaiting_shares", clerk)


def test_every_number_the_service_writes_is_an_integer_and_every_flag_a_boolean(app, client, meeting):
    """§8.1 "Types": ``members``, ``present``, ``ballots``, ``counted`` and every count are JSON
    integers, never booleans; ``passed`` and ``quorum_met`` are booleans."""
    clerk = staff_headers(app)
    _checkin(client, meeting)
    for vote_id, choice in (("v1", {"motion": ["yes"]}), ("v5", {d: ["satisfied"] for d in ["d1", "d2", "d3", "d4"]})):
        assert _post(client, f"{STAFF}/votes/{vote_id}/open", {}, clerk).status_code == 200
        assert _post(client, BALLOTS.format(vote_id),
                     meeting.ballot(app, vote_id, meeting.deputies[0], choice).entry).status_code == 201
        assert _post(client, f"{STAFF}/votes/{vote_id}/close", {}, clerk).status_code == 200
        with app.app_context():
            demo.demo_tally("m1", vote_id)
    checked = _check_types(_entries(client))
    assert checked >= 20
    _verified(app, client)


INTEGER_FIELDS = {"members", "present", "ballots", "counted", "count", "trustee", "index", "not_voted",
                  "unfilled", "seats"}
BOOLEAN_FIELDS = {"passed", "quorum_met", "recast"}


def _check_types(entries: list[dict]) -> int:
    """Walk every entry; return how many typed fields were checked."""
    checked = 0

    def walk(node) -> None:
        nonlocal checked
        if isinstance(node, dict):
            for key, value in node.items():
                if key in INTEGER_FIELDS:
                    assert type(value) is int, (key, value)
                    checked += 1
                elif key in BOOLEAN_FIELDS:
                    assert type(value) is bool, (key, value)
                    checked += 1
                elif key == "counts" and isinstance(value, dict):
                    assert all(type(v) is int for v in value.values()), value
                    checked += len(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for entry in entries:
        walk(entry)
    assert type(entries[0]["threshold"]) is int  # the meeting's (a rule's threshold is "half" …)
    return checked + 1


# ------------------------------------------------------------------ vote definitions and limits


def _resolution(vote_id: str, options: int = 3) -> dict:
    from ballot import templates

    entry = copy.deepcopy(templates.resolution("x", "标题"))  # the template shares its option objects
    entry["vote_id"] = vote_id
    if options != 3:
        extra = [{"id": f"o{i}"} for i in range(options - 3)]
        entry["contests"][0]["options"] = entry["contests"][0]["options"] + extra
    return entry


@pytest.mark.parametrize("vote_id", ["v 1", "表决一", "x" * 65, "", "v1/2", "v1\n"])
def test_vote_ids_match_the_url_pattern(app, client, meeting, vote_id):
    """§8.1 "Limits": ``vote_id`` matches ``[A-Za-z0-9_-]{1,64}``."""
    _refused(client, f"{STAFF}/votes", {"entry": _resolution(vote_id)}, 400, "invalid_vote", staff_headers(app))


def test_a_vote_id_is_defined_once(app, client, meeting):
    """§8.1 "Order": a ``vote_id`` is defined once (the demo agenda already has ``v1``)."""
    clerk = staff_headers(app)
    _refused(client, f"{STAFF}/votes", {"entry": _resolution("v1")}, 409, "exists", clerk)
    assert _post(client, f"{STAFF}/votes", {"entry": _resolution("v9")}, clerk).status_code == 201
    _refused(client, f"{STAFF}/votes", {"entry": _resolution("v9")}, 409, "exists", clerk)


def test_vote_size_and_nesting_limits(app, client, meeting):
    """§8.1 "Limits": at most 500 options per vote, no contest or constraint range over 500
    values, JSON nested at most 32 levels."""
    clerk = staff_headers(app)
    url = f"{STAFF}/votes"
    # 501 options in one contest (and so a range of up to 502 values) is refused; 500 is taken.
    _refused(client, url, {"entry": _resolution("big", 501)}, 400, "invalid_vote", clerk)
    wide = _resolution("wide", 3)
    wide["contests"].append({"id": "c2", "min": 0, "max": 300, "options": [{"id": f"a{i}"} for i in range(300)]})
    wide["contests"].append({"id": "c3", "min": 0, "max": 300, "options": [{"id": f"b{i}"} for i in range(300)]})
    _refused(client, url, {"entry": wide}, 400, "invalid_vote", clerk)  # 603 options in all
    span = _resolution("span", 3)
    span["constraints"] = [{"id": "k", "min": 0, "max": 600, "members": [["motion", "yes"], ["motion", "no"]]}]
    _refused(client, url, {"entry": span}, 400, "invalid_vote", clerk)  # a range of 601 values
    deep: dict = {"x": 1}
    for _ in range(40):
        deep = {"x": deep}
    nested = _resolution("deep")
    nested["contests"][0]["options"][0]["photo"] = deep
    payload = _post(client, url, {"entry": nested}, clerk)
    assert payload.status_code == 400 and payload.get_json()["error"] in ("invalid_vote", "malformed")
    assert client.get("/api/meetings/m1/votes/deep").status_code == 404
    assert _post(client, url, {"entry": _resolution("ok500", 500)}, clerk).status_code == 201


def test_meeting_ids_match_the_url_pattern(app, client):
    """§8.1 "Limits": ``meeting_id`` matches ``[A-Za-z0-9_-]{1,64}``."""
    clerk = staff_headers(app)
    for meeting_id in ("会议", "m 1", "m" * 65, ""):
        body = {"meeting_id": meeting_id, "title": "t", "body": "b", "members": 5, "quorum": "majority",
                "trustees": ["a"], "threshold": 1}
        response = _post(client, "/api/staff/meetings", body, clerk)
        assert response.status_code == 400 and response.get_json()["error"] == "malformed", response.get_json()


# ------------------------------------------------------------------ times


def test_times_are_exact_and_a_close_is_never_before_its_open(app, client, meeting, monkeypatch):
    """§8.1 "Times": ``at`` is ``YYYY-MM-DDTHH:MM:SS[.d{1,9}]Z`` in ASCII digits, and a vote's
    ``close`` is not earlier than its ``open``, even if the clock goes back an hour between them.
    Tree heads likewise: ``sths.jsonl`` in non-decreasing timestamp order."""
    import re

    from tally.services import lifecycle
    from tally.store import logstore

    clerk = staff_headers(app)
    _checkin(client, meeting)
    real = datetime.now(UTC)
    monkeypatch.setattr(lifecycle, "_clock", lambda: real)
    assert _post(client, f"{STAFF}/votes/v1/open", {}, clerk).status_code == 200
    monkeypatch.setattr(lifecycle, "_clock", lambda: real - timedelta(hours=1))
    base = logstore.clock_ms()
    monkeypatch.setattr(logstore, "clock_ms", lambda: base - 3_600_000)  # the clock went back an hour
    assert _post(client, BALLOTS.format("v1"),
                 meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["yes"]}).entry).status_code == 201
    assert _post(client, f"{STAFF}/votes/v1/close", {}, clerk).status_code == 200
    entries = _entries(client)
    opened = next(e for e in entries if e["type"] == "open")
    closed = next(e for e in entries if e["type"] == "close")
    assert re.fullmatch(AT, opened["at"]) and re.fullmatch(AT, closed["at"])
    assert closed["at"] == opened["at"]
    record = _record(app, client)
    stamps = [sth["timestamp"] for sth in record.sths]
    assert stamps == sorted(stamps) and stamps[-1] == record.sth["timestamp"]
    sizes = [sth["tree_size"] for sth in record.sths]
    assert sizes == sorted(sizes)
    assert verify_record(record).ok


def test_log_time_is_utc_with_z(monkeypatch):
    from tally.services import lifecycle

    moment = datetime(2027, 3, 5, 17, 4, 5, 123456, tzinfo=timezone(timedelta(hours=8)))
    monkeypatch.setattr(lifecycle, "_clock", lambda: moment)
    assert lifecycle.log_time() == "2027-03-05T09:04:05.123Z"
    assert lifecycle.log_time("2027-03-05T09:04:05.1234Z") == "2027-03-05T09:04:05.1234Z"
    assert lifecycle.log_time("2027-03-05T09:04:05Z") == "2027-03-05T09:04:05.123Z"


# ------------------------------------------------------------------ keys


def _order_2l(key_hex: str) -> str:
    """A prime-order point plus the point of order 2: ``(x, y) + (0, −1) = (−x, −y)``."""
    return _plus_torsion(bytes.fromhex(key_hex), 2).hex()


def test_credentials_of_order_2l_are_refused(app, client, meeting):
    """§8.1 "Credentials": every registered key has prime order; a point of order 2ℓ (a valid
    prime-order point plus a small-order torsion point) is refused, by every path."""
    clerk = staff_headers(app)
    mixed = _order_2l(public_key_hex(derive_private_key(new_code(), "m1")))
    payload = _refused(client, f"{STAFF}/credentials", {"credentials": [mixed]}, 400, "malformed", clerk)
    assert "credentials[0]" in payload["message"]
    _refused(client, f"{STAFF}/credentials/replace", {"old": meeting.deputies[0].credential, "new": mixed},
             400, "malformed", clerk)
    path = os.path.join(app.instance_path, "creds.json")
    with open(path, "w") as handle:
        json.dump({"meeting_id": "m1", "credentials": [mixed]}, handle)
    before = log_size(client)
    result = app.test_cli_runner().invoke(args=["credentials", "register", "m1", path])
    assert result.exit_code != 0 and "malformed" in result.output + str(result.exception)
    assert log_size(client) == before


def test_a_log_key_of_order_2l_cannot_be_sealed(app, client):
    """§8.1 "Credentials": the meeting's ``log_key`` has prime order too. A store whose log key
    was damaged into a point of order 2ℓ refuses to seal (nothing is logged)."""
    from tally.services import meetings
    from tally.store import db
    from tally.store.models import Meeting

    with app.app_context():
        meetings.create_meeting("m1", "t", "b", 4, "majority", demo.TRUSTEE_NAMES, 3, actor="test", is_demo=True)
        row = db.session().get(Meeting, "m1")
        row.log_public_key = bytes.fromhex(_order_2l(row.log_public_key.hex()))
        db.session().commit()
        demo._demo_ceremony("m1")
    response = _post(client, f"{STAFF}/seal", {}, staff_headers(app))
    assert response.status_code == 409 and response.get_json()["error"] == "invalid_log_key"
    with app.app_context():
        assert db.session().get(Meeting, "m1").log_size == 0
