"""The live broadcast under load (issue #5): 3,000 kiosk sockets and 5 presidium sockets joined to
one meeting while its ballots stream in.

Deployment: ``bench.cluster`` (2 single-process gunicorn instances from deploy/gunicorn.conf.py
behind nginx with ``ip_hash``, Redis as the Socket.IO message queue, a fresh PostgreSQL schema),
once per configuration (``CONFIGS``): the ``gevent`` worker with tally.ops.gc_tuning's
garbage-collector settings (deploy/gunicorn.conf.py's default), and, as the baseline measured in
the same run, the same worker with CPython's default collector (``PIAOJUE_GC_TUNING=0``).
``measure("gthread", …)`` runs the gthread worker (Flask-SocketIO ``threading``, WebSocket by
simple-websocket; threads = the instance's WebSocket clients + 200), which is no longer in the
default run: it cannot hold 3,000 sockets on two cores (docs/performance.md).

Per configuration: a demo meeting of 3,000 deputies is created and every deputy checks in. Then the
clients connect through nginx (``bench._live_clients``: kiosk processes with many sockets each,
opened from loopback source addresses that ``ip_hash`` sends to both instances; a presidium
process with 5 python-socketio clients holding a staff token) and join. Two votes follow
(``STREAMS``), each with one ballot per deputy encrypted ahead (as in ``bench cast``): the vote
opens, 32 keep-alive HTTP clients post every ballot through nginx (half to each instance), the
resolution as fast as the service takes it, the appointment paced at 100 ballots/s, and the vote
closes. Measured, per vote:

- **latency**: for every count N, (first time a client receives ``turnout`` with cast ≥ N) −
  (time the N-th ``201`` arrived), all on CLOCK_MONOTONIC on this machine. The N-th 201 stands
  for "the ballot that made cast = N" (counts grow in commit order and a 201 follows its commit).
  p50/p99 over all N and all 5 presidium clients; the same over a sample of kiosks;
- **memory**: each instance's worker RSS with the clients connected minus before they
  connected, divided by the WebSockets that instance holds (counted in /proc/net/tcp);
- **CPU** during the ballot stream, in cores: each gunicorn instance, PostgreSQL, nginx + Redis,
  the client processes (kiosks, presidium, ballot posters), and other work on the machine;
- **no event lost or reordered**: every client must have joined, kept its socket, received
  ``vote_state`` open, turnout counts that never decrease and end at the number of ballots,
  then ``vote_state`` closed after the last turnout; and every client must have received exactly
  the sequence of the other clients of its kind (kiosk or staff) on its instance (each instance
  coalesces its own fan-out, tally.live.turnout, so instances may differ in intermediate counts,
  never in order);
- **garbage-collector pauses** inside the stream: each instance logs every collection's pause
  (``PIAOJUE_GC_LOG``, tally.ops.gc_tuning.PauseLog); reported are the full (generation 2)
  collections and the longest pause of any generation that ended during the stream.

``python -m bench live`` writes its section of docs/performance.md (about 6 minutes); ``--quick``
runs 300 kiosks against a 300-deputy meeting and writes nothing.
tests/scale/test_live_broadcast.py runs one worker with 100 kiosks as a CI smoke test.

Long: one benchmark end to end (cluster, socket clients, ballot streams, report), in the order it runs.
"""

from __future__ import annotations

import http.client
import itertools
import multiprocessing
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from bench import cast
from bench._live_clients import raise_nofile
from bench.cluster import Cluster
from bench.report import table, write_section

CONFIGS: tuple[tuple[str, bool], ...] = (("gevent", True), ("gevent", False))  # (worker, GC tuning)
CLIENTS = 3000
QUICK_CLIENTS = 300
PRESIDIUM = 5
KIOSK_PROCESSES = 3
CONCURRENCY = 32
SOURCES_PER_INSTANCE = 4
TARGET_P99 = 0.250
KIOSK_LATENCY_SAMPLE = 300
THREAD_HEADROOM = 200
PACED_RATE = 100.0
STREAMS: list[tuple[str, float | None]] = [("v1", None), ("v2", PACED_RATE)]  # (vote, ballots/s or full speed)
STREAM_LIMIT = 240.0


