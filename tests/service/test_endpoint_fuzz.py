"""Bad input against the public API (issue #6, SPEC §11), on SQLite and on PostgreSQL.

Each test sends one class of generated bad requests (tests/stress/_fuzz_inputs.py) to a world of
two sealed meetings with real trustees, checked-in deputies, cast ballots and votes in every state
(tests/stress/_fuzz_world.py), and asserts for every input that the answer is a 4xx, never a 5xx,
with ``{"error": <the SPEC §11 code this input must get>, "message": <text>}``, that status and
body are the ones tally/api/openapi.json documents for the operation, and that nothing the store
holds changed: log size, entries, tree heads, every vote's state, present, counted number and
aggregate, cast ballots, credentials, check-ins.

The world is built once per store for the whole module (the ``database_url`` fixture is per test,
and rebuilding two meetings per class would cost more than the fuzzing): the fixture below makes
the same fresh SQLite file or PostgreSQL schema. Nothing accepted changes it, which every input
checks. CI sizes come from the Hypothesis profile (tests/conftest.py), scaled per class by its cost;
``python -m tests.stress.fuzz --examples N`` runs the same classes with a large budget
(docs/reliability.md). Each test prints how many inputs it tried and the codes it saw.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import settings

from ballot.elgamal import Ciphertext
from ballot.group import Point
from tests.stress import _fuzz_inputs as inputs
from tests.stress._fuzz_run import run_class, table
from tests.stress._fuzz_world import OPENAPI_PATH, STORES, Probe, Req, open_world

COST = {
    # fraction of the profile's max_examples each class runs in CI (fresh encryption and
    # schemathesis' generation cost several times a mutated document)
    "openapi_schema": 0.34,
    "identity": 0.34,
    "vote_not_open": 0.25,
    "not_checked_in": 0.25,
    "ineligible_credential": 0.25,
    "already_voted": 0.25,
}


@pytest.fixture(scope="module", params=STORES)
def probe(request):
    with open_world(request.param) as world:
        fuzz = Probe(world, strict=True)
        yield fuzz
        print(f"\nbad input on {request.param}:\n{table(fuzz.stats)}")


def _fuzz(probe: Probe, name: str, record_property) -> None:
    examples = max(8, round(settings.default.max_examples * COST.get(name, 0.5)))
    stats = run_class(probe, name, max_examples=examples, derandomize=settings.default.derandomize)
    record_property(f"{probe.world.store}.{name}.inputs", stats.tried)
    print(f"{probe.world.store} {name}: {stats.tried} inputs, codes {dict(stats.codes)}")
    assert stats.tried >= examples // 2, f"only {stats.tried} inputs were generated"
    assert stats.server_errors == 0 and stats.state_changes == 0 and not stats.violations


def test_malformed_json(probe, record_property):
    """Not strict JSON (truncated, garbage, floats, NaN, duplicate keys, big ints, too deep,
    invalid UTF-8, lone surrogates, trailing bytes, not an object): ``malformed``."""
    _fuzz(probe, "malformed_json", record_property)


def test_wrong_types(probe, record_property):
    """One value of the wrong JSON type, or a key deleted/added/renamed, in every body."""
    _fuzz(probe, "wrong_types", record_property)


def test_openapi_schema(probe, record_property):
    """schemathesis: every operation of the OpenAPI description, valid and invalid requests."""
    _fuzz(probe, "openapi_schema", record_property)


def test_oversized(probe, record_property):
    """Bodies over PIAOJUE_MAX_BODY, with and without a Content-Length: ``too_large``."""
    _fuzz(probe, "oversized", record_property)


def test_non_canonical_point(probe, record_property):
    """Points re-encoded non-canonically (s + p, bit 255, negative, not a point): ``malformed``."""
    _fuzz(probe, "non_canonical_point", record_property)


def test_identity(probe, record_property):
    """The identity where SPEC forbids it (α from a zero nonce, forged α/β, the Ed25519 identity
    credential with a universal signature, M in a share)."""
    _fuzz(probe, "identity", record_property)


def test_scalar_out_of_range(probe, record_property):
    """Scalars ≥ ℓ in proofs, openings and shares, including x + ℓ: ``malformed``."""
    _fuzz(probe, "scalar_out_of_range", record_property)


def test_proof_length(probe, record_property):
    """Range proofs truncated or extended, pairs of the wrong arity: ``malformed``."""
    _fuzz(probe, "proof_length", record_property)


def test_copied_ciphertext(probe, record_property):
    """Another credential's ciphertexts re-signed by an eligible deputy: ``invalid_proof``."""
    _fuzz(probe, "copied_ciphertext", record_property)


def test_replay(probe, record_property):
    """Ballots, spoiled entries and shares replayed into another vote or meeting."""
    _fuzz(probe, "replay", record_property)


def test_bad_signature(probe, record_property):
    """Ballot, spoiled and check-in signatures that do not verify: ``bad_signature``."""
    _fuzz(probe, "bad_signature", record_property)


