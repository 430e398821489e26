"""SPEC §8.1 (revision 2): a credential or log key is the canonical encoding of an Ed25519 point
``P`` of prime order (``ℓ·P`` the identity, ``P`` not). ``keys.credentials.check_public_key``
(which is ``ballot.group.ed25519_key_has_prime_order``) applies exactly that rule, checked here
against an independent pure-Python RFC 8032 decoding and ``ℓ·P``. SPEC says libsodium's
``crypto_core_ed25519_is_valid_point`` alone may admit the points of order 2ℓ, which these tests
build (a prime-order point plus the point of order 2)."""

from __future__ import annotations

import pytest

from keys.credentials import check_public_key, derive_private_key, new_code, public_key_hex
from keys.errors import CredentialError

_P = 2**255 - 19
SQRT_M1 = pow(2, (_P - 1) // 4, _P)
D = -121665 * pow(121666, -1, _P) % _P
ORDER = 2**252 + 27742317777372353535851937790883648493


def _decode_ed25519(encoding: bytes) -> tuple[int, int] | None:
    """Reference: the affine point ``(x, y)`` of a canonical RFC 8032 §5.1.3 encoding, or None
    (``y ≥ p``, no square root, or ``x = 0`` with the sign bit set)."""
    y = int.from_bytes(encoding, "little") & ((1 << 255) - 1)
    sign = encoding[31] >> 7
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * SQRT_M1 % _P
    if v * x * x % _P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _times_order_is_identity(x: int, y: int) -> bool:
    """Reference: ``ℓ·P`` by double-and-add in extended coordinates (RFC 8032 §5.1.4 addition,
    complete on Ed25519), independent of libsodium."""
    def add(a, b):
        x1, y1, z1, t1 = a
        x2, y2, z2, t2 = b
        aa, bb = (y1 - x1) * (y2 - x2) % _P, (y1 + x1) * (y2 + x2) % _P
        cc, dd = 2 * D * t1 * t2 % _P, 2 * z1 * z2 % _P
        e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
        return e * f % _P, g * h % _P, f * g % _P, e * h % _P

    point, acc = (x, y, 1, x * y % _P), (0, 1, 1, 0)
    for bit in bin(ORDER)[2:]:
        acc = add(acc, acc)
        if bit == "1":
            acc = add(acc, point)
    return acc[0] % _P == 0 and (acc[1] - acc[2]) % _P == 0


def _encode(x: int, y: int) -> bytes:
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _derived_key() -> bytes:
    return bytes.fromhex(public_key_hex(derive_private_key(new_code(), "m1")))


def _plus_torsion(key: bytes, order: int) -> bytes:
    """``P + T`` for the torsion point ``T`` of the given order (2 or 4) on Ed25519 (a = −1):
    ``(x, y) + (0, −1) = (−x, −y)`` and ``(x, y) + (√−1, 0) = (√−1·y, √−1·x)``."""
    point = _decode_ed25519(key)
    assert point is not None
    x, y = point
    if order == 2:
        return _encode(-x % _P, -y % _P)
    return _encode(SQRT_M1 * y % _P, SQRT_M1 * x % _P)


def test_a_point_of_order_2l_is_refused():
    """SPEC §8.1 names this case: ``crypto_core_ed25519_is_valid_point`` may admit it (the
    Debian libsodium 1.0.18 here does not, so the test does not depend on it)."""
    key = _derived_key()
    mixed = _plus_torsion(key, 2)
    assert mixed != key
    point = _decode_ed25519(mixed)
    assert point is not None and point != (0, 1)  # a canonical encoding of a curve point, not the identity
    assert not _times_order_is_identity(*point)  # order 2ℓ
    with pytest.raises(CredentialError, match="ℓ·P"):
        check_public_key(mixed)
    assert check_public_key(key) == key


def test_the_rule_agrees_with_a_pure_python_l_times_p():
    keys = [_derived_key() for _ in range(5)]
    for key in keys + [_plus_torsion(k, 2) for k in keys] + [_plus_torsion(k, 4) for k in keys]:
        point = _decode_ed25519(key)
        assert point is not None
        try:
            check_public_key(key)
            accepted = True
        except CredentialError:
            accepted = False
        assert accepted == _times_order_is_identity(*point)


def test_a_point_of_order_4l_is_refused():
    mixed = _plus_torsion(_derived_key(), 4)
    assert _decode_ed25519(mixed) is not None
    with pytest.raises(CredentialError, match="ℓ·P"):
        check_public_key(mixed)


def test_the_identity_and_a_missing_square_root_are_refused():
    with pytest.raises(CredentialError, match="小阶点"):
        check_public_key(_encode(0, 1))
    # y = 2: (y² − 1)/(d·y² + 1) is not a square mod p, so no point has it.
    assert _decode_ed25519(_encode(0, 2)) is None
    with pytest.raises(CredentialError, match="非规范编码"):
        check_public_key(_encode(0, 2))


def test_every_kind_of_key_against_the_reference():
    """Registration (keys.credentials) and the record verifier (ballot.group) share one check;
    here it is held against the pure-Python reference on keys of every kind: derived, plus a
    point of order 2 or 4, small order, non-canonical, off the curve."""
    from ballot.group import ed25519_key_has_prime_order
    from tests.test_credentials import NON_CANONICAL, SMALL_ORDER

    keys = [_derived_key() for _ in range(5)]
    candidates = keys + [_plus_torsion(k, 2) for k in keys] + [_plus_torsion(k, 4) for k in keys]
    candidates += [bytes.fromhex(k) for k in SMALL_ORDER + NON_CANONICAL]
    candidates += [_encode(0, 2), bytes(31) + b"\x80", bytes([0xFF] * 32)]
    for key in candidates:
        point = _decode_ed25519(key)
        expected = point is not None and point != (0, 1) and _times_order_is_identity(*point)
        try:
            check_public_key(key)
            accepted = True
        except CredentialError:
            accepted = False
        assert accepted == expected == ed25519_key_has_prime_order(key), key.hex()
