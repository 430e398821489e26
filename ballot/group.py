"""ristretto255 scalars and points (SPEC §1), a thin typed wrapper over libsodium.

This is the only module that talks to libsodium's group functions. The library is loaded by
pysodium (the system libsodium, >= 1.0.18); the hot operations call its C functions through the
handle pysodium already opened, which skips a Python wrapper layer per call. docs/dependencies.md
says why pysodium was chosen over rbcl.

* A :class:`Scalar` holds a Python int in ``[0, ℓ)``. Scalar arithmetic is plain modular
  arithmetic on ints (exact, and faster than a libsodium round trip).
* A :class:`Point` holds its canonical 32-byte encoding, validated on decode. The identity is
  32 zero bytes. Operations that libsodium refuses for the identity or the zero scalar are
  handled here, so callers never see a libsodium error.
"""

from __future__ import annotations

import ctypes
import re
import secrets

import pysodium

from ballot.errors import InvalidPoint, InvalidScalar

ORDER = 2**252 + 27742317777372353535851937790883648493
"""ℓ, the order of the ristretto255 group (SPEC §1)."""

POINT_BYTES = 32
SCALAR_BYTES = 32

_sodium = pysodium.sodium
_HEX64 = re.compile(r"[0-9a-f]{64}")
_IDENTITY_BYTES = bytes(POINT_BYTES)


