"""Witness keys and cosignatures of tree heads (docs/protocol.md §13).

An auditor's monitor that has verified every entry up to a tree head signs ``(Q, tree_size,
root, cosigned_at)`` with its witness key; the tally service publishes the cosignature beside the
STH. This module holds the byte formats and the checks that every party applies:

* :func:`registration_message`, :func:`sign_registration`, :func:`parse_witness_entry` — the
  ``witness`` log entry of §13 rule 2 and check V52;
* :func:`cosignature_message`, :func:`sign_cosignature`, :func:`parse_cosignature`,
  :func:`verify_cosignature` — §13 rules 5–6 and the signature clause of rule 8 (V53);
* :func:`load_witness_key` — the witness's private key file (32-byte Ed25519 seed, hex).

Pure Python over ``cryptography``, no web imports. Errors are :class:`~ballot.errors.LogError`
(a cosignature is a statement about the log) with a ``where``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ballot.errors import LogError
from ballot.group import ed25519_key_has_prime_order
from ballot.hashing import MAX_SAFE_INTEGER

COSIGNATURE_PREFIX = b"piaojue/1/cosignature"
"""Signed-message prefix of a cosignature (§13 rule 5), raw bytes, not framed."""

REGISTRATION_PREFIX = b"piaojue/1/witness"
"""Signed-message prefix of a witness entry's proof of possession (§13 rule 2)."""

COSIGNATURE_KEYS = frozenset({"witness", "tree_size", "root", "cosigned_at", "signature"})
WITNESS_ENTRY_KEYS = frozenset({"type", "name", "key", "signature"})
MAX_NAME_CODE_POINTS = 64

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


