"""A trustee's state, kept in a file encrypted under its passphrase (SPEC §6.1, last paragraph).

SPEC §6.1 asks for "scrypt or argon2id, then AES-GCM"; this module uses Argon2id. The file is
JSON (an implementation choice, SPEC §10)::

    {"format": "piaojue/1/trustee-state",
     "demo": true,                                    # only in demo files
     "kdf": {"name": "argon2id", "salt": "<hex, 16 bytes>",
             "iterations": 3, "lanes": 1, "memory_cost": 65536},
     "nonce": "<hex, 12 bytes>",
     "ciphertext": "<hex AES-256-GCM ciphertext ‖ tag>"}

* ``key = Argon2id(passphrase NFC-normalised as UTF-8, salt, iterations, lanes, memory_cost KiB, 32 bytes)``.
  The cost parameters live in the header, so they can be raised later without breaking old
  files.  The defaults are 64 MiB, 3 passes, 1 lane (:data:`DEFAULT_KDF`).
* ``ciphertext = AES-256-GCM(key, nonce, canonical JSON of the state, AD)`` where ``AD`` is the
  canonical JSON (SPEC §1) of the header: every field except ``ciphertext``.  Changing any
  header field, including removing the ``demo`` marker, makes the file fail to open.
* ``"demo": true`` marks a demo meeting's file, whose passphrase is publicly known; tools show
  it as DEMO.  It is visible without the passphrase (:func:`read_header`).

Files are written atomically (a temporary file in the same directory, fsync, ``os.replace``)
with mode 0600.  Every failure is a :class:`~keys.errors.StateFileError`.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from ballot.errors import EncodingError
from ballot.hashing import canonical_json, parse_json
from keys.errors import StateFileError

FORMAT = "piaojue/1/trustee-state"
KDF_NAME = "argon2id"
SALT_BYTES = 16
NONCE_BYTES = 12
KEY_BYTES = 32
MAX_FILE_BYTES = 1 << 20
MAX_MEMORY_COST = 1024 * 1024
"""1 GiB: the most a state file may ask a loader to spend."""

_HEADER_KEYS = frozenset({"format", "kdf", "nonce", "ciphertext"})
_KDF_KEYS = frozenset({"name", "salt", "iterations", "lanes", "memory_cost"})


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost: ``memory_cost`` in KiB, ``iterations`` passes, ``lanes`` parallelism."""

    memory_cost: int = 64 * 1024
    iterations: int = 3
    lanes: int = 1

    def check(self) -> None:
        """Refuse parameters outside sane bounds (also protects a loader from a hostile header)."""
        _bounded("lanes", self.lanes, 1, 16)
        _bounded("iterations", self.iterations, 1, 64)
        _bounded("memory_cost", self.memory_cost, 8 * self.lanes, MAX_MEMORY_COST)


def _bounded(name: str, value: object, lo: int, hi: int) -> None:
    if not _is_int(value) or not lo <= value <= hi:
        raise StateFileError(f"argon2id {name} must be an integer in [{lo}, {hi}], got {value!r}")


DEFAULT_KDF = KdfParams()
"""64 MiB, 3 passes, 1 lane (about 0.2 s on a laptop)."""


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _passphrase_bytes(passphrase: object) -> bytes:
    if not isinstance(passphrase, str):
        raise StateFileError("the passphrase must be text")
    if not passphrase:
        raise StateFileError("the passphrase must not be empty")
    # NFC, so the same passphrase typed through different input methods gives the same key.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _derive(passphrase: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    return Argon2id(
        salt=salt, length=KEY_BYTES, iterations=kdf.iterations, lanes=kdf.lanes, memory_cost=kdf.memory_cost
    ).derive(passphrase)


def _associated(header: dict[str, Any]) -> bytes:
    return canonical_json({key: value for key, value in header.items() if key != "ciphertext"})


