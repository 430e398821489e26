"""The proof of shuffle of protocol §12.5 (ballot/shuffle.py): completeness, and the soundness cases
of issue #15 (swapped outputs, a different nonce, a dropped or duplicated ciphertext, a proof
replayed from another vote, a wrong permutation commitment). Real crypto, small sizes."""

from __future__ import annotations

import dataclasses
import os

import pytest

from ballot.elgamal import Ciphertext, DiscreteLogTable, decrypt_with_secret, encrypt
from ballot.errors import EncodingError, ProofError
from ballot.group import GENERATOR, Point, Scalar
from ballot.shuffle import (
    Shuffle,
    generator,
    parse_proof,
    parse_rows,
    prove_shuffle,
    reencrypt,
    rows_to_json,
    shuffle,
    verify_shuffle,
)

SECRET = Scalar.random()
K = Point.base_mul(SECRET)
SHARE = Scalar.random()
K_L = Point.base_mul(SHARE)
Q = bytes(range(32))
HV = bytes(range(32, 64))
TRUSTEE = 2


def make_rows(n: int, width: int) -> list[tuple[Ciphertext, ...]]:
    return [tuple(encrypt(10 * i + j, K)[0] for j in range(width)) for i in range(n)]


def plaintexts(rows: list[tuple[Ciphertext, ...]] | tuple[tuple[Ciphertext, ...], ...]) -> list[tuple[int, ...]]:
    table = DiscreteLogTable(200)
    return sorted(tuple(table.lookup(decrypt_with_secret(ct, SECRET), 200) for ct in row) for row in rows)


def prove(rows, result: Shuffle, **overrides):
    args = {"meeting_hash": Q, "vote_hash": HV, "trustee": TRUSTEE, "share": SHARE}
    args.update(overrides)
    return prove_shuffle(rows, result, K, args["meeting_hash"], args["vote_hash"], args["trustee"], args["share"])


def verify(rows, output, proof, **overrides) -> None:
    args = {"meeting_hash": Q, "vote_hash": HV, "trustee": TRUSTEE, "verification_key": K_L}
    args.update(overrides)
    verify_shuffle(rows, output, proof, K, args["meeting_hash"], args["vote_hash"], args["trustee"], args["verification_key"])


@pytest.fixture(scope="module")
def honest():
    rows = make_rows(5, 4)
    result = shuffle(rows, K)
    return rows, result, prove(rows, result)


# ---------------------------------------------------------------- completeness


@pytest.mark.parametrize("n, width", [(1, 1), (2, 2), (4, 6), (7, 1)])
def test_an_honest_shuffle_verifies_and_keeps_every_row(n: int, width: int) -> None:
    rows = make_rows(n, width)
    result = shuffle(rows, K)
    verify(rows, result.output, prove(rows, result))
    assert plaintexts(result.output) == plaintexts(rows)
    # every ciphertext is re-encrypted: no output ciphertext equals an input one
    assert not {ct for row in rows for ct in row} & {ct for row in result.output for ct in row}


def test_the_permutation_moves_whole_rows() -> None:
    rows = make_rows(4, 3)
    result = shuffle(rows, K, psi=[2, 0, 3, 1])
    table = DiscreteLogTable(100)
    for i, source in enumerate([2, 0, 3, 1]):
        got = [table.lookup(decrypt_with_secret(ct, SECRET), 100) for ct in result.output[i]]
        assert got == [10 * source + j for j in range(3)]
    verify(rows, result.output, prove(rows, result))


def test_a_chain_of_shuffles_verifies_link_by_link() -> None:
    rows = make_rows(4, 2)
    first = shuffle(rows, K)
    second = shuffle(first.output, K)
    verify(rows, first.output, prove(rows, first))
    verify(first.output, second.output, prove(first.output, second, trustee=3), trustee=3)
    assert plaintexts(second.output) == plaintexts(rows)


def test_json_round_trip(honest) -> None:
    rows, result, proof = honest
    output = parse_rows(rows_to_json(result.output), 5, 4)
    parsed = parse_proof(proof.to_json(), proof.signature_json(), 5, 4)
    assert parsed == proof and output == result.output
    verify(rows, output, parsed)


def test_parsing_takes_the_sizes_from_the_caller(honest) -> None:
    _, result, proof = honest
    with pytest.raises(EncodingError):
        parse_proof(proof.to_json(), proof.signature_json(), 6, 4)
    with pytest.raises(EncodingError):
        parse_rows(rows_to_json(result.output), 5, 3)
    broken = proof.to_json() | {"t1": "00" * 31 + "80"}
    with pytest.raises(EncodingError):
        parse_proof(broken, proof.signature_json(), 5, 4)
    with pytest.raises(EncodingError):
        parse_proof({k: v for k, v in proof.to_json().items() if k != "s4"}, proof.signature_json(), 5, 4)


# ---------------------------------------------------------------- soundness: a tampered output


def test_two_outputs_swapped(honest) -> None:
    rows, result, proof = honest
    output = list(result.output)
    output[0], output[1] = output[1], output[0]
    with pytest.raises(ProofError):
        verify(rows, output, proof)


def test_two_outputs_swapped_and_the_proof_recomputed_for_them(honest) -> None:
    """A mixer who swaps two outputs after shuffling and re-runs the prover with its secrets
    (which no longer describe the output) still fails."""
    rows, result, _ = honest
    output = list(result.output)
    output[0], output[1] = output[1], output[0]
    forged = dataclasses.replace(result, output=tuple(output))
    with pytest.raises(ProofError):
        verify(rows, forged.output, prove(rows, forged))


