"""The record verifier against random tampering (issue #6 "Bad input", SPEC §8): the random
complement of tests/test_audit.py's one tamper per check.

A real record zip from the tally service is tampered with at random (bytes and hex digits of log
lines, JSON values, lines swapped, moved, dropped, duplicated or added, the log cut, the STH and
published STHs changed or broken, files missing, the zip's own bytes flipped or cut): since nobody
can re-sign its tree head, ``python -m ballot.verify`` must exit 1 naming the failed checks, or 2
when the record cannot be read, and never raise (it may exit 0 only when what it reads is the
original, e.g. a changed zip timestamp). A simulated record, whose log key is known, is tampered
with at the level of entries and correctly re-signed: the verifier must never raise, and must fail
whenever what was counted changed. The untouched record passes. See tests/stress/_fuzz_record.py;
``python -m tests.stress.fuzz`` runs the same classes with a larger budget.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from ballot.audit import verify_record
from tests.stress._fuzz_record import (
    RecordJudge,
    _encode,
    resigned_tampering,
    service_record,
    signed_record,
    simulated_record,
    tampered_zip,
)


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    data = service_record(tmp_path_factory.mktemp("service-record"))
    judge = RecordJudge(data, strict=True)
    yield judge
    for name, stats in judge.stats.items():
        print(
            f"\n{name}: {stats.tried} records, exits {dict(stats.exits)}, failed checks "
            f"{dict(stats.failed_checks.most_common())}"
        )


@pytest.fixture(scope="module")
def simulated():
    return simulated_record()


def _examples(share: float) -> int:
    return max(8, round(settings.default.max_examples * share))


def test_untouched_records_pass(judge, simulated, tmp_path):
    assert judge.verify_zip("untouched", judge.original_zip, cls="untouched") == 0
    report = verify_record(signed_record([_encode(e) for e in simulated.entries], simulated.log_key))
    assert report.ok, report.format()
    # The same through the real command line.
    path = tmp_path / "record.zip"
    path.write_bytes(judge.original_zip)
    done = subprocess.run(
        [sys.executable, "-m", "ballot.verify", str(path)], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stdout[-500:]


def test_tampered_service_record_zip(judge, record_property):
    @settings(
        max_examples=_examples(0.5),
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        derandomize=settings.default.derandomize,
    )
    @given(tampered_zip(judge.original_zip))
    def each(tampered):
        judge.verify_zip(*tampered)

    each()
    stats = judge.stats["record_zip"]
    record_property("records", stats.tried)
    print(f"record_zip: {stats.tried} tampered records, exits {dict(stats.exits)}")
    assert stats.uncaught == 0 and not stats.violations
    assert stats.exits[1] > 0 and stats.tried >= _examples(0.5) // 2


def test_tampered_and_resigned_simulated_record(judge, simulated, record_property):
    @settings(
        max_examples=_examples(0.34),
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        derandomize=settings.default.derandomize,
    )
    @given(resigned_tampering(simulated))
    def each(tampered):
        judge.verify_resigned(*tampered)

    each()
    stats = judge.stats["record_resigned"]
    record_property("records", stats.tried)
    print(f"record_resigned: {stats.tried} tampered records, exits {dict(stats.exits)}")
    assert stats.uncaught == 0 and not stats.violations


def test_command_line_exit_codes(judge, tmp_path):
    """``python -m ballot.verify`` itself: 1 for a tampered log line, 2 for an unreadable zip, and
    2 (not a traceback) for a zip whose compressed data is corrupt (found by this fuzzing)."""
    import io
    import zipfile

    from ballot.record import zip_bytes

    with zipfile.ZipFile(io.BytesIO(judge.original_zip)) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    lines = files["log.jsonl"].split(b"\n")
    lines[3] = lines[3].replace(b'"', b"'", 1)
    cases = {
        "tampered.zip": (zip_bytes({**files, "log.jsonl": b"\n".join(lines)}), 1),
        "garbage.zip": (b"PK\x03\x04 not a zip", 2),
    }
    # Corrupt deflate data inside an otherwise well-formed zip: zlib.error was uncaught.
    raw = bytearray(judge.original_zip)
    header = raw.index(b"PK\x03\x04")
    start = (
        header
        + 30
        + int.from_bytes(raw[header + 26 : header + 28], "little")
        + int.from_bytes(raw[header + 28 : header + 30], "little")
    )
    raw[start : start + 8] = b"\xff" * 8
    cases["corrupt-deflate.zip"] = (bytes(raw), 2)
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-m", "ballot.verify", str(path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == expected, (name, done.stdout[-500:], done.stderr[-500:])
        assert "Traceback" not in done.stderr, done.stderr


def test_lone_surrogate_line_is_a_format_failure(simulated):
    """A log line that is JSON but not UTF-8 text (a lone surrogate escape) is a record_format
    failure, not an uncaught EncodingError (found by this fuzzing)."""
    lines = [_encode(e) for e in simulated.entries]
    lines.insert(3, b'{"type":"ballot","x":"\\ud800"}')
    report = verify_record(signed_record(lines, simulated.log_key))
    assert not report.ok and report.checks["record_format"].first_failure.index == 3


def test_entry_with_a_list_for_vote_id_is_a_failure(simulated):
    """An ``open`` (or ballot, spoiled, close, share, result) entry whose ``vote_id`` is a list made
    the verifier raise TypeError (unhashable) instead of failing a check (found by this fuzzing)."""
    entries = [dict(e) for e in simulated.entries]
    opened = next(i for i, e in enumerate(entries) if e["type"] == "open")
    entries[opened]["vote_id"] = ["v1"]
    report = verify_record(signed_record([_encode(e) for e in entries], simulated.log_key))
    assert not report.ok and report.checks["vote_lifecycle"].first_failure.index == opened
