"""The access-control matrix (issue #6 item 4): every route of the app, classified in one table
(public, demo-only, or the staff roles allowed on the bearer-token API or the signed-in pages),
and every staff route requested for real by every role:

- anonymous; a deputy (its Ed25519 credential as a bearer token, a signed check-in in headers,
  from a client that paired a tablet and checked in); clerk; presidium; trustee (of this meeting,
  and of another one); auditor; and the other surface's credential (a page session on the API, an
  API token on the pages).
- Denied: 401 ``unauthorized`` / 403 ``forbidden`` on the API, the login redirect or 403 on pages,
  and the whole database unchanged (every row of every table, so the audit trail and the log too).
- Allowed: through (2xx/3xx, or a domain 4xx that is not 401/403); the first allowed request of a
  route gets the status its spec expects. Any allowed request that changes the database writes
  an audit event naming that person, with the time (who/what/when).

A route the table does not classify fails the test: a new endpoint must be added here. The
role matrix in docs/security.md is generated from the table (``PIAOJUE_UPDATE_DOCS=1`` rewrites
it; a test fails while it differs). The whole matrix runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from service.conftest import make_app
from service.test_web_support import csrf_token, login, make_user
from tally import demo
from tally.api import tokens
from tally.live.broadcast import NAMESPACE, socketio
from tally.services import lifecycle, meetings, pairing
from tally.store import cache, db
from tally.store.models import AuditEvent, Base, Meeting

ROOT = Path(__file__).resolve().parents[2]
SECURITY_DOC = ROOT / "docs" / "security.md"
STAFF = ("clerk", "presidium", "trustee", "auditor")
ROLES = ("anonymous", "deputy", *STAFF)


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Access:
    """``public`` (anyone), ``demo`` (anyone, for a demo meeting only; 404 for any other),
    ``api`` (a bearer token of one of ``roles``) or ``web`` (a signed-in account of one of
    ``roles``). A trustee is further bound to its own meeting wherever the route names one."""

    surface: str
    roles: tuple[str, ...] = ()


PUBLIC = Access("public")
DEMO = Access("demo")


def api(*roles: str) -> Access:
    return Access("api", roles)


def web(*roles: str) -> Access:
    return Access("web", roles)


SETUP = web("clerk")
CONSOLE = web("presidium", "clerk")
RESULTS = web("presidium", "clerk", "auditor")

TABLE: dict[str, Access] = {
    # the staff JSON API (tally/api/staff.py, docs/api.md)
    "staff.create_meeting": api("clerk"),
    "staff.meeting_status": api("clerk", "presidium", "auditor", "trustee"),
    "staff.import_roster": api("clerk"),
    "staff.roster": api("clerk", "presidium"),
    "staff.register_credentials": api("clerk"),
    "staff.replace_credential": api("clerk"),
    "staff.define_vote": api("clerk"),
    "staff.seal": api("clerk"),
    "staff.ceremony_status": api("clerk", "trustee", "presidium"),
    "staff.get_announcements": api("clerk", "trustee"),
    "staff.post_announcement": api("trustee", "clerk"),
    "staff.get_messages": api("trustee"),
    "staff.post_messages": api("trustee"),
    "staff.confirm": api("trustee"),
    "staff.open_vote": api("presidium", "clerk"),
    "staff.hold_vote": api("presidium", "clerk"),
    "staff.resume_vote": api("presidium", "clerk"),
    "staff.close_vote": api("presidium", "clerk"),
    "staff.publish": api("presidium", "clerk"),
    "staff.decryption": api("presidium", "clerk", "auditor", "trustee"),
    "staff.close_checkin": api("presidium", "clerk"),
    "staff.open_checkin": api("presidium", "clerk"),
    "staff.audit_trail": api("auditor", "clerk", "presidium"),
    "staff.create_pairings": api("clerk"),
    # the staff pages (tally/web)
    "staff_web.home": web(*STAFF),
    "staff_setup.new_meeting": SETUP,
    "staff_setup.overview": SETUP,
    "staff_setup.roster": SETUP,
    "staff_setup.roster_confirm": SETUP,
    "staff_setup.roster_csv": SETUP,
    "staff_setup.credentials": SETUP,
    "staff_setup.votes": SETUP,
    "staff_setup.new_vote": SETUP,
    "staff_setup.ceremony": web("clerk", "presidium", "trustee"),
    "staff_setup.ceremony_json": web("clerk", "presidium", "trustee"),
    "staff_setup.seal": SETUP,
    "staff_setup.pairings": SETUP,
    "staff_results.index": RESULTS,
    "staff_results.vote": RESULTS,
    "staff_results.announcement_pdf": RESULTS,
    "staff_results.announcement_csv": RESULTS,
    "staff_audit.meeting_audit": web("auditor", "clerk", "presidium"),
    "staff_audit.account_audit": web("auditor"),
    "staff_console.console": CONSOLE,
    "staff_console.state": CONSOLE,
    "staff_console.open_vote": CONSOLE,
    "staff_console.hold_vote": CONSOLE,
    "staff_console.resume_vote": CONSOLE,
    "staff_console.close_vote": CONSOLE,
    "staff_console.decryption": CONSOLE,
    "staff_console.publish": CONSOLE,
    "staff_console.checkin_control": CONSOLE,
    # public: SPEC §11 and the public additions of docs/api.md
    "public.openapi": PUBLIC,
    "public.meeting": PUBLIC,
    "public.vote": PUBLIC,
    "public.check_in": PUBLIC,
    "public.post_ballot": PUBLIC,
    "public.post_spoiled": PUBLIC,
    "public.receipt": PUBLIC,
    "public.sth": PUBLIC,
    "public.entries": PUBLIC,
    "public.inclusion": PUBLIC,
    "public.consistency": PUBLIC,
    "public.record_zip": PUBLIC,
    "public.aggregates": PUBLIC,
    "public.post_share": PUBLIC,
    "public.decryption": PUBLIC,
    "public.result": PUBLIC,
    # public: the tablet, the receipt page, the hall screen, static files, signing in
    "kiosk.kiosk_page": PUBLIC,
    "kiosk.kiosk_pair_page": PUBLIC,
    "kiosk.pair": PUBLIC,
    "kiosk.qr_svg": PUBLIC,
    "kiosk.static": PUBLIC,
    "receipt_page.receipt_page": PUBLIC,
    "receipt_page.favicon": PUBLIC,
    "bigscreen.screen": PUBLIC,
    "static": PUBLIC,
    "staff_web.login": PUBLIC,
    # demo meetings only (tally/api/demo_control.py)
    "demo_control.page": DEMO,
    "demo_control.state": DEMO,
    "demo_control.step": DEMO,
    # last: these change the session of whoever sends them
    "staff_web.set_language": PUBLIC,
    "staff_web.logout": web(*STAFF),
}

LIVE_SEAT_MAP = ("presidium", "clerk")
"""Socket.IO ``/live`` (no url_map rule): who joins the staff room (the seat map: who has
checked in and voted), by API token or by signed-in session. Everyone else gets the public events."""


# ------------------------------------------------------------------ the world the requests run in

ROSTER_CSV = "座位号,姓名,代表团\n1,王伟,城东\n2,李娜,城西\n".encode()
NEW_MEETING = {"title": "常委会会议", "body": "某市人大常委会", "members": 5, "quorum": "majority", "threshold": 2}


def _key_hex() -> str:
    return public_key_hex(Ed25519PrivateKey.generate())


@dataclass
class World:
    """m1: a sealed demo meeting (8 deputies, v1 published, deputy 0 checked in from a paired
    tablet); m3: a meeting in setup (not a demo) whose trustee 1 is the "trustee elsewhere".
    The matrix itself creates m4 (API) and m5 (pages)."""

    app: Any
    deputies: list[Any]
    meeting_hash: bytes
    tokens: dict[str, str] = field(default_factory=dict)
    pages: dict[str, Any] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    deputy_client: Any = None
    deputy_headers: dict[str, str] = field(default_factory=dict)
    fresh_keys: list[str] = field(default_factory=lambda: [_key_hex() for _ in range(4)])

    def csrf(self, client: Any) -> str:
        """The CSRF token of the client's session (fetched once, kept on the client)."""
        token = getattr(client, "matrix_csrf", None)
        if token is None:
            token = client.matrix_csrf = csrf_token(client)
        return token

    def actor(self, surface: str, role: str) -> str:
        if surface == "api":
            return f"{role}:matrix-{role}"
        return f"{role}:{self.usernames[role]} (web)"