def _uint(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_SAFE_INTEGER:
        raise LogError(f"must be a JSON integer in [0, 2^53), got {value!r}", where=where)
    return value


def _hex(value: object, pattern: re.Pattern[str], where: str) -> bytes:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        size = pattern.pattern.rsplit("{", 1)[1].rstrip("}")
        raise LogError(f"must be {size} lowercase hex characters", where=where)
    return bytes.fromhex(value)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of a witness's public key."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _verify(key: bytes, signature: bytes, message: bytes, where: str) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise LogError("signature does not verify under the witness key", where=where) from None


# ----------------------------------------------------------------------------- registration


def registration_message(meeting_hash: bytes, name: str) -> bytes:
    """``"piaojue/1/witness" ‖ Q ‖ name`` (§13 rule 2): the witness's consent to its name."""
    if len(meeting_hash) != 32:
        raise LogError("the meeting hash is 32 bytes")
    return REGISTRATION_PREFIX + meeting_hash + name.encode("utf-8")


def sign_registration(private_key: Ed25519PrivateKey, meeting_hash: bytes, name: str) -> dict[str, Any]:
    """The ``witness`` log entry registering ``private_key``'s public key under ``name`` (§13 rule 2)."""
    return {
        "type": "witness",
        "name": name,
        "key": public_key_bytes(private_key).hex(),
        "signature": private_key.sign(registration_message(meeting_hash, name)).hex(),
    }


@dataclass(frozen=True, slots=True)
class Witness:
    """A registered witness: its key, its name, and the index of its ``witness`` entry."""

    key: bytes
    name: str
    index: int


def parse_witness_entry(entry: dict[str, Any], meeting_hash: bytes, log_key: bytes, index: int) -> Witness:
    """Check a ``witness`` entry by V52 (shape, name, key of prime order and not the log key,
    proof of possession) and return the witness. Whether the key was registered before is the
    caller's state (V52, last clause). Raises :class:`LogError`."""
    if set(entry) != WITNESS_ENTRY_KEYS:
        raise LogError("a witness entry has exactly the fields type, name, key, signature")
    name = entry["name"]
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CODE_POINTS:
        raise LogError(f"must be a string of 1 to {MAX_NAME_CODE_POINTS} characters", where="name")
    key = _hex(entry["key"], _HEX64, "key")
    if not ed25519_key_has_prime_order(key):
        raise LogError("the witness key is not an Ed25519 point of prime order", where="key")
    if key == log_key:
        raise LogError("the witness key is the meeting's log key", where="key")
    signature = _hex(entry["signature"], _HEX128, "signature")
    try:
        message = registration_message(meeting_hash, name)
    except UnicodeEncodeError:
        raise LogError("the name is not UTF-8 text", where="name") from None
    _verify(key, signature, message, "signature")
    return Witness(key, name, index)


# ----------------------------------------------------------------------------- cosignatures


def cosignature_message(meeting_hash: bytes, tree_size: int, root: bytes, cosigned_at: int) -> bytes:
    """``"piaojue/1/cosignature" ‖ Q ‖ u64be(tree_size) ‖ root ‖ u64be(cosigned_at)``: the 101
    bytes a witness signs (§13 rule 5)."""
    if len(meeting_hash) != 32 or len(root) != 32:
        raise LogError("the meeting hash and the root are 32 bytes each")
    _uint(tree_size, "tree_size")
    _uint(cosigned_at, "cosigned_at")
    return COSIGNATURE_PREFIX + meeting_hash + tree_size.to_bytes(8, "big") + root + cosigned_at.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A parsed cosignature (§13 rule 6)."""

    witness: bytes
    tree_size: int
    root: bytes
    cosigned_at: int
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "witness": self.witness.hex(),
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "cosigned_at": self.cosigned_at,
            "signature": self.signature.hex(),
        }


def sign_cosignature(
    private_key: Ed25519PrivateKey, meeting_hash: bytes, tree_size: int, root: bytes, cosigned_at: int
) -> dict[str, Any]:
    """A witness's cosignature of the tree head ``(tree_size, root)`` of meeting ``Q`` (§13 rules
    5–6). By calling this the caller makes the promise of §13 rule 7."""
    message = cosignature_message(meeting_hash, tree_size, root, cosigned_at)
    return Cosignature(public_key_bytes(private_key), tree_size, bytes(root), cosigned_at,
                       private_key.sign(message)).to_json()


def parse_cosignature(value: object, *, where: str = "cosignature") -> Cosignature:
    """Check a cosignature's shape strictly (§13 rule 6); the signature is not checked."""
    if not isinstance(value, dict):
        raise LogError("a cosignature is a JSON object", where=where)
    if set(value) != COSIGNATURE_KEYS:
        raise LogError("a cosignature has exactly the fields witness, tree_size, root, cosigned_at, signature",
                       where=where)
    tree_size = _uint(value["tree_size"], f"{where}.tree_size")
    if tree_size < 1:
        raise LogError("a cosigned tree holds at least the meeting entry", where=f"{where}.tree_size")
    return Cosignature(
        _hex(value["witness"], _HEX64, f"{where}.witness"),
        tree_size,
        _hex(value["root"], _HEX64, f"{where}.root"),
        _uint(value["cosigned_at"], f"{where}.cosigned_at"),
        _hex(value["signature"], _HEX128, f"{where}.signature"),
    )


def verify_cosignature(cosignature: Cosignature, meeting_hash: bytes, *, where: str = "cosignature") -> None:
    """Check the signature of a parsed cosignature under its witness key (§13 rule 8). Whether
    the key is registered inside the cosigned tree, and the tree head is the log's, is for the
    caller (§13 rule 8, V53)."""
    message = cosignature_message(meeting_hash, cosignature.tree_size, cosignature.root, cosignature.cosigned_at)
    _verify(cosignature.witness, cosignature.signature, message, f"{where}.signature")


# ----------------------------------------------------------------------------- key files


def load_witness_key(path: str | Path) -> Ed25519PrivateKey:
    """A witness's private key from a file holding its 32-byte Ed25519 seed as 64 hex characters
    (surrounding whitespace ignored). Raises :class:`LogError` for anything else."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise LogError(f"cannot read the witness key file {path}: {exc}") from None
    if _HEX64.fullmatch(text) is None:
        raise LogError("a witness key file holds the 32-byte Ed25519 seed as 64 lowercase hex characters",
                       where=str(path))
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))


__all__ = [
    "COSIGNATURE_PREFIX",
    "REGISTRATION_PREFIX",
    "Cosignature",
    "Witness",
    "cosignature_message",
    "load_witness_key",
    "parse_cosignature",
    "parse_witness_entry",
    "public_key_bytes",
    "registration_message",
    "sign_cosignature",
    "sign_registration",
    "verify_cosignature",
]
