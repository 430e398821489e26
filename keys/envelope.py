"""Share envelopes: a trustee's share ``f_i(l)`` encrypted to trustee ``l`` (SPEC §6.1 step 3).

SPEC §6.1 names the primitives (X25519 + HKDF + ChaCha20-Poly1305 from ``cryptography``) but
not the format; this module fixes it (documented as an implementation choice, SPEC §10):

* A fresh **ephemeral** X25519 key pair per envelope; ``Z = X25519(ephemeral, recipient)``.
  An all-zero ``Z`` (a low-order recipient key) is refused.
* ``key = HKDF-SHA256(ikm = Z, salt = none, info = "piaojue/1/envelope" ‖ E ‖ R, L = 32)``
  where ``E`` and ``R`` are the 32-byte ephemeral and recipient public keys, so the key is
  bound to both ends of the exchange.
* ``ciphertext = ChaCha20-Poly1305(key, nonce, plaintext, associated)`` with a random 12-byte
  nonce (the key is single-use, so any nonce would do; a random one costs nothing).
* JSON: ``{"ephemeral": hex(E), "nonce": hex(nonce), "ciphertext": hex(ciphertext ‖ tag)}``.

For shares the associated data is :func:`share_associated_data` of ``(meeting_id, from, to)``,
so an envelope cannot be replayed to another pair of trustees or another meeting.

The envelope does not authenticate its sender: a relay could forge one "from" trustee ``i``.
Such a forgery fails the Feldman check, and the complaint it causes is settled as usual by
``i`` revealing the share.  What the envelope does protect is secrecy, provided each trustee
checked the other trustees' announcements (and so their transport keys) out of band — see
:func:`keys.ceremony.announcement_fingerprint`.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ballot.hashing import h256
from keys.errors import EnvelopeError

ENVELOPE_INFO = b"piaojue/1/envelope"
SHARE_AD_TAG = "piaojue/1/share-envelope"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_PLAINTEXT = 1 << 16
ENVELOPE_KEYS = frozenset({"ephemeral", "nonce", "ciphertext"})


def share_associated_data(meeting_id: str, sender: int, recipient: int) -> bytes:
    """``H256("piaojue/1/share-envelope", meeting_id, from, to)``: the associated data of a share envelope."""
    return h256(SHARE_AD_TAG, meeting_id, sender, recipient)


def public_bytes(key: X25519PrivateKey | X25519PublicKey) -> bytes:
    """The raw 32-byte X25519 public key."""
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_public_key(data: bytes) -> X25519PublicKey:
    """A raw 32-byte X25519 public key; :class:`EnvelopeError` if it is not 32 bytes."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != KEY_BYTES:
        raise EnvelopeError(f"an X25519 public key is exactly {KEY_BYTES} bytes")
    try:
        return X25519PublicKey.from_public_bytes(bytes(data))
    except ValueError as exc:
        raise EnvelopeError(f"not an X25519 public key: {exc}") from None


def load_private_key(data: bytes) -> X25519PrivateKey:
    """A raw 32-byte X25519 private key; :class:`EnvelopeError` if it is not 32 bytes."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != KEY_BYTES:
        raise EnvelopeError(f"an X25519 private key is exactly {KEY_BYTES} bytes")
    try:
        return X25519PrivateKey.from_private_bytes(bytes(data))
    except ValueError as exc:
        raise EnvelopeError(f"not an X25519 private key: {exc}") from None


def _derive_key(
    private: X25519PrivateKey, peer: X25519PublicKey, ephemeral: bytes, recipient: bytes
) -> bytes:
    try:
        shared = private.exchange(peer)
    except ValueError:
        raise EnvelopeError("X25519 exchange failed (low-order public key)") from None
    if shared == bytes(KEY_BYTES):
        raise EnvelopeError("X25519 exchange gave the all-zero secret (low-order public key)")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=ENVELOPE_INFO + ephemeral + recipient
    )
    return hkdf.derive(shared)


def _check_bytes(value: object, name: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise EnvelopeError(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


def seal(recipient_public: bytes, plaintext: bytes, associated: bytes) -> dict[str, str]:
    """Encrypt ``plaintext`` to ``recipient_public`` (raw X25519), bound to ``associated``.

    SPEC §6.1 step 3; the format is in the module docstring.
    """
    recipient = load_public_key(_check_bytes(recipient_public, "recipient_public"))
    plaintext = _check_bytes(plaintext, "plaintext")
    associated = _check_bytes(associated, "associated")
    if len(plaintext) > MAX_PLAINTEXT:
        raise EnvelopeError(f"plaintext longer than {MAX_PLAINTEXT} bytes")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = public_bytes(ephemeral)
    key = _derive_key(ephemeral, recipient, ephemeral_public, bytes(recipient_public))
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, plaintext, associated)
    return {"ephemeral": ephemeral_public.hex(), "nonce": nonce.hex(), "ciphertext": ciphertext.hex()}


def _hex_field(envelope: dict[str, Any], name: str, size: int | None) -> bytes:
    value = envelope.get(name)
    if not isinstance(value, str) or len(value) % 2 or any(ch not in "0123456789abcdef" for ch in value):
        raise EnvelopeError(f"envelope field {name!r} must be lowercase hex")
    data = bytes.fromhex(value)
    if size is not None and len(data) != size:
        raise EnvelopeError(f"envelope field {name!r} must be {size} bytes, got {len(data)}")
    return data


def open_envelope(recipient_private: X25519PrivateKey, envelope: Any, associated: bytes) -> bytes:
    """Decrypt an envelope made by :func:`seal`; :class:`EnvelopeError` if it is malformed, was
    tampered with, is for another recipient, or carries other associated data."""
    if not isinstance(recipient_private, X25519PrivateKey):
        raise EnvelopeError("recipient_private must be an X25519PrivateKey")
    associated = _check_bytes(associated, "associated")
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE_KEYS:
        raise EnvelopeError('an envelope is an object with exactly "ephemeral", "nonce" and "ciphertext"')
    ephemeral_public = _hex_field(envelope, "ephemeral", KEY_BYTES)
    nonce = _hex_field(envelope, "nonce", NONCE_BYTES)
    ciphertext = _hex_field(envelope, "ciphertext", None)
    if not TAG_BYTES <= len(ciphertext) <= MAX_PLAINTEXT + TAG_BYTES:
        raise EnvelopeError("envelope ciphertext has an impossible length")
    key = _derive_key(
        recipient_private,
        load_public_key(ephemeral_public),
        ephemeral_public,
        public_bytes(recipient_private),
    )
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, associated)
    except InvalidTag:
        raise EnvelopeError(
            "envelope does not decrypt: tampered with, or meant for another recipient, pair or meeting"
        ) from None