def build_world(app) -> World:
    with app.app_context():
        people = demo.create_demo("m1", 8)
        lifecycle.open_vote("m1", "v1", actor="test")
        lifecycle.close_vote("m1", "v1", actor="test")
        demo.demo_tally("m1", "v1")
        meetings.create_meeting("m3", "另一次会议", "某市人大常委会", 5, "majority", ["甲", "乙"], 2, actor="test")
        meeting_hash = cache.sealed_meeting("m1").hash
        code = pairing.create_codes("m1", [people[0].seat], actor="test")[0]["code"]
    from service.conftest import Deputy

    deputies = [Deputy(p.seat, p.code, derive_private_key(p.code, "m1")) for p in people]
    world = World(app, deputies, meeting_hash)
    for role in STAFF:
        bound = {"meeting_id": "m1", "trustee_index": 1} if role == "trustee" else {}
        with app.app_context():
            world.tokens[role] = tokens.create_token(f"matrix-{role}", role, **bound)
        world.usernames[role] = f"matrix-{role}"
        make_user(app, world.usernames[role], role, **bound)
        world.pages[role] = app.test_client()
        assert login(world.pages[role], world.usernames[role]).status_code == 302
    with app.app_context():
        world.tokens["trustee-elsewhere"] = tokens.create_token("matrix-elsewhere", "trustee", meeting_id="m3",
                                                              trustee_index=1)
    make_user(app, "matrix-elsewhere", "trustee", meeting_id="m3", trustee_index=1)
    world.pages["trustee-elsewhere"] = app.test_client()
    assert login(world.pages["trustee-elsewhere"], "matrix-elsewhere").status_code == 302
    # The deputy: a tablet paired to seat 1, checked in with the card; it presents its credential.
    deputy = deputies[0]
    world.deputy_client = app.test_client()
    paired = world.deputy_client.post("/kiosk/api/pair", json={"code": code})
    assert paired.status_code == 200 and paired.get_json()["seat"] == deputy.seat
    signature = sign_checkin(deputy.key, meeting_hash, deputy.seat)
    body = {"credential": deputy.credential, "seat": deputy.seat, "signature": signature}
    assert world.deputy_client.post("/api/meetings/m1/checkin", json=body).status_code == 200
    world.deputy_headers = {"Authorization": f"Bearer {deputy.credential}", "X-Piaojue-Credential": deputy.credential,
                            "X-Piaojue-Signature": signature}
    return world


