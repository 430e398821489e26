"""Rate limits (issue #6, tally/ops/ratelimit.py): check-in per client address and per credential,
staff sign-in per address; the client address behind trusted proxies (X-Forwarded-For with a
configured hop count); 429 ``rate_limited`` with Retry-After and no state change; counts shared
across instances through Redis; failing open when Redis is down."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from limits import parse
from sqlalchemy import func, select

from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from service.conftest import KEK, make_app
from service.test_web_support import PASSWORD, csrf_token, make_user
from tally import config, demo
from tally.ops import ratelimit
from tally.store import cache, db
from tally.store.models import AuditEvent, Meeting

REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[2]


def present(app, meeting_id: str = "m1") -> int:
    with app.app_context():
        return db.session().scalar(select(Meeting.checkins).where(Meeting.id == meeting_id))


def assert_rate_limited(response) -> int:
    assert response.status_code == 429, response.get_data()[:200]
    body = response.get_json()
    assert body["error"] == "rate_limited" and "retry" in body["message"]
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60
    return retry


def test_defaults_fit_a_hall_of_3000_behind_one_address():
    """A 3,000-seat hall behind one NAT address checks in within a minute, twice over; a tablet
    may repeat its check-in a few times; staff sign-in stays usable from a shared desk."""
    per_address = parse(config.Config.RATELIMIT_CHECKIN_ADDRESS)
    assert per_address.amount >= 6000 and per_address.get_expiry() == 60
    per_credential = parse(config.Config.RATELIMIT_CHECKIN_CREDENTIAL)
    assert 3 <= per_credential.amount <= 30 and per_credential.get_expiry() == 60
    assert parse(config.Config.RATELIMIT_LOGIN_ADDRESS).amount >= 10


def test_per_credential_limit(app, client, meeting):
    app.config.update(RATELIMIT_CHECKIN_CREDENTIAL="3 per minute")
    deputy, other = meeting.deputies[0], meeting.deputies[1]
    for _ in range(3):  # a tablet repeating its check-in (harmless) …
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).get_json() == {"present": 1}
    assert_rate_limited(client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)))
    # … is stopped, while the hall goes on
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(other)).get_json() == {"present": 2}
    # A credential is public (it is in the log): attempts whose signature fails are not charged to
    # it, so nobody can lock a deputy out of check-in by sending garbage with their key.
    victim = meeting.deputies[2]
    forged = {**meeting.checkin_body(victim), "signature": sign_checkin(other.key, meeting.hash, victim.seat)}
    for _ in range(5):
        assert client.post("/api/meetings/m1/checkin", json=forged).get_json()["error"] == "bad_signature"
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(victim)).status_code == 200
    # refusals after a verified signature do count (a revoked or unknown seat, a closed check-in …)
    wrong_seat = meeting.checkin_body(victim, seat="999")
    assert client.post("/api/meetings/m1/checkin", json=wrong_seat).get_json()["error"] == "unknown_seat"
    assert client.post("/api/meetings/m1/checkin", json=wrong_seat).get_json()["error"] == "unknown_seat"
    assert_rate_limited(client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(victim)))
    assert present(app) == 3


def test_per_address_limit(app, meeting):
    app.config.update(RATELIMIT_CHECKIN_ADDRESS="4 per minute")
    hall, elsewhere = {"REMOTE_ADDR": "10.1.0.1"}, {"REMOTE_ADDR": "10.1.0.2"}
    client = app.test_client()
    for deputy in meeting.deputies[:3]:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy),
                           environ_base=hall).status_code == 200
    # every request counts, well-formed or not
    assert client.post("/api/meetings/m1/checkin", data=b"junk", environ_base=hall).status_code == 400
    # over the limit: refused before anything is read or written
    before = present(app)
    refused = client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[3]),
                          environ_base=hall)
    assert_rate_limited(refused)
    assert present(app) == before == 3
    # another address, and another meeting's check-ins, have their own counts
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[3]),
                       environ_base=elsewhere).get_json() == {"present": 4}
    assert client.post("/api/meetings/m9/checkin", json={}, environ_base=hall).get_json()["error"] == "not_found"
    app.config.update(RATELIMIT_CHECKIN_ADDRESS="")  # "" turns a limit off
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[4]),
                       environ_base=hall).status_code == 200


def test_forwarded_for_only_with_the_configured_hops(app, meeting):
    app.config.update(RATELIMIT_CHECKIN_ADDRESS="2 per minute")
    nginx = {"REMOTE_ADDR": "127.0.0.1"}
    client = app.test_client()
    deputies = itertools.cycle(meeting.deputies)

    def check_in(forwarded: str | None):
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(next(deputies)), headers=headers,
                           environ_base=nginx)

    # No trusted proxy: the header is ignored, everyone is nginx's address.
    assert check_in("203.0.113.1").status_code == 200
    assert check_in("203.0.113.2").status_code == 200
    assert_rate_limited(check_in("203.0.113.3"))
    # One trusted proxy (nginx appends the address it saw): the rightmost value is the client.
    app.config.update(TRUSTED_PROXIES=1)
    assert check_in("203.0.113.7").status_code == 200
    assert check_in("203.0.113.7").status_code == 200
    assert_rate_limited(check_in("203.0.113.7"))
    # A client writing its own X-Forwarded-For gains nothing: nginx appends the real address after it.
    assert_rate_limited(check_in("198.51.100.9, 203.0.113.7"))
    assert_rate_limited(check_in("10.9.9.9, 198.51.100.9, 203.0.113.7"))
    assert check_in("203.0.113.7, 203.0.113.8").status_code == 200  # the real client is .8
    # Two trusted proxies (a load balancer, then nginx): the second value from the right.
    app.config.update(TRUSTED_PROXIES=2)
    assert check_in("203.0.113.9, 192.0.2.1").status_code == 200
    assert check_in("203.0.113.9, 192.0.2.2").status_code == 200
    assert_rate_limited(check_in("spoofed, 203.0.113.9, 192.0.2.3"))
    # the login throttle and the audit trail see the same address
    headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.9, 192.0.2.3"}
    token = csrf_token(client)
    failed = client.post("/staff/login", data={"csrf_token": token, "username": "nobody", "password": "x"},
                         headers=headers, environ_base=nginx)
    assert failed.status_code == 401
    with app.app_context():
        event = db.session().scalar(select(AuditEvent).where(AuditEvent.action == "staff.login_failed"))
        assert event.detail["address"] == "203.0.113.9" and event.actor == "anonymous:203.0.113.9"


def test_the_limit_resets_after_its_window(app, client, meeting):
    app.config.update(RATELIMIT_CHECKIN_CREDENTIAL="2 per 1 second")
    deputy = meeting.deputies[0]
    started = time.monotonic()
    for _ in range(2):
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    retry = assert_rate_limited(client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)))
    assert retry == 1
    time.sleep(max(0.0, started + 1.2 - time.monotonic()))
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200


def test_login_is_rate_limited_per_address(app):
    app.config.update(RATELIMIT_LOGIN_ADDRESS="3 per minute")
    make_user(app, "chen", "clerk")
    desk, other_desk = {"REMOTE_ADDR": "10.2.0.1"}, {"REMOTE_ADDR": "10.2.0.2"}
    client = app.test_client()

    def attempt(username: str, password: str, environ: dict[str, str]):
        return client.post("/staff/login", data={"csrf_token": csrf_token(client), "username": username,
                                                 "password": password}, environ_base=environ)

    # different usernames: the per-(username, address) lockout never sees more than one failure
    for name in ("guess1", "guess2", "guess3"):
        assert attempt(name, "wrong password", desk).status_code == 401
    for _ in range(3):  # over the limit, even the right password is refused, before it is checked
        limited = attempt("chen", PASSWORD, desk)
        assert limited.status_code == 429 and "登录尝试过多" in limited.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302
    assert attempt("chen", PASSWORD, other_desk).status_code == 302  # another desk is not affected
    with app.app_context():
        actions = list(db.session().scalars(select(AuditEvent.action).where(AuditEvent.action.startswith("staff.login"))
                                            .order_by(AuditEvent.id)))
    # the first refusal of the window is in the audit trail, not every one of a flood
    assert actions == ["staff.login_failed"] * 3 + ["staff.login_rate_limited", "staff.login"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_counts_are_shared_through_redis(database_url, tmp_path):
    """Two instances with the same Redis count together (per credential here)."""
    prefix = f"piaojue-test-{uuid.uuid4().hex[:8]}:ratelimit"
    settings = {"RATELIMIT_STORAGE_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix,
                "RATELIMIT_CHECKIN_CREDENTIAL": "3 per minute"}
    first = make_app(database_url, str(tmp_path / "a"), **settings)
    second = make_app(database_url, str(tmp_path / "b"), **settings)
    try:
        with first.app_context():
            people = demo.create_demo("m1", 3)
        with first.app_context():
            meeting_hash = cache.sealed_meeting("m1").hash
        key = derive_private_key(people[0].code, "m1")
        body = {"credential": public_key_hex(key), "seat": people[0].seat,
                "signature": sign_checkin(key, meeting_hash, people[0].seat)}
        a, b = first.test_client(), second.test_client()
        assert a.post("/api/meetings/m1/checkin", json=body).status_code == 200
        assert b.post("/api/meetings/m1/checkin", json=body).status_code == 200
        assert a.post("/api/meetings/m1/checkin", json=body).status_code == 200
        assert_rate_limited(b.post("/api/meetings/m1/checkin", json=body))
        assert_rate_limited(a.post("/api/meetings/m1/checkin", json=body))
        assert type(ratelimit.limiter(first).storage).__name__ == "RedisStorage"
    finally:
        ratelimit.limiter(first).storage.reset()  # the test's own prefix only
        for application in (first, second):
            application.extensions["piaojue.engine"].dispose()


def test_a_redis_outage_fails_open_to_memory(app, client, meeting, caplog):
    """With the Redis store unreachable, check-ins go on, counted in this process's memory."""
    ratelimit_url = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    app.extensions["piaojue.ratelimit"] = ratelimit.Limiter(ratelimit_url, "piaojue-test")
    app.config.update(RATELIMIT_CHECKIN_CREDENTIAL="2 per minute")
    deputy = meeting.deputies[0]
    for _ in range(2):
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    assert_rate_limited(client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)))
    assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[1])).status_code == 200
    warnings = [r for r in caplog.records if "rate limit store" in r.getMessage()]
    assert len(warnings) == 1 and "counting in memory" in warnings[0].getMessage()
    assert present(app) == 2
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.startswith("checkin"))) == 0


