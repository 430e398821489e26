"""Staff web logins (issue #5): argon2id passwords, Flask-Login sessions, a role decorator for
pages, and a login throttle.

- **Accounts** are :class:`tally.store.models.StaffUser` rows made with ``flask --app tally user add``.
  Passwords are hashed with argon2id (argon2-cffi; its RFC 9106 low-memory profile unless
  ``STAFF_ARGON2`` names other parameters). A hash made with older parameters is upgraded at the
  next successful login.
- **Sessions** are Flask-Login's signed session cookie. The session id includes a fingerprint of
  the password hash, so changing a password (``user passwd``) or disabling an account
  (``user disable``) ends that account's sessions everywhere. A session idle for longer than
  ``STAFF_IDLE_MINUTES`` (120) is logged out.
- **Throttle**: failed logins are counted per (username, client address) in the database
  (:class:`tally.store.models.LoginThrottle`), so every instance behind the load balancer shares the
  counts and a restart does not reset them. ``STAFF_LOGIN_MAX_FAILURES`` (5) failures within
  ``STAFF_LOGIN_WINDOW`` seconds (900) lock that pair out for ``STAFF_LOGIN_LOCKOUT`` seconds
  (900); while locked even the right password is refused. Keyed by the pair rather than the
  username alone, so that someone guessing from elsewhere cannot lock a clerk out of their own
  desk. ``PIAOJUE_TRUSTED_PROXIES`` = the number of reverse proxies in front (1 behind nginx)
  makes the client address come from ``X-Forwarded-For`` (:mod:`tally.ops.ratelimit`). Besides,
  ``RATELIMIT_LOGIN_ADDRESS`` (30 per minute) bounds the attempts, right or wrong, from one
  address before any argon2id work: over it the page answers 429 like a lockout.
- **Audit**: logins, failed logins, lockouts, logouts and account changes go to the audit trail
  (meeting ``None``); every page action passes :func:`actor` to the service functions, which
  record it with the action itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import abort, current_app, session
from flask_login import LoginManager, UserMixin, current_user, login_required, logout_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tally.ops import ratelimit
from tally.store import db
from tally.store.audit_trail import record_event
from tally.store.models import ROLES, LoginThrottle, StaffUser, Trustee

MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[\w.@-]{1,64}")
DEFAULTS: dict[str, Any] = {
    "STAFF_LOGIN_MAX_FAILURES": 5,
    "STAFF_LOGIN_WINDOW": 900,
    "STAFF_LOGIN_LOCKOUT": 900,
    "STAFF_IDLE_MINUTES": 120,
    "STAFF_ARGON2": {},
}

login_manager = LoginManager()
login_manager.login_view = "staff_web.login"
login_manager.session_protection = "basic"


class AccountError(ValueError):
    """An account that cannot be created or changed (bad name, role, password …)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# ------------------------------------------------------------------ passwords


def password_hasher() -> PasswordHasher:
    return PasswordHasher(**(current_app.config.get("STAFF_ARGON2") or {}))


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def _dummy_hash() -> str:
    """A hash to verify against for unknown usernames, so that they take as long as known ones."""
    cache = current_app.extensions.setdefault("piaojue.staff_dummy_hash", {})
    key = repr(sorted((current_app.config.get("STAFF_ARGON2") or {}).items()))
    if key not in cache:
        cache[key] = hash_password("not a password of anyone")
    return cache[key]


def check_password(password_hash: str, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_new_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise AccountError("the password is too long")


# ------------------------------------------------------------------ accounts


def find_user(username: str, session: Session | None = None) -> StaffUser | None:
    session = session or db.session()
    return session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower()))