# ------------------------------------------------------------------ one request per (endpoint, method)


@dataclass
class Req:
    path: str
    json: Any = None
    data: dict[str, Any] | None = None  # a form (the CSRF field is added on pages)
    raw: bytes | None = None
    expect: tuple[int, ...] = ()  # the status of the first allowed request


Spec = Callable[[World], Req]
HEX0 = "0" * 64


def _upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def _checkin_body(world: World, index: int) -> dict[str, str]:
    deputy = world.deputies[index]
    return {"credential": deputy.credential, "seat": deputy.seat,
            "signature": sign_checkin(deputy.key, world.meeting_hash, deputy.seat)}


REQUESTS: dict[tuple[str, str], Spec] = {
    # staff API
    ("staff.create_meeting", "POST"): lambda w: Req(
        "/api/staff/meetings", json={"meeting_id": "m4", **NEW_MEETING, "trustees": ["甲", "乙", "丙"]}, expect=(201,)),
    ("staff.meeting_status", "GET"): lambda w: Req("/api/staff/meetings/m1", expect=(200,)),
    ("staff.import_roster", "POST"): lambda w: Req(
        "/api/staff/meetings/m4/roster?filename=r.csv", raw=ROSTER_CSV, expect=(201,)),
    ("staff.roster", "GET"): lambda w: Req("/api/staff/meetings/m1/roster", expect=(200,)),
    ("staff.register_credentials", "POST"): lambda w: Req(
        "/api/staff/meetings/m4/credentials", json={"meeting_id": "m4", "credentials": sorted(w.fresh_keys[:2])},
        expect=(201,)),
    ("staff.replace_credential", "POST"): lambda w: Req(
        "/api/staff/meetings/m1/credentials/replace", json={"old": w.deputies[7].credential, "new": w.fresh_keys[2]},
        expect=(200,)),
    ("staff.define_vote", "POST"): lambda w: Req(
        "/api/staff/meetings/m4/votes", json={"template": "resolution", "params": {"vote_id": "v1", "title": "决议"}},
        expect=(201,)),
    ("staff.seal", "POST"): lambda w: Req("/api/staff/meetings/m4/seal", json={}, expect=(409,)),
    ("staff.ceremony_status", "GET"): lambda w: Req("/api/staff/meetings/m1/ceremony", expect=(200,)),
    ("staff.get_announcements", "GET"): lambda w: Req("/api/staff/meetings/m1/ceremony/announcements?index=1",
                                                      expect=(200,)),
    ("staff.post_announcement", "POST"): lambda w: Req("/api/staff/meetings/m1/ceremony/announcements?index=1",
                                                       json={}, expect=(400, 409)),
    ("staff.get_messages", "GET"): lambda w: Req("/api/staff/meetings/m1/ceremony/messages", expect=(200,)),
    ("staff.post_messages", "POST"): lambda w: Req("/api/staff/meetings/m1/ceremony/messages",
                                                   json={"messages": []}, expect=(400, 409)),
    ("staff.confirm", "POST"): lambda w: Req("/api/staff/meetings/m1/ceremony/confirm", json={"ok": True},
                                             expect=(400, 409)),
    ("staff.open_vote", "POST"): lambda w: Req("/api/staff/meetings/m1/votes/v2/open", json={"duration": 600},
                                               expect=(200,)),
    ("staff.hold_vote", "POST"): lambda w: Req("/api/staff/meetings/m1/votes/v2/hold", json={}, expect=(200,)),
    ("staff.resume_vote", "POST"): lambda w: Req("/api/staff/meetings/m1/votes/v2/resume", json={}, expect=(200,)),
    ("staff.close_vote", "POST"): lambda w: Req("/api/staff/meetings/m1/votes/v2/close", json={}, expect=(200,)),
    ("staff.publish", "POST"): lambda w: Req("/api/staff/meetings/m1/votes/v2/publish", json={}, expect=(409,)),
    ("staff.decryption", "GET"): lambda w: Req("/api/staff/meetings/m1/votes/v1/decryption", expect=(200,)),
    ("staff.close_checkin", "POST"): lambda w: Req("/api/staff/meetings/m1/checkin/close", json={}, expect=(200,)),
    ("staff.open_checkin", "POST"): lambda w: Req("/api/staff/meetings/m1/checkin/open", json={}, expect=(200,)),
    ("staff.audit_trail", "GET"): lambda w: Req("/api/staff/meetings/m1/audit", expect=(200,)),
    ("staff.create_pairings", "POST"): lambda w: Req("/api/staff/meetings/m1/pairings",
                                                     json={"seats": [w.deputies[1].seat]}, expect=(201,)),
    # staff pages
    ("staff_web.home", "GET"): lambda w: Req("/staff/", expect=(200,)),
    ("staff_setup.new_meeting", "GET"): lambda w: Req("/staff/meetings/new", expect=(200,)),
    ("staff_setup.new_meeting", "POST"): lambda w: Req(
        "/staff/meetings/new", data={"meeting_id": "m5", **NEW_MEETING, "trustees": "甲\n乙\n丙"}, expect=(302,)),
    ("staff_setup.overview", "GET"): lambda w: Req("/staff/meetings/m5/setup", expect=(200,)),
    ("staff_setup.roster", "GET"): lambda w: Req("/staff/meetings/m5/setup/roster", expect=(200,)),
    ("staff_setup.roster", "POST"): lambda w: Req(
        "/staff/meetings/m5/setup/roster", data={"file": _upload(ROSTER_CSV, "roster.csv")}, expect=(200,)),
    ("staff_setup.roster_confirm", "POST"): lambda w: Req(
        "/staff/meetings/m5/setup/roster/confirm",
        data={"payload": base64.b64encode(ROSTER_CSV).decode(), "filename": "roster.csv",
              "digest": hashlib.sha256(ROSTER_CSV).hexdigest()}, expect=(302,)),
    ("staff_setup.roster_csv", "GET"): lambda w: Req("/staff/meetings/m5/setup/roster.csv", expect=(200,)),
    ("staff_setup.credentials", "GET"): lambda w: Req("/staff/meetings/m5/setup/credentials", expect=(200,)),
    ("staff_setup.credentials", "POST"): lambda w: Req(
        "/staff/meetings/m5/setup/credentials",
        data={"file": _upload(json.dumps({"meeting_id": "m5", "credentials": sorted(w.fresh_keys[:2])}).encode(),
                              "creds.json")}, expect=(302,)),
    ("staff_setup.votes", "GET"): lambda w: Req("/staff/meetings/m5/setup/votes", expect=(200,)),
    ("staff_setup.new_vote", "GET"): lambda w: Req("/staff/meetings/m5/setup/votes/new/resolution", expect=(200,)),
    ("staff_setup.new_vote", "POST"): lambda w: Req(
        "/staff/meetings/m5/setup/votes/new/resolution",
        data={"vote_id": "v1", "title": "决议", "threshold": "half", "base": "members", "save": "1"}, expect=(302,)),
    ("staff_setup.ceremony", "GET"): lambda w: Req("/staff/meetings/m1/setup/ceremony", expect=(200,)),
    ("staff_setup.ceremony_json", "GET"): lambda w: Req("/staff/meetings/m1/setup/ceremony.json", expect=(200,)),
    ("staff_setup.seal", "POST"): lambda w: Req("/staff/meetings/m5/setup/seal", data={}, expect=(302,)),
    ("staff_setup.pairings", "GET"): lambda w: Req("/staff/meetings/m1/setup/pairings", expect=(200,)),
    ("staff_setup.pairings", "POST"): lambda w: Req(
        "/staff/meetings/m1/setup/pairings", data={"seats": w.deputies[2].seat}, expect=(200,)),
    ("staff_results.index", "GET"): lambda w: Req("/staff/meetings/m1/results", expect=(200,)),
    ("staff_results.vote", "GET"): lambda w: Req("/staff/meetings/m1/results/v1", expect=(200,)),
    ("staff_results.announcement_pdf", "GET"): lambda w: Req("/staff/meetings/m1/results/v1/announcement.pdf",
                                                             expect=(200,)),
    ("staff_results.announcement_csv", "GET"): lambda w: Req("/staff/meetings/m1/results/v1/announcement.csv",
                                                             expect=(200,)),
    ("staff_audit.meeting_audit", "GET"): lambda w: Req("/staff/meetings/m1/audit", expect=(200,)),
    ("staff_audit.account_audit", "GET"): lambda w: Req("/staff/audit/accounts", expect=(200,)),
    ("staff_console.console", "GET"): lambda w: Req("/staff/meetings/m1/console", expect=(200,)),
    ("staff_console.state", "GET"): lambda w: Req("/staff/meetings/m1/console/state", expect=(200,)),
    ("staff_console.open_vote", "POST"): lambda w: Req("/staff/meetings/m1/console/votes/v3/open",
                                                       json={"minutes": 5}, expect=(200,)),
    ("staff_console.hold_vote", "POST"): lambda w: Req("/staff/meetings/m1/console/votes/v3/hold", json={},
                                                       expect=(200,)),
    ("staff_console.resume_vote", "POST"): lambda w: Req("/staff/meetings/m1/console/votes/v3/resume", json={},
                                                         expect=(200,)),
    ("staff_console.close_vote", "POST"): lambda w: Req("/staff/meetings/m1/console/votes/v3/close", json={},
                                                        expect=(200,)),
    ("staff_console.decryption", "GET"): lambda w: Req("/staff/meetings/m1/console/votes/v3/decryption",
                                                       expect=(200,)),
    ("staff_console.publish", "POST"): lambda w: Req("/staff/meetings/m1/console/votes/v3/publish", json={},
                                                     expect=(409,)),
    ("staff_console.checkin_control", "POST"): lambda w: Req("/staff/meetings/m1/console/checkin/close", json={},
                                                             expect=(200,)),
    # public
    ("public.openapi", "GET"): lambda w: Req("/api/openapi.json", expect=(200,)),
    ("public.meeting", "GET"): lambda w: Req("/api/meetings/m1", expect=(200,)),
    ("public.vote", "GET"): lambda w: Req("/api/meetings/m1/votes/v1", expect=(200,)),
    ("public.check_in", "POST"): lambda w: Req("/api/meetings/m1/checkin", json=_checkin_body(w, 1),
                                               expect=(200, 409)),
    ("public.post_ballot", "POST"): lambda w: Req("/api/meetings/m1/votes/v1/ballots", json={}, expect=(400,)),
    ("public.post_spoiled", "POST"): lambda w: Req("/api/meetings/m1/votes/v1/spoiled", json={}, expect=(400,)),
    ("public.receipt", "GET"): lambda w: Req(f"/api/meetings/m1/receipts/{HEX0}", expect=(404,)),
    ("public.sth", "GET"): lambda w: Req("/api/meetings/m1/sth", expect=(200,)),
    ("public.entries", "GET"): lambda w: Req("/api/meetings/m1/entries?start=0&end=1", expect=(200,)),
    ("public.inclusion", "GET"): lambda w: Req("/api/meetings/m1/proofs/inclusion?leaf_index=0&tree_size=1",
                                               expect=(200,)),
    ("public.consistency", "GET"): lambda w: Req("/api/meetings/m1/proofs/consistency?first=1&second=1",
                                                 expect=(200,)),
    ("public.record_zip", "GET"): lambda w: Req("/api/meetings/m1/record.zip", expect=(200,)),
    ("public.aggregates", "GET"): lambda w: Req("/api/meetings/m1/votes/v1/aggregates", expect=(200,)),
    ("public.post_share", "POST"): lambda w: Req("/api/meetings/m1/votes/v1/shares", json={}, expect=(400, 409)),
    ("public.decryption", "GET"): lambda w: Req("/api/meetings/m1/votes/v1/decryption", expect=(200,)),
    ("public.result", "GET"): lambda w: Req("/api/meetings/m1/votes/v1/result", expect=(200,)),
    ("kiosk.kiosk_page", "GET"): lambda w: Req("/kiosk/", expect=(200,)),
    ("kiosk.kiosk_pair_page", "GET"): lambda w: Req("/kiosk/pair/12345678", expect=(200,)),
    ("kiosk.pair", "POST"): lambda w: Req("/kiosk/api/pair", json={"code": "00000000"}, expect=(404,)),
    ("kiosk.qr_svg", "GET"): lambda w: Req("/kiosk/qr.svg?data=https%3A%2F%2Fexample.org%2Fr", expect=(200,)),
    ("kiosk.static", "GET"): lambda w: Req("/kiosk/static/js/api.js", expect=(200,)),
    ("receipt_page.receipt_page", "GET"): lambda w: Req(f"/r/m1/{HEX0}", expect=(200,)),
    ("receipt_page.favicon", "GET"): lambda w: Req("/favicon.ico", expect=(200,)),
    ("bigscreen.screen", "GET"): lambda w: Req("/screen/m1", expect=(200,)),
    ("static", "GET"): lambda w: Req("/static/staff/staff.js", expect=(200,)),
    ("staff_web.login", "GET"): lambda w: Req("/staff/login", expect=(200,)),
    ("staff_web.login", "POST"): lambda w: Req("/staff/login", data={"username": "matrix-auditor",
                                                                     "password": "correct horse battery staple"},
                                               expect=(302,)),
    ("demo_control.page", "GET"): lambda w: Req("/demo/m1", expect=(200,)),
    ("demo_control.state", "GET"): lambda w: Req("/demo/m1/state", expect=(200,)),
    ("demo_control.step", "POST"): lambda w: Req("/demo/m1/step", json={"action": "open", "vote_id": "v4"},
                                                 expect=(200,)),
    ("staff_web.set_language", "POST"): lambda w: Req("/staff/lang", data={"lang": "en"}, expect=(302,)),
    ("staff_web.logout", "POST"): lambda w: Req("/staff/logout", data={}, expect=(302,)),
}


