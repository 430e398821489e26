"""Differential fuzzing of the tally service's intake against the record verifier (issue #12;
SPEC §4.3, §4.4, §5, §8.1).

Hypothesis generates, per example, one new vote (a resolution or a two-nominee appointment,
with or without recasts) and a sequence of requests on the real §11 paths: fresh ballots,
recasts, replays of earlier bytes, challenges (spoiled entries), casting a challenged ballot,
challenging a cast one, check-ins after the open, a lost card replaced or revoked while the
vote is open, a credential registered after the open, and malformed mutations of real ballots.
Then:

* **forward**: the exported record passes :func:`ballot.audit.verify_record`, and the ballots
  the verifier counts for the vote are exactly the last ballot intake accepted (201) per
  credential;
* **reverse**: every request is also judged by the verifier. The log as it stood when the
  request was made (this vote's entries and the meeting's credentials), plus the posted entry,
  plus a ``close``, is signed with the meeting's log key the way a dishonest service could sign
  it; if the verifier rejects that record, or does not count the ballot, intake must not have
  appended it. (The converse does not hold and is not asked: intake also refuses what only it
  can see, such as a check-in after the open or a zero nonce.)

Small meetings (6 credentials to start), ``PIAOJUE_DIFF_EXAMPLES`` votes per store (default 20:
about 8 s a store, some 150 requests each judged by the verifier).
"""

from __future__ import annotations

import copy
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballot import audit, templates
from ballot.ballot import ballot_hash, signature_message
from ballot.encrypt import EncryptedBallot, encrypt_ballot
from ballot.hashing import canonical_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.record import Record, read_record
from keys.credentials import public_key_hex, sign_checkin
from service.conftest import make_app, postgres_schema, staff_headers
from tally import demo
from tally.services import meetings
from tally.store import cache

EXAMPLES = int(os.environ.get("PIAOJUE_DIFF_EXAMPLES", "20"))
MEMBERS = 40
DEPUTIES = 6
ACTIONS = ["cast", "cast", "cast", "recast", "recast", "replay", "replay", "challenge", "cast_challenged",
           "challenge_cast", "late_checkin", "replace", "replace", "revoke", "register", "mutate", "mutate"]
MUTATIONS = ["signature", "swap_proof", "drop_field", "extra_field", "wrong_vote", "zero_nonce", "credential"]


@dataclass
class Person:
    key: Ed25519PrivateKey
    seat: str
    active: bool = True
    checked_in: bool = False

    @property
    def credential(self) -> str:
        return public_key_hex(self.key)


@dataclass
class World:
    app: Any
    client: Any
    clerk: dict[str, str]
    people: list[Person]
    meeting_hash: bytes
    public_key: Any
    log_key: Ed25519PrivateKey
    votes: int = 0
    registered: int = DEPUTIES
    outcomes: Counter = field(default_factory=Counter)


@contextmanager
def _store(kind: str, tmp) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/tally.sqlite3"
    else:
        with postgres_schema("d_") as url:
            yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    from keys.credentials import derive_private_key, new_code
    from tally.store import db
    from tally.store.logkeys import open_log_key
    from tally.store.models import Meeting

    tmp = tmp_path_factory.mktemp(f"diff-{request.param}")
    with _store(request.param, tmp) as url:
        app = make_app(url, str(tmp / "instance"))
        codes = [new_code() for _ in range(DEPUTIES)]
        with app.app_context():
            meetings.create_meeting("m1", "差分", "body", MEMBERS, "majority", demo.TRUSTEE_NAMES, 3, actor="test",
                                 is_demo=True)
            meetings.register_credentials("m1", [public_key_hex(derive_private_key(c, "m1")) for c in codes],
                                       actor="test")
            demo._demo_ceremony("m1")
            meetings.seal("m1", actor="test")
            parsed = cache.sealed_meeting("m1")
            row = db.session().get(Meeting, "m1")
            log_key = open_log_key("m1", row.log_private_key_sealed)
        people = [Person(derive_private_key(c, "m1"), f"S{i}") for i, c in enumerate(codes)]
        built = World(app, app.test_client(), staff_headers(app), people, parsed.hash, parsed.public_key, log_key)
        yield built
        print(f"\n{request.param}: {built.votes} votes, outcomes {dict(sorted(built.outcomes.items()))}")
        app.extensions["piaojue.engine"].dispose()


