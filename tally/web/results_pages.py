"""Results (presidium, clerk, auditor): each published vote with a bar per option and its §9
outcome, and the result announcement (公告) as PDF and CSV."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Response, abort, render_template
from flask_babel import to_user_timezone
from sqlalchemy import select

from tally.services import meetings, results
from tally.store import db
from tally.store.audit_trail import record_event
from tally.store.models import LogEntry, Trustee, Vote
from tally.web import announcement, staff_blueprint
from tally.web.logins import actor, roles_required
from tally.web.outcome import ResultView, result_view

bp = staff_blueprint("staff_results", __name__)
ROLES = ("presidium", "clerk", "auditor")


def _vote(meeting_id: str, vote_id: str) -> Vote:
    vote = db.session().get(Vote, (meeting_id, vote_id))
    if vote is None:
        abort(404)
    return vote


def load_view(meeting_id: str, vote_id: str) -> ResultView:
    """The view of a published vote (409 ``not_published`` before)."""
    meeting = meetings.get_meeting(meeting_id)
    vote = _vote(meeting_id, vote_id)
    result = results.published_result(meeting_id, vote_id)
    row = db.session().execute(
        select(LogEntry.idx, LogEntry.created_at).where(
            LogEntry.meeting_id == meeting_id, LogEntry.vote_id == vote_id, LogEntry.type == "result"
        )
    ).first()
    published_at = None
    if row is not None and row.created_at is not None:
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        published_at = to_user_timezone(created)
    return result_view(meeting, vote, result, published_at=published_at, log_index=row.idx if row else None)


def _trustee_names(meeting_id: str, indices: list[int]) -> list[str]:
    rows = db.session().scalars(select(Trustee).where(Trustee.meeting_id == meeting_id).order_by(Trustee.index))
    names = {t.index: t.name for t in rows}
    return [names.get(i, str(i)) for i in indices]


@bp.get("/meetings/<meeting_id>/results")
@roles_required(*ROLES)
def index(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    votes = list(db.session().scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.position)))
    views: dict[str, Any] = {v.vote_id: load_view(meeting_id, v.vote_id) for v in votes if v.state == "published"}
    return render_template("staff/results/index.html", meeting=meeting, votes=votes, views=views)


@bp.get("/meetings/<meeting_id>/results/<vote_id>")
@roles_required(*ROLES)
def vote(meeting_id: str, vote_id: str):
    meeting = meetings.get_meeting(meeting_id)
    row = _vote(meeting_id, vote_id)
    if row.state != "published":
        # A closed vote waits for its trustees' shares: say how many are in and who is awaited.
        decryption = results.decryption_status(meeting_id, vote_id) if row.state == "closed" else None
        return render_template("staff/results/pending.html", meeting=meeting, vote=row, decryption=decryption)
    view = load_view(meeting_id, vote_id)
    return render_template("staff/results/vote.html", meeting=meeting, vote=row, view=view,
                           trustee_names=_trustee_names(meeting_id, view.trustees))


def _export(meeting_id: str, vote_id: str, fmt: str) -> ResultView:
    view = load_view(meeting_id, vote_id)
    record_event(actor(), "result.export", meeting_id, {"vote_id": vote_id, "format": fmt})
    db.session().commit()
    return view


@bp.get("/meetings/<meeting_id>/results/<vote_id>/announcement.pdf")
@roles_required(*ROLES)
def announcement_pdf(meeting_id: str, vote_id: str):
    view = _export(meeting_id, vote_id, "pdf")
    data = announcement.pdf_bytes(view, _trustee_names(meeting_id, view.trustees))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{meeting_id}-{vote_id}-announcement.pdf"'})


@bp.get("/meetings/<meeting_id>/results/<vote_id>/announcement.csv")
@roles_required(*ROLES)
def announcement_csv(meeting_id: str, vote_id: str):
    view = _export(meeting_id, vote_id, "csv")
    return Response(announcement.csv_text(view).encode("utf-8"), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{meeting_id}-{vote_id}-results.csv"'})
