"""`flask --app tally demo --simulate` runs a verifiable session; log keys are sealed at rest; no
secret is ever logged or served (issue #6)."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import secrets
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select

from ballot.audit import verify_record
from ballot.encrypt import encrypt_ballot
from ballot.record import read_record
from keys.credentials import derive_private_key, format_code, public_key_hex, sign_checkin
from keys.statefile import load_state
from service.conftest import make_app
from service.test_web_support import PASSWORD
from tally import create_app, demo
from tally.api import tokens
from tally.store import cache, db, logkeys
from tally.store.models import Meeting, Vote


def test_demo_simulate_writes_a_record_the_verifier_accepts(app, tmp_path):
    record = tmp_path / "record.zip"
    result = app.test_cli_runner().invoke(
        args=["demo", "--deputies", "12", "--codes", str(tmp_path / "codes.json"), "--meeting", "sim",
              "--simulate", "--record", str(record)]
    )
    assert result.exit_code == 0, result.output
    report = verify_record(read_record(record))
    assert report.ok, report.format()
    assert [v["state"] for v in report.votes] == ["published"] * 5
    verifier = subprocess.run([sys.executable, "-m", "ballot.verify", str(record)], capture_output=True, text=True, check=False)
    assert verifier.returncode == 0 and "RESULT: PASS" in verifier.stdout


def test_log_key_is_sealed_under_the_kek(app, meeting, tmp_path):
    with app.app_context():
        from tally.store import db

        row = db.session().get(Meeting, "m1")
        key = logkeys.open_log_key("m1", row.log_private_key_sealed)
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        assert raw not in row.log_private_key_sealed
        with pytest.raises(logkeys.SecretError):
            logkeys.open_log_key("m2", row.log_private_key_sealed)  # bound to its meeting
        sealed = row.log_private_key_sealed
    other = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "KEY_ENCRYPTION_KEY": "22" * 32},
                       instance_path=str(tmp_path / "other"))
    with other.app_context(), pytest.raises(logkeys.SecretError):
        logkeys.open_log_key("m1", sealed)
    other.extensions["piaojue.engine"].dispose()
    bad = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/y.sqlite3", "KEY_ENCRYPTION_KEY": "abc"},
                     instance_path=str(tmp_path / "bad"))
    with bad.app_context(), pytest.raises(logkeys.SecretError, match="64 hex"):
        logkeys.new_log_key("m9")
    bad.extensions["piaojue.engine"].dispose()



# ------------------------------------------------------------------ secrets are never logged or served (issue #6)

PAGE_VALUES = {"code": "12345678", "kind": "resolution"}
QUERIES = {
    "public.entries": "?start=0&end={size}",
    "public.inclusion": "?leaf_index=0&tree_size={size}",
    "public.consistency": "?first=1&second={size}",
    "kiosk.qr_svg": "?data=https%3A%2F%2Fexample.org%2Fr",
}
SKIPPED = {"static", "kiosk.static"}
"""Files from the repository: they cannot hold a secret made during the test."""


def _forms(secret: bytes | str) -> list[bytes]:
    """How a secret could appear: as text, or for bytes raw, hex (both cases) and base64."""
    if isinstance(secret, str):
        return [secret.encode()]
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret),
            base64.urlsafe_b64encode(secret).rstrip(b"=")]


def _expand(body: bytes, mimetype: str) -> list[bytes]:
    """A response body and what it wraps: the members of a zip, the decompressed streams of a PDF."""
    parts = [body]
    if mimetype == "application/zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            parts += [archive.read(name) for name in archive.namelist()]
    if mimetype == "application/pdf":
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.DOTALL):
            try:
                parts.append(zlib.decompress(stream))
            except zlib.error:
                pass
    return parts


@dataclass
class Session:
    """What the HTTP session leaves behind for the walk: who can look, and what is secret."""

    viewers: dict[str, tuple[Any, dict[str, str]]] = field(default_factory=dict)
    secrets: list[bytes | str] = field(default_factory=list)
    log_only: list[bytes | str] = field(default_factory=list)
    ballot_hash: str = ""


def _http_session(app, people) -> Session:
    """Staff with tokens and accounts, tablets paired and checked in, a vote opened through the API,
    cast over HTTP, closed from the console, tallied by the demo trustees, exported."""
    from service.test_web_support import login, make_user

    session = Session()
    staff_tokens = {}
    for role in ("clerk", "presidium", "trustee", "auditor"):
        bound = {"meeting_id": "live", "trustee_index": 2} if role == "trustee" else {}
        with app.app_context():
            staff_tokens[role] = tokens.create_token(f"secret-{role}", role, **bound)
        make_user(app, f"secret-{role}", role, **bound)
        page = app.test_client()
        assert login(page, f"secret-{role}").status_code == 302
        session.viewers[f"{role} (page)"] = (page, {})
        session.viewers[f"{role} (token)"] = (app.test_client(), {"Authorization": f"Bearer {staff_tokens[role]}"})
    session.secrets += list(staff_tokens.values())
    clerk_page = session.viewers["clerk (page)"][0]
    codes_page = clerk_page.post("/staff/meetings/live/setup/pairings", data={
        "csrf_token": _csrf(clerk_page), "seats": " ".join(p.seat for p in people)}).get_data(as_text=True)
    pairing_codes = ["".join(pair) for pair in re.findall(r'<p class="code">(\d{4}) (\d{4})</p>', codes_page)]
    assert len(pairing_codes) == len(people)
    session.log_only += pairing_codes
    with app.app_context():
        meeting_hash = cache.sealed_meeting("live").hash
        public_key = cache.sealed_meeting("live").public_key
        definition = cache.vote_definition("live", "v1")
    presidium = {"Authorization": f"Bearer {staff_tokens['presidium']}"}
    tablets = []
    for person, code in zip(people, pairing_codes):
        tablet = app.test_client()
        assert tablet.post("/kiosk/api/pair", json={"code": code}).get_json()["seat"] == person.seat
        key = derive_private_key(person.code, "live")
        body = {"credential": public_key_hex(key), "seat": person.seat,
                "signature": sign_checkin(key, meeting_hash, person.seat)}
        assert tablet.post("/api/meetings/live/checkin", json=body).status_code == 200
        tablets.append((tablet, key, body))
    deputy_client, _, deputy_body = tablets[0]
    session.viewers["deputy"] = (deputy_client, {"Authorization": f"Bearer {deputy_body['credential']}",
                                                 "X-Piaojue-Signature": deputy_body["signature"]})
    session.viewers["anonymous"] = (app.test_client(), {})
    assert app.test_client().post("/api/staff/meetings/live/votes/v1/open", json={}, headers=presidium).status_code == 200
    for tablet, key, _ in tablets[:4]:
        ballot = encrypt_ballot(definition, meeting_hash, public_key, key, {"motion": ["yes"]})
        receipt = tablet.post("/api/meetings/live/votes/v1/ballots", json=ballot.entry)
        assert receipt.status_code == 201
        session.ballot_hash = receipt.get_json()["ballot_hash"]
    console = session.viewers["presidium (page)"][0]
    closed = console.post("/staff/meetings/live/console/votes/v1/close", json={},
                          headers={"X-CSRFToken": _csrf(console)})
    assert closed.status_code == 200
    assert app.test_client().post("/demo/live/step", json={"action": "tally", "vote_id": "v1"}).status_code == 200
    return session


def _csrf(client) -> str:
    from service.test_web_support import csrf_token

    return csrf_token(client)


def _urls(app, meetings: dict[str, list[str]], ballot_hash: str, sizes: dict[str, int]) -> list[str]:
    """Every GET route of the app, with real values."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in SKIPPED:
            continue
        arguments = set(rule.arguments)
        unknown = arguments - {"meeting_id", "vote_id", "ballot_hash", *PAGE_VALUES}
        assert not unknown, f"{rule.endpoint}: give the secrets walk a value for {unknown}"
        for meeting_id in (meetings if "meeting_id" in arguments else [None]):
            for vote_id in (meetings[meeting_id] if "vote_id" in arguments else [None]):
                values = {k: v for k, v in PAGE_VALUES.items() if k in arguments}
                values.update({k: v for k, v in (("meeting_id", meeting_id), ("vote_id", vote_id),
                                                 ("ballot_hash", ballot_hash)) if k in arguments})
                query = QUERIES.get(rule.endpoint, "").format(size=sizes.get(meeting_id or "", 1))
                urls.append(adapter.build(rule.endpoint, values) + query)
    return urls


