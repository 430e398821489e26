"""The tablet to the VVSG 2.0 bar (issue #13), in a real browser on a session of its own.

Every kiosk screen and the receipt page is checked by :func:`audit`: axe-core with 0 violations
(WCAG AAA 7:1 contrast included) in the standard display, again in high contrast where every text
must reach 10:1, and a layout check (nothing wider than the screen, no control clipped or covered
by the top bar or the ballot's footer) at 1280×800, 800×1280 and 640×400 (1280×800 zoomed to
200 %), each at the default and the largest text size. Voting is done with the keyboard only on one
tablet (Tab and Enter) and switch-style on another (Tab and Space only), for all five kinds of vote,
and the counts prove the ballots said what was pressed.
"""

from __future__ import annotations

import json

import pytest

from browser.axe import assert_no_axe_violations
from browser.conftest import LANDSCAPE, MEETING, PHONE, PORTRAIT, Tablet, wait_until
from piaojue_tools import demo_data
from tally import demo
from tally.services import lifecycle

ZOOMED = {"width": 640, "height": 400}  # 1280×800 at 200 % browser zoom
AAA = {"color-contrast-enhanced": {"enabled": True}}

_LAYOUT = """() => {
  const problems = [];
  const name = (el) => el ? `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : ''}` : 'nothing';
  const doc = document.documentElement;
  const width = doc.clientWidth;
  if (doc.scrollWidth > width) problems.push(`the page is ${doc.scrollWidth - width}px wider than the screen`);
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.getClientRects().length || el.closest('.sr-only, .topbar-meeting')) continue;  // the title ellipsis: clipped on purpose
    const r = el.getBoundingClientRect();
    if (r.width && (r.left < -1 || r.right > width + 1)) problems.push(`${name(el)} sticks out (${Math.round(r.left)}..${Math.round(r.right)} of ${width})`);
    const style = getComputedStyle(el);
    if (['hidden', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1 && !el.matches('.topbar-meeting')) {
      problems.push(`${name(el)} cuts off its content`);
    }
  }
  const controls = document.querySelectorAll('button, input, a[href], summary, select, textarea');
  for (const control of controls) {
    if (!control.getClientRects().length) continue;
    control.scrollIntoView({ block: 'center', inline: 'center' });
    const r = control.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 20));
    if (!top || !(top === control || control.contains(top))) problems.push(`${name(control)} is covered by ${name(top)}`);
  }
  window.scrollTo(0, 0);
  return problems;
}"""

_CONTRAST = """(least) => {
  const parse = (c) => {
    const v = c.match(/[\\d.]+/g).map(Number);
    return { r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode;
    const el = text.parentElement;
    if (!text.nodeValue.trim() || !el || !el.getClientRects().length || el.closest('.sr-only, [hidden], noscript')) continue;
    const fg = parse(getComputedStyle(el).color);
    if (fg.a === 0) continue;
    const l1 = lum(fg), l2 = lum(background(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < least) low.push(`${el.tagName.toLowerCase()}.${el.className} "${text.nodeValue.trim().slice(0, 16)}" ${ratio.toFixed(2)}:1`);
  }
  return low;
}"""


def set_display(tablet: Tablet, size: int = 1, contrast: str = "standard") -> None:
    """What settings.js's applySettings() does for a setting (the panel itself is tested below)."""
    tablet.page.evaluate("([size, contrast]) => { document.documentElement.dataset.textSize = String(size);"
                         " document.documentElement.dataset.contrast = contrast; }", [size, contrast])


def audit(tablet: Tablet, context: str, *, shots: str | None = None) -> None:
    """axe (AAA contrast), high contrast at 10:1, and the layout at three viewports × two sizes."""
    page = tablet.page
    assert_no_axe_violations(page, f"{context} (standard)", rules=AAA)
    set_display(tablet, contrast="high")
    assert_no_axe_violations(page, f"{context} (high contrast)")
    low = page.evaluate(_CONTRAST, 10)
    assert not low, f"{context}, high contrast: text under 10:1: {low}"
    if shots:
        tablet.shot(f"{shots}-high-contrast.png")
    set_display(tablet)
    try:
        for viewport in (LANDSCAPE, PORTRAIT, ZOOMED):
            page.set_viewport_size(viewport)
            for size in (1, 4):
                set_display(tablet, size)
                problems = page.evaluate(_LAYOUT)
                assert not problems, f"{context} at {viewport['width']}×{viewport['height']}, text size {size}: {problems}"
                if shots and size == 4 and viewport is PORTRAIT:
                    tablet.shot(f"{shots}-largest-text-portrait.png")
            if viewport is LANDSCAPE:
                set_display(tablet, 4)
                assert_no_axe_violations(page, f"{context} (largest text)", rules=AAA)
    finally:
        set_display(tablet)
        page.set_viewport_size(LANDSCAPE)


