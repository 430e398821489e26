"""The append-only meeting log (SPEC §7) in the database, with a Merkle tree cache per process.

All appends go through :func:`writing`, which holds the meeting's lock (tally.store.db.locked_meeting),
brings this process's cached :class:`~ballot.log.MerkleTree` up to date with the database, and
gives a :class:`LogWriter`. Entry indices are ``meeting.log_size, log_size + 1, …``: no gaps, never
shared (the primary key ``(meeting_id, idx)`` would refuse a duplicate). If the transaction fails,
the cached tree is dropped and rebuilt from the database next time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ballot.hashing import canonical_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from tally.store import db
from tally.store.logkeys import open_log_key
from tally.store.models import LogEntry, Meeting, TreeHead, utcnow

_trees: dict[tuple[str, str], MerkleTree] = {}


def clock_ms() -> int:
    """Milliseconds since the epoch for STH timestamps (tests replace it to move the clock)."""
    return int(time.time() * 1000)


_trees_guard = threading.Lock()


def _cache_key(db_session: Session, meeting_id: str) -> tuple[str, str]:
    """Trees are cached per database and meeting, so two apps in one process never share one."""
    return (str(db_session.get_bind().engine.url), meeting_id)


def _synced_tree(db_session: Session, meeting_id: str, size: int) -> MerkleTree:
    """This process's tree for the meeting, holding exactly the first ``size`` committed entries.

    The cache only ever holds committed leaves: :func:`writing` drops it when a transaction
    fails, and leaves are only added from committed rows or by a transaction that then commits.
    So a cached prefix is trusted and only the entries other processes appended are read.
    """
    key = _cache_key(db_session, meeting_id)
    tree = _trees.get(key)
    if tree is None or tree.size > size:
        tree = MerkleTree()
    if tree.size < size:
        rows = db_session.scalars(
            select(LogEntry.leaf_hash)
            .where(LogEntry.meeting_id == meeting_id, LogEntry.idx >= tree.size, LogEntry.idx < size)
            .order_by(LogEntry.idx)
        )
        tree.extend(rows)
    if tree.size != size:
        raise RuntimeError(f"log of meeting {meeting_id} has a gap: {tree.size} leaves for size {size}")
    with _trees_guard:
        _trees[key] = tree
    return tree


def forget(meeting_id: str) -> None:
    with _trees_guard:
        for key in [k for k in _trees if k[1] == meeting_id]:
            del _trees[key]


@dataclass
class LogWriter:
    """Appends entries and signs tree heads inside one locked transaction."""

    session: Session
    meeting: Meeting
    tree: MerkleTree
    _log_key: Ed25519PrivateKey | None = None
    _unsigned: bool = False
    _pending: list[dict[str, Any]] = field(default_factory=list)

    def append(self, entry: dict[str, Any]) -> int:
        return self.append_data(canonical_json(entry), entry["type"], entry.get("vote_id"))

    def append_data(self, data: bytes, entry_type: str, vote_id: str | None) -> int:
        """Append an entry already in canonical JSON (``data`` is exactly ``d_i``).

        Rows are inserted in bulk by :meth:`flush_entries` (before a tree head is signed, and at
        the end of the transaction), one statement per batch instead of one per entry.
        """
        index = self.meeting.log_size
        digest = leaf_hash(data)
        self._pending.append(
            {"meeting_id": self.meeting.id, "idx": index, "type": entry_type, "vote_id": vote_id,
             "data": data, "leaf_hash": digest, "created_at": utcnow()}
        )
        self.meeting.log_size = index + 1
        self.tree.append(digest)
        self._unsigned = True
        return index

    def flush_entries(self) -> None:
        if self._pending:
            self.session.execute(insert(LogEntry), self._pending)
            self._pending = []

    def sign_tree_head(self) -> TreeHead:
        """Sign the current tree (SPEC §7) and store the STH.

        Its timestamp is never below the meeting's previous one, even if the clock went back:
        SPEC §8.1 wants ``sths.jsonl`` in non-decreasing timestamp order, none later than the
        latest.
        """
        self.flush_entries()
        if self._log_key is None:
            self._log_key = open_log_key(self.meeting.id, self.meeting.log_private_key_sealed)
        size = self.tree.size
        timestamp = max(clock_ms(), self.meeting.sth_timestamp or 0)
        self.meeting.sth_timestamp = timestamp
        sth = sign_sth(self._log_key, size, self.tree.root(size), timestamp)
        values = {"meeting_id": self.meeting.id, "tree_size": size, "root": bytes.fromhex(sth["root"]),
                  "timestamp": sth["timestamp"], "signature": bytes.fromhex(sth["signature"])}
        head_id = self.session.execute(insert(TreeHead).returning(TreeHead.id), values).scalar_one()
        self._unsigned = False
        return TreeHead(id=head_id, **values)  # a detached copy: the row is already inserted


@contextmanager
def writing(meeting_id: str) -> Iterator[LogWriter]:
    """Lock the meeting and yield a :class:`LogWriter`; commit when the block succeeds.

    If the block appended entries after its last signed tree head, one is signed before commit,
    so the latest STH always covers the whole log.
    """
    try:
        with db.locked_meeting(meeting_id) as (db_session, meeting):
            tree = _synced_tree(db_session, meeting_id, meeting.log_size)
            writer = LogWriter(db_session, meeting, tree)
            yield writer
            if writer._unsigned:  # every committed log state has a signed tree head
                writer.sign_tree_head()
            writer.flush_entries()
    except BaseException:
        forget(meeting_id)
        raise


@contextmanager
def reading(meeting_id: str) -> Iterator[MerkleTree]:
    """This process's tree of every committed entry, under the meeting's process lock.

    A fresh session reads the log size, so a request's older snapshot cannot shrink the cache.
    """
    with db.process_lock(meeting_id), db.new_session() as db_session:
        size = db_session.scalar(select(Meeting.log_size).where(Meeting.id == meeting_id)) or 0
        yield _synced_tree(db_session, meeting_id, size)


def sth_json(head: TreeHead) -> dict[str, Any]:
    return {
        "tree_size": head.tree_size,
        "root": head.root.hex(),
        "timestamp": head.timestamp,
        "signature": head.signature.hex(),
    }


def latest_tree_head(db_session: Session, meeting_id: str) -> TreeHead | None:
    return db_session.scalar(
        select(TreeHead).where(TreeHead.meeting_id == meeting_id).order_by(TreeHead.id.desc()).limit(1)
    )