def test_no_secret_is_logged_or_served(database_url, tmp_path, caplog, capfd, monkeypatch):
    """A whole demo session (simulated through the CLI, and one run over HTTP by staff accounts,
    tokens and paired tablets) with every log at DEBUG, then every GET route fetched by every
    role: no log line (records, stderr, stdout) and no response body, including record.zip's
    members and the 公告 PDF's streams, holds the KEK, a log signing key, a trustee's state-file
    passphrase or decrypted key material, a credential code or key, a staff password or token.

    The one documented exception: the clerk's pairing page prints the tablets' one-time pairing
    codes (they bind a tablet to a seat and grant nothing without the deputy's card), so pairing
    codes are looked for in the logs only."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # SQLAlchemy keeps its own loggers at WARN otherwise
    kek = secrets.token_hex(32)
    passphrase = "pass-" + secrets.token_urlsafe(16)
    monkeypatch.setattr(demo, "DEMO_PASSPHRASE", passphrase)  # the demo trustees' files, under a secret one
    app = make_app(database_url, str(tmp_path / "instance"), KEY_ENCRYPTION_KEY=kek)
    try:
        codes_file = tmp_path / "codes.json"
        cli = app.test_cli_runner().invoke(args=["demo", "--deputies", "4", "--codes", str(codes_file), "--meeting",
                                                 "sim", "--simulate", "--record", str(tmp_path / "sim.zip")])
        assert cli.exit_code == 0, cli.output
        sim_codes = [c["code"] for c in json.loads(codes_file.read_text(encoding="utf-8"))["codes"]]
        with app.app_context():
            people = demo.create_demo("live", 6)
        session = _http_session(app, people)

        found: list[bytes | str] = [*session.secrets, bytes.fromhex(kek), passphrase, PASSWORD]
        meetings, sizes = {}, {}
        with app.app_context():
            for meeting_id in ("sim", "live"):
                row = db.session().get(Meeting, meeting_id)
                sizes[meeting_id] = row.log_size
                meetings[meeting_id] = list(db.session().scalars(
                    select(Vote.vote_id).where(Vote.meeting_id == meeting_id).order_by(Vote.position)))[:1]
                key = logkeys.open_log_key(meeting_id, row.log_private_key_sealed)
                found.append(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
                for index in range(1, 6):
                    state = load_state(demo.trustee_dir(meeting_id) / f"trustee-{index}.json", passphrase)
                    found += [bytes.fromhex(state["share"]), bytes.fromhex(state["transport_key"]),
                              *(bytes.fromhex(c) for c in state["coefficients"])]
        for meeting_id, codes in (("sim", sim_codes), ("live", [p.code for p in people])):
            for code in codes:
                key = derive_private_key(code, meeting_id)
                found += [code, format_code(code), key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())]
        needles = [form for value in found for form in _forms(value)]
        assert len(needles) > 300

        urls = _urls(app, meetings, session.ballot_hash, sizes)
        statuses, served, fetched = set(), [], 0
        for who, (client, headers) in session.viewers.items():
            for url in urls:
                if who.endswith("(token)") and not url.startswith("/api/staff/"):
                    continue  # the public routes do not look at credentials: anonymous and the deputy fetch
                if who.endswith("(page)") and not url.startswith("/staff/"):
                    continue  # them, and every route of the other surface answers 401 or the login page
                response = client.get(url, headers=headers)
                statuses.add(response.status_code)
                fetched += 1
                for part in _expand(response.get_data(), response.mimetype):
                    served += [(who, url) for needle in needles if needle in part]
                response.close()
        assert fetched > 200 and {200, 302, 401, 403} <= statuses
        assert served == [], f"secrets served: {served[:5]}"

        captured = capfd.readouterr()
        logs = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records), captured.out, captured.err,
                          cli.output]).encode()
        assert b"SELECT" in logs and len(caplog.records) > 100  # SQL and its parameters were logged at DEBUG
        leaked = [needle for needle in needles + [f for v in session.log_only for f in _forms(v)] if needle in logs]
        assert leaked == [], f"secrets in the logs: {leaked[:5]}"
    finally:
        app.extensions["piaojue.engine"].dispose()
