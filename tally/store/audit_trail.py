"""The staff audit trail: every staff action is recorded with who, what and when.

Events are written in the same transaction as the action they describe, so an action that did
not happen leaves no event and one that did cannot lose it. Auditors read them through the
staff API (``GET /api/staff/meetings/<mid>/audit``). Details never hold secrets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tally.store import db
from tally.store.models import AuditEvent


def record_event(
    actor: str, action: str, meeting_id: str | None, detail: dict[str, Any] | None = None, *, session: Session | None = None
) -> None:
    (session or db.session()).add(AuditEvent(actor=actor, action=action, meeting_id=meeting_id, detail=detail))
