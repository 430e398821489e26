"""Faults in decryption (issue #6; docs/reliability.md "Faults"): a trustee's share missing, and
wrong or malicious shares (SPEC §6.2, §8). On SQLite and PostgreSQL.

The demo meeting has 5 trustees (赵监票 1, 钱监票 2, 孙监票 3, 李监票 4, 周监票 5) and k = 3.

- Missing: with 2 verified shares in, the result is not published, and the public and staff APIs,
  the console and the results page say which trustees are awaited, by index and name. The third
  share publishes the result by itself.
- Wrong or malicious: a share made with a wrong key share, a share for another vote (as is, and
  relabelled with its proofs bound to the other vote), a share over stale aggregates, a forged
  Chaum–Pedersen proof, and trustee 2 posting under trustee 1's index are each rejected with 400
  ``invalid_share`` and a ``check`` (``invalid_proof`` for every proof that fails against the
  trustee's K_l, ``malformed`` for an entry that is not a share for this vote), nothing changes
  (log, tree head, decryption status, audit trail), and the honest shares, trustee 1's among
  them, still combine and publish a result that verifies.
"""

from __future__ import annotations

import json
import random

from service.conftest import staff_headers
from service.test_web_support import csrf_token, staff_client, text
from sqlalchemy import func, select

from ballot.group import Scalar
from ballot.proofs import pair_to_json, prove_partial
from faults.conftest import verify_all
from keys.ceremony import parse_state
from keys.decrypt import partial_decrypt
from keys.statefile import load_state
from piaojue_tools.simulate import plausible_choices
from tally import demo
from tally.services import lifecycle, results
from tally.store import cache, db
from tally.store.models import AuditEvent, Vote

NAMES = {1: "赵监票", 2: "钱监票", 3: "孙监票", 4: "李监票", 5: "周监票"}
SHARES = "/api/meetings/m1/votes/{vote}/shares"


def _trustee_state(index: int) -> dict:
    return load_state(demo.trustee_dir("m1") / f"trustee-{index}.json", demo.DEMO_PASSPHRASE)


def _aggregates(vote_id: str):
    return results.vote_aggregates(db.session().get(Vote, ("m1", vote_id)))


def _vote_with_ballots(app, client, meeting, vote_id: str, voters, rng: random.Random) -> None:
    with app.app_context():
        lifecycle.open_vote("m1", vote_id, actor="test")
        definition = cache.vote_definition("m1", vote_id)
    for deputy in voters:
        ballot = meeting.ballot(app, vote_id, deputy, plausible_choices(definition, rng))
        assert client.post(f"/api/meetings/m1/votes/{vote_id}/ballots", json=ballot.entry).status_code == 201


def _checked_in(client, meeting) -> None:
    for deputy in meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200


def _snapshot(app, client, vote_id: str = "v1"):
    """What a rejected share must not change."""
    with app.app_context():
        events = db.session().scalar(select(func.count()).select_from(AuditEvent))
    return (client.get("/api/meetings/m1/sth").get_json(),
            client.get(f"/api/meetings/m1/votes/{vote_id}/decryption").get_json(), events)


def test_a_missing_share_holds_the_result_and_names_the_trustees(app, client, meeting):
    _checked_in(client, meeting)
    _vote_with_ballots(app, client, meeting, "v1", meeting.deputies[:5], random.Random(1))
    with app.app_context():
        lifecycle.close_vote("m1", "v1", actor="test")
        definition = cache.vote_definition("m1", "v1")
        aggregates = _aggregates("v1")
        shares = {i: partial_decrypt(_trustee_state(i), meeting.hash, definition.hash, "v1", aggregates)
                  for i in (1, 2, 4)}
    for index in (1, 2):
        assert client.post(SHARES.format(vote="v1"), json=shares[index]).status_code == 201
    awaited = [{"index": i, "name": NAMES[i]} for i in (3, 4, 5)]

    # The public API: not published; the decryption status names the trustees awaited.
    assert client.get("/api/meetings/m1/votes/v1/result").get_json()["error"] == "not_published"
    status = client.get("/api/meetings/m1/votes/v1/decryption").get_json()
    assert status["state"] == "closed" and status["threshold"] == 3 and status["posted"] == [1, 2]
    assert status["missing"] == [3, 4, 5] and status["missing_trustees"] == awaited

    # The staff API: the same status, and publishing is refused naming them.
    presidium = staff_headers(app, "presidium")
    staff_status = client.get("/api/staff/meetings/m1/votes/v1/decryption", headers=presidium).get_json()
    assert staff_status["missing_trustees"] == awaited and staff_status["posted"] == [1, 2]
    refused = client.post("/api/staff/meetings/m1/votes/v1/publish", headers=presidium)
    body = refused.get_json()
    assert refused.status_code == 409 and body["error"] == "awaiting_shares"
    assert body["missing_trustees"] == awaited and body["posted"] == [1, 2] and body["threshold"] == 3
    assert all(f"{i} {NAMES[i]}" in body["message"] for i in (3, 4, 5)) and NAMES[1] not in body["message"]
    assert client.get("/api/staff/meetings/m1/votes/v1/decryption").status_code == 401  # staff only

    # The console (its JSON, which the page renders) and the results page.
    console = staff_client(app, "presidium")
    panel = console.get("/staff/meetings/m1/console/votes/v1/decryption").get_json()
    assert [(t["index"], t["name"], t["posted"]) for t in panel["trustees"]] == [
        (i, NAMES[i], i in (1, 2)) for i in range(1, 6)]
    token = csrf_token(console, "/staff/meetings/m1/console")
    pressed = console.post("/staff/meetings/m1/console/votes/v1/publish", json={},
                           headers={"Accept": "application/json", "X-CSRFToken": token})
    assert pressed.status_code == 409 and pressed.get_json()["missing_trustees"] == awaited
    page = text(console.get("/staff/meetings/m1/results/v1"))
    assert "2 / 3" in page
    assert all(f"{i}. {NAMES[i]}" in page for i in (3, 4, 5)) and f"1. {NAMES[1]}" not in page

    # Trustee 4 posts: the result publishes itself, from shares 1, 2 and 4.
    status = client.post(SHARES.format(vote="v1"), json=shares[4]).get_json()
    assert status["state"] == "published" and status["missing_trustees"] == [
        {"index": i, "name": NAMES[i]} for i in (3, 5)]
    result = client.get("/api/meetings/m1/votes/v1/result").get_json()
    assert result["trustees"] == [1, 2, 4] and result["counted"] == 5
    assert "awaited-trustees" not in text(console.get("/staff/meetings/m1/results/v1"))


