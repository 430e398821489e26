"""The deputy's tablet in a real browser (issue #4), asserting on the service's state, not only
on the page: log entries via GET /api/meetings/m1/entries and counts via GET …/result.

The tests of this module are one session, in order: three tablets (seats 001–003) check in
before any vote opens, then the five votes open one after another. Screenshots of every screen
go to docs/screens/ (1280×800 landscape, some 800×1280 portrait).
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from ballot.ballot import ballot_hash, display_tracker
from ballot.hashing import canonical_json
from browser.conftest import LANDSCAPE, MEETING, PHONE, PORTRAIT, Tablet, wait_until
from keys.credentials import derive_seed, format_code, new_code
from piaojue_tools import demo_data
from tally import demo
from tally.services import lifecycle
from tally.store.models import Meeting


def public_url(server) -> str:
    """PIAOJUE_PUBLIC_URL of this module: another name of the test server than the tablets use."""
    return server.url.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def tablets(server, browser):
    """Seats 001–003 paired by URL and checked in by typed code; seats 005–006 check in by API."""
    made = {}
    server.app.config["PUBLIC_URL"] = public_url(server) + "/"  # a trailing slash is dropped
    try:
        for key, person in zip("ABC", server.people[:3]):
            tablet = Tablet(browser, server, person)
            tablet.pair_by_url()
            tablet.check_in()
            made[key] = tablet
        for person in server.people[4:]:
            server.check_in_by_api(person)
        yield made
    finally:
        server.app.config["PUBLIC_URL"] = None
        for tablet in made.values():
            tablet.close()


def ballots_of(server, credential: str, vote_id: str) -> list[dict]:
    return [e for e in server.entries() if e["type"] == "ballot" and e["vote_id"] == vote_id and e["credential"] == credential]


def open_vote(server, vote_id: str, tablets: list[Tablet], duration: int | None = None) -> list[float]:
    """Open a vote in the service and return, per tablet, the ms from open_vote to ballot painted."""
    started = time.time() * 1000
    with server.app.app_context():
        lifecycle.open_vote(MEETING, vote_id, actor="test", duration_seconds=duration)
    times = []
    for tablet in tablets:
        tablet.page.wait_for_function("vid => window.__piaojue.painted[vid]", arg=vote_id)
        assert tablet.screen() == "ballot"
        times.append(round(tablet.page.evaluate("vid => window.__piaojue.painted[vid]", vote_id) - started, 1))
    server.timings.setdefault("open_to_ballot_painted_ms", {})[vote_id] = times
    print(f"\n{vote_id}: open → ballot painted in {times} ms")
    return times


def close_and_tally(server, vote_id: str) -> dict:
    with server.app.app_context():
        lifecycle.close_vote(MEETING, vote_id, actor="test")
        demo.demo_tally(MEETING, vote_id)
    return server.get(f"/api/meetings/{MEETING}/votes/{vote_id}/result")


def counts(result: dict) -> dict[tuple[str, str], int]:
    return {(t["contest"], t["option"]): t["count"] for t in result["tallies"]}


def cast_from_review(tablet: Tablet) -> str:
    """Press 投票 on the review screen; return the tracker shown on the receipt."""
    tablet.button("投票").click()
    tablet.wait_screen("receipt", timeout=30_000)
    assert tablet.focused_heading()
    assert tablet.page.locator("h1").inner_text() == "已投票"
    assert "回执已在本平板核验" in tablet.page.locator("#receipt-check").inner_text()
    return tablet.page.locator("#tracker").inner_text().strip()


@contextmanager
def first_ballot_post(tablet: Tablet, vote_id: str, handle: Callable) -> Iterator[list[dict]]:
    """Route the tablet's first ballot post of ``vote_id`` to ``handle(route)`` (a later post goes
    to the service); yields the first post's ``{"hash", "at"}`` once it has been made."""
    pattern = f"**/api/meetings/{MEETING}/votes/{vote_id}/ballots"
    first: list[dict] = []

    def once(route):
        if first:
            route.fallback()
            return
        first.append({"hash": ballot_hash(json.loads(route.request.post_data)).hex(), "at": time.monotonic()})
        handle(route)

    tablet.page.route(pattern, once)
    try:
        yield first
    finally:
        tablet.page.unroute(pattern)


def assert_receipt_matches_log(server, tablet: Tablet, vote_id: str, tracker: str) -> dict:
    logged = ballots_of(server, tablet.credential, vote_id)
    assert logged, "no ballot of this credential in the log"
    last = logged[-1]
    digest = ballot_hash(last)
    assert display_tracker(digest) == tracker
    qr = tablet.page.locator(".receipt-qr img")
    src = qr.get_attribute("src")
    # PIAOJUE_PUBLIC_URL, not the address the tablet opened, in the QR code and the short link
    assert src == "/kiosk/qr.svg?data=" + urllib.parse.quote(f"{public_url(server)}/r/{MEETING}/{digest.hex()}", safe="")
    assert tablet.page.locator("#receipt-link").inner_text() == f"{public_url(server)}/r/{MEETING}/{digest.hex()[:16]}"
    assert tablet.page.locator("#receipt-hash").inner_text().replace(" ", "") == digest.hex()
    wait_until(lambda: tablet.page.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle()))
    return last


# The kinds' names as the tablet shows them (zh, en): public words, not choices.
KIND_LABELS = ["议案表决", "人事任免", "民生实事项目票决", "选举", "满意度测评",
               "Resolution", "Appointments", "Livelihood projects", "Election", "Satisfaction evaluation"]


