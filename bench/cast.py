"""Ballot intake of the real tally service under gunicorn, on SQLite and on PostgreSQL (issue #3).

For each store a demo meeting (``tally.demo.create_demo``) is built in the target database; the
service is started with gunicorn on 127.0.0.1; every deputy checks in over HTTP (signed
check-ins), one ballot per deputy is encrypted *before* timing (a process pool, one worker per
core), the vote is opened through the staff API, and C concurrent keep-alive clients post all the
ballots. Reported: throughput over the whole run, and the p50/p99 latency of the ``201``
responses (every ballot must get one). Then the vote is closed and the demo trustees decrypt over
HTTP (load the state file, GET the aggregates, compute the share, POST it); "close → published"
runs from the close request to the result being readable, "last share → published" from the last
trustee's share POST to the same point (the trustees' state-file KDF counts only in the first).

Both gunicorn configurations are tried on the 386-deputy resolution vote of each store; the faster
one serves the rest of that store's matrix. ``--quick`` runs only that step and writes nothing.

The machine may be shared (other test suites, browsers): each timed load waits until the cores are
idle, and the CPU used during it is reported as service / clients / other (``CpuMeter``; any
``postgres`` process counts as service). A pilot disturbed by other work is re-run.

Run with ``python -m bench cast`` (or ``python -m bench`` for every benchmark). PostgreSQL comes
from ``PIAOJUE_BENCH_POSTGRES`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
the benchmark works in a schema of its own, created and dropped here.

Long: one benchmark end to end (service, tablets, trustees, report); its overlap with live.py: #14 item 4.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ballot.meeting import parse_meeting
from ballot.vote import parse_vote
from bench.report import table, write_section
from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from keys.decrypt import parse_aggregates, partial_decrypt
from keys.statefile import load_state
from piaojue_tools import demo_data

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("PIAOJUE_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KEK = "5a" * 32
CONCURRENCY = 32
ENCRYPT_PROCESSES = max(1, min(2, os.cpu_count() or 1))
GUNICORN_CONFIGS: dict[str, list[str]] = {
    "gthread": ["-w", "2", "--threads", "8", "-k", "gthread"],
    "gthread-32": ["-w", "2", "--threads", "32", "-k", "gthread"],
    "sync": ["-w", "4"],
}
BALLOTS = {"v1": "resolution (v1)", "v3": "13 projects, up to 10 (v3)"}
TARGET_RATE = 300.0
TARGET_P99 = 1.0
TARGET_PUBLISH = 2.0
QUIET_CORES = 0.15  # before each timed load, wait (up to MAX_QUIET_WAIT s) until the machine is this idle
MAX_QUIET_WAIT = 90.0
DISTURBED_CORES = 0.25  # a run during which other work used more than this is marked (pilots are re-run)
PILOT_ATTEMPTS = 3


# ---------------------------------------------------------------------------------------------
# The demo roster above 800 deputies


@contextmanager
def _unique_seats() -> Iterator[None]:
    """``piaojue_tools.demo_data.deputy_roster`` numbers seats A001…H100 and then wraps around, so a demo
    of more than 800 deputies repeats seats (and ``create_demo`` fails on the roster's unique
    key). Seats from the 801st deputy on get the next hundred (A101…), here only."""
    original = demo_data.deputy_roster

    def roster(count: int, seed: int = 0) -> list[dict[str, str]]:
        rows = original(count, seed)
        for i, row in enumerate(rows):
            if i >= 800:
                row["seat"] = f"{'ABCDEFGH'[i // 100 % 8]}{i % 100 + 1 + 100 * (i // 800):03d}"
        return rows

    demo_data.deputy_roster = roster
    try:
        yield
    finally:
        demo_data.deputy_roster = original


# ---------------------------------------------------------------------------------------------
# Stores and the in-process setup


@contextmanager
def database(store: str, tmp: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file, or a PostgreSQL schema that is dropped afterwards."""
    if store == "sqlite":
        yield f"sqlite:///{tmp / 'cast.sqlite3'}"
        return
    from sqlalchemy import create_engine, text

    schema = "bench_cast_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@dataclass
