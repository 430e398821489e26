"""The conformance vectors (conformance/README.md) against the reference verifier.

Every valid record passes ``ballot.audit.verify_record`` (and its receipt ``check_receipt``);
every invalid one fails with the labelled check among the failures and, where the manifest gives
an entry index, that check's first failure at that entry. A record that ``ballot.record`` cannot
read at all counts as a ``record_format`` failure (``python -m ballot.verify`` exits 2).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ballot.audit import CHECKS, check_receipt, verify_record
from ballot.errors import RecordError
from ballot.hashing import parse_json
from ballot.record import read_record

ROOT = Path(__file__).resolve().parent.parent / "conformance"
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
VECTORS = MANIFEST["vectors"]
CHECK_NAMES = [name for name, _ in CHECKS] + ["receipt"]
FIELDS = {"id", "file", "result", "check", "rule", "entry", "comment"}
OPTIONAL = {"receipt", "passes", "failures", "known_bug"}


def _run(item):
    """The failed checks and each one's first failure index."""
    try:
        record = read_record(ROOT / item["file"])
    except RecordError:
        return ["record_format"], {"record_format": None}
    report = verify_record(record)
    if "receipt" in item:
        check_receipt(record, report, parse_json((ROOT / item["receipt"]).read_bytes()))
    failed = report.failed()
    return failed, {name: report.checks[name].first_failure.index for name in failed}


def _param(item):
    marks = []
    if item.get("known_bug"):  # a forged record the reference verifier accepts: reported, not yet fixed
        marks.append(pytest.mark.xfail(strict=True, reason=item["known_bug"]))
    return pytest.param(item, id=item["id"], marks=marks)


@pytest.mark.parametrize("item", [_param(v) for v in VECTORS if v["result"] == "valid"])
def test_valid_vector_passes(item):
    failed, first = _run(item)
    assert failed == [], f"{item['id']}: {failed} {first}"


@pytest.mark.parametrize("item", [_param(v) for v in VECTORS if v["result"] == "invalid"])
def test_invalid_vector_fails_as_labelled(item):
    failed, first = _run(item)
    assert item["check"] in failed, f"{item['id']}: expected {item['check']} to fail; failed {failed}"
    if item["entry"] is not None:
        assert first[item["check"]] == item["entry"], f"{item['id']}: first failure at {first[item['check']]}"
    for name in item.get("passes", []):
        assert name not in failed, f"{item['id']}: {name} must pass"


def test_manifest_shape():
    assert MANIFEST["checks"] == CHECK_NAMES
    ids = [v["id"] for v in VECTORS]
    assert len(ids) == len(set(ids))
    for item in VECTORS:
        assert FIELDS <= set(item) <= FIELDS | OPTIONAL, item["id"]
        assert item["result"] in ("valid", "invalid")
        assert (item["check"] is None) == (item["result"] == "valid"), item["id"]
        assert item["check"] is None or item["check"] in CHECK_NAMES, item["id"]
        assert item["entry"] is None or (isinstance(item["entry"], int) and item["entry"] >= 0)
        assert item["rule"].startswith("§") and item["comment"], item["id"]
        assert (ROOT / item["file"]).exists(), item["file"]
        assert ("receipt" in item) == (item["check"] == "receipt" or item["id"].startswith("receipt/")), item["id"]
        if "receipt" in item:
            assert (ROOT / item["receipt"]).is_file()


def test_every_check_has_an_invalid_vector():
    labelled = {v["check"] for v in VECTORS if v["result"] == "invalid"}
    assert set(CHECK_NAMES) <= labelled, sorted(set(CHECK_NAMES) - labelled)


def test_every_rule_of_8_1_is_cited():
    cited = {int(n) for v in VECTORS for n in re.findall(r"V(\d+)", v["rule"])}
    assert set(range(1, 41)) <= cited, sorted(set(range(1, 41)) - cited)


def test_rev2_cases_are_present():
    ids = {v["id"] for v in VECTORS}
    for wanted in (
        "ballots/challenged-then-cast",  # spoiled, then the same ballot cast
        "ballots/challenged-cast-under-recast",
        "spoiled/cast-then-spoiled",  # cast, then the same ballot spoiled
        "ballots/registered-after-open",  # credentials fixed at open
        "ballots/replacement-card-votes",
        "ballots/replay-after-recast",
        "vote_lifecycle/present-above-active",
        "valid/zip-in-folder",
        "valid/full",
    ):
        assert wanted in ids, wanted
    assert any(v["file"].endswith(".zip") and v["result"] == "invalid" for v in VECTORS)


def test_folder_stays_small():
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 5 * 1024 * 1024, total
