"""The election record of a meeting (SPEC §8): ``log.jsonl`` exactly as logged, the latest STH
(``sth.json``), and every STH the service ever signed (``sths.jsonl``)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from ballot.hashing import canonical_json
from ballot.record import LOG_NAME, STH_NAME, STHS_NAME, zip_bytes
from tally.store import db, logstore
from tally.store.models import LogEntry, TreeHead


def record_files(meeting_id: str) -> dict[str, bytes]:
    session = db.new_session()
    try:
        # One read transaction: the STH and the entries it covers are a consistent snapshot.
        head = logstore.latest_tree_head(session, meeting_id)
        assert head is not None, "a sealed meeting always has a tree head"
        lines = session.scalars(
            select(LogEntry.data)
            .where(LogEntry.meeting_id == meeting_id, LogEntry.idx < head.tree_size)
            .order_by(LogEntry.idx)
        )
        log = b"".join(line + b"\n" for line in lines)
        heads = session.scalars(
            select(TreeHead).where(TreeHead.meeting_id == meeting_id, TreeHead.id <= head.id).order_by(TreeHead.id)
        )
        sths = b"".join(canonical_json(logstore.sth_json(h)) + b"\n" for h in heads)
        sth = json.dumps(logstore.sth_json(head), indent=2).encode() + b"\n"
    finally:
        session.close()
    return {LOG_NAME: log, STH_NAME: sth, STHS_NAME: sths}


def record_zip(meeting_id: str) -> bytes:
    return zip_bytes(record_files(meeting_id))


def write_record_zip(meeting_id: str, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(record_zip(meeting_id))
    return target
