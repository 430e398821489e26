"""A tiny JSON client for the tally service, for the trustee tools' ``--server`` modes.

Standard library only (``urllib.request``): ``keys/`` stays free of web frameworks and HTTP
libraries, so a trustee's laptop needs nothing beyond what the offline tools already need.

::

    client = RelayClient("https://tally.example", token="…")
    status = client.get_json("/api/staff/meetings/m1/ceremony")
    client.post_json("/api/staff/meetings/m1/ceremony/confirm", {"ok": True})

Every failure is a :class:`~keys.errors.RelayError`, never a bare ``urllib`` or socket
exception:

* the service refused the request (4xx/5xx): ``status`` is the HTTP status and ``code`` and the
  message are the service's ``{"error": code, "message": text}`` (SPEC §11);
* no answer (connection refused, unknown host, timeout, TLS failure, a malformed URL): ``status``
  is ``None`` and the message names the server;
* an answer that is not a JSON document.

Redirects are not followed: a redirect would carry the bearer token to whatever host it names,
so it is reported instead, with the URL to use.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPMessage
from typing import IO, Any

from ballot.errors import EncodingError
from ballot.hashing import parse_json
from keys.errors import RelayError

USER_AGENT = "piaojue-keys/1"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""The most a response may hold (aggregates and meeting entries are a few kilobytes)."""
_MAX_ERROR_BODY = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn every redirect into an :class:`urllib.error.HTTPError` instead of following it."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        return None


def quote(segment: str) -> str:
    """One URL path segment (a meeting or vote id), percent-encoded."""
    return urllib.parse.quote(segment, safe="")


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


class RelayClient:
    """JSON over HTTP(S) to the tally service at ``base_url``, with an optional bearer ``token``.

    ``timeout`` is in seconds, per connection attempt and per read.
    """

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30) -> None:
        text = base_url.strip() if isinstance(base_url, str) else ""
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise RelayError(
                f"the server URL must look like http://host:port or https://host, got {base_url!r}"
            )
        if token is not None and (not token.strip() or any(c in token for c in "\r\n")):
            raise RelayError("the token must be one line of text (as printed by `flask staff`)")
        self.base_url = text.rstrip("/")
        self.token = token.strip() if token is not None else None
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"RelayClient({self.base_url!r}, token={'…' if self.token else None})"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with ``/``)."""
        if not path.startswith("/"):
            raise RelayError(f"a request path starts with '/', got {path!r}")
        return self.base_url + path

    def get_json(self, path: str) -> Any:
        """``GET path`` and return the parsed JSON body."""
        return self._request("GET", path, None)

    def post_json(self, path: str, body: Any) -> Any:
        """``POST path`` with ``body`` as JSON and return the parsed JSON answer."""
        return self._request("POST", path, body)

    # -----------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any) -> Any:
        url = self.url(path)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if method != "GET":
            try:
                data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise RelayError(
                    f"cannot send {method} {path}: the body is not JSON ({exc})", url=url
                ) from None
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        where = f"the tally service at {self.base_url}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            try:
                error = self._http_error(method, path, url, exc)
            finally:
                exc.close()
            raise error from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise RelayError(f"{where} did not answer within {self.timeout:g} s", url=url) from None
            raise RelayError(f"cannot reach {where}: {_reason(exc.reason)}", url=url) from None
        except TimeoutError:
            raise RelayError(f"{where} did not answer within {self.timeout:g} s", url=url) from None
        except (http.client.HTTPException, OSError) as exc:
            raise RelayError(f"the connection to {where} failed: {_reason(exc)}", url=url) from None
        except ValueError as exc:  # e.g. a header value or URL http.client refuses
            raise RelayError(f"cannot send {method} {url}: {exc}", url=url) from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise RelayError(
                f"{method} {path}: the answer is larger than {MAX_RESPONSE_BYTES} bytes", url=url
            )
        try:
            return parse_json(raw, where=f"{method} {path}")
        except EncodingError as exc:
            raise RelayError(
                f"{method} {path}: HTTP {status}, but the answer is not a JSON document ({exc.message}); "
                f"is {self.base_url} the tally service?",
                status=status,
                url=url,
            ) from None

    def _http_error(self, method: str, path: str, url: str, exc: urllib.error.HTTPError) -> RelayError:
        status = exc.code
        if 300 <= status < 400:
            location = exc.headers.get("Location") if exc.headers is not None else None
            target = urllib.parse.urljoin(url, location) if location else "another URL"
            return RelayError(
                f"{method} {path}: the server redirects to {target}; give the server's own URL "
                "as --server (redirects are not followed, so the token is not sent elsewhere)",
                status=status,
                url=url,
            )
        try:
            raw = exc.read(_MAX_ERROR_BODY)
        except (http.client.HTTPException, OSError):
            raw = b""
        code = message = None
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            document = None
        if isinstance(document, dict):
            if isinstance(document.get("error"), str):
                code = document["error"]
            if isinstance(document.get("message"), str):
                message = document["message"]
        if message is None:
            message = exc.reason if isinstance(exc.reason, str) and exc.reason else "no error message"
        label = f"{status} {code}" if code else str(status)
        return RelayError(
            f"the server refused {method} {path} ({label}): {' '.join(message.split())}",
            status=status,
            code=code,
            url=url,
        )


__all__ = ["MAX_RESPONSE_BYTES", "RelayClient", "quote"]
