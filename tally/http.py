"""Reading requests, for every door and the rate limits: a strict JSON body, path ids, integer
query arguments; anything wrong is an :class:`~tally.errors.APIError` (SPEC §11 ``malformed``)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from ballot.errors import EncodingError
from ballot.hashing import parse_json
from ballot.vote import IDENTIFIER
from tally.errors import APIError


def json_body() -> Any:
    """The request body parsed strictly as JSON (no floats, no duplicate keys): ``malformed`` if not."""
    data = request.get_data(cache=False)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is None and len(data) >= limit:
        # A chunked body (no Content-Length) is read only up to the limit, silently: one that
        # reaches it may go on, and its first bytes must not be taken for the whole body.
        raise APIError("too_large", f"the body is larger than {limit} bytes", 413)
    if not data:
        raise APIError("malformed", "the request needs a JSON body")
    try:
        return parse_json(data, where="body")
    except EncodingError as exc:
        raise APIError("malformed", str(exc)) from None


def check_path_ids(_endpoint: str | None, values: dict | None) -> None:
    """Meeting and vote ids are identifiers (SPEC §4.1, §6.3, ``[A-Za-z0-9_-]{1,64}``): anything
    else in a URL names nothing and never reaches the store (PostgreSQL refuses a NUL in text,
    which would be a 500). Registered for every route of the app (``create_app``)."""
    meeting_id, vote_id = (values or {}).get("meeting_id"), (values or {}).get("vote_id")
    if meeting_id is not None and IDENTIFIER.fullmatch(meeting_id) is None:
        raise APIError("not_found", f"meeting {meeting_id!r} does not exist", 404)
    if vote_id is not None and IDENTIFIER.fullmatch(vote_id) is None:
        raise APIError("unknown_vote", f"meeting {meeting_id!r} has no vote {vote_id!r}", 404)


def int_arg(name: str, *, minimum: int = 0) -> int:
    value = request.args.get(name)
    # isascii: str.isdigit() is also true of "²" or "٣", which int() refuses or reads as digits.
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 15:
        raise APIError("malformed", f"query parameter {name!r} must be a non-negative integer")
    number = int(value)
    if number < minimum:
        raise APIError("malformed", f"query parameter {name!r} must be at least {minimum}")
    return number
