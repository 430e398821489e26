"""The world the bad-input fuzzing runs against (issue #6, docs/reliability.md "Bad input"), and
the probe that judges every response to a bad request.

A world is one tally app on one store (SQLite or PostgreSQL) with two sealed demo meetings, real
trustees, real credentials and real ballots, in every state a bad request could meet:

``m1`` — 10 deputies; the five-vote agenda, plus ``v6`` (v3's definition under another id, so a
ballot replayed into it fits its shape) and ``v7`` (three yes/no/abstain questions under a
constraint "at most 2 yes", so that constraint proofs are reached):

- d0–d5 check in; ``v1`` opens (present 6), d0 and d1 vote, ``v1`` closes and is published;
- ``v2`` opens, d0 votes, ``v2`` closes (not published: the share classes aim at it);
- d6 checks in; d9 checks in and is then replaced by a new card (its old credential revoked);
- ``v3`` opens (present 8); d0, d1 and d2 vote and d0 spoils a ballot; ``v3`` stays open;
- d7 checks in after ``v3`` opened (a late arrival); d8 never checks in;
- ``v4``, ``v5``, ``v6``, ``v7`` are pending.

``m2`` — 4 deputies, the same agenda: all check in, ``v3`` opens, its d0 votes.

:meth:`Probe.send` makes one request and checks the promise of SPEC §11 for bad input: a 4xx
(never a 5xx) whose body is ``{"error": <one of the codes expected for that input>, "message":
<text>}`` (plus ``where`` for a ballot field), whose status and body are the ones
tally/api/openapi.json documents for that operation, and after which nothing the store holds has
changed, in either meeting: log size, entries, tree heads, every vote's state, present, counted
number and aggregate, cast ballots, credentials and check-ins.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from ballot.ballot import ballot_hash, signature_message
from ballot.encrypt import EncryptedBallot, encrypt_ballot
from ballot.vote import VoteDefinition
from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from keys.decrypt import partial_decrypt
from keys.statefile import load_state
from tally import demo
from tally.services import lifecycle, meetings, results
from tally.store import cache, db
from tally.store.models import Vote
from tests.service.conftest import make_app, postgres_schema

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "tally" / "api" / "openapi.json"
STORES = ("sqlite", "postgresql")

STATUS = {
    "malformed": 400,
    "bad_signature": 400,
    "invalid_proof": 400,
    "invalid_share": 400,
    "bad_request": 400,
    "unknown_credential": 403,
    "revoked_credential": 403,
    "not_checked_in": 403,
    "unknown_vote": 404,
    "not_found": 404,
    "unknown_seat": 404,
    "method_not_allowed": 405,
    "vote_not_open": 409,
    "already_voted": 409,
    "not_sealed": 409,
    "checkin_closed": 409,
    "vote_not_closed": 409,
    "already_shared": 409,
    "not_published": 409,
    "too_large": 413,
    "rate_limited": 429,
}
"""Every error code a public endpoint may answer bad input with, and its status (docs/api.md)."""


# ------------------------------------------------------------------ the store


@contextmanager
def store_url(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database of ``kind``: what tests/service/conftest.py's ``database_url`` gives a
    test, for a whole module (a new SQLite file, or a new schema in the ``test`` database)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/fuzz.sqlite3"
        return
    with postgres_schema("fz_") as url:
        yield url


# ------------------------------------------------------------------ the world


@dataclass
class Deputy:
    seat: str
    key: Ed25519PrivateKey

    @property
    def credential(self) -> str:
        return public_key_hex(self.key)


@dataclass
class MeetingView:
    meeting_id: str
    hash: bytes
    public_key: Any
    deputies: list[Deputy]
    votes: dict[str, VoteDefinition] = field(default_factory=dict)


def _key(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"piaojue fuzz " + label.encode()).digest())


_SNAPSHOT = (
    "SELECT id, log_size, checkins, state FROM meetings ORDER BY id",
    (
        "SELECT meeting_id, vote_id, state, present, counted, ballots_logged, aggregate FROM votes"
        " ORDER BY meeting_id, vote_id"
    ),
    (
        "SELECT (SELECT count(*) FROM log_entries), (SELECT sum(length(data)) FROM log_entries),"
        " (SELECT count(*) FROM tree_heads), (SELECT max(id) FROM tree_heads),"
        " (SELECT count(*) FROM ballots), (SELECT count(*) FROM ballots WHERE counts),"
        " (SELECT count(*) FROM credentials), (SELECT count(*) FROM credentials WHERE checkin_order IS NOT NULL),"
        " (SELECT count(*) FROM credentials WHERE state = 'revoked')"
    ),
)

V6 = "v6"
V7 = "v7"


def _v7_entry() -> dict[str, Any]:
    options = [
        {"id": "yes", "label": "赞成"},
        {"id": "no", "label": "反对"},
        {"id": "abstain", "label": "弃权"},
    ]
    contests = [
        {"id": f"q{i}", "title": f"第{i}项", "min": 1, "max": 1, "options": options} for i in (1, 2, 3)
    ]
    return {
        "type": "vote",
        "vote_id": V7,
        "kind": "appointment",
        "title": "三项任免（至多两项赞成）",
        "contests": contests,
        "constraints": [{"id": "k1", "members": [[f"q{i}", "yes"] for i in (1, 2, 3)], "min": 0, "max": 2}],
        "rule": {"name": "majority", "yes": "yes", "threshold": "half", "base": "members"},
        "recast": False,
    }


class World:
    """See the module docstring. Build with :func:`build_world`; close with :meth:`close`."""

    def __init__(self, app: Any, store: str) -> None:
        self.app = app
        self.store = store
        self.client = app.test_client()
        self.m1: MeetingView
        self.m2: MeetingView
        self.logged: dict[str, EncryptedBallot] = {}
        """Ballots in the log: ``m1/v3/d0`` … (their deputies cannot vote there again)."""
        self.spoiled: dict[str, Any] = {}
        """A valid spoiled entry (without ``type``) for m1/v3, already logged."""
        self.share_v2: dict[str, Any] = {}
        """Trustee 1's valid share entry for m1/v2, never posted (posting it would be accepted)."""
        self.share_v1: dict[str, Any] = {}
        """Trustee 1's share for m1/v1, logged (v1 is published)."""
        self.openapi = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
        # Loaded from the service itself (GET /api/openapi.json), so requests go to the app over WSGI.
        self.schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
        self.transport = schemathesis.transport.get(app)
        self.max_body = int(app.config["MAX_CONTENT_LENGTH"])
        self.engine = app.extensions["piaojue.engine"]

    # -------------------------------------------------------------- who is who in m1

    @property
    def eligible(self) -> list[Deputy]:
        """Checked in before v3 opened, and not yet voted in v3: a valid v3 ballot from them would count."""
        d = self.m1.deputies
        return [d[3], d[4], d[5], d[6]]

    @property
    def voted(self) -> list[Deputy]:
        return self.m1.deputies[:3]

    @property
    def late(self) -> Deputy:
        return self.m1.deputies[7]

    @property
    def absent(self) -> Deputy:
        return self.m1.deputies[8]

    @property
    def revoked(self) -> Deputy:
        return self.m1.deputies[9]

    # -------------------------------------------------------------- crypto helpers

    def definition(self, meeting: MeetingView, vote_id: str) -> VoteDefinition:
        cached = meeting.votes.get(vote_id)
        if cached is None:
            with self.app.app_context():
                cached = meeting.votes[vote_id] = cache.vote_definition(meeting.meeting_id, vote_id)
        return cached

    def ballot(
        self, meeting: MeetingView, vote_id: str, key: Ed25519PrivateKey, choices: dict[str, list[str]]
    ) -> EncryptedBallot:
        return encrypt_ballot(
            self.definition(meeting, vote_id), meeting.hash, meeting.public_key, key, choices
        )

    @staticmethod
    def resign(entry: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
        """``entry`` signed by ``key`` (its ``credential`` field is left as it is)."""
        signed = dict(entry)
        signed["signature"] = key.sign(signature_message(ballot_hash(signed))).hex()
        return signed

    def checkin_body(self, meeting: MeetingView, deputy: Deputy, seat: str | None = None) -> dict[str, str]:
        seat = seat or deputy.seat
        return {
            "credential": deputy.credential,
            "seat": seat,
            "signature": sign_checkin(deputy.key, meeting.hash, seat),
        }

    # -------------------------------------------------------------- the store's state

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a rejected request must leave untouched, for both meetings: each meeting's
        log size, check-ins and state; every vote's state, present, counted, logged ballots and
        aggregate; how many log entries (and their total length), tree heads (and the latest),
        cast ballots (and how many count), credentials, check-ins and revocations there are."""
        with self.engine.connect() as connection:
            rows = [connection.execute(text(query)).all() for query in _SNAPSHOT]
            connection.rollback()
        return tuple(tuple(tuple(row) for row in result) for result in rows)

    def operation(self, method: str, path: str) -> Any:
        """The schemathesis operation of tally/api/openapi.json that ``path`` (no query) is for, or None."""
        found = self.schema.find_operation_by_path(method, path)
        if found is None and method.lower() in self.openapi["paths"].get(path, {}):
            found = self.schema[path][method.upper()]
        return found

    def close(self) -> None:
        self.app.extensions["piaojue.engine"].dispose()


def _meeting_view(app: Any, meeting_id: str, deputies: int) -> MeetingView:
    with app.app_context():
        people = demo.create_demo(meeting_id, deputies)
        parsed = cache.sealed_meeting(meeting_id)
    keys = [Deputy(p.seat, derive_private_key(p.code, meeting_id)) for p in people]
    return MeetingView(meeting_id, parsed.hash, parsed.public_key, keys)


def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in statuses, (response.status_code, response.get_data()[:300])
    return response.get_json()


def build_world(store: str, url: str, folder: Path) -> World:
    """A world on ``url`` (see the module docstring). Takes about a second."""
    app = make_app(
        url,
        str(folder / "instance"),
        # A 5xx must come back as a response the probe can count, not as an exception in the client.
        PROPAGATE_EXCEPTIONS=False,
        # No rate limits: they would answer 429 in place of the code under test (tested elsewhere).
        RATELIMIT_CHECKIN_ADDRESS="",
        RATELIMIT_CHECKIN_CREDENTIAL="",
    )
    world = World(app, store)
    client = world.client
    world.m1 = m1 = _meeting_view(app, "m1", 10)
    world.m2 = m2 = _meeting_view(app, "m2", 4)
    with app.app_context():
        v3 = cache.vote_definition("m1", "v3").entry
        meetings.define_vote("m1", {**copy.deepcopy(v3), "vote_id": V6}, actor="fuzz")
        meetings.define_vote("m1", _v7_entry(), actor="fuzz")
    d = m1.deputies

    def checkin(meeting: MeetingView, deputy: Deputy) -> None:
        _ok(
            client.post(
                f"/api/meetings/{meeting.meeting_id}/checkin", json=world.checkin_body(meeting, deputy)
            ),
            200,
        )

    def cast(
        meeting: MeetingView, vote_id: str, deputy: Deputy, choices: dict[str, list[str]], label: str
    ) -> None:
        ballot = world.ballot(meeting, vote_id, deputy.key, choices)
        _ok(
            client.post(f"/api/meetings/{meeting.meeting_id}/votes/{vote_id}/ballots", json=ballot.entry), 201
        )
        world.logged[label] = ballot

    def staff(fn: Any, *args: Any) -> None:
        with app.app_context():
            fn(*args, actor="fuzz")

    for deputy in d[:6]:
        checkin(m1, deputy)
    staff(lifecycle.open_vote, "m1", "v1")
    cast(m1, "v1", d[0], {"motion": ["yes"]}, "m1/v1/d0")
    cast(m1, "v1", d[1], {"motion": ["no"]}, "m1/v1/d1")
    staff(lifecycle.close_vote, "m1", "v1")
    with app.app_context():
        demo.demo_tally("m1", "v1")
    staff(lifecycle.open_vote, "m1", "v2")
    cast(m1, "v2", d[0], {"n1": ["yes"], "n2": ["no"], "n3": []}, "m1/v2/d0")
    staff(lifecycle.close_vote, "m1", "v2")
    checkin(m1, d[6])
    checkin(m1, d[9])
    staff(meetings.replace_credential, "m1", d[9].credential, public_key_hex(_key("replacement d9")))
    staff(lifecycle.open_vote, "m1", "v3")
    cast(m1, "v3", d[0], {"projects": ["p01", "p02", "p03"]}, "m1/v3/d0")
    cast(m1, "v3", d[1], {"projects": []}, "m1/v3/d1")
    cast(m1, "v3", d[2], {"projects": [f"p{i:02d}" for i in range(1, 11)]}, "m1/v3/d2")
    challenged = world.ballot(m1, "v3", d[0].key, {"projects": ["p04"]})
    spoiled = {k: v for k, v in challenged.spoiled_entry().items() if k != "type"}
    _ok(client.post("/api/meetings/m1/votes/v3/spoiled", json=spoiled), 201)
    world.spoiled = spoiled
    checkin(m1, d[7])
    for deputy in m2.deputies:
        checkin(m2, deputy)
    staff(lifecycle.open_vote, "m2", "v3")
    cast(m2, "v3", m2.deputies[0], {"projects": ["p05"]}, "m2/v3/d0")

    with app.app_context():
        for vote_id in ("v1", "v2"):
            vote = db.session().get(Vote, ("m1", vote_id))
            state = load_state(demo.trustee_dir("m1") / "trustee-1.json", demo.DEMO_PASSPHRASE)
            share = partial_decrypt(
                state,
                m1.hash,
                cache.vote_definition("m1", vote_id).hash,
                vote_id,
                results.vote_aggregates(vote),
            )
            if vote_id == "v1":
                world.share_v1 = share
            else:
                world.share_v2 = share
        db.session().rollback()
    return world


# ------------------------------------------------------------------ requests and the probe


@dataclass(frozen=True)
class Req:
    """One request of a fuzz class: a JSON document (``body``) or raw bytes (``raw``)."""

    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    expect: frozenset[str] = frozenset()
    """The codes this input may get (empty: any code documented for the operation)."""
    variant: str = ""
    content_type: str = "application/json"
    chunked: bool = False
    """Send the body without a Content-Length (chunked), so the size limit must stop the read."""
    success_ok: bool = False
    """A safe GET with well-formed parameters may succeed (schemathesis' positive cases)."""

    def data(self) -> bytes | None:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return None
        return json.dumps(self.body, ensure_ascii=True).encode("ascii")


@dataclass
class ClassStats:
    tried: int = 0
    codes: Counter = field(default_factory=Counter)
    variants: Counter = field(default_factory=Counter)
    server_errors: int = 0
    state_changes: int = 0
    violations: list[str] = field(default_factory=list)

    def merge(self, other: ClassStats) -> None:
        self.tried += other.tried
        self.codes.update(other.codes)
        self.variants.update(other.variants)
        self.server_errors += other.server_errors
        self.state_changes += other.state_changes
        self.violations.extend(other.violations)


class Violation(AssertionError):
    pass


class Probe:
    """Sends requests and judges them (see the module docstring). ``strict``: raise at the first
    violation (tests); otherwise count it and go on (the full campaign's table)."""

    def __init__(self, world: World, *, strict: bool = True) -> None:
        self.world = world
        self.strict = strict
        self.stats: dict[str, ClassStats] = {}
        self.baseline = world.snapshot()

    def _violation(self, stats: ClassStats, req: Req, message: str) -> None:
        text = f"{req.method} {req.path} [{req.variant}]: {message}"
        stats.violations.append(text)
        if self.strict:
            raise Violation(text)

    def send(self, cls: str, req: Req) -> Any:
        stats = self.stats.setdefault(cls, ClassStats())
        stats.tried += 1
        stats.variants[req.variant] += 1
        data = req.data()
        kwargs: dict[str, Any] = {"method": req.method}
        if data is not None:
            kwargs["content_type"] = req.content_type
            if req.chunked:
                kwargs["input_stream"] = io.BytesIO(data)
                kwargs["environ_overrides"] = {"wsgi.input_terminated": True}
                kwargs["headers"] = {"Transfer-Encoding": "chunked"}
            else:
                kwargs["data"] = data
        response = self.world.client.open(req.path, **kwargs)
        status = response.status_code
        payload = response.get_json(silent=True)
        code = payload.get("error") if isinstance(payload, dict) else None
        if 200 <= status < 300 and req.success_ok:
            stats.codes[f"{status} (valid GET)"] += 1
        else:
            stats.codes[code if code is not None else f"HTTP {status}"] += 1
        after = self.world.snapshot()
        if after != self.baseline:
            stats.state_changes += 1
            self.baseline = after
            self._violation(stats, req, f"the store changed (HTTP {status}, {payload!r:.200})")
        if status >= 500:
            stats.server_errors += 1
            self._violation(stats, req, f"HTTP {status}: {response.get_data()[:300]!r}")
            return payload
        if 200 <= status < 300 and req.success_ok:
            self._check_documented(stats, req, response)
            return payload
        if not 400 <= status < 500:
            self._violation(stats, req, f"HTTP {status} for bad input: {response.get_data()[:300]!r}")
            return payload
        if not isinstance(payload, dict) or not isinstance(code, str):
            self._violation(stats, req, f"the body is not an error document: {response.get_data()[:300]!r}")
            return payload
        if not isinstance(payload.get("message"), str) or not payload["message"]:
            self._violation(stats, req, f"no message: {payload!r:.300}")
        extra = set(payload) - set(self.world.openapi["components"]["schemas"]["Error"]["properties"])
        if extra:
            self._violation(stats, req, f"fields tally/api/openapi.json does not document: {sorted(extra)}")
        if STATUS.get(code) != status:
            self._violation(stats, req, f"code {code!r} with HTTP {status} (docs/api.md: {STATUS.get(code)})")
        if req.expect and code not in req.expect:
            self._violation(
                stats,
                req,
                f"got {code!r} ({payload.get('message')!r:.200}), expected one of {sorted(req.expect)}",
            )
        self._check_documented(stats, req, response)
        return payload

    def _check_documented(self, stats: ClassStats, req: Req, response: Any) -> None:
        """The status and body are what tally/api/openapi.json says for this operation."""
        path = req.path.split("?", 1)[0]
        operation = self.world.operation(req.method, path)
        status = response.status_code
        if operation is None:
            if (status, (response.get_json(silent=True) or {}).get("error")) not in (
                (404, "not_found"),
                (405, "method_not_allowed"),
                (404, "unknown_vote"),
            ):
                self._violation(stats, req, f"no documented operation, and not a 404/405 but {status}")
            return
        documented = self.world.openapi["paths"][operation.path][operation.method.lower()]["responses"]
        if str(status) not in documented:
            self._violation(
                stats,
                req,
                f"HTTP {status} is not documented for {operation.method.upper()} "
                f"{operation.path} (documented: {sorted(documented)})",
            )
            return
        try:
            operation.validate_response(response)
        except Exception as exc:  # noqa: BLE001 - schemathesis raises a FailureGroup or AssertionError
            self._violation(stats, req, f"the response does not match tally/api/openapi.json: {exc}")


@contextmanager
def hypothesis_as_it_was() -> Iterator[None]:
    """Undo, on exit, what schemathesis patches in Hypothesis for the whole process when it first
    generates (its printer prints nothing, larger buffers): other tests keep stock Hypothesis."""
    from hypothesis import core as root_core
    from hypothesis.internal import entropy
    from hypothesis.internal.conjecture import engine
    from hypothesis.strategies._internal import collections, core
    from schemathesis.generation import hypothesis as patcher

    saved = [
        (root_core, "RepresentationPrinter"),
        (root_core, "BUFFER_SIZE"),
        (engine, "BUFFER_SIZE"),
        (collections, "BUFFER_SIZE"),
        (core, "is_first_param_referenced_in_function"),
        (entropy, "register_random"),
    ]
    values = [(module, name, getattr(module, name)) for module, name in saved if hasattr(module, name)]
    patched = getattr(patcher.setup, "_is_patched", False)
    try:
        yield
    finally:
        if not patched:
            for module, name, value in values:
                setattr(module, name, value)
            patcher.setup._is_patched = False  # type: ignore[attr-defined]  # mock's private flag: no type declares it


@contextmanager
def open_world(store: str) -> Iterator[World]:
    """A world in a temporary folder, removed (with its PostgreSQL schema) afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"piaojue-fuzz-{store}-"))
    try:
        with hypothesis_as_it_was(), store_url(store, folder) as url:
            world = build_world(store, url, folder)
            try:
                yield world
            finally:
                world.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