def create_user(
    username: str,
    role: str,
    password: str,
    *,
    display_name: str | None = None,
    meeting_id: str | None = None,
    trustee_index: int | None = None,
    actor: str,
) -> StaffUser:
    username = (username or "").strip()
    if USERNAME.fullmatch(username) is None:
        raise AccountError("a username is 1 to 64 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    session = db.session()
    if role == "trustee":
        if meeting_id is None or trustee_index is None:
            raise AccountError("a trustee's account names its meeting (--meeting) and trustee index (--trustee)")
        if session.get(Trustee, (meeting_id, trustee_index)) is None:
            raise AccountError(f"meeting {meeting_id!r} has no trustee {trustee_index}")
    elif meeting_id is not None or trustee_index is not None:
        raise AccountError("only a trustee's account is bound to a meeting and trustee index")
    _check_new_password(password)
    if find_user(username) is not None:
        raise AccountError(f"the username {username!r} is taken")
    user = StaffUser(
        username=username,
        display_name=(display_name or username).strip()[:200] or username,
        role=role,
        password_hash=hash_password(password),
        meeting_id=meeting_id,
        trustee_index=trustee_index,
        active=True,
    )
    session.add(user)
    record_event(actor, "staff.user_add", meeting_id, {"username": username, "role": role})
    session.commit()
    return user


def set_password(username: str, password: str, *, actor: str) -> None:
    user = find_user(username)
    if user is None:
        raise AccountError(f"no account {username!r}")
    _check_new_password(password)
    user.password_hash = hash_password(password)
    record_event(actor, "staff.password_set", None, {"username": user.username})
    db.session().commit()


def set_active(username: str, active: bool, *, actor: str) -> None:
    user = find_user(username)
    if user is None:
        raise AccountError(f"no account {username!r}")
    user.active = active
    record_event(actor, "staff.user_enable" if active else "staff.user_disable", None, {"username": user.username})
    db.session().commit()


# ------------------------------------------------------------------ sessions (Flask-Login)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class StaffPrincipal(UserMixin):
    """The logged-in staff member, detached from any database session."""

    def __init__(self, user: StaffUser) -> None:
        self.user_id = user.id
        self.username = user.username
        self.display_name = user.display_name
        self.role = user.role
        self.meeting_id = user.meeting_id
        self.trustee_index = user.trustee_index
        self._fingerprint = _fingerprint(user.password_hash)

    def get_id(self) -> str:
        return f"{self.user_id}:{self._fingerprint}"

    @property
    def actor(self) -> str:
        """How the audit trail names this person (API tokens are ``role:name``)."""
        return f"{self.role}:{self.username} (web)"

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def may_see(self, meeting_id: str) -> bool:
        return self.role != "trustee" or self.meeting_id == meeting_id


@login_manager.user_loader
def _load_user(user_id: str) -> StaffPrincipal | None:
    ident, _, fingerprint = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session().get(StaffUser, int(ident))
    if user is None or not user.active or _fingerprint(user.password_hash) != fingerprint:
        return None
    return StaffPrincipal(user)


def actor() -> str:
    return current_user.actor if current_user.is_authenticated else "anonymous"


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Logged in (else a redirect to the login page) with one of ``roles`` (else 403). A trustee
    sees only the pages of its own meeting (a ``meeting_id`` view argument)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            meeting_id = kwargs.get("meeting_id")
            if meeting_id is not None and not current_user.may_see(meeting_id):
                abort(403)
            return view(*args, **kwargs)

        return login_required(checked)

    return decorator


def enforce_idle_timeout(*, touch: bool = True) -> bool:
    """Log out a session idle for too long; True if it did. ``touch=False`` (a page's own
    background polling) checks without counting as activity."""
    if not current_user.is_authenticated:
        return False
    now = int(utcnow().timestamp())
    seen = session.get("staff_seen")
    limit = int(current_app.config["STAFF_IDLE_MINUTES"]) * 60
    if isinstance(seen, int) and now - seen > limit:
        record_event(current_user.actor, "staff.session_expired", None, {"username": current_user.username})
        db.session().commit()
        logout_user()
        session.pop("staff_seen", None)
        return True
    if touch and (not isinstance(seen, int) or now - seen >= 60):
        session["staff_seen"] = now
    return False


# ------------------------------------------------------------------ login throttle


def client_address() -> str:
    """The client's address: ``tally.ops.ratelimit.TrustedProxies`` has already applied
    ``PIAOJUE_TRUSTED_PROXIES`` (``X-Forwarded-For`` behind nginx)."""
    return ratelimit.client_address()


def throttle_key(username: str, address: str) -> str:
    return f"{username.strip().lower()[:180]}|{address}"


def locked_until(key: str) -> datetime | None:
    """When the (username, address) pair may try again, if it is locked out now."""
    row = db.session().get(LoginThrottle, key)
    until = _aware(row.locked_until) if row is not None else None
    return until if until is not None and until > utcnow() else None


def note_failure(key: str) -> datetime | None:
    """Count a failed login (in the request's session, not committed); the lockout end if this
    failure locked the pair out."""
    session = db.session()
    now = utcnow()
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now)
        session.add(row)
    config = current_app.config
    started = _aware(row.window_started_at) or now
    if now - started > timedelta(seconds=int(config["STAFF_LOGIN_WINDOW"])):
        row.failures, row.window_started_at = 0, now
    row.failures = (row.failures or 0) + 1
    if row.failures >= int(config["STAFF_LOGIN_MAX_FAILURES"]):
        row.locked_until = now + timedelta(seconds=int(config["STAFF_LOGIN_LOCKOUT"]))
        row.failures, row.window_started_at = 0, now
        return row.locked_until
    return None


def clear_failures(key: str) -> None:
    row = db.session().get(LoginThrottle, key)
    if row is not None:
        db.session().delete(row)


def authenticate(username: str, password: str) -> tuple[str, StaffUser | None, datetime | None]:
    """Check a login attempt and record it: ``("ok", user, None)``, ``("locked", None, until)``
    or ``("failed", None, until-if-this-failure-locked-it)``. Commits the throttle row and the
    audit event together."""
    address = client_address()
    key = throttle_key(username, address)
    detail = {"username": username[:64], "address": address}
    limited = ratelimit.login_attempt(address)
    if limited is not None:  # too many attempts from this address, before any password work
        seconds, over = limited
        if over == 1:  # the first refusal of the window is recorded, not each one of a flood
            record_event(f"anonymous:{address}", "staff.login_rate_limited", None, detail)
            db.session().commit()
        return "locked", None, utcnow() + timedelta(seconds=seconds)
    for attempt in range(2):
        until = locked_until(key)
        if until is not None:
            record_event(f"anonymous:{address}", "staff.login_locked", None, detail)
            db.session().commit()
            return "locked", None, until
        user = find_user(username) if username.strip() else None
        if user is None:
            check_password(_dummy_hash(), password)
            good = False
        else:
            good = user.active and check_password(user.password_hash, password)
        if good:
            assert user is not None
            clear_failures(key)
            if password_hasher().check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login_at = utcnow()
            record_event(f"{user.role}:{user.username} (web)", "staff.login", None, {"address": address})
            db.session().commit()
            return "ok", user, None
        reason = "unknown_user" if user is None else "inactive" if not user.active else "bad_password"
        until = note_failure(key)
        record_event(f"anonymous:{address}", "staff.login_failed", None, {**detail, "reason": reason,
                                                                          "locked": until is not None})
        try:
            db.session().commit()
        except IntegrityError:  # a concurrent first failure inserted the same throttle row
            db.session().rollback()
            if attempt == 0:
                continue
            raise
        return "failed", None, until
    raise AssertionError("unreachable")