def save_state(
    path: str | os.PathLike[str],
    state: dict[str, Any],
    passphrase: str,
    *,
    demo: bool = False,
    kdf: KdfParams = DEFAULT_KDF,
) -> None:
    """Encrypt ``state`` (a JSON document) under ``passphrase`` and write it atomically, mode 0600."""
    if not isinstance(state, dict):
        raise StateFileError("the state must be a JSON object")
    kdf.check()
    secret = _passphrase_bytes(passphrase)
    try:
        plaintext = canonical_json(state)
    except EncodingError as exc:
        raise StateFileError(f"the state is not a JSON document: {exc}") from None
    salt = secrets.token_bytes(SALT_BYTES)
    nonce = secrets.token_bytes(NONCE_BYTES)
    header: dict[str, Any] = {"format": FORMAT}
    if demo:
        header["demo"] = True
    header["kdf"] = {
        "name": KDF_NAME,
        "salt": salt.hex(),
        "iterations": kdf.iterations,
        "lanes": kdf.lanes,
        "memory_cost": kdf.memory_cost,
    }
    header["nonce"] = nonce.hex()
    key = _derive(secret, salt, kdf)
    header["ciphertext"] = AESGCM(key).encrypt(nonce, plaintext, _associated(header)).hex()
    _write_atomically(
        os.fspath(path), json.dumps(header, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"
    )


def _write_atomically(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".piaojue-state-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise StateFileError(f"cannot write state file {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _hex(value: object, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or len(value) % 2 or any(ch not in "0123456789abcdef" for ch in value):
        raise StateFileError(f"not a trustee state file: {what} is not lowercase hex")
    data = bytes.fromhex(value)
    if size is not None and len(data) != size:
        raise StateFileError(f"not a trustee state file: {what} must be {size} bytes")
    return data


def _parse_header(data: bytes, path: str) -> dict[str, Any]:
    try:
        header = parse_json(data)
    except EncodingError:
        raise StateFileError(f"{path} is not a trustee state file (not JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StateFileError(f"{path} is not a trustee state file (format is not {FORMAT!r})")
    extra = set(header) - _HEADER_KEYS - {"demo"}
    missing = _HEADER_KEYS - set(header)
    if extra or missing:
        raise StateFileError(
            f"{path} is not a trustee state file "
            f"(unexpected fields {sorted(extra)}, missing {sorted(missing)})"
        )
    if "demo" in header and header["demo"] is not True:
        raise StateFileError(f"{path}: the demo marker, when present, must be true")
    kdf = header["kdf"]
    if not isinstance(kdf, dict) or set(kdf) != _KDF_KEYS:
        raise StateFileError(f"{path}: kdf must have exactly {sorted(_KDF_KEYS)}")
    if kdf["name"] != KDF_NAME:
        raise StateFileError(f"{path}: unsupported kdf {kdf['name']!r} (only {KDF_NAME})")
    return header


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise StateFileError(f"cannot read state file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise StateFileError(f"{path} is too large to be a trustee state file")
    return data


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's header (everything but the ciphertext), readable without the passphrase."""
    path = os.fspath(path)
    header = _parse_header(_read(path), path)
    return {key: value for key, value in header.items() if key != "ciphertext"}


def is_demo(path: str | os.PathLike[str]) -> bool:
    """Whether the file carries the ``"demo": true`` marker."""
    return read_header(path).get("demo") is True


def kdf_params(header: dict[str, Any]) -> KdfParams:
    """The Argon2id cost recorded in a header (from :func:`read_header`)."""
    kdf = header["kdf"]
    params = KdfParams(memory_cost=kdf["memory_cost"], iterations=kdf["iterations"], lanes=kdf["lanes"])
    params.check()
    return params


def load_state(path: str | os.PathLike[str], passphrase: str) -> dict[str, Any]:
    """Decrypt and return the state; :class:`StateFileError` on a wrong passphrase or any damage."""
    path = os.fspath(path)
    header = _parse_header(_read(path), path)
    params = kdf_params(header)
    salt = _hex(header["kdf"]["salt"], "kdf.salt")
    if not 16 <= len(salt) <= 64:
        raise StateFileError(f"{path}: the salt must be 16 to 64 bytes")
    nonce = _hex(header["nonce"], "nonce", NONCE_BYTES)
    ciphertext = _hex(header["ciphertext"], "ciphertext")
    secret = _passphrase_bytes(passphrase)
    try:
        associated = _associated(header)
    except EncodingError:
        raise StateFileError(f"{path}: wrong passphrase or corrupted file") from None
    try:
        plaintext = AESGCM(_derive(secret, salt, params)).decrypt(nonce, ciphertext, associated)
    except (InvalidTag, ValueError):
        raise StateFileError(f"{path}: wrong passphrase or corrupted file") from None
    try:
        state = parse_json(plaintext)
    except EncodingError:
        raise StateFileError(f"{path}: corrupted file (the decrypted state is not JSON)") from None
    if not isinstance(state, dict):
        raise StateFileError(f"{path}: corrupted file (the decrypted state is not an object)")
    return state
