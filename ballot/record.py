"""The election record (SPEC §8): reading and writing it as a directory or a zip file.

A record holds ``log.jsonl`` (entry ``i`` on line ``i``, exactly the bytes ``d_i`` then
``\\n``), ``sth.json`` (the latest STH) and optionally ``sths.jsonl`` (every STH published).
Verification lives in :mod:`ballot.audit`; this module only reads and writes bytes.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ballot.errors import EncodingError, RecordError
from ballot.hashing import canonical_json, parse_json

LOG_NAME = "log.jsonl"
STH_NAME = "sth.json"
STHS_NAME = "sths.jsonl"
MAX_MEMBER_BYTES = 4 * 1024**3
"""A zip member larger than this is refused before it is read (zip-bomb guard)."""


@dataclass(slots=True)
class Record:
    """A record's raw lines and parsed documents. ``lines[i]`` is ``d_i`` exactly."""

    lines: list[bytes]
    sth: dict[str, Any]
    sths: list[dict[str, Any]] | None = None
    entries: list[Any] = field(default_factory=list)
    """``entries[i]`` is the JSON object of line ``i``, or the :class:`EncodingError` raised
    parsing it (the audit reports it against the entry's index)."""


def _split_log(data: bytes) -> list[bytes]:
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise RecordError(f"{LOG_NAME} must end with a newline after the last entry")
    return data[:-1].split(b"\n")


def _parse_lines(lines: list[bytes]) -> list[Any]:
    entries: list[Any] = []
    for i, line in enumerate(lines):
        try:
            entries.append(parse_json(line, where=f"entry {i}"))
        except EncodingError as exc:
            entries.append(exc)
    return entries


def _parse_document(data: bytes, name: str) -> Any:
    try:
        return parse_json(data, where=name)
    except EncodingError as exc:
        raise RecordError(exc.message, where=name) from None


def _parse_sths(data: bytes | None) -> list[dict[str, Any]] | None:
    if data is None:
        return None
    return [_parse_document(line, f"{STHS_NAME} line {i + 1}") for i, line in enumerate(_split_log(data))]


def _read_zip(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            members: dict[str, bytes] = {}
            for info in archive.infolist():
                name = info.filename.rsplit("/", 1)[-1]
                if name not in (LOG_NAME, STH_NAME, STHS_NAME) or info.is_dir():
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise RecordError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
                if name in members:
                    raise RecordError(f"the zip holds {name} twice")
                members[name] = archive.read(info)
            return members
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error, NotImplementedError, ValueError,
            struct.error) as exc:
        # zlib.error: corrupt compressed data; NotImplementedError: an unknown compression method.
        raise RecordError(f"cannot read {path} as a zip file: {exc}") from None


def _read_dir(path: Path) -> dict[str, bytes]:
    members = {}
    for name in (LOG_NAME, STH_NAME, STHS_NAME):
        candidate = path / name
        if candidate.is_file():
            try:
                members[name] = candidate.read_bytes()
            except OSError as exc:
                raise RecordError(f"cannot read {candidate}: {exc}") from None
    return members


def read_record(path: str | os.PathLike[str]) -> Record:
    """Read a record from a directory or a zip file; :class:`RecordError` if it cannot be read."""
    location = Path(path)
    if location.is_dir():
        members = _read_dir(location)
    elif location.is_file():
        members = _read_zip(location)
    else:
        raise RecordError(f"{location} is neither a directory nor a file")
    for required in (LOG_NAME, STH_NAME):
        if required not in members:
            raise RecordError(f"the record has no {required}")
    lines = _split_log(members[LOG_NAME])
    sth = _parse_document(members[STH_NAME], STH_NAME)
    if not isinstance(sth, dict):
        raise RecordError("sth.json must hold a JSON object")
    return Record(lines, sth, _parse_sths(members.get(STHS_NAME)), _parse_lines(lines))


def encode_log(entries: Iterable[dict[str, Any]]) -> bytes:
    """``log.jsonl``: the canonical JSON of each entry, each followed by ``\\n`` (SPEC §8)."""
    return b"".join(canonical_json(entry) + b"\n" for entry in entries)


def record_files(
    entries: Iterable[dict[str, Any]], sth: dict[str, Any], sths: Iterable[dict[str, Any]] | None = None
) -> dict[str, bytes]:
    files = {LOG_NAME: encode_log(entries), STH_NAME: json.dumps(sth, indent=2).encode() + b"\n"}
    if sths is not None:
        files[STHS_NAME] = b"".join(canonical_json(item) + b"\n" for item in sths)
    return files


def write_record(
    path: str | os.PathLike[str],
    entries: Iterable[dict[str, Any]],
    sth: dict[str, Any],
    sths: Iterable[dict[str, Any]] | None = None,
) -> Path:
    """Write a record as a directory, or as a zip file if ``path`` ends in ``.zip``."""
    location = Path(path)
    files = record_files(entries, sth, sths)
    if location.suffix == ".zip":
        location.parent.mkdir(parents=True, exist_ok=True)
        location.write_bytes(zip_bytes(files))
    else:
        location.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (location / name).write_bytes(data)
    return location


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