def press(tablet: Tablet, selector: str, key: str, *, limit: int = 120) -> None:
    """Move focus with Tab alone until ``selector`` has it, then press ``key`` (Space or Enter)."""
    for _ in range(limit):
        if tablet.page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            tablet.page.keyboard.press(key)
            return
        tablet.page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def vote_with_keys(tablet: Tablet, vote_id: str, picks: list[tuple[str, str]], key: str) -> None:
    """Choose ``picks`` ([(contest, option)]), go on, and cast, with Tab and ``key`` only."""
    tablet.wait_screen("ballot")
    assert tablet.page.evaluate("document.body.dataset.vote") == vote_id
    for contest, option in picks:
        press(tablet, f"#opt-{contest}-{option}", key)
        wait_until(lambda: tablet.page.get_attribute(f"#opt-{contest}-{option}", "aria-pressed") == "true")  # noqa: B023 - called within this iteration
    press(tablet, "#btn-next", key)
    tablet.wait_screen("review")
    press(tablet, "#btn-cast", key)
    tablet.wait_screen("receipt", timeout=30_000)


def open_vote(server, vote_id: str, tablets: list[Tablet]) -> None:
    with server.app.app_context():
        lifecycle.open_vote(MEETING, vote_id, actor="test")
    for tablet in tablets:
        tablet.page.wait_for_function("vid => window.__piaojue.painted[vid]", arg=vote_id)


def close_and_tally(server, vote_id: str) -> dict[tuple[str, str], int]:
    with server.app.app_context():
        lifecycle.close_vote(MEETING, vote_id, actor="test")
        demo.demo_tally(MEETING, vote_id)
    result = server.get(f"/api/meetings/{MEETING}/votes/{vote_id}/result")
    return {(t["contest"], t["option"]): t["count"] for t in result["tallies"]}


@pytest.fixture(scope="module")
def seats(server, browser):
    """S votes switch-style (Tab/Space), K with the keyboard (Tab/Enter), V looks on."""
    made: dict[str, Tablet] = {}
    try:
        for key, person in zip("SKV", server.people[:3]):
            made[key] = Tablet(browser, server, person)
        yield made
    finally:
        for tablet in made.values():
            tablet.close()


def test_pairing_and_check_in_screens(server, seats):
    s = seats["S"]
    s.page.goto("/kiosk/")
    s.wait_screen("pair")
    audit(s, "pair")
    s.page.get_by_label("配对码（8 位数字）").fill(server.pairing_code(s.person.seat))
    press(s, "#btn-pair", "Space")
    s.wait_screen("checkin")
    s.page.get_by_label("凭证代码").fill("ABCDE-0BCDE-ABCDE-ABCDE")
    press(s, "#btn-checkin", "Space")
    wait_until(lambda: s.page.locator("#checkin-error").inner_text())
    audit(s, "check-in with an error")
    s.check_in()
    audit(s, "waiting")
    for key in "KV":
        seats[key].pair_by_url()
        seats[key].check_in()
    assert s.page.evaluate("fetch('/favicon.ico').then(r => [r.status, r.headers.get('content-type')])") == [
        200, "image/vnd.microsoft.icon"]
    assert not s.errors


RESOLUTION_S, RESOLUTION_K = [("motion", "yes")], [("motion", "no")]


def test_resolution_by_switch_and_keyboard(server, seats):
    s, k, v = seats["S"], seats["K"], seats["V"]
    open_vote(server, "v1", [s, k, v])
    audit(s, "ballot: resolution", shots="04-resolution")
    press(s, "#opt-motion-yes", "Space")
    press(s, "#btn-next", "Space")
    s.wait_screen("review")
    audit(s, "review")
    press(s, "#btn-challenge", "Space")
    s.wait_screen("challenge", timeout=30_000)
    s.page.locator("#spoiled-status").wait_for()
    assert s.focused_heading()
    audit(s, "challenge")
    press(s, "#btn-back-review", "Space")
    s.wait_screen("review")
    press(s, "#btn-cast", "Space")
    s.wait_screen("receipt", timeout=30_000)
    audit(s, "receipt", shots="12-receipt")
    vote_with_keys(k, "v1", RESOLUTION_K, "Enter")

    # V's ballot is refused: the rejected screen.
    pattern = f"**/api/meetings/{MEETING}/votes/v1/ballots"
    v.page.route(pattern, lambda route: route.fulfill(status=403, content_type="application/json",
                                                       body=json.dumps({"error": "not_checked_in", "message": "late"})))
    try:
        v.button("弃权").click()
        v.button("下一步").click()
        v.wait_screen("review")
        v.button("投票").click()
        v.wait_screen("rejected", timeout=30_000)
        audit(v, "rejected")
    finally:
        v.page.unroute(pattern)
    v.button("返回").click()
    v.wait_screen("waiting")

    got = close_and_tally(server, "v1")
    assert got == {("motion", "yes"): 1, ("motion", "no"): 1, ("motion", "abstain"): 0}
    s.wait_screen("results")
    audit(s, "results")
    for tablet in (s, k, v):
        tablet.wait_screen("results")
        tablet.button("返回").click()
        tablet.wait_screen("waiting")