def routes(app) -> dict[str, set[str]]:
    """Every endpoint of the app and its methods (HEAD and OPTIONS aside)."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(rule.endpoint, set()).update((rule.methods or set()) - {"HEAD", "OPTIONS"})
    return found


# ------------------------------------------------------------------ state


def snapshot(app) -> dict[str, Any]:
    """Every row of every table: the rows in primary-key order (SQLite), or an MD5 of each
    table's rows computed by the server in one round trip (PostgreSQL, where 17 queries per
    request would dominate the test's time)."""
    with app.app_context():
        session = db.session()
        try:
            if session.get_bind().dialect.name == "postgresql":
                parts = ", ".join(
                    f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table.name}\" t)"
                    for table in Base.metadata.sorted_tables)
                row = session.execute(text(f"SELECT {parts}")).one()
                return {table.name: value for table, value in zip(Base.metadata.sorted_tables, row)}
            return {table.name: [tuple(row) for row in session.execute(
                select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}
        finally:
            session.rollback()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def new_events(app, after_id: int) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session().scalars(select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id)))
        db.session().expunge_all()
        return rows


def last_event_id(app) -> int:
    with app.app_context():
        return db.session().scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


# ------------------------------------------------------------------ sending


def send(world: World, client: Any, method: str, req: Req, *, headers: dict[str, str] | None = None,
         csrf: bool = False):
    headers = dict(headers or {})
    kwargs: dict[str, Any] = {}
    if req.json is not None:
        kwargs["json"] = req.json
        if csrf:
            headers["X-CSRFToken"] = world.csrf(client)
    elif req.data is not None:
        kwargs["data"] = {**req.data, **({"csrf_token": world.csrf(client)} if csrf else {})}
    elif req.raw is not None:
        kwargs["data"] = req.raw
    response = client.open(req.path, method=method, headers=headers, **kwargs)
    response.get_data()  # buffered, so that a streamed file is closed at once
    response.close()
    return response