def assert_no_trace_of_choice(server, tablet: Tablet, vote_id: str, chosen: dict[str, list[str]], *,
                              labels_shown: bool = False) -> None:
    """Nothing on ``tablet`` tells what it chose in ``vote_id`` (``{contest: [option ids]}``).

    The whole DOM (document.documentElement.outerHTML: hidden and screen-reader regions and every
    attribute value) has none of the chosen options' labels (zh or en), their ids as a token, no
    pressed button, no option data attribute and no "已选择"/"Chosen:" announcement; the
    vote's own title and kind are public text and are taken out first. ``labels_shown``: the screen
    lists every option on purpose (results), so only the other checks apply. In storage, the
    cached public documents must equal what the service publishes, the queue must be empty, and
    no other value may hold a chosen label or id.
    """
    vote = server.get(f"/api/meetings/{MEETING}/votes/{vote_id}")
    definition = vote["vote"]
    options = {(c["id"], o["id"]): o for c in definition["contests"] for o in c["options"]}
    picked = [options[(contest, option)] for contest, ids in chosen.items() for option in ids]
    assert picked
    labels = {o[k] for o in picked for k in ("label", "label_en") if o.get(k)}
    ids = {o["id"] for o in picked}
    public = [definition["title"], definition.get("title_en", ""), *KIND_LABELS, 'translate="no"']

    def traces(text: str, *, with_labels: bool) -> list[str]:
        for words in public:
            if words:
                text = text.replace(words, "")
        found = [w for w in ("已选择", "已取消", "Chosen:", "Undone:") if w in text]
        if with_labels:
            found += [label for label in labels
                      if re.search(rf"(?<![A-Za-z]){re.escape(label)}(?![A-Za-z])", text)]
        found += [f"id {i}" for i in ids if re.search(rf"(?<![A-Za-z0-9_]){re.escape(i)}(?![A-Za-z0-9_])", text)]
        return found

    html = tablet.page.evaluate("document.documentElement.outerHTML")
    found = traces(html, with_labels=not labels_shown)
    found += [marker for marker in ('aria-pressed="true"', "data-option=") if marker in html]
    screen = tablet.screen()
    assert not found, f"the {screen} screen still shows what was chosen: {found}"

    storage = tablet.page.evaluate("""() => Object.fromEntries([localStorage, sessionStorage].flatMap(
        (store, n) => Object.keys(store).map(key => [(n ? 'session:' : 'local:') + key, store.getItem(key)])))""")
    meeting = server.get(f"/api/meetings/{MEETING}")
    for key, value in storage.items():
        doc = key.removeprefix("local:piaojue.doc.")
        if doc != key:  # public documents, as published: the same on every tablet
            name, _, rest = doc.partition(".")
            if name == "meeting":
                assert json.loads(value) == {"meeting": meeting["meeting"], "meeting_hash": meeting["meeting_hash"]}
            else:
                vid = rest.split(".", 1)[1]
                published = server.get(f"/api/meetings/{MEETING}/votes/{vid}")
                assert json.loads(value) == {"vote": published["vote"], "vote_hash": published["vote_hash"]}, key
        elif key == "local:piaojue.queue":
            assert json.loads(value) == [], "a ballot is still queued after its receipt"
        else:
            assert not traces(value, with_labels=True), f"{key} holds a trace of the choice: {value}"


# ============================================================================ pairing, check-in


def test_pairing_and_check_in(server, browser, tablets):
    # Pairing by URL (the fixture's tablets): the one-time code leaves the address bar.
    a = tablets["A"]
    assert a.page.evaluate("location.pathname") == "/kiosk/"
    assert json.loads(a.page.evaluate("localStorage.getItem('piaojue.pairing')")) == {
        "meeting_id": MEETING, "seat": a.person.seat, "title": server.get(f"/api/meetings/{MEETING}")["meeting"]["title"],
    }

    # Pairing by typed code, with its errors.
    d = Tablet(browser, server, server.people[3])
    try:
        d.page.goto("/kiosk/")
        d.wait_screen("pair")
        assert d.focused_heading()
        d.assert_touch_targets()
        d.shot("01-pair.png")
        d.page.get_by_label("配对码（8 位数字）").fill("1234")
        d.button("配对").click()
        d.page.get_by_text("配对码是 8 位数字。").wait_for()
        d.page.get_by_label("配对码（8 位数字）").fill("00000000")
        d.button("配对").click()
        d.page.get_by_text("配对码无效、已使用或已过期").wait_for()
        d.page.get_by_label("配对码（8 位数字）").fill(server.pairing_code(d.person.seat))
        d.button("配对").click()
        d.wait_screen("checkin")
        assert d.focused_heading()
        d.page.get_by_text("请扫描凭证卡二维码或输入代码").wait_for()
        d.shot("02-checkin.png")

        # Check-in by typed code: the helpful errors, then lower case with spaces is accepted.
        field = d.page.get_by_label("凭证代码")
        field.fill("ABCDE-0BCDE-ABCDE-ABCDE")
        d.button("签到").click()
        error = d.page.locator("#checkin-error")
        wait_until(lambda: "代码中不会出现数字 0" in error.inner_text())
        assert "0 可能是字母 O" in error.inner_text()
        assert field.get_attribute("aria-invalid") == "true"
        field.fill("ABCDE-ABCDE-ABCD")
        d.button("签到").click()
        wait_until(lambda: "代码应为 20 个字符" in error.inner_text())
        field.fill(format_code(new_code()))
        d.button("签到").click()
        wait_until(lambda: "这个代码不属于本次会议" in error.inner_text())
        code = format_code(d.person.code).lower().replace("-", " ")
        d.check_in(code)
        assert d.focused_heading()
        d.page.get_by_text("实到 6 人 / 应到 6 人").wait_for()
        assert d.page.locator(".conn").inner_text().strip() == "已连接"
        d.shot("03-waiting.png")
        with server.app.app_context():
            from tally.store import db

            assert db.session().get(Meeting, MEETING).checkins == 6

        # The seed stays in sessionStorage; it is never stored for good nor sent anywhere.
        seed = derive_seed(d.person.code, MEETING).hex()
        assert seed in d.page.evaluate("sessionStorage.getItem('piaojue.credential')")
        assert seed not in d.page.evaluate("JSON.stringify(localStorage)")
        assert d.posted and not any(seed in body or d.person.code in body.upper() for body in d.posted)

        # A reload keeps the check-in; the language switch is remembered.
        d.page.reload()
        d.wait_screen("waiting")
        d.page.get_by_role("button", name="Switch to English").click()
        assert d.page.locator("h1").inner_text() == "Checked in"
        d.page.reload()
        d.wait_screen("waiting")
        assert d.page.locator("h1").inner_text() == "Checked in"
        assert d.page.evaluate("document.documentElement.lang") == "en"
        d.page.get_by_role("button", name="切换到中文").click()
        assert d.page.locator("h1").inner_text() == "已签到"

        d.page.set_viewport_size(PORTRAIT)
        d.assert_fits()
        d.shot("03-waiting-portrait.png")
        assert not d.errors
    finally:
        d.close()