def test_appointment_by_switch_and_keyboard(server, seats):
    s, k, v = seats["S"], seats["K"], seats["V"]
    open_vote(server, "v2", [s, k, v])
    audit(s, "ballot: appointment")
    vote_with_keys(s, "v2", [("n1", "yes"), ("n3", "no")], "Space")
    vote_with_keys(k, "v2", [("n2", "abstain")], "Enter")
    # V is still on the ballot when the vote closes: 表决已结束.
    with server.app.app_context():
        lifecycle.close_vote(MEETING, "v2", actor="test")
    v.wait_screen("closed")
    audit(v, "closed")
    with server.app.app_context():
        demo.demo_tally(MEETING, "v2")
    got = {(t["contest"], t["option"]): t["count"]
           for t in server.get(f"/api/meetings/{MEETING}/votes/v2/result")["tallies"]}
    assert {key for key, n in got.items() if n} == {("n1", "yes"), ("n3", "no"), ("n2", "abstain")}
    for tablet in (s, k, v):
        tablet.wait_screen("results")
        tablet.button("返回").click()


def test_selection_by_switch_and_keyboard(server, seats):
    s, k, v = seats["S"], seats["K"], seats["V"]
    open_vote(server, "v3", [s, k, v])
    audit(s, "ballot: selection", shots="06-selection")
    vote_with_keys(s, "v3", [("projects", "p01"), ("projects", "p05")], "Space")
    vote_with_keys(k, "v3", [("projects", "p13")], "Enter")
    # V's post finds the network down: the submitting screen, then the receipt once it is back.
    pattern = f"**/api/meetings/{MEETING}/votes/v3/ballots"
    v.page.route(pattern, lambda route: route.abort())
    try:
        v.page.get_by_role("button", name=f"{demo_data.projects(13)[1]['label']} 预算").click()
        v.button("下一步").click()
        v.wait_screen("review")
        v.button("投票").click()
        v.wait_screen("submitting", timeout=30_000)
        wait_until(lambda: "网络中断" in v.page.locator("#submit-retry").inner_text())
        audit(v, "submitting")
    finally:
        v.page.unroute(pattern)
    v.wait_screen("receipt", timeout=40_000)
    got = close_and_tally(server, "v3")
    assert {o for (_c, o), n in got.items() if n} == {"p01", "p05", "p13", "p02"}
    for tablet in (s, k, v):
        tablet.wait_screen("results")
        tablet.button("返回").click()


def test_election_by_switch_and_keyboard(server, seats):
    s, k = seats["S"], seats["K"]
    open_vote(server, "v4", [s, k, seats["V"]])
    audit(s, "ballot: election")
    vote_with_keys(s, "v4", [("candidates", "c2")], "Space")
    vote_with_keys(k, "v4", [("candidates", "c1"), ("candidates", "c3")], "Enter")
    got = close_and_tally(server, "v4")
    assert got == {("candidates", "c1"): 1, ("candidates", "c2"): 1, ("candidates", "c3"): 1}
    for tablet in seats.values():
        tablet.wait_screen("results")
        tablet.button("返回").click()


def test_evaluation_by_switch_and_keyboard(server, seats):
    s, k = seats["S"], seats["K"]
    departments = [d["id"] for d in demo_data.DEPARTMENTS]
    open_vote(server, "v5", [s, k, seats["V"]])
    audit(s, "ballot: evaluation")
    vote_with_keys(s, "v5", [(d, "satisfied") for d in departments], "Space")
    vote_with_keys(k, "v5", [(d, "unsatisfied") for d in departments], "Enter")
    got = close_and_tally(server, "v5")
    for d in departments:
        assert (got[(d, "satisfied")], got[(d, "basically_satisfied")], got[(d, "unsatisfied")]) == (1, 0, 1)
    assert not s.errors and not k.errors