def _is_login_redirect(response) -> bool:
    """Flask-Login's answer to a request without a session: the login page, to come back after."""
    location = response.headers.get("Location", "")
    return response.status_code == 302 and location.startswith("/staff/login?next=")


def _error(response) -> str | None:
    body = response.get_json(silent=True)
    return body.get("error") if isinstance(body, dict) else None


@dataclass
class Outcome:
    endpoint: str
    method: str
    who: str
    status: int
    allowed: bool


def _principals(world: World, surface: str) -> dict[str, tuple[Any, dict[str, str], bool]]:
    """Who tries a staff route: name → (test client, headers, send a CSRF token)."""
    if surface == "api":
        plain = world.app.test_client()
        return {
            "anonymous": (plain, {}, False),
            "deputy": (world.deputy_client, world.deputy_headers, False),
            "clerk-session": (world.pages["clerk"], {}, True),  # a page session is not an API credential
            "trustee-elsewhere": (plain, {"Authorization": f"Bearer {world.tokens['trustee-elsewhere']}"}, False),
            **{role: (plain, {"Authorization": f"Bearer {world.tokens[role]}"}, False) for role in STAFF},
        }
    anonymous = world.app.test_client()
    return {
        "anonymous": (anonymous, {}, True),
        "deputy": (world.deputy_client, world.deputy_headers, True),
        "clerk-token": (anonymous, {"Authorization": f"Bearer {world.tokens['clerk']}"}, True),  # a token is no login
        "trustee-elsewhere": (world.pages["trustee-elsewhere"], {}, True),
        **{role: (world.pages[role], {}, True) for role in STAFF},
    }


