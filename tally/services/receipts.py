"""§8 receipts for logged ballots: at the STH signed when the ballot was appended (the receipt
the kiosk got), or against the latest STH (``GET …/receipts/<ballot_hash>``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ballot.ballot import display_tracker
from ballot.receipt import make_receipt
from tally.errors import not_found
from tally.store import db, logstore
from tally.store.models import CastBallot, TreeHead


def receipt_for(meeting_id: str, row: CastBallot, head: TreeHead) -> dict[str, Any]:
    with logstore.reading(meeting_id) as tree:
        inclusion = tree.inclusion_proof(row.leaf_index, head.tree_size)
    return make_receipt(
        meeting_id, row.vote_id, row.ballot_hash, display_tracker(row.ballot_hash), row.leaf_index,
        logstore.sth_json(head), inclusion,
    )


def find_ballot(meeting_id: str, digest: bytes) -> CastBallot | None:
    return db.session().scalar(
        select(CastBallot).where(CastBallot.meeting_id == meeting_id, CastBallot.ballot_hash == digest)
    )


def original_receipt(meeting_id: str, row: CastBallot) -> dict[str, Any]:
    head = db.session().get(TreeHead, row.tree_head_id)
    assert head is not None
    return receipt_for(meeting_id, row, head)


def latest_receipt(meeting_id: str, digest: bytes) -> dict[str, Any]:
    row = find_ballot(meeting_id, digest)
    if row is None:
        raise not_found("a ballot with that hash")
    head = logstore.latest_tree_head(db.session(), meeting_id)
    assert head is not None
    return receipt_for(meeting_id, row, head)
