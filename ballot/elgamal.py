"""Exponential ElGamal over ristretto255 (SPEC §2).

``(α, β) = (r·G, m·G + r·K)``; ciphertexts add and subtract component-wise (a sum encrypts the
sum, a difference the difference); decryption yields ``t·G``, and the count ``t`` is recovered by
table lookup (:class:`DiscreteLogTable`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ballot.errors import ThresholdError
from ballot.group import GENERATOR, IDENTITY, Point, Scalar


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """An ElGamal ciphertext ``(α, β)`` (SPEC §2)."""

    alpha: Point
    beta: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha + other.alpha, self.beta + other.beta)

    def __sub__(self, other: Ciphertext) -> Ciphertext:
        """``(α − α', β − β')``: an encryption of ``m − m'`` (a recast's earlier ballot leaves a sum)."""
        return Ciphertext(self.alpha - other.alpha, self.beta - other.beta)

    def __neg__(self) -> Ciphertext:
        """``(−α, −β)``: an encryption of ``−m``, so that ``ct + (−ct)`` is :meth:`zero`."""
        return Ciphertext(-self.alpha, -self.beta)

    @classmethod
    def zero(cls) -> Ciphertext:
        """The neutral element: an encryption of 0 with nonce 0."""
        return cls(IDENTITY, IDENTITY)

    def to_json(self) -> dict[str, str]:
        return {"alpha": self.alpha.hex(), "beta": self.beta.hex()}


def encrypt(m: int, public_key: Point, nonce: Scalar | None = None) -> tuple[Ciphertext, Scalar]:
    """Encrypt the small integer ``m`` under ``K`` with a fresh nonce ``r ∈ [1, ℓ)`` (SPEC §2).

    Returns the ciphertext and the nonce (needed for proofs and for a §4.4 opening).
    """
    r = nonce if nonce is not None else Scalar.random()
    return Ciphertext(Point.base_mul(r), Point.base_mul(Scalar.reduce(m)) + public_key * r), r


def sum_ciphertexts(ciphertexts: Iterable[Ciphertext]) -> Ciphertext:
    """Component-wise sum: an encryption of the sum of the plaintexts (SPEC §2)."""
    total = Ciphertext.zero()
    for ct in ciphertexts:
        total = total + ct
    return total


def opening_matches(ct: Ciphertext, m: int, r: Scalar, public_key: Point) -> bool:
    """Whether ``(α, β) = (r·G, m·G + r·K)``: the check a §4.4 opening must pass."""
    return ct.alpha == Point.base_mul(r) and ct.beta == Point.base_mul(Scalar.reduce(m)) + public_key * r


def decrypt_with_secret(ct: Ciphertext, secret: Scalar) -> Point:
    """``B − s·A = t·G``. For tests and simulations only: a real meeting never assembles ``s``."""
    return ct.beta - ct.alpha * secret


class DiscreteLogTable:
    """Recovers ``t`` from ``t·G`` for ``0 ≤ t ≤ bound`` by lookup (SPEC §2).

    The table grows on demand, one point addition per entry, so a bound of a few thousand
    ballots costs a few tens of milliseconds once.
    """

    def __init__(self, bound: int = 0) -> None:
        self._points: dict[bytes, int] = {IDENTITY.to_bytes(): 0}
        self._last = IDENTITY
        self._size = 0
        self.extend(bound)

    def extend(self, bound: int) -> None:
        while self._size < bound:
            self._last = self._last + GENERATOR
            self._size += 1
            self._points[self._last.to_bytes()] = self._size

    def lookup(self, point: Point, bound: int) -> int:
        """The ``t ≤ bound`` with ``t·G = point``; :class:`ThresholdError` if there is none."""
        self.extend(bound)
        t = self._points.get(point.to_bytes())
        if t is None or t > bound:
            raise ThresholdError(f"decrypted value is not t·G for any 0 ≤ t ≤ {bound}")
        return t