# ---------------------------------------------------------------------------------------------
# Deployment


@dataclass
class LiveCluster(Cluster):
    """bench.cluster with the gunicorn worker chosen (``PIAOJUE_WORKER``) and bench.cast's KEK,
    so that bench.cast.Setup can create the demo meeting in the cluster's schema."""

    worker: str = "gthread"
    gc_tuning: bool = True

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(PIAOJUE_WORKER=self.worker, PIAOJUE_KEY_ENCRYPTION_KEY=cast.KEK,
                   PIAOJUE_GC_TUNING="1" if self.gc_tuning else "0", PIAOJUE_GC_LOG=str(self.workdir))
        return env

    def gc_pauses(self, pid: int) -> tuple[dict[str, str], list[tuple[float, int, float]]]:
        """The collector's policy and pauses of worker process ``pid`` (tally.ops.gc_tuning.PauseLog)."""
        from tally.ops.gc_tuning import read_pauses

        return read_pauses(self.workdir / f"gc-{pid}.log")

    def worker_pids(self) -> list[int]:
        """The gunicorn worker process of each instance (a child of that instance's master)."""
        masters = [p.pid for p in self.processes[:self.instances]]
        children: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = cast.process_stat(int(entry))
                if stat is not None and stat[0] in masters:
                    children[stat[0]] = int(entry)
        return [children.get(m, m) for m in masters]


def nginx_ip_hash(address: str, peers: int) -> int:
    """The upstream nginx's ``ip_hash`` picks for an IPv4 client with equal weights and every
    peer up (ngx_http_upstream_ip_hash_module.c: the first three octets)."""
    value = 89
    for octet in [int(x) for x in address.split(".")[:3]]:
        value = (value * 113 + octet) % 6271
    return value % peers


def source_addresses(instances: int, per_instance: int = SOURCES_PER_INSTANCE) -> list[list[str]]:
    """Loopback source addresses 127.0.K.2 grouped by the instance ip_hash sends them to."""
    groups: list[list[str]] = [[] for _ in range(instances)]
    k = 1
    while min(len(g) for g in groups) < per_instance:
        address = f"127.0.{k}.2"
        group = groups[nginx_ip_hash(address, instances)]
        if len(group) < per_instance:
            group.append(address)
        k += 1
    return groups


# ---------------------------------------------------------------------------------------------
# /proc


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def rss_kib(pid: int) -> int:
    return _status(pid, "VmRSS")


def threads_of(pid: int) -> int:
    return _status(pid, "Threads")


def established(port: int) -> int:
    """Established TCP connections whose local end is 127.0.0.1:``port`` (the server side)."""
    count = 0
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table_path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        count += 1
        except OSError:
            continue
    return count


