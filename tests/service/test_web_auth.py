"""Staff web logins: passwords (argon2id), sessions, the login throttle, CSRF, the language
switch, the ``user`` CLI, and the role matrix of every staff page."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from service.conftest import staff_headers
from service.test_web_support import (
    FAST_ARGON2,
    PASSWORD,
    csrf_token,
    login,
    make_user,
    post_form,
    staff_client,
    text,
)
from tally import demo
from tally.services import lifecycle
from tally.store import db
from tally.store.models import AuditEvent, LoginThrottle, StaffUser
from tally.web.logins import utcnow


def _events(app, action_prefix: str = "staff.") -> list[SimpleNamespace]:
    with app.app_context():
        rows = db.session().scalars(
            select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id))
        return [SimpleNamespace(action=e.action, actor=e.actor, detail=e.detail, meeting_id=e.meeting_id) for e in rows]


def test_login_success_and_logout(app, client):
    make_user(app, "zhang", "clerk", display_name="张会务")
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login?next=")
    response = login(client, "zhang")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200 and "张会务" in text(home)
    assert home.headers["Cache-Control"] == "no-store"
    # the next parameter is followed only within the site
    client2 = app.test_client()
    token = csrf_token(client2)
    response = client2.post("/staff/login", data={"csrf_token": token, "username": "ZHANG", "password": PASSWORD,
                                                  "next": "//evil.example/x"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"

    assert post_form(client, "/staff/logout", {}).status_code == 302
    assert client.get("/staff/").status_code == 302
    actions = [e.action for e in _events(app)]
    assert actions == ["staff.user_add", "staff.login", "staff.login", "staff.logout"]
    assert _events(app)[1].actor == "clerk:zhang (web)"
    with app.app_context():
        assert db.session().scalar(select(StaffUser.last_login_at)) is not None


def test_login_failures_are_recorded(app, client):
    make_user(app, "li", "presidium")
    wrong = login(client, "li", "not the password")
    assert wrong.status_code == 401 and "用户名或密码错误" in text(wrong)
    unknown = login(client, "nobody", PASSWORD)
    assert unknown.status_code == 401
    assert client.get("/staff/").status_code == 302
    failed = [e for e in _events(app) if e.action == "staff.login_failed"]
    assert [e.detail["reason"] for e in failed] == ["bad_password", "unknown_user"]
    assert all(e.actor.startswith("anonymous:") and "password" not in str(e.detail).replace("bad_password", "")
               for e in failed)
    # a disabled account cannot sign in, even with its password
    runner = app.test_cli_runner()
    assert runner.invoke(args=["user", "disable", "li"]).exit_code == 0
    assert login(client, "li").status_code == 401
    assert runner.invoke(args=["user", "disable", "li", "--enable"]).exit_code == 0
    assert login(client, "li").status_code == 302


def test_lockout(app, client):
    app.config.update(STAFF_LOGIN_MAX_FAILURES=3)
    make_user(app, "wang", "auditor")
    here = {"REMOTE_ADDR": "10.0.0.5"}
    assert login(client, "wang", "guess 1", **here).status_code == 401
    assert login(client, "wang", "guess 2", **here).status_code == 401
    locked = login(client, "wang", "guess 3", **here)
    assert locked.status_code == 429 and "登录尝试过多" in text(locked)
    # while locked, even the right password is refused from that address …
    assert login(client, "wang", PASSWORD, **here).status_code == 429
    assert client.get("/staff/").status_code == 302
    # … but not from another desk
    other = app.test_client()
    assert login(other, "wang", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302
    actions = [e.action for e in _events(app, "staff.login")]
    assert actions == ["staff.login_failed"] * 3 + ["staff.login_locked", "staff.login"]
    assert _events(app, "staff.login_failed")[-1].detail["locked"] is True
    # once the lockout ends, the right password works and clears the count
    with app.app_context():
        row = db.session().get(LoginThrottle, "wang|10.0.0.5")
        row.locked_until = utcnow() - timedelta(seconds=1)
        db.session().commit()
    assert login(client, "wang", PASSWORD, **here).status_code == 302
    with app.app_context():
        assert db.session().get(LoginThrottle, "wang|10.0.0.5") is None


def test_forwarded_address_behind_a_proxy(app, client):
    app.config.update(STAFF_LOGIN_MAX_FAILURES=2, STAFF_TRUSTED_PROXIES=1)
    make_user(app, "zhao", "clerk")
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for guess in ("a", "b"):
        client.post("/staff/login", data={"csrf_token": csrf_token(client), "username": "zhao", "password": guess},
                    headers={"X-Forwarded-For": "203.0.113.7"}, environ_base=proxy)
    with app.app_context():
        assert db.session().get(LoginThrottle, "zhao|203.0.113.7").locked_until is not None


def test_csrf_is_enforced(app, client):
    make_user(app, "clerk1", "clerk")
    refused = client.post("/staff/login", data={"username": "clerk1", "password": PASSWORD})
    assert refused.status_code == 400 and client.get("/staff/").status_code == 302
    clerk = staff_client(app, "clerk", "clerk2")
    form = {"meeting_id": "m9", "title": "常委会会议", "body": "某市人大常委会", "members": 30, "quorum": "majority",
            "trustees": "甲\n乙\n丙", "threshold": 2}
    assert clerk.post("/staff/meetings/new", data=form).status_code == 400
    assert clerk.post("/staff/meetings/new", data={**form, "csrf_token": "forged"}).status_code == 400
    assert clerk.post("/staff/logout").status_code == 400
    assert clerk.get("/staff/meetings/m9/setup").status_code == 404
    assert post_form(clerk, "/staff/meetings/new", form).status_code == 302
    # JSON from the pages' scripts carries the token in a header
    refused = clerk.post("/staff/meetings/m9/setup/seal", json={})
    assert refused.status_code == 400 and refused.get_json()["error"] == "csrf"
    answered = clerk.post("/staff/meetings/m9/setup/seal", json={}, headers={"X-CSRFToken": csrf_token(clerk, "/staff/")})
    assert answered.status_code == 409 and answered.get_json()["error"] == "ceremony_incomplete"
    # the bearer-token API and the public API need no CSRF token
    body = {"meeting_id": "m8", "title": "t", "body": "b", "members": 5, "trustees": ["甲"], "threshold": 1}
    assert client.post("/api/staff/meetings", json=body, headers=staff_headers(app)).status_code == 201
    assert client.post("/kiosk/api/pair", json={"code": "12345678"}).status_code == 404


def test_language_switch(app, client):
    page = text(client.get("/staff/login"))
    assert '<html lang="zh-CN">' in page and "登录" in page
    token = csrf_token(client)
    response = client.post("/staff/lang", data={"csrf_token": token, "lang": "en", "next": "/staff/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    page = text(client.get("/staff/login"))
    assert '<html lang="en">' in page and "Sign in" in page and "登录" not in page
    assert "Wrong username or password." in text(login(client, "nobody"))
    client.post("/staff/lang", data={"csrf_token": csrf_token(client), "lang": "zh_CN"})
    assert "登录" in text(client.get("/staff/login"))
    client.post("/staff/lang", data={"csrf_token": csrf_token(client), "lang": "fr"})
    assert "登录" in text(client.get("/staff/login"))


def test_user_cli(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "add", "chen", "--role", "clerk", "--display-name", "陈会务",
                                 "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = db.session().scalar(select(StaffUser).where(StaffUser.username == "chen"))
        assert stored.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # argon2-cffi's RFC 9106 profile
        assert stored.display_name == "陈会务" and stored.role == "clerk"
    app.config["STAFF_ARGON2"] = FAST_ARGON2
    prompted = runner.invoke(args=["user", "add", "zhou", "--role", "auditor"], input="another password\nanother password\n")
    assert prompted.exit_code == 0, prompted.output
    for args, stdin in [
        (["user", "add", "short", "--role", "clerk", "--password-stdin"], "2short\n"),
        (["user", "add", "CHEN", "--role", "clerk", "--password-stdin"], "a long enough password\n"),
        (["user", "add", "t1", "--role", "trustee", "--password-stdin"], "a long enough password\n"),
        (["user", "add", "bad name", "--role", "clerk", "--password-stdin"], "a long enough password\n"),
    ]:
        result = runner.invoke(args=args, input=stdin)
        assert result.exit_code == 2 and result.output.startswith("error:"), (args, result.output)
    assert login(client, "zhou", "another password").status_code == 302
    # a new password ends the account's sessions
    assert runner.invoke(args=["user", "passwd", "zhou", "--password-stdin"], input="a new password!\n").exit_code == 0
    assert client.get("/staff/").status_code == 302
    assert login(client, "zhou", "a new password!").status_code == 302
    listing = runner.invoke(args=["user", "list"]).output
    assert "chen\tclerk" in listing and "zhou\tauditor" in listing


def test_idle_sessions_expire(app):
    clerk = staff_client(app, "clerk")
    assert clerk.get("/staff/").status_code == 200
    with clerk.session_transaction() as session:
        session["staff_seen"] -= 100 * 60
        before = session["staff_seen"]
    # a page's background polling does not keep the session alive; a person's request does
    assert clerk.get("/staff/", headers={"Accept": "application/json"}).status_code == 200
    with clerk.session_transaction() as session:
        assert session["staff_seen"] == before
    assert clerk.get("/staff/").status_code == 200
    with clerk.session_transaction() as session:
        assert session["staff_seen"] > before
        session["staff_seen"] -= 121 * 60
    assert clerk.get("/staff/").status_code == 302
    assert _events(app)[-1].action == "staff.session_expired"


# ------------------------------------------------------------------ the role matrix

SETUP = ("clerk",)
CEREMONY = ("clerk", "presidium", "trustee")
RESULTS = ("presidium", "clerk", "auditor")
PAGES = [
    ("/staff/", ("clerk", "presidium", "trustee", "auditor")),
    ("/staff/meetings/new", SETUP),
    ("/staff/meetings/m1/setup", SETUP),
    ("/staff/meetings/m1/setup/roster", SETUP),
    ("/staff/meetings/m1/setup/roster.csv", SETUP),
    ("/staff/meetings/m1/setup/credentials", SETUP),
    ("/staff/meetings/m1/setup/votes", SETUP),
    *[(f"/staff/meetings/m1/setup/votes/new/{kind}", SETUP)
      for kind in ("resolution", "appointment", "selection", "election", "evaluation")],
    ("/staff/meetings/m1/setup/ceremony", CEREMONY),
    ("/staff/meetings/m1/setup/ceremony.json", CEREMONY),
    ("/staff/meetings/m1/setup/pairings", SETUP),
    ("/staff/meetings/m1/results", RESULTS),
    ("/staff/meetings/m1/results/v1", RESULTS),
    ("/staff/meetings/m1/results/v1/announcement.pdf", RESULTS),
    ("/staff/meetings/m1/results/v1/announcement.csv", RESULTS),
    ("/staff/meetings/m1/audit", ("auditor", "clerk", "presidium")),
    ("/staff/audit/accounts", ("auditor",)),
]
POSTS = [  # (path, roles): a POST with a valid token by a wrong role is 403 before anything happens
    ("/staff/meetings/new", SETUP),
    ("/staff/meetings/m1/setup/roster", SETUP),
    ("/staff/meetings/m1/setup/roster/confirm", SETUP),
    ("/staff/meetings/m1/setup/credentials", SETUP),
    ("/staff/meetings/m1/setup/votes/new/resolution", SETUP),
    ("/staff/meetings/m1/setup/seal", SETUP),
    ("/staff/meetings/m1/setup/pairings", SETUP),
]


@pytest.fixture
def published(app, meeting):
    """m1 with v1 published (no ballots: enough for the pages to have something to show)."""
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="test")
        lifecycle.close_vote("m1", "v1", actor="test")
        demo.demo_tally("m1", "v1")
    return meeting


def test_role_matrix(app, published):
    clients = {role: staff_client(app, role, **({"meeting_id": "m1", "trustee_index": 1} if role == "trustee" else {}))
               for role in ("clerk", "presidium", "trustee", "auditor")}
    anonymous = app.test_client()
    for path, allowed in PAGES:
        response = anonymous.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], path
        for role, client in clients.items():
            status = client.get(path).status_code
            assert status == (200 if role in allowed else 403), (path, role, status)
    for path, allowed in POSTS:
        assert anonymous.post(path, data={"csrf_token": csrf_token(anonymous)}).status_code == 302, path
        for role, client in clients.items():
            if role not in allowed:
                assert post_form(client, path, {}).status_code == 403, (path, role)
    # a trustee sees only its own meeting
    with app.app_context():
        demo.create_demo("m2", 3)
    trustee = clients["trustee"]
    assert trustee.get("/staff/meetings/m2/setup/ceremony").status_code == 403
    assert "m2" not in text(trustee.get("/staff/"))
    assert clients["clerk"].get("/staff/meetings/nope/setup").status_code == 404
