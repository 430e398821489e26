"""Every parser and verifier of ballot/ rejects arbitrary input with a typed PiaojueError: never a
bare KeyError/ValueError/TypeError or a libsodium error (issue #2, "Bad input").

Inputs are random JSON values, and mutations of valid documents (a field deleted, replaced by a
random value, or a hex string changed), which reach far deeper than random values alone."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ballot import templates
from ballot.ballot import verify_ballot
from ballot.encrypt import encrypt_ballot
from ballot.errors import PiaojueError
from ballot.group import Point, Scalar
from ballot.hashing import canonical_json, parse_json
from ballot.log import parse_sth, verify_sth
from ballot.meeting import parse_meeting, verify_meeting
from ballot.receipt import verify_receipt
from ballot.rules import compute_outcome
from ballot.spoiled import verify_spoiled
from ballot.vote import parse_vote
from piaojue_tools import demo_data
from piaojue_tools.simulate import simulate

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=8)
    | st.sampled_from(["00" * 32, "ff" * 32, "ab" * 64, "", "vote", "ballot", "v1"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)

SIM = simulate(deputies=4, seed=11, trustees=3, threshold=2)
MEETING_ENTRY = SIM.log.entries[0]
MEETING = parse_meeting(MEETING_ENTRY)
VOTE = parse_vote(templates.selection("v3", "民生", demo_data.projects(5), 3))
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
BALLOT = encrypt_ballot(VOTE, MEETING.hash, MEETING.public_key, KEY, {"projects": ["p01", "p02"]})
SPOILED = BALLOT.spoiled_entry()
STH = SIM.log.sths[-1]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _paths(value, prefix + (i,))


def mutated(document):
    paths = [p for p in _paths(document) if p]

    @st.composite
    def strategy(draw):
        doc = copy.deepcopy(document)
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(paths))
            parent = doc
            try:
                for step in path[:-1]:
                    parent = parent[step]
                old = parent[path[-1]]
            except (KeyError, IndexError, TypeError):
                continue
            if not isinstance(parent, (dict, list)):
                continue  # an earlier mutation replaced a container by a scalar (a string indexes!)
            action = draw(st.sampled_from(["delete", "replace", "hexflip"]))
            if action == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            elif action == "hexflip" and isinstance(old, str) and old:
                position = draw(st.integers(0, len(old) - 1))
                parent[path[-1]] = old[:position] + draw(st.sampled_from("0f9aZ")) + old[position + 1:]
            else:
                parent[path[-1]] = draw(json_values)
        return doc

    return strategy()


def _only_typed(fn, value):
    try:
        fn(value)
    except PiaojueError:
        pass  # the typed rejection we want; anything else fails the test


@settings(max_examples=150)
@given(st.one_of(json_values, mutated(VOTE.entry)))
def test_vote_definitions(value):
    _only_typed(parse_vote, value)


@settings(max_examples=150)
@given(st.one_of(json_values, mutated(BALLOT.entry)))
def test_ballots(value):
    _only_typed(lambda v: verify_ballot(v, VOTE, MEETING.hash, MEETING.public_key), value)


@settings(max_examples=100)
@given(st.one_of(json_values, mutated(SPOILED)))
def test_spoiled_entries(value):
    _only_typed(lambda v: verify_spoiled(v, VOTE, MEETING.hash, MEETING.public_key), value)


@settings(max_examples=100)
@given(st.one_of(json_values, mutated(MEETING_ENTRY)))
def test_meeting_entries(value):
    _only_typed(lambda v: verify_meeting(parse_meeting(v)), value)


@settings(max_examples=100)
@given(st.one_of(json_values, mutated(STH)))
def test_signed_tree_heads(value):
    _only_typed(lambda v: (parse_sth(v), verify_sth(v, MEETING.log_key)), value)


@settings(max_examples=100)
@given(json_values, st.one_of(json_values, mutated(BALLOT.entry)))
def test_receipts(receipt, entry):
    _only_typed(lambda v: verify_receipt(v, entry, MEETING.log_key), receipt)


@settings(max_examples=100)
@given(st.one_of(json_values, mutated(VOTE.entry["rule"])), st.dictionaries(st.tuples(st.text(max_size=3), st.text(max_size=3)), st.integers(-2, 5), max_size=4))
def test_counting_rules(rule, counts):
    _only_typed(lambda r: compute_outcome(r, VOTE.entry, counts, members=10, present=8, counted=5, quorum="majority"), rule)


@settings(max_examples=200)
@given(st.binary(max_size=64) | st.text(max_size=70))
def test_points_scalars_and_json_text(data):
    for fn in (Point.from_bytes, Scalar.from_bytes, Point.from_hex, Scalar.from_hex, parse_json):
        _only_typed(fn, data)


@settings(max_examples=100)
@given(json_values)
def test_canonical_json(value):
    _only_typed(canonical_json, value)


def test_documents_round_trip():
    assert parse_json(canonical_json(BALLOT.entry)) == BALLOT.entry


@settings(max_examples=60)
@given(st.lists(st.one_of(st.binary(max_size=40), st.just(canonical_json(MEETING_ENTRY)),
                          mutated(MEETING_ENTRY).map(lambda d: canonical_json(d) if _encodable(d) else b"{}")),
                max_size=4),
       st.one_of(st.binary(max_size=80), mutated(STH).map(lambda d: canonical_json(d) if _encodable(d) else b"[]")))
def test_records(lines, sth):
    """A record of garbage or mutated lines is read or refused (RecordError), and its audit reports
    failures instead of raising."""
    from ballot.audit import verify_record
    from ballot.record import read_record

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "log.jsonl").write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines))
        Path(folder, "sth.json").write_bytes(sth)
        try:
            record = read_record(folder)
        except PiaojueError:
            return
        report = verify_record(record)  # never raises: failures are reported per check
        assert report.checks["record_format"].checked == len(record.lines)
        if not record.lines:
            assert "meeting" in report.failed()


def _encodable(document) -> bool:
    try:
        canonical_json(document)
        return True
    except PiaojueError:
        return False
