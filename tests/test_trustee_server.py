"""The trustee tools' --server modes against the real tally service, served over HTTP.

The service runs in a background thread (werkzeug's threaded server on an ephemeral port), so the
trustee commands go through keys.relay_client and real sockets, as on a trustee's laptop.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.serving import make_server

from ballot.audit import verify_record
from ballot.encrypt import encrypt_ballot
from ballot.group import Point, Scalar
from ballot.record import read_record
from ballot.vote import parse_vote
from keys.cli import cli
from keys.credentials import public_key_hex, sign_checkin
from keys.envelope import seal, share_associated_data
from keys.errors import RelayError
from keys.relay_client import RelayClient
from keys.statefile import load_state
from tally import create_app
from tally.store import cache, logstore

MEETING = "m1"
TRUSTEES = ["甲监票人", "乙监票人", "丙监票人"]
N, K = 3, 2
PASSPHRASE = "口令 passphrase"
FAST = ["--kdf-memory-cost", "8", "--kdf-iterations", "1"]
CLEAN_ENV = {"PIAOJUE_PASSPHRASE": PASSPHRASE, "PIAOJUE_SERVER": None, "PIAOJUE_TOKEN": None}


@dataclass
class Service:
    app: Any
    url: str
    clerk: str
    trustee_tokens: dict[int, str]
    tmp: Path

    def staff(self, token: str | None = None) -> RelayClient:
        return RelayClient(self.url, token or self.clerk)

    def public(self) -> RelayClient:
        return RelayClient(self.url)

    def state(self, index: int) -> str:
        return str(self.tmp / f"trustee{index}.state")


def _flask(app: Any, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.output


@contextmanager
def serving(wsgi_app: Any) -> Iterator[str]:
    """Serve ``wsgi_app`` over HTTP on an ephemeral port in a background thread; yields its URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-http-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def service(tmp_path):
    cache.clear()
    logstore._trees.clear()
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite3", "KEY_ENCRYPTION_KEY": "11" * 32, "TESTING": True},
        instance_path=str(tmp_path / "instance"),
    )
    engine = app.extensions["piaojue.engine"]
    try:
        with serving(app) as url:
            _flask(
                app,
                "meeting",
                "create",
                MEETING,
                "--title",
                "第一次会议",
                "--body",
                "某市人民代表大会常务委员会",
                "--members",
                "3",
                *[arg for name in TRUSTEES for arg in ("--trustee", name)],
                "--threshold",
                str(K),
            )
            clerk = _flask(app, "staff", "书记员", "--role", "clerk").strip()
            tokens = {
                i: _flask(
                    app,
                    "staff",
                    f"trustee{i}",
                    "--role",
                    "trustee",
                    "--meeting",
                    MEETING,
                    "--trustee",
                    str(i),
                ).strip()
                for i in range(1, N + 1)
            }
            yield Service(app, url, clerk, tokens, tmp_path)
    finally:
        engine.dispose()
        cache.clear()
        logstore._trees.clear()


def keys_cli(*args: str, env: dict[str, Any] | None = None):
    return CliRunner().invoke(cli, list(args), env={**CLEAN_ENV, **(env or {})}, catch_exceptions=False)


def begin(service: Service, index: int, *extra: str, token: str | None = None):
    return keys_cli(
        "ceremony",
        "begin",
        "--server",
        service.url,
        "--token",
        token or service.trustee_tokens[index],
        "--meeting",
        MEETING,
        "--index",
        str(index),
        "--trustees",
        str(N),
        "--threshold",
        str(K),
        "--name",
        TRUSTEES[index - 1],
        "--state",
        service.state(index),
        *FAST,
        *extra,
    )


def step(service: Service, name: str, index: int):
    return keys_cli(
        "ceremony",
        name,
        "--server",
        service.url,
        "--token",
        service.trustee_tokens[index],
        "--state",
        service.state(index),
    )


def ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.output


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.output, result.stderr)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def ceremony_status(service: Service) -> dict[int, dict[str, Any]]:
    answer = service.staff().get_json(f"/api/staff/meetings/{MEETING}/ceremony")
    return {row["index"]: row for row in answer["status"]}


# ---------------------------------------------------------------------------------------------


