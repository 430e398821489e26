"""SPEC §2 ElGamal and §3/§6 proofs: properties and tampering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballot.elgamal import (
    Ciphertext,
    DiscreteLogTable,
    decrypt_with_secret,
    encrypt,
    opening_matches,
    sum_ciphertexts,
)
from ballot.errors import InvalidScalar, ProofError, ThresholdError
from ballot.group import GENERATOR, ORDER, Point, Scalar
from ballot.proofs import (
    prove_knowledge,
    prove_partial,
    prove_range,
    verify_knowledge,
    verify_partial,
    verify_range,
)

SECRET = Scalar.reduce(0x1234567890ABCDEF1234567890ABCDEF)
KEY = Point.base_mul(SECRET)
CTX = bytes(range(32))
small = st.integers(min_value=0, max_value=50)


@given(st.lists(small, min_size=1, max_size=6))
def test_homomorphism_and_decryption(messages):
    cts = [encrypt(m, KEY)[0] for m in messages]
    total = sum_ciphertexts(cts)
    assert decrypt_with_secret(total, SECRET) == Point.base_mul(Scalar.reduce(sum(messages)))
    assert DiscreteLogTable().lookup(decrypt_with_secret(total, SECRET), 300) == sum(messages)


@given(small, small)
def test_subtraction_encrypts_the_difference(m, n):
    a, b = encrypt(m, KEY)[0], encrypt(n, KEY)[0]
    difference = a - b
    assert difference == Ciphertext(a.alpha - b.alpha, a.beta - b.beta)
    assert decrypt_with_secret(difference, SECRET) == Point.base_mul(Scalar.reduce(m - n))
    assert (a + b) - b == a  # a recast: the earlier ballot leaves the sum it joined
    assert a - a == Ciphertext.zero() and a - Ciphertext.zero() == a


@given(small)
def test_negation_is_the_additive_inverse(m):
    ct = encrypt(m, KEY)[0]
    assert ct + -ct == Ciphertext.zero()
    assert -ct == Ciphertext.zero() - ct
    assert -(-ct) == ct  # noqa: B002 - negation twice, not a decrement
    assert -Ciphertext.zero() == Ciphertext.zero()
    assert decrypt_with_secret(-ct, SECRET) == -Point.base_mul(Scalar.reduce(m))


@given(small)
def test_decryption_inverts_encryption(m):
    ct, r = encrypt(m, KEY)
    assert decrypt_with_secret(ct, SECRET) == Point.base_mul(Scalar.reduce(m))
    assert opening_matches(ct, m, r, KEY)
    assert not opening_matches(ct, m + 1, r, KEY)


def test_discrete_log_table_bound():
    table = DiscreteLogTable(10)
    assert table.lookup(Point.base_mul(Scalar.reduce(7)), 10) == 7
    with pytest.raises(ThresholdError):
        table.lookup(Point.base_mul(Scalar.reduce(11)), 10)
    assert table.lookup(Point.identity(), 0) == 0


@given(st.data())
def test_honest_range_proofs_verify(data):
    lo = data.draw(st.integers(0, 3))
    hi = data.draw(st.integers(lo, lo + 4))
    m = data.draw(st.integers(lo, hi))
    ct, r = encrypt(m, KEY)
    proof = prove_range(ct, m, r, lo, hi, KEY, CTX)
    assert len(proof) == hi - lo + 1
    verify_range(ct, proof, lo, hi, KEY, CTX)


def _flip_scalar(s: Scalar) -> Scalar:
    return Scalar.reduce(s.value + 1)


@given(st.integers(0, 1), st.integers(0, 1), st.sampled_from(["c", "v", "alpha", "beta", "ctx", "key"]))
def test_tampered_range_proof_fails(m, which_pair, part):
    ct, r = encrypt(m, KEY)
    proof = prove_range(ct, m, r, 0, 1, KEY, CTX)
    ctx, key = CTX, KEY
    if part in ("c", "v"):
        c, v = proof[which_pair]
        proof[which_pair] = (_flip_scalar(c), v) if part == "c" else (c, _flip_scalar(v))
    elif part == "alpha":
        ct = Ciphertext(ct.alpha + GENERATOR, ct.beta)
    elif part == "beta":
        ct = Ciphertext(ct.alpha, ct.beta + GENERATOR)
    elif part == "ctx":
        ctx = bytes(32)
    else:
        key = KEY + GENERATOR
    with pytest.raises(ProofError):
        verify_range(ct, proof, 0, 1, key, ctx)


def test_range_proof_cannot_prove_out_of_range_value():
    ct, r = encrypt(2, KEY)
    with pytest.raises(ProofError):
        prove_range(ct, 2, r, 0, 1, KEY, CTX)
    # A proof made for m=1 does not transfer to a ciphertext of 2.
    ct1, r1 = encrypt(1, KEY)
    proof = prove_range(ct1, 1, r1, 0, 1, KEY, CTX)
    with pytest.raises(ProofError):
        verify_range(ct, proof, 0, 1, KEY, CTX)


def test_range_proof_wrong_length_and_bounds():
    ct, r = encrypt(1, KEY)
    proof = prove_range(ct, 1, r, 0, 1, KEY, CTX)
    with pytest.raises(ProofError, match="needs 3 pairs"):
        verify_range(ct, proof, 0, 2, KEY, CTX)
    with pytest.raises(ProofError):
        verify_range(ct, proof, 2, 1, KEY, CTX)


def test_schnorr_proof_of_knowledge():
    a = Scalar.random()
    commitment = Point.base_mul(a)
    proof = prove_knowledge(a, "m1", 2, 0)
    verify_knowledge(commitment, proof, "m1", 2, 0)
    for args in [("m2", 2, 0), ("m1", 3, 0), ("m1", 2, 1)]:
        with pytest.raises(ProofError):
            verify_knowledge(commitment, proof, *args)
    with pytest.raises(ProofError):
        verify_knowledge(commitment + GENERATOR, proof, "m1", 2, 0)


def test_chaum_pedersen_partial_decryption():
    share = Scalar.random()
    ct, _ = encrypt(3, KEY)
    q, hv = bytes(32), bytes([1] * 32)
    partial, proof = prove_partial(share, ct.alpha, q, hv, 4)
    vk = Point.base_mul(share)
    verify_partial(partial, proof, vk, ct.alpha, q, hv, 4)
    with pytest.raises(ProofError):
        verify_partial(partial + GENERATOR, proof, vk, ct.alpha, q, hv, 4)
    with pytest.raises(ProofError):
        verify_partial(partial, proof, vk, ct.alpha, q, hv, 5)
    with pytest.raises(ProofError):
        verify_partial(partial, proof, vk, ct.alpha, bytes([2] * 32), hv, 4)


def test_scalar_bounds():
    assert Scalar.reduce(ORDER) == Scalar.reduce(0)
    with pytest.raises(InvalidScalar):
        Scalar(ORDER)


def test_generator_multiples_cache_is_thread_safe():
    """Regression: threads growing the j·G cache at once must not shift its entries (a race that
    once made the service reject valid ballots with ranges wider than [0,1])."""
    import threading

    from ballot import proofs

    for _ in range(20):
        del proofs._multiples[1:]  # no other thread is running here
        barrier = threading.Barrier(8)

        def grow():
            barrier.wait()  # noqa: B023 - called within this iteration
            for j in range(40):
                proofs.multiple_of_generator(j)

        threads = [threading.Thread(target=grow) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert proofs._multiples == [Point.base_mul(Scalar.reduce(j)) for j in range(len(proofs._multiples))]


def test_demo_roster_seats_are_unique_at_any_size():
    from piaojue_tools.demo_data import deputy_roster

    seats = [d["seat"] for d in deputy_roster(3000)]
    assert len(set(seats)) == 3000 and seats[0] == "A001" and seats[2600] == "AA001"