class Person:
    seat: str
    code: str


@dataclass
class DemoMeeting:
    meeting_id: str
    people: list[Person]
    token: str
    trustee_dir: Path


class Setup:
    """An in-process app on the store, for what the benchmark does not time: creating the demo
    meeting (roster, credentials, ceremony, votes, seal) and a clerk token."""

    def __init__(self, url: str, instance: Path) -> None:
        from tally import create_app
        from tally.store import cache, logstore, migrations

        cache.clear()
        logstore._trees.clear()
        # No vote timer: the served instances run their own, and a timer round in flight while
        # this app's engine is disposed would leak its connection.
        self.app = create_app({"DATABASE_URL": url, "KEY_ENCRYPTION_KEY": KEK, "VOTE_TIMER": False},
                              instance_path=str(instance))
        if not url.startswith("sqlite"):
            migrations.upgrade(self.app)

    def meeting(self, meeting_id: str, deputies: int) -> DemoMeeting:
        from tally import demo
        from tally.api import tokens

        with self.app.app_context(), _unique_seats():
            people = demo.create_demo(meeting_id, deputies)
            token = tokens.create_token(f"bench-{meeting_id}", "clerk")
            folder = demo.trustee_dir(meeting_id)
        self.app.extensions["piaojue.engine"].dispose()
        return DemoMeeting(meeting_id, [Person(p.seat, p.code) for p in people], token, folder)

    def close(self) -> None:
        from tally.store import cache, logstore

        self.app.extensions["piaojue.engine"].dispose()
        cache.clear()
        logstore._trees.clear()


# ---------------------------------------------------------------------------------------------
# gunicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_argv(config: str, port: int, instance: Path) -> list[str]:
    return [
        str(Path(sys.executable).with_name("gunicorn")),
        "-b", f"127.0.0.1:{port}",
        *GUNICORN_CONFIGS[config],
        f"tally:create_app(instance_path={json.dumps(str(instance))})",
    ]


def gunicorn_command(config: str) -> str:
    """The command line as a reader would type it (placeholders for the per-run values)."""
    factory = 'tally:create_app(instance_path="INSTANCE")'
    argv = ["gunicorn", "-b", "127.0.0.1:PORT", *GUNICORN_CONFIGS[config], factory]
    return "DATABASE_URL=… PIAOJUE_KEY_ENCRYPTION_KEY=… " + shlex.join(argv)


