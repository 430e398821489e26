"""The presidium console (issue #5): its role matrix, opening a vote with a timer and closing it
through the console's JSON endpoints (CSRF header), publishing before the trustees have posted,
and the hall's public big screen page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from service.test_web_support import csrf_token, staff_client, text
from tally import demo

CONSOLE = "/staff/meetings/m1/console"


def _json_post(client, url: str, body: dict | None = None, token: str | None = None):
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["X-CSRFToken"] = token
    return client.post(url, json=body or {}, headers=headers)


def test_console_role_matrix(app, client, meeting):
    anonymous = client.get(CONSOLE)
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.headers["Location"]
    assert client.get(f"{CONSOLE}/state").status_code == 302
    auditor = staff_client(app, "auditor")
    assert auditor.get(CONSOLE).status_code == 403
    assert auditor.get(f"{CONSOLE}/state", headers={"Accept": "application/json"}).status_code == 403
    assert _json_post(auditor, f"{CONSOLE}/votes/v1/open", token=csrf_token(auditor, "/staff/")).status_code == 403
    for role in ("presidium", "clerk"):
        user = staff_client(app, role)
        page = user.get(CONSOLE)
        assert page.status_code == 200, role
        html = text(page)
        assert "实到" in html and "应到" in html and 'id="seatmap"' in html
        assert "socket.io.esm.min.js" in html
        state = user.get(f"{CONSOLE}/state").get_json()
        assert state["presence"] == {"present": 0, "members": 8, "quorum_met": False}
        assert [v["vote_id"] for v in state["votes"]] == ["v1", "v2", "v3", "v4", "v5"]
    assert client.get("/staff/meetings/nope/console").status_code == 302


def test_open_with_timer_close_and_publish(app, client, meeting):
    presidium = staff_client(app, "presidium")
    token = csrf_token(presidium, CONSOLE)
    for deputy in meeting.deputies[:6]:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    state = presidium.get(f"{CONSOLE}/state").get_json()
    assert state["presence"] == {"present": 6, "members": 8, "quorum_met": True}

    # no CSRF header: refused, and the vote stays pending
    refused = _json_post(presidium, f"{CONSOLE}/votes/v1/open", {"minutes": 2})
    assert refused.status_code == 400 and refused.get_json()["error"] == "csrf"
    assert _json_post(presidium, f"{CONSOLE}/votes/v1/open", {"minutes": "x"}, token).status_code == 400

    before = datetime.now(UTC)
    opened = _json_post(presidium, f"{CONSOLE}/votes/v1/open", {"minutes": 2, "seconds": "30"}, token)
    assert opened.status_code == 200, opened.get_json()
    body = opened.get_json()
    assert body["state"] == "open" and body["vote_id"] == "v1"
    closes = datetime.fromisoformat(body["closes_at"])
    assert 148 <= (closes - before).total_seconds() <= 152
    again = _json_post(presidium, f"{CONSOLE}/votes/v2/open", {}, token)
    assert again.status_code == 409 and again.get_json()["error"] == "another_vote_open"

    for deputy in meeting.deputies[:3]:
        ballot = meeting.ballot(app, "v1", deputy, {"motion": ["yes"]})
        assert client.post("/api/meetings/m1/votes/v1/ballots", json=ballot.entry).status_code == 201
    v1 = presidium.get(f"{CONSOLE}/state").get_json()["votes"][0]
    assert (v1["state"], v1["cast"], v1["present"]) == ("open", 3, 6)

    closed = _json_post(presidium, f"{CONSOLE}/votes/v1/close", {}, token)
    assert closed.status_code == 200 and closed.get_json() == {"vote_id": "v1", "state": "closed", "closes_at": None}
    assert _json_post(presidium, f"{CONSOLE}/votes/v1/close", {}, token).status_code == 409

    # publish before any trustee has posted: refused, naming the missing trustees
    early = _json_post(presidium, f"{CONSOLE}/votes/v1/publish", {}, token)
    assert early.status_code == 409
    assert early.get_json()["error"] == "awaiting_shares" and early.get_json()["missing"] == [1, 2, 3, 4, 5]
    status = presidium.get(f"{CONSOLE}/votes/v1/decryption").get_json()
    assert status["posted"] == [] and status["threshold"] == 3 and len(status["trustees"]) == 5

    with app.app_context():
        demo.demo_tally("m1", "v1", trustees=[2, 4, 5])  # the third share publishes by itself
    status = presidium.get(f"{CONSOLE}/votes/v1/decryption").get_json()
    assert status["state"] == "published" and status["posted"] == [2, 4, 5] and status["missing"] == [1, 3]
    assert [t["posted"] for t in status["trustees"]] == [False, True, False, True, True]
    late = _json_post(presidium, f"{CONSOLE}/votes/v1/publish", {}, token)
    assert late.status_code == 409 and late.get_json()["error"] == "already_published"
    result = client.get("/api/meetings/m1/votes/v1/result").get_json()
    assert {t["option"]: t["count"] for t in result["tallies"]} == {"yes": 3, "no": 0, "abstain": 0}

    size = client.get("/api/meetings/m1/sth").get_json()["tree_size"]
    events = client.get(f"/api/meetings/m1/entries?start=0&end={size}").get_json()["entries"]
    assert [e["type"] for e in events if e.get("vote_id") == "v1" and e["type"] in ("open", "close")] == ["open", "close"]


def test_open_without_timer(app, meeting):
    clerk = staff_client(app, "clerk")
    token = csrf_token(clerk, CONSOLE)
    opened = _json_post(clerk, f"{CONSOLE}/votes/v2/open", {"minutes": "", "seconds": ""}, token)
    assert opened.status_code == 200 and opened.get_json()["closes_at"] is None


def test_big_screen_is_public(app, client, meeting):
    page = client.get("/screen/m1")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = text(page)
    assert "应到" in html and "实到" in html and "已表决" in html and "未表决" in html
    assert re.search(r"bigscreen/screen\.js", html) and "csrf" not in html
    assert client.get("/screen/nope").status_code == 404


def test_console_page_for_unsealed_meeting(app):
    from tally.services import meetings

    with app.app_context():
        meetings.create_meeting("m9", "筹备中", "测试", 3, "majority", ["甲", "乙", "丙"], 2, actor="test")
    user = staff_client(app, "presidium")
    assert user.get("/staff/meetings/m9/console").status_code == 409
    assert user.get("/staff/meetings/m9/console/state", headers={"Accept": "application/json"}).status_code == 409


def test_home_links_to_console_and_hall_screen(app, client, meeting):
    home = text(staff_client(app, "presidium").get("/staff/"))
    assert "/staff/meetings/m1/console" in home and "/screen/m1" in home
    auditor_home = text(staff_client(app, "auditor").get("/staff/"))
    assert "/staff/meetings/m1/console" not in auditor_home and "/screen/m1" in auditor_home