def _gunicorn(worker: str, database_url: str, instance: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """One instance under gunicorn with deploy/gunicorn.conf.py and the given worker class."""
    port = _free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "PIAOJUE_KEY_ENCRYPTION_KEY": KEK,
                   "PIAOJUE_INSTANCE_PATH": instance, "PIAOJUE_BIND": f"127.0.0.1:{port}", "PIAOJUE_WORKER": worker,
                   "PIAOJUE_THREADS": "8", "PYTHONPATH": str(ROOT), **env}
    environment.pop("SOCKETIO_MESSAGE_QUEUE", None)
    log = open(Path(instance) / f"gunicorn-{worker}.log", "ab")  # noqa: SIM115 - the child keeps its descriptor
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                               cwd=instance, env=environment, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (Path(instance) / f"gunicorn-{worker}.log").read_text()
        try:
            if _http(port, "GET", "/api/meetings/m1")[0] == 200:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise AssertionError(f"gunicorn ({worker}) did not answer")


def _http(port: int, method: str, path: str, body: object = None,
          headers: dict[str, str] | None = None) -> tuple[int, str | None, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        return response.status, response.getheader("Retry-After"), (json.loads(raw) if raw[:1] == b"{" else {})
    finally:
        connection.close()


def test_gevent_and_gthread_instances_share_the_limits(database_url, tmp_path):
    """Two real instances behind a (pretend) nginx, one with gunicorn's gevent worker and one with
    gthread, counting in the same Redis: the limits hold across both, X-Forwarded-For decides the
    address, and the 429 carries Retry-After."""
    app = make_app(database_url, str(tmp_path / "instance"))
    with app.app_context():
        people = demo.create_demo("m1", 3)
        meeting_hash = cache.sealed_meeting("m1").hash
    app.extensions["piaojue.engine"].dispose()
    env = {"PIAOJUE_RATELIMIT_STORAGE_URL": REDIS_URL, "SOCKETIO_CHANNEL": f"piaojue-test-{uuid.uuid4().hex[:8]}",
           "PIAOJUE_RATELIMIT_CHECKIN_CREDENTIAL": "3 per minute", "PIAOJUE_RATELIMIT_CHECKIN_ADDRESS": "5 per minute",
           "PIAOJUE_TRUSTED_PROXIES": "1"}
    processes = []
    try:
        for worker in ("gevent", "gthread"):
            processes.append(_gunicorn(worker, database_url, str(tmp_path / "instance"), env))
        (_, gevent_port), (_, gthread_port) = processes
        keys = [derive_private_key(p.code, "m1") for p in people]
        bodies = [{"credential": public_key_hex(k), "seat": p.seat, "signature": sign_checkin(k, meeting_hash, p.seat)}
                  for k, p in zip(keys, people)]
        # per credential, across both instances (each request from another hall address)
        statuses = [_http(port, "POST", "/api/meetings/m1/checkin", bodies[0], {"X-Forwarded-For": f"10.3.0.{i}"})[0]
                    for i, port in enumerate((gevent_port, gthread_port, gevent_port))]
        assert statuses == [200, 200, 200]
        status, retry, body = _http(gthread_port, "POST", "/api/meetings/m1/checkin", bodies[0],
                                    {"X-Forwarded-For": "10.3.0.9"})
        assert (status, body["error"]) == (429, "rate_limited") and 1 <= int(retry or 0) <= 60
        # per address: the last X-Forwarded-For value, whatever the client wrote before it
        hall = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
        statuses = [_http(port, "POST", "/api/meetings/m1/checkin", body, hall)[0]
                    for port, body in ((gevent_port, bodies[1]), (gthread_port, bodies[1]), (gevent_port, {}),
                                       (gthread_port, {}), (gevent_port, {}))]
        assert statuses == [200, 200, 400, 400, 400]
        status, retry, body = _http(gevent_port, "POST", "/api/meetings/m1/checkin", bodies[2], hall)
        assert (status, body["error"]) == (429, "rate_limited") and retry
        assert _http(gthread_port, "POST", "/api/meetings/m1/checkin", bodies[2],
                     {"X-Forwarded-For": "203.0.113.6"})[2] == {"present": 3}
    finally:
        for process, _ in processes:
            process.terminate()
            process.wait(30)
        redis.Redis.from_url(REDIS_URL).delete(
            *redis.Redis.from_url(REDIS_URL).keys(f"{env['SOCKETIO_CHANNEL']}:ratelimit:*") or ["-"])


def _pairing_used(app, code: str) -> bool:
    from tally.services.pairing import _digest
    from tally.store.models import Pairing

    with app.app_context():
        return db.session().scalar(select(Pairing.used_at).where(Pairing.code_hash == _digest(code))) is not None


def _pairing_codes(app, seats) -> list[str]:
    from tally.services import pairing

    with app.app_context():
        return [c["code"] for c in pairing.create_codes("m1", list(seats), actor="test")]


def test_pairing_code_guessing_is_limited(app, client, meeting):
    """8-digit pairing codes: failed attempts per address are limited (guessing stays slow); over
    the limit even a right code is refused from that address and stays unused, while another
    address pairs normally."""
    app.config.update(RATELIMIT_PAIR_FAILURES_ADDRESS="3 per minute")
    hall, elsewhere = {"REMOTE_ADDR": "10.3.0.1"}, {"REMOTE_ADDR": "10.3.0.2"}
    (code,) = _pairing_codes(app, [meeting.deputies[0].seat])
    for malformed in ("12", "abcdefgh"):  # not guesses: they do not count
        assert client.post("/kiosk/api/pair", json={"code": malformed}, environ_base=hall).status_code == 400
    for guess in ("00000000", "11111111", "22222222"):
        response = client.post("/kiosk/api/pair", json={"code": guess}, environ_base=hall)
        assert response.status_code == 404 and response.get_json()["error"] == "invalid_pairing"
    refused = client.post("/kiosk/api/pair", json={"code": code}, environ_base=hall)
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert not _pairing_used(app, code)
    paired = client.post("/kiosk/api/pair", json={"code": code}, environ_base=elsewhere)
    assert paired.status_code == 200 and paired.get_json()["seat"] == meeting.deputies[0].seat
    assert _pairing_used(app, code)


def test_pairing_attempts_per_address_are_limited(app, client, meeting):
    app.config.update(RATELIMIT_PAIR_ADDRESS="2 per minute")
    hall = {"REMOTE_ADDR": "10.3.1.1"}
    codes = _pairing_codes(app, [d.seat for d in meeting.deputies[:3]])
    for code in codes[:2]:
        assert client.post("/kiosk/api/pair", json={"code": code}, environ_base=hall).status_code == 200
    assert_rate_limited(client.post("/kiosk/api/pair", json={"code": codes[2]}, environ_base=hall))
    assert not _pairing_used(app, codes[2])


def test_pairing_defaults_fit_a_hall_behind_one_address():
    assert parse(config.Config.RATELIMIT_PAIR_ADDRESS).amount >= 500
    failures = parse(config.Config.RATELIMIT_PAIR_FAILURES_ADDRESS)
    # at most one guess per 10 s from an address: with 500 live codes among 10^8, a 2 % chance of
    # hitting one during a code's 12-hour life
    assert failures.amount / failures.get_expiry() <= 0.1


def test_pairing_codes_and_their_audit_event_are_one_transaction(app, client, meeting, monkeypatch):
    """Codes are stored together with the audit event recording who made them: if the event cannot
    be written, no code exists (the codes used to be committed first)."""
    from tally.services import pairing
    from tally.store.models import Pairing

    def broken(*_args, **_kwargs):
        raise RuntimeError("the audit trail refused the write")

    with app.app_context():
        before = db.session().scalar(select(func.count()).select_from(Pairing))
        monkeypatch.setattr(pairing, "record_event", broken)
        try:
            pairing.create_codes("m1", [meeting.deputies[0].seat], actor="clerk:test")
        except RuntimeError:
            db.session().rollback()
        else:
            raise AssertionError("create_codes ignored the failed audit write")
        assert db.session().scalar(select(func.count()).select_from(Pairing)) == before
        monkeypatch.undo()
        pairing.create_codes("m1", [meeting.deputies[0].seat], actor="clerk:test")
        assert db.session().scalar(select(func.count()).select_from(Pairing)) == before + 1
        event = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "pairing.create")).all()[-1]
        assert event.actor == "clerk:test" and event.detail == {"seats": 1}
