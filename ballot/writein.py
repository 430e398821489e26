"""Write-in slots on the ballot (protocol §12.4): the name ciphertexts, the slot's disjunctive
proof ``(indicator = 0 and both name chunks encrypt the identity) or (indicator = 1)``, its JSON,
the spoiled-ballot name openings (§12.4 rule 7), and the name shares of §12.6.

The indicator is an ordinary selection (§4.3) of the write-in contest, encrypted and range-proved
by :func:`ballot.encrypt.encrypt_ballot`'s machinery; this module adds what is specific to a slot.
Verifiers raise :class:`ProofError` naming the failed check and return ``None`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ballot.elgamal import Ciphertext
from ballot.errors import EncodingError, ProofError
from ballot.group import GENERATOR, Point, Scalar
from ballot.hashing import hq
from ballot.names import CHUNKS, encode_name
from ballot.proofs import ScalarPair

WRITEIN_TAG = "piaojue/1/writein"
NAME_PARTIAL_TAG = "piaojue/1/name-partial"
SLOT_KEYS = frozenset({"option", "name", "proof"})

Name = tuple[Ciphertext, Ciphertext]


@dataclass(frozen=True, slots=True)
class SlotProof:
    """``[[c_0, v_I, v_1, v_2], [c_1, v]]`` (§12.4 rule 4)."""

    c0: Scalar
    v_indicator: Scalar
    v_name: tuple[Scalar, Scalar]
    c1: Scalar
    v: Scalar

    def to_json(self) -> list[list[str]]:
        return [
            [self.c0.hex(), self.v_indicator.hex(), *(x.hex() for x in self.v_name)],
            [self.c1.hex(), self.v.hex()],
        ]


def encrypt_name(text: str, public_key: Point) -> tuple[Name, tuple[Scalar, Scalar]]:
    """``N_j = (r_j·G, P_j + r_j·K)`` for ``(P_1, P_2) = encode(text)`` with fresh nonces (§12.4
    rule 3). ``text`` is encoded as given: the kiosk passes ``check_name(typed)`` or ``""``."""
    points = encode_name(text)
    nonces = (Scalar.random(), Scalar.random())
    cts = tuple(Ciphertext(Point.base_mul(r), p + public_key * r) for p, r in zip(points, nonces))
    return (cts[0], cts[1]), nonces


def _challenge(
    ctx: bytes, public_key: Point, slot: int, indicator: Ciphertext, name: Name, commitments: Sequence[Point]
) -> Scalar:
    return hq(
        WRITEIN_TAG, ctx, public_key, slot, indicator.alpha, indicator.beta,
        name[0].alpha, name[0].beta, name[1].alpha, name[1].beta, *commitments,
    )


def _simulated_blank(c0: Scalar, v_i: Scalar, v_name: Sequence[Scalar], indicator: Ciphertext, name: Name, key: Point) -> list[Point]:
    """``a_I, b_I, a_1, b_1, a_2, b_2`` from ``c_0`` and the ``v``s (branch 0, §12.4 rule 4)."""
    out = [Point.base_mul(v_i) - indicator.alpha * c0, key * v_i - indicator.beta * c0]
    for ct, v_j in zip(name, v_name):
        out += [Point.base_mul(v_j) - ct.alpha * c0, key * v_j - ct.beta * c0]
    return out


def _simulated_named(c1: Scalar, v: Scalar, indicator: Ciphertext, key: Point) -> list[Point]:
    """``a, b`` from ``c_1`` and ``v`` (branch 1: the indicator encrypts 1)."""
    return [Point.base_mul(v) - indicator.alpha * c1, key * v - (indicator.beta - GENERATOR) * c1]


def prove_slot(
    indicator: Ciphertext,
    indicator_value: int,
    indicator_nonce: Scalar,
    name: Name,
    name_nonces: tuple[Scalar, Scalar],
    public_key: Point,
    ctx: bytes,
    slot: int,
) -> SlotProof:
    """The slot proof of §12.4 rule 4 for slot number ``slot`` (1-based), bound to ``ctx``.

    With ``indicator_value`` 0 the name must be the blank (both chunks encrypt the identity under
    ``name_nonces``); the proof is then real in branch 0 and simulated in branch 1, and the
    other way round for 1.
    """
    if indicator_value == 0:
        c1, v = Scalar.random(), Scalar.random()
        named = _simulated_named(c1, v, indicator, public_key)
        u_i = Scalar.random()
        u_name = (Scalar.random(), Scalar.random())
        blank = [Point.base_mul(u_i), public_key * u_i]
        for u_j in u_name:
            blank += [Point.base_mul(u_j), public_key * u_j]
        c = _challenge(ctx, public_key, slot, indicator, name, [*blank, *named])
        c0 = c - c1
        v_name = tuple(u_j + c0 * r_j for u_j, r_j in zip(u_name, name_nonces))
        return SlotProof(c0, u_i + c0 * indicator_nonce, (v_name[0], v_name[1]), c1, v)
    if indicator_value == 1:
        c0, v_i = Scalar.random(), Scalar.random()
        v_name = (Scalar.random(), Scalar.random())
        blank = _simulated_blank(c0, v_i, v_name, indicator, name, public_key)
        u = Scalar.random()
        named = [Point.base_mul(u), public_key * u]
        c = _challenge(ctx, public_key, slot, indicator, name, [*blank, *named])
        c1 = c - c0
        return SlotProof(c0, v_i, v_name, c1, u + c1 * indicator_nonce)
    raise ProofError(f"an indicator is 0 or 1, not {indicator_value}")


def verify_slot(
    indicator: Ciphertext, name: Name, proof: SlotProof, public_key: Point, ctx: bytes, slot: int
) -> None:
    """Check a slot proof (§12.4 rule 4 "Verifier"); raise :class:`ProofError` if it fails."""
    blank = _simulated_blank(proof.c0, proof.v_indicator, proof.v_name, indicator, name, public_key)
    named = _simulated_named(proof.c1, proof.v, indicator, public_key)
    if proof.c0 + proof.c1 != _challenge(ctx, public_key, slot, indicator, name, [*blank, *named]):
        raise ProofError(f"write-in slot {slot}: c_0 + c_1 ≠ Hq(…) (blank-or-named proof failed)")


# ---------------------------------------------------------------- JSON of a slot


def slot_to_json(option: str, name: Name, proof: SlotProof) -> dict[str, Any]:
    """One element of a ballot's ``writeins`` (§12.4 rule 1)."""
    return {"option": option, "name": [ct.to_json() for ct in name], "proof": proof.to_json()}


