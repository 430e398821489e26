"""Each meeting's Ed25519 log key, encrypted at rest (docs/deployment.md, "Secrets").

The private key is sealed with AES-256-GCM under the key-encryption key (KEK) from
``PIAOJUE_KEY_ENCRYPTION_KEY`` (64 hex characters), with the meeting id as associated data, so a
sealed key cannot be moved to another meeting. Without that variable the service creates a random
KEK in ``instance/key-encryption-key`` (mode 0600) on first use: fine for a demo or a single
machine, while production sets the variable from its secret store. The KEK is never logged,
served or written to the database.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from flask import current_app

KEK_FILE = "key-encryption-key"
_AAD_PREFIX = b"piaojue/tally/log-key/"


class SecretError(Exception):
    """The KEK is missing or malformed, or a sealed key does not open under it."""


def _kek() -> bytes:
    configured = current_app.config.get("KEY_ENCRYPTION_KEY")
    if configured:
        try:
            key = bytes.fromhex(configured)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise SecretError("PIAOJUE_KEY_ENCRYPTION_KEY must be 64 hex characters (32 bytes)")
        return key
    path = Path(current_app.instance_path) / KEK_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
    return bytes.fromhex(path.read_text().strip())


def new_log_key(meeting_id: str) -> tuple[bytes, bytes]:
    """A fresh log key: ``(public key, sealed private key)``."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(_kek()).encrypt(nonce, raw, _AAD_PREFIX + meeting_id.encode())
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), sealed


def open_log_key(meeting_id: str, sealed: bytes) -> Ed25519PrivateKey:
    try:
        raw = AESGCM(_kek()).decrypt(sealed[:12], sealed[12:], _AAD_PREFIX + meeting_id.encode())
    except (InvalidTag, ValueError):
        raise SecretError(f"the log key of meeting {meeting_id} does not open under the configured KEK") from None
    return Ed25519PrivateKey.from_private_bytes(raw)