def test_rate_limited_pairing_and_check_in_say_when_to_retry(server, browser, tablets):
    """429 rate_limited (tally/ops/ratelimit.py): the tablet says, in its language, how long to wait
    (Retry-After), keeps what the deputy typed, and the same action succeeds once allowed."""
    e = Tablet(browser, server, server.people[4])
    config = server.app.config
    saved = {name: config[name] for name in ("RATELIMIT_PAIR_ADDRESS", "RATELIMIT_CHECKIN_ADDRESS")}
    try:
        e.page.goto("/kiosk/")
        e.wait_screen("pair")
        code = server.pairing_code(e.person.seat)
        config["RATELIMIT_PAIR_ADDRESS"] = "1 per hour"  # a fresh counter: one attempt, then over
        e.page.get_by_label("配对码（8 位数字）").fill("00000000")
        e.button("配对").click()
        e.page.get_by_text("配对码无效、已使用或已过期").wait_for()
        e.page.get_by_label("配对码（8 位数字）").fill(code)
        e.button("配对").click()
        e.page.get_by_text(re.compile(r"操作过于频繁，请 \d+ 秒后重试。")).wait_for()
        assert e.screen() == "pair"
        config["RATELIMIT_PAIR_ADDRESS"] = saved["RATELIMIT_PAIR_ADDRESS"]
        e.page.get_by_label("配对码（8 位数字）").fill(code)  # the code was not used up
        e.button("配对").click()
        e.wait_screen("checkin")

        config["RATELIMIT_CHECKIN_ADDRESS"] = "1 per hour"
        field = e.page.get_by_label("凭证代码")
        error = e.page.locator("#checkin-error")
        field.fill(format_code(new_code()))
        e.button("签到").click()
        wait_until(lambda: "这个代码不属于本次会议" in error.inner_text())
        field.fill(format_code(e.person.code))
        e.button("签到").click()
        wait_until(lambda: re.fullmatch(r"操作过于频繁，请 \d+ 秒后重试。", error.inner_text().strip()) is not None)
        seconds = int(re.search(r"\d+", error.inner_text()).group())
        assert 1 <= seconds <= 3600
        assert field.input_value() == format_code(e.person.code)  # nothing the deputy typed is lost
        e.page.get_by_role("button", name="Switch to English").click()  # the screen is drawn anew
        e.page.get_by_label("Credential code").fill(format_code(e.person.code))
        e.button("Check in").click()
        wait_until(lambda: re.fullmatch(r"Too many attempts\. Please try again in \d+ s\.", error.inner_text().strip())
                   is not None)
        e.page.get_by_role("button", name="切换到中文").click()
        config["RATELIMIT_CHECKIN_ADDRESS"] = saved["RATELIMIT_CHECKIN_ADDRESS"]
        e.check_in(format_code(e.person.code))
        assert not e.errors
    finally:
        config.update(saved)
        e.close()


def test_check_in_by_scanning_the_card(server, browser, tablets):
    """The camera path: chromium's fake camera shows seat 005's card; jsQR (no BarcodeDetector on
    Linux) reads it, and the tablet checks in without anything being typed."""
    tablet = Tablet(browser, server, server.people[4])
    try:
        tablet.pair_by_url()
        tablet.assert_touch_targets()
        tablet.button("扫描凭证卡二维码").click()
        tablet.wait_screen("waiting", timeout=20_000)
        assert tablet.page.locator(".seat-big").inner_text() == f"座位 {tablet.person.seat}"
        tablet.page.wait_for_function("window.__piaojue.transport")
        assert tablet.page.evaluate("window.__piaojue.transport") == "websocket"  # not long-polling
        assert not any(tablet.person.code in body for body in tablet.posted)
        assert not tablet.errors
    finally:
        tablet.close()


# ============================================================================ 议案表决


