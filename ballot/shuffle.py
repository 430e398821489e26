"""Re-encryption shuffles of ciphertext rows and their Terelius–Wikström proof (protocol §12.5).

The algorithms follow the CHVote protocol specification (version 3.5, §8) step by step, in the
additive notation of ristretto255 and for rows of ``W`` ciphertexts that one permutation moves
together (Verificatum's width > 1):

* :func:`shuffle`: GenShuffle (Algorithm 8.42) with GenPermutation (8.43) and GenReEncryption
  (8.44);
* :func:`prove_shuffle`: GenShuffleProof (8.45) with GenPermutationCommitment (8.46) and
  GenCommitmentChain (8.47), plus the trustee's ownership signature (§12.5 rule 7);
* :func:`verify_shuffle`: CheckShuffleProof (8.48) and the signature.

Indices are 0-based here and 1-based in the protocol text: ``psi[i]`` is the input row that
becomes output row ``i`` (CHVote's ``j_{i+1} − 1``). Every hash input is as §12.5 rule 5 lists it.
:func:`verify_shuffle` raises :class:`ProofError` naming the first equation that fails.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ballot.elgamal import Ciphertext
from ballot.errors import EncodingError, ProofError
from ballot.group import IDENTITY, ORDER, Point, Scalar, hash_to_point
from ballot.hashing import frame, h256, hq, u64be
from ballot.proofs import ScalarPair, pair_to_json, parse_pair

GENERATOR_TAG = "piaojue/1/generator"
SHUFFLE_TAG = "piaojue/1/shuffle"
CHALLENGES_TAG = "piaojue/1/shuffle-challenges"
CHALLENGE_TAG = "piaojue/1/shuffle-challenge"
SIGNATURE_TAG = "piaojue/1/shuffle-signature"

Row = tuple[Ciphertext, ...]
"""One row of the mix: ``W`` ciphertexts (a ballot's name chunks, §12.5 rule 1)."""

PROOF_KEYS = frozenset(
    {"c", "c_hat", "t1", "t2", "t3", "t4", "t_hat", "s1", "s2", "s3", "s4", "s_hat", "s_prime"}
)

_generators: list[Point] = []
_generators_lock = threading.Lock()


def generator(index: int) -> Point:
    """``gen(i)``: the one-way map of ``SHA-512(frame("piaojue/1/generator") ‖ frame(u64be(i)))``
    (§12.5 rule 2). ``gen(0)`` is CHVote's ``h``; ``gen(1..N)`` are the ``h_i``."""
    return generators(index + 1)[index]


def generators(count: int) -> list[Point]:
    """``[gen(0), …, gen(count − 1)]``, computed once per process and cached (thread-safe)."""
    if len(_generators) < count:
        with _generators_lock:
            while len(_generators) < count:
                i = len(_generators)
                digest = hashlib.sha512(frame(GENERATOR_TAG.encode("ascii")) + frame(u64be(i))).digest()
                _generators.append(hash_to_point(digest))
    return _generators[:count]


# ---------------------------------------------------------------- Algorithms 8.42–8.44


def random_permutation(n: int) -> list[int]:
    """GenPermutation (Algorithm 8.43): Fisher–Yates with a CSPRNG; ``psi[i]`` is the input row of
    output row ``i``."""
    pool = list(range(n))
    psi = []
    for i in range(n):
        k = i + secrets.randbelow(n - i)
        psi.append(pool[k])
        pool[k] = pool[i]
    return psi


def reencrypt(ct: Ciphertext, nonce: Scalar, public_key: Point) -> Ciphertext:
    """GenReEncryption (Algorithm 8.44): ``(α + r'·G, β + r'·K)``."""
    return Ciphertext(ct.alpha + Point.base_mul(nonce), ct.beta + public_key * nonce)


@dataclass(frozen=True, slots=True)
class Shuffle:
    """The result of :func:`shuffle`: the output rows and the prover's secrets."""

    output: tuple[Row, ...]
    nonces: tuple[tuple[Scalar, ...], ...]
    """``nonces[i][j]``: the re-encryption nonce ``r'`` of input row ``i``, column ``j``."""
    psi: tuple[int, ...]


def _check_rows(rows: Sequence[Sequence[Ciphertext]], what: str) -> tuple[int, int]:
    if not rows:
        raise ProofError(f"{what}: a shuffle needs at least one row")
    width = len(rows[0])
    if width < 1 or any(len(row) != width for row in rows):
        raise ProofError(f"{what}: every row must have the same number (≥ 1) of ciphertexts")
    return len(rows), width


def shuffle(
    rows: Sequence[Sequence[Ciphertext]], public_key: Point, psi: Sequence[int] | None = None
) -> Shuffle:
    """GenShuffle (Algorithm 8.42): re-encrypt every ciphertext and permute the rows (§12.5 rule 4).

    ``psi`` may be given (tests); by default it is drawn by :func:`random_permutation`.
    """
    n, width = _check_rows(rows, "input")
    psi = list(psi) if psi is not None else random_permutation(n)
    if sorted(psi) != list(range(n)):
        raise ProofError("psi is not a permutation of the rows")
    nonces = tuple(tuple(Scalar.random() for _ in range(width)) for _ in range(n))
    reencrypted = [
        tuple(reencrypt(ct, r, public_key) for ct, r in zip(row, row_nonces))
        for row, row_nonces in zip(rows, nonces)
    ]
    return Shuffle(tuple(reencrypted[psi[i]] for i in range(n)), nonces, tuple(psi))


# ---------------------------------------------------------------- the proof


@dataclass(frozen=True, slots=True)
class ShuffleProof:
    """The ``proof`` of a ``shuffle`` entry (§12.5 rule 6) and its ``signature`` (rule 7)."""

    c: tuple[Point, ...]
    c_hat: tuple[Point, ...]
    t1: Point
    t2: Point
    t3: Point
    t4: tuple[tuple[Point, Point], ...]
    t_hat: tuple[Point, ...]
    s1: Scalar
    s2: Scalar
    s3: Scalar
    s4: tuple[Scalar, ...]
    s_hat: tuple[Scalar, ...]
    s_prime: tuple[Scalar, ...]
    signature: ScalarPair

    def to_json(self) -> dict[str, Any]:
        """The entry's ``proof`` object (the signature is :meth:`signature_json`)."""
        return {
            "c": [p.hex() for p in self.c],
            "c_hat": [p.hex() for p in self.c_hat],
            "t1": self.t1.hex(),
            "t2": self.t2.hex(),
            "t3": self.t3.hex(),
            "t4": [[a.hex(), b.hex()] for a, b in self.t4],
            "t_hat": [p.hex() for p in self.t_hat],
            "s1": self.s1.hex(),
            "s2": self.s2.hex(),
            "s3": self.s3.hex(),
            "s4": [s.hex() for s in self.s4],
            "s_hat": [s.hex() for s in self.s_hat],
            "s_prime": [s.hex() for s in self.s_prime],
        }

    def signature_json(self) -> list[str]:
        return pair_to_json(self.signature)


def _flat(rows: Sequence[Sequence[Ciphertext]]) -> list[Point]:
    return [p for row in rows for ct in row for p in (ct.alpha, ct.beta)]


def _digest(
    rows: Sequence[Row], output: Sequence[Row], c: Sequence[Point], public_key: Point,
    meeting_hash: bytes, vote_hash: bytes, trustee: int,
) -> bytes:
    """``d`` of §12.5 rule 5."""
    n, width = len(rows), len(rows[0])
    return h256(
        SHUFFLE_TAG, meeting_hash, vote_hash, trustee, n, width, public_key, *_flat(rows), *_flat(output), *c
    )


def _challenges(d: bytes, n: int) -> list[Scalar]:
    """``u_i = Hq("piaojue/1/shuffle-challenges", d, i)`` for ``i = 1..N`` (§12.5 rule 5)."""
    return [hq(CHALLENGES_TAG, d, i) for i in range(1, n + 1)]


def _challenge(
    d: bytes, c_hat: Sequence[Point], t1: Point, t2: Point, t3: Point,
    t4: Sequence[tuple[Point, Point]], t_hat: Sequence[Point],
) -> Scalar:
    flat_t4 = [p for pair in t4 for p in pair]
    return hq(CHALLENGE_TAG, d, *c_hat, t1, t2, t3, *flat_t4, *t_hat)


def _owner_challenge(d: bytes, c: Scalar, verification_key: Point, a: Point) -> Scalar:
    return hq(SIGNATURE_TAG, d, c, verification_key, a)


def _sum(points: Sequence[Point]) -> Point:
    total = IDENTITY
    for p in points:
        total = total + p
    return total


def _msm(scalars: Sequence[Scalar], points: Sequence[Point]) -> Point:
    """``Σ scalars[i]·points[i]`` (no multi-scalar multiplication in libsodium: one at a time)."""
    total = IDENTITY
    for s, p in zip(scalars, points):
        total = total + p * s
    return total


def prove_shuffle(
    rows: Sequence[Row],
    result: Shuffle,
    public_key: Point,
    meeting_hash: bytes,
    vote_hash: bytes,
    trustee: int,
    share: Scalar,
) -> ShuffleProof:
    """GenShuffleProof (Algorithm 8.45) of ``rows`` → ``result.output``, and the ownership
    signature of trustee ``trustee`` with its share ``s_l`` (§12.5 rules 6–7)."""
    n, width = _check_rows(rows, "input")
    output, psi = result.output, result.psi
    h_all = generators(n + 1)
    big_h, h = h_all[0], h_all[1:]

    # Algorithm 8.46 GenPermutationCommitment: c_ψ(i) = r_ψ(i)·G + h_i.
    r: list[Scalar] = [Scalar.random() for _ in range(n)]
    c: list[Point] = [IDENTITY] * n
    for i in range(n):
        c[psi[i]] = Point.base_mul(r[psi[i]]) + h[i]

    d = _digest(rows, output, c, public_key, meeting_hash, vote_hash, trustee)
    u = _challenges(d, n)
    u_prime = [u[psi[i]] for i in range(n)]

    # Algorithm 8.47 GenCommitmentChain: ĉ_0 = H, ĉ_i = r̂_i·G + u'_i·ĉ_{i−1}.
    r_hat = [Scalar.random() for _ in range(n)]
    c_hat: list[Point] = []
    previous = big_h
    for i in range(n):
        previous = Point.base_mul(r_hat[i]) + previous * u_prime[i]
        c_hat.append(previous)

    w1, w2, w3 = Scalar.random(), Scalar.random(), Scalar.random()
    w4 = [Scalar.random() for _ in range(width)]
    w_hat = [Scalar.random() for _ in range(n)]
    w_prime = [Scalar.random() for _ in range(n)]

    t1 = Point.base_mul(w1)
    t2 = Point.base_mul(w2)
    t3 = Point.base_mul(w3) + _msm(w_prime, h)
    t4 = []
    for j in range(width):
        alphas = [output[i][j].alpha for i in range(n)]
        betas = [output[i][j].beta for i in range(n)]
        t4.append((_msm(w_prime, alphas) - Point.base_mul(w4[j]), _msm(w_prime, betas) - public_key * w4[j]))
    chain = [big_h, *c_hat]
    t_hat = [Point.base_mul(w_hat[i]) + chain[i] * w_prime[i] for i in range(n)]

    challenge = _challenge(d, c_hat, t1, t2, t3, t4, t_hat)
    cv = challenge.value
    s1 = Scalar.reduce(w1.value + cv * sum(x.value for x in r))
    v = [0] * n
    v[n - 1] = 1
    for i in range(n - 2, -1, -1):
        v[i] = u_prime[i + 1].value * v[i + 1] % ORDER
    s2 = Scalar.reduce(w2.value + cv * sum(rh.value * vi for rh, vi in zip(r_hat, v)))
    s3 = Scalar.reduce(w3.value + cv * sum(ri.value * ui.value for ri, ui in zip(r, u)))
    s4 = tuple(
        Scalar.reduce(w4[j].value + cv * sum(result.nonces[i][j].value * u[i].value for i in range(n)))
        for j in range(width)
    )
    s_hat = tuple(Scalar.reduce(w_hat[i].value + cv * r_hat[i].value) for i in range(n))
    s_prime = tuple(Scalar.reduce(w_prime[i].value + cv * u_prime[i].value) for i in range(n))

    # §12.5 rule 7: a Schnorr proof of knowledge of s_l, bound to d and c.
    nonce = Scalar.random()
    a = Point.base_mul(nonce)
    c_o = _owner_challenge(d, challenge, Point.base_mul(share), a)
    signature = (c_o, nonce + c_o * share)
    return ShuffleProof(
        tuple(c), tuple(c_hat), t1, t2, t3, tuple(t4), tuple(t_hat), s1, s2, s3, s4, s_hat, s_prime, signature
    )


def verify_shuffle(
    rows: Sequence[Row],
    output: Sequence[Row],
    proof: ShuffleProof,
    public_key: Point,
    meeting_hash: bytes,
    vote_hash: bytes,
    trustee: int,
    verification_key: Point,
) -> None:
    """CheckShuffleProof (Algorithm 8.48) and the ownership signature (§12.5 rules 7–8).

    ``rows`` is the shuffle's input and ``output`` its output; ``N`` and ``W`` come from ``rows``.
    Raises :class:`ProofError` naming the check that failed; returns ``None`` if all hold.
    """
    n, width = _check_rows(rows, "input")
    if len(output) != n or any(len(row) != width for row in output):
        raise ProofError(f"output must have {n} rows of {width} ciphertexts")
    for name, values, size in (
        ("c", proof.c, n), ("c_hat", proof.c_hat, n), ("t_hat", proof.t_hat, n), ("s_hat", proof.s_hat, n),
        ("s_prime", proof.s_prime, n), ("t4", proof.t4, width), ("s4", proof.s4, width),
    ):
        if len(values) != size:
            raise ProofError(f"proof.{name} must have {size} elements, has {len(values)}")
    h_all = generators(n + 1)
    big_h, h = h_all[0], h_all[1:]
    d = _digest(rows, output, proof.c, public_key, meeting_hash, vote_hash, trustee)
    u = _challenges(d, n)
    challenge = _challenge(d, proof.c_hat, proof.t1, proof.t2, proof.t3, proof.t4, proof.t_hat)
    minus_c = -challenge

    c_bar = _sum(proof.c) - _sum(h)
    u_prod = 1
    for ui in u:
        u_prod = u_prod * ui.value % ORDER
    c_hat_total = proof.c_hat[-1] - big_h * Scalar._trusted(u_prod)
    c_tilde = _msm(u, proof.c)

    if Point.base_mul(proof.s1) + c_bar * minus_c != proof.t1:
        raise ProofError("shuffle proof: t1 ≠ s1·G − c·c̄ (permutation commitment sum)")
    if Point.base_mul(proof.s2) + c_hat_total * minus_c != proof.t2:
        raise ProofError("shuffle proof: t2 ≠ s2·G − c·ĉ (commitment chain product)")
    if Point.base_mul(proof.s3) + _msm(proof.s_prime, h) + c_tilde * minus_c != proof.t3:
        raise ProofError("shuffle proof: t3 ≠ s3·G + Σ s'_i·h_i − c·c̃ (committed challenges)")
    for j in range(width):
        in_alpha = _msm(u, [rows[i][j].alpha for i in range(n)])
        in_beta = _msm(u, [rows[i][j].beta for i in range(n)])
        out_alpha = _msm(proof.s_prime, [output[i][j].alpha for i in range(n)])
        out_beta = _msm(proof.s_prime, [output[i][j].beta for i in range(n)])
        expected = (
            out_alpha - Point.base_mul(proof.s4[j]) + in_alpha * minus_c,
            out_beta - public_key * proof.s4[j] + in_beta * minus_c,
        )
        if expected != proof.t4[j]:
            raise ProofError(f"shuffle proof: t4[{j}] does not match (re-encryption of column {j})")
    chain = [big_h, *proof.c_hat]
    for i in range(n):
        expected_hat = Point.base_mul(proof.s_hat[i]) + chain[i] * proof.s_prime[i] + chain[i + 1] * minus_c
        if expected_hat != proof.t_hat[i]:
            raise ProofError(f"shuffle proof: t_hat[{i}] does not match (commitment chain link {i})")

    c_o, v_o = proof.signature
    a = Point.base_mul(v_o) - verification_key * c_o
    if _owner_challenge(d, challenge, verification_key, a) != c_o:
        raise ProofError(f"shuffle signature of trustee {trustee} does not verify")


# ---------------------------------------------------------------- JSON


def rows_to_json(rows: Sequence[Row]) -> list[list[list[str]]]:
    """``output`` of a ``shuffle`` entry: rows of ``[α, β]`` hex pairs (§12.5 rule 3)."""
    return [[[ct.alpha.hex(), ct.beta.hex()] for ct in row] for row in rows]


def _list(value: object, size: int, where: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != size:
        raise EncodingError(f"expected an array of {size} elements", where=where)
    return value


def _pair_points(value: object, where: str) -> tuple[Point, Point]:
    items = _list(value, 2, where)
    return Point.from_hex(items[0], where=f"{where}[0]"), Point.from_hex(items[1], where=f"{where}[1]")


def parse_rows(value: object, n: int, width: int, *, where: str = "output") -> tuple[Row, ...]:
    """Parse ``n`` rows of ``width`` ``[α, β]`` pairs; :class:`EncodingError` if malformed."""
    rows = []
    for i, row in enumerate(_list(value, n, where)):
        cells = _list(row, width, f"{where}[{i}]")
        rows.append(tuple(Ciphertext(*_pair_points(cell, f"{where}[{i}][{j}]")) for j, cell in enumerate(cells)))
    return tuple(rows)


def parse_proof(value: object, signature: object, n: int, width: int, *, where: str = "proof") -> ShuffleProof:
    """Parse a ``shuffle`` entry's ``proof`` and ``signature`` for ``n`` rows of width ``width``
    (§12.5 rules 3, 7, 8); :class:`EncodingError` names the first malformed field."""
    if not isinstance(value, dict) or set(value) != PROOF_KEYS:
        raise EncodingError("a shuffle proof has exactly the fields " + ", ".join(sorted(PROOF_KEYS)), where=where)

    def points(key: str, size: int) -> tuple[Point, ...]:
        return tuple(Point.from_hex(x, where=f"{where}.{key}[{i}]") for i, x in enumerate(_list(value[key], size, f"{where}.{key}")))

    def scalars(key: str, size: int) -> tuple[Scalar, ...]:
        return tuple(Scalar.from_hex(x, where=f"{where}.{key}[{i}]") for i, x in enumerate(_list(value[key], size, f"{where}.{key}")))

    t4 = tuple(_pair_points(item, f"{where}.t4[{j}]") for j, item in enumerate(_list(value["t4"], width, f"{where}.t4")))
    return ShuffleProof(
        c=points("c", n),
        c_hat=points("c_hat", n),
        t1=Point.from_hex(value["t1"], where=f"{where}.t1"),
        t2=Point.from_hex(value["t2"], where=f"{where}.t2"),
        t3=Point.from_hex(value["t3"], where=f"{where}.t3"),
        t4=t4,
        t_hat=points("t_hat", n),
        s1=Scalar.from_hex(value["s1"], where=f"{where}.s1"),
        s2=Scalar.from_hex(value["s2"], where=f"{where}.s2"),
        s3=Scalar.from_hex(value["s3"], where=f"{where}.s3"),
        s4=scalars("s4", width),
        s_hat=scalars("s_hat", n),
        s_prime=scalars("s_prime", n),
        signature=parse_pair(signature, where="signature"),
    )
