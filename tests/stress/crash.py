"""The crash campaign (issue #6, item 1; docs/reliability.md "Crash: kill -9 under load").

    .venv/bin/python -m tests.stress.crash --store sqlite|postgresql --ballots 3000 --kills 5 \\
        --clients 16 --seed N

1. A sealed demo meeting of ``--ballots`` deputies is created in a fresh store (a SQLite file, or
   a PostgreSQL schema in ``PIAOJUE_BENCH_POSTGRES``, dropped afterwards), with bench.cast's
   machinery; gunicorn serves it with ``deploy/gunicorn.conf.py`` (one process; its default
   gevent worker, or ``PIAOJUE_WORKER=gthread`` in the environment); every
   deputy checks in over HTTP; one ballot per deputy is encrypted beforehand; vote v1 opens.
2. ``--clients`` threads stream the ballots. On a connection error or a 5xx a client posts the
   *same bytes* again (after a pause doubling from 20 to 250 ms) until it gets a receipt
   (SPEC §11: the same ballot again is ``200`` with the same receipt); a 4xx is final. Clients keep every receipt and every STH they see (in receipts, and from a
   poller that reads ``GET /sth`` every 25 ms).
3. Meanwhile a killer sends SIGKILL to gunicorn's process group (master and worker at once) at
   random moments, ``--kills`` times, each while ballots are streaming and after the current
   server has issued at least one receipt; it restarts gunicorn on the same port each time. The
   kill points are drawn at random, one in each of ``--kills`` equal slices of 5–80 % of the
   ballots, with a random 0–50 ms delay.
4. After the last receipt the server is killed once more and restarted (so everything below is
   read by a process that rebuilt its state from the store), the vote is closed and the demo
   trustees decrypt and publish over HTTP. Then the evidence is gathered: the record.zip,
   ``GET /entries``, the leaf indices in the database, consistency proofs from every STH size
   seen to the final size, inclusion proofs of every receipt in the final tree, the aggregates;
   ``python -m ballot.verify`` runs on the record; tests/stress/_crash_check.py lists every
   violation (its docstring lists the promises).

Prints a table of figures and every violation; exits 1 if there is any. ``--keep DIR`` keeps the
record.zip and the gunicorn log there.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ballot.ballot import ballot_hash
from ballot.meeting import parse_meeting
from ballot.record import read_record
from ballot.vote import parse_vote
from bench.cast import (
    Client,
    DemoMeeting,
    Server,
    Setup,
    check_in_all,
    database,
    encrypt_all,
)
from keys.decrypt import parse_aggregates, partial_decrypt
from keys.statefile import load_state
from piaojue_tools.simulate import plausible_choices
from tests.stress._crash_check import Evidence, Violation, check

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
VOTE_ID = "v1"
POLL_INTERVAL = 0.025
RETRY_PAUSE = (0.02, 0.25)  # a client's pause after a failed attempt doubles from 20 ms up to 250 ms
READY_TIMEOUT = 180.0  # a restart on a busy machine may take long; it is measured, not bounded
CLIENT_TIMEOUT = 60.0
KILL_WINDOW = (0.05, 0.80)
MAX_KILL_DELAY = 0.05


@dataclass
class Figures:
    store: str
    ballots: int
    clients: int
    seed: int
    kills: int = 0
    processes_killed: list[int] = field(default_factory=list)
    downtimes: list[float] = field(default_factory=list)
    failed_attempts: int = 0
    ballots_retried: int = 0
    created: int = 0
    duplicates: int = 0
    receipted: int = 0
    load_seconds: float = 0.0
    entries: int = 0
    sths_checked: int = 0
    sizes_proved: int = 0
    receipts_checked: int = 0
    verify_exit: int | None = None
    setup_seconds: float = 0.0
    total_seconds: float = 0.0


@dataclass
class Outcome:
    figures: Figures
    evidence: Evidence
    violations: list[Violation]


# ---------------------------------------------------------------------------------------------
# gunicorn, killed and restarted


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(name))
    return members


def stable_port() -> int:
    """A free port below Linux's ephemeral range (32768–60999), so that no client connection
    can take it while the server is down between a kill and its restart."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port in 20000–32000")


