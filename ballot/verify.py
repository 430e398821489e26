"""``python -m ballot.verify RECORD [--receipt FILE]``: the auditor's verifier (SPEC §8).

RECORD is a record directory or zip. The verifier prints a per-check report (what it checked,
how many, and the first failure with its entry index) and exits 0 only if every check passes:
1 if a check failed, 2 if the record or receipt cannot be read at all. It needs nothing but
``ballot/`` and its two libraries (pysodium, cryptography).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ballot.audit import check_receipt, verify_record
from ballot.errors import EncodingError, RecordError
from ballot.hashing import parse_json
from ballot.record import read_record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ballot.verify", description="Verify a Piaojue election record (SPEC §8)."
    )
    parser.add_argument("record", help="record directory or .zip file")
    parser.add_argument("--receipt", type=Path, help="also check this §8 receipt (JSON file)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        record = read_record(args.record)
        receipt = parse_json(args.receipt.read_bytes(), where=str(args.receipt)) if args.receipt else None
    except (RecordError, EncodingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    report = verify_record(record)
    if args.receipt:
        check_receipt(record, report, receipt)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "meeting_id": report.meeting_id,
                    "entries": report.entries,
                    "checks": {
                        name: {
                            "checked": check.checked,
                            "failures": check.failures,
                            "first_failure": str(check.first_failure) if check.first_failure else None,
                        }
                        for name, check in report.checks.items()
                    },
                    "votes": report.votes,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(report.format())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