def test_vote_not_open(probe, record_property):
    """Valid ballots into pending, closed and published votes: ``vote_not_open``."""
    _fuzz(probe, "vote_not_open", record_property)


def test_not_checked_in(probe, record_property):
    """Valid ballots from a late arrival and from a deputy who never checked in: ``not_checked_in``."""
    _fuzz(probe, "not_checked_in", record_property)


def test_ineligible_credential(probe, record_property):
    """Strangers, another meeting's deputies and a revoked card: ``unknown_credential``,
    ``revoked_credential``."""
    _fuzz(probe, "ineligible_credential", record_property)


def test_already_voted(probe, record_property):
    """A second valid ballot where recasts are not allowed: ``already_voted``."""
    _fuzz(probe, "already_voted", record_property)


# ------------------------------------------------------------------ regressions found by the fuzzing


def test_regression_inputs_that_were_5xx_or_accepted(probe):
    """Each of these once answered 5xx or was logged (found by this fuzzing; fixed with it)."""
    world = probe.world
    eligible = world.eligible[0]

    # A chunked body over the limit was read up to the limit: a ballot followed by whitespace
    # was accepted (201) although the body was larger than PIAOJUE_MAX_BODY.
    ballot = world.ballot(world.m1, "v3", eligible.key, {"projects": ["p07"]})
    chunked = json.dumps(ballot.entry).encode() + b" " * (world.max_body + 1)
    response = world.client.post(
        "/api/meetings/m1/votes/v3/ballots",
        input_stream=io.BytesIO(chunked),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
        headers={"Transfer-Encoding": "chunked"},
    )
    assert (response.status_code, response.get_json()["error"]) == (413, "too_large")

    # Points with bit 255 set: libsodium 1.0.18 decodes them as the point without it, so a
    # ballot whose proofs were made over such encodings verified and was logged.
    def high_bit(point: Point) -> Point:
        data = point.to_bytes()
        return Point._trusted(data[:31] + bytes([data[31] | 0x80]))

    entry = inputs.encrypt_custom(
        world,
        world.m1,
        "v3",
        bytes.fromhex(eligible.credential),
        {"projects": ["p01"]},
        set(),
        encoding=lambda ct: Ciphertext(high_bit(ct.alpha), high_bit(ct.beta)),
    )
    probe.send(
        "regressions",
        Req(
            "POST",
            "/api/meetings/m1/votes/v3/ballots",
            body=world.resign(entry, eligible.key),
            expect=frozenset({"malformed"}),
            variant="high_bit_points_with_valid_proofs",
        ),
    )

    for req in (
        # JSON nested deeper than the interpreter's stack: RecursionError (500).
        Req("POST", "/api/meetings/m1/checkin", raw=b"[" * 600 + b"]" * 600, expect=frozenset({"malformed"})),
        Req(
            "POST",
            "/api/meetings/m1/votes/v3/ballots",
            raw=b'{"a":' * 500 + b"1" + b"}" * 500,
            expect=frozenset({"malformed"}),
        ),
        # A Unicode digit in a query parameter: str.isdigit() but not int() (500).
        Req("GET", "/api/meetings/m1/entries?start=0&end=%C2%B2", expect=frozenset({"malformed"})),
        Req(
            "GET",
            "/api/meetings/m1/proofs/consistency?first=%D9%A3&second=5",
            expect=frozenset({"malformed"}),
        ),
        # A NUL in a meeting or vote id: PostgreSQL refuses it in text (500 there).
        Req("GET", "/api/meetings/m1%00", expect=frozenset({"not_found"})),
        Req("GET", "/api/meetings/m1/votes/v3%00/aggregates", expect=frozenset({"unknown_vote"})),
        Req(
            "POST",
            "/api/meetings/m1/votes/v%003/ballots",
            body=ballot.entry,
            expect=frozenset({"unknown_vote"}),
        ),
        Req("GET", "/api/meetings/%00/receipts/" + "00" * 32, expect=frozenset({"not_found"})),
    ):
        probe.send("regressions", req)
    assert not probe.stats["regressions"].violations