def test_wrong_and_malicious_shares_are_rejected_and_honest_ones_combine(app, client, meeting, tmp_path):
    rng = random.Random(7)
    _checked_in(client, meeting)
    _vote_with_ballots(app, client, meeting, "v2", meeting.deputies[:3], rng)
    with app.app_context():
        lifecycle.close_vote("m1", "v2", actor="test")
    _vote_with_ballots(app, client, meeting, "v1", meeting.deputies[:5], rng)
    with app.app_context():
        stale = _aggregates("v1")  # before the last ballot
    last = meeting.ballot(app, "v1", meeting.deputies[5], {"motion": ["no"]})
    assert client.post("/api/meetings/m1/votes/v1/ballots", json=last.entry).status_code == 201
    with app.app_context():
        lifecycle.close_vote("m1", "v1", actor="test")
        v1 = cache.vote_definition("m1", "v1")
        v2 = cache.vote_definition("m1", "v2")
        aggregates = _aggregates("v1")
        states = {i: _trustee_state(i) for i in (1, 2, 3, 5)}
        honest = {i: partial_decrypt(states[i], meeting.hash, v1.hash, "v1", aggregates) for i in (1, 3, 5)}
        v2_share = partial_decrypt(states[1], meeting.hash, v2.hash, "v2", _aggregates("v2"))
        bound_to_v2 = partial_decrypt(states[1], meeting.hash, v2.hash, "v1", aggregates)
        over_stale = partial_decrypt(states[1], meeting.hash, v1.hash, "v1", stale)
    s2 = parse_state(states[2]).require_complete()

    def entry_from(secret: Scalar, index: int) -> dict:
        items = []
        for contest, option, ciphertext in aggregates:
            partial, proof = prove_partial(secret, ciphertext.alpha, meeting.hash, v1.hash, index)
            items.append({"contest": contest, "option": option, "M": partial.hex(), "proof": pair_to_json(proof)})
        return {"type": "share", "vote_id": "v1", "trustee": index, "shares": items}

    forged_proof = json.loads(json.dumps(honest[1]))
    for item in forged_proof["shares"]:
        item["proof"] = pair_to_json((Scalar.random(), Scalar.random()))
    relabelled = json.loads(json.dumps(partial_decrypt(states[2], meeting.hash, v1.hash, "v1", aggregates)))
    relabelled["trustee"] = 1
    unknown_trustee = {**honest[1], "trustee": 9}

    # One honest share first, so the rejections are judged against a vote part-way decrypted.
    assert client.post(SHARES.format(vote="v1"), json=honest[3]).get_json()["posted"] == [3]
    before = _snapshot(app, client)
    attacks = {
        "a wrong key share": (entry_from(Scalar.random(), 1), "invalid_proof"),
        "another vote's share, as is": (v2_share, "malformed"),
        "another vote's share, relabelled": (bound_to_v2, "invalid_proof"),
        "a share over stale aggregates": (over_stale, "invalid_proof"),
        "a forged proof": (forged_proof, "invalid_proof"),
        "trustee 2's key under index 1": (entry_from(s2, 1), "invalid_proof"),
        "trustee 2's share relabelled as 1": (relabelled, "invalid_proof"),
        "no such trustee": (unknown_trustee, "malformed"),
    }
    for what, (entry, check) in attacks.items():
        response = client.post(SHARES.format(vote="v1"), json=entry)
        body = response.get_json()
        assert response.status_code == 400 and body["error"] == "invalid_share", (what, body)
        assert body["check"] == check and body["where"].startswith("share"), (what, body)
        assert _snapshot(app, client) == before, what  # no entry, no tree head, no audit event
    assert client.get("/api/meetings/m1/votes/v1/result").get_json()["error"] == "not_published"

    # The honest trustee 1 is not blocked by the forgeries in its name; 1, 3, 5 combine.
    assert client.post(SHARES.format(vote="v1"), json=honest[1]).get_json()["posted"] == [1, 3]
    status = client.post(SHARES.format(vote="v1"), json=honest[5]).get_json()
    assert status["state"] == "published"
    result = client.get("/api/meetings/m1/votes/v1/result").get_json()
    assert result["trustees"] == [1, 3, 5] and result["counted"] == 6
    assert sum(t["count"] for t in result["tallies"]) == 6
    no_votes = next(t["count"] for t in result["tallies"] if t["option"] == "no")
    assert no_votes >= 1  # the last ballot's "no" is in the sum the trustees decrypted
    late = client.post(SHARES.format(vote="v1"), json=entry_from(Scalar.random(), 2))
    assert late.status_code == 409 and late.get_json()["error"] == "vote_not_closed"
    verify_all(client, [], tmp_path)  # every logged share verifies; no rejected one was logged