class CpuMeter:
    """CPU used between construction and :meth:`stop`, in cores, by group: each gunicorn instance
    (master and worker), PostgreSQL, nginx + Redis, the benchmark's client processes (this one,
    the kiosk and presidium processes), and the rest of the machine."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, cluster: LiveCluster, client_pids: list[int]) -> None:
        self.instances = [p.pid for p in cluster.processes[:cluster.instances]]
        self.nginx = cluster.processes[-1].pid
        self.clients = {os.getpid(), *client_pids}
        self.start = self._sample()

    def _group(self, pid: int, ppid: int, name: str) -> str | None:
        for i, master in enumerate(self.instances):
            if pid == master or ppid == master:
                return f"instance {i + 1}"
        if name.startswith("postgres"):
            return "postgres"
        if pid == self.nginx or ppid == self.nginx or name.startswith("redis-server"):
            return "nginx+redis"
        if pid in self.clients or ppid in self.clients:
            return "clients"
        return None

    def _sample(self) -> dict[str, Any]:
        cpu = cast.machine_ticks()
        per_pid: dict[int, tuple[str, int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = cast.process_stat(int(entry))
                if stat is not None:
                    group = self._group(int(entry), stat[0], stat[2])
                    if group is not None:
                        per_pid[int(entry)] = (group, stat[1])
        return {"time": time.monotonic(), "busy": cast.machine_busy(cpu), "pids": per_pid}

    def stop(self) -> dict[str, float]:
        end = self._sample()
        seconds = (end["time"] - self.start["time"]) * self.TICK
        groups: Counter[str] = Counter()
        for pid, (group, ticks) in end["pids"].items():
            before = self.start["pids"].get(pid, (group, 0))[1]
            groups[group] += ticks - before
        result = {g: t / seconds for g, t in groups.items()}
        result["other"] = max(0.0, (end["busy"] - self.start["busy"] - sum(groups.values())) / seconds)
        return result


# ---------------------------------------------------------------------------------------------
# The ballot stream


@dataclass
class Stream:
    started: float
    finished: float
    accepted: list[float]  # monotonic time of each 201, sorted
    latencies: list[float]
    failures: list[str] = field(default_factory=list)
    cut: bool = False  # stopped at STREAM_LIMIT before every ballot was posted


def stream_ballots(port: int, path: str, bodies: list[bytes], sources: list[list[str]], *,
                   rate: float | None = None, limit: float = 0.0, concurrency: int = CONCURRENCY) -> Stream:
    """POST every body once through nginx from ``concurrency`` keep-alive clients, spread over
    the instances by source address; ballot i is not sent before ``i / rate`` seconds (as fast as
    possible without ``rate``); none is started after ``limit`` seconds. Records when each 201
    arrived."""
    positions = iter(range(len(bodies)))
    guard = threading.Lock()
    go = threading.Event()
    accepted: list[float] = []
    latencies: list[float] = []
    failures: list[str] = []
    cut = threading.Event()
    begin = [0.0]

    def client(index: int) -> None:
        group = sources[index % len(sources)]
        source = group[(index // len(sources)) % len(group)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        mine: list[tuple[float, float]] = []
        bad: list[str] = []
        go.wait()
        try:
            while True:
                with guard:
                    i = next(positions, None)
                if i is None:
                    break
                if rate:
                    delay = begin[0] + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if limit and time.monotonic() - begin[0] > limit:
                    cut.set()
                    break
                sent = time.monotonic()
                try:
                    conn.request("POST", path, body=bodies[i], headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    bad.append(repr(exc))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
                    continue
                now = time.monotonic()
                if response.status == 201:
                    mine.append((now, now - sent))
                else:
                    bad.append(f"HTTP {response.status}: {data[:200]!r}")
        finally:
            conn.close()
            with guard:
                accepted.extend(t for t, _ in mine)
                latencies.extend(d for _, d in mine)
                failures.extend(bad)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(min(concurrency, len(bodies)))]
    for t in threads:
        t.start()
    begin[0] = time.monotonic()
    go.set()
    for t in threads:
        t.join()
    return Stream(begin[0], time.monotonic(), sorted(accepted), latencies, failures, cut.is_set())


# ---------------------------------------------------------------------------------------------
# Checking what the clients received


Summary = tuple[str, bool, bool, str, list[tuple[float, str, Any]]]


def arrival_latencies(events: list[tuple[float, str, Any]], accepted: list[float]) -> list[float]:
    """For each N in 1..len(accepted): first arrival of turnout with cast ≥ N, minus the N-th 201."""
    out: list[float] = []
    reached = 0
    for t, name, payload in events:
        if name != "turnout":
            continue
        cast_now = min(payload["cast"], len(accepted))
        while reached < cast_now:
            out.append(t - accepted[reached])
            reached += 1
    return out


def sequence(events: list[tuple[float, str, Any]]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, p["cast"] if name == "turnout" else p["state"]) for _, name, p in events)


def check_client(summary: Summary, total: int) -> str | None:
    """Why this client's events break the rules, or None."""
    _source, joined, dropped, error, events = summary
    if not joined:
        return f"did not join ({error})"
    if dropped:
        return f"socket dropped ({error})"
    seq = sequence(events)
    if not seq or seq[0] != ("vote_state", "open"):
        return f"no vote_state open first: {seq[:3]}"
    casts = [v for name, v in seq if name == "turnout"]
    if not casts or any(b < a for a, b in itertools.pairwise(casts)):
        return f"turnout decreased or missing: {casts[:20]}"
    if casts[-1] != total:
        return f"last turnout {casts[-1]} ≠ {total}"
    if seq[-1] != ("vote_state", "closed"):
        return f"vote_state closed not last: {seq[-3:]}"
    return None