def test_english_mode_marks_chinese_data(server, seats):
    """In English, names and titles without an English version are lang="zh-CN" (a screen reader
    reads them with a Chinese voice): no Chinese text node is left under an English language."""
    s = seats["S"]
    s.wait_screen("results")
    s.page.get_by_role("button", name="Switch to English").click()
    for screen in ("results", "waiting"):
        s.wait_screen(screen)
        unmarked = s.page.evaluate("""() => {
          const out = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) {
            const node = walker.currentNode;
            if (/[\\u3400-\\u9fff]/.test(node.nodeValue) && !node.parentElement.closest('noscript') && !node.parentElement.closest('[lang]').lang.startsWith('zh')) {
              out.push(node.nodeValue.trim().slice(0, 30));
            }
          }
          return out;
        }""")
        assert not unmarked, f"Chinese text without lang=zh-CN on the English {screen} screen: {unmarked}"
        assert s.page.locator("[lang='zh-CN']").count() > 0
        if screen == "results":
            assert_no_axe_violations(s.page, "results in English")
            s.button("Back").click()
    s.page.get_by_role("button", name="切换到中文").click()


def test_settings_panel_and_reset_for_the_next_deputy(server, browser, seats):
    """The deputy sets text size, contrast and language in the panel; the same deputy checking in
    again keeps them; the next deputy checking in on that tablet starts from the defaults."""
    s = seats["S"]
    s.wait_screen("waiting")
    press(s, "#btn-settings", "Space")
    assert s.page.get_attribute("#btn-settings", "aria-expanded") == "true"
    assert_no_axe_violations(s.page, "settings panel", rules=AAA)
    press(s, "#set-size-4", "Space")
    press(s, "#set-contrast-high", "Space")
    press(s, "#set-lang-en", "Space")
    html = lambda: s.page.evaluate("[document.documentElement.dataset.textSize, document.documentElement.dataset.contrast, document.documentElement.lang]")
    assert html() == ["4", "high", "en"]
    assert s.page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") == 40  # 2× the default 20 px
    assert s.page.get_attribute("#set-size-4", "aria-pressed") == "true"
    audit(s, "settings panel open, largest text, high contrast, English")
    set_display(s, 4, "high")
    s.shot("17-settings-largest-high-contrast.png")

    s.page.evaluate("sessionStorage.clear()")  # a browser restart: the same deputy checks in again
    s.page.reload()
    s.wait_screen("checkin")
    assert html() == ["4", "high", "en"]
    s.page.get_by_label("Credential code").fill(s.person.code)
    s.page.get_by_role("button", name="Check in", exact=True).click()
    s.wait_screen("waiting")
    assert html() == ["4", "high", "en"]

    s.page.evaluate("sessionStorage.clear()")  # the next deputy at this tablet
    s.page.reload()
    s.wait_screen("checkin")
    s.page.get_by_label("Credential code").fill(server.people[5].code)
    s.page.get_by_role("button", name="Check in", exact=True).click()
    s.wait_screen("waiting")
    assert html() == ["1", "standard", "zh-CN"]
    assert s.page.locator("h1").inner_text() == "已签到"
    assert not s.errors


def test_receipt_page(server, browser, seats):
    entries = server.entries()
    digest = next(e for e in entries if e["type"] == "ballot")
    from ballot.ballot import ballot_hash

    phone = Tablet(browser, server, seats["S"].person, viewport=PHONE)
    try:
        phone.page.goto(f"/r/{MEETING}/{ballot_hash(digest).hex()}")
        phone.page.wait_for_function("document.body.dataset.phase === 'ok'", timeout=30_000)
        assert_no_axe_violations(phone.page, "receipt page", rules=AAA)
        phone.page.locator("details summary").click()
        arrow = phone.page.evaluate("getComputedStyle(document.querySelector('details summary'), '::before').content")
        assert arrow == '"▶"'
        assert_no_axe_violations(phone.page, "receipt page, details open", rules=AAA)
        time_cell = phone.page.locator("dd.nowrap")
        assert time_cell.evaluate("el => el.getClientRects().length") == 1  # one line, not broken mid-way
        assert phone.page.evaluate(_LAYOUT) == []
        phone.shot("13-receipt-page-details.png", full_page=True)
        phone.page.get_by_role("button", name="Switch to English").click()
        assert_no_axe_violations(phone.page, "receipt page in English", rules=AAA)
        assert not phone.errors
    finally:
        phone.close()

