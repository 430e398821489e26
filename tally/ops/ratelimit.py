"""Rate limits (issue #6) and the client address behind reverse proxies.

**Client address.** Behind nginx every request comes from nginx's own address. With
``TRUSTED_PROXIES`` = *n* (``PIAOJUE_TRUSTED_PROXIES``; 1 behind the nginx of
``deploy/nginx.conf.template``), werkzeug's :class:`~werkzeug.middleware.proxy_fix.ProxyFix`
takes the client address from the *n*-th ``X-Forwarded-For`` value counted from the right, i.e.
the one the outermost trusted proxy saw. Values a client writes into the header itself sit to the
left of those and are never used, so adding hops does not help a spoofer. With 0 (the default)
the header is ignored. ``request.remote_addr`` is then the real client everywhere: the login
throttle, these limits, the audit trail. (``STAFF_TRUSTED_PROXIES``, the older name, is honoured.)

**Limits** (fixed windows, counted in ``RATELIMIT_STORAGE_URL``: Redis when it is set or
``SOCKETIO_MESSAGE_QUEUE`` is, so every instance shares the counts; else in the process's memory):

- ``POST /api/meetings/<mid>/checkin`` (SPEC §11, which allows any 4xx):
  ``RATELIMIT_CHECKIN_ADDRESS`` per client address and meeting, counted for every request, sized
  for a 3,000-seat hall behind one NAT address (6000 per minute); and ``RATELIMIT_CHECKIN_CREDENTIAL``
  per credential and meeting (10 per minute), which stops one tablet looping on check-in. The
  credential limit counts only requests whose signature verified: public keys are published in
  the log, so counting unsigned attempts would let anyone lock a deputy out of check-in.
- ``POST /staff/login``: ``RATELIMIT_LOGIN_ADDRESS`` attempts per client address (30 per
  minute), right or wrong, before the password is checked: it bounds the argon2id work one
  address can cause. It complements the failure lockout per (username, address) of
  :mod:`tally.web.logins`.

Over a limit the request changes nothing and is refused with ``429 {"error": "rate_limited",
"message": …}`` and a ``Retry-After`` header (seconds). A limit is a string of the ``limits``
library ("6000 per minute", "10/minute", "3 per 2 seconds"); an empty string turns it off.

If the Redis store fails, the limits fall back to process memory for ``FALLBACK_SECONDS`` and the
requests go on: a rate limiter must never be the reason a deputy cannot check in.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast

from flask import Flask, current_app, jsonify, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from werkzeug.middleware.proxy_fix import ProxyFix

from tally.errors import APIError
from tally.http import json_body

DEFAULTS: dict[str, str] = {
    "RATELIMIT_CHECKIN_ADDRESS": "6000 per minute",
    "RATELIMIT_CHECKIN_CREDENTIAL": "10 per minute",
    "RATELIMIT_LOGIN_ADDRESS": "30 per minute",
}
FALLBACK_SECONDS = 5.0
UNVERIFIED = frozenset({"malformed", "bad_signature", "not_found", "not_sealed", "rate_limited"})
"""Check-in refusals that come before (or instead of) a verified signature: not charged to the
credential."""
_EXTENSION = "piaojue.ratelimit"


class RateLimited(APIError):
    """Over a rate limit: 429 ``rate_limited``; ``retry_after`` seconds until the window resets."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("rate_limited", message, 429)
        self.retry_after = max(1, int(retry_after))


# ---------------------------------------------------------------- the client address


