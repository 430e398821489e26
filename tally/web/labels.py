"""Display names (translated) of roles, states, kinds, statuses and audit actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

ROLE_NAMES = {"clerk": _l("Clerk"), "presidium": _l("Presidium"), "trustee": _l("Trustee"),
              "auditor": _l("Auditor")}
MEETING_STATES = {"setup": _l("Being set up"), "sealed": _l("Sealed")}
MEETING_PHASES = {"setup": _l("Being set up"), "ready": _l("Not started"), "voting": _l("Voting"),
                  "in_session": _l("In session"), "finished": _l("Finished")}
"""Where a meeting stands, for its badge: a sealed meeting (its setup is final) has not started
until its first vote opens."""
VOTE_STATES = {"pending": _l("Pending"), "open": _l("Open"), "closed": _l("Closed"), "published": _l("Published")}
KIND_NAMES = {"resolution": _l("Resolution"), "appointment": _l("Appointment"),
              "selection": _l("Livelihood projects"), "election": _l("Election"),
              "evaluation": _l("Satisfaction evaluation")}
BASE_NAMES = {"members": _l("all members"), "present": _l("members present"), "cast": _l("ballots cast")}
STATUS_NAMES = {
    "selection": {"elected": _l("Selected"), "tied": _l("Tied"), "not_elected": _l("Not selected"),
                  "below_threshold": _l("Below threshold")},
    "election": {"elected": _l("Elected"), "tied": _l("Tied"), "not_elected": _l("Not elected"),
                 "below_threshold": _l("Below threshold")},
}
ACTIONS = {
    "meeting.create": _l("Meeting created"),
    "meeting.seal": _l("Meeting sealed"),
    "roster.import": _l("Roster imported"),
    "credentials.register": _l("Credentials registered"),
    "credentials.replace": _l("Credential replaced"),
    "vote.define": _l("Vote defined"),
    "vote.open": _l("Vote opened"),
    "vote.close": _l("Vote closed"),
    "vote.publish": _l("Result published"),
    "share.post": _l("Trustee share posted"),
    "ceremony.announce": _l("Trustee announced"),
    "ceremony.deal": _l("Trustee dealt shares"),
    "ceremony.confirm": _l("Trustee confirmed"),
    "pairing.create": _l("Pairing codes created"),
    "result.export": _l("Announcement exported"),
    "staff.login": _l("Signed in"),
    "staff.login_failed": _l("Failed sign-in"),
    "staff.login_locked": _l("Sign-in refused (locked out)"),
    "staff.logout": _l("Signed out"),
    "staff.session_expired": _l("Session expired"),
    "staff.user_add": _l("Account created"),
    "staff.password_set": _l("Password changed"),
    "staff.user_disable": _l("Account disabled"),
    "staff.user_enable": _l("Account enabled"),
}


def meeting_phase(meeting: Any) -> str:
    """``setup`` until sealed; then ``ready`` (no vote opened yet), ``voting`` (a vote is open),
    ``in_session`` (between votes) or ``finished`` (every result published)."""
    from sqlalchemy import select

    from tally.store import db
    from tally.store.models import Vote

    if meeting.state != "sealed":
        return "setup"
    states = set(db.session().scalars(select(Vote.state).where(Vote.meeting_id == meeting.id)))
    if "open" in states:
        return "voting"
    if states <= {"pending"}:
        return "ready"
    if states == {"published"}:
        return "finished"
    return "in_session"


def english() -> bool:
    return str(get_locale() or "zh_CN").startswith("en")


def option_label(option: Any) -> str:
    """An option's label in the page language (``label_en`` when there is one, in English)."""
    label = getattr(option, "label", None) if not isinstance(option, dict) else option.get("label")
    label_en = getattr(option, "label_en", None) if not isinstance(option, dict) else option.get("label_en")
    return str(label_en) if english() and label_en else str(label or "")


def local_time(value: datetime | None) -> str:
    """A stored UTC time in the configured time zone (``PIAOJUE_TIMEZONE``)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss")


def helpers() -> dict[str, Any]:
    from tally.web.announcement import budget_wan

    return {
        "budget_wan": budget_wan,
        "local_time": local_time,
        "role_name": lambda r: ROLE_NAMES.get(r, r),
        "meeting_state": lambda s: MEETING_STATES.get(s, s),
        "meeting_phase": meeting_phase,
        "phase_name": lambda p: MEETING_PHASES.get(p, p),
        "vote_state": lambda s: VOTE_STATES.get(s, s),
        "kind_name": lambda k: KIND_NAMES.get(k, k),
        "base_name": lambda b: BASE_NAMES.get(b, b),
        "status_name": lambda kind, s: STATUS_NAMES.get(kind, STATUS_NAMES["election"]).get(s, s),
        "action_name": lambda a: ACTIONS.get(a, a),
        "option_label": option_label,
    }
