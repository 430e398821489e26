"""A local production-shaped deployment for tests and benchmarks: PostgreSQL (a fresh schema),
Redis as the Socket.IO message queue, N single-process gunicorn instances, and nginx with
``ip_hash`` in front (deploy/nginx.conf.template, deploy/gunicorn.conf.py). Loopback only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("PIAOJUE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PIAOJUE_TEST_REDIS", "redis://127.0.0.1:6379/0")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                return
        except urllib.error.HTTPError as exc:
            exc.close()
            return  # the server answers
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up within {timeout} s") from None
            time.sleep(0.2)


@dataclass
class Cluster:
    instances: int = 2
    threads: int = 64
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="piaojue-cluster-")))
    schema: str = field(default_factory=lambda: "c_" + uuid.uuid4().hex[:12])
    channel: str = field(default_factory=lambda: "piaojue-test-" + uuid.uuid4().hex[:8])
    redis_url: str = REDIS_URL  # the Socket.IO message queue (tests/faults runs a private Redis)
    ports: list[int] = field(default_factory=list)
    nginx_port: int = 0
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"{POSTGRES_URL}?options=-csearch_path%3D{self.schema}",
            PIAOJUE_KEY_ENCRYPTION_KEY="33" * 32,
            SOCKETIO_MESSAGE_QUEUE=self.redis_url,
            SOCKETIO_CHANNEL=self.channel,
            PYTHONPATH=str(ROOT),
        )
        return env

    def flask(self, *args: str) -> str:
        """Run ``flask --app tally ARGS`` against the cluster's database; return its output."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tally", *args],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=600,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> Self:
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        admin.dispose()
        self.flask("db", "upgrade")
        self.ports = [free_port() for _ in range(self.instances)]
        for port in self.ports:
            env = dict(self.env, PIAOJUE_BIND=f"127.0.0.1:{port}", PIAOJUE_THREADS=str(self.threads))
            log = open(self.workdir / f"gunicorn-{port}.log", "wb")  # noqa: SIM115 - closed in stop()
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                    cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )
            log.close()
        for port in self.ports:
            wait_http(f"http://127.0.0.1:{port}/api/meetings/none")
        self.nginx_port = free_port()
        prefix = self.workdir / "nginx"
        prefix.mkdir()
        conf = (ROOT / "deploy" / "nginx.conf.template").read_text()
        servers = "\n".join(f"        server 127.0.0.1:{port};" for port in self.ports)
        conf = (conf.replace("@LISTEN@", f"127.0.0.1:{self.nginx_port}")
                .replace("@UPSTREAM_SERVERS@", servers).replace("@PREFIX@", str(prefix)))
        (prefix / "nginx.conf").write_text(conf)
        self.processes.append(
            subprocess.Popen(
                [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        )
        wait_http(f"http://127.0.0.1:{self.nginx_port}/api/meetings/none")
        return self

    def url(self, index: int | None = None) -> str:
        """Instance ``index``'s base URL, or nginx's when ``index`` is None."""
        port = self.nginx_port if index is None else self.ports[index]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
