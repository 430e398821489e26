"""HTTP blueprints: ``public`` (SPEC §11, no authentication) and ``staff`` (bearer tokens)."""

from __future__ import annotations

from typing import Any

from flask import request

from ballot.errors import EncodingError
from ballot.hashing import parse_json
from tally.errors import APIError


def json_body() -> Any:
    """The request body parsed strictly as JSON (no floats, no duplicate keys): ``malformed`` if not."""
    data = request.get_data(cache=False)
    if not data:
        raise APIError("malformed", "the request needs a JSON body")
    try:
        return parse_json(data, where="body")
    except EncodingError as exc:
        raise APIError("malformed", str(exc)) from None


def int_arg(name: str, *, minimum: int = 0) -> int:
    value = request.args.get(name)
    if value is None or not value.isdigit() or len(value) > 15:
        raise APIError("malformed", f"query parameter {name!r} must be a non-negative integer")
    number = int(value)
    if number < minimum:
        raise APIError("malformed", f"query parameter {name!r} must be at least {minimum}")
    return number