def _scalars(value: object, size: int, where: str) -> list[Scalar]:
    if not isinstance(value, list) or len(value) != size:
        raise EncodingError(f"expected {size} hex scalars", where=where)
    return [Scalar.from_hex(x, where=f"{where}[{i}]") for i, x in enumerate(value)]


def parse_slot(value: object, option: str, *, where: str) -> tuple[Name, SlotProof]:
    """Parse one ``writeins`` element for slot option ``option``: exact fields, two name
    ciphertexts whose ``α`` is not the identity, and the proof's 4 + 2 scalars. Raises
    :class:`EncodingError` (a malformed ballot) naming the field."""
    if not isinstance(value, dict) or set(value) != SLOT_KEYS:
        raise EncodingError("a write-in slot has exactly option, name, proof", where=where)
    if value["option"] != option:
        raise EncodingError(f"expected slot option {option!r}, got {value['option']!r}", where=f"{where}.option")
    raw_name = value["name"]
    if not isinstance(raw_name, list) or len(raw_name) != CHUNKS:
        raise EncodingError(f"a name is {CHUNKS} ciphertexts", where=f"{where}.name")
    cts = []
    for j, item in enumerate(raw_name):
        at = f"{where}.name[{j}]"
        if not isinstance(item, dict) or set(item) != {"alpha", "beta"}:
            raise EncodingError("a ciphertext has exactly alpha, beta", where=at)
        alpha = Point.from_hex(item["alpha"], where=f"{at}.alpha")
        if alpha.is_identity():
            raise EncodingError("α is the identity: encrypted with nonce 0", where=f"{at}.alpha")
        cts.append(Ciphertext(alpha, Point.from_hex(item["beta"], where=f"{at}.beta")))
    raw_proof = value["proof"]
    if not isinstance(raw_proof, list) or len(raw_proof) != 2:
        raise EncodingError("a slot proof is [[c_0, v_I, v_1, v_2], [c_1, v]]", where=f"{where}.proof")
    blank = _scalars(raw_proof[0], 2 + CHUNKS, f"{where}.proof[0]")
    named = _scalars(raw_proof[1], 2, f"{where}.proof[1]")
    return (cts[0], cts[1]), SlotProof(blank[0], blank[1], (blank[2], blank[3]), named[0], named[1])


# ---------------------------------------------------------------- spoiled ballots (§12.4 rule 7)


def name_opening_matches(name: Name, text: str, nonces: Sequence[Scalar], public_key: Point) -> bool:
    """Whether ``N_j = (r_j·G, P_j + r_j·K)`` for ``(P_1, P_2) = encode(text)`` (no normalisation).
    A string that cannot be encoded does not match."""
    try:
        points = encode_name(text)
    except EncodingError:
        return False
    return len(nonces) == CHUNKS and all(
        ct.alpha == Point.base_mul(r) and ct.beta == p + public_key * r for ct, p, r in zip(name, points, nonces)
    )


# ---------------------------------------------------------------- name shares (§12.6 rule 1)


def prove_name_share(
    share: Scalar, alpha: Point, meeting_hash: bytes, vote_hash: bytes, index: int
) -> tuple[Point, ScalarPair]:
    """``M = s_l·A`` with the Chaum–Pedersen proof of §12.6 rule 1 (tag ``piaojue/1/name-partial``)."""
    key = Point.base_mul(share)
    partial = alpha * share
    u = Scalar.random()
    a, b = Point.base_mul(u), alpha * u
    c = hq(NAME_PARTIAL_TAG, meeting_hash, vote_hash, index, key, alpha, partial, a, b)
    return partial, (c, u + c * share)


def verify_name_share(
    partial: Point, proof: ScalarPair, verification_key: Point, alpha: Point,
    meeting_hash: bytes, vote_hash: bytes, index: int,
) -> None:
    """``a = v·G − c·K_l``, ``b = v·A − c·M``, check ``c`` (§12.6 rule 1)."""
    c, v = proof
    a = Point.base_mul(v) - verification_key * c
    b = alpha * v - partial * c
    if hq(NAME_PARTIAL_TAG, meeting_hash, vote_hash, index, verification_key, alpha, partial, a, b) != c:
        raise ProofError(f"name share of trustee {index} does not verify")