def test_resolution_challenge_then_cast(server, tablets):
    a, b = tablets["A"], tablets["B"]
    open_vote(server, "v1", [a, b, tablets["C"]])
    assert a.focused_heading()
    yes = a.button("赞成")
    assert yes.get_attribute("aria-pressed") == "false"
    assert a.button("下一步").is_disabled()
    assert "请先选择赞成、反对或弃权" in a.page.locator(".footer-status").inner_text()
    yes.click()
    assert yes.get_attribute("aria-pressed") == "true"
    assert a.button("反对").get_attribute("aria-pressed") == "false"
    a.assert_fits()
    a.assert_touch_targets()
    a.shot("04-resolution.png")
    a.button("下一步").click()
    a.wait_screen("review")
    assert a.focused_heading()
    assert a.page.locator(".choice-summary").inner_text().strip() == "赞成"
    a.assert_touch_targets()
    a.shot("09-review.png")

    # 核验加密: the opened encryption is shown in words, published as a spoiled entry.
    a.button("核验加密").click()
    a.wait_screen("challenge", timeout=30_000)
    a.page.locator("#spoiled-status").wait_for()
    assert a.focused_heading() and a.page.locator("h1").inner_text() == "核验加密"  # not the top of the page
    assert a.page.locator("#spoiled-status").inner_text() == "此次加密已作废并公开核验；投票时将重新加密"
    assert a.page.locator(".choice-summary").inner_text().strip() == "赞成"
    challenge_tracker = a.page.locator(".tracker").inner_text().strip()
    a.shot("10-challenge.png")
    spoiled = [e for e in server.entries() if e["type"] == "spoiled" and e["ballot"]["credential"] == a.credential]
    assert len(spoiled) == 1 and spoiled[0]["vote_id"] == "v1"
    assert {(c, o) for c, o, m, _r in spoiled[0]["openings"] if m == 1} == {("motion", "yes")}
    assert display_tracker(ballot_hash(spoiled[0]["ballot"])) == challenge_tracker
    assert not ballots_of(server, a.credential, "v1")

    a.button("返回确认页").click()
    a.wait_screen("review")
    assert a.page.locator("#spoiled-notice").inner_text() == "此次加密已作废并公开核验；投票时将重新加密"
    tracker = cast_from_review(a)
    assert tracker != challenge_tracker  # a cast is always a fresh encryption
    logged = assert_receipt_matches_log(server, a, "v1", tracker)
    assert logged["contests"] != spoiled[0]["ballot"]["contests"]
    assert_no_trace_of_choice(server, a, "v1", {"motion": ["yes"]})
    assert len(ballots_of(server, a.credential, "v1")) == 1
    a.assert_touch_targets()
    a.shot("12-receipt.png")
    a.page.set_viewport_size(PORTRAIT)
    a.assert_fits()
    a.shot("12-receipt-portrait.png")
    a.page.set_viewport_size(LANDSCAPE)
    assert not a.page.get_by_role("button", name="重新投票").count()  # v1 does not allow recasts

    b.button("反对").click()
    b.button("下一步").click()
    b.wait_screen("review")
    assert_receipt_matches_log(server, b, "v1", cast_from_review(b))
    assert_no_trace_of_choice(server, b, "v1", {"motion": ["no"]})
    assert not a.errors and not b.errors


def test_a_second_ballot_is_refused_clearly(server, browser, tablets):
    """The same card on another tablet, once its ballot is in: the service's already_voted (409)
    is shown in words, and the log is unchanged."""
    a = tablets["A"]
    other = Tablet(browser, server, a.person)
    try:
        other.pair_by_url()
        other.check_in_to("ballot")  # v1 is open and this tablet has no receipt for it
        other.button("反对").click()
        other.button("下一步").click()
        other.wait_screen("review")
        other.button("投票").click()
        other.wait_screen("rejected", timeout=30_000)
        assert other.page.get_by_role("alert").filter(has_text="您已在本项表决中投票。").count() == 1
        assert other.focused_heading() and other.page.locator("h1").inner_text() == "选票未被接收"
        assert json.loads(other.page.evaluate("localStorage.getItem('piaojue.queue')")) == []
        assert len(ballots_of(server, a.credential, "v1")) == 1
        assert not other.errors
    finally:
        other.close()


def test_offline_then_reconnect(server, tablets):
    c = tablets["C"]
    route = f"**/api/meetings/{MEETING}/votes/v1/ballots"
    c.page.route(route, lambda r: r.abort())
    try:
        c.button("弃权").click()
        c.button("下一步").click()
        c.wait_screen("review")
        c.button("投票").click()
        c.wait_screen("submitting", timeout=30_000)
        assert c.page.locator("h1").inner_text() == "正在提交…"
        retry = c.page.locator("#submit-retry")
        wait_until(lambda: "网络中断" in retry.inner_text())
        assert c.page.locator("#btn-retry").is_visible()  # offline: "立即重试" may cut the wait short
        c.shot("11-submitting.png")
        queue = json.loads(c.page.evaluate("localStorage.getItem('piaojue.queue')"))
        assert len(queue) == 1
        queued = queue[0]
        assert set(queued) == {"meeting_id", "vote_id", "ballot_hash", "tracker", "entry", "queued_at"}
        assert set(queued["entry"]) == {"type", "vote_id", "credential", "contests", "constraints", "signature"}
        assert ballot_hash(queued["entry"]).hex() == queued["ballot_hash"]
        assert not ballots_of(server, c.credential, "v1")

        # The tablet restarts while still offline: the queued ballot is resumed, not re-encrypted.
        c.page.reload()
        c.wait_screen("submitting")
        wait_until(lambda: "网络中断" in c.page.locator("#submit-retry").inner_text())
        assert json.loads(c.page.evaluate("localStorage.getItem('piaojue.queue')")) == queue
    finally:
        c.page.unroute(route)
    c.wait_screen("receipt", timeout=40_000)  # the next backoff retry goes through
    assert c.page.locator("#tracker").inner_text().strip() == queued["tracker"]
    logged = ballots_of(server, c.credential, "v1")
    assert len(logged) == 1
    assert canonical_json(logged[0]) == canonical_json(queued["entry"])
    assert ballot_hash(logged[0]).hex() == queued["ballot_hash"]
    assert json.loads(c.page.evaluate("localStorage.getItem('piaojue.queue')")) == []
    assert not c.errors