class TrustedProxies:
    """WSGI middleware: ProxyFix with the hop count read from the app's config at each request
    (so that it can change in tests), for ``X-Forwarded-For`` only."""

    def __init__(self, wsgi_app: Any, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.config = app.config
        self._fixed: dict[int, ProxyFix] = {}

    def hops(self) -> int:
        values = (self.config.get("TRUSTED_PROXIES"), self.config.get("STAFF_TRUSTED_PROXIES"))
        return max(int(v or 0) for v in values)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        hops = self.hops()
        if hops <= 0:
            return self.wsgi_app(environ, start_response)
        fixer = self._fixed.get(hops)
        if fixer is None:
            fixer = self._fixed[hops] = ProxyFix(self.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0,
                                                 x_prefix=0)
        return fixer(environ, start_response)


def client_address() -> str:
    """The client's address (after :class:`TrustedProxies`), at most 64 characters."""
    return (request.remote_addr or "unknown")[:64]


# ---------------------------------------------------------------- counting


class Limiter:
    """Fixed-window counters in a ``limits`` storage, failing open to process memory."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        if url.startswith(("redis://", "rediss://", "redis+unix://")):
            # storage_from_string is typed to return an async storage too; these URLs name sync ones.
            self.storage: Storage = cast(Storage, storage_from_string(
                url, key_prefix=prefix, socket_connect_timeout=0.5, socket_timeout=0.5))
        else:
            self.storage = cast(Storage, storage_from_string(url))
        self.memory = self.storage if isinstance(self.storage, MemoryStorage) else MemoryStorage()
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _store(self) -> Storage:
        return self.memory if time.monotonic() < self._down_until else self.storage

    def _call(self, method: str, *args: Any) -> Any:
        store = self._store()
        try:
            return getattr(store, method)(*args)
        except Exception as exc:  # any store failure (Redis down): count in memory instead
            if store is self.memory:
                raise
            with self._lock:
                if time.monotonic() >= self._down_until:
                    current_app.logger.warning("rate limit store %s failed (%s); counting in memory for %.0f s",
                                               self.url.split("@")[-1], type(exc).__name__, FALLBACK_SECONDS)
                self._down_until = time.monotonic() + FALLBACK_SECONDS
            return getattr(self.memory, method)(*args)

    def hit(self, limit: RateLimitItem, *identifiers: str) -> int:
        """Count one request; the count in the current window (over ``limit.amount``: refused)."""
        return int(self._call("incr", limit.key_for(*identifiers), limit.get_expiry()))

    def count(self, limit: RateLimitItem, *identifiers: str) -> int:
        return int(self._call("get", limit.key_for(*identifiers)))

    def retry_after(self, limit: RateLimitItem, *identifiers: str) -> int:
        """Whole seconds until the window of ``identifiers`` resets (at least 1)."""
        reset = float(self._call("get_expiry", limit.key_for(*identifiers)))
        return max(1, math.ceil(reset - time.time()))


def init_app(app: Flask) -> None:
    """Install :class:`TrustedProxies`, the limiter and the 429 handler (called by ``create_app``)."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    # Flask's documented way to wrap the WSGI app (middleware); mypy refuses any assignment to a
    # method, and no annotation can declare Flask.wsgi_app assignable.
    app.wsgi_app = TrustedProxies(app.wsgi_app, app)  # type: ignore[method-assign]
    url = app.config.get("RATELIMIT_STORAGE_URL") or app.config.get("SOCKETIO_MESSAGE_QUEUE") or "memory://"
    prefix = app.config.get("RATELIMIT_KEY_PREFIX") or f"{app.config.get('SOCKETIO_CHANNEL', 'piaojue')}:ratelimit"
    app.extensions[_EXTENSION] = Limiter(url, prefix)

    @app.errorhandler(RateLimited)
    def rate_limited(exc: RateLimited):
        return jsonify(exc.to_json()), 429, {"Retry-After": str(exc.retry_after)}


def limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions[_EXTENSION]


def _limit(name: str) -> RateLimitItem | None:
    """The configured limit ``name`` (None: off)."""
    return _parsed(name, str(current_app.config.get(name) or "").strip())


@lru_cache(maxsize=64)
def _parsed(name: str, text: str) -> RateLimitItem | None:
    if not text:
        return None
    limit = parse(text)
    limit.namespace = name.removeprefix("RATELIMIT_").lower()
    return limit


def _refuse(limit: RateLimitItem, what: str, *identifiers: str) -> RateLimited:
    seconds = limiter().retry_after(limit, *identifiers)
    return RateLimited(f"too many {what} ({limit}); retry in {seconds} s", seconds)


# ---------------------------------------------------------------- check-in (SPEC §11)


def _credential_of(body: Any) -> str | None:
    value = body.get("credential") if isinstance(body, dict) else None
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


@contextmanager
def checkin_limits(meeting_id: str) -> Iterator[Any]:
    """Around one check-in: count the client address (429 over the limit, before the body is
    even read), yield the parsed JSON body, refuse a credential already over its limit, and
    after the check-in count the credential unless the request failed before its signature
    verified (see :data:`UNVERIFIED`). A refused request changes nothing."""
    counter = limiter()
    address = client_address()
    per_address = _limit("RATELIMIT_CHECKIN_ADDRESS")
    if per_address is not None and counter.hit(per_address, meeting_id, address) > per_address.amount:
        raise _refuse(per_address, "check-ins from this address", meeting_id, address)
    body = json_body()
    credential = _credential_of(body)
    per_credential = _limit("RATELIMIT_CHECKIN_CREDENTIAL") if credential else None
    if (per_credential is not None and credential is not None
            and counter.count(per_credential, meeting_id, credential) >= per_credential.amount):
        raise _refuse(per_credential, "check-ins with this credential", meeting_id, credential)
    try:
        yield body
    except APIError as exc:
        if per_credential is not None and credential is not None and exc.code not in UNVERIFIED:
            counter.hit(per_credential, meeting_id, credential)
        raise
    else:
        if per_credential is not None and credential is not None:
            counter.hit(per_credential, meeting_id, credential)


# ---------------------------------------------------------------- tablet pairing


@contextmanager
def pairing_limits() -> Iterator[None]:
    """Around one pairing attempt (``POST /kiosk/api/pair``): refuse an address that has used up
    its failed attempts, count the attempt against the address, and count a failure (an unknown,
    used or expired code) against the address. Pairing codes are 8 digits: the failure limit is
    what keeps guessing them slow (60 per 10 minutes by default, while a hall behind one NAT
    address pairs hundreds of tablets a minute). A refused request changes nothing."""
    counter = limiter()
    address = client_address()
    failures = _limit("RATELIMIT_PAIR_FAILURES_ADDRESS")
    if failures is not None and counter.count(failures, address) >= failures.amount:
        raise _refuse(failures, "failed pairing attempts from this address", address)
    per_address = _limit("RATELIMIT_PAIR_ADDRESS")
    if per_address is not None and counter.hit(per_address, address) > per_address.amount:
        raise _refuse(per_address, "pairing attempts from this address", address)
    try:
        yield
    except APIError as exc:
        if failures is not None and exc.code == "invalid_pairing":
            counter.hit(failures, address)
        raise


# ---------------------------------------------------------------- staff sign-in


def login_attempt(address: str) -> tuple[int, int] | None:
    """Count a sign-in attempt from ``address``. None if within the limit; else ``(seconds
    until the window resets, how many attempts over the limit this one is)``."""
    per_address = _limit("RATELIMIT_LOGIN_ADDRESS")
    if per_address is None:
        return None
    counter = limiter()
    over = counter.hit(per_address, address) - per_address.amount
    if over <= 0:
        return None
    return counter.retry_after(per_address, address), over
