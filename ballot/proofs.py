"""Zero-knowledge proofs: range (SPEC §3), Schnorr knowledge (SPEC §6.1), Chaum–Pedersen (SPEC §6.2).

Each verifier raises :class:`ProofError` naming the equation or input that failed, and returns
``None`` when the proof holds. Provers take the secrets they need and return the proof as
scalars; ``*_to_json`` / ``parse_*`` convert to and from the SPEC's hex arrays.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ballot.elgamal import Ciphertext
from ballot.errors import EncodingError, ProofError
from ballot.group import GENERATOR, IDENTITY, ORDER, Point, Scalar
from ballot.hashing import hq

RANGE_TAG = "piaojue/1/range"
POK_TAG = "piaojue/1/pok"
PARTIAL_TAG = "piaojue/1/partial"

ScalarPair = tuple[Scalar, Scalar]

_multiples: list[Point] = [IDENTITY]
_multiples_lock = threading.Lock()


def multiple_of_generator(j: int) -> Point:
    """``j·G`` for small ``j ≥ 0``, cached (range bounds are small).

    Thread-safe: the cache only grows, under a lock, and each entry is computed before it is
    appended. (The point addition runs in libsodium with the GIL released, so without the lock
    two threads could append the same entry and shift every later one.)
    """
    if j < len(_multiples):
        return _multiples[j]
    with _multiples_lock:
        while len(_multiples) <= j:
            _multiples.append(_multiples[-1] + GENERATOR)
        return _multiples[j]


# ---------------------------------------------------------------- §3 range proof


def _range_challenge(
    ctx: bytes, public_key: Point, ct: Ciphertext, lo: int, hi: int, commitments: list[Point]
) -> Scalar:
    return hq(RANGE_TAG, ctx, public_key, ct.alpha, ct.beta, lo, hi, *commitments)


def _check_bounds(lo: int, hi: int) -> None:
    if not 0 <= lo <= hi:
        raise ProofError(f"range [{lo}, {hi}] is not a valid range")


def prove_range(
    ct: Ciphertext, m: int, r: Scalar, lo: int, hi: int, public_key: Point, ctx: bytes
) -> list[ScalarPair]:
    """Prove that ``ct`` encrypts some ``m ∈ [lo, hi]`` under ``K``, bound to ``ctx`` (SPEC §3 Prover)."""
    _check_bounds(lo, hi)
    if not lo <= m <= hi:
        raise ProofError(f"plaintext {m} is outside [{lo}, {hi}]")
    pairs: list[ScalarPair | None] = []
    commitments: list[Point] = []
    u = Scalar.random()
    for j in range(lo, hi + 1):
        if j == m:
            pairs.append(None)
            commitments += [Point.base_mul(u), public_key * u]
            continue
        c_j, v_j = Scalar.random(), Scalar.random()
        shifted = ct.beta - multiple_of_generator(j)
        commitments += [Point.base_mul(v_j) - ct.alpha * c_j, public_key * v_j - shifted * c_j]
        pairs.append((c_j, v_j))
    c = _range_challenge(ctx, public_key, ct, lo, hi, commitments)
    c_m = c.value - sum(pair[0].value for pair in pairs if pair is not None)
    c_m_scalar = Scalar.reduce(c_m)
    v_m = u + c_m_scalar * r
    return [pair if pair is not None else (c_m_scalar, v_m) for pair in pairs]


def verify_range(
    ct: Ciphertext, proof: Sequence[ScalarPair], lo: int, hi: int, public_key: Point, ctx: bytes
) -> None:
    """Check a §3 range proof; raise :class:`ProofError` if it does not hold (SPEC §3 Verifier)."""
    _check_bounds(lo, hi)
    if len(proof) != hi - lo + 1:
        raise ProofError(f"range proof for [{lo}, {hi}] needs {hi - lo + 1} pairs, has {len(proof)}")
    commitments: list[Point] = []
    challenge_sum = 0
    alpha, beta = ct.alpha, ct.beta
    for j, (c_j, v_j) in zip(range(lo, hi + 1), proof):
        shifted = beta - multiple_of_generator(j)
        commitments.append(Point.base_mul(v_j) - alpha * c_j)
        commitments.append(public_key * v_j - shifted * c_j)
        challenge_sum += c_j.value
    expected = _range_challenge(ctx, public_key, ct, lo, hi, commitments)
    if challenge_sum % ORDER != expected.value:
        raise ProofError("range proof: Σ c_j ≠ Hq(…) (challenge sum check failed)")


# ---------------------------------------------------------------- §6.1 Schnorr proof of knowledge


def prove_knowledge(secret: Scalar, meeting_id: str, i: int, j: int) -> ScalarPair:
    """Prove knowledge of ``a_ij`` for ``A_ij = a_ij·G`` (SPEC §6.1 step 2)."""
    commitment = Point.base_mul(secret)
    u = Scalar.random()
    h = Point.base_mul(u)
    c = hq(POK_TAG, meeting_id, i, j, commitment, h)
    return c, u + c * secret


def verify_knowledge(commitment: Point, proof: ScalarPair, meeting_id: str, i: int, j: int) -> None:
    """Recompute ``h = v·G − c·A_ij`` and check ``c`` (SPEC §6.1 step 2)."""
    c, v = proof
    h = Point.base_mul(v) - commitment * c
    if hq(POK_TAG, meeting_id, i, j, commitment, h) != c:
        raise ProofError(f"proof of knowledge for A_{i},{j} does not verify")


# ---------------------------------------------------------------- §6.2 Chaum–Pedersen partial decryption


def prove_partial(
    share: Scalar, aggregate_alpha: Point, meeting_hash: bytes, vote_hash: bytes, index: int
) -> tuple[Point, ScalarPair]:
    """``M_l = s_l·A`` with a Chaum–Pedersen proof that ``log_G K_l = log_A M_l`` (SPEC §6.2)."""
    verification_key = Point.base_mul(share)
    partial = aggregate_alpha * share
    u = Scalar.random()
    a, b = Point.base_mul(u), aggregate_alpha * u
    c = hq(PARTIAL_TAG, meeting_hash, vote_hash, index, verification_key, aggregate_alpha, partial, a, b)
    return partial, (c, u + c * share)


def verify_partial(
    partial: Point,
    proof: ScalarPair,
    verification_key: Point,
    aggregate_alpha: Point,
    meeting_hash: bytes,
    vote_hash: bytes,
    index: int,
) -> None:
    """Recompute ``a = v·G − c·K_l``, ``b = v·A − c·M_l`` and check ``c`` (SPEC §6.2)."""
    c, v = proof
    a = Point.base_mul(v) - verification_key * c
    b = aggregate_alpha * v - partial * c
    expected = hq(PARTIAL_TAG, meeting_hash, vote_hash, index, verification_key, aggregate_alpha, partial, a, b)
    if expected != c:
        raise ProofError(f"partial decryption proof of trustee {index} does not verify")


# ---------------------------------------------------------------- JSON


def pair_to_json(pair: ScalarPair) -> list[str]:
    return [pair[0].hex(), pair[1].hex()]


def pairs_to_json(pairs: Sequence[ScalarPair]) -> list[list[str]]:
    return [pair_to_json(pair) for pair in pairs]


def parse_pair(value: object, *, where: str) -> ScalarPair:
    """A ``[c, v]`` pair of hex scalars; :class:`EncodingError` (or a subclass) if malformed."""
    if not isinstance(value, list) or len(value) != 2:
        raise EncodingError("expected a [c, v] pair of hex scalars", where=where)
    return Scalar.from_hex(value[0], where=f"{where}[0]"), Scalar.from_hex(value[1], where=f"{where}[1]")


def parse_pairs(value: object, *, where: str, length: int | None = None) -> list[ScalarPair]:
    """A proof array ``[[c, v], …]``; with ``length``, exactly that many pairs."""
    if not isinstance(value, list):
        raise EncodingError("expected a proof array [[c, v], …]", where=where)
    if length is not None and len(value) != length:
        raise EncodingError(f"expected {length} [c, v] pairs, got {len(value)}", where=where)
    return [parse_pair(item, where=f"{where}[{i}]") for i, item in enumerate(value)]
