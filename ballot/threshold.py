"""The public side of threshold decryption (SPEC §6.1 results, §6.2 combination).

Verification keys ``K_l = Σ_i Σ_j l^j·A_ij``, Lagrange coefficients and the combination
``M = Σ λ_l·M_l``. Everything here uses public data only, so the auditor's verifier needs
nothing from ``keys/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ballot.errors import ThresholdError
from ballot.group import IDENTITY, Point, Scalar


def lagrange_coefficient(index: int, indices: Sequence[int]) -> Scalar:
    """``λ_l = Π_{j∈S, j≠l} j·(j − l)^−1 (mod ℓ)`` (SPEC §6.2)."""
    if index not in indices:
        raise ThresholdError(f"trustee {index} is not in the set {sorted(indices)}")
    if len(set(indices)) != len(indices) or any(i < 1 for i in indices):
        raise ThresholdError(f"trustee indices must be distinct and ≥ 1, got {list(indices)}")
    result = Scalar.reduce(1)
    for j in indices:
        if j != index:
            result = result * Scalar.reduce(j) * Scalar.reduce(j - index).inverse()
    return result


def verification_key(index: int, commitments: Sequence[Sequence[Point]]) -> Point:
    """``K_l = Σ_i Σ_j l^j·A_ij`` for trustee ``l`` (SPEC §6.1).

    ``commitments[i][j]`` is ``A_ij``. The sum over ``i`` is taken first, so this costs one
    scalar multiplication per coefficient rather than one per commitment.
    """
    if not commitments:
        raise ThresholdError("no trustee commitments")
    degree = len(commitments[0])
    if any(len(row) != degree for row in commitments):
        raise ThresholdError("every trustee must publish the same number of commitments")
    key = IDENTITY
    power = Scalar.reduce(1)
    for j in range(degree):
        column = IDENTITY
        for row in commitments:
            column = column + row[j]
        key = key + column * power
        power = power * Scalar.reduce(index)
    return key


def joint_public_key(commitments: Sequence[Sequence[Point]]) -> Point:
    """``K = Σ_i A_i0`` (SPEC §6.1)."""
    key = IDENTITY
    for row in commitments:
        key = key + row[0]
    return key


def combine_partials(partials: Mapping[int, Point], threshold: int) -> Point:
    """``M = Σ_{l∈S} λ_l·M_l`` over a set ``S`` of at least ``threshold`` trustees (SPEC §6.2)."""
    indices = sorted(partials)
    if len(indices) < threshold:
        raise ThresholdError(f"{len(indices)} shares cannot decrypt; the threshold is {threshold}")
    combined = IDENTITY
    for index in indices:
        combined = combined + partials[index] * lagrange_coefficient(index, indices)
    return combined