def test_resolution_result_shown(server, tablets):
    result = close_and_tally(server, "v1")
    assert counts(result) == {("motion", "yes"): 1, ("motion", "no"): 1, ("motion", "abstain"): 1}
    assert result["outcome"]["items"][0]["passed"] is False  # 1 赞成 of 6 members
    for tablet in tablets.values():
        tablet.wait_screen("results")
    a = tablets["A"]
    text = a.page.locator(".result-summary").inner_text()
    assert "赞成 1 / 反对 1 / 弃权 1 / 未按 3" in text and "未通过" in text
    a.shot("14-results.png")
    for tablet in tablets.values():
        tablet.button("返回").click()
        tablet.wait_screen("waiting")


# ============================================================================ 人事任免


def test_restarted_tablet_says_why(server, browser, tablets):
    """A tablet whose browser restarts loses its check-in (sessionStorage): its check-in screen says
    so, says when a vote opens (without losing what is being typed), and the check-in leads
    straight to the open vote's ballot."""
    d = Tablet(browser, server, server.people[3], viewport=PORTRAIT)
    try:
        d.pair_by_url()
        assert not d.page.locator("#restarted-notice").count()  # a first check-in has nothing to explain
        d.check_in()
        d.page.evaluate("sessionStorage.clear()")  # what a browser restart does to the tab
        d.page.reload()
        d.wait_screen("checkin")
        assert d.page.locator("#restarted-notice").inner_text() == (
            "本平板已重新启动，原来的签到已失效。请重新扫描凭证卡二维码或输入凭证代码签到，签到后即可投票。")
        d.page.get_by_label("凭证代码").fill(format_code(d.person.code)[:5])
        d.page.wait_for_function("window.__piaojue.transport")  # the live channel is up before check-in
        open_vote(server, "v2", [tablets["A"], tablets["B"]])
        notice = d.page.locator("#vote-open-notice")
        notice.wait_for()
        assert notice.inner_text() == "表决已开始：人事任免案。请先签到，签到后选票会自动显示。"
        assert d.page.get_by_label("凭证代码").input_value() == format_code(d.person.code)[:5]
        d.shot("02b-checkin-restarted.png")
        d.page.get_by_role("button", name="Switch to English").click()
        assert d.page.locator("#restarted-notice").inner_text().startswith("This tablet has restarted")
        assert d.page.locator("#vote-open-notice").inner_text().startswith("Voting has begun: ")
        d.page.get_by_role("button", name="切换到中文").click()
        d.check_in_to("ballot")
        assert d.page.evaluate("document.body.dataset.vote") == "v2"
        assert not d.errors
    finally:
        d.close()


def test_replacement_card_refused_until_the_next_vote(server, browser, tablets):
    """A credential registered after a vote's open (a replacement card, SPEC revision 2 §8.1) is
    refused for that vote with ``not_checked_in``, as is a check-in after the open: the tablet says
    plainly that this card votes from the next vote on, and offers no retry. (The refusal is
    played by the route here: every deputy of this meeting checked in before v2 opened.)"""
    d = Tablet(browser, server, server.people[3])
    pattern = f"**/api/meetings/{MEETING}/votes/v2/ballots"
    d.page.route(pattern, lambda route: route.fulfill(
        status=403, content_type="application/json",
        body=json.dumps({"error": "not_checked_in",
                         "message": "this credential was not checked in when the vote opened; it may vote from the next vote"})))
    try:
        d.pair_by_url()
        d.check_in_to("ballot")
        d.button("下一步").click()
        d.wait_screen("review")
        d.button("投票").click()
        d.wait_screen("rejected", timeout=30_000)
        alert = d.page.get_by_role("alert")
        assert alert.inner_text() == ("本项表决开始时，这张凭证卡尚未签到或尚未登记（例如表决开始后才签到，或表决开始后补发的新凭证卡），"
                                      "因此不能参加本项表决。从下一项表决起可以正常投票。")
        assert not d.page.get_by_role("button", name="返回修改").count()  # nothing to retry
        d.shot("16-rejected-replacement-card.png")
        d.page.get_by_role("button", name="Switch to English").click()
        assert "replacement card" in alert.inner_text() and alert.inner_text().endswith("It can vote from the next vote on.")
        d.page.get_by_role("button", name="切换到中文").click()
        assert not d.errors
    finally:
        d.close()