# ------------------------------------------------------------------ requests


@dataclass
class Attempt:
    """One posted ballot or spoiled entry, and what the service did with it."""

    kind: str  # "ballot" or "spoiled"
    body: dict[str, Any]
    log_size: int
    status: int
    code: str | None
    credential: str | None


def _log_size(world: World) -> int:
    return world.client.get("/api/meetings/m1/sth").get_json()["tree_size"]


def _entries(world: World, start: int, end: int) -> list[dict[str, Any]]:
    return world.client.get(f"/api/meetings/m1/entries?start={start}&end={end}").get_json()["entries"]


def _choices(rng: random.Random, definition) -> dict[str, list[str]]:
    choices: dict[str, list[str]] = {}
    for contest in definition.contests:
        count = rng.randint(contest.min, contest.max)
        choices[contest.id] = rng.sample(list(contest.options), count)
    return choices


def _resign(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return {**unsigned, "signature": key.sign(signature_message(ballot_hash(unsigned))).hex()}


def _mutate(rng: random.Random, ballot: EncryptedBallot, key: Ed25519PrivateKey, vote_id: str) -> dict[str, Any]:
    body = copy.deepcopy(ballot.entry)
    kind = rng.choice(MUTATIONS)
    selection = body["contests"][0]["selections"][0]
    if kind == "signature":
        flipped = "0" if body["signature"][0] != "0" else "1"
        return {**body, "signature": flipped + body["signature"][1:]}
    if kind == "swap_proof":
        selection["proof"].reverse()
        return _resign(body, key)
    if kind == "drop_field":
        del body[rng.choice(["contests", "constraints", "credential", "vote_id"])]
        return body
    if kind == "extra_field":
        return _resign({**body, "note": 1}, key)
    if kind == "wrong_vote":
        return _resign({**body, "vote_id": "v_other" if vote_id != "v_other" else "v_x"}, key)
    if kind == "zero_nonce":
        selection["alpha"] = "00" * 32
        return _resign(body, key)
    # another credential's key signs the same ciphertexts (their context binds the original)
    other = Ed25519PrivateKey.generate()
    return _resign({**body, "credential": public_key_hex(other)}, other)


class Run:
    """One example: a vote, the requests made on it, and the model of what the deputies hold."""

    def __init__(self, world: World, recast: bool, resolution: bool) -> None:
        self.world = world
        self.rng = random.Random(0)
        world.votes += 1
        self.vote_id = f"f{world.votes}"
        if resolution:
            entry = templates.resolution(self.vote_id, "差分表决", recast=recast)
        else:
            entry = templates.appointment(self.vote_id, "差分任免", [{"id": "n1", "name": "甲"},
                                                                   {"id": "n2", "name": "乙"}], recast=recast)
        response = world.client.post("/api/staff/meetings/m1/votes", json={"entry": entry}, headers=world.clerk)
        assert response.status_code == 201, response.get_json()
        with world.app.app_context():
            self.definition = cache.vote_definition("m1", self.vote_id)
        self.attempts: list[Attempt] = []
        self.cast: list[tuple[EncryptedBallot, Ed25519PrivateKey]] = []  # accepted, in order
        self.challenged: list[EncryptedBallot] = []
        self.open_size = 0

    def encrypt(self, person: Person) -> EncryptedBallot:
        return encrypt_ballot(self.definition, self.world.meeting_hash, self.world.public_key, person.key,
                              _choices(self.rng, self.definition))

    def post(self, kind: str, body: dict[str, Any], credential: str | None) -> Attempt:
        size = _log_size(self.world)
        url = f"/api/meetings/m1/votes/{self.vote_id}/{'ballots' if kind == 'ballot' else 'spoiled'}"
        response = self.world.client.post(url, json=body)
        payload = response.get_json()
        assert response.status_code < 500, payload
        code = payload.get("error") if response.status_code >= 400 else None
        if response.status_code >= 400:
            assert payload["message"] and code in audit_codes(kind), payload
            assert _log_size(self.world) == size, "a refused request appended to the log"
        attempt = Attempt(kind, body, size, response.status_code, code, credential)
        self.attempts.append(attempt)
        reason = payload.get("check", "") if code == "not_checked_in" else ""
        self.world.outcomes[f"{kind} {response.status_code} {code or ''} {reason}".strip()] += 1
        return attempt

    def checkin(self, person: Person) -> None:
        body = {"credential": person.credential, "seat": person.seat,
                "signature": sign_checkin(person.key, self.world.meeting_hash, person.seat)}
        response = self.world.client.post("/api/meetings/m1/checkin", json=body)
        assert response.status_code == (200 if person.active else 403), response.get_json()
        if person.active:
            person.checked_in = True

    def person(self) -> Person:
        """Mostly a deputy who may vote now; sometimes anyone (revoked, late, replaced …)."""
        voters = [p for p in self.world.people if p.active and p.checked_in]
        return self.rng.choice(voters if voters and self.rng.random() < 0.7 else self.world.people)

    def step(self, action: str, seed: int) -> None:
        """Do ``action``; every choice it makes comes from ``seed``, so what Hypothesis draws
        never depends on the state of the shared world."""
        world = self.world
        rng = self.rng = random.Random(seed)
        if action in ("cast", "recast"):
            person = self.cast[-1][1] if action == "recast" and self.cast else None
            chosen = next((p for p in world.people if p.key is person), None) if person else self.person()
            ballot = self.encrypt(chosen)
            if self.post("ballot", ballot.entry, chosen.credential).status == 201:
                self.cast.append((ballot, chosen.key))
        elif action == "replay" and self.attempts:
            earlier = rng.choice(self.attempts)
            self.post(earlier.kind, earlier.body, earlier.credential)
        elif action == "challenge":
            person = self.person()
            ballot = self.encrypt(person)
            body = {k: v for k, v in ballot.spoiled_entry().items() if k != "type"}
            if self.post("spoiled", body, person.credential).status == 201:
                self.challenged.append(ballot)
        elif action == "cast_challenged" and self.challenged:
            ballot = rng.choice(self.challenged)
            self.post("ballot", ballot.entry, ballot.entry["credential"])
        elif action == "challenge_cast" and self.cast:
            ballot, _key = rng.choice(self.cast)
            body = {k: v for k, v in ballot.spoiled_entry().items() if k != "type"}
            self.post("spoiled", body, ballot.entry["credential"])
        elif action == "late_checkin":
            waiting = [p for p in world.people if p.active and not p.checked_in]
            if waiting:
                self.checkin(rng.choice(waiting))
        elif action in ("replace", "revoke"):
            active = [p for p in world.people if p.active]
            if len(active) <= 2 or world.registered >= MEMBERS:
                return
            lost = rng.choice(active)
            new = Person(Ed25519PrivateKey.generate(), lost.seat) if action == "replace" else None
            response = world.client.post("/api/staff/meetings/m1/credentials/replace", headers=world.clerk,
                                         json={"old": lost.credential, "new": new.credential if new else None})
            assert response.status_code == 200, response.get_json()
            lost.active = False
            if new is not None:
                world.registered += 1
                new.checked_in = lost.checked_in  # inherited, for the votes opened from now on
                world.people.append(new)
        elif action == "register" and world.registered < MEMBERS:
            person = Person(Ed25519PrivateKey.generate(), f"N{len(world.people)}")
            response = world.client.post("/api/staff/meetings/m1/credentials", headers=world.clerk,
                                         json={"credentials": [person.credential]})
            assert response.status_code == 201, response.get_json()
            world.registered += 1
            world.people.append(person)
            if rng.random() < 0.5:
                self.checkin(person)
        elif action == "mutate" and (self.cast or self.challenged):
            pool = [b for b, _k in self.cast] + self.challenged
            ballot = rng.choice(pool)
            key = next(p.key for p in world.people if p.credential == ballot.entry["credential"])
            self.post("ballot", _mutate(rng, ballot, key, self.vote_id), ballot.entry["credential"])


def audit_codes(_kind: str) -> set[str]:
    """The §11 ballot rejection codes (a spoiled entry is refused with the same ones)."""
    return {"malformed", "unknown_vote", "vote_not_open", "unknown_credential", "revoked_credential",
            "not_checked_in", "bad_signature", "invalid_proof", "already_voted", "too_large"}


# ------------------------------------------------------------------ the verifier's view


def _counted_hashes(record: Record) -> dict[str, set[bytes]]:
    """The ballot hashes the verifier counts, per vote (its replay of §5)."""
    report = audit.verify_record(record)
    assert report.ok, report.format()
    return {vote["vote_id"]: {bytes.fromhex(h) for h in vote["counted_hashes"]} for vote in report.votes}


def _signed_record(world: World, entries: list[dict[str, Any]]) -> Record:
    """``entries`` as a record whose tree head is signed with the meeting's log key, as a tally
    service that holds the key could sign any log it likes."""
    lines = [canonical_json(e) for e in entries]
    tree = MerkleTree()
    tree.extend(leaf_hash(line) for line in lines)
    sth = sign_sth(world.log_key, tree.size, tree.root(tree.size), int(time.time() * 1000))
    return Record(lines, sth, None, [dict(e) for e in entries])


def _judge(run: Run, log: list[dict[str, Any]], attempt: Attempt) -> bool:
    """Would the verifier accept ``attempt`` appended where it was posted (and count it, for a
    ballot)? The record holds the meeting's credentials and this vote's entries up to then."""
    kept = [e for e in log[:attempt.log_size]
            if e["type"] in ("meeting", "credentials") or e.get("vote_id") == run.vote_id]
    kept = [e for e in kept if e["type"] != "close"]
    entry = {"type": attempt.kind, **attempt.body} if attempt.kind == "spoiled" else dict(attempt.body)
    opened = next(e for e in kept if e["type"] == "open")
    ballots = sum(1 for e in kept if e["type"] == "ballot") + (1 if attempt.kind == "ballot" else 0)
    forged = kept + [entry, {"type": "close", "vote_id": run.vote_id, "at": opened["at"], "ballots": ballots}]
    report = audit.verify_record(_signed_record(run.world, forged))
    if not report.ok:
        return False
    if attempt.kind == "spoiled":
        return True
    digest = ballot_hash({k: v for k, v in entry.items() if k != "signature"}).hex()
    return any(vote["vote_id"] == run.vote_id and digest in vote["counted_hashes"] for vote in report.votes)


def _export(world: World) -> Record:
    path = os.path.join(world.app.instance_path, f"record-{world.votes}.zip")
    with open(path, "wb") as handle:
        handle.write(world.client.get("/api/meetings/m1/record.zip").data)
    return read_record(path)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(recast=st.booleans(), resolution=st.booleans(), checkins=st.lists(st.integers(0, 99), max_size=6),
       actions=st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 2**32)), min_size=3, max_size=10))
