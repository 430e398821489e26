"""Closing votes when their timer ends (a vote opened with a duration has ``closes_at``).

Each instance runs one daemon thread that, every half second, closes the open votes whose
``closes_at`` has passed. Several instances may race for the same vote: the close runs under the
meeting's lock and re-checks the state, so exactly one ``close`` entry is logged and the others
see ``vote_not_open`` and move on. The thread belongs to its app (started in ``create_app`` unless
``VOTE_TIMER`` is false, as in tests) and stops with :meth:`VoteTimer.stop`, which waits for a
round in progress, so no database connection is still checked out when the app's engine is
disposed.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from tally.errors import APIError
from tally.services import lifecycle
from tally.store import db
from tally.store.models import Vote

INTERVAL = 0.5
ACTOR = "system:timer"


def close_expired_votes(now: datetime | None = None) -> list[tuple[str, str]]:
    """Close every open vote whose timer has run out; return the ``(meeting, vote)`` pairs closed."""
    now = now or datetime.now(UTC)
    session = db.new_session()
    try:
        due = [
            (v.meeting_id, v.vote_id, v.closes_at)
            for v in session.scalars(select(Vote).where(Vote.state == "open", Vote.closes_at.is_not(None)))
            if v.closes_at is not None  # the query's filter, said again for the type checker
        ]
    finally:
        session.close()
    closed = []
    for meeting_id, vote_id, closes_at in due:
        if closes_at.tzinfo is None:  # SQLite returns naive UTC datetimes
            closes_at = closes_at.replace(tzinfo=UTC)
        if closes_at > now:
            continue
        try:
            lifecycle.close_vote(meeting_id, vote_id, actor=ACTOR)
            closed.append((meeting_id, vote_id))
        except APIError:
            pass  # closed by a person or another instance meanwhile
    return closed


class VoteTimer:
    """The timer thread of one app."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="piaojue-vote-timer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop_event.wait(INTERVAL):
            try:
                with self._app.app_context():
                    close_expired_votes()
            except Exception:  # a broken database must not kill the timer
                self._app.logger.exception("vote timer")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and wait for the round in progress, if any, to end."""
        self._stop_event.set()
        self._thread.join(timeout)


def start(app: Flask) -> VoteTimer:
    """Start the timer thread for ``app``."""
    return VoteTimer(app)