def test_whole_meeting_through_the_server(service):
    staff = service.staff()
    deputies = [Ed25519PrivateKey.generate() for _ in range(3)]
    assert staff.post_json(
        f"/api/staff/meetings/{MEETING}/credentials", {"credentials": [public_key_hex(d) for d in deputies]}
    ) == {"registered": 3}
    staff.post_json(
        f"/api/staff/meetings/{MEETING}/votes",
        {"template": "resolution", "params": {"vote_id": "v1", "title": "决议"}},
    )

    # The key ceremony, each trustee through the server. Trustee 3 takes server and token from the env.
    fingerprints = {}
    for i in range(1, N + 1):
        out = ok(begin(service, i))
        assert "announcement posted to" in out
        fingerprints[i] = out.strip().splitlines()[-1].split(": ")[1]
    assert all(ceremony_status(service)[i]["announced"] for i in range(1, N + 1))
    # begin again with the same state file: nothing new, the same announcement
    again = ok(begin(service, 1))
    assert "already posted" in again and fingerprints[1] in again
    for i in range(1, N + 1):
        if i == 3:
            result = keys_cli(
                "ceremony",
                "deal",
                "--state",
                service.state(3),
                env={"PIAOJUE_SERVER": service.url, "PIAOJUE_TOKEN": service.trustee_tokens[3]},
            )
        else:
            result = step(service, "deal", i)
        out = ok(result)
        assert "2 sealed shares of trustee" in out and "relayed through" in out
        for j in range(1, N + 1):  # every trustee sees the fingerprints the others announced
            assert f"trustee {j} ({TRUSTEES[j - 1]}): {fingerprints[j]}" in out
    assert "already relayed" in ok(step(service, "deal", 1))  # idempotent
    assert all(row["dealt"] == N - 1 for row in ceremony_status(service).values())
    keys_seen = set()
    for i in range(1, N + 1):
        out = ok(step(service, "receive", i))
        assert "Feldman check passed" in out and "confirmed to" in out
        keys_seen.add(out.split("joint public key K = ")[1].split()[0])
        assert "share" in load_state(service.state(i), PASSPHRASE)
    assert len(keys_seen) == 1
    assert all(row["confirmed"] and not row["complaint"] for row in ceremony_status(service).values())

    sealed = staff.post_json(f"/api/staff/meetings/{MEETING}/seal", {})
    assert sealed["meeting"]["public_key"] == keys_seen.pop()

    # Check-in, a vote, three ballots.
    public = service.public()
    meeting = public.get_json(f"/api/meetings/{MEETING}")
    q = bytes.fromhex(meeting["meeting_hash"])
    public_key = Point.from_hex(meeting["meeting"]["public_key"])
    for seat, key in zip(["1排1座", "1排2座", "2排1座"], deputies, strict=True):
        public.post_json(
            f"/api/meetings/{MEETING}/checkin",
            {"credential": public_key_hex(key), "seat": seat, "signature": sign_checkin(key, q, seat)},
        )
    staff.post_json(f"/api/staff/meetings/{MEETING}/votes/v1/open", {})
    definition = parse_vote(public.get_json(f"/api/meetings/{MEETING}/votes/v1")["vote"])
    for key, choice in zip(deputies, ["yes", "yes", "no"], strict=True):
        ballot = encrypt_ballot(definition, q, public_key, key, {"motion": [choice]})
        receipt = public.post_json(f"/api/meetings/{MEETING}/votes/v1/ballots", ballot.entry)
        assert receipt["vote_id"] == "v1"
    # too early: the aggregates are final only once the vote closes; one line with the server's reason
    line = one_line_error(
        keys_cli("decrypt", "--server", service.url, "--vote", "v1", "--state", service.state(1))
    )
    assert "409 vote_not_closed" in line and "open" in line
    staff.post_json(f"/api/staff/meetings/{MEETING}/votes/v1/close", {})

    # Two trustees decrypt (no token); the second share publishes the result.
    out = ok(
        keys_cli(
            "decrypt",
            "--server",
            service.url,
            "--meeting",
            MEETING,
            "--vote",
            "v1",
            "--state",
            service.state(3),
            "--out",
            str(service.tmp / "share3.json"),
        )
    )
    assert "share of trustee 3 for vote v1 (3 options) posted" in out
    assert "vote v1: closed; shares posted by trustees 3 (threshold 2); missing 1, 2" in out
    assert json.loads((service.tmp / "share3.json").read_text())["trustee"] == 3
    out = ok(
        keys_cli("decrypt", "--vote", "v1", "--state", service.state(1), env={"PIAOJUE_SERVER": service.url})
    )
    assert "vote v1: published; shares posted by trustees 1, 3 (threshold 2); missing 2" in out
    assert f"/api/meetings/{MEETING}/votes/v1/result" in out
    # a third trustee after publication: nothing to do
    out = ok(keys_cli("decrypt", "--server", service.url, "--vote", "v1", "--state", service.state(2)))
    assert "already published: no share is needed from trustee 2" in out
    # and a trustee who already posted is told so
    assert "already posted" in ok(
        keys_cli("decrypt", "--server", service.url, "--vote", "v1", "--state", service.state(1))
    )

    result = public.get_json(f"/api/meetings/{MEETING}/votes/v1/result")
    counts = {t["option"]: t["count"] for t in result["tallies"]}
    assert counts == {"yes": 2, "no": 1, "abstain": 0}
    assert result["counted"] == 3 and result["trustees"] == [1, 3]

    record_path = service.tmp / "record.zip"
    with urllib.request.urlopen(f"{service.url}/api/meetings/{MEETING}/record.zip", timeout=30) as response:
        record_path.write_bytes(response.read())
    report = verify_record(read_record(record_path))
    assert report.ok, report.format()


