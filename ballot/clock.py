"""Times in log entries: RFC 3339 UTC strings (SPEC §7 ``at``, §8.1 "Times")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ballot.errors import EncodingError

LOG_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z")
"""SPEC §8.1: ``YYYY-MM-DDTHH:MM:SS``, optionally ``.`` and 1 to 9 digits, then ``Z``; ASCII
digits only (``[0-9]``, never ``\\d``, which also matches full-width and other digits)."""


def utc_now() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (RFC 3339, UTC, milliseconds)."""
    return format_log_time(datetime.now(UTC))


def format_log_time(moment: datetime) -> str:
    """``moment`` (timezone-aware) as a §8.1 log time with milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_log_time(text: object, *, where: str = "at") -> tuple[datetime, int]:
    """Parse a §8.1 log time; return ``(whole seconds as an aware datetime, nanoseconds)``.

    Tuples compare in time order, so ``parse_log_time(close) >= parse_log_time(open)`` is the
    §8.1 rule "a vote's close is not earlier than its open". The date and time must exist: month
    01–12, a day of that month, hour 00–23, minute and second 00–59 (no leap second: Python's
    ``datetime`` and most verifiers have none). Raises :class:`EncodingError`.
    """
    match = LOG_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise EncodingError("a time is YYYY-MM-DDTHH:MM:SS[.fraction]Z with ASCII digits", where=where)
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError as exc:
        raise EncodingError(f"not a valid UTC date and time: {exc}", where=where) from None
    nanoseconds = int((fraction or "").ljust(9, "0"))
    return moment, nanoseconds
