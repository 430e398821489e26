"""Signing in and out, the language switch, and the staff home page (the list of meetings)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from tally.store import db
from tally.store.audit_trail import record_event
from tally.store.models import Meeting
from tally.web import LANGUAGES, staff_blueprint
from tally.web.forms import ActionForm, LanguageForm, LoginForm
from tally.web.logins import StaffPrincipal, authenticate, utcnow

bp = staff_blueprint("staff_web", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (no scheme, no host, no ``//``) is followed after a form."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data, url_for("staff_web.home")))
    status = 200
    if form.validate_on_submit():
        outcome, user, until = authenticate(form.username.data or "", form.password.data or "")
        if outcome == "ok":
            assert user is not None
            session.pop("staff_seen", None)
            login_user(StaffPrincipal(user))
            session["staff_seen"] = int(utcnow().timestamp())
            return redirect(safe_next(form.next.data, url_for("staff_web.home")))
        if outcome == "locked" or until is not None:
            assert until is not None
            minutes = max(1, -(-int((until - utcnow()).total_seconds()) // 60))
            flash(_("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes), "error")
            status = 429
        else:
            flash(_("Wrong username or password."), "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        record_event(current_user.actor, "staff.logout", None, {"username": current_user.username})
        db.session().commit()
        logout_user()
        session.pop("staff_seen", None)
        flash(_("You have signed out."), "info")
    return redirect(url_for("staff_web.login"))


@bp.post("/lang")
def set_language():
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in LANGUAGES:
        session["lang"] = form.lang.data
    return redirect(safe_next(form.next.data, url_for("staff_web.home")))


@bp.get("/")
@login_required
def home():
    query = select(Meeting).order_by(Meeting.created_at.desc(), Meeting.id)
    if current_user.role == "trustee":
        query = query.where(Meeting.id == current_user.meeting_id)
    meetings = list(db.session().scalars(query))
    return render_template("staff/home.html", meetings=meetings)
