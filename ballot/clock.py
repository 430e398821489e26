"""Times in log entries: RFC 3339 UTC strings (SPEC §7 ``at``)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (RFC 3339, UTC, milliseconds)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
