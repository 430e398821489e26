"""Write-in slots (protocol §12.4, ballot/writein.py): the blank-or-named proof's completeness and
soundness, JSON, spoiled-ballot name openings, name shares (§12.6), and the whole pure pipeline
from slots through a chain of shuffles to decrypted, decoded names."""

from __future__ import annotations

import dataclasses
import os

import pytest

from ballot.elgamal import Ciphertext, encrypt
from ballot.errors import EncodingError, ProofError
from ballot.group import GENERATOR, IDENTITY, Point, Scalar
from ballot.names import check_name, decode_name
from ballot.shuffle import prove_shuffle, shuffle, verify_shuffle
from ballot.threshold import combine_partials
from ballot.writein import (
    SlotProof,
    encrypt_name,
    name_opening_matches,
    parse_slot,
    prove_name_share,
    prove_slot,
    slot_to_json,
    verify_name_share,
    verify_slot,
)

SECRET = Scalar.random()
K = Point.base_mul(SECRET)
CTX = os.urandom(32)


def make_slot(indicator: int, text: str, slot: int = 1, ctx: bytes = CTX):
    ct, r = encrypt(indicator, K)
    name, nonces = encrypt_name(text, K)
    proof = prove_slot(ct, indicator, r, name, nonces, K, ctx, slot)
    return ct, r, name, nonces, proof


@pytest.mark.parametrize("indicator, text", [(0, ""), (1, "王小明"), (1, "买买提江·阿不都热合曼"), (1, "")])
def test_completeness(indicator: int, text: str) -> None:
    ct, _, name, _, proof = make_slot(indicator, text, slot=3)
    verify_slot(ct, name, proof, K, CTX, 3)


def test_indicator_0_with_a_name_fails() -> None:
    """The honest prover's branch 0 cannot hide a non-blank name behind an indicator of 0."""
    ct, r, name, nonces, _ = make_slot(0, "")
    named, named_nonces = encrypt_name("王小明", K)
    proof = prove_slot(ct, 0, r, named, named_nonces, K, CTX, 1)
    with pytest.raises(ProofError):
        verify_slot(ct, named, proof, K, CTX, 1)
    # the first chunk blank, the second not (a name longer than 29 bytes): still refused
    long_name, long_nonces = encrypt_name("买买提江·阿不都热合曼", K)
    half = (name[0], long_name[1])
    proof = prove_slot(ct, 0, r, half, (nonces[0], long_nonces[1]), K, CTX, 1)
    with pytest.raises(ProofError):
        verify_slot(ct, half, proof, K, CTX, 1)


def test_an_indicator_of_2_fails() -> None:
    ct, r = encrypt(2, K)
    name, nonces = encrypt_name("王小明", K)
    for claimed in (0, 1):
        proof = prove_slot(ct, claimed, r, name, nonces, K, CTX, 1)
        with pytest.raises(ProofError):
            verify_slot(ct, name, proof, K, CTX, 1)


def test_a_forged_proof_fails() -> None:
    ct, _, name, _, _ = make_slot(1, "王小明")
    forged = SlotProof(Scalar.random(), Scalar.random(), (Scalar.random(), Scalar.random()), Scalar.random(), Scalar.random())
    with pytest.raises(ProofError):
        verify_slot(ct, name, forged, K, CTX, 1)


@pytest.mark.parametrize("field", ["c0", "v_indicator", "c1", "v"])
def test_a_changed_scalar_fails(field: str) -> None:
    ct, _, name, _, proof = make_slot(0, "")
    changed = dataclasses.replace(proof, **{field: getattr(proof, field) + Scalar.reduce(1)})
    with pytest.raises(ProofError):
        verify_slot(ct, name, changed, K, CTX, 1)


def test_the_proof_is_bound_to_ctx_slot_and_ciphertexts() -> None:
    ct, _, name, _, proof = make_slot(0, "", slot=2)
    with pytest.raises(ProofError):
        verify_slot(ct, name, proof, K, os.urandom(32), 2)  # another ballot's context
    with pytest.raises(ProofError):
        verify_slot(ct, name, proof, K, CTX, 1)  # another slot
    other, _, other_name, _, _ = make_slot(0, "", slot=2)
    with pytest.raises(ProofError):
        verify_slot(other, name, proof, K, CTX, 2)
    with pytest.raises(ProofError):
        verify_slot(ct, other_name, proof, K, CTX, 2)
    # a named slot's name swapped in after proving, the indicator 1 kept
    ct1, _, name1, _, proof1 = make_slot(1, "王小明")
    swapped = (Ciphertext(name1[0].alpha, name1[0].beta + GENERATOR), name1[1])
    with pytest.raises(ProofError):
        verify_slot(ct1, swapped, proof1, K, CTX, 1)


