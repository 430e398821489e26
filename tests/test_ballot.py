"""SPEC §4.3 ballots and §4.4 spoiled ballots: encryption, verification, and every rejection."""

from __future__ import annotations

import copy
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ballot import templates
from ballot.ballot import ballot_hash, format_tracker, tracker_code, verify_ballot
from ballot.encrypt import encrypt_ballot
from ballot.errors import BallotError, ChoiceError
from ballot.group import GENERATOR, ORDER, Point, Scalar
from ballot.spoiled import verify_spoiled
from ballot.vote import parse_vote
from piaojue_tools import demo_data

SECRET = Scalar.reduce(987654321987654321)
KEY = Point.base_mul(SECRET)
Q = bytes([7] * 32)
CREDENTIAL = Ed25519PrivateKey.from_private_bytes(bytes([1] * 32))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes([2] * 32))

SELECTION = parse_vote(templates.selection("v3", "民生实事", demo_data.projects(13), 10))
RESOLUTION = parse_vote(templates.resolution("v1", "决议"))
CONSTRAINED = parse_vote(
    {
        "type": "vote",
        "vote_id": "v9",
        "kind": "selection",
        "title": "per-project yes/no with at most 2 yes",
        "contests": [
            {"id": f"q{i}", "min": 0, "max": 1, "options": [{"id": "yes"}, {"id": "no"}]} for i in range(4)
        ],
        "constraints": [{"id": "k1", "members": [[f"q{i}", "yes"] for i in range(4)], "min": 0, "max": 2}],
        "rule": {"name": "majority", "yes": "yes", "threshold": "half", "base": "members"},
        "recast": False,
    }
)


def _cast(vote=SELECTION, choices=None, key=CREDENTIAL):
    choices = choices if choices is not None else {"projects": ["p01", "p05", "p13"]}
    return encrypt_ballot(vote, Q, KEY, key, choices)


def _resign(entry, key=CREDENTIAL):
    from ballot.ballot import signature_message

    entry["signature"] = key.sign(signature_message(ballot_hash(entry))).hex()
    return entry


def test_honest_ballot_verifies_and_tracker():
    ballot = _cast()
    verified = verify_ballot(ballot.entry, SELECTION, Q, KEY)
    assert verified.hash == ballot.hash
    assert len(verified.ciphertexts) == 13
    code = tracker_code(ballot.hash)
    assert re.fullmatch(r"[A-Z2-7]{16}", code)
    assert ballot.tracker == format_tracker(code) and ballot.tracker.count("-") == 3


def test_constraint_ballot_and_choice_errors():
    ok = encrypt_ballot(CONSTRAINED, Q, KEY, CREDENTIAL, {"q0": ["yes"], "q1": ["yes"], "q2": ["no"]})
    verify_ballot(ok.entry, CONSTRAINED, Q, KEY)
    with pytest.raises(ChoiceError, match="constraint"):
        encrypt_ballot(CONSTRAINED, Q, KEY, CREDENTIAL, {f"q{i}": ["yes"] for i in range(3)})
    with pytest.raises(ChoiceError, match="between 0 and 10"):
        _cast(choices={"projects": [f"p{i:02d}" for i in range(1, 12)]})
    with pytest.raises(ChoiceError, match="no such option"):
        _cast(choices={"projects": ["p99"]})
    with pytest.raises(ChoiceError, match="no such contest"):
        _cast(choices={"nope": []})


@pytest.mark.parametrize(
    "mutate, code, where",
    [
        (lambda b: b.pop("signature"), "malformed", None),
        (lambda b: b.update(extra=1), "malformed", None),
        (lambda b: b.update(type="spoiled"), "malformed", "type"),
        (lambda b: b.update(vote_id="v1"), "malformed", "vote_id"),
        (lambda b: b.update(credential="AB" * 32), "malformed", "credential"),
        (lambda b: b["contests"][0].update(id="other"), "malformed", "contests[0].id"),
        (lambda b: b["contests"][0]["selections"].pop(), "malformed", "contests[0].selections"),
        (lambda b: b["contests"][0]["selections"].reverse(), "malformed", "contests[0].selections[0].option"),
        (lambda b: b["contests"][0]["selections"][2].update(alpha="ff" * 32), "malformed", "contests[0].selections[2].alpha"),
        (lambda b: b["contests"][0]["selections"][2].update(beta=1), "malformed", "contests[0].selections[2].beta"),
        (lambda b: b["contests"][0]["selections"][0]["proof"].pop(), "malformed", "contests[0].selections[0].proof"),
        (lambda b: b["contests"][0]["proof"].append(["00" * 32, "00" * 32]), "malformed", "contests[0].proof"),
        (
            lambda b: b["contests"][0]["selections"][0]["proof"][0].__setitem__(0, ORDER.to_bytes(32, "little").hex()),
            "malformed",
            "contests[0].selections[0].proof[0][0]",
        ),
    ],
)
def test_structural_rejections(mutate, code, where):
    entry = copy.deepcopy(_cast().entry)
    mutate(entry)
    with pytest.raises(BallotError) as info:
        verify_ballot(entry, SELECTION, Q, KEY)
    assert info.value.code == code
    if where:
        assert info.value.where == where