def test_appointment(server, tablets):
    a, b = tablets["A"], tablets["B"]  # v2 was opened by the test above
    nominee = {n["id"]: n for n in demo_data.NOMINEES}
    row = lambda nid: a.page.get_by_role("group", name=nominee[nid]["name"])
    assert a.page.get_by_text(nominee["n1"]["post"]).is_visible()
    assert a.button("下一步").is_enabled()  # every nominee may be left blank
    row("n1").get_by_role("button", name="赞成", exact=True).click()
    row("n2").get_by_role("button", name="赞成", exact=True).click()
    row("n2").get_by_role("button", name="反对", exact=True).click()  # changes the choice
    row("n3").get_by_role("button", name="弃权", exact=True).click()
    row("n3").get_by_role("button", name="弃权", exact=True).click()  # and back to blank
    assert row("n2").get_by_role("button", name="赞成", exact=True).get_attribute("aria-pressed") == "false"
    assert row("n3").get_by_role("button", name="弃权", exact=True).get_attribute("aria-pressed") == "false"
    a.assert_fits()
    a.assert_touch_targets()
    a.shot("05-appointment.png")
    a.button("下一步").click()
    a.wait_screen("review")
    summary = a.page.locator(".choice-summary").inner_text()
    assert "王建国（市发展和改革委员会主任）\n赞成" in summary
    assert "李秀英（市教育局局长）\n反对" in summary
    assert "张志强（市卫生健康委员会主任）\n未选择（不投票）" in summary

    # The first post of this ballot is answered 429 rate_limited (the service limits only check-in
    # and pairing, but a proxy in front of it may limit ballots): the tablet keeps the queued
    # ballot, says it will retry, waits out Retry-After (3 s, longer than its first 1 s backoff)
    # and posts the same ballot again, instead of showing it as rejected.
    def refuse(route):
        route.fulfill(status=429, headers={"Retry-After": "3"}, content_type="application/json",
                      body=json.dumps({"error": "rate_limited", "message": "too many requests"}))

    with first_ballot_post(a, "v2", refuse) as refused:
        a.button("投票").click()
        retry = a.page.locator("#submit-retry")
        wait_until(lambda: "计票系统暂时繁忙，3 秒后重试" in retry.inner_text())
        assert a.screen() == "submitting"
        assert not a.page.locator("#btn-retry").is_visible()  # a Retry-After is waited out, no "立即重试"
        queue = json.loads(a.page.evaluate("localStorage.getItem('piaojue.queue')"))
        assert [q["ballot_hash"] for q in queue] == [refused[0]["hash"]]
        a.wait_screen("receipt", timeout=30_000)
        assert time.monotonic() - refused[0]["at"] >= 2.5  # not before Retry-After
    assert "回执已在本平板核验" in a.page.locator("#receipt-check").inner_text()
    logged = assert_receipt_matches_log(server, a, "v2", a.page.locator("#tracker").inner_text().strip())
    assert len(ballots_of(server, a.credential, "v2")) == 1
    assert ballot_hash(logged).hex() == refused[0]["hash"]  # the same ballot, not re-encrypted
    assert json.loads(a.page.evaluate("localStorage.getItem('piaojue.queue')")) == []
    assert_no_trace_of_choice(server, a, "v2", {"n1": ["yes"], "n2": ["no"]})

    # B is still on the ballot when the vote closes: 表决已结束.
    row_b = b.page.get_by_role("group", name=nominee["n1"]["name"])
    row_b.get_by_role("button", name="反对", exact=True).click()
    with server.app.app_context():
        lifecycle.close_vote(MEETING, "v2", actor="test")
    b.wait_screen("closed")
    assert b.page.locator("h1").inner_text() == "表决已结束"
    with server.app.app_context():
        demo.demo_tally(MEETING, "v2")
    b.wait_screen("results")  # the result replaces 表决已结束
    got = counts(server.get(f"/api/meetings/{MEETING}/votes/v2/result"))
    assert got[("n1", "yes")] == 1 and got[("n2", "no")] == 1
    assert sum(got[("n3", o)] for o in ("yes", "no", "abstain")) == 0
    assert not ballots_of(server, b.credential, "v2")
    for tablet in (a, b):
        tablet.button("返回").click()
        tablet.wait_screen("waiting")


# ============================================================================ 民生实事项目票决


def test_selection_of_13_projects(server, tablets):
    a = tablets["A"]
    open_vote(server, "v3", [a])
    projects = demo_data.projects(13)
    # a card's accessible name is its whole visible text: label, budget, description (WCAG 2.5.3)
    card = lambda p: a.page.get_by_role("button", name=f"{p['label']} 预算")
    assert "预算 1.2 亿元" in a.page.locator(".card").first.inner_text()
    assert "预算 6000 万元" in a.page.locator(".card").nth(1).inner_text()
    for project in projects[:10]:
        card(project).click()
    assert a.page.locator(".footer-count").inner_text() == "已选 10 / 10"
    assert "已选满 10 项" in a.page.locator(".counter").inner_text()
    for project in projects[10:]:
        assert card(project).is_disabled()
    card(projects[0]).click()  # undo one: the others are free again
    assert card(projects[12]).is_enabled()
    card(projects[12]).click()
    assert card(projects[0]).is_disabled()
    chosen = {p["id"] for p in projects[1:10]} | {projects[12]["id"]}
    a.assert_fits()
    a.assert_touch_targets()
    a.shot("06-selection.png")
    a.page.set_viewport_size(PORTRAIT)
    a.assert_fits()
    a.shot("06-selection-portrait.png")
    a.page.set_viewport_size(LANDSCAPE)
    a.button("下一步").click()
    a.wait_screen("review")
    assert "已选 10 项" in a.page.locator(".choice-summary").inner_text()
    assert_receipt_matches_log(server, a, "v3", cast_from_review(a))
    assert_no_trace_of_choice(server, a, "v3", {"projects": sorted(chosen)})
    encrypt_ms = a.page.evaluate("window.__piaojue.encryptMs.filter(e => e.vid === 'v3').map(e => e.ms)")
    server.timings["encrypt_13_projects_ms"] = encrypt_ms
    print(f"\nv3 (13 projects, choose ≤ 10): encryption in chromium took {encrypt_ms} ms")
    got = counts(close_and_tally(server, "v3"))
    assert {o for (c, o), n in got.items() if n == 1} == chosen
    assert sum(got.values()) == 10
    a.wait_screen("results")
    assert "入选项目：" in a.page.locator(".result-summary").inner_text()
    assert "缺额 10 项" in a.page.locator(".result-summary").inner_text()  # projects, not people (名)
    a.button("返回").click()


