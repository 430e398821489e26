"""Every setting of the service: ``Config`` reads the environment once, ``TestConfig`` overrides it.

No other module of ``tally/`` reads ``os.environ`` (tests/test_purity.py checks): a setting is a
``Config`` attribute, read as ``app.config[...]``. A test or ``create_app(test_config)`` overrides
any of them. The variables (docs/deployment.md explains them in context):

| variable | meaning | default |
|---|---|---|
| ``PIAOJUE_INSTANCE_PATH`` (``INSTANCE_PATH``) | the instance folder (SQLite file, KEK file, demo trustees) | ``instance/`` beside the code |
| ``DATABASE_URL`` | SQLAlchemy URL; ``postgresql+psycopg://…`` for PostgreSQL | SQLite file ``instance/piaojue.sqlite3`` |
| ``PIAOJUE_KEY_ENCRYPTION_KEY`` | 64 hex chars (32 bytes): wraps each meeting's log key at rest | a random key kept in ``instance/key-encryption-key`` (mode 0600) |
| ``PIAOJUE_PUBLIC_URL`` | base URL phones reach: receipt QR codes and short links on the tablets, pairing links; a server warns at start if unset or loopback (tally.web.kiosk.loopback_warning) | the request's host URL |
| ``PIAOJUE_PUBLIC_URL_WARNING`` | ``0`` silences that start-up warning (``demo-serve`` prints its own hint instead) | on |
| ``PIAOJUE_MAX_BODY`` | largest request body in bytes | 1 MiB |
| ``SECRET_KEY`` | Flask session signing key (staff pages) | random per process |
| ``SOCKETIO_MESSAGE_QUEUE`` | ``redis://127.0.0.1:6379/0``: Socket.IO events across instances and from CLI commands | none (in-process) |
| ``SOCKETIO_CHANNEL`` | the Redis pub/sub channel (one per deployment sharing a Redis) | ``piaojue-live`` |
| ``PIAOJUE_TRUSTED_PROXIES`` | reverse proxies in front (1 behind nginx): the client address comes from ``X-Forwarded-For`` (``tally.ops.ratelimit``) | 0 |
| ``PIAOJUE_RATELIMIT_STORAGE_URL`` | where rate-limit counts live (``redis://…`` shares them across instances) | ``SOCKETIO_MESSAGE_QUEUE``, else process memory |
| ``PIAOJUE_RATELIMIT_CHECKIN_ADDRESS`` | check-ins per client address and meeting ("" = off) | ``6000 per minute`` |
| ``PIAOJUE_RATELIMIT_CHECKIN_CREDENTIAL`` | check-ins per credential and meeting ("" = off) | ``10 per minute`` |
| ``PIAOJUE_RATELIMIT_LOGIN_ADDRESS`` | staff sign-in attempts per client address ("" = off) | ``30 per minute`` |
| ``PIAOJUE_RATELIMIT_PAIR_ADDRESS`` | tablet pairing attempts per client address ("" = off) | ``600 per minute`` |
| ``PIAOJUE_RATELIMIT_PAIR_FAILURES_ADDRESS`` | failed pairing attempts (unknown, used or expired code) per client address ("" = off) | ``60 per 10 minutes`` |
| ``PIAOJUE_TURNOUT_INTERVAL``, ``PIAOJUE_TURNOUT_STAFF_INTERVAL`` | least seconds between two ``turnout`` events of one vote from one instance, to tablets and screens / to staff clients (tally.live.turnout) | 1.0 / 0.1 (0 under ``TESTING``) |
| ``PIAOJUE_KIOSK_POST_TIMEOUT`` | seconds a tablet waits for the answer to a ballot post before it posts the same ballot again (kiosk/static/js/submit.js) | 30 |
| ``SOCKETIO_ASYNC_MODE`` | ``threading`` or ``gevent``: must match the gunicorn worker (deploy/gunicorn.conf.py sets it from ``PIAOJUE_WORKER``) | ``threading`` |
| ``PIAOJUE_SECURE_COOKIES`` (``SESSION_COOKIE_SECURE``) | ``1``: the staff session cookie is sent over HTTPS only | off |
| ``PIAOJUE_TIMEZONE`` (``BABEL_DEFAULT_TIMEZONE``) | time zone of the dates on staff pages, the audit trail and the 公告 | ``Asia/Shanghai`` |
| ``PIAOJUE_STAFF_LOGIN_MAX_FAILURES``, ``…_WINDOW``, ``…_LOCKOUT`` | failed staff sign-ins allowed per (username, address) within the window (seconds), and the lockout (seconds) (tally.web.logins) | 5, 900, 900 |
| ``PIAOJUE_STAFF_IDLE_MINUTES`` | a staff session idle this long is signed out | 120 |

Settings without a variable (tests and embedding code set them): ``AUTO_MIGRATE`` (SQLite
databases upgrade at start, true), ``VOTE_TIMER`` (run the vote timer thread, true; never under
``TESTING``), ``STAFF_ARGON2`` (argon2id parameters, ``{}``: argon2-cffi's RFC 9106 low-memory
profile), ``STAFF_TRUSTED_PROXIES`` (the older name of ``TRUSTED_PROXIES``, honoured: the larger
counts), ``RATELIMIT_KEY_PREFIX`` (``<SOCKETIO_CHANNEL>:ratelimit``), ``SOCKETIO_CORS_ORIGINS``
(``[]``: same origin only).

The server's own settings are read by ``deploy/gunicorn.conf.py`` before the app is loaded, and
stay there: ``PIAOJUE_BIND`` (``127.0.0.1:8000``), ``PIAOJUE_WORKER`` (``gevent`` or ``gthread``),
``PIAOJUE_THREADS`` (64), ``PIAOJUE_CONNECTIONS`` (10000), ``PIAOJUE_GC_TUNING`` (1) and
``PIAOJUE_GC_LOG`` (tally.ops.gc_tuning).
"""

