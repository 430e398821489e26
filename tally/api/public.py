"""The public API of SPEC §11, exactly: paths, bodies and error codes. No authentication:
kiosks, trustee tools, hall displays and auditors all use it. Trustees' share posts are
self-authenticating (their §6.2 proofs are checked against ``K_l`` before anything is logged)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, jsonify
from sqlalchemy import select

from ballot.hashing import parse_json
from tally.errors import APIError
from tally.http import int_arg, json_body
from tally.live import broadcast
from tally.ops import ratelimit
from tally.services import checkin, export, intake, receipts, results
from tally.store import cache, db, logstore
from tally.store.models import LogEntry, Meeting, Vote

bp = Blueprint("public", __name__, url_prefix="/api")
MAX_ENTRIES_PER_PAGE = 1000
_HEX64 = re.compile(r"[0-9a-f]{64}")
OPENAPI = Path(__file__).with_name("openapi.json")


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this blueprint: SPEC §11 and the additions in docs/api.md."""
    return Response(OPENAPI.read_bytes(), mimetype="application/json")


@bp.get("/meetings/<meeting_id>")
def meeting(meeting_id: str):
    parsed = cache.sealed_meeting(meeting_id)
    votes = db.session().scalars(
        select(Vote).where(Vote.meeting_id == meeting_id, Vote.logged.is_(True)).order_by(Vote.position)
    )
    return jsonify(
        {
            "meeting": parsed.entry,
            "meeting_hash": parsed.hash.hex(),
            "votes": [{"vote_id": v.vote_id, "state": v.state} for v in votes],
        }
    )


@bp.get("/meetings/<meeting_id>/votes/<vote_id>")
def vote(meeting_id: str, vote_id: str):
    cache.sealed_meeting(meeting_id)
    definition = cache.vote_definition(meeting_id, vote_id)
    row = db.session().get(Vote, (meeting_id, vote_id))
    assert row is not None
    return jsonify(
        {
            "vote": definition.entry,
            "vote_hash": definition.hash.hex(),
            "state": row.state,
            "present": row.present,
            "cast": row.counted,
            "closes_at": broadcast.vote_state_payload(row)["closes_at"],
        }
    )


@bp.post("/meetings/<meeting_id>/checkin")
def check_in(meeting_id: str):
    with ratelimit.checkin_limits(meeting_id) as body:  # 429 rate_limited over a limit (docs/api.md)
        return jsonify(checkin.check_in(meeting_id, body))


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/ballots")
def post_ballot(meeting_id: str, vote_id: str):
    accepted = intake.submit_ballot(meeting_id, vote_id, json_body())
    return jsonify(accepted.receipt), 201 if accepted.created else 200


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/spoiled")
def post_spoiled(meeting_id: str, vote_id: str):
    return jsonify(intake.submit_spoiled(meeting_id, vote_id, json_body())), 201


@bp.get("/meetings/<meeting_id>/receipts/<ballot_hash>")
def receipt(meeting_id: str, ballot_hash: str):
    cache.sealed_meeting(meeting_id)
    if _HEX64.fullmatch(ballot_hash) is None:
        raise APIError("malformed", "a ballot hash is 64 lowercase hex characters")
    return jsonify(receipts.latest_receipt(meeting_id, bytes.fromhex(ballot_hash)))


@bp.get("/meetings/<meeting_id>/sth")
def sth(meeting_id: str):
    cache.sealed_meeting(meeting_id)
    head = logstore.latest_tree_head(db.session(), meeting_id)
    assert head is not None
    return jsonify(logstore.sth_json(head))


def _log_size(meeting_id: str) -> int:
    cache.sealed_meeting(meeting_id)
    size = db.session().scalar(select(Meeting.log_size).where(Meeting.id == meeting_id))
    return size or 0


@bp.get("/meetings/<meeting_id>/entries")
def entries(meeting_id: str):
    size = _log_size(meeting_id)
    start, end = int_arg("start"), int_arg("end")
    if not start <= end <= size:
        raise APIError("malformed", f"need 0 ≤ start ≤ end ≤ {size} (the log size)")
    if end - start > MAX_ENTRIES_PER_PAGE:
        raise APIError("malformed", f"at most {MAX_ENTRIES_PER_PAGE} entries per request")
    rows = db.session().scalars(
        select(LogEntry.data)
        .where(LogEntry.meeting_id == meeting_id, LogEntry.idx >= start, LogEntry.idx < end)
        .order_by(LogEntry.idx)
    )
    return jsonify({"entries": [parse_json(data) for data in rows]})


@bp.get("/meetings/<meeting_id>/proofs/inclusion")
def inclusion(meeting_id: str):
    size = _log_size(meeting_id)
    leaf_index, tree_size = int_arg("leaf_index"), int_arg("tree_size", minimum=1)
    if not leaf_index < tree_size <= size:
        raise APIError("malformed", f"need leaf_index < tree_size ≤ {size} (the log size)")
    with logstore.reading(meeting_id) as tree:
        proof = tree.inclusion_proof(leaf_index, tree_size)
    return jsonify({"inclusion": [h.hex() for h in proof]})


@bp.get("/meetings/<meeting_id>/proofs/consistency")
def consistency(meeting_id: str):
    size = _log_size(meeting_id)
    first, second = int_arg("first"), int_arg("second")
    if not first <= second <= size:
        raise APIError("malformed", f"need first ≤ second ≤ {size} (the log size)")
    with logstore.reading(meeting_id) as tree:
        proof = tree.consistency_proof(first, second)
    return jsonify({"consistency": [h.hex() for h in proof]})


@bp.get("/meetings/<meeting_id>/record.zip")
def record_zip(meeting_id: str):
    cache.sealed_meeting(meeting_id)
    data = export.record_zip(meeting_id)
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{meeting_id}-record.zip"'},
    )


# ---------------------------------------------------------------- trustees and results (docs/api.md)


@bp.get("/meetings/<meeting_id>/votes/<vote_id>/aggregates")
def aggregates(meeting_id: str, vote_id: str):
    cache.sealed_meeting(meeting_id)
    cache.vote_definition(meeting_id, vote_id)
    return jsonify(results.aggregates_json(meeting_id, vote_id))


@bp.post("/meetings/<meeting_id>/votes/<vote_id>/shares")
def post_share(meeting_id: str, vote_id: str):
    return jsonify(results.submit_share(meeting_id, vote_id, json_body())), 201


@bp.get("/meetings/<meeting_id>/votes/<vote_id>/decryption")
def decryption(meeting_id: str, vote_id: str):
    cache.vote_definition(meeting_id, vote_id)
    return jsonify(results.decryption_status(meeting_id, vote_id))


@bp.get("/meetings/<meeting_id>/votes/<vote_id>/result")
def result(meeting_id: str, vote_id: str):
    cache.sealed_meeting(meeting_id)
    cache.vote_definition(meeting_id, vote_id)
    return jsonify(results.published_result(meeting_id, vote_id))


