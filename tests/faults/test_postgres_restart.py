"""Fault: PostgreSQL restarted mid-vote (issue #6; docs/reliability.md "Faults").

The tally runs under gunicorn (deploy/gunicorn.conf.py) against a private PostgreSQL cluster.
Four clients stream ballots at a steady pace; in the middle of the stream PostgreSQL is stopped
with ``pg_ctl -m fast`` (sessions rolled back and disconnected, clean shutdown), kept down, and
started again; later the same with ``-m immediate`` (no shutdown: crash recovery on start).

What must hold: every request during an outage is answered, quickly, with 503 and the §11 error
body ``{"error": "unavailable", "message"}`` (never a 500, never a hang); the tally is not
restarted, and once PostgreSQL is back ballots are accepted again (the connection pool recovers:
``pool_pre_ping`` in tally/store/db.py); a client that retries the same ballot after a 503 gets its
receipt, so every ballot ends up logged exactly once even if a commit's answer was lost; the
record verifies, and so does every receipt; the vote timer thread survived the outages.
"""

from __future__ import annotations

import queue
import threading
import time
import zipfile

from ballot.audit import check_receipt, verify_record
from ballot.encrypt import encrypt_ballot
from ballot.hashing import parse_json
from ballot.record import read_record
from faults.conftest import Response, Tally, make_app, wait_until
from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from tally import demo
from tally.services import lifecycle
from tally.store import cache

MEETING = "pgr"
BALLOTS = 60
PACE = 0.04  # seconds between ballots offered to the clients: ~25 ballots/s
CLIENTS = 4
OUTAGE = 1.5  # seconds PostgreSQL stays down each time
BOUND = 10.0  # no request may take longer than this, outage or not


class Stream:
    """Clients posting ballots from a paced queue; a 503 is retried with the same ballot."""

    def __init__(self, tally: Tally, bodies: list[dict]) -> None:
        self.tally = tally
        self.pending: queue.Queue[tuple[int, dict] | None] = queue.Queue()
        self.bodies = bodies
        self.lock = threading.Lock()
        self.responses: list[tuple[float, int, Response | BaseException]] = []  # (sent at, ballot, answer)
        self.receipts: dict[int, dict] = {}
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]
        self.producer = threading.Thread(target=self._produce, daemon=True)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        self.producer.start()

    def _produce(self) -> None:
        for number, body in enumerate(self.bodies):
            self.pending.put((number, body))
            time.sleep(PACE)
        for _ in self.threads:
            self.pending.put(None)

    def _client(self) -> None:
        while (job := self.pending.get()) is not None:
            number, body = job
            for _attempt in range(400):
                sent = time.monotonic()
                try:
                    answer: Response | BaseException = self.tally.post(
                        f"/api/meetings/{MEETING}/votes/v1/ballots", body, timeout=BOUND + 5)
                except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
                    answer = exc
                with self.lock:
                    self.responses.append((sent, number, answer))
                if isinstance(answer, Response) and answer.status in (200, 201):
                    with self.lock:
                        self.receipts[number] = answer.body
                    break
                if not (isinstance(answer, Response) and answer.status == 503):
                    break  # anything else is a failure; the assertions report it
                time.sleep(0.05)

    def accepted(self) -> int:
        with self.lock:
            return len(self.receipts)

    def join(self, timeout: float) -> None:
        self.producer.join(timeout)
        for thread in self.threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "a client is still waiting for an answer"