def _check_hex64(text: object, kind: str, where: str | None) -> bytes:
    if not isinstance(text, str) or _HEX64.fullmatch(text) is None:
        raise (InvalidPoint if kind == "point" else InvalidScalar)(
            f"expected a {kind} as 64 lowercase hex characters, got {_preview(text)}", where=where
        )
    return bytes.fromhex(text)


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Scalar:
    """An integer mod ℓ. Encoded as 32 bytes little-endian (SPEC §1)."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < ORDER:
            raise InvalidScalar(f"scalar value must be an int in [0, ℓ), got {_preview(value)}")
        self.value = value

    @classmethod
    def _trusted(cls, value: int) -> Scalar:
        obj = object.__new__(cls)
        obj.value = value
        return obj

    @classmethod
    def reduce(cls, value: int) -> Scalar:
        """The scalar ``value mod ℓ`` (any int, including negatives)."""
        return cls._trusted(value % ORDER)

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str | None = None) -> Scalar:
        """Decode 32 bytes little-endian; reject values ≥ ℓ (SPEC §1)."""
        if not isinstance(data, (bytes, bytearray)) or len(data) != SCALAR_BYTES:
            raise InvalidScalar(f"a scalar is exactly {SCALAR_BYTES} bytes", where=where)
        value = int.from_bytes(data, "little")
        if value >= ORDER:
            raise InvalidScalar("scalar is not reduced (value ≥ ℓ)", where=where)
        return cls._trusted(value)

    @classmethod
    def from_hex(cls, text: object, *, where: str | None = None) -> Scalar:
        return cls.from_bytes(_check_hex64(text, "scalar", where), where=where)

    @classmethod
    def random(cls) -> Scalar:
        """A uniformly random scalar in ``[1, ℓ)`` (never zero)."""
        return cls._trusted(secrets.randbelow(ORDER - 1) + 1)

    def to_bytes(self) -> bytes:
        return self.value.to_bytes(SCALAR_BYTES, "little")

    def hex(self) -> str:
        return self.to_bytes().hex()

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar._trusted((self.value + other.value) % ORDER)

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar._trusted((self.value - other.value) % ORDER)

    def __mul__(self, other: Scalar) -> Scalar:
        if not isinstance(other, Scalar):
            return NotImplemented  # lets ``scalar * point`` reach Point.__rmul__
        return Scalar._trusted((self.value * other.value) % ORDER)

    def __neg__(self) -> Scalar:
        return Scalar._trusted((-self.value) % ORDER)

    def inverse(self) -> Scalar:
        if self.value == 0:
            raise InvalidScalar("zero has no inverse")
        return Scalar._trusted(pow(self.value, -1, ORDER))

    def is_zero(self) -> bool:
        return self.value == 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalar) and self.value == other.value

    def __hash__(self) -> int:
        return hash(("Scalar", self.value))

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Scalar({self.value})"


ZERO = Scalar._trusted(0)
ONE = Scalar._trusted(1)


class Point:
    """A ristretto255 group element, held as its canonical 32-byte encoding (SPEC §1)."""

    __slots__ = ("_enc",)
    _enc: bytes

    def __init__(self, encoding: bytes) -> None:
        point = Point.from_bytes(encoding)
        self._enc = point._enc

    @classmethod
    def _trusted(cls, encoding: bytes) -> Point:
        obj = object.__new__(cls)
        obj._enc = encoding
        return obj

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str | None = None) -> Point:
        """Decode a canonical encoding; reject non-canonical or invalid ones (SPEC §1)."""
        if not isinstance(data, (bytes, bytearray)) or len(data) != POINT_BYTES:
            raise InvalidPoint(f"a point is exactly {POINT_BYTES} bytes", where=where)
        data = bytes(data)
        # Bit 255 is checked here: libsodium 1.0.18 (Debian's libsodium23) ignores it, so a point
        # with that bit set would be accepted as a second encoding of the same element.
        if data != _IDENTITY_BYTES and (
            data[31] & 0x80 or _sodium.crypto_core_ristretto255_is_valid_point(data) != 1
        ):
            raise InvalidPoint("not a canonical ristretto255 encoding", where=where)
        return cls._trusted(data)

    @classmethod
    def from_hex(cls, text: object, *, where: str | None = None) -> Point:
        return cls.from_bytes(_check_hex64(text, "point", where), where=where)

    @classmethod
    def identity(cls) -> Point:
        return IDENTITY

    @classmethod
    def generator(cls) -> Point:
        return GENERATOR

    @classmethod
    def base_mul(cls, scalar: Scalar) -> Point:
        """``scalar·G``."""
        if scalar.value == 0:
            return IDENTITY
        out = ctypes.create_string_buffer(POINT_BYTES)
        _sodium.crypto_scalarmult_ristretto255_base(out, scalar.value.to_bytes(SCALAR_BYTES, "little"))
        return cls._trusted(out.raw)

    def to_bytes(self) -> bytes:
        return self._enc

    def hex(self) -> str:
        return self._enc.hex()

    def is_identity(self) -> bool:
        return self._enc == _IDENTITY_BYTES

    def __add__(self, other: Point) -> Point:
        if other._enc == _IDENTITY_BYTES:
            return self
        if self._enc == _IDENTITY_BYTES:
            return other
        out = ctypes.create_string_buffer(POINT_BYTES)
        _sodium.crypto_core_ristretto255_add(out, self._enc, other._enc)
        return Point._trusted(out.raw)

    def __sub__(self, other: Point) -> Point:
        if other._enc == _IDENTITY_BYTES:
            return self
        out = ctypes.create_string_buffer(POINT_BYTES)
        _sodium.crypto_core_ristretto255_sub(out, self._enc, other._enc)
        return Point._trusted(out.raw)

    def __neg__(self) -> Point:
        return IDENTITY - self

    def __mul__(self, scalar: Scalar) -> Point:
        """``scalar·self``. libsodium refuses an identity result; that case is returned here."""
        if scalar.value == 0 or self._enc == _IDENTITY_BYTES:
            return IDENTITY
        out = ctypes.create_string_buffer(POINT_BYTES)
        # For a nonzero scalar < ℓ and a non-identity point of prime order, the product is never
        # the identity, so libsodium's -1 cannot occur here.
        _sodium.crypto_scalarmult_ristretto255(out, scalar.value.to_bytes(SCALAR_BYTES, "little"), self._enc)
        return Point._trusted(out.raw)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and self._enc == other._enc

    def __hash__(self) -> int:
        return hash(("Point", self._enc))

    def __repr__(self) -> str:
        return f"Point({self._enc.hex()})"


IDENTITY = Point._trusted(_IDENTITY_BYTES)
GENERATOR = Point._trusted(
    bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")
)
"""The canonical generator ``G`` of ristretto255 (RFC 9496 §4.4)."""


_ED25519_IDENTITY = b"\x01" + bytes(31)
"""The Ed25519 identity (x = 0, y = 1) in its canonical encoding."""
_ORDER_MINUS_ONE = (ORDER - 1).to_bytes(SCALAR_BYTES, "little")


def ed25519_key_has_prime_order(key: object) -> bool:
    """Is ``key`` the canonical encoding of an Ed25519 point ``P`` of prime order: ``ℓ·P`` is
    the identity and ``P`` is not (SPEC §8.1 "Credentials"; the ``log_key`` of §6.3 too)?

    libsodium's ``crypto_core_ed25519_is_valid_point`` checks the encoding, the curve, the
    small-order blocklist, and that ``ℓ·P`` has ``x = 0``; that last test also holds for the
    order-2 point ``(0, −1)``, so it admits ``P + T₂`` (order 2ℓ). The missing step is done here:
    ``(ℓ − 1)·P + P`` must be exactly the identity. (For ``P + T₂`` it is ``T₂``, since ``ℓ − 1``
    is even.) Ed25519 arithmetic is used only for this check; the protocol's group is ristretto255.
    """
    if not isinstance(key, (bytes, bytearray)) or len(key) != POINT_BYTES:
        return False
    key = bytes(key)
    if _sodium.crypto_core_ed25519_is_valid_point(key) != 1:
        return False
    product = ctypes.create_string_buffer(POINT_BYTES)
    if _sodium.crypto_scalarmult_ed25519_noclamp(product, _ORDER_MINUS_ONE, key) != 0:
        return False
    total = ctypes.create_string_buffer(POINT_BYTES)
    if _sodium.crypto_core_ed25519_add(total, product.raw, key) != 0:
        return False
    return total.raw == _ED25519_IDENTITY


def small_multiple(n: int) -> Point:
    """``n·G`` for a small non-negative integer (a count or a range bound)."""
    if n < 0:
        raise InvalidScalar(f"expected a non-negative integer, got {n}")
    return Point.base_mul(Scalar.reduce(n))


def is_point_encoding(data: bytes) -> bool:
    """Is ``data`` the canonical 32-byte encoding of a ristretto255 element (SPEC §1 rule 2; the
    identity, 32 zero bytes, counts)? The test that the name encoding of protocol §12.3 rule 5
    tries counter by counter."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != POINT_BYTES:
        return False
    data = bytes(data)
    if data == _IDENTITY_BYTES:
        return True
    return not data[31] & 0x80 and _sodium.crypto_core_ristretto255_is_valid_point(data) == 1


def hash_to_point(digest: bytes) -> Point:
    """RFC 9496 §4.3.4's one-way map of 64 uniform bytes to a point: libsodium's
    ``crypto_core_ristretto255_from_hash``. Nobody knows the discrete logarithm of the result, so
    it gives the independent generators of the proof of shuffle (protocol §12.5 rule 2)."""
    if not isinstance(digest, (bytes, bytearray)) or len(digest) != 64:
        raise InvalidPoint("hash_to_point takes exactly 64 bytes")
    out = ctypes.create_string_buffer(POINT_BYTES)
    _sodium.crypto_core_ristretto255_from_hash(out, bytes(digest))
    return Point._trusted(out.raw)