def test_one_output_reencrypted_with_another_nonce(honest) -> None:
    rows, result, proof = honest
    output = [list(row) for row in result.output]
    output[3][2] = reencrypt(output[3][2], Scalar.random(), K)
    output = [tuple(row) for row in output]
    assert plaintexts(output) == plaintexts(rows)  # the same plaintexts, a different ciphertext
    with pytest.raises(ProofError):
        verify(rows, output, proof)
    forged = dataclasses.replace(result, output=tuple(output))
    with pytest.raises(ProofError):
        verify(rows, forged.output, prove(rows, forged))


def test_one_row_dropped(honest) -> None:
    rows, result, proof = honest
    with pytest.raises(ProofError):
        verify(rows, result.output[1:], proof)
    with pytest.raises(ProofError):
        verify(rows[1:], result.output[1:], proof)


def test_one_row_duplicated_in_place_of_another() -> None:
    """The classic cheat: replace a ballot's row by a re-encryption of another ballot's row (so one
    name counts twice and one vanishes), keeping N rows, and prove with the honest secrets."""
    rows = make_rows(4, 2)
    result = shuffle(rows, K)
    victim = result.psi.index(0)  # the output row that came from input row 0
    donor = result.psi.index(1)
    output = list(result.output)
    output[victim] = tuple(reencrypt(ct, Scalar.random(), K) for ct in output[donor])
    forged = dataclasses.replace(result, output=tuple(output))
    assert plaintexts(forged.output) != plaintexts(rows)
    with pytest.raises(ProofError):
        verify(rows, forged.output, prove(rows, forged))
    with pytest.raises(ProofError):
        verify(rows, forged.output, prove(rows, result))


def test_one_ciphertext_duplicated_within_a_row() -> None:
    rows = make_rows(3, 2)
    result = shuffle(rows, K)
    output = [list(row) for row in result.output]
    output[0][1] = reencrypt(output[0][0], Scalar.random(), K)
    forged = dataclasses.replace(result, output=tuple(tuple(row) for row in output))
    with pytest.raises(ProofError):
        verify(rows, forged.output, prove(rows, forged))


def test_a_changed_plaintext() -> None:
    rows = make_rows(3, 1)
    result = shuffle(rows, K)
    output = [list(row) for row in result.output]
    ct = output[1][0]
    output[1][0] = Ciphertext(ct.alpha, ct.beta + GENERATOR)  # one more vote for that name
    forged = dataclasses.replace(result, output=tuple(tuple(row) for row in output))
    with pytest.raises(ProofError):
        verify(rows, forged.output, prove(rows, forged))


def test_a_wrong_psi_for_an_honest_output(honest) -> None:
    rows, result, _ = honest
    wrong = dataclasses.replace(result, psi=tuple(reversed(result.psi)))
    with pytest.raises(ProofError):
        verify(rows, result.output, prove(rows, wrong))


# ---------------------------------------------------------------- soundness: context and commitments


def test_a_proof_replayed_from_another_vote(honest) -> None:
    rows, result, proof = honest
    with pytest.raises(ProofError):
        verify(rows, result.output, proof, vote_hash=os.urandom(32))
    with pytest.raises(ProofError):
        verify(rows, result.output, proof, meeting_hash=os.urandom(32))


def test_a_proof_claimed_by_another_trustee(honest) -> None:
    rows, result, proof = honest
    with pytest.raises(ProofError):
        verify(rows, result.output, proof, trustee=3)


def test_a_shuffle_signed_without_the_trustees_share(honest) -> None:
    """The tally service can shuffle, but cannot sign as trustee l (§12.5 rule 7)."""
    rows, result, _ = honest
    proof = prove(rows, result, share=Scalar.random())
    with pytest.raises(ProofError, match="signature"):
        verify(rows, result.output, proof)


def test_a_wrong_permutation_commitment(honest) -> None:
    rows, result, proof = honest
    c = list(proof.c)
    c[0] = c[0] + GENERATOR
    with pytest.raises(ProofError):
        verify(rows, result.output, dataclasses.replace(proof, c=tuple(c)))
    c = list(proof.c)
    c[0], c[1] = c[1], c[0]
    with pytest.raises(ProofError):
        verify(rows, result.output, dataclasses.replace(proof, c=tuple(c)))


@pytest.mark.parametrize("field", ["c_hat", "t_hat", "s_hat", "s_prime", "s4"])
def test_any_changed_element_of_the_proof(honest, field: str) -> None:
    rows, result, proof = honest
    values = list(getattr(proof, field))
    values[-1] = values[-1] + (Scalar.reduce(1) if isinstance(values[-1], Scalar) else GENERATOR)
    with pytest.raises(ProofError):
        verify(rows, result.output, dataclasses.replace(proof, **{field: tuple(values)}))


@pytest.mark.parametrize("field", ["t1", "t2", "t3", "s1", "s2", "s3"])
def test_any_changed_scalar_or_commitment(honest, field: str) -> None:
    rows, result, proof = honest
    value = getattr(proof, field)
    changed = value + (Scalar.reduce(1) if isinstance(value, Scalar) else GENERATOR)
    with pytest.raises(ProofError):
        verify(rows, result.output, dataclasses.replace(proof, **{field: changed}))


def test_generators_are_fixed_and_distinct() -> None:
    points = [generator(i) for i in range(6)]
    assert len(set(points)) == 6 and GENERATOR not in points
    assert generator(0) == generator(0)