from __future__ import annotations

import os
import secrets
from typing import Any, ClassVar


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class Config:
    INSTANCE_PATH: str | None = os.environ.get("PIAOJUE_INSTANCE_PATH") or None
    DATABASE_URL: str | None = os.environ.get("DATABASE_URL")
    KEY_ENCRYPTION_KEY: str | None = os.environ.get("PIAOJUE_KEY_ENCRYPTION_KEY")
    PUBLIC_URL: str | None = os.environ.get("PIAOJUE_PUBLIC_URL")
    PUBLIC_URL_WARNING: bool = os.environ.get("PIAOJUE_PUBLIC_URL_WARNING", "1") != "0"
    MAX_CONTENT_LENGTH: int = int(os.environ.get("PIAOJUE_MAX_BODY", str(1024 * 1024)))
    SECRET_KEY: str = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    SOCKETIO_MESSAGE_QUEUE: str | None = os.environ.get("SOCKETIO_MESSAGE_QUEUE")
    SOCKETIO_CHANNEL: str = os.environ.get("SOCKETIO_CHANNEL", "piaojue-live")
    TRUSTED_PROXIES: int = int(os.environ.get("PIAOJUE_TRUSTED_PROXIES", "0") or 0)
    RATELIMIT_STORAGE_URL: str | None = os.environ.get("PIAOJUE_RATELIMIT_STORAGE_URL")
    RATELIMIT_CHECKIN_ADDRESS: str = os.environ.get("PIAOJUE_RATELIMIT_CHECKIN_ADDRESS", "6000 per minute")
    RATELIMIT_CHECKIN_CREDENTIAL: str = os.environ.get("PIAOJUE_RATELIMIT_CHECKIN_CREDENTIAL", "10 per minute")
    RATELIMIT_LOGIN_ADDRESS: str = os.environ.get("PIAOJUE_RATELIMIT_LOGIN_ADDRESS", "30 per minute")
    RATELIMIT_PAIR_ADDRESS: str = os.environ.get("PIAOJUE_RATELIMIT_PAIR_ADDRESS", "600 per minute")
    RATELIMIT_PAIR_FAILURES_ADDRESS: str = os.environ.get("PIAOJUE_RATELIMIT_PAIR_FAILURES_ADDRESS", "60 per 10 minutes")
    SOCKETIO_ASYNC_MODE: str = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    KIOSK_POST_TIMEOUT: float = float(os.environ.get("PIAOJUE_KIOSK_POST_TIMEOUT", "30") or 30)
    LIVE_TURNOUT_INTERVAL: float | None = (
        float(os.environ["PIAOJUE_TURNOUT_INTERVAL"]) if os.environ.get("PIAOJUE_TURNOUT_INTERVAL") else None
    )
    LIVE_TURNOUT_STAFF_INTERVAL: float | None = (
        float(os.environ["PIAOJUE_TURNOUT_STAFF_INTERVAL"]) if os.environ.get("PIAOJUE_TURNOUT_STAFF_INTERVAL")
        else None
    )
    SESSION_COOKIE_SECURE: bool = os.environ.get("PIAOJUE_SECURE_COOKIES") == "1"
    BABEL_DEFAULT_TIMEZONE: str = os.environ.get("PIAOJUE_TIMEZONE", "Asia/Shanghai")
    STAFF_LOGIN_MAX_FAILURES: int = _int("PIAOJUE_STAFF_LOGIN_MAX_FAILURES", 5)
    STAFF_LOGIN_WINDOW: int = _int("PIAOJUE_STAFF_LOGIN_WINDOW", 900)
    STAFF_LOGIN_LOCKOUT: int = _int("PIAOJUE_STAFF_LOGIN_LOCKOUT", 900)
    STAFF_IDLE_MINUTES: int = _int("PIAOJUE_STAFF_IDLE_MINUTES", 120)
    STAFF_ARGON2: ClassVar[dict[str, Any]] = {}
    STAFF_TRUSTED_PROXIES: int = 0
    AUTO_MIGRATE = True
    VOTE_TIMER = True
    RATELIMIT_KEY_PREFIX: str | None = None
    SOCKETIO_CORS_ORIGINS: ClassVar[list[str]] = []
    JSON_SORT_KEYS = False
    TESTING = False


class TestConfig(Config):
    TESTING = True