def expected_allowed(access: Access, who: str, path: str) -> bool:
    if who == "trustee-elsewhere":
        return "trustee" in access.roles and "/meetings/" not in path
    return who in access.roles


def run_matrix(world: World) -> list[Outcome]:
    app = world.app
    outcomes: list[Outcome] = []
    state = snapshot(app)
    for endpoint, access in TABLE.items():
        for method in sorted(routes(app)[endpoint]):
            spec = REQUESTS[(endpoint, method)]
            if access.surface in ("public", "demo"):
                outcomes.append(_public(world, endpoint, method, spec, access))
                state = snapshot(app)
                continue
            principals = _principals(world, access.surface)
            path = spec(world).path
            denied = [w for w in principals if not expected_allowed(access, w, path)]
            allowed = [w for w in principals if expected_allowed(access, w, path)]
            for who in denied:
                client, headers, csrf = principals[who]
                response = send(world, client, method, spec(world), headers=headers, csrf=csrf)
                where = (endpoint, method, who, response.status_code, response.get_data()[:300])
                if access.surface == "api":
                    expected = 403 if who in (*STAFF, "trustee-elsewhere") else 401
                    assert response.status_code == expected, where
                    assert _error(response) == ("forbidden" if expected == 403 else "unauthorized"), where
                elif who in (*STAFF, "trustee-elsewhere"):
                    assert response.status_code == 403, where
                else:
                    assert _is_login_redirect(response), where
                after = snapshot(app)
                assert after == state, f"{where[:3]} was refused but changed {_diff(state, after)}"
                outcomes.append(Outcome(endpoint, method, who, response.status_code, False))
            for position, who in enumerate(allowed):
                client, headers, csrf = principals[who]
                mark = last_event_id(app)
                started = datetime.now(UTC)
                response = send(world, client, method, spec(world), headers=headers, csrf=csrf)
                finished = datetime.now(UTC)
                where = (endpoint, method, who, response.status_code, response.get_data()[:300])
                assert response.status_code < 500 and response.status_code not in (401, 403), where
                assert not _is_login_redirect(response) and _error(response) != "csrf", where
                if position == 0 and spec(world).expect:
                    assert response.status_code in spec(world).expect, where
                after = snapshot(app)
                changed = [t for t in after if t != "audit_events" and after[t] != state[t]]
                if changed:  # a staff action: who, what and when are in the audit trail
                    actor = world.actor(access.surface, who)
                    events = [e for e in new_events(app, mark) if e.actor == actor]
                    assert events, f"{where[:3]} changed {changed} without an audit event by {actor}"
                    for event in events:
                        assert event.action and started - timedelta(seconds=2) <= _aware(event.at) <= finished \
                            + timedelta(seconds=2), (where[:3], event.action, event.at)
                state = after
                outcomes.append(Outcome(endpoint, method, who, response.status_code, True))
    return outcomes