# ---------------------------------------------------------------------------------------------
# One worker type


@dataclass
class Instance:
    sockets: int
    idle_rss: int  # KiB
    rss: int
    idle_threads: int
    threads: int

    @property
    def per_socket(self) -> float:
        return (self.rss - self.idle_rss) / max(1, self.sockets)


@dataclass
class Result:
    worker: str
    load: str  # "full speed" or "N/s"
    clients: int
    ballots: int
    posted: int
    cut: bool
    instances: list[Instance]
    connect_seconds: float
    stream_seconds: float
    ballot_p50: float
    ballot_p99: float
    presidium: list[float]
    kiosk: list[float]
    cpu: dict[str, float]
    complete: int
    problems: Counter[str]
    distinct_sequences: int
    events_per_client: float
    busy_before: float
    gc_tuning: bool = True
    gc_thresholds: list[str] = field(default_factory=list)  # per instance, as its PauseLog states it
    gc_pauses: list[tuple[int, float]] = field(default_factory=list)  # (generation, s) ending in the stream

    @property
    def label(self) -> str:
        return self.worker if self.gc_tuning else f"{self.worker}, CPython GC"

    @property
    def full_collections(self) -> int:
        return sum(1 for generation, _ in self.gc_pauses if generation == 2)

    @property
    def longest_pause(self) -> float:
        return max((pause for _, pause in self.gc_pauses), default=0.0)

    @staticmethod
    def p(values: list[float], q: float) -> float:
        return cast.percentile(values, q) if values else float("nan")


def warm_up(cluster: LiveCluster, meeting_id: str) -> None:
    """A few requests and one socket per instance before the idle RSS is read, so that the
    first-use costs (database pool, Redis listener, imports) are not counted per connection."""
    import socketio

    for port in cluster.ports:
        client = cast.Client(port)
        for _ in range(5):
            client.json("GET", f"/api/meetings/{meeting_id}")
        client.close()
        sio = socketio.Client(reconnection=False)
        sio.connect(f"http://127.0.0.1:{port}", namespaces=["/live"], transports=["websocket"], wait_timeout=30)
        sio.call("join", {"meeting": meeting_id}, namespace="/live", timeout=30)
        sio.disconnect()
    time.sleep(1.0)


def _spawn(ctx: Any, target: Callable[..., None], *args: Any) -> tuple[Any, Any]:
    parent, child = ctx.Pipe()
    process = ctx.Process(target=target, args=(child, *args), daemon=True)
    process.start()
    child.close()
    return process, parent