def test_openapi_document_is_served_and_matches_real_responses(probe):
    """GET /api/openapi.json serves tally/api/openapi.json, and the successful responses of every
    operation (on real data) match it, as every error response in the classes above does."""
    world = probe.world
    client = world.client
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.mimetype == "application/json"
    assert served.get_json() == json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    document = served.get_json()
    assert document["openapi"].startswith("3.1")
    spec_paths = {
        "/api/meetings/{meeting_id}",
        "/api/meetings/{meeting_id}/votes/{vote_id}",
        "/api/meetings/{meeting_id}/checkin",
        "/api/meetings/{meeting_id}/votes/{vote_id}/ballots",
        "/api/meetings/{meeting_id}/votes/{vote_id}/spoiled",
        "/api/meetings/{meeting_id}/receipts/{ballot_hash}",
        "/api/meetings/{meeting_id}/sth",
        "/api/meetings/{meeting_id}/entries",
        "/api/meetings/{meeting_id}/proofs/inclusion",
        "/api/meetings/{meeting_id}/proofs/consistency",
        "/api/meetings/{meeting_id}/record.zip",
    }
    assert spec_paths <= set(document["paths"])
    ballot_codes = {
        "malformed",
        "unknown_vote",
        "vote_not_open",
        "unknown_credential",
        "revoked_credential",
        "not_checked_in",
        "bad_signature",
        "invalid_proof",
        "already_voted",
        "too_large",
    }
    assert ballot_codes <= set(document["components"]["schemas"]["Error"]["properties"]["error"]["enum"])

    cast = world.logged["m1/v3/d0"]
    size = client.get("/api/meetings/m1/sth").get_json()["tree_size"]
    successes = [
        ("GET", "/api/meetings/m1", None, 200),
        ("GET", "/api/meetings/m1/votes/v1", None, 200),
        ("GET", "/api/meetings/m1/votes/v3", None, 200),
        ("GET", "/api/meetings/m1/votes/v4", None, 200),
        (
            "POST",
            "/api/meetings/m1/checkin",
            world.checkin_body(world.m1, world.eligible[0]),
            200,
        ),  # a repeat
        ("POST", "/api/meetings/m1/votes/v3/ballots", cast.entry, 200),  # the same ballot again: same receipt
        ("GET", f"/api/meetings/m1/receipts/{cast.hash.hex()}", None, 200),
        ("GET", "/api/meetings/m1/sth", None, 200),
        ("GET", f"/api/meetings/m1/entries?start=0&end={size}", None, 200),
        ("GET", f"/api/meetings/m1/proofs/inclusion?leaf_index=3&tree_size={size}", None, 200),
        ("GET", f"/api/meetings/m1/proofs/consistency?first=5&second={size}", None, 200),
        ("GET", "/api/meetings/m1/record.zip", None, 200),
        ("GET", "/api/meetings/m1/votes/v1/aggregates", None, 200),
        ("GET", "/api/meetings/m1/votes/v2/decryption", None, 200),
        ("GET", "/api/meetings/m1/votes/v1/result", None, 200),
        ("GET", "/api/openapi.json", None, 200),
    ]
    for method, path, body, status in successes:
        response = client.open(path, method=method, json=body)
        assert response.status_code == status, (path, response.get_data()[:300])
        operation = world.operation(method, path.split("?")[0])
        assert operation is not None, path
        assert str(status) in document["paths"][operation.path][method.lower()]["responses"]
        operation.validate_response(response)  # raises if the body does not match the description
    assert world.snapshot() == probe.baseline  # the repeats above changed nothing

    # The created answers (201) of the two write endpoints, against a throwaway store: they must
    # be logged, so they cannot run in this world.
    assert (
        "201" in document["paths"]["/api/meetings/{meeting_id}/votes/{vote_id}/ballots"]["post"]["responses"]
    )
    assert (
        "201" in document["paths"]["/api/meetings/{meeting_id}/votes/{vote_id}/spoiled"]["post"]["responses"]
    )


def test_openapi_created_responses(app, client, meeting):
    """The 201 answers (a ballot, a spoiled ballot, a trustee share: they must be logged, so not
    in the fuzzing world) match the description too, on both stores."""
    import schemathesis

    from keys.decrypt import partial_decrypt
    from keys.statefile import load_state
    from tally import demo
    from tally.services import lifecycle, results
    from tally.store import cache, db
    from tally.store.models import Vote

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for deputy in meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="test")
    ballot = meeting.ballot(app, "v1", meeting.deputies[0], {"motion": ["yes"]})
    challenged = meeting.ballot(app, "v1", meeting.deputies[1], {"motion": ["no"]})
    posts = [
        ("/api/meetings/m1/votes/v1/ballots", ballot.entry),
        (
            "/api/meetings/m1/votes/v1/spoiled",
            {k: v for k, v in challenged.spoiled_entry().items() if k != "type"},
        ),
    ]
    for path, body in posts:
        response = client.post(path, json=body)
        assert response.status_code == 201, (path, response.get_data()[:300])
        schema.find_operation_by_path("POST", path).validate_response(response)
    with app.app_context():
        lifecycle.close_vote("m1", "v1", actor="test")
        state = load_state(demo.trustee_dir("m1") / "trustee-2.json", demo.DEMO_PASSPHRASE)
        vote = db.session().get(Vote, ("m1", "v1"))
        share = partial_decrypt(
            state, meeting.hash, cache.vote_definition("m1", "v1").hash, "v1", results.vote_aggregates(vote)
        )
    response = client.post("/api/meetings/m1/votes/v1/shares", json=share)
    assert response.status_code == 201, response.get_data()[:300]
    schema.find_operation_by_path("POST", "/api/meetings/m1/votes/v1/shares").validate_response(response)
