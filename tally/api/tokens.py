"""Staff authentication for the JSON API: bearer tokens with a role.

Roles: ``clerk`` (sets meetings up), ``presidium`` (runs votes), ``trustee`` (key ceremony, bound
to one meeting and trustee index), ``auditor`` (reads the audit trail). A token is 32 random
bytes shown once; the database keeps only its SHA-256. The web pages of issue #5 add password
logins on top; the API stays token-based.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from sqlalchemy import select

from tally.errors import APIError
from tally.store import db
from tally.store.models import ROLES, StaffToken


def create_token(name: str, role: str, *, meeting_id: str | None = None, trustee_index: int | None = None) -> str:
    if role not in ROLES:
        raise APIError("malformed", f"role must be one of {', '.join(ROLES)}")
    if role == "trustee" and (meeting_id is None or trustee_index is None):
        raise APIError("malformed", "a trustee token names its meeting and trustee index")
    token = secrets.token_urlsafe(32)
    session = db.session()
    session.add(
        StaffToken(
            name=name, role=role, token_hash=hashlib.sha256(token.encode()).digest(),
            meeting_id=meeting_id, trustee_index=trustee_index,
        )
    )
    session.commit()
    return token


def current_staff() -> StaffToken:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise APIError("unauthorized", "staff endpoints need an Authorization: Bearer <token> header", 401)
    digest = hashlib.sha256(header[7:].strip().encode()).digest()
    staff = db.session().scalar(select(StaffToken).where(StaffToken.token_hash == digest))
    if staff is None or staff.revoked:
        raise APIError("unauthorized", "unknown or revoked token", 401)
    return staff


def require(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow only tokens with one of ``roles``; trustee tokens only for their own meeting."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff.role not in roles:
                raise APIError("forbidden", f"this needs one of the roles: {', '.join(roles)}", 403)
            meeting_id = kwargs.get("meeting_id")
            if staff.role == "trustee" and meeting_id is not None and staff.meeting_id != meeting_id:
                raise APIError("forbidden", "this trustee token is for another meeting", 403)
            g.staff = staff
            return view(*args, **kwargs)

        return wrapper

    return decorator


def actor() -> str:
    staff = g.get("staff")
    return f"{staff.role}:{staff.name}" if staff is not None else "anonymous"
