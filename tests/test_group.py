"""ristretto255 points and scalars (SPEC §1) against RFC 9496 Appendix A, plus basics."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pysodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballot.errors import InvalidPoint, InvalidScalar
from ballot.group import GENERATOR, IDENTITY, ORDER, Point, Scalar, small_multiple
from ballot.hashing import frame, hq

VECTORS = json.loads((Path(__file__).parent / "vectors" / "ristretto255.json").read_text())
MULTIPLES: list[str] = VECTORS["multiples_of_generator"]["encodings"]
INVALID: list[tuple[str, str]] = [
    (category, enc)
    for category, encs in VECTORS["invalid_encodings"].items()
    if isinstance(encs, list)
    for enc in encs
]

scalars = st.integers(min_value=0, max_value=ORDER - 1).map(Scalar)
nonzero_scalars = st.integers(min_value=1, max_value=ORDER - 1).map(Scalar)


def test_vectors_file_cites_source() -> None:
    assert "RFC 9496" in VECTORS["source"]
    assert len(MULTIPLES) == 16
    assert len(INVALID) == 29


# RFC 9496 A.1 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(16))
def test_a1_base_mul(k: int) -> None:
    assert Point.base_mul(Scalar(k)).hex() == MULTIPLES[k]
    assert small_multiple(k).hex() == MULTIPLES[k]


@pytest.mark.parametrize("k", range(16))
def test_a1_decode_roundtrip(k: int) -> None:
    p = Point.from_hex(MULTIPLES[k])
    assert p.hex() == MULTIPLES[k]
    assert Point.from_bytes(bytes.fromhex(MULTIPLES[k])) == p


def test_a1_repeated_addition() -> None:
    acc = Point.identity()
    for k in range(16):
        assert acc.hex() == MULTIPLES[k]
        acc = acc + GENERATOR


def test_a1_generator_and_identity() -> None:
    assert GENERATOR.hex() == MULTIPLES[1]
    assert IDENTITY.hex() == MULTIPLES[0]
    assert Point.from_hex(MULTIPLES[0]).is_identity()


def test_a1_scalar_mul_of_generator() -> None:
    for k in range(16):
        assert (GENERATOR * Scalar(k)).hex() == MULTIPLES[k]
        assert (Scalar(k) * GENERATOR).hex() == MULTIPLES[k]


# RFC 9496 A.2 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "encoding"), INVALID)
def test_a2_invalid_encodings_rejected(category: str, encoding: str) -> None:
    with pytest.raises(InvalidPoint):
        Point.from_hex(encoding)
    with pytest.raises(InvalidPoint):
        Point.from_bytes(bytes.fromhex(encoding))
    with pytest.raises(InvalidPoint):
        Point(bytes.fromhex(encoding))


# RFC 9496 A.3 (libsodium from_hash; checks the vectors file and the library) -----------------------


@pytest.mark.parametrize("vector", VECTORS["from_uniform_bytes"]["vectors"], ids=lambda v: v["output"][:8])
def test_a3_from_uniform_bytes(vector: dict[str, str]) -> None:
    assert hashlib.sha512(vector["label"].encode()).hexdigest() == vector["input"]
    out = pysodium.crypto_core_ristretto255_from_hash(bytes.fromhex(vector["input"]))
    assert out.hex() == vector["output"]
    assert Point.from_bytes(out).hex() == vector["output"]


# Point decoding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        MULTIPLES[1].upper(),
        MULTIPLES[1][:-2],
        MULTIPLES[1] + "00",
        "zz" + MULTIPLES[1][2:],
        "",
        " " + MULTIPLES[1][1:],
        None,
        123,
        bytes.fromhex(MULTIPLES[1]),
    ],
)
def test_point_from_hex_rejects_bad_text(text: object) -> None:
    with pytest.raises(InvalidPoint):
        Point.from_hex(text)


@pytest.mark.parametrize("data", [b"", bytes(31), bytes(33), "00" * 32])
def test_point_from_bytes_rejects_wrong_length_or_type(data: object) -> None:
    with pytest.raises(InvalidPoint):
        Point.from_bytes(data)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


def test_point_error_names_where() -> None:
    with pytest.raises(InvalidPoint) as info:
        Point.from_hex("ff" * 32, where="contests[0].selections[3].alpha")
    assert info.value.where == "contests[0].selections[3].alpha"
    assert "contests[0].selections[3].alpha" in str(info.value)


# Scalars ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [ORDER, ORDER + 1, 2**256 - 1, 2**255])
def test_scalar_at_or_above_order_rejected(value: int) -> None:
    with pytest.raises(InvalidScalar):
        Scalar.from_bytes(value.to_bytes(32, "little"))
    with pytest.raises(InvalidScalar):
        Scalar.from_hex(value.to_bytes(32, "little").hex())
    with pytest.raises(InvalidScalar):
        Scalar(value)


def test_scalar_largest_accepted() -> None:
    s = Scalar.from_bytes((ORDER - 1).to_bytes(32, "little"))
    assert s.value == ORDER - 1
    assert Scalar.from_hex(s.hex()) == s


@pytest.mark.parametrize(
    "text",
    [
        (0xABCDEF).to_bytes(32, "little").hex().upper(),
        "0A" + "00" * 31,
        "00" * 31,
        "00" * 33,
        "g0" + "00" * 31,
        "",
        None,
        5,
    ],
)
def test_scalar_from_hex_rejects_bad_text(text: object) -> None:
    with pytest.raises(InvalidScalar):
        Scalar.from_hex(text)


@pytest.mark.parametrize("value", [-1, True, 1.0, "1"])
def test_scalar_constructor_rejects_non_ints(value: object) -> None:
    with pytest.raises(InvalidScalar):
        Scalar(value)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


@pytest.mark.parametrize("data", [b"", bytes(31), bytes(33)])
def test_scalar_from_bytes_rejects_wrong_length(data: bytes) -> None:
    with pytest.raises(InvalidScalar):
        Scalar.from_bytes(data)


def test_zero_has_no_inverse() -> None:
    with pytest.raises(InvalidScalar):
        Scalar(0).inverse()


@given(nonzero_scalars)
def test_scalar_inverse(s: Scalar) -> None:
    assert s * s.inverse() == Scalar(1)


@given(scalars, scalars)
def test_scalar_arithmetic_matches_ints(a: Scalar, b: Scalar) -> None:
    assert (a + b).value == (a.value + b.value) % ORDER
    assert (a - b).value == (a.value - b.value) % ORDER
    assert (a * b).value == (a.value * b.value) % ORDER
    assert (-a).value == (-a.value) % ORDER
    assert Scalar.from_bytes(a.to_bytes()) == a


def test_scalar_reduce_negative() -> None:
    assert Scalar.reduce(-1).value == ORDER - 1
    assert Scalar.reduce(ORDER).value == 0


# Identity handling ----------------------------------------------------------------------------------


@settings(max_examples=30)
@given(nonzero_scalars)
def test_identity_rules(k: Scalar) -> None:
    p = Point.base_mul(k)
    assert IDENTITY + p == p
    assert p + IDENTITY == p
    assert p - p == IDENTITY
    assert (p - p).is_identity()
    assert p - IDENTITY == p
    assert IDENTITY - p == -p
    assert -p + p == IDENTITY
    assert p * Scalar(0) == IDENTITY
    assert Scalar(0) * p == IDENTITY
    assert IDENTITY * k == IDENTITY
    assert -IDENTITY == IDENTITY
    assert IDENTITY + IDENTITY == IDENTITY


def test_base_mul_zero_is_identity() -> None:
    assert Point.base_mul(Scalar(0)) == IDENTITY
    assert Point.base_mul(Scalar(0)).to_bytes() == bytes(32)


def test_order_times_point_is_identity() -> None:
    # ℓ itself is not a scalar; (ℓ−1)·G + G must be the identity.
    assert Point.base_mul(Scalar(ORDER - 1)) + GENERATOR == IDENTITY
    assert Point.base_mul(Scalar(ORDER - 1)) == -GENERATOR


@settings(max_examples=30)
@given(scalars, scalars)
def test_scalar_mul_distributes(a: Scalar, b: Scalar) -> None:
    assert Point.base_mul(a) + Point.base_mul(b) == Point.base_mul(a + b)
    assert Point.base_mul(a) * b == Point.base_mul(a * b)
    assert Point.base_mul(a) - Point.base_mul(b) == Point.base_mul(a - b)


@settings(max_examples=30)
@given(scalars)
def test_points_round_trip_through_hex(a: Scalar) -> None:
    p = Point.base_mul(a)
    assert Point.from_hex(p.hex()) == p
    assert hash(Point.from_hex(p.hex())) == hash(p)


# Hq (SPEC §1) ---------------------------------------------------------------------------------------


@settings(max_examples=50)
@given(st.text(max_size=20), st.binary(max_size=64), st.integers(min_value=0, max_value=2**64 - 1))
def test_hq_is_libsodium_scalar_reduce(tag: str, data: bytes, n: int) -> None:
    tag = "piaojue/1/" + tag.encode("ascii", "ignore").decode()
    framed = frame(tag.encode("ascii")) + frame(data) + frame(n.to_bytes(8, "big"))
    digest = hashlib.sha512(framed).digest()
    expected = pysodium.crypto_core_ristretto255_scalar_reduce(digest)
    assert hq(tag, data, n).to_bytes() == expected


def test_hq_known_framing() -> None:
    framed = frame(b"piaojue/1/pok") + frame(b"m1") + frame((1).to_bytes(8, "big"))
    digest = hashlib.sha512(framed).digest()
    assert hq("piaojue/1/pok", "m1", 1).value == int.from_bytes(digest, "little") % ORDER
    assert hq("piaojue/1/pok", "m1", 1).to_bytes() == pysodium.crypto_core_ristretto255_scalar_reduce(digest)
