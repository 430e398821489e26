"""Signed constraint members (protocol §12.1): parsing, the shifted combination and its range proof,
on the statutory election shape of §12.2 (three candidates, two write-in slots)."""

from __future__ import annotations

import copy
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot.ballot import (
    ballot_context,
    ballot_hash,
    constraint_combination,
    signature_message,
    verify_ballot,
)
from ballot.elgamal import Ciphertext, DiscreteLogTable, decrypt_with_secret, encrypt
from ballot.encrypt import check_choices, encrypt_ballot
from ballot.errors import BallotError, ChoiceError, ProofError, VoteDefinitionError
from ballot.group import Point, Scalar
from ballot.proofs import pairs_to_json, prove_range, verify_range
from ballot.vote import parse_vote

SECRET = Scalar.random()
K = Point.base_mul(SECRET)
Q = os.urandom(32)
CANDIDATES = ["c1", "c2", "c3"]
SLOTS = ["w1", "w2"]


def election_entry(seats: int = 2) -> dict:
    yes_no = [{"id": "yes", "label": "赞成"}, {"id": "no", "label": "反对"}, {"id": "abstain", "label": "弃权"}]
    return {
        "type": "vote", "vote_id": "e1", "kind": "election", "title": "选举", "recast": False,
        "contests": [{"id": c, "min": 1, "max": 1, "options": yes_no} for c in CANDIDATES]
        + [{"id": "writein", "min": 0, "max": len(SLOTS), "options": [{"id": s} for s in SLOTS]}],
        "constraints": [
            {"id": "against", "members": [[c, "no"] for c in CANDIDATES] + [["writein", s, -1] for s in SLOTS],
             "min": 0, "max": len(CANDIDATES)},
            {"id": "seats", "members": [[c, "yes"] for c in CANDIDATES] + [["writein", s] for s in SLOTS],
             "min": 0, "max": seats},
        ],
        "rule": {"name": "select", "seats": seats, "candidates": [[c, "yes"] for c in CANDIDATES],
                 "threshold": "half", "base": "members"},
    }


VOTE = parse_vote(election_entry())


def test_parse_signed_members() -> None:
    against, seats = VOTE.constraints
    assert against.coefficients == (1, 1, 1, -1, -1) and against.offset == 2
    assert seats.coefficients == () and seats.offset == 0


@pytest.mark.parametrize("third", [1, 0, True, "-1", -2, None])
def test_only_minus_one_as_a_third_element(third) -> None:
    entry = election_entry()
    entry["constraints"][0]["members"][-1] = ["writein", "w2", third]
    with pytest.raises(VoteDefinitionError):
        parse_vote(entry)


def test_bounds_of_a_signed_constraint() -> None:
    entry = election_entry()
    entry["constraints"][0]["min"] = -2  # −d is allowed
    assert parse_vote(entry).constraints[0].min == -2
    entry["constraints"][0]["min"] = -3  # below −d
    with pytest.raises(VoteDefinitionError):
        parse_vote(entry)
    entry = election_entry()
    entry["constraints"][0]["max"] = 4  # above p = 3
    with pytest.raises(VoteDefinitionError):
        parse_vote(entry)
    entry = election_entry()
    entry["constraints"][0]["members"].append(["c1", "no", -1])  # the same option twice, any sign
    with pytest.raises(VoteDefinitionError):
        parse_vote(entry)


@pytest.mark.parametrize(
    "choices",
    [
        {"c1": ["yes"], "c2": ["no"], "c3": ["abstain"], "writein": ["w1"]},
        {"c1": ["no"], "c2": ["no"], "c3": ["abstain"], "writein": ["w1", "w2"]},
        {"c1": ["abstain"], "c2": ["abstain"], "c3": ["abstain"], "writein": []},
        {"c1": ["yes"], "c2": ["yes"], "c3": ["no"], "writein": []},
    ],
)
def test_valid_ballots_verify(choices) -> None:
    key = Ed25519PrivateKey.generate()
    ballot = encrypt_ballot(VOTE, Q, K, key, choices)
    verify_ballot(ballot.entry, VOTE, Q, K)


