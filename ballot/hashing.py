"""Hashes and canonical JSON (SPEC §1).

``frame``, ``H256`` and ``Hq`` exactly as SPEC §1 defines them, and the canonical JSON that
every document hash is taken over.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ballot.errors import EncodingError
from ballot.group import ORDER, Point, Scalar

HashInput = bytes | str | int | Point | Scalar
MAX_SAFE_INTEGER = 2**53
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
MAX_DEPTH = 32
"""Deepest nesting of arrays and objects in a document (SPEC documents nest at most 8 deep). Deeper
text is refused as an :class:`EncodingError` instead of exhausting the interpreter's stack."""


def hex_bytes(text: object, size: int, *, where: str | None = None) -> bytes:
    """Decode a lowercase hex string of exactly ``size`` bytes (SPEC §1 "In JSON")."""
    if (
        not isinstance(text, str)
        or len(text) != 2 * size
        or any(ch not in "0123456789abcdef" for ch in text)
    ):
        raise EncodingError(f"expected {2 * size} lowercase hex characters", where=where)
    return bytes.fromhex(text)


def frame(data: bytes) -> bytes:
    """``len(x)`` as 4 bytes big-endian, then ``x`` (SPEC §1)."""
    return len(data).to_bytes(4, "big") + data


def u64be(n: int) -> bytes:
    """An integer in hash inputs: 8 bytes big-endian unsigned (SPEC §1)."""
    if not 0 <= n < 2**64:
        raise EncodingError(f"integer {n} does not fit 8 bytes unsigned")
    return n.to_bytes(8, "big")


def encode_input(x: HashInput) -> bytes:
    """A hash input as SPEC §1 lists it: points and scalars as 32 bytes, ints as 8, text as UTF-8."""
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if isinstance(x, Point):
        return x.to_bytes()
    if isinstance(x, Scalar):
        return x.to_bytes()
    if isinstance(x, bool):
        raise EncodingError("booleans are not hash inputs")
    if isinstance(x, int):
        return u64be(x)
    if isinstance(x, str):
        return x.encode("utf-8")
    raise EncodingError(f"cannot hash a {type(x).__name__}")


def _framed(tag: str, inputs: tuple[HashInput, ...]) -> bytes:
    parts = [frame(tag.encode("ascii"))]
    parts.extend(frame(encode_input(x)) for x in inputs)
    return b"".join(parts)


def h256(tag: str, *inputs: HashInput) -> bytes:
    """``H256(tag, x1, …, xn) = SHA-256(frame(tag) ‖ frame(x1) ‖ … ‖ frame(xn))`` (SPEC §1)."""
    return hashlib.sha256(_framed(tag, inputs)).digest()


def hq(tag: str, *inputs: HashInput) -> Scalar:
    """``Hq``: SHA-512 of the framed inputs, read little-endian and reduced mod ℓ (SPEC §1)."""
    digest = hashlib.sha512(_framed(tag, inputs)).digest()
    return Scalar._trusted(int.from_bytes(digest, "little") % ORDER)


def _is_document(obj: Any, depth: int = 0) -> bool:
    """The fast check: is ``obj`` made only of objects, arrays, strings, booleans, null and
    integers with ``|n| < 2^53`` (SPEC §1)? Builds no error paths; see :func:`_locate_problem`."""
    kind = type(obj)
    if kind is str or kind is bool or obj is None:
        return True
    if kind is int:
        number: int = obj
        return -MAX_SAFE_INTEGER < number < MAX_SAFE_INTEGER
    if kind is list:
        return depth < MAX_DEPTH and all(_is_document(item, depth + 1) for item in obj)
    if kind is dict:
        return depth < MAX_DEPTH and all(
            type(key) is str and _is_document(value, depth + 1) for key, value in obj.items()
        )
    return False


def _locate_problem(obj: Any, where: str, depth: int = 0) -> None:
    """Raise :class:`EncodingError` naming where in ``obj`` the first problem is (the slow path)."""
    if obj is None or isinstance(obj, (bool, str)):
        return
    if isinstance(obj, int):
        if not -MAX_SAFE_INTEGER < obj < MAX_SAFE_INTEGER:
            raise EncodingError(f"integer {obj} is outside |n| < 2^53", where=where)
        return
    if isinstance(obj, float):
        raise EncodingError("floats are not allowed in documents", where=where)
    if isinstance(obj, (list, dict)) and depth >= MAX_DEPTH:
        raise EncodingError(f"nested deeper than {MAX_DEPTH} levels", where=where)
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            _locate_problem(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise EncodingError("object keys must be strings", where=where)
            _locate_problem(value, f"{where}.{key}", depth + 1)
        return
    raise EncodingError(f"a {type(obj).__name__} is not a JSON value", where=where)


def _check_document(obj: Any, where: str) -> None:
    if not _is_document(obj):
        _locate_problem(obj, where)
        raise EncodingError("not a JSON document", where=where)  # a subclass of a JSON type


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON: ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    as UTF-8 (SPEC §1). Rejects floats and integers with ``|n| ≥ 2^53``."""
    _check_document(obj, "$")
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodingError("text contains a lone surrogate, which is not UTF-8") from None


def parse_json(data: bytes | str, *, where: str = "$") -> Any:
    """Parse JSON text for a document: strict UTF-8 (no BOM, no encoded or escaped lone
    surrogates: SPEC §1 text is UTF-8), no floats, NaN or Infinity, no duplicate keys."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise EncodingError(f"duplicate key {key!r}", where=where)
            out[key] = value
        return out

    def no_float(text: str) -> Any:
        raise EncodingError(f"floats are not allowed in documents ({text})", where=where)

    try:
        # json.loads would decode bytes as UTF-16/32 or UTF-8 with a BOM, and let surrogates
        # encoded in UTF-8 through ("surrogatepass"): decode strictly instead.
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        obj = json.loads(
            text,
            object_pairs_hook=no_duplicates,
            parse_float=no_float,
            parse_constant=no_float,
        )
    except EncodingError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise EncodingError(f"not valid JSON: {exc}", where=where) from None
    _check_document(obj, where)
    if _SURROGATE_ESCAPE.search(text):
        try:  # only when an escape could be a lone surrogate ("\\ud83d\\ude00" is one character)
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise EncodingError("text contains a lone surrogate, which is not UTF-8", where=where) from None
    return obj
