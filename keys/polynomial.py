"""A trustee's secret polynomial and its Feldman commitments (SPEC §6.1 steps 1–2).

``f(x) = a_0 + a_1·x + … + a_{k−1}·x^{k−1}`` over the scalars mod ℓ, and the commitments
``A_j = a_j·G``.  The check a recipient makes with them (Feldman, step 4) is
:func:`feldman_expected`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ballot.group import IDENTITY, Point, Scalar
from keys.errors import CeremonyError


def random_polynomial(threshold: int) -> list[Scalar]:
    """``k = threshold`` uniformly random coefficients ``a_0 … a_{k−1}`` in ``[1, ℓ)`` (SPEC §6.1 step 1)."""
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise CeremonyError(f"the threshold must be an integer ≥ 1, got {threshold!r}")
    return [Scalar.random() for _ in range(threshold)]


def evaluate(coefficients: Sequence[Scalar], x: int) -> Scalar:
    """``f(x) mod ℓ`` by Horner's rule (SPEC §6.1 step 3: the share ``f_i(l)``)."""
    if not coefficients:
        raise CeremonyError("a polynomial needs at least one coefficient")
    point = Scalar.reduce(x)
    result = Scalar.reduce(0)
    for coefficient in reversed(coefficients):
        result = result * point + coefficient
    return result


def commit(coefficients: Sequence[Scalar]) -> list[Point]:
    """The Feldman commitments ``A_j = a_j·G`` (SPEC §6.1 step 2)."""
    if not coefficients:
        raise CeremonyError("a polynomial needs at least one coefficient")
    return [Point.base_mul(a) for a in coefficients]


def feldman_expected(commitments: Sequence[Point], x: int) -> Point:
    """``Σ_j x^j·A_j``, which must equal ``f(x)·G`` (SPEC §6.1 step 4), by Horner's rule on points."""
    if not commitments:
        raise CeremonyError("no commitments to check against")
    point = Scalar.reduce(x)
    result = IDENTITY
    for commitment in reversed(commitments):
        result = result * point + commitment
    return result