def _expect(pipe: Any, what: str, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a client process sent no {what!r} within {timeout:.0f} s")
    kind, payload = pipe.recv()
    if kind != what:
        raise RuntimeError(f"a client process sent {kind!r}, expected {what!r}")
    return payload


def _busy_now(seconds: float = 1.0) -> float:
    with open("/proc/stat") as f:
        before = cast.machine_busy([int(x) for x in f.readline().split()[1:]])
    time.sleep(seconds)
    with open("/proc/stat") as f:
        after = cast.machine_busy([int(x) for x in f.readline().split()[1:]])
    return (after - before) / CpuMeter.TICK / seconds


@dataclass
class Session:
    """A running cluster with its meeting, the connected clients, and the per-instance figures."""

    worker: str
    cluster: LiveCluster
    meeting: Any
    meeting_hash: bytes
    public_key: str
    sources: list[list[str]]
    pipes: list[Any]
    processes: list[Any]
    instances: list[Instance]
    connect_seconds: float


def evaluate(session: Session, vote_id: str, load: str, stream: Stream, cpu: dict[str, float], busy_before: float,
             ballots: int, collected: list[list[Summary]], log: Callable[[str], None]) -> Result:
    presidium, kiosks = collected[0], [s for batch in collected[1:] for s in batch]
    total = len(stream.accepted)
    problems: Counter[str] = Counter()
    ok: list[Summary] = []
    for summary in presidium + kiosks:
        problem = check_client(summary, total)
        if problem is None:
            ok.append(summary)
        else:
            kind = problem.split(":")[0]
            if not problems[kind]:
                log(f"  {session.worker} {vote_id}: first client with '{kind}' ({summary[0]}): {problem[:400]}")
            problems[kind] += 1
    # every client on an instance must have received the sequence of the others of its kind there
    # (staff clients get turnout from the staff room, at its own interval)
    instance_of = {a: i for i, group in enumerate(session.sources) for a in group}
    staff = {id(s) for s in presidium}

    def group(summary: Summary) -> tuple[int, bool]:
        return instance_of[summary[0]], id(summary) in staff

    by_group: dict[tuple[int, bool], Counter[tuple[Any, ...]]] = {}
    for summary in ok:
        by_group.setdefault(group(summary), Counter())[sequence(summary[4])] += 1
    majority = {g: c.most_common(1)[0][0] for g, c in by_group.items()}
    complete = sum(1 for s in ok if sequence(s[4]) == majority[group(s)])
    if complete != len(ok):
        problems["differs from its instance's other clients"] += len(ok) - complete
    distinct = len({sequence(s[4]) for s in ok})
    presidium_latency = [x for s in presidium for x in arrival_latencies(s[4], stream.accepted)]
    step = max(1, len(kiosks) // KIOSK_LATENCY_SAMPLE)
    kiosk_latency = [x for s in kiosks[::step] for x in arrival_latencies(s[4], stream.accepted)]
    events = statistics.mean(sum(1 for e in s[4] if e[1] == "turnout") for s in kiosks) if kiosks else 0.0
    thresholds: list[str] = []
    pauses: list[tuple[int, float]] = []
    for pid in session.cluster.worker_pids():
        header, logged = session.cluster.gc_pauses(pid)
        thresholds.append(header.get("threshold", "?"))
        pauses.extend((generation, pause) for at, generation, pause in logged
                      if stream.started <= at <= stream.finished)
    return Result(session.worker, load, len(kiosks), ballots, total, stream.cut, session.instances,
                  session.connect_seconds, stream.finished - stream.started,
                  Result.p(stream.latencies, 50), Result.p(stream.latencies, 99),
                  presidium_latency, kiosk_latency, cpu, complete, problems, distinct, events, busy_before,
                  session.cluster.gc_tuning, thresholds, pauses)


def run_vote(session: Session, vote_id: str, rate: float | None, log: Callable[[str], None]) -> Result:
    """Encrypt one ballot per deputy for ``vote_id``, open it, stream the ballots (at ``rate``
    per second, or as fast as the service takes them), close it, and check every client."""
    cluster, meeting = session.cluster, session.meeting
    mid = meeting.meeting_id
    client = cast.Client(cluster.ports[0])
    vote_entry = client.json("GET", f"/api/meetings/{mid}/votes/{vote_id}")["vote"]
    client.close()
    bodies = cast.encrypt_all(meeting, session.meeting_hash, session.public_key, vote_entry, seed=int(vote_id[1:]))
    admin = cast.Client(cluster.nginx_port)
    opened = admin.json("POST", f"/api/staff/meetings/{mid}/votes/{vote_id}/open", token=meeting.token)
    admin.close()
    if opened["present"] != len(meeting.people):
        raise RuntimeError(f"vote opened with present={opened['present']}, expected {len(meeting.people)}")
    time.sleep(1.0)
    busy_before = _busy_now()
    meter = CpuMeter(cluster, [p.pid for p in session.processes])
    stream = stream_ballots(cluster.nginx_port, f"/api/meetings/{mid}/votes/{vote_id}/ballots", bodies,
                            session.sources, rate=rate, limit=STREAM_LIMIT)
    cpu = meter.stop()
    if stream.failures:  # reported (and failing the target), not fatal: the other runs still measure
        log(f"  {session.worker} {vote_id}: {len(stream.failures)} of {len(bodies)} ballots not accepted; "
            f"first: {stream.failures[:1]}")
    load = f"{rate:.0f}/s" if rate else "full speed"
    log(f"  {session.worker} {vote_id} ({load}): {len(stream.accepted)} of {len(bodies)} ballots in "
        f"{stream.finished - stream.started:.1f} s; CPU " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cpu.items())))
    time.sleep(1.0)  # the trailing turnout, before the close
    admin = cast.Client(cluster.nginx_port)
    admin.json("POST", f"/api/staff/meetings/{mid}/votes/{vote_id}/close", token=meeting.token)
    admin.close()
    for pipe in session.pipes:
        pipe.send(("collect", vote_id, 60.0))
    collected = [_expect(pipe, "events", 120) for pipe in session.pipes]
    result = evaluate(session, vote_id, load, stream, cpu, busy_before, len(bodies), collected, log)
    if stream.failures:
        result.problems[f"ballots without a 201 ({stream.failures[0]})"] += len(stream.failures)
    return result


