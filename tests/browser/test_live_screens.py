"""The presidium console and the hall's big screen in a real browser (issue #5): both update live
over /live without reloading. Deputies check in and post ballots through the public API; the
presidium opens and closes the vote from the console; the demo trustees tally; the big screen
shows the result. Screenshots (1920×1080): docs/screens/staff/console.png,
docs/screens/bigscreen-turnout.png and docs/screens/bigscreen-result.png (with
PIAOJUE_UPDATE_SCREENS=1)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from ballot.encrypt import encrypt_ballot
from browser.axe import assert_no_axe_violations
from browser.conftest import MEETING, SCREENS
from keys.credentials import derive_private_key
from tally import demo
from tally.store import cache
from tally.web import logins as web_auth

HD = {"width": 1920, "height": 1080}
PASSWORD = "correct horse battery staple"


class Screen:
    def __init__(self, browser, server, path: str):
        self.context = browser.new_context(viewport=HD, locale="zh-CN", base_url=server.url)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.errors.append(msg.text)
                     if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        self.failed: list[str] = []  # responses ≥ 400, by URL path
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url.removeprefix(server.url)}")
                     if r.status >= 400 else None)
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.path = path

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text()

    def wait_text(self, selector: str, expected: str, timeout: float = 15_000) -> None:
        self.page.wait_for_function(
            "([sel, want]) => { const el = document.querySelector(sel); return el && el.textContent.includes(want); }",
            arg=[selector, expected], timeout=timeout)

    def shot(self, name: str) -> None:
        path = SCREENS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path))


def post_json(server, path: str, body: dict) -> int:
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def cast(server, person, vote_id: str, choices: dict) -> None:
    with server.app.app_context():
        parsed = cache.sealed_meeting(MEETING)
        definition = cache.vote_definition(MEETING, vote_id)
    key = derive_private_key(person.code, MEETING)
    ballot = encrypt_ballot(definition, parsed.hash, parsed.public_key, key, choices)
    assert post_json(server, f"/api/meetings/{MEETING}/votes/{vote_id}/ballots", ballot.entry) == 201


@pytest.fixture(scope="module")
def screens(server, browser):
    server.app.config["STAFF_ARGON2"] = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
    with server.app.app_context():
        web_auth.create_user("zhuxituan", "presidium", PASSWORD, actor="test", display_name="主席团")
    console = Screen(browser, server, f"/staff/meetings/{MEETING}/console")
    console.page.goto("/staff/login")
    console.page.fill("input[name=username]", "zhuxituan")
    console.page.fill("input[name=password]", PASSWORD)
    console.page.locator("form:has(input[name=password]) button[type=submit]").click()
    console.page.wait_for_url("**/staff/**")
    console.page.goto(console.path)
    big = Screen(browser, server, f"/screen/{MEETING}")
    big.page.goto(big.path)
    try:
        yield console, big
    finally:
        console.context.close()
        big.context.close()


def test_console_and_big_screen_live(server, screens):
    console, big = screens
    console.page.wait_for_selector("#conn.conn-connected")
    big.page.wait_for_selector("#conn.connected")
    big.wait_text("#meeting-title", "人民代表大会")  # the demo meeting's title, from the public API
    assert big.text("#members") == "6" and big.text("#present") == "0"
    assert console.text("#present") == "0" and console.page.locator("#quorum.bad").count() == 1
    assert console.text("h1 .badge") == "未开始"  # sealed, no vote opened yet: not "已封存" (#13)
    console.page.wait_for_function("document.querySelectorAll('#seatmap .seat').length === 6")

    # 实到 changes on both without a reload
    for person in server.people[:5]:
        server.check_in_by_api(person)
    console.wait_text("#present", "5")
    big.wait_text("#present", "5")
    assert console.page.locator("#quorum.ok").count() == 1 and big.text("#quorum") == "已达到"
    console.page.wait_for_function("document.querySelectorAll('#seatmap .seat.present').length === 5")

    # open v1 from the console with a 5-minute timer: the big screen switches to it
    console.page.fill("#timer-minutes", "5")
    console.page.locator("button.open-vote[data-vote=v1]").click()
    with server.app.app_context():
        title = cache.vote_definition(MEETING, "v1").entry["title"]
    big.wait_text("#vote-title", title)
    big.wait_text("#vote-state", "正在表决")
    big.page.wait_for_function("() => /^[45]:\\d\\d$/.test(document.getElementById('countdown').textContent)")
    console.wait_text("#countdown", "4:5")
    assert console.page.locator("tr[data-vote=v1]").get_attribute("data-state") == "open"
    assert console.text("h1 .badge") == "表决中"  # the meeting's badge follows (it said 未开始 at load)

    # ballots through the API: turnout moves on both, the seat map marks who voted (never how)
    for person, choice in zip(server.people[:4], ["yes", "yes", "yes", "no"]):
        cast(server, person, "v1", {"motion": [choice]})
    big.wait_text("#cast", "4")
    assert big.text("#not-cast") == "1" and big.text("#opened-present") == "5"
    console.wait_text("#cast", "4")
    console.page.wait_for_function("document.querySelectorAll('#seatmap .seat.voted').length === 4")
    width = big.page.evaluate("document.getElementById('fill').style.width")
    assert width == "80%"
    console.page.wait_for_timeout(600)  # the bars' width transitions, for the screenshots
    console.shot("staff/console.png")
    big.shot("bigscreen-turnout.png")
    assert_no_axe_violations(console.page, "console, v1 open with turnout")
    assert_no_axe_violations(big.page, "big screen, v1 turnout")

    cast(server, server.people[4], "v1", {"motion": ["yes"]})
    big.wait_text("#not-cast", "0")

    # close from the console; the decryption panel lists the trustees, none posted yet
    console.page.locator("button.close-vote[data-vote=v1]").click()
    big.wait_text("#vote-state", "计票")
    console.page.wait_for_selector("#decryption:not([hidden])")
    console.page.wait_for_function("document.querySelectorAll('#trustees li.waiting').length === 5")
    console.page.locator("#publish").click()
    console.page.wait_for_function("document.getElementById('publish-error').textContent.length > 0")
    assert console.text("#publish-error") == "尚待监票人提交：1. 赵监票, 2. 钱监票, 3. 孙监票, 4. 李监票, 5. 周监票", console.text("#publish-error")

    # the demo trustees tally: the result is published and the big screen shows it, NPC-style
    with server.app.app_context():
        demo.demo_tally(MEETING, "v1")
    big.page.wait_for_selector("body[data-view=result] table.totals")
    row = big.page.locator("table.totals tbody tr").first.inner_text()
    assert "通过" in row and "未通过" not in row
    cells = big.page.locator("table.totals tbody tr").first.locator("td").all_inner_texts()
    assert cells[1:5] == ["4", "1", "0", "0"]  # 赞成 反对 弃权 未按: 4 of 6 members is more than half
    console.page.wait_for_function("document.querySelector('tr[data-vote=v1]').dataset.state === 'published'")
    assert console.text("h1 .badge") == "会议进行中"
    big.shot("bigscreen-result.png")
    assert_no_axe_violations(big.page, "big screen, v1 result")
    assert_no_axe_violations(console.page, "console, v1 published")
    assert not console.errors and not big.errors, (console.errors, big.errors)
    assert console.failed == [f"409 /staff/meetings/{MEETING}/console/votes/v1/publish"], console.failed
    assert not big.failed, big.failed


def test_big_screen_ranked_list(server, screens):
    """v3, the livelihood projects (民生实事项目票决): the big screen ranks them with 入选 / 未入选."""
    import random

    from piaojue_tools.simulate import plausible_choices

    console, big = screens
    console.page.fill("#timer-minutes", "")
    console.page.locator("button.open-vote[data-vote=v3]").click()
    big.wait_text("#vote-state", "正在表决")
    with server.app.app_context():
        definition = cache.vote_definition(MEETING, "v3")
    assert big.text("#vote-title") == definition.entry["title"]
    assert big.page.locator("#countdown").is_hidden()  # no timer
    rng = random.Random(5)
    for person in server.people[:5]:
        cast(server, person, "v3", plausible_choices(definition, rng))
    big.wait_text("#cast", "5")
    console.page.wait_for_function("document.querySelectorAll('#seatmap .seat.voted').length === 5")
    console.page.locator("button.close-vote[data-vote=v3]").click()
    big.wait_text("#vote-state", "计票")
    with server.app.app_context():
        demo.demo_tally(MEETING, "v3")
    big.page.wait_for_selector("body[data-view=result] table.ranking")
    result = server.get(f"/api/meetings/{MEETING}/votes/v3/result")
    rows = big.page.locator("table.ranking tbody tr").all_inner_texts()
    assert len(rows) == len(result["outcome"]["ranking"])
    labels = {"elected": "入选", "not_elected": "未入选", "tied": "并列", "below_threshold": "未过半数"}
    for text, row in zip(rows, result["outcome"]["ranking"]):
        assert text.endswith(labels[row["status"]]) and f"{row['count']} 票" in text
    assert any(r["status"] == "elected" for r in result["outcome"]["ranking"])
    big.shot("bigscreen-ranking.png")
    assert_no_axe_violations(big.page, "big screen, v3 ranking")
    assert not console.errors and not big.errors, (console.errors, big.errors)


def test_hold_resume_checkin_control_and_english_screen(server, screens, browser):
    """The presidium closes and reopens check-in and holds and resumes a vote from the console; the
    Chinese and the English big screens follow live; ballots are refused while the vote is held."""
    import urllib.error

    console, big = screens
    english = Screen(browser, server, f"/screen/{MEETING}?lang=en")
    english.page.goto(english.path)
    try:
        english.page.wait_for_selector("#conn.connected")
        assert english.page.locator("html").get_attribute("lang") == "en"
        assert english.text("dl.presence dt >> nth=0") == "Members" and english.text("#quorum") == "Met"

        # check-in control: close it, a newcomer is refused, reopen, the newcomer gets in
        console.wait_text("#checkin-statement", "应到 6 人，实到 5 人，已达到法定人数")
        console.page.locator("#checkin-close").click()
        console.wait_text("#checkin-state", "已截止")
        assert console.page.locator("#checkin-open").is_visible()
        newcomer = server.people[5]
        with pytest.raises(urllib.error.HTTPError) as refused:
            server.check_in_by_api(newcomer)
        assert refused.value.code == 409 and json.loads(refused.value.read())["error"] == "checkin_closed"
        console.page.locator("#checkin-open").click()
        console.wait_text("#checkin-state", "进行中")
        server.check_in_by_api(newcomer)
        console.wait_text("#present", "6")
        english.wait_text("#present", "6")

        # open v2 (人事任免) with a timer, then hold it: both screens say so and the timer stops
        console.page.fill("#timer-minutes", "3")
        console.page.locator("button.open-vote[data-vote=v2]").click()
        english.wait_text("#vote-state", "Voting in progress")
        cast(server, server.people[0], "v2", {"n1": ["yes"], "n2": ["yes"], "n3": ["no"]})
        console.page.locator("button.hold-vote[data-vote=v2]").click()
        big.wait_text("#vote-state", "表决暂停")
        english.wait_text("#vote-state", "Voting on hold")
        console.page.wait_for_selector("#held-banner:not([hidden])")
        assert console.page.locator("button.resume-vote[data-vote=v2]").is_visible()
        frozen = big.text("#countdown")
        assert frozen.startswith(("2:5", "3:0")), frozen
        big.page.wait_for_timeout(1500)
        assert big.text("#countdown") == frozen  # the timer is stopped while held
        console.shot("staff/console-held.png")
        big.shot("bigscreen-held.png")
        assert_no_axe_violations(console.page, "console, v2 on hold")
        assert_no_axe_violations(big.page, "big screen, v2 on hold")
        with server.app.app_context():
            parsed = cache.sealed_meeting(MEETING)
            definition = cache.vote_definition(MEETING, "v2")
        held_ballot = encrypt_ballot(definition, parsed.hash, parsed.public_key,
                                     derive_private_key(server.people[1].code, MEETING), {"n1": ["yes"], "n2": [], "n3": []})
        with pytest.raises(urllib.error.HTTPError) as refused:
            post_json(server, f"/api/meetings/{MEETING}/votes/v2/ballots", held_ballot.entry)
        assert refused.value.code == 409 and json.loads(refused.value.read())["error"] == "vote_not_open"

        # resume: the same ballot is accepted, and the countdown runs again
        console.page.locator("button.resume-vote[data-vote=v2]").click()
        big.wait_text("#vote-state", "正在表决")
        console.page.wait_for_selector("#held-banner[hidden]", state="attached")
        assert post_json(server, f"/api/meetings/{MEETING}/votes/v2/ballots", held_ballot.entry) == 201
        for person in server.people[2:6]:
            cast(server, person, "v2", {"n1": ["yes"], "n2": ["abstain"], "n3": ["yes"]})
        english.wait_text("#cast", "6")
        console.page.locator("button.close-vote[data-vote=v2]").click()
        english.wait_text("#vote-state", "Voting closed")
        with server.app.app_context():
            demo.demo_tally(MEETING, "v2")
        english.page.wait_for_selector("body[data-view=result] table.totals")
        header = english.page.locator("table.totals thead th").all_inner_texts()
        assert header == ["Nominee", "For", "Against", "Abstain", "Not voted*", "Result"], header
        verdicts = english.page.locator("table.totals tbody .verdict").all_inner_texts()
        assert verdicts == ["Passed", "Not passed", "Passed"], verdicts  # n2: 1 yes of 6; n1, n3 ≥ 4 of 6
        # 未按 per nominee: seat 2 cast a ballot leaving n2 and n3 blank, so 6 present and 6 ballots
        # leave 0 blank for n1 and 1 each for n2 and n3 (the vote's own not_voted is 0 for all).
        blanks = english.page.locator("table.totals tbody td.blank").all_inner_texts()
        assert blanks == ["0", "1", "1"], blanks
        assert "left it blank" in english.text("#blank-note")
        big.page.wait_for_selector("body[data-view=result] #blank-note")
        assert big.page.locator("table.totals tbody td.blank").all_inner_texts() == ["0", "1", "1"]
        assert "未作选择" in big.text("#blank-note")
        english.shot("bigscreen-result-en.png")
        assert_no_axe_violations(english.page, "English big screen, v2 result with the 未按 note")
        assert_no_axe_violations(big.page, "big screen, v2 result with the 未按 note")
        assert not console.errors and not big.errors and not english.errors, (console.errors, big.errors, english.errors)
    finally:
        english.context.close()
