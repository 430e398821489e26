"""Fixtures for the tally service: every test runs on SQLite and on PostgreSQL (a fresh schema
per test in the ``test`` database at 127.0.0.1:5432). PostgreSQL must be up: there is no skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from ballot.encrypt import EncryptedBallot, encrypt_ballot
from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from tally import create_app, demo
from tally.store import cache, logstore, migrations

POSTGRES_URL = os.environ.get("PIAOJUE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KEK = "11" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/tally.sqlite3"
        return
    with postgres_schema("t_") as url:
        yield url


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """The URL of a fresh schema (``prefix`` + random hex) of the shared PostgreSQL server,
    dropped with everything in it afterwards."""
    schema = prefix + uuid.uuid4().hex[:16]
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_app(database_url: str, instance: str, **config: Any):
    cache.clear()
    logstore._trees.clear()
    app = create_app(
        {"DATABASE_URL": database_url, "KEY_ENCRYPTION_KEY": KEK, "TESTING": True, **config},
        instance_path=instance,
    )
    if not database_url.startswith("sqlite"):
        migrations.upgrade(app)
    return app


@pytest.fixture
def app(database_url, tmp_path):
    application = make_app(database_url, str(tmp_path / "instance"))
    yield application
    application.extensions["piaojue.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Deputy:
    seat: str
    code: str
    key: Ed25519PrivateKey

    @property
    def credential(self) -> str:
        return public_key_hex(self.key)


@dataclass
class DemoMeeting:
    meeting_id: str
    deputies: list[Deputy]
    hash: bytes
    public_key: Any

    def checkin_body(self, deputy: Deputy, seat: str | None = None) -> dict[str, str]:
        seat = seat or deputy.seat
        return {"credential": deputy.credential, "seat": seat, "signature": sign_checkin(deputy.key, self.hash, seat)}

    def ballot(self, app, vote_id: str, deputy: Deputy, choices: dict[str, list[str]]) -> EncryptedBallot:
        with app.app_context():
            definition = cache.vote_definition(self.meeting_id, vote_id)
        return encrypt_ballot(definition, self.hash, self.public_key, deputy.key, choices)


@pytest.fixture
def meeting(app):
    """A sealed demo meeting of 8 deputies (5 trustees, threshold 3, the five-vote agenda)."""
    with app.app_context():
        people = demo.create_demo("m1", 8)
        parsed = cache.sealed_meeting("m1")
    deputies = [Deputy(p.seat, p.code, derive_private_key(p.code, "m1")) for p in people]
    return DemoMeeting("m1", deputies, parsed.hash, parsed.public_key)


def staff_headers(app, role: str = "clerk", **kwargs: Any) -> dict[str, str]:
    from tally.api import tokens

    with app.app_context():
        token = tokens.create_token(f"test-{role}", role, **kwargs)
    return {"Authorization": f"Bearer {token}"}


def log_size(client, meeting_id: str = "m1") -> int:
    return client.get(f"/api/meetings/{meeting_id}/sth").get_json()["tree_size"]