# ============================================================================ 选举


def test_election(server, tablets):
    a = tablets["A"]
    open_vote(server, "v4", [a], duration=600)  # the vote timer is off under TESTING: closed below
    countdown = a.page.locator("#countdown")
    assert re.fullmatch(r"距表决结束 (09:5\d|10:00)", countdown.inner_text()), countdown.inner_text()
    candidate = lambda c: a.page.get_by_role("button", name=f"{c['label']} {c['description']}", exact=True)
    candidate(demo_data.CANDIDATES[0]).click()
    candidate(demo_data.CANDIDATES[2]).click()
    assert candidate(demo_data.CANDIDATES[1]).is_disabled()
    assert a.page.locator(".footer-count").inner_text() == "已选 2 / 2"
    a.assert_fits()
    a.shot("07-election.png")
    a.button("下一步").click()
    a.wait_screen("review")
    # The presidium holds the vote: the tablet says so and cannot cast until it resumes.
    with server.app.app_context():
        lifecycle.hold_vote(MEETING, "v4", actor="test")
    a.page.wait_for_selector("#held-notice")
    assert a.page.locator("#btn-cast").is_disabled() and a.page.locator("#btn-challenge").is_disabled()
    assert countdown.inner_text() == "表决暂停"
    a.shot("07b-election-held.png")
    with server.app.app_context():
        lifecycle.resume_vote(MEETING, "v4", actor="test")
    a.page.wait_for_selector("#held-notice", state="detached")
    assert a.page.locator("#btn-cast").is_enabled()
    a.page.wait_for_function("() => /^距表决结束 \\d\\d:\\d\\d$/.test(document.getElementById('countdown').textContent)")

    # The first post gets no answer at all (a hall network that drops packets): after
    # KIOSK_POST_TIMEOUT (3 s here) the tablet gives it up, says so, and posts the same ballot again.
    def leave_unanswered(_route):
        pass  # neither fulfilled nor aborted: the request hangs until the page gives it up

    with first_ballot_post(a, "v4", leave_unanswered) as unanswered:
        a.button("投票").click()
        retry = a.page.locator("#submit-retry")
        wait_until(lambda: "计票系统 3 秒内没有答复" in retry.inner_text(), timeout=15)
        assert time.monotonic() - unanswered[0]["at"] >= 2.5  # not before the timeout
        assert a.screen() == "submitting" and not ballots_of(server, a.credential, "v4")
        a.wait_screen("receipt", timeout=30_000)
    assert "回执已在本平板核验" in a.page.locator("#receipt-check").inner_text()
    logged = assert_receipt_matches_log(server, a, "v4", a.page.locator("#tracker").inner_text().strip())
    assert ballot_hash(logged).hex() == unanswered[0]["hash"]  # the same ballot, not re-encrypted
    assert len(ballots_of(server, a.credential, "v4")) == 1
    assert_no_trace_of_choice(server, a, "v4", {"candidates": ["c1", "c3"]})
    got = counts(close_and_tally(server, "v4"))
    assert got == {("candidates", "c1"): 1, ("candidates", "c2"): 0, ("candidates", "c3"): 1}
    a.wait_screen("results")
    a.button("返回").click()


# ============================================================================ 满意度测评, with a recast


def test_evaluation_with_recast(server, tablets):
    a, b = tablets["A"], tablets["B"]
    open_vote(server, "v5", [a, b, tablets["C"]])
    departments = demo_data.DEPARTMENTS
    row = lambda d: a.page.get_by_role("group", name=d["name"])
    assert a.button("下一步").is_disabled()
    assert "还有 4 项未选择" in a.page.locator(".footer-reason").inner_text()
    for d in departments:
        row(d).get_by_role("button", name="满意", exact=True).click()
    assert a.button("下一步").is_enabled()
    a.assert_fits()
    a.assert_touch_targets()
    a.shot("08-evaluation.png")
    a.page.set_viewport_size(PORTRAIT)
    a.assert_fits()
    a.shot("08-evaluation-portrait.png")
    a.page.set_viewport_size(LANDSCAPE)
    a.button("下一步").click()
    a.wait_screen("review")
    first = cast_from_review(a)
    a.button("重新投票").click()
    a.wait_screen("ballot")
    assert a.page.locator("button[aria-pressed='true']").count() == 0  # a fresh ballot
    row(departments[0]).get_by_role("button", name="不满意", exact=True).click()
    for d in departments[1:]:
        row(d).get_by_role("button", name="基本满意", exact=True).click()
    a.button("下一步").click()
    a.wait_screen("review")
    second = cast_from_review(a)
    assert second != first
    logged = ballots_of(server, a.credential, "v5")
    assert [display_tracker(ballot_hash(e)) for e in logged] == [first, second]
    assert_receipt_matches_log(server, a, "v5", second)
    assert_no_trace_of_choice(server, a, "v5", {d["id"]: ["basically_satisfied"] for d in departments[1:]}
                              | {departments[0]["id"]: ["unsatisfied"]})
    assert not a.errors


