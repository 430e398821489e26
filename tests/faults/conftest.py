"""Private servers for the fault campaign (issue #6, docs/reliability.md "Faults").

Faults are injected into servers the tests own, never into the shared PostgreSQL at 5432 or the
shared Redis at 6379: a PostgreSQL cluster of its own (``initdb`` + ``pg_ctl`` as the
``postgres`` OS user, in a temporary folder, on a free port), a ``redis-server`` of its own, a
small tmpfs for a SQLite instance folder, and the tally itself under gunicorn
(deploy/gunicorn.conf.py), exactly as it is deployed. Every process started here is stopped here.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from service.conftest import KEK, app, client, database_url, make_app, meeting  # noqa: F401 - fixtures

from ballot.audit import check_receipt, verify_record
from ballot.record import read_record
from bench.cluster import free_port
from tally.services import lifecycle

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(max(glob.glob("/usr/lib/postgresql/*/bin"))) if glob.glob("/usr/lib/postgresql/*/bin") else None
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


# ---------------------------------------------------------------- HTTP with a bound


@dataclass
class Response:
    status: int
    body: Any
    seconds: float


def request(port: int, method: str, path: str, body: Any = None, *, timeout: float = 15.0,
            headers: dict[str, str] | None = None) -> Response:
    """One request on a fresh connection; raises ``TimeoutError``/``OSError`` past ``timeout``."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data,
                           headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        kind = response.getheader("Content-Type", "")
        parsed: Any = json.loads(raw) if raw and kind.startswith("application/json") else raw
        return Response(response.status, parsed, time.monotonic() - started)
    finally:
        connection.close()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- the demo meeting m1 (test client)


def cast(client, meeting, app, deputy, choice):  # noqa: F811 - pytest fixtures, by name
    """Encrypt and post one ballot for v1 of the demo meeting ``m1`` (test client)."""
    ballot = meeting.ballot(app, "v1", deputy, {"motion": [choice]})
    return ballot, client.post("/api/meetings/m1/votes/v1/ballots", json=ballot.entry)


def public_state(client):  # noqa: F811 - pytest fixture, by name
    """Everything a half-written ballot could have touched, as the public API shows it."""
    sth = client.get("/api/meetings/m1/sth").get_json()
    entries = client.get(f"/api/meetings/m1/entries?start=0&end={sth['tree_size']}").get_json()["entries"]
    vote = client.get("/api/meetings/m1/votes/v1").get_json()
    return sth, entries, vote["cast"]


def open_with_ballots(app, client, meeting, count):  # noqa: F811 - pytest fixtures, by name
    """Check everyone in, open v1, cast ``count`` ballots; return their receipts."""
    for deputy in meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="test")
    receipts = []
    for deputy in meeting.deputies[:count]:
        _ballot, response = cast(client, meeting, app, deputy, "yes")
        assert response.status_code == 201
        receipts.append(response.get_json())
    return receipts


def verify_all(client, receipts, tmp_path):  # noqa: F811 - pytest fixture, by name
    """The record verifies (ballot.audit, SPEC §8) and so does every receipt against it."""
    archive = client.get("/api/meetings/m1/record.zip")
    assert archive.status_code == 200
    path = tmp_path / "record.zip"
    path.write_bytes(archive.data)
    record = read_record(path)
    report = verify_record(record)
    for receipt in receipts:
        check_receipt(record, report, receipt)
    assert report.ok, report


# ---------------------------------------------------------------- a private PostgreSQL


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free loopback port, run as the ``postgres`` user."""

    def __init__(self) -> None:
        if PG_BIN is None:
            raise RuntimeError("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin)")
        self.root = Path(tempfile.mkdtemp(prefix="piaojue-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
            cwd=self.root, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {result.stdout}{result.stderr}")

    def start(self) -> float:
        """Start and wait until it accepts connections; return the seconds it took."""
        started = time.monotonic()
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return time.monotonic() - started

    def stop(self, mode: str) -> float:
        """``pg_ctl stop -m fast`` (roll back and disconnect every session, then a clean shutdown)
        or ``-m immediate`` (no shutdown at all: crash recovery at the next start)."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        return time.monotonic() - started

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------- a private Redis


class PrivateRedis:
    """A ``redis-server`` of its own on a free loopback port (no persistence)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="piaojue-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> float:
        started = time.monotonic()
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 - the child keeps its own descriptor
        try:
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.root)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            log.close()
        wait_until(self._answers, 10, f"redis-server on port {self.port}")
        return time.monotonic() - started

    def _answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM: it closes every client connection and exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------- the tally under gunicorn


@dataclass
class Tally:
    """One tally instance: gunicorn with deploy/gunicorn.conf.py on a free port."""

    database_url: str
    instance: Path
    threads: int = 16
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.port = free_port()
        self.log = self.instance / "gunicorn.log"
        self.instance.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("SOCKETIO_MESSAGE_QUEUE", "PIAOJUE_PUBLIC_URL")}
        env.update(DATABASE_URL=self.database_url, PIAOJUE_KEY_ENCRYPTION_KEY=KEK,
                   PIAOJUE_INSTANCE_PATH=str(self.instance), PIAOJUE_BIND=f"127.0.0.1:{self.port}",
                   PIAOJUE_THREADS=str(self.threads), PYTHONPATH=str(ROOT), **self.env)
        log = open(self.log, "ab")  # noqa: SIM115 - the child keeps its own descriptor
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                cwd=self.instance, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            wait_until(self._answers, 60, f"gunicorn on port {self.port}", interval=0.1)
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_text()}")
        try:
            return request(self.port, "GET", "/api/meetings/none", timeout=2).status == 404
        except OSError:
            return False

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def get(self, path: str, **kwargs: Any) -> Response:
        return request(self.port, "GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return request(self.port, "POST", path, body, **kwargs)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# ---------------------------------------------------------------- a filesystem that fills up


class SmallFilesystem:
    """A tmpfs of ``size`` bytes mounted on a fresh folder (the test runs as root)."""

    def __init__(self, size: int) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="piaojue-full-"))
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(self.path)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            os.rmdir(self.path)
            raise RuntimeError(f"cannot mount a tmpfs (the fault tests run as root): {result.stderr}")

    def fill(self, name: str = "filler") -> Path:
        """Write zeros until the filesystem is full (ENOSPC); return the filler file."""
        filler = self.path / name
        chunk = b"\0" * 4096
        with open(filler, "ab", buffering=0) as out:
            try:
                while True:
                    out.write(chunk)
            except OSError as exc:
                if exc.errno != 28:  # ENOSPC
                    raise
            try:  # the last partial block too
                while True:
                    out.write(b"\0")
            except OSError as exc:
                if exc.errno != 28:
                    raise
        return filler

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def small_filesystem():
    filesystem = SmallFilesystem(8 * 1024 * 1024)
    try:
        yield filesystem
    finally:
        filesystem.close()
