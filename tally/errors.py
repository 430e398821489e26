"""API errors: every failure of a public or staff endpoint is a 4xx with
``{"error": "<code>", "message": "<human text>"}`` (SPEC §11), never a 5xx and never a log entry."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """A request the service refuses. ``code`` is the SPEC §11 error code where one applies."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


def not_found(what: str) -> APIError:
    return APIError("not_found", f"{what} does not exist", 404)


def conflict(code: str, message: str) -> APIError:
    return APIError(code, message, 409)


class Unavailable(APIError):
    """The store cannot take writes (disk full, database down): a 503 the client may retry."""

    def __init__(self, message: str) -> None:
        super().__init__("unavailable", message, 503)
