"""The audit trail, rendered: a meeting's staff actions (the data of
``GET /api/staff/meetings/<mid>/audit``), and the account events (sign-ins, failed sign-ins,
lockouts, account changes), which belong to no meeting."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from tally.services import meetings
from tally.store import db
from tally.store.models import AuditEvent
from tally.web import staff_blueprint
from tally.web.logins import roles_required

bp = staff_blueprint("staff_audit", __name__)
PAGE = 500


def _page(query):
    """Newest first, ``PAGE`` at a time; ``?before=ID`` continues."""
    before = request.args.get("before", "")
    if before.isdigit() and len(before) < 16:
        query = query.where(AuditEvent.id < int(before))
    action = request.args.get("action", "").strip()
    if action:
        query = query.where(AuditEvent.action.startswith(action[:64], autoescape=True))
    events = list(db.session().scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE + 1)))
    more = len(events) > PAGE
    return events[:PAGE], (events[PAGE - 1].id if more else None), action


@bp.get("/meetings/<meeting_id>/audit")
@roles_required("auditor", "clerk", "presidium")
def meeting_audit(meeting_id: str):
    meeting = meetings.get_meeting(meeting_id)
    events, older, action = _page(select(AuditEvent).where(AuditEvent.meeting_id == meeting_id))
    return render_template("staff/audit/events.html", meeting=meeting, events=events, older=older, action=action)


@bp.get("/audit/accounts")
@roles_required("auditor")
def account_audit():
    events, older, action = _page(select(AuditEvent).where(AuditEvent.meeting_id.is_(None)))
    return render_template("staff/audit/events.html", meeting=None, events=events, older=older, action=action)