def test_intake_and_verifier_agree(world, recast, resolution, checkins, actions):
    run = Run(world, recast, resolution)
    for pick in checkins:
        waiting = [p for p in world.people if p.active and not p.checked_in]
        if waiting:
            run.checkin(waiting[pick % len(waiting)])
    opened = world.client.post(f"/api/staff/meetings/m1/votes/{run.vote_id}/open", headers=world.clerk)
    assert opened.status_code == 200, opened.get_json()
    assert opened.get_json()["present"] == sum(p.active and p.checked_in for p in world.people)
    try:
        for action, seed in actions:
            run.step(action, seed)
    finally:
        closed = world.client.post(f"/api/staff/meetings/m1/votes/{run.vote_id}/close", headers=world.clerk)
        assert closed.status_code == 200, closed.get_json()

    # forward: the verifier passes the record and counts exactly the last accepted ballot per credential
    record = _export(world)
    last: dict[str, bytes] = {}
    for attempt in run.attempts:
        if attempt.kind == "ballot" and attempt.status == 201:
            last[attempt.credential] = ballot_hash({k: v for k, v in attempt.body.items() if k != "signature"})
    assert _counted_hashes(record)[run.vote_id] == set(last.values())

    # reverse: what the verifier would refuse (or not count) was never appended
    log = _entries(world, 0, len(record.lines))
    for attempt in run.attempts:
        accepted_by_verifier = _judge(run, log, attempt)
        appended = attempt.status == 201
        world.outcomes[f"verdict {'accept' if accepted_by_verifier else 'reject'} / "
                       f"intake {'append' if appended else 'refuse'}"] += 1
        if not accepted_by_verifier:
            assert not appended, (attempt.kind, attempt.status, attempt.code)