def _public(world: World, endpoint: str, method: str, spec: Spec, access: Access) -> Outcome:
    """A public route answers without any credential; a demo route only for a demo meeting."""
    app = world.app
    client = app.test_client()
    csrf = endpoint.startswith("staff_web.")
    if access.surface == "demo":
        other = spec(world)
        other.path = other.path.replace("/demo/m1", "/demo/m3")
        before = snapshot(app)
        refused = send(world, client, method, other)
        assert refused.status_code == 404, (endpoint, method, refused.status_code)
        assert snapshot(app) == before, f"{endpoint} {method} on a meeting that is not a demo changed something"
    response = send(world, client, method, spec(world), csrf=csrf)
    where = (endpoint, method, response.status_code, response.get_data()[:300])
    assert response.status_code in spec(world).expect, where
    assert not _is_login_redirect(response) and _error(response) not in ("unauthorized", "forbidden"), where
    return Outcome(endpoint, method, "anonymous", response.status_code, True)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    return ", ".join(t for t in after if after[t] != before[t])


# ------------------------------------------------------------------ tests


@pytest.fixture
def sqlite_app(tmp_path):
    """For the checks that need an app but no database work."""
    application = make_app(f"sqlite:///{tmp_path}/tally.sqlite3", str(tmp_path / "instance"))
    yield application
    application.extensions["piaojue.engine"].dispose()


def test_every_route_is_classified(sqlite_app):
    """A route the table does not classify, or one without a request to try it, fails here."""
    app = sqlite_app
    found = routes(app)
    assert set(found) - set(TABLE) == set(), "classify these routes in TABLE (and add REQUESTS)"
    assert set(TABLE) - set(found) == set(), "TABLE names routes that no longer exist"
    missing = {(e, m) for e, methods in found.items() for m in methods} - set(REQUESTS)
    assert missing == set(), "add a request for these routes to REQUESTS"
    for endpoint, access in TABLE.items():
        assert set(access.roles) <= set(STAFF), endpoint
        assert (access.surface == "api") == endpoint.startswith("staff."), endpoint
        if access.surface == "web":
            view = app.view_functions[endpoint]
            assert view.__module__.startswith("tally.web."), endpoint


def test_access_matrix(database_url, tmp_path):
    app = make_app(database_url, str(tmp_path / "instance"))
    try:
        world = build_world(app)
        outcomes = run_matrix(world)
        tried = {(o.endpoint, o.method) for o in outcomes}
        assert tried == set(REQUESTS)
        staff_routes = [k for k in REQUESTS if TABLE[k[0]].surface in ("api", "web")]
        # every staff route × every role (and the cross-surface and other-meeting cases)
        assert len(outcomes) - (len(REQUESTS) - len(staff_routes)) == 8 * len(staff_routes)
        _auditor_sees_the_trail(world)
    finally:
        app.extensions["piaojue.engine"].dispose()


def _auditor_sees_the_trail(world: World) -> None:
    """The staff actions of the matrix are in the trail the auditor reads (API and page), with
    who and when; deputies and the public get nothing."""
    app = world.app
    auditor = {"Authorization": f"Bearer {world.tokens['auditor']}"}
    client = app.test_client()
    events = client.get("/api/staff/meetings/m1/audit", headers=auditor).get_json()["events"]
    actions = {(e["actor"], e["action"]) for e in events}
    for expected in [("clerk:matrix-clerk", "vote.open"), ("clerk:matrix-clerk", "vote.hold"),
                     ("clerk:matrix-clerk", "credentials.replace"), ("clerk:matrix-clerk", "pairing.create"),
                     ("clerk:matrix-clerk", "checkin.close"), ("clerk:matrix-clerk (web)", "vote.open"),
                     ("clerk:matrix-clerk (web)", "vote.close"), ("clerk:matrix-clerk (web)", "pairing.create"),
                     ("clerk:matrix-clerk (web)", "result.export")]:
        assert expected in actions, expected
    assert all(e["at"] and e["actor"] and e["action"] for e in events)
    # the page, for the auditor's account (the session of the matrix is signed out by now: sign in again)
    page_client = app.test_client()
    assert login(page_client, world.usernames["auditor"]).status_code == 302
    page = page_client.get("/staff/meetings/m1/audit").get_data(as_text=True)
    assert "matrix-clerk" in page and "pairing.create" in page
    accounts = page_client.get("/staff/audit/accounts").get_data(as_text=True)
    assert "staff.login" in accounts and "matrix-presidium" in accounts
    # deputies and the public
    assert client.get("/api/staff/meetings/m1/audit", headers=world.deputy_headers).status_code == 401
    assert client.get("/api/staff/meetings/m1/audit").status_code == 401
    assert _is_login_redirect(world.deputy_client.get("/staff/meetings/m1/audit", headers=world.deputy_headers))
    assert _is_login_redirect(app.test_client().get("/staff/audit/accounts"))


