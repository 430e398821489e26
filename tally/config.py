"""Configuration from the environment (DESIGN.md: a ``Config`` read from the environment,
``TestConfig`` overriding it).

| variable | meaning | default |
|---|---|---|
| ``PIAOJUE_INSTANCE_PATH`` | the instance folder (SQLite file, KEK file, demo trustees) | ``instance/`` beside the code |
| ``DATABASE_URL`` | SQLAlchemy URL; ``postgresql+psycopg://…`` for PostgreSQL | SQLite file ``instance/piaojue.sqlite3`` |
| ``PIAOJUE_KEY_ENCRYPTION_KEY`` | 64 hex chars (32 bytes): wraps each meeting's log key at rest | a random key kept in ``instance/key-encryption-key`` (mode 0600) |
| ``PIAOJUE_PUBLIC_URL`` | base URL printed in receipts' QR codes | the request's host URL |
| ``PIAOJUE_MAX_BODY`` | largest request body in bytes | 1 MiB |
| ``SECRET_KEY`` | Flask session signing key (staff pages) | random per process |
| ``SOCKETIO_MESSAGE_QUEUE`` | ``redis://127.0.0.1:6379/0``: Socket.IO events across instances and from CLI commands | none (in-process) |
| ``SOCKETIO_CHANNEL`` | the Redis pub/sub channel (one per deployment sharing a Redis) | ``piaojue-live`` |
"""

from __future__ import annotations

import os
import secrets


class Config:
    DATABASE_URL: str | None = os.environ.get("DATABASE_URL")
    KEY_ENCRYPTION_KEY: str | None = os.environ.get("PIAOJUE_KEY_ENCRYPTION_KEY")
    PUBLIC_URL: str | None = os.environ.get("PIAOJUE_PUBLIC_URL")
    MAX_CONTENT_LENGTH: int = int(os.environ.get("PIAOJUE_MAX_BODY", str(1024 * 1024)))
    SECRET_KEY: str = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    SOCKETIO_MESSAGE_QUEUE: str | None = os.environ.get("SOCKETIO_MESSAGE_QUEUE")
    SOCKETIO_CHANNEL: str = os.environ.get("SOCKETIO_CHANNEL", "piaojue-live")
    JSON_SORT_KEYS = False
    TESTING = False


class TestConfig(Config):
    TESTING = True