def test_postgres_restart_mid_vote(private_postgres, tmp_path):
    instance = tmp_path
    setup_app = make_app(private_postgres.url, str(instance / "setup"))
    with setup_app.app_context():
        people = demo.create_demo(MEETING, BALLOTS)
        parsed = cache.sealed_meeting(MEETING)
        definition = cache.vote_definition(MEETING, "v1")
    keys = [derive_private_key(p.code, MEETING) for p in people]
    choices = ["yes", "no", "abstain"]
    ballots = [encrypt_ballot(definition, parsed.hash, parsed.public_key, key, {"motion": [choices[i % 3]]})
               for i, key in enumerate(keys)]

    tally = Tally(private_postgres.url, instance / "tally")
    try:
        for person, key in zip(people, keys):
            body = {"credential": public_key_hex(key), "seat": person.seat,
                    "signature": sign_checkin(key, parsed.hash, person.seat)}
            assert tally.post(f"/api/meetings/{MEETING}/checkin", body).status == 200
        with setup_app.app_context():
            lifecycle.open_vote(MEETING, "v1", actor="test")
        pid = tally.process.pid

        stream = Stream(tally, [b.entry for b in ballots])
        stream.start()
        outages = []
        for mode, after in (("fast", 12), ("immediate", 32)):
            wait_until(lambda after=after: stream.accepted() >= after, 60, f"{after} ballots accepted")
            down_at = time.monotonic()
            private_postgres.stop(mode)
            stopped_at = time.monotonic()
            time.sleep(OUTAGE)
            private_postgres.start()
            up_at = time.monotonic()
            accepted_at_start = stream.accepted()
            wait_until(lambda n=accepted_at_start: stream.accepted() > n, 30, "a ballot accepted after the restart")
            outages.append({"mode": mode, "down_at": down_at, "stopped_at": stopped_at, "up_at": up_at})
        stream.join(120)

        # ---- every answer: 201/200 with a receipt, or 503 with the §11 body; within the bound
        failures = [(n, a) for _, n, a in stream.responses
                    if not isinstance(a, Response) or a.status not in (200, 201, 503)]
        assert not failures, failures[:5]
        unavailable = [(sent, a) for sent, _, a in stream.responses if a.status == 503]
        for _, answer in unavailable:
            assert set(answer.body) == {"error", "message"} and answer.body["error"] == "unavailable", answer.body
        slowest = max(a.seconds for _, _, a in stream.responses)
        assert slowest < BOUND, f"a request took {slowest:.2f} s"
        for outage in outages:  # each outage was hit by the stream, and answered with 503s
            hits = [sent for sent, _ in unavailable if outage["down_at"] <= sent <= outage["up_at"] + 5]
            assert hits, f"no request met the {outage['mode']} outage"
            later = [sent for sent, n, a in stream.responses if a.status in (200, 201) and sent >= outage["up_at"]]
            outage["recovered_in"] = min(later) - outage["up_at"] if later else None
            outage["answers_503"] = len(hits)
            assert later, f"no ballot accepted after the {outage['mode']} restart"
        assert tally.process.poll() is None and tally.process.pid == pid  # never restarted
        assert "Exception on /" not in tally.log_text()  # no request ended in an unhandled error (500)

        # ---- every receipted ballot logged exactly once; the record and every receipt verify
        assert len(stream.receipts) == BALLOTS
        vote = tally.get(f"/api/meetings/{MEETING}/votes/v1").body
        assert vote["cast"] == BALLOTS
        archive = tally.get(f"/api/meetings/{MEETING}/record.zip", timeout=60)
        assert archive.status == 200
        record_path = instance / "record.zip"
        record_path.write_bytes(archive.body)
        with zipfile.ZipFile(record_path) as bundle:
            lines = bundle.read("log.jsonl").splitlines()
        logged = [parse_json(line) for line in lines]
        ballot_entries = [e for e in logged if e.get("type") == "ballot"]
        assert len(ballot_entries) == BALLOTS
        hashes = [r["ballot_hash"] for r in stream.receipts.values()]
        assert len(set(hashes)) == BALLOTS
        for number, receipt in stream.receipts.items():
            assert receipt["ballot_hash"] == ballots[number].hash.hex()
            assert parse_json(lines[receipt["leaf_index"]]) == ballots[number].entry
        record = read_record(record_path)
        report = verify_record(record)
        assert report.ok, report
        for receipt in stream.receipts.values():
            check_receipt(record, report, receipt)
        assert report.ok, report

        # ---- the vote timer thread lived through both outages: it closes a timed vote
        with setup_app.app_context():
            lifecycle.close_vote(MEETING, "v1", actor="test")
            lifecycle.open_vote(MEETING, "v2", actor="test", duration_seconds=1)
        wait_until(lambda: tally.get(f"/api/meetings/{MEETING}/votes/v2").body["state"] == "closed", 15,
                   "the timer to close v2")

        summary = [
            f"{o['mode']}: stop took {o['stopped_at'] - o['down_at']:.2f} s, down {o['up_at'] - o['down_at']:.2f} s, "
            f"{o['answers_503']} answers 503, first ballot accepted {o['recovered_in']:.2f} s after PostgreSQL was up"
            for o in outages
        ]
        print("\n".join(["", *summary, (f"slowest request {slowest:.3f} s; "
                         f"slowest 503 {max(a.seconds for _, a in unavailable):.3f} s; "
                         f"{len(stream.responses)} requests for {BALLOTS} ballots")]))
    finally:
        tally.stop()
        setup_app.extensions["piaojue.engine"].dispose()
