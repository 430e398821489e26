"""The clerk's meeting setup wizard: meeting data, roster (preview, then import), credentials,
votes for the five kinds, the trustees' ceremony and sealing, and seat pairing codes.

Every change goes through the service functions of :mod:`tally.services.meetings` (and
:func:`tally.services.pairing.create_codes`), exactly as the CLI and the staff API do; these pages only
collect input, show previews and report the service's answer. Nothing here writes to the log
except through them.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import re
from typing import Any

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ballot.errors import PiaojueError
from ballot.hashing import parse_json
from keys.errors import RosterError
from keys.roster import parse_roster_bytes
from tally.errors import APIError
from tally.services import ceremony as relay  # this module's view ceremony() is the page
from tally.services import meetings, pairing
from tally.store import db
from tally.store.models import Credential, Deputy, Meeting, Vote
from tally.web import staff_blueprint, wants_json
from tally.web.forms import (
    THRESHOLDS,
    ActionForm,
    CredentialsForm,
    MeetingForm,
    PairingForm,
    RosterConfirmForm,
    RosterUploadForm,
    VoteForm,
)
from tally.web.logins import actor, roles_required
from tally.web.vote_forms import KIND_NAMES, KINDS, LIST_HELP, RULE, parse_entries, template_params

bp = staff_blueprint("staff_setup", __name__)
ROSTER_PREVIEW_ROWS = 5000


def _meeting(meeting_id: str) -> Meeting:
    return meetings.get_meeting(meeting_id)


def _counts(meeting_id: str) -> dict[str, Any]:
    session = db.session()
    roster = session.scalar(select(func.count()).select_from(Deputy).where(Deputy.meeting_id == meeting_id)) or 0
    states = dict(
        session.execute(
            select(Credential.state, func.count()).where(Credential.meeting_id == meeting_id).group_by(Credential.state)
        ).all()
    )
    votes = session.scalar(select(func.count()).select_from(Vote).where(Vote.meeting_id == meeting_id)) or 0
    trustees = relay.ceremony_status(meeting_id)
    return {
        "roster": roster,
        "credentials": states.get("pending", 0) + states.get("registered", 0),
        "revoked": states.get("revoked", 0),
        "votes": votes,
        "confirmed": sum(1 for t in trustees if t["announced"] and t["confirmed"]),
        "trustees": len(trustees),
        "complaints": sum(1 for t in trustees if t["complaint"]),
    }


# ------------------------------------------------------------------ 1. meeting data


@bp.route("/meetings/new", methods=["GET", "POST"])
@roles_required("clerk")
def new_meeting():
    form = MeetingForm()
    if request.method == "GET":
        form.quorum.data = "two_thirds"
        form.threshold.data = 3
    error = None
    if form.validate_on_submit():
        names = [line.strip() for line in (form.trustees.data or "").splitlines() if line.strip()]
        try:
            meeting = meetings.create_meeting(
                (form.meeting_id.data or "").strip(), form.title.data or "", form.body.data or "",
                form.members.data, form.quorum.data, names, form.threshold.data, actor=actor(),
            )
        except APIError as exc:
            db.session().rollback()
            error = exc
        else:
            flash(_("Meeting %(id)s created. Next: import the roster.", id=meeting.id), "success")
            return redirect(url_for("staff_setup.overview", meeting_id=meeting.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/setup/meeting_form.html", form=form, error=error), status


@bp.get("/meetings/<meeting_id>/setup")
@roles_required("clerk")
def overview(meeting_id: str):
    meeting = _meeting(meeting_id)
    return render_template("staff/setup/overview.html", meeting=meeting, counts=_counts(meeting_id))


# ------------------------------------------------------------------ 2. roster: preview, then import


def _problem_rows(problems: list[tuple[int | None, str]]) -> list[dict[str, Any]]:
    return [{"row": row, "message": message} for row, message in sorted(problems, key=lambda p: (p[0] or 0))]


def _current_roster(meeting_id: str, limit: int | None = None) -> list[Deputy]:
    query = select(Deputy).where(Deputy.meeting_id == meeting_id).order_by(Deputy.id)
    if limit:
        query = query.limit(limit)
    return list(db.session().scalars(query))


@bp.route("/meetings/<meeting_id>/setup/roster", methods=["GET", "POST"])
@roles_required("clerk")
def roster(meeting_id: str):
    """Upload → preview (with every problem by row); nothing is imported until the clerk confirms."""
    meeting = _meeting(meeting_id)
    form = RosterUploadForm()
    context: dict[str, Any] = {"meeting": meeting, "form": form, "counts": _counts(meeting_id),
                               "current": _current_roster(meeting_id, 20)}
    if request.method == "GET":
        return render_template("staff/setup/roster.html", **context)
    if not form.validate_on_submit():
        return render_template("staff/setup/roster.html", **context), 400
    upload = form.file.data
    data = upload.read()
    filename = (upload.filename or "roster.csv").replace("/", "_").replace("\\", "_")[-120:]
    context["filename"] = filename
    if meeting.state != "setup":
        context["error"] = _("The meeting is sealed: its roster can no longer change.")
        return render_template("staff/setup/roster.html", **context), 409
    try:
        entries = parse_roster_bytes(data, filename=filename)
    except RosterError as exc:
        context["problems"] = _problem_rows(exc.problems)
        return render_template("staff/setup/roster.html", **context), 422
    confirm = RosterConfirmForm(formdata=None)
    confirm.payload.data = base64.b64encode(data).decode()
    confirm.filename.data = filename
    confirm.digest.data = hashlib.sha256(data).hexdigest()
    groups: dict[str, int] = {}
    for entry in entries:
        groups[entry.group or "—"] = groups.get(entry.group or "—", 0) + 1
    context.update(entries=entries[:ROSTER_PREVIEW_ROWS], total=len(entries), confirm=confirm, groups=groups,
                   too_many=len(entries) > meeting.members)
    return render_template("staff/setup/roster.html", **context)


@bp.post("/meetings/<meeting_id>/setup/roster/confirm")
@roles_required("clerk")
def roster_confirm(meeting_id: str):
    _meeting(meeting_id)
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(form.payload.data or "", validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    if hashlib.sha256(data).hexdigest() != form.digest.data:
        abort(400, description=_("The confirmed file differs from the previewed one; upload it again."))
    try:
        deputies = meetings.import_roster(meeting_id, data, form.filename.data or "roster.csv", actor=actor())
    except APIError as exc:
        db.session().rollback()
        flash(exc.message, "error")
        return redirect(url_for("staff_setup.roster", meeting_id=meeting_id))
    flash(_("Imported %(n)d deputies.", n=len(deputies)), "success")
    return redirect(url_for("staff_setup.roster", meeting_id=meeting_id))


@bp.get("/meetings/<meeting_id>/setup/roster.csv")
@roles_required("clerk")
def roster_csv(meeting_id: str):
    """The imported roster (UTF-8 with BOM) for the offline card tool, so that it prints the same seats."""
    _meeting(meeting_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["座位号", "姓名", "代表团"])
    for deputy in _current_roster(meeting_id):
        writer.writerow([deputy.seat, deputy.name, deputy.group or ""])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{meeting_id}-roster.csv"'})


# ------------------------------------------------------------------ 3. credentials


@bp.route("/meetings/<meeting_id>/setup/credentials", methods=["GET", "POST"])
@roles_required("clerk")
def credentials(meeting_id: str):
    meeting = _meeting(meeting_id)
    form = CredentialsForm()
    error = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                body = parse_json(form.file.data.read(), where="creds.json")
            except PiaojueError as exc:
                error = _("This is not a creds.json file: %(problem)s", problem=str(exc))
            else:
                if not isinstance(body, dict) or body.get("meeting_id") != meeting_id:
                    error = _("This creds.json is not for meeting %(id)s.", id=meeting_id)
                else:
                    try:
                        count = meetings.register_credentials(meeting_id, body.get("credentials"), actor=actor())
                    except APIError as exc:
                        db.session().rollback()
                        error = exc.message
                    else:
                        flash(_("Registered %(n)d credentials.", n=count), "success")
                        return redirect(url_for("staff_setup.credentials", meeting_id=meeting_id))
    return render_template("staff/setup/credentials.html", meeting=meeting, form=form, error=error,
                           counts=_counts(meeting_id)), status


# ------------------------------------------------------------------ 4. votes


def _votes(meeting_id: str) -> list[Vote]:
    return list(db.session().scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.position)))


def _next_vote_id(meeting_id: str) -> str:
    taken = {v.vote_id for v in _votes(meeting_id)}
    n = len(taken) + 1
    while f"v{n}" in taken:
        n += 1
    return f"v{n}"


@bp.get("/meetings/<meeting_id>/setup/votes")
@roles_required("clerk")
def votes(meeting_id: str):
    meeting = _meeting(meeting_id)
    return render_template("staff/setup/votes.html", meeting=meeting, votes=_votes(meeting_id), kinds=KINDS,
                           kind_names=KIND_NAMES)


@bp.route("/meetings/<meeting_id>/setup/votes/new/<kind>", methods=["GET", "POST"])
@roles_required("clerk")
def new_vote(meeting_id: str, kind: str):
    if kind not in KINDS:
        abort(404)
    meeting = _meeting(meeting_id)
    form = VoteForm()
    rule = RULE[kind]
    if rule in THRESHOLDS:
        form.threshold.choices = THRESHOLDS[rule]
    if request.method == "GET":
        form.vote_id.data = _next_vote_id(meeting_id)
        form.threshold.data = "half"
        form.base.data = "cast" if kind == "evaluation" else "members"
        form.recast.data = kind == "evaluation"
        if kind in ("selection", "election"):
            form.seats.data = 1
    context: dict[str, Any] = {"meeting": meeting, "form": form, "kind": kind, "kind_title": KIND_NAMES[kind],
                               "list_help": LIST_HELP.get(kind), "rule": rule}
    if request.method == "GET":
        return render_template("staff/setup/vote_form.html", **context)
    if not form.validate_on_submit():
        return render_template("staff/setup/vote_form.html", **context), 400
    if rule in THRESHOLDS and form.threshold.data not in {c.value for c in THRESHOLDS[rule]}:
        abort(400)
    if kind in ("selection", "election") and not form.seats.data:
        form.seats.errors = [_("How many are to be chosen?")]
        return render_template("staff/setup/vote_form.html", **context), 400
    entries, problems = parse_entries(kind, form.lines.data or "")
    if problems:
        context["problems"] = problems
        return render_template("staff/setup/vote_form.html", **context), 422
    try:
        entry = meetings.vote_from_template(kind, template_params(kind, form, entries))
        if "save" not in request.form:
            context["preview"] = entry
            return render_template("staff/setup/vote_form.html", **context)
        vote = meetings.define_vote(meeting_id, entry, actor=actor())
    except APIError as exc:
        db.session().rollback()
        context["error"] = exc
        return render_template("staff/setup/vote_form.html", **context), exc.status if exc.status != 400 else 422
    flash(_("Vote %(id)s added to the agenda.", id=vote.vote_id), "success")
    return redirect(url_for("staff_setup.votes", meeting_id=meeting_id))


# ------------------------------------------------------------------ 5. the trustees' ceremony, sealing


def _ceremony(meeting: Meeting) -> dict[str, Any]:
    status = relay.ceremony_status(meeting.id)
    complete = bool(status) and all(t["announced"] and t["confirmed"] for t in status)
    return {"meeting_id": meeting.id, "state": meeting.state, "threshold": meeting.threshold,
            "trustees": status, "complete": complete}


@bp.get("/meetings/<meeting_id>/setup/ceremony")
@roles_required("clerk", "presidium", "trustee")
def ceremony(meeting_id: str):
    meeting = _meeting(meeting_id)
    return render_template("staff/setup/ceremony.html", meeting=meeting, ceremony=_ceremony(meeting),
                           seal_form=ActionForm(), public_url=_public_base())


@bp.get("/meetings/<meeting_id>/setup/ceremony.json")
@roles_required("clerk", "presidium", "trustee")
def ceremony_json(meeting_id: str):
    return jsonify(_ceremony(_meeting(meeting_id)))


@bp.post("/meetings/<meeting_id>/setup/seal")
@roles_required("clerk")
def seal(meeting_id: str):
    """Seal from the form, or from JavaScript (JSON with the X-CSRFToken header)."""
    _meeting(meeting_id)
    if not wants_json() and not ActionForm().validate_on_submit():
        abort(400)
    try:
        entry = meetings.seal(meeting_id, actor=actor())
    except APIError as exc:
        if wants_json():
            raise
        flash(exc.message, "error")
        return redirect(url_for("staff_setup.ceremony", meeting_id=meeting_id))
    if wants_json():
        return jsonify({"meeting_id": meeting_id, "state": "sealed", "public_key": entry["public_key"]})
    flash(_("The meeting is sealed: its log has started."), "success")
    return redirect(url_for("staff_setup.ceremony", meeting_id=meeting_id))


# ------------------------------------------------------------------ 6. seat pairing codes


def _public_base() -> str:
    configured = current_app.config.get("PUBLIC_URL")
    return (configured or request.host_url).rstrip("/")


_SEAT_SPLIT = re.compile(r"[\s,，;；]+")


@bp.route("/meetings/<meeting_id>/setup/pairings", methods=["GET", "POST"])
@roles_required("clerk")
def pairings(meeting_id: str):
    meeting = _meeting(meeting_id)
    form = PairingForm()
    roster_size = _counts(meeting_id)["roster"]
    context: dict[str, Any] = {"meeting": meeting, "form": form, "roster_size": roster_size}
    if request.method == "GET":
        form.all_seats.data = roster_size > 0
        return render_template("staff/setup/pairings.html", **context)
    if not form.validate_on_submit():
        return render_template("staff/setup/pairings.html", **context), 400
    if form.all_seats.data:
        seats = [d.seat for d in _current_roster(meeting_id)]
    else:
        seats = list(dict.fromkeys(s for s in _SEAT_SPLIT.split(form.seats.data or "") if s))
    if not seats:
        context["error"] = _("Name at least one seat.")
        return render_template("staff/setup/pairings.html", **context), 400
    try:
        codes = pairing.create_codes(meeting_id, seats, actor=actor())
    except APIError as exc:
        db.session().rollback()
        context["error"] = exc.message
        return render_template("staff/setup/pairings.html", **context), exc.status
    names = {d.seat: d.name for d in _current_roster(meeting_id)}
    base = _public_base()
    rows = [{"seat": c["seat"], "name": names.get(c["seat"], ""), "code": c["code"],
             "url": base + url_for("kiosk.kiosk_pair_page", code=c["code"])} for c in codes]
    return render_template("staff/setup/pairing_codes.html", meeting=meeting, rows=rows)