def test_bad_signature():
    entry = copy.deepcopy(_cast().entry)
    entry["signature"] = OTHER.sign(b"something else").hex()
    with pytest.raises(BallotError) as info:
        verify_ballot(entry, SELECTION, Q, KEY)
    assert info.value.code == "bad_signature"


def test_identity_alpha_is_a_zero_nonce_and_malformed():
    # SPEC §8.1: no ciphertext in a ballot has α = the identity (an encryption with nonce 0).
    entry = copy.deepcopy(_cast().entry)
    entry["contests"][0]["selections"][0]["alpha"] = "00" * 32
    _resign(entry)
    with pytest.raises(BallotError) as info:
        verify_ballot(entry, SELECTION, Q, KEY)
    assert (info.value.code, info.value.check) == ("malformed", "zero_nonce")
    assert info.value.where == "contests[0].selections[0].alpha"


def test_identity_beta_is_rejected_by_the_proofs():
    entry = copy.deepcopy(_cast().entry)
    entry["contests"][0]["selections"][0]["beta"] = "00" * 32
    _resign(entry)
    with pytest.raises(BallotError) as info:
        verify_ballot(entry, SELECTION, Q, KEY)
    assert info.value.code == "invalid_proof"


@given(st.integers(0, 12), st.sampled_from(["alpha", "beta", "c", "v"]))
def test_any_changed_value_fails_even_when_resigned(position, part):
    entry = copy.deepcopy(_cast().entry)
    selection = entry["contests"][0]["selections"][position]
    if part in ("alpha", "beta"):
        selection[part] = (Point.from_hex(selection[part]) + GENERATOR).hex()
    else:
        index = 0 if part == "c" else 1
        value = Scalar.from_hex(selection["proof"][0][index])
        selection["proof"][0][index] = Scalar.reduce(value.value + 1).hex()
    _resign(entry)
    with pytest.raises(BallotError) as info:
        verify_ballot(entry, SELECTION, Q, KEY)
    assert info.value.code == "invalid_proof"
    assert info.value.where.startswith("contests[0].")


def test_ciphertext_moved_to_another_credential_fails():
    """A ciphertext and its proof copied into another deputy's ballot fail: ctx binds the credential."""
    mine = _cast(choices={"projects": ["p01"]})
    theirs = copy.deepcopy(_cast(choices={"projects": ["p02"]}, key=OTHER).entry)
    theirs["contests"][0]["selections"][0] = copy.deepcopy(mine.entry["contests"][0]["selections"][0])
    _resign(theirs, OTHER)
    with pytest.raises(BallotError) as info:
        verify_ballot(theirs, SELECTION, Q, KEY)
    assert info.value.code == "invalid_proof"


def test_ballot_replayed_into_another_vote_or_meeting_fails():
    entry = _cast().entry
    other_vote = parse_vote(dict(SELECTION.entry, vote_id="v4"))
    replay = dict(copy.deepcopy(entry), vote_id="v4")
    _resign(replay)
    with pytest.raises(BallotError) as info:
        verify_ballot(replay, other_vote, Q, KEY)
    assert info.value.code == "invalid_proof"  # ctx binds Hv
    with pytest.raises(BallotError) as info:
        verify_ballot(entry, SELECTION, bytes(32), KEY)  # another meeting hash
    assert info.value.code == "invalid_proof"


def test_spoiled_ballot_openings():
    ballot = _cast()
    spoiled = ballot.spoiled_entry()
    verify_spoiled(spoiled, SELECTION, Q, KEY)
    bad = copy.deepcopy(spoiled)
    bad["openings"][0][2] = 1 - bad["openings"][0][2]
    with pytest.raises(BallotError) as info:
        verify_spoiled(bad, SELECTION, Q, KEY)
    assert info.value.code == "invalid_proof" and info.value.where == "openings[0]"
    bad = copy.deepcopy(spoiled)
    bad["openings"].pop()
    with pytest.raises(BallotError, match="openings"):
        verify_spoiled(bad, SELECTION, Q, KEY)
    bad = copy.deepcopy(spoiled)
    bad["openings"][3][3] = "zz"
    with pytest.raises(BallotError):
        verify_spoiled(bad, SELECTION, Q, KEY)


def test_resolution_requires_exactly_one_choice():
    verify_ballot(encrypt_ballot(RESOLUTION, Q, KEY, CREDENTIAL, {"motion": ["yes"]}).entry, RESOLUTION, Q, KEY)
    with pytest.raises(ChoiceError):
        encrypt_ballot(RESOLUTION, Q, KEY, CREDENTIAL, {"motion": []})


@pytest.mark.parametrize("bad", [None, [], "ballot", 3])
def test_non_object_ballots(bad):
    with pytest.raises(BallotError) as info:
        verify_ballot(bad, SELECTION, Q, KEY)
    assert info.value.code == "malformed"


def test_canonical_json_rejects_lone_surrogates():
    from ballot.errors import EncodingError
    from ballot.hashing import canonical_json

    with pytest.raises(EncodingError, match="surrogate"):
        canonical_json({"title": "\ud800"})
