"""Write-in names: normalisation, validity, and the reversible encoding as two points (protocol §12.3).

* :func:`normalise` is ``norm``: NFC, trim the listed white space, collapse inner runs to one space.
* :func:`is_valid_name` / :func:`check_name`: a normal, non-empty name without control characters
  whose UTF-8 fits the 59-byte payload.
* :func:`encode_name` maps a string to ``(P_1, P_2)``: a 60-byte payload ``u8(L) ‖ UTF-8 ‖ zeros``
  in two 30-byte chunks, each placed inside a canonical ristretto255 encoding by try-and-increment
  on a counter kept in the first and last bytes. The blank (``""``) is ``(identity, identity)``.
* :func:`decode_name` reads the payload back from the two encodings (two byte reads, whatever the
  points) and raises :class:`EncodingError` for a pair that is not the encoding of a string.
"""

from __future__ import annotations

import re
import unicodedata

from ballot.errors import ChoiceError, EncodingError
from ballot.group import IDENTITY, Point, is_point_encoding

CHUNKS = 2
"""Points per name (§12.3 rule 4)."""
CHUNK_BYTES = 30
PAYLOAD_BYTES = CHUNKS * CHUNK_BYTES
MAX_NAME_BYTES = PAYLOAD_BYTES - 1
"""59: the UTF-8 length of the longest name (§12.3 rule 3)."""
COUNTERS = 256
"""Counters tried per chunk (§12.3 rule 5): ``t`` in ``[0, 256)``."""
BLANK = ""

_WHITE_SPACE = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_WHITE_RUN = re.compile(f"[{re.escape(_WHITE_SPACE)}]+")
_CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f]")


def normalise(text: str) -> str:
    """``norm(x)`` (§12.3 rule 1): NFC, then trim the white space of the rule, then replace every
    inner run of it by one U+0020."""
    if not isinstance(text, str):
        raise EncodingError("a name is a string")
    return _WHITE_RUN.sub(" ", unicodedata.normalize("NFC", text).strip(_WHITE_SPACE))


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid name (§12.3 rule 3), or ``None`` if it is one."""
    if not isinstance(name, str):
        return "not a string"
    if not name:
        return "empty"
    if _CONTROL.search(name):
        return "contains a control character"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "contains a lone surrogate"
    if size > MAX_NAME_BYTES:
        return f"{size} bytes in UTF-8, at most {MAX_NAME_BYTES}"
    if normalise(name) != name:
        return "not normalised (NFC, trimmed, single spaces)"
    return None


def is_valid_name(name: str) -> bool:
    return name_problem(name) is None


def check_name(typed: str) -> str:
    """The kiosk's side: normalise what the deputy typed and return it if it is a valid name;
    raise :class:`ChoiceError` saying why not (empty, overlong, control characters)."""
    name = normalise(typed)
    problem = name_problem(name)
    if problem is not None:
        raise ChoiceError(f"write-in name {problem}", where="writein")
    return name


def payload(text: str) -> bytes:
    """``P(x) = u8(L) ‖ UTF-8(x) ‖ 0x00^(59 − L)`` (§12.3 rule 4); any string up to 59 bytes."""
    try:
        data = text.encode("utf-8")
    except (AttributeError, UnicodeEncodeError):
        raise EncodingError("a name is a string of Unicode scalar values") from None
    if len(data) > MAX_NAME_BYTES:
        raise EncodingError(f"a name has at most {MAX_NAME_BYTES} bytes of UTF-8, this one {len(data)}")
    return bytes([len(data)]) + data + bytes(MAX_NAME_BYTES - len(data))


def chunk_to_point(chunk: bytes) -> Point:
    """The first ``E_t = u8(2·(t mod 128)) ‖ chunk ‖ u8(t div 128)`` that is a canonical encoding
    (§12.3 rule 5). Raises :class:`EncodingError` in the (≈ 2^−106) case that none of 256 is."""
    if len(chunk) != CHUNK_BYTES:
        raise EncodingError(f"a chunk is {CHUNK_BYTES} bytes")
    for t in range(COUNTERS):
        candidate = bytes([2 * (t % 128)]) + chunk + bytes([t // 128])
        if is_point_encoding(candidate):
            return Point.from_bytes(candidate)
    raise EncodingError("no counter places this chunk in a ristretto255 encoding")


def encode_name(text: str) -> tuple[Point, Point]:
    """``encode(x)`` (§12.3 rule 6): the two points of the payload's chunks. ``encode("")`` is the
    blank ``(identity, identity)``. No normalisation here: the caller encodes what it means."""
    data = payload(text)
    return chunk_to_point(data[:CHUNK_BYTES]), chunk_to_point(data[CHUNK_BYTES:])


BLANK_POINTS = (IDENTITY, IDENTITY)


def decode_name(points: tuple[Point, Point]) -> str:
    """``decode`` (§12.3 rule 7): the string (``""`` for the blank) whose payload the two points
    carry; :class:`EncodingError` if they are undecodable. The counter is not checked to be the
    least, so this is two byte reads whatever the points."""
    if len(points) != CHUNKS:
        raise EncodingError(f"a name is {CHUNKS} points")
    chunks = []
    for j, point in enumerate(points):
        encoding = point.to_bytes()
        if encoding[31] > 1:
            raise EncodingError("the last byte is not a counter byte (0 or 1)", where=f"name[{j}]")
        chunks.append(encoding[1:31])
    data = b"".join(chunks)
    length = data[0]
    if length > MAX_NAME_BYTES:
        raise EncodingError(f"length byte {length} > {MAX_NAME_BYTES}", where="name")
    if any(data[1 + length :]):
        raise EncodingError("non-zero bytes after the name", where="name")
    try:
        return data[1 : 1 + length].decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise EncodingError("the name bytes are not well-formed UTF-8", where="name") from None