class Service:
    """gunicorn with deploy/gunicorn.conf.py on a fixed port, restartable after a SIGKILL."""

    def __init__(self, url: str, instance: Path, workdir: Path, meeting_id: str) -> None:
        self.url, self.instance, self.workdir = url, instance, workdir
        self.port = stable_port()
        self.ready_path = f"/api/meetings/{meeting_id}"
        self.log_path = workdir / "gunicorn.log"
        self.server = self._start()
        self.up = threading.Event()
        self.up.set()

    def _start(self) -> Server:
        argv = [str(Path(sys.executable).with_name("gunicorn")), "-c", str(GUNICORN_CONF)]
        env = {"PIAOJUE_BIND": f"127.0.0.1:{self.port}", "PIAOJUE_INSTANCE_PATH": str(self.instance)}
        return Server("deploy", self.url, self.instance, self.log_path, self.ready_path,
                      port=self.port, argv=argv, env=env, ready_timeout=READY_TIMEOUT)

    def kill(self) -> int:
        """SIGKILL to the master and its workers at once; wait until all are gone. Returns how
        many processes were killed."""
        self.up.clear()
        pgid = self.server.proc.pid
        members = _group_members(pgid)
        os.killpg(pgid, signal.SIGKILL)
        self.server.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _group_members(pgid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes of group {pgid} survived SIGKILL: {_group_members(pgid)}")
            time.sleep(0.01)
        self.server.stop()  # closes the log file (the process is gone)
        return len(members)

    def restart(self) -> None:
        self.server = self._start()
        self.up.set()

    def stop(self) -> None:
        self.server.stop()


# ---------------------------------------------------------------------------------------------
# The load: clients, the STH poller, the killer


class Load:
    def __init__(self, service: Service, meeting_id: str, bodies: list[bytes], clients: int, kills: int,
                 rng: random.Random, log: Callable[[str], None], deadline: float) -> None:
        self.service = service
        self.path = f"/api/meetings/{meeting_id}/votes/{VOTE_ID}/ballots"
        self.sth_path = f"/api/meetings/{meeting_id}/sth"
        self.bodies = bodies
        self.clients = clients
        self.rng = rng
        self.log = log
        self.deadline = deadline
        self.guard = threading.Lock()
        self.positions = iter(range(len(bodies)))
        self.receipts: dict[int, dict[str, Any]] = {}
        self.sths: dict[bytes, dict[str, Any]] = {}
        self.http_errors: list[str] = []
        self.failed_attempts = 0
        self.retried: set[int] = set()
        self.created = 0
        self.duplicates = 0
        self.since_restart = 0
        self.progress = threading.Condition(self.guard)
        self.done = threading.Event()
        n = len(bodies)
        low, high = KILL_WINDOW[0] * n, KILL_WINDOW[1] * n
        width = (high - low) / max(1, kills)
        self.kill_points = [int(low + k * width + rng.uniform(0, width)) for k in range(kills)]
        self.kills = 0
        self.processes_killed: list[int] = []
        self.downtimes: list[float] = []
        self.killer_error: BaseException | None = None

    def _keep_sth(self, sth: dict[str, Any]) -> None:
        key = json.dumps(sth, sort_keys=True).encode()
        with self.guard:
            self.sths.setdefault(key, sth)

    def _client(self) -> None:
        conn: Client | None = None
        try:
            while True:
                with self.guard:
                    i = next(self.positions, None)
                if i is None:
                    return
                pause = RETRY_PAUSE[0]
                while True:
                    if time.monotonic() > self.deadline:
                        with self.guard:
                            self.http_errors.append(f"ballot {i}: no receipt before the deadline")
                        return
                    try:
                        if conn is None:
                            conn = Client(self.service.port, timeout=CLIENT_TIMEOUT)
                        status, data = conn.request("POST", self.path, self.bodies[i])
                    except (OSError, http.client.HTTPException):
                        if conn is not None:
                            conn.close()
                        conn = None
                        with self.guard:
                            self.failed_attempts += 1
                            self.retried.add(i)
                        time.sleep(pause)
                        pause = min(2 * pause, RETRY_PAUSE[1])
                        continue
                    if status in (200, 201):
                        receipt = json.loads(data)
                        self._keep_sth(receipt["sth"])
                        with self.guard:
                            self.receipts[i] = receipt
                            if status == 201:
                                self.created += 1
                            else:
                                self.duplicates += 1
                            self.since_restart += 1
                            self.progress.notify_all()
                        break
                    up = self.service.up.is_set()
                    with self.guard:
                        self.http_errors.append(
                            f"ballot {i}: HTTP {status} (server {'up' if up else 'being restarted'}): {data[:200]!r}"
                        )
                    if status < 500:
                        break  # a 4xx is final: this ballot gets no receipt
                    with self.guard:
                        self.failed_attempts += 1
                        self.retried.add(i)
                    conn.close()
                    conn = None
                    time.sleep(pause)
                    pause = min(2 * pause, RETRY_PAUSE[1])
        finally:
            if conn is not None:
                conn.close()

    def _poller(self) -> None:
        conn: Client | None = None
        while not self.done.is_set():
            try:
                if conn is None:
                    conn = Client(self.service.port, timeout=10)
                status, data = conn.request("GET", self.sth_path)
                if status == 200:
                    self._keep_sth(json.loads(data))
            except (OSError, http.client.HTTPException, ValueError):
                if conn is not None:
                    conn.close()
                conn = None
            self.done.wait(POLL_INTERVAL)
        if conn is not None:
            conn.close()

    def _killer(self) -> None:
        try:
            for point in self.kill_points:
                with self.guard:
                    while not self.done.is_set() and (len(self.receipts) < point or self.since_restart < 1):
                        self.progress.wait(0.5)
                if self.done.is_set():
                    return
                time.sleep(self.rng.uniform(0, MAX_KILL_DELAY))
                if self.done.is_set():
                    return
                started = time.perf_counter()
                killed = self.service.kill()
                with self.guard:
                    at = len(self.receipts)
                    self.since_restart = 0
                self.service.restart()
                self.kills += 1
                self.processes_killed.append(killed)
                self.downtimes.append(time.perf_counter() - started)
                self.log(f"  kill {self.kills}: {killed} processes after {at} receipts; "
                         f"serving again in {self.downtimes[-1]:.2f} s")
        except BaseException as exc:  # noqa: BLE001 - reported by run()
            self.killer_error = exc

    def run(self) -> float:
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        poller = threading.Thread(target=self._poller, daemon=True)
        killer = threading.Thread(target=self._killer, daemon=True)
        started = time.perf_counter()
        for t in [poller, killer, *threads]:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        self.done.set()
        with self.guard:
            self.progress.notify_all()
        killer.join()
        poller.join()
        if self.killer_error is not None:
            raise RuntimeError(f"the killer failed: {self.killer_error!r}") from self.killer_error
        return elapsed


# ---------------------------------------------------------------------------------------------
# The evidence


class Http:
    """Requests after the load, each on a fresh connection: a kept-alive one may have been
    closed by gunicorn while idle (its keepalive is 2 s), and a POST must not be sent twice."""

    def __init__(self, port: int) -> None:
        self.port = port

    def call(self, method: str, path: str, body: bytes | None = None, *, token: str | None = None,
             expect: int = 200) -> bytes:
        client = Client(self.port)
        try:
            status, data = client.request(method, path, body, token)
        finally:
            client.close()
        if status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {status} (expected {expect}): {data[:300]!r}")
        return data

    def json(self, method: str, path: str, body: bytes | None = None, **kwargs: Any) -> Any:
        return json.loads(self.call(method, path, body, **kwargs))


def publish(http: Http, meeting: DemoMeeting, meeting_hash: bytes, vote_hash: bytes) -> None:
    """Close the vote; demo trustees 1…3 fetch the aggregates and post their shares (as
    bench.cast.close_and_publish, untimed, one connection per request)."""
    from tally.demo import DEMO_PASSPHRASE

    mid = meeting.meeting_id
    base = f"/api/meetings/{mid}/votes/{VOTE_ID}"
    http.json("POST", f"/api/staff/meetings/{mid}/votes/{VOTE_ID}/close", token=meeting.token)
    status: dict[str, Any] = {}
    for index in (1, 2, 3):
        state = load_state(meeting.trustee_dir / f"trustee-{index}.json", DEMO_PASSPHRASE)
        aggregates = parse_aggregates(http.json("GET", f"{base}/aggregates"))
        share = partial_decrypt(state, meeting_hash, vote_hash, VOTE_ID, aggregates)
        status = http.json("POST", f"{base}/shares", json.dumps(share).encode(), expect=201)
    if status.get("state") != "published":
        raise RuntimeError(f"vote {VOTE_ID} is {status.get('state')} after 3 shares")


def gather(service: Service, url: str, meeting_id: str, workdir: Path, load: Load, posted: list[str],
           choices: list[dict[str, list[str]]], log_key: bytes) -> Evidence:
    base = f"/api/meetings/{meeting_id}"
    http = Http(service.port)
    record_path = workdir / "record.zip"
    record_path.write_bytes(http.call("GET", f"{base}/record.zip"))
    record = read_record(record_path)
    final_sth = record.sth
    if http.json("GET", f"{base}/sth") != final_sth:
        raise RuntimeError("GET /sth and the record's sth.json differ after the vote was published")
    size = final_sth["tree_size"]
    served: list[dict[str, Any]] = []
    for start in range(0, size, 1000):
        served.extend(http.json("GET", f"{base}/entries?start={start}&end={min(size, start + 1000)}")["entries"])
    sizes = {sth["tree_size"] for sth in [*load.sths.values(), *(record.sths or [])]}
    consistency = {
        first: http.json("GET", f"{base}/proofs/consistency?first={first}&second={size}")["consistency"]
        for first in sorted(sizes) if first <= size
    }
    inclusion = {
        r["leaf_index"]: http.json("GET", f"{base}/proofs/inclusion?leaf_index={r['leaf_index']}"
                                          f"&tree_size={size}")["inclusion"]
        for r in load.receipts.values() if isinstance(r.get("leaf_index"), int) and r["leaf_index"] < size
    }
    aggregates = http.json("GET", f"{base}/votes/{VOTE_ID}/aggregates")

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            indices = [row[0] for row in connection.execute(
                text("SELECT idx FROM log_entries WHERE meeting_id = :m ORDER BY idx"), {"m": meeting_id})]
    finally:
        engine.dispose()

    verify = subprocess.run([sys.executable, "-m", "ballot.verify", str(record_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=1800, check=False)
    return Evidence(
        vote_id=VOTE_ID, log_key=log_key, posted=posted, choices=choices, receipts=dict(load.receipts),
        seen_sths=list(load.sths.values()), lines=record.lines, served_entries=served,
        stored_indices=indices, final_sth=final_sth, sth_history=list(record.sths or []),
        consistency=consistency, inclusion=inclusion, counted=aggregates["counted"],
        aggregates=aggregates["aggregates"], http_errors=list(load.http_errors), kills=load.kills,
        kills_wanted=len(load.kill_points), verify_exit=verify.returncode,
        verify_output=verify.stdout + verify.stderr,
    )


# ---------------------------------------------------------------------------------------------
# The campaign


def run_campaign(store: str, ballots: int, kills: int, clients: int, seed: int, *,
                 log: Callable[[str], None] = print, keep: Path | None = None,
                 inspect: Callable[[Setup, DemoMeeting, Outcome], None] | None = None,
                 timeout: float = 1800.0) -> Outcome:
    """Run the campaign once; ``inspect`` is called with the setup app, the meeting and the
    outcome while the store still exists (tests use it to doctor evidence with the log key)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    figures = Figures(store, ballots, clients, seed)
    with tempfile.TemporaryDirectory(prefix="piaojue-crash-") as tmp_name:
        workdir = Path(tmp_name)
        instance = workdir / "instance"
        with database(store, workdir) as url:
            setup = Setup(url, instance)
            service: Service | None = None
            try:
                meeting_id = f"crash-{seed}"
                meeting = setup.meeting(meeting_id, ballots)
                service = Service(url, instance, workdir, meeting_id)
                meeting_hash, public_key = check_in_all(service.server, meeting)
                http = Http(service.port)
                log_key = parse_meeting(http.json("GET", f"/api/meetings/{meeting_id}")["meeting"]).log_key
                vote = http.json("GET", f"/api/meetings/{meeting_id}/votes/{VOTE_ID}")
                definition = parse_vote(vote["vote"])
                bodies = encrypt_all(meeting, meeting_hash, public_key, vote["vote"], seed)
                choices = [plausible_choices(definition, random.Random(seed * 1_000_003 + i)) for i in range(ballots)]
                posted = [ballot_hash(json.loads(body)).hex() for body in bodies]
                opened = http.json("POST", f"/api/staff/meetings/{meeting_id}/votes/{VOTE_ID}/open",
                                   token=meeting.token)
                if opened["present"] != ballots:
                    raise RuntimeError(f"the vote opened with present = {opened['present']}, not {ballots}")
                figures.setup_seconds = time.perf_counter() - started
                log(f"  {store}: {ballots} deputies checked in, ballots encrypted, vote open "
                    f"({figures.setup_seconds:.1f} s)")

                load = Load(service, meeting_id, bodies, clients, kills, rng, log,
                            deadline=time.monotonic() + timeout)
                log(f"  {store}: kill points (receipts): {load.kill_points}")
                figures.load_seconds = load.run()
                log(f"  {store}: {len(load.receipts)} receipts in {figures.load_seconds:.1f} s; "
                    "a last kill -9 before closing")
                service.kill()
                service.restart()
                publish(http, meeting, meeting_hash, definition.hash)
                evidence = gather(service, url, meeting_id, workdir, load, posted, choices, log_key)
                violations = check(evidence)

                figures.kills = load.kills
                figures.processes_killed = load.processes_killed
                figures.downtimes = load.downtimes
                figures.failed_attempts = load.failed_attempts
                figures.ballots_retried = len(load.retried)
                figures.created = load.created
                figures.duplicates = load.duplicates
                figures.receipted = len(load.receipts)
                figures.entries = len(evidence.lines)
                figures.sths_checked = len({json.dumps(s, sort_keys=True)
                                            for s in [*evidence.seen_sths, *evidence.sth_history]})
                figures.sizes_proved = len(evidence.consistency)
                figures.receipts_checked = len(evidence.receipts)
                figures.verify_exit = evidence.verify_exit
                figures.total_seconds = time.perf_counter() - started
                outcome = Outcome(figures, evidence, violations)
                if inspect is not None:
                    inspect(setup, meeting, outcome)
                return outcome
            finally:
                if service is not None:
                    service.stop()
                setup.close()
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    for name, kept in (("record.zip", "record.zip"), ("gunicorn.log", "gunicorn.log")):
                        if (workdir / name).exists():
                            shutil.copy(workdir / name, keep / f"crash-{store}-{seed}-{kept}")


def table(outcomes: list[Outcome]) -> str:
    rows = [
        ("store", lambda f: f.store),
        ("ballots (deputies)", lambda f: f"{f.ballots:,}"),
        ("concurrent clients", lambda f: str(f.clients)),
        ("kill -9 under load (processes each: master + worker)",
         lambda f: f"{f.kills} ({'–'.join(str(n) for n in sorted({min(f.processes_killed, default=0), max(f.processes_killed, default=0)}))})"),
        ("kill → serving again, s: median (max)",
         lambda f: f"{statistics.median(f.downtimes):.1f} ({max(f.downtimes):.1f})" if f.downtimes else "—"),
        ("receipts (201 / 200 duplicates)", lambda f: f"{f.receipted:,} ({f.created:,} / {f.duplicates})"),
        ("failed attempts retried (ballots)", lambda f: f"{f.failed_attempts:,} ({f.ballots_retried})"),
        ("load time, s", lambda f: f"{f.load_seconds:.1f}"),
        ("log entries", lambda f: f"{f.entries:,}"),
        ("distinct STHs checked (sizes proved)", lambda f: f"{f.sths_checked:,} ({f.sizes_proved:,})"),
        ("receipts checked in the final tree", lambda f: f"{f.receipts_checked:,}"),
        ("python -m ballot.verify exit", lambda f: str(f.verify_exit)),
        ("whole run, s (setup)", lambda f: f"{f.total_seconds:.0f} ({f.setup_seconds:.0f})"),
    ]
    out = ["| | " + " | ".join(f"seed {o.figures.seed}" for o in outcomes) + " |",
           "|---|" + "---|" * len(outcomes)]
    for label, cell in rows:
        out.append(f"| {label} | " + " | ".join(cell(o.figures) for o in outcomes) + " |")
    out.append("| violations | " + " | ".join(str(len(o.violations)) for o in outcomes) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress.crash", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--ballots", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="run with seeds SEED, SEED+1, … (one column each)")
    parser.add_argument("--keep", type=Path, help="keep the record.zip and the gunicorn log in this folder")
    args = parser.parse_args(argv)
    if args.ballots < 10 * args.kills:
        parser.error("need at least 10 ballots per kill")
    outcomes = []
    for seed in range(args.seed, args.seed + args.runs):
        print(f"{args.store}, seed {seed}:", flush=True)
        outcomes.append(run_campaign(args.store, args.ballots, args.kills, args.clients, seed,
                                     log=lambda line: print(line, flush=True), keep=args.keep))
    print()
    print(table(outcomes))
    violations = [v for outcome in outcomes for v in outcome.violations]
    for outcome in outcomes:
        for violation in outcome.violations:
            print(f"VIOLATION (seed {outcome.figures.seed}) {violation}")
    print("OK: every promise held" if not violations else f"{len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