@pytest.mark.parametrize(
    "choices, constraint",
    [
        ({"c1": ["yes"], "c2": ["abstain"], "c3": ["abstain"], "writein": ["w1"]}, "against"),  # write-in with 弃权 only
        ({"c1": ["no"], "c2": ["yes"], "c3": ["yes"], "writein": ["w1"]}, "seats"),  # 2 赞成 + 1 write-in > 2
        ({"c1": ["no"], "c2": ["abstain"], "c3": ["abstain"], "writein": ["w1", "w2"]}, "against"),
    ],
)
def test_the_kiosk_refuses_what_the_statute_forbids(choices, constraint: str) -> None:
    with pytest.raises(ChoiceError) as info:
        check_choices(VOTE, choices)
    assert info.value.where == constraint


def test_the_combination_encrypts_the_shifted_value() -> None:
    """A write-in beside 弃权 only: Σ no − Σ write-ins = −1, so C encrypts −1 + d = 1, outside
    [0 + d, 3 + d] = [2, 5]: no proof of the constraint exists, and one for any value inside fails."""
    against = VOTE.constraints[0]
    values = {("c1", "no"): 0, ("c2", "no"): 0, ("c3", "no"): 0, ("writein", "w1"): 1, ("writein", "w2"): 0}
    encrypted = {ref: encrypt(m, K) for ref, m in values.items()}
    total = constraint_combination(against, {ref: ct for ref, (ct, _) in encrypted.items()})
    assert DiscreteLogTable(10).lookup(decrypt_with_secret(total, SECRET), 10) == 1
    nonce = Scalar.reduce(0)
    for ref, coefficient in against.signed_members():
        r = encrypted[ref][1]
        nonce = nonce + r if coefficient == 1 else nonce - r
    lo, hi = against.min + against.offset, against.max + against.offset
    with pytest.raises(ProofError):
        prove_range(total, 1, nonce, lo, hi, K, b"c" * 32)
    forged = prove_range(total, 2, nonce, lo, hi, K, b"c" * 32)  # claims 2: the proof does not hold
    with pytest.raises(ProofError):
        verify_range(total, forged, lo, hi, K, b"c" * 32)


def test_a_ballot_whose_constraint_proof_is_for_the_unshifted_bounds_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    ballot = encrypt_ballot(VOTE, Q, K, key, {"c1": ["no"], "c2": ["yes"], "c3": ["abstain"], "writein": ["w1"]})
    entry = copy.deepcopy(ballot.entry)
    # a proof of the combination WITHOUT the d·G shift, in [min, max]: right length, re-signed
    against = VOTE.constraints[0]
    by_ref = dict(zip(VOTE.option_refs(), ballot.ciphertexts))
    openings = {(o.contest, o.option): o for o in ballot.openings}
    unshifted = Ciphertext.zero()
    nonce, value = Scalar.reduce(0), 0
    for ref, coefficient in against.signed_members():
        ct = by_ref[ref]
        unshifted = unshifted + (ct if coefficient == 1 else Ciphertext(-ct.alpha, -ct.beta))
        nonce = nonce + openings[ref].r if coefficient == 1 else nonce - openings[ref].r
        value += coefficient * openings[ref].m
    ctx = ballot_context(Q, VOTE.hash, bytes.fromhex(entry["credential"]))
    entry["constraints"][0]["proof"] = pairs_to_json(prove_range(unshifted, value, nonce, 0, 3, K, ctx))
    entry["signature"] = key.sign(signature_message(ballot_hash(entry))).hex()
    with pytest.raises(BallotError) as info:
        verify_ballot(entry, VOTE, Q, K)
    assert info.value.code == "invalid_proof" and info.value.where == "constraints[0].proof"


def test_existing_votes_keep_their_hash_and_shape() -> None:
    entry = election_entry()
    entry["constraints"] = [{"id": "k", "members": [["c1", "yes"], ["c2", "yes"]], "min": 0, "max": 1}]
    vote = parse_vote(entry)
    assert vote.constraints[0].coefficients == () and vote.constraints[0].offset == 0