def test_deal_before_every_announcement_names_the_missing(service):
    ok(begin(service, 1))
    line = one_line_error(step(service, "deal", 1))
    assert f"waiting for trustees 2 ({TRUSTEES[1]}), 3 ({TRUSTEES[2]})" in line
    ok(begin(service, 2))
    line = one_line_error(step(service, "receive", 2))
    assert f"waiting for trustee 3 ({TRUSTEES[2]})" in line
    assert ceremony_status(service)[1]["dealt"] == 0


def test_receive_complains_about_a_bad_share(service):
    for i in range(1, N + 1):
        ok(begin(service, i))
    ok(step(service, "deal", 1))
    ok(step(service, "deal", 3))
    # Trustee 2 deals dishonestly: random values, properly sealed, that fail the Feldman check.
    announcements = service.staff(service.trustee_tokens[2]).get_json(
        f"/api/staff/meetings/{MEETING}/ceremony/announcements"
    )["announcements"]
    transport = {a["index"]: bytes.fromhex(a["transport_key"]) for a in announcements}
    bad = [
        {
            "from": 2,
            "to": to,
            "envelope": seal(
                transport[to], Scalar.random().to_bytes(), share_associated_data(MEETING, 2, to)
            ),
        }
        for to in (1, 3)
    ]
    service.staff(service.trustee_tokens[2]).post_json(
        f"/api/staff/meetings/{MEETING}/ceremony/messages", {"messages": bad}
    )
    before = Path(service.state(1)).read_bytes()
    line = one_line_error(step(service, "receive", 1), code=3)
    assert "trustee 2's share to trustee 1 fails the Feldman check" in line and "complaint posted" in line
    assert Path(service.state(1)).read_bytes() == before
    row = ceremony_status(service)[1]
    assert row["confirmed"] is False and "trustee 2's share to trustee 1" in row["complaint"]
    # the meeting cannot be sealed with a complaint outstanding
    with pytest.raises(RelayError) as caught:
        service.staff().post_json(f"/api/staff/meetings/{MEETING}/seal", {})
    assert caught.value.code == "ceremony_incomplete" and "1, 2, 3" in str(caught.value)


def test_wrong_token_gives_the_servers_message(service):
    line = one_line_error(begin(service, 1, token="not-a-token"))
    assert "401 unauthorized" in line and "unknown or revoked token" in line
    assert not Path(service.state(1)).exists()  # checked before the state file is made
    # another trustee's token: the server refuses the announcement for index 1
    line = one_line_error(begin(service, 1, token=service.trustee_tokens[2]))
    assert "malformed" in line and "this trustee's index" in line
    # a token is required for the ceremony
    result = keys_cli("ceremony", "deal", "--server", service.url, "--state", service.state(1))
    assert "give --token" in one_line_error(result)