def test_live_staff_events_by_role(app, meeting):
    """The seat map of ``/live`` goes to presidium and clerk (token or session); any other token
    connects as the public does; a deputy's credential is no token; a bad token is refused."""
    make_user(app, "live-presidium", "presidium")
    make_user(app, "live-auditor", "auditor")
    tokens = {role: auth_token(app, role) for role in STAFF}
    sessions = {}
    for role, name in (("presidium", "live-presidium"), ("auditor", "live-auditor")):
        sessions[role] = app.test_client()
        assert login(sessions[role], name).status_code == 302
    cases = [(f"{role} token", {"token": tokens[role]}, None, role in LIVE_SEAT_MAP) for role in STAFF]
    cases += [(f"{role} session", None, sessions[role], role in LIVE_SEAT_MAP) for role in sessions]
    cases += [("anonymous", None, None, False)]
    for name, auth_data, flask_client, staff in cases:
        live = socketio.test_client(app, namespace=NAMESPACE, auth=auth_data,
                                    flask_test_client=flask_client or app.test_client())
        assert live.is_connected(NAMESPACE), name
        ack = live.emit("join", {"meeting": "m1"}, namespace=NAMESPACE, callback=True)
        got = [e["name"] for e in live.get_received(NAMESPACE)]
        assert ack["staff"] is staff and ("seat_map" in got) is staff, (name, ack, got)
        live.disconnect(NAMESPACE)
    for name, token in (("deputy credential", meeting.deputies[0].credential), ("garbage", "x" * 40)):
        refused = socketio.test_client(app, namespace=NAMESPACE, auth={"token": token},
                                       flask_test_client=app.test_client())
        assert not refused.is_connected(NAMESPACE), name


def auth_token(app, role: str) -> str:
    bound = {"meeting_id": "m1", "trustee_index": 1} if role == "trustee" else {}
    with app.app_context():
        return tokens.create_token(f"live-{role}", role, **bound)


# ------------------------------------------------------------------ the matrix in docs/security.md

DOC_START = "<!-- access-matrix:start (generated by tests/service/test_access_matrix.py) -->"
DOC_END = "<!-- access-matrix:end -->"


def markdown_matrix(app) -> str:
    rules: dict[str, list[tuple[str, str]]] = {}
    for rule in app.url_map.iter_rules():
        methods = ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        rules.setdefault(rule.endpoint, []).append((methods, rule.rule))
    head = "| route | surface | " + " | ".join(ROLES) + " |"
    lines = [head, "|" + "---|" * (len(ROLES) + 2)]
    public: list[str] = []
    for endpoint, access in TABLE.items():
        for methods, path in sorted(rules[endpoint]):
            if access.surface in ("public", "demo"):
                public.append(f"`{methods} {path}`" + (" (demo meetings only)" if access.surface == "demo" else ""))
                continue
            cells = []
            for role in ROLES:
                ok = role in access.roles
                cells.append(("own meeting" if role == "trustee" and "<meeting_id>" in path else "✓") if ok else "—")
            surface = "token" if access.surface == "api" else "login"
            lines.append(f"| `{methods} {path}` | {surface} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Public, no credential: " + ", ".join(public) + ".")
    lines.append("")
    lines.append("Socket.IO `/live`: everyone gets the public events; the staff seat map (who has checked in "
                 f"and voted) goes to {' and '.join(LIVE_SEAT_MAP)}, by token or by signed-in session.")
    return "\n".join(lines)


def test_security_doc_has_the_current_matrix(sqlite_app):
    content = SECURITY_DOC.read_text(encoding="utf-8")
    generated = f"{DOC_START}\n{markdown_matrix(sqlite_app)}\n{DOC_END}"
    if os.environ.get("PIAOJUE_UPDATE_DOCS") == "1":
        pattern = re.compile(re.escape(DOC_START) + r".*?" + re.escape(DOC_END), re.DOTALL)
        assert pattern.search(content), "docs/security.md has no access-matrix markers"
        SECURITY_DOC.write_text(pattern.sub(lambda _: generated, content), encoding="utf-8")
        content = SECURITY_DOC.read_text(encoding="utf-8")
    assert generated in content, "docs/security.md's role matrix is stale: PIAOJUE_UPDATE_DOCS=1 rewrites it"


def test_snapshot_sees_every_change(app):
    """The snapshot used above sees a change anywhere (a self-check of the no-state-change test)."""
    before = snapshot(app)
    with app.app_context():
        meetings.create_meeting("s1", "t", "b", 3, "majority", ["甲"], 1, actor="test")
    after = snapshot(app)
    assert after["meetings"] != before["meetings"] and after["audit_events"] != before["audit_events"]
    assert {t for t in after if after[t] != before[t]} <= {"meetings", "trustees", "audit_events"}
    with app.app_context():
        row = db.session().get(Meeting, "s1")
        row.title = "changed"
        db.session().commit()
    assert snapshot(app) != after