class Server:
    """gunicorn serving ``tally:create_app()`` on a free loopback port, until :meth:`stop`.

    ``port`` reuses a given port (a restart after a crash, tests.stress.crash); ``argv`` replaces
    the command line of ``GUNICORN_CONFIGS[config]`` (e.g. ``-c deploy/gunicorn.conf.py``);
    ``env`` adds environment variables; ``ready_timeout`` bounds the wait for ``ready_path`` to
    answer 200. gunicorn runs in a session of its own, so that its process group (master and
    workers) is ``proc.pid``.
    """

    def __init__(self, config: str, url: str, instance: Path, log: Path, ready_path: str, *,
                 port: int | None = None, argv: list[str] | None = None,
                 env: dict[str, str] | None = None, ready_timeout: float = 60.0) -> None:
        self.config = config
        self.port = port if port is not None else free_port()
        environment = {**os.environ, "DATABASE_URL": url, "PIAOJUE_KEY_ENCRYPTION_KEY": KEK, **(env or {})}
        environment.pop("PIAOJUE_PUBLIC_URL", None)
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - gunicorn writes to it until stop()
        self.proc = subprocess.Popen(
            argv if argv is not None else gunicorn_argv(config, self.port, instance), cwd=ROOT, env=environment,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            self._wait_ready(ready_path, ready_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            probe = Client(self.port, timeout=5)
            try:
                status, _ = probe.request("GET", path)
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                probe.close()
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {path} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@contextmanager
def serving(config: str, url: str, instance: Path, tmp: Path, meeting_id: str) -> Iterator[Server]:
    server = Server(config, url, instance, tmp / f"gunicorn-{config}.log", f"/api/meetings/{meeting_id}")
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# HTTP


class Client:
    """One keep-alive HTTP/1.1 connection (re-opened by http.client when the server closes it)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None,
                token: str | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def json(self, method: str, path: str, body: bytes | None = None, *, token: str | None = None,
             expect: int = 200) -> Any:
        status, data = self.request(method, path, body, token)
        if status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {status} (expected {expect}): {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


@dataclass
class LoadRun:
    wall: float
    latencies: list[float]
    failures: list[tuple[int, int, bytes]] = field(default_factory=list)


def load(port: int, path: str, bodies: list[bytes], expect: int, concurrency: int = CONCURRENCY) -> LoadRun:
    """POST every body once from ``concurrency`` keep-alive clients; time the whole run and each
    request. A request that does not get ``expect`` is a failure (reported, not retried)."""
    positions = iter(range(len(bodies)))
    guard = threading.Lock()
    go = threading.Event()
    latencies: list[float] = []
    failures: list[tuple[int, int, bytes]] = []

    def client() -> None:
        conn = Client(port)
        mine: list[float] = []
        bad: list[tuple[int, int, bytes]] = []
        go.wait()
        try:
            while True:
                with guard:
                    i = next(positions, None)
                if i is None:
                    break
                started = time.perf_counter()
                try:
                    status, data = conn.request("POST", path, bodies[i])
                except (OSError, http.client.HTTPException) as exc:
                    bad.append((i, 0, repr(exc).encode()))
                    conn.close()
                    conn = Client(port)
                    continue
                elapsed = time.perf_counter() - started
                if status == expect:
                    mine.append(elapsed)
                else:
                    bad.append((i, status, data[:300]))
        finally:
            conn.close()
            with guard:
                latencies.extend(mine)
                failures.extend(bad)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(min(concurrency, len(bodies)))]
    for t in threads:
        t.start()
    started = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    return LoadRun(time.perf_counter() - started, latencies, failures)


def process_stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, utime + stime in ticks, command name) of a process; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), name


def machine_ticks() -> list[int]:
    """The machine's CPU time counters (the first line of /proc/stat), in ticks."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def machine_busy(cpu: list[int]) -> int:
    """Ticks spent by processes (user, nice, system) or taken by the hypervisor (steal)."""
    return cpu[0] + cpu[1] + cpu[2] + (cpu[7] if len(cpu) > 7 else 0)


def wait_for_quiet(log: Callable[[str], None]) -> None:
    """Wait until the machine is nearly idle (the service is idle here, so any load is other
    work), at most MAX_QUIET_WAIT seconds."""
    deadline = time.monotonic() + MAX_QUIET_WAIT
    waited = False
    while True:
        try:
            before, t0 = machine_busy(machine_ticks()), time.perf_counter()
            time.sleep(1.0)
            busy = (machine_busy(machine_ticks()) - before) / CpuMeter.TICK / (time.perf_counter() - t0)
        except (OSError, ValueError):
            return
        if busy <= QUIET_CORES:
            if waited:
                log(f"  the machine is quiet again ({busy:.2f} cores busy)")
            return
        if time.monotonic() > deadline:
            log(f"  the machine is still busy ({busy:.2f} cores used by other work); measuring anyway")
            return
        if not waited:
            log(f"  other work is using {busy:.2f} cores; waiting up to {MAX_QUIET_WAIT:.0f} s")
            waited = True


class CpuMeter:
    """CPU used during a run on this (Linux) machine, in cores: by the service (gunicorn and
    PostgreSQL), by this benchmark process, and by everything else (other work on a shared
    machine, which lowers the figures). ``None`` where /proc cannot be read."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, server: Server) -> None:
        self.server = server
        self.start = self._sample()

    def _sample(self) -> dict[str, Any] | None:
        try:
            cpu = machine_ticks()
            service: dict[int, int] = {}
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                stat = process_stat(int(entry))
                if stat is None:
                    continue
                ppid, ticks, name = stat
                master = self.server.proc.pid
                if name.startswith("postgres") or int(entry) == master or ppid == master:
                    service[int(entry)] = ticks
        except (OSError, ValueError):
            return None
        me = os.times()
        return {
            "time": time.perf_counter(),
            "busy": machine_busy(cpu),
            "service": service,
            "bench": (me.user + me.system) * self.TICK,
        }

    def stop(self) -> dict[str, float] | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        seconds = (end["time"] - self.start["time"]) * self.TICK
        service = sum(t - self.start["service"].get(pid, 0) for pid, t in end["service"].items())
        bench = end["bench"] - self.start["bench"]
        other = end["busy"] - self.start["busy"] - service - bench
        return {"service": service / seconds, "bench": bench / seconds, "other": max(0.0, other / seconds)}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# ---------------------------------------------------------------------------------------------
# One vote: encrypt, open, cast, close, decrypt, publish


@dataclass
class Result:
    store: str
    vote_id: str
    deputies: int
    config: str
    ballots: int
    seconds: float
    p50: float
    p99: float
    close_to_published: float
    last_share_to_published: float
    encrypt_seconds: float
    cpu: dict[str, float] | None = None

    @property
    def rate(self) -> float:
        return self.ballots / self.seconds


def check_in_all(server: Server, meeting: DemoMeeting) -> tuple[bytes, str]:
    """Every deputy checks in (signed, over HTTP); returns the meeting hash and public key."""
    client = Client(server.port)
    info = client.json("GET", f"/api/meetings/{meeting.meeting_id}")
    client.close()
    parsed = parse_meeting(info["meeting"])
    if parsed.hash.hex() != info["meeting_hash"]:
        raise RuntimeError("the served meeting hash does not match the meeting entry")
    bodies = []
    for person in meeting.people:
        key = derive_private_key(person.code, meeting.meeting_id)
        bodies.append(json.dumps({
            "credential": public_key_hex(key), "seat": person.seat,
            "signature": sign_checkin(key, parsed.hash, person.seat),
        }).encode())
    run = load(server.port, f"/api/meetings/{meeting.meeting_id}/checkin", bodies, expect=200)
    if run.failures:
        raise RuntimeError(f"{len(run.failures)} check-ins failed, first: {run.failures[0]}")
    return parsed.hash, parsed.public_key.hex()


def encrypt_all(meeting: DemoMeeting, meeting_hash: bytes, public_key: str, vote_entry: dict[str, Any],
                seed: int) -> list[bytes]:
    from bench import _cast_worker

    tasks = [(i, p.code, seed) for i, p in enumerate(meeting.people)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(
        ENCRYPT_PROCESSES, initializer=_cast_worker.init,
        initargs=(meeting.meeting_id, meeting_hash.hex(), public_key, vote_entry),
    ) as pool:
        chunk = max(1, len(tasks) // (ENCRYPT_PROCESSES * 8))
        return pool.map(_cast_worker.encrypt_one, tasks, chunksize=chunk)


def run_vote(store: str, server: Server, meeting: DemoMeeting, vote_id: str, meeting_hash: bytes,
             public_key: str, log: Callable[[str], None]) -> Result:
    mid, people = meeting.meeting_id, meeting.people
    base = f"/api/meetings/{mid}/votes/{vote_id}"
    client = Client(server.port)
    info = client.json("GET", base)
    definition = parse_vote(info["vote"])
    if definition.hash.hex() != info["vote_hash"] or info["state"] != "pending":
        raise RuntimeError(f"vote {vote_id}: unexpected {info['vote_hash']} / {info['state']}")
    client.close()

    started = time.perf_counter()
    bodies = encrypt_all(meeting, meeting_hash, public_key, info["vote"], seed=int(vote_id[1:]))
    encrypt_seconds = time.perf_counter() - started
    log(f"  {store} {len(people)} {vote_id}: encrypted {len(bodies)} ballots in {encrypt_seconds:.1f} s")

    client = Client(server.port)
    opened = client.json("POST", f"/api/staff/meetings/{mid}/votes/{vote_id}/open", token=meeting.token)
    if opened["present"] != len(people):
        raise RuntimeError(f"vote {vote_id} opened with present={opened['present']}, expected {len(people)}")
    client.close()

    wait_for_quiet(log)
    meter = CpuMeter(server)
    run = load(server.port, f"{base}/ballots", bodies, expect=201)
    cpu = meter.stop()
    if run.failures or len(run.latencies) != len(bodies):
        first = run.failures[0] if run.failures else None
        raise RuntimeError(
            f"{len(run.failures)} of {len(bodies)} ballots were not accepted with 201; first: {first}"
        )
    client = Client(server.port)
    after = client.json("GET", base)
    if after["cast"] != len(bodies):
        raise RuntimeError(
            f"vote {vote_id}: the service counts {after['cast']} ballots, {len(bodies)} were posted"
        )
    client.close()
    log(f"  {store} {len(people)} {vote_id}: {len(bodies)} ballots in {run.wall:.2f} s "
        f"({len(bodies) / run.wall:.0f}/s)")

    close_to_published, last_to_published = close_and_publish(
        server, meeting, vote_id, meeting_hash, definition.hash
    )
    return Result(
        store, vote_id, len(people), server.config, len(bodies), run.wall,
        percentile(run.latencies, 50), percentile(run.latencies, 99),
        close_to_published, last_to_published, encrypt_seconds, cpu,
    )


def close_and_publish(server: Server, meeting: DemoMeeting, vote_id: str, meeting_hash: bytes,
                      vote_hash: bytes) -> tuple[float, float]:
    """Close the vote; the demo trustees 1…3 each load their state file, fetch the aggregates, and
    post a share; the last share publishes the result. Returns (close → published, last share →
    published), both ending when GET …/result answers 200."""
    from tally.demo import DEMO_PASSPHRASE

    mid = meeting.meeting_id
    base = f"/api/meetings/{mid}/votes/{vote_id}"
    client = Client(server.port)
    try:
        started = time.perf_counter()
        client.json("POST", f"/api/staff/meetings/{mid}/votes/{vote_id}/close", token=meeting.token)
        trustees = [1, 2, 3]
        last_started = started
        for index in trustees:
            state = load_state(meeting.trustee_dir / f"trustee-{index}.json", DEMO_PASSPHRASE)
            aggregates = parse_aggregates(client.json("GET", f"{base}/aggregates"))
            share = partial_decrypt(state, meeting_hash, vote_hash, vote_id, aggregates)
            body = json.dumps(share).encode()
            last_started = time.perf_counter()
            status = client.json("POST", f"{base}/shares", body, expect=201)
        if status.get("state") != "published":
            raise RuntimeError(f"vote {vote_id} is {status.get('state')} after {len(trustees)} shares")
        result = client.json("GET", f"{base}/result")
        finished = time.perf_counter()
        if result.get("type") != "result":
            raise RuntimeError(f"vote {vote_id}: unexpected result {str(result)[:200]}")
    finally:
        client.close()
    return finished - started, finished - last_started


# ---------------------------------------------------------------------------------------------
# The matrix


def _met(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def run(quick: bool = False, log: Callable[[str], None] = print) -> str:
    results: list[Result] = []
    pilots: list[Result] = []
    chosen: dict[str, str] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="piaojue-bench-cast-") as tmp_name:
        tmp = Path(tmp_name)
        for store in ("sqlite", "postgresql"):
            store_dir = tmp / store
            store_dir.mkdir()
            instance = store_dir / "instance"
            prefix = "sq" if store == "sqlite" else "pg"
            with database(store, store_dir) as url:
                setup = Setup(url, instance)
                try:
                    pilot_meetings: dict[str, tuple[DemoMeeting, bytes, str]] = {}
                    for config in GUNICORN_CONFIGS:
                        kept: Result | None = None
                        for attempt in range(1, PILOT_ATTEMPTS + 1):
                            meeting = setup.meeting(f"{prefix}-{config}-386-{attempt}", 386)
                            with serving(config, url, instance, store_dir, meeting.meeting_id) as server:
                                q, pk = check_in_all(server, meeting)
                                pilot = run_vote(store, server, meeting, "v1", q, pk, log)
                            if kept is None or _other(pilot) < _other(kept):
                                kept = pilot
                                pilot_meetings[config] = (meeting, q, pk)
                            if not _disturbed(pilot):
                                break
                            log(f"  {store} {config}: other work used {_other(pilot):.2f} cores; again")
                        assert kept is not None
                        pilots.append(kept)
                    mine = [p for p in pilots if p.store == store]
                    best = max(mine, key=lambda p: p.rate)
                    chosen[store] = best.config
                    results.append(best)
                    log(f"  {store}: gunicorn {best.config} is faster "
                        + ", ".join(f"{p.config} {p.rate:.0f}/s" for p in mine))
                    if quick:
                        continue
                    meeting, q, pk = pilot_meetings[best.config]
                    with serving(best.config, url, instance, store_dir, meeting.meeting_id) as server:
                        results.append(run_vote(store, server, meeting, "v3", q, pk, log))
                    meeting = setup.meeting(f"{prefix}-3000", 3000)
                    with serving(best.config, url, instance, store_dir, meeting.meeting_id) as server:
                        q, pk = check_in_all(server, meeting)
                        results.append(run_vote(store, server, meeting, "v1", q, pk, log))
                        results.append(run_vote(store, server, meeting, "v3", q, pk, log))
                finally:
                    setup.close()
    elapsed = time.perf_counter() - started
    return report(results, pilots, chosen, quick, elapsed)


def _other(r: Result) -> float:
    return r.cpu["other"] if r.cpu is not None else 0.0


def _disturbed(r: Result) -> bool:
    return _other(r) > DISTURBED_CORES


def _cpu(r: Result) -> str:
    if r.cpu is None:
        return "n/a"
    return f"{r.cpu['service']:.2f} / {r.cpu['bench']:.2f} / {r.cpu['other']:.2f}"


def report(results: list[Result], pilots: list[Result], chosen: dict[str, str], quick: bool,
           elapsed: float) -> str:
    order = {"sqlite": 0, "postgresql": 1}
    results = sorted(results, key=lambda r: (r.deputies, r.vote_id, order[r.store]))
    rows = []
    for r in results:
        published_ok = r.last_share_to_published <= TARGET_PUBLISH
        targets = [f"last share ≤ {TARGET_PUBLISH:.0f} s: {_met(published_ok)}"]
        if r.store == "postgresql" and r.vote_id == "v1" and r.deputies >= 3000:
            targets.insert(0, f"≥ {TARGET_RATE:.0f}/s: {_met(r.rate >= TARGET_RATE)}, "
                              f"p99 ≤ {TARGET_P99:.0f} s: {_met(r.p99 <= TARGET_P99)}")
        rows.append([
            r.store, BALLOTS[r.vote_id], f"{r.deputies:,}",
            f"{r.rate:,.0f}" + (" †" if _disturbed(r) else ""),
            f"{r.p50 * 1000:.0f}",
            f"{r.p99 * 1000:.0f}", f"{r.close_to_published:.2f}", f"{r.last_share_to_published:.2f}",
            _cpu(r), "; ".join(targets),
        ])
    by_cell = {(r.store, r.vote_id, r.deputies): r for r in results}
    ratios = []
    for r in results:
        if r.store == "postgresql" and ("sqlite", r.vote_id, r.deputies) in by_cell:
            base = by_cell[("sqlite", r.vote_id, r.deputies)]
            ratios.append(f"{BALLOTS[r.vote_id]} × {r.deputies:,}: {r.rate / base.rate:.2f}")
    pilot_rows = [
        [p.store, p.config, f"`{shlex.join(GUNICORN_CONFIGS[p.config])}`",
         f"{p.rate:,.0f}" + (" †" if _disturbed(p) else ""),
         f"{p.p50 * 1000:.0f}", f"{p.p99 * 1000:.0f}", _cpu(p),
         "**chosen**" if chosen.get(p.store) == p.config else ""]
        for p in sorted(pilots, key=lambda p: (order[p.store], p.config))
    ]
    commands = "\n".join(f"- {store}: `{gunicorn_command(config)}`" for store, config in chosen.items())
    encrypt = ", ".join(
        f"{BALLOTS[r.vote_id]} × {r.deputies:,}: {r.encrypt_seconds:.1f} s"
        for r in results if r.store == "postgresql"
    )
    parts = [
        f"Ballot intake through gunicorn on 127.0.0.1, {CONCURRENCY} concurrent keep-alive clients "
        f"(threads in the benchmark process, on the same {os.cpu_count()} cores as the server), each deputy "
        "posting one pre-encrypted ballot; every response must be `201`. Throughput is over the whole run; "
        "latency is per request. \"close → published\": from the close request until `GET …/result` answers, "
        "with the 3 demo trustees in turn loading their state file (Argon2id), fetching the aggregates, "
        "and posting a share over HTTP; \"last share → published\": from the last share POST to the same "
        "point. \"CPU cores\", during the ballot load: the service (gunicorn workers and PostgreSQL), "
        "the benchmark's client threads, and everything else on the machine (non-zero means other work "
        "shared the cores and the figures are low; † marks runs where it exceeded "
        f"{DISTURBED_CORES} cores). Each timed load starts once the machine is idle. "
        f"Targets: 3,000 resolution ballots at ≥ {TARGET_RATE:.0f} ballots/s on PostgreSQL with "
        f"p99 ≤ {TARGET_P99:.0f} s; published ≤ {TARGET_PUBLISH:.0f} s after the last trustee share.\n\n"
        + table(["store", "ballot", "deputies", "ballots/s", "p50 ms", "p99 ms", "close→published s",
                 "last share→published s", "CPU cores: service / clients / other", "targets"], rows),
        "PostgreSQL / SQLite throughput (SQLite measured in the same run): "
        + ("; ".join(ratios) or "—") + ".",
        "gunicorn configuration, tried on the 386-deputy resolution vote of each store (the faster one "
        "serves the rest of that store's runs; sync workers serve one request at a time, so the per-process "
        "group commit of `tally.store.batching` never gets more than one ballot per transaction):\n\n"
        + table(["store", "config", "options", "ballots/s", "p50 ms", "p99 ms", "CPU cores", ""], pilot_rows)
        + "\n\nCommand lines used:\n\n" + commands,
        f"Setup not timed: demo meeting creation, signed check-ins over HTTP, ballot encryption in "
        f"{ENCRYPT_PROCESSES} processes ({encrypt}). Whole benchmark: {elapsed / 60:.1f} min"
        + (" (quick run)." if quick else "."),
    ]
    return "\n\n".join(parts)


def main(quick: bool = False) -> str:
    body = run(quick)
    print(body)
    if not quick:
        write_section("cast", "python -m bench cast", body)
    return body