def test_the_tablet_forgets_the_choice(server, tablets):
    """Ballot secrecy at the seat (issue #13): once the receipt shows, nothing on the tablet tells
    what was chosen, not the screen-reader status region (which said "已选择：满意"), not the DOM,
    not attribute values, not storage, and not after a language switch or another screen."""
    c = tablets["C"]
    c.wait_screen("ballot")
    assert c.page.evaluate("document.body.dataset.vote") == "v5"
    departments = demo_data.DEPARTMENTS
    for d in departments:
        c.page.get_by_role("group", name=d["name"]).get_by_role("button", name="满意", exact=True).click()
    # The status region speaks the choice while the deputy makes it (that is its job) …
    wait_until(lambda: c.page.locator("#live-status").inner_text() == "已选择：满意")
    c.button("下一步").click()
    c.wait_screen("review")
    chosen = {d["id"]: ["satisfied"] for d in departments}
    tracker = cast_from_review(c)
    assert_receipt_matches_log(server, c, "v5", tracker)
    # … and is silent once the ballot is cast; so is everything else.
    assert_no_trace_of_choice(server, c, "v5", chosen)
    c.page.get_by_role("button", name="Switch to English").click()  # the screen is drawn anew from memory
    assert c.page.locator("h1").inner_text() == "Ballot cast"
    assert_no_trace_of_choice(server, c, "v5", chosen)
    c.button("Done").click()
    c.wait_screen("waiting")
    assert_no_trace_of_choice(server, c, "v5", chosen)
    c.page.get_by_role("button", name="切换到中文").click()
    assert_no_trace_of_choice(server, c, "v5", chosen)
    assert not c.errors


def test_evaluation_closes(server, tablets):
    a, b, c = tablets["A"], tablets["B"], tablets["C"]
    departments = demo_data.DEPARTMENTS
    # B never finishes: when the vote closes B sees 表决已结束; A's receipt loses 重新投票.
    b.page.get_by_role("group", name=departments[0]["name"]).get_by_role("button", name="满意", exact=True).click()
    with server.app.app_context():
        lifecycle.close_vote(MEETING, "v5", actor="test")
    b.wait_screen("closed")
    assert b.focused_heading() and b.page.locator("h1").inner_text() == "表决已结束"
    b.shot("15-closed.png")
    wait_until(lambda: a.page.get_by_role("button", name="重新投票").count() == 0)
    with server.app.app_context():
        demo.demo_tally(MEETING, "v5")
    got = counts(server.get(f"/api/meetings/{MEETING}/votes/v5/result"))
    assert got[("d1", "unsatisfied")] == 1 and got[("d1", "satisfied")] == 1  # A's recast, C's 满意
    for d in departments[1:]:
        assert got[(d["id"], "basically_satisfied")] == 1 and got[(d["id"], "satisfied")] == 1
    a.wait_screen("results")
    assert "测评结果" in a.page.locator(".result-summary").inner_text()
    c.wait_screen("results")  # every label shows in the counts; still no trace of C's own ballot
    assert_no_trace_of_choice(server, c, "v5", {d["id"]: ["satisfied"] for d in departments}, labels_shown=True)
    assert not a.errors and not b.errors and not c.errors


# ============================================================================ the phone receipt page


def test_receipt_page_on_a_phone(server, browser, tablets):
    a = tablets["A"]
    entries = server.entries()
    index, entry = next((i, e) for i, e in enumerate(entries)
                        if e["type"] == "ballot" and e["vote_id"] == "v1" and e["credential"] == a.credential)
    digest = ballot_hash(entry).hex()
    phone = Tablet(browser, server, a.person, viewport=PHONE)
    try:
        phone.page.goto(f"/r/{MEETING}/{digest}")
        phone.page.wait_for_function("document.body.dataset.phase === 'ok'", timeout=30_000)
        verdict = phone.page.locator("#verdict").inner_text()
        match = re.fullmatch(r"✓ 您的选票已记录在公开日志中（第 (\d+) 条，共 (\d+) 条），日志签名有效", verdict)
        assert match, verdict
        assert int(match.group(1)) == index + 1 and int(match.group(2)) == len(entries)
        assert phone.page.locator("#tracker").inner_text() == display_tracker(bytes.fromhex(digest))
        phone.assert_fits()
        phone.assert_touch_targets()
        phone.shot("13-receipt-page.png", full_page=True)

        # The short link shown on the tablet, typed on a phone: redirected to the full page.
        phone.page.goto(f"{public_url(server)}/r/{MEETING}/{digest[:16]}")
        phone.page.wait_for_function("document.body.dataset.phase === 'ok'", timeout=30_000)
        assert phone.page.url == f"{public_url(server)}/r/{MEETING}/{digest}"
        assert server.status(f"/r/{MEETING}/{'ab' * 8}") == 404  # no such ballot
        assert server.status(f"/r/{MEETING}/{digest[:15]}") == 404  # too short to be a short link

        phone.page.goto(f"/r/{MEETING}/{'ab' * 32}")
        phone.page.wait_for_function("document.body.dataset.phase === 'not_found'")
        assert phone.page.locator("#verdict").inner_text().startswith("✗ 公开日志中没有这张选票")
        assert server.status(f"/r/{MEETING}/not-a-hash") == 404
        assert not phone.errors
    finally:
        phone.close()