def test_blank_chunks_encrypt_the_identity() -> None:
    name, nonces = encrypt_name("", K)
    for ct, r in zip(name, nonces):
        assert ct.beta == K * r and ct.beta - ct.alpha * SECRET == IDENTITY


# ---------------------------------------------------------------- JSON


def test_json_round_trip() -> None:
    ct, _, name, _, proof = make_slot(1, "李秀英")
    obj = slot_to_json("w1", name, proof)
    assert set(obj) == {"option", "name", "proof"} and [len(x) for x in obj["proof"]] == [4, 2]
    parsed_name, parsed_proof = parse_slot(obj, "w1", where="writeins[0]")
    assert parsed_name == name and parsed_proof == proof
    verify_slot(ct, parsed_name, parsed_proof, K, CTX, 1)


def test_parse_refuses_malformed_slots() -> None:
    _, _, name, _, proof = make_slot(1, "李秀英")
    good = slot_to_json("w1", name, proof)
    with pytest.raises(EncodingError):
        parse_slot(good, "w2", where="w")
    with pytest.raises(EncodingError):
        parse_slot(good | {"extra": 1}, "w1", where="w")
    zero_alpha = dict(good, name=[{"alpha": IDENTITY.hex(), "beta": good["name"][0]["beta"]}, good["name"][1]])
    with pytest.raises(EncodingError, match="identity"):
        parse_slot(zero_alpha, "w1", where="w")
    with pytest.raises(EncodingError):
        parse_slot(dict(good, proof=[good["proof"][0][:3], good["proof"][1]]), "w1", where="w")
    with pytest.raises(EncodingError):
        parse_slot(dict(good, name=good["name"][:1]), "w1", where="w")


# ---------------------------------------------------------------- openings and shares


def test_name_openings() -> None:
    name, nonces = encrypt_name("王小明", K)
    assert name_opening_matches(name, "王小明", nonces, K)
    assert not name_opening_matches(name, "王小明 ", nonces, K)  # exactly as given: no normalisation
    assert not name_opening_matches(name, "", nonces, K)
    assert not name_opening_matches(name, "王小明", (nonces[1], nonces[0]), K)
    assert not name_opening_matches(name, "中" * 20, nonces, K)  # cannot be encoded


def test_name_shares() -> None:
    share = Scalar.random()
    key = Point.base_mul(share)
    alpha = Point.base_mul(Scalar.random())
    q, hv = os.urandom(32), os.urandom(32)
    partial, proof = prove_name_share(share, alpha, q, hv, 2)
    assert partial == alpha * share
    verify_name_share(partial, proof, key, alpha, q, hv, 2)
    for args in ((partial + GENERATOR, proof, key, alpha, q, hv, 2), (partial, proof, key, alpha, q, hv, 3),
                 (partial, proof, key, alpha, q, os.urandom(32), 2)):
        with pytest.raises(ProofError):
            verify_name_share(*args)


def test_slots_through_a_chain_of_shuffles_to_names() -> None:
    """Three ballots with two slots each, mixed by two trustees of a 2-of-3 sharing, decrypted by
    name shares of trustees 1 and 3 and decoded: the names come out, the blanks too, unlinked."""
    a1, a2, a3 = Scalar.random(), Scalar.random(), Scalar.random()  # f(x) = a1 + a2·x (2-of-3)
    shares = {l: Scalar.reduce(a1.value + a2.value * l) for l in (1, 2, 3)}
    key = Point.base_mul(a1)
    q, hv = os.urandom(32), os.urandom(32)
    ballots = [["王小明", ""], ["", ""], ["李秀英", check_name(" 王小明 ")]]
    rows = []
    for texts in ballots:
        row = []
        for text in texts:
            name, _ = encrypt_name(text, key)
            row += list(name)
        rows.append(tuple(row))
    chain = [tuple(rows)]
    for trustee in (2, 1):
        result = shuffle(chain[-1], key)
        proof = prove_shuffle(chain[-1], result, key, q, hv, trustee, shares[trustee])
        verify_shuffle(chain[-1], result.output, proof, key, q, hv, trustee, Point.base_mul(shares[trustee]))
        chain.append(result.output)
    decoded = []
    for row in chain[-1]:
        plain = []
        for ct in row:
            partials = {}
            for l in (1, 3):
                partial, proof = prove_name_share(shares[l], ct.alpha, q, hv, l)
                verify_name_share(partial, proof, Point.base_mul(shares[l]), ct.alpha, q, hv, l)
                partials[l] = partial
            plain.append(ct.beta - combine_partials(partials, 2))
        decoded.append(sorted(decode_name((plain[2 * s], plain[2 * s + 1])) for s in range(2)))
    assert sorted(decoded) == sorted(sorted(texts) for texts in ballots)
    _ = a3