def test_unreachable_server_is_one_clear_line(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = keys_cli(
        "ceremony",
        "begin",
        "--server",
        url,
        "--token",
        "t",
        "--meeting",
        MEETING,
        "--index",
        "1",
        "--trustees",
        "3",
        "--threshold",
        "2",
        "--name",
        "a",
        "--state",
        str(tmp_path / "s"),
        *FAST,
    )
    line = one_line_error(result)
    assert f"cannot reach the tally service at {url}" in line
    assert not (tmp_path / "s").exists()
    line = one_line_error(
        keys_cli(
            "ceremony",
            "begin",
            "--server",
            "ftp://x",
            "--token",
            "t",
            "--meeting",
            MEETING,
            "--index",
            "1",
            "--trustees",
            "3",
            "--threshold",
            "2",
            "--name",
            "a",
            "--state",
            str(tmp_path / "s"),
            *FAST,
        )
    )
    assert "http://host:port" in line


def test_modes_are_chosen_clearly(service, tmp_path):
    # neither files nor a server
    line = one_line_error(
        keys_cli(
            "ceremony",
            "begin",
            "--meeting",
            MEETING,
            "--index",
            "1",
            "--trustees",
            "3",
            "--threshold",
            "2",
            "--name",
            "a",
            "--state",
            str(tmp_path / "s"),
            *FAST,
        )
    )
    assert "--out FILE" in line and "--server URL" in line
    # PIAOJUE_SERVER gives way to offline files: the file mode works unchanged with it set
    out = ok(
        keys_cli(
            "ceremony",
            "begin",
            "--meeting",
            MEETING,
            "--index",
            "1",
            "--trustees",
            "1",
            "--threshold",
            "1",
            "--name",
            "a",
            "--state",
            str(tmp_path / "s"),
            "--out",
            str(tmp_path / "a.json"),
            *FAST,
            env={"PIAOJUE_SERVER": service.url},
        )
    )
    assert "announcement written to" in out and not ceremony_status(service)[1]["announced"]
    # --server on the command line with offline inputs is a usage error
    line = one_line_error(
        keys_cli(
            "ceremony",
            "deal",
            "--server",
            service.url,
            "--token",
            "t",
            "--state",
            str(tmp_path / "s"),
            "--announcements",
            str(tmp_path / "a.json"),
        )
    )
    assert "either --server or" in line


def test_relay_client_errors(service):
    client = service.public()
    with pytest.raises(RelayError) as caught:
        client.get_json("/api/meetings/nope")
    assert caught.value.status == 404 and caught.value.code == "not_found"
    with pytest.raises(RelayError) as caught:
        client.get_json(f"/api/meetings/{MEETING}")  # not sealed yet
    assert caught.value.status == 409 and caught.value.code == "not_sealed"
    with pytest.raises(RelayError) as caught:
        RelayClient(service.url, "x").post_json(f"/api/staff/meetings/{MEETING}/seal", {})
    assert caught.value.status == 401 and "unknown or revoked token" in str(caught.value)
    with pytest.raises(RelayError):
        RelayClient("not a url")
    with pytest.raises(RelayError):
        RelayClient(service.url, "two\nlines")


def _odd_server(environ, start_response):  # a WSGI app that is not the tally service
    if environ["PATH_INFO"] == "/moved":
        start_response("302 Found", [("Location", "https://elsewhere.example/api"), ("Content-Length", "0")])
        return [b""]
    if environ["PATH_INFO"] == "/html-error":
        body = b"<html>502 Bad Gateway</html>"
        start_response("502 Bad Gateway", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
        return [body]
    body = b"<html>hello</html>"
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    return [body]


def test_relay_client_redirects_and_non_json():
    with serving(_odd_server) as url:
        client = RelayClient(url + "/", "secret")
        with pytest.raises(RelayError) as caught:
            client.get_json("/moved")
        assert caught.value.status == 302 and "https://elsewhere.example/api" in str(caught.value)
        with pytest.raises(RelayError) as caught:
            client.get_json("/html-error")
        assert caught.value.status == 502 and caught.value.code is None and "Bad Gateway" in str(caught.value)
        with pytest.raises(RelayError) as caught:
            client.post_json("/page", {"a": 1})
        assert caught.value.status == 200 and "not a JSON document" in str(caught.value)