def measure(worker: str, clients: int, kiosk_processes: int, log: Callable[[str], None], *,
            streams: list[tuple[str, float | None]] | None = None, quiet: bool = True,
            gc_tuning: bool = True) -> list[Result]:
    """One configuration (gunicorn worker type, tally.ops.gc_tuning or not): start the cluster,
    connect the clients, run ``streams`` (vote, ballots/s or None for full speed), waiting for an
    idle machine before each if ``quiet``."""
    from bench._live_clients import kiosk_main, presidium_main
    from tally.api import tokens

    raise_nofile()
    per_instance = -(-clients // 2) + PRESIDIUM
    cluster = LiveCluster(instances=2, threads=per_instance + THREAD_HEADROOM, worker=worker, gc_tuning=gc_tuning)
    ctx = multiprocessing.get_context("spawn")
    processes: list[Any] = []
    pipes: list[Any] = []
    results: list[Result] = []
    with cluster:
        setup = cast.Setup(cluster.env["DATABASE_URL"], cluster.workdir / "setup-instance")
        try:
            meeting = setup.meeting("live", clients)
            with setup.app.app_context():
                presidium_token = tokens.create_token("bench-live-presidium", "presidium")
            setup.app.extensions["piaojue.engine"].dispose()
        finally:
            setup.close()
        mid = meeting.meeting_id
        # check_in_all reads only the server's port: a stand-in, not a bench.cast.Server
        meeting_hash, public_key = cast.check_in_all(SimpleNamespace(port=cluster.ports[0]), meeting)  # type: ignore[arg-type]
        log(f"  {worker}: {clients} deputies checked in")
        sources = source_addresses(cluster.instances)
        warm_up(cluster, mid)
        workers = cluster.worker_pids()
        idle_rss = [rss_kib(pid) for pid in workers]
        idle_threads = [threads_of(pid) for pid in workers]
        try:
            started = time.monotonic()
            presidium_sources = [sources[i % 2][0] for i in range(PRESIDIUM)]
            process, pipe = _spawn(ctx, presidium_main, "127.0.0.1", cluster.nginx_port, mid, presidium_token,
                                   presidium_sources)
            processes.append(process)
            pipes.append(pipe)
            flat = [sources[i % 2][(i // 2) % SOURCES_PER_INSTANCE] for i in range(clients)]
            for share in (flat[i::kiosk_processes] for i in range(kiosk_processes)):
                process, pipe = _spawn(ctx, kiosk_main, "127.0.0.1", cluster.nginx_port, mid, share)
                processes.append(process)
                pipes.append(pipe)
            ready = [_expect(pipe, "ready", 300) for pipe in pipes]
            connect_seconds = time.monotonic() - started
            joined = sum(r["joined"] for r in ready)
            log(f"  {worker}: {joined} of {clients + PRESIDIUM} clients joined in {connect_seconds:.1f} s "
                + "; ".join(e for r in ready for e in r["errors"])[:300])
            if joined != clients + PRESIDIUM:
                raise RuntimeError(f"only {joined} of {clients + PRESIDIUM} clients joined: {ready}")
            time.sleep(2.0)  # let the joins' allocations settle before reading RSS
            instances = [
                Instance(established(port), idle_rss[i], rss_kib(workers[i]), idle_threads[i], threads_of(workers[i]))
                for i, port in enumerate(cluster.ports)
            ]
            log(f"  {worker}: " + "; ".join(
                f"instance {n + 1}: {i.sockets} sockets, RSS {i.idle_rss} → {i.rss} KiB, threads {i.idle_threads} → "
                f"{i.threads}" for n, i in enumerate(instances)))
            session = Session(worker, cluster, meeting, meeting_hash, public_key, sources, pipes, processes,
                              instances, connect_seconds)
            for vote_id, rate in STREAMS if streams is None else streams:
                if quiet:
                    cast.wait_for_quiet(log)
                results.append(run_vote(session, vote_id, rate, log))
        finally:
            for pipe in pipes:
                try:
                    pipe.send(("stop",))
                except OSError:
                    pass
            for process in processes:
                process.join(15)
                if process.is_alive():
                    process.kill()
                    process.join(5)
    return results


# ---------------------------------------------------------------------------------------------
# Report


def _ms(x: float) -> str:
    return f"{x * 1000:.0f}"


def report(results: list[Result], quick: bool, elapsed: float) -> str:
    rows = []
    for r in results:
        p99 = r.p(r.presidium, 99)
        rows.append([
            r.label, r.load, f"{r.clients:,} + {PRESIDIUM}",
            (f"{r.posted:,}{f' of {r.ballots:,}' if r.posted < r.ballots else ''}{' (cut)' if r.cut else ''}"
            f" in {r.stream_seconds:.1f} s ({r.posted / r.stream_seconds:.0f}/s)"),
            f"{_ms(r.p(r.presidium, 50))} / {_ms(p99)}",
            f"{_ms(r.p(r.kiosk, 50))} / {_ms(r.p(r.kiosk, 99))}",
            f"{_ms(r.ballot_p50)} / {_ms(r.ballot_p99)}",
            " / ".join(f"{i.per_socket:.0f}" for i in r.instances),
            " / ".join(f"{r.cpu.get(f'instance {n + 1}', 0):.2f}" for n in range(len(r.instances))),
            (f"{r.cpu.get('postgres', 0):.2f} / {r.cpu.get('nginx+redis', 0):.2f} / {r.cpu.get('clients', 0):.2f} / "
            f"{r.cpu.get('other', 0):.2f}"),
            f"{r.full_collections} / {_ms(r.longest_pause)}",
            f"{r.complete:,} of {r.clients + PRESIDIUM:,}",
            f"{'met' if p99 <= TARGET_P99 and r.posted == r.ballots and not r.problems else '**MISSED**'}",
        ])
    detail = []
    for label in dict.fromkeys(r.label for r in results):
        mine = [r for r in results if r.label == label]
        first = mine[0]
        sockets = "; ".join(
            f"instance {n + 1}: {i.sockets:,} sockets, RSS {i.idle_rss / 1024:.0f} → {i.rss / 1024:.0f} MiB, "
            f"threads {i.idle_threads} → {i.threads}" for n, i in enumerate(first.instances)
        )
        runs = " ".join(
            f"{r.load}: {r.events_per_client:.1f} turnout events per kiosk, {r.distinct_sequences} distinct "
            f"sequences, problems: {'; '.join(f'{k}: {v}' for k, v in r.problems.items()) or 'none'}, "
            f"machine busy before the stream {r.busy_before:.2f} cores." for r in mine
        )
        detail.append(f"- {label}: GC thresholds {' / '.join(first.gc_thresholds)}; {sockets}; all clients joined "
                      f"in {first.connect_seconds:.1f} s. {runs}")
    kiosk_processes = 1 if quick else KIOSK_PROCESSES
    parts = [
        f"{results[0].clients:,} kiosk sockets (a minimal Socket.IO client, {kiosk_processes} asyncio "
        f"process{'es' if kiosk_processes > 1 else ''}) and {PRESIDIUM} presidium sockets (python-socketio, staff token) "
        "joined to one meeting through nginx (`ip_hash`; loopback source addresses spread them over both "
        "instances), 2 single-process gunicorn instances (deploy/gunicorn.conf.py), Redis message queue, "
        f"PostgreSQL. Two votes, one ballot per deputy each, posted through nginx by {CONCURRENCY} keep-alive "
        "clients: the resolution as fast as the service takes it (\"full speed\"), then the appointment paced at "
        f"{PACED_RATE:.0f} ballots/s (3,000 deputies voting within 30 s); a stream stops after "
        f"{STREAM_LIMIT:.0f} s (\"cut\"). Latency: first `turnout` with cast ≥ N at a client minus the N-th `201`, "
        "over every N (presidium: all 5 clients; kiosks: a sample of "
        f"{KIOSK_LATENCY_SAMPLE}), one monotonic clock; negative when the event overtakes the HTTP response. "
        "Turnout is coalesced per instance to one event per 100 ms for staff clients and per 1 s for the others "
        "(tally.live.turnout). Memory: instance RSS "
        "with the clients connected minus before, per socket it holds. CPU in cores during the stream; "
        "\"other\" is work outside this benchmark (the machine is shared). \"Every event\": joined, kept "
        "the socket, `vote_state` open, counts never decreasing and ending at the number of 201s, "
        "`vote_state` closed last, the same sequence as every other client of its kind (kiosk or staff) on its "
        "instance. GC: full (generation 2) collections that ended during the stream, over both instances, and "
        "the longest pause of any generation (tally.ops.gc_tuning; \"CPython GC\" is the same worker with the "
        "interpreter's default collector, `PIAOJUE_GC_TUNING=0`, the baseline). "
        f"Target: presidium p99 ≤ {TARGET_P99 * 1000:.0f} ms with 3,000 clients.\n\n"
        + table(["worker", "ballots", "clients", "accepted", "presidium p50 / p99 ms", "kiosk p50 / p99 ms",
                 "201 p50 / p99 ms", "KiB per socket (inst. 1 / 2)", "CPU inst. 1 / 2",
                 "CPU postgres / nginx+redis / clients / other", "GC: full collections / longest pause ms",
                 "received every event", "p99 target"], rows),
        "\n".join(detail),
        *([ratios] if (ratios := gc_ratios(results)) else []),
        f"Whole benchmark: {elapsed / 60:.1f} min" + (" (quick run)." if quick else "."),
    ]
    return "\n\n".join(parts)


def gc_ratios(results: list[Result]) -> str:
    """The presidium p99 and the throughput of the CPython-GC baseline over the tuned run, per load."""
    parts = []
    for load in dict.fromkeys(r.load for r in results):
        tuned = [r for r in results if r.load == load and r.gc_tuning]
        baseline = [r for r in results if r.load == load and not r.gc_tuning]
        if tuned and baseline and tuned[0].worker == baseline[0].worker:
            t, b = tuned[0], baseline[0]
            parts.append(f"{load}: presidium p99 {_ms(b.p(b.presidium, 99))} → {_ms(t.p(t.presidium, 99))} ms "
                         f"(baseline / tuned {b.p(b.presidium, 99) / t.p(t.presidium, 99):.2f}), ballots/s "
                         f"{b.posted / b.stream_seconds:.0f} → {t.posted / t.stream_seconds:.0f} "
                         f"(tuned / baseline {(t.posted / t.stream_seconds) / (b.posted / b.stream_seconds):.2f})")
    return ("GC tuning against the CPython-GC baseline of this run (baseline → tuned): " + "; ".join(parts)
            + ".") if parts else ""


def run(quick: bool = False, log: Callable[[str], None] = print,
        configs: tuple[tuple[str, bool], ...] = CONFIGS, clients: int | None = None) -> list[Result]:
    clients = clients or (QUICK_CLIENTS if quick else CLIENTS)
    processes = 1 if quick else KIOSK_PROCESSES
    results: list[Result] = []
    for worker, gc_tuning in configs:
        cast.wait_for_quiet(log)
        results.extend(measure(worker, clients, processes, log, gc_tuning=gc_tuning))
    return results


def main(quick: bool = False) -> str:
    started = time.monotonic()
    results = run(quick)
    body = report(results, quick, time.monotonic() - started)
    print(body)
    if not quick:
        write_section("live", "python -m bench live", body)
    return body
