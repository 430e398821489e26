"""Every staff page, the demo control page and the hall's big screen in a real browser (issue #13):
axe-core finds no violation at any impact, nothing overflows at 1280×800 (the big screen at its
1920×1080, the console at 1280×800 and at 1920×1080), and in English the Chinese data on the page
(names, titles, the Chinese of bilingual labels) carries lang="zh-CN".

The pages are walked in a session that has a published result of every kind (so the results
pages show bars, rankings and grades), a meeting being set up (the setup wizard's forms), an open
vote (the console and the big screen live) and a demo meeting (the demo control page).
"""

from __future__ import annotations

import random

import pytest

from browser.axe import assert_no_axe_violations
from browser.conftest import MEETING, SCREENS
from browser.test_live_screens import PASSWORD, cast
from piaojue_tools.simulate import plausible_choices
from tally import demo
from tally.services import lifecycle, meetings
from tally.store import cache
from tally.web import logins as web_auth

DESK = {"width": 1280, "height": 800}
HD = {"width": 1920, "height": 1080}
SETUP_MEETING = "m2"

OVERFLOW = """(checkVertical) => {
  // Anything wider than the viewport, or cut off inside a box that does not scroll: the page's
  // own horizontal scrolling, an element sticking out of the viewport, or content wider than an
  // element that clips it (names shortened with an ellipsis on purpose are not counted).
  const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
  const problems = [];
  if (document.documentElement.scrollWidth > vw) problems.push(`page: ${document.documentElement.scrollWidth} px wide in ${vw}`);
  const name = (el) => {
    const classes = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes} "${(el.textContent || "").trim().slice(0, 30)}"`;
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.position === "fixed" && style.clip !== "auto") continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;  // visually hidden helpers
    if (r.right > vw + 1 || r.left < -1) problems.push(`${name(el)} spans ${Math.round(r.left)}–${Math.round(r.right)} of ${vw}`);
    if (checkVertical && r.bottom > vh + 1) problems.push(`${name(el)} ends at ${Math.round(r.bottom)} of ${vh}`);
    const clips = ["hidden", "clip"].includes(style.overflowX);
    if (clips && style.textOverflow !== "ellipsis" && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} clips ${el.scrollWidth - el.clientWidth} px`);
    }
  }
  return problems.slice(0, 12);
}"""

LINES = """(el) => {
  // How many lines the element's text takes (the line boxes its text is laid out in).
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.bottom))).size;
}"""

UNMARKED_CHINESE = """() => {
  // Visible text with Chinese characters that has no lang="zh…" around it.
  const han = /[\\u3400-\\u9fff\\uf900-\\ufaff]/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!han.test(node.data) || parent.closest("script, style, textarea, option")) continue;
    if (!parent.getClientRects().length) continue;
    const lang = parent.closest("[lang]").getAttribute("lang");
    if (!lang.toLowerCase().startsWith("zh")) found.push(`${parent.tagName.toLowerCase()}: ${node.data.trim().slice(0, 40)}`);
  }
  return found.slice(0, 12);
}"""


class Visitor:
    """A browser context of one staff account (or none), in one language."""

    def __init__(self, browser, server, *, viewport=DESK):
        self.server = server
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=server.url)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", lambda dialog: dialog.accept())

    def sign_in(self, username: str) -> None:
        self.page.goto("/staff/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.locator("form:has(input[name=password]) button[type=submit]").click()
        self.page.wait_for_url("**/staff/")

    def english(self) -> None:
        self.page.goto("/staff/")
        self.page.locator("button[name=lang][value=en]").click()
        self.page.wait_for_selector("html[lang=en]")

    def check(self, path: str | None, what: str, *, ready: str | None = None, vertical: bool = False,
              english: bool = False, shot: str | None = None) -> None:
        """Open ``path`` (None: stay on the page as it is now) and check it; ``shot`` saves a
        full-page screenshot under that name (docs/screens/ with PIAOJUE_UPDATE_SCREENS=1)."""
        if path is not None:
            self.page.goto(path)
        if ready:
            self.page.wait_for_selector(ready)
        self.page.wait_for_load_state("load")
        size = self.page.viewport_size
        where = f"{what} ({path or self.page.url}, {size['width']}×{size['height']}{', English' if english else ''})"
        problems = self.page.evaluate(OVERFLOW, vertical)
        assert not problems, f"overflow on {where}: {problems}"
        assert_no_axe_violations(self.page, where)
        if english:
            self.page.wait_for_timeout(50)  # the marking runs as a module script and on mutations
            unmarked = self.page.evaluate(UNMARKED_CHINESE)
            assert not unmarked, f"Chinese text without lang=zh on {where}: {unmarked}"
        assert not self.errors, (where, self.errors)
        if shot:
            (SCREENS / shot).parent.mkdir(parents=True, exist_ok=True)
            self.page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
            self.page.screenshot(path=str(SCREENS / shot), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def session(server):
    """Accounts of every role; m1 with v1, v2, v3 and v5 published and v4 open; m2 being set up."""
    server.app.config["STAFF_ARGON2"] = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
    with server.app.app_context():
        for role, display_name in (("clerk", "会务组"), ("presidium", "主席团"), ("auditor", "审计员")):
            web_auth.create_user(f"{role}1", role, PASSWORD, actor="test", display_name=display_name)
        meetings.create_meeting(SETUP_MEETING, "某县第十九届人民代表大会第五次会议", "某县人民代表大会", 120, "two_thirds",
                             ["赵一", "钱二", "孙三"], 2, actor="test")
    for person in server.people[:5]:
        server.check_in_by_api(person)
    rng = random.Random(13)
    for vote_id in ("v1", "v2", "v3", "v5", "v4"):
        with server.app.app_context():
            lifecycle.open_vote(MEETING, vote_id, actor="test")
            definition = cache.vote_definition(MEETING, vote_id)
        for person in server.people[:5]:
            choices = plausible_choices(definition, rng)
            if vote_id == "v2" and person is server.people[0]:
                choices["n3"] = []  # one nominee left blank: 未按 per nominee differs
            cast(server, person, vote_id, choices)
        if vote_id != "v4":
            with server.app.app_context():
                lifecycle.close_vote(MEETING, vote_id, actor="test")
                demo.demo_tally(MEETING, vote_id)
    return server


STAFF_PAGES = {
    "clerk1": [
        ("/staff/", "home", "staff/02-home.png"),
        ("/staff/meetings/new", "new meeting form", "staff/03-new-meeting.png"),
        (f"/staff/meetings/{SETUP_MEETING}/setup", "setup overview (being set up)", "staff/04-overview.png"),
        (f"/staff/meetings/{SETUP_MEETING}/setup/roster", "roster upload", None),
        (f"/staff/meetings/{SETUP_MEETING}/setup/credentials", "credentials", "staff/07-credentials.png"),
        (f"/staff/meetings/{SETUP_MEETING}/setup/votes", "votes", None),
        *[(f"/staff/meetings/{SETUP_MEETING}/setup/votes/new/{kind}", f"new vote form: {kind}",
           "staff/08-vote-selection.png" if kind == "selection" else None)
          for kind in ("resolution", "appointment", "selection", "election", "evaluation")],
        (f"/staff/meetings/{SETUP_MEETING}/setup/ceremony", "key ceremony (waiting)", None),
        (f"/staff/meetings/{SETUP_MEETING}/setup/pairings", "pairing codes form", None),
        (f"/staff/meetings/{MEETING}/setup", "setup overview (sealed)", None),
        (f"/staff/meetings/{MEETING}/setup/roster", "roster (sealed)", None),
        (f"/staff/meetings/{MEETING}/setup/votes", "votes (sealed)", None),
        (f"/staff/meetings/{MEETING}/setup/ceremony", "key ceremony (sealed)", "staff/10-ceremony.png"),
        (f"/staff/meetings/{MEETING}/results", "results index", None),
        *[(f"/staff/meetings/{MEETING}/results/{v}", f"result {v}",
           f"staff/12-results-{v}.png" if v in ("v1", "v3") else None) for v in ("v1", "v2", "v3", "v5")],
        (f"/staff/meetings/{MEETING}/results/v4", "result not yet published", None),
        ("/staff/meetings/nonexistent/setup", "error page (404)", None),
    ],
    "auditor1": [
        (f"/staff/meetings/{MEETING}/audit", "audit trail", "staff/14-audit.png"),
        ("/staff/audit/accounts", "account events", None),
        (f"/staff/meetings/{MEETING}/console", "error page (403)", None),
    ],
}
ROSTER_ERRORS = "座位号,姓名,代表团\n001,王建国,城东区代表团\n001,李秀英,城西区代表团\n003,,高新区代表团\n"
ROSTER = "座位号,姓名,代表团\n" + "".join(f"{i:03d},{name},{group}\n" for i, (name, group) in enumerate(
    [("王建国", "城东区代表团"), ("李秀英", "城西区代表团"), ("张志强", "高新区代表团"), ("刘海燕", "南湖县代表团"),
     ("陈国平", "北山县代表团"), ("赵明华", "解放军代表团")], start=1))


def check_forms(visitor: Visitor, english: bool, tmp_path) -> None:
    """The pages behind the clerk's forms: a roster preview with row errors and a clean one, and
    the printable pairing codes."""
    shots = not english
    roster = f"/staff/meetings/{SETUP_MEETING}/setup/roster"
    for name, text, expect, shot in (("errors.csv", ROSTER_ERRORS, ".row-error", "staff/05-roster-errors.png"),
                                     ("roster.csv", ROSTER, "form[action$='/roster/confirm']", "staff/06-roster-preview.png")):
        visitor.page.goto(roster)
        (tmp_path / name).write_text(text, encoding="utf-8")
        visitor.page.set_input_files("input[type=file]", str(tmp_path / name))
        visitor.page.locator("form:has(input[type=file]) button[type=submit]").click()
        visitor.page.wait_for_selector(expect)
        visitor.check(None, f"roster preview {name}", english=english, shot=shot if shots else None)
    visitor.page.goto(f"/staff/meetings/{MEETING}/setup/pairings")
    visitor.page.locator("form:has(textarea) button[type=submit]").click()
    visitor.page.wait_for_selector(".pairing-card")
    visitor.check(None, "pairing codes", english=english, shot="staff/11-pairing-codes.png" if shots else None)


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_staff_pages_axe_overflow_and_language(session, browser, english, tmp_path):
    anonymous = Visitor(browser, session)
    try:
        if english:
            anonymous.page.goto("/staff/login")
            anonymous.page.locator("button[name=lang][value=en]").click()
            anonymous.page.wait_for_selector("html[lang=en]")
        anonymous.check("/staff/login", "sign-in page", english=english,
                        shot=None if english else "staff/01-login.png")
    finally:
        anonymous.close()
    for username, pages in STAFF_PAGES.items():
        visitor = Visitor(browser, session)
        try:
            visitor.sign_in(username)
            if english:
                visitor.english()
            for path, what, shot in pages:
                visitor.check(path, what, english=english, shot=None if english else shot)
            if username == "clerk1":
                check_forms(visitor, english, tmp_path)
        finally:
            visitor.close()


@pytest.mark.parametrize("viewport", [DESK, HD], ids=["1280x800", "1920x1080"])
def test_console_axe_and_overflow(session, browser, viewport):
    """The presidium console with v4 open (turnout, seat map, agenda), in both languages."""
    visitor = Visitor(browser, session, viewport=viewport)
    try:
        visitor.sign_in("presidium1")
        path = f"/staff/meetings/{MEETING}/console"
        visitor.check(path, "presidium console", ready="#conn.conn-connected")
        lines = [cell.evaluate(LINES) for cell in visitor.page.locator(".agenda th, .agenda td.state").all()]
        assert lines and set(lines) == {1}, lines  # "表决/中" and "未开/始" wrapped at 1280 px
        visitor.english()
        visitor.check(path, "presidium console", ready="#conn.conn-connected", english=True)
        visitor.check("/staff/", "home", english=True)
    finally:
        visitor.close()


def test_big_screen_and_demo_control_axe_and_overflow(session, browser):
    """The big screen at 1920×1080, in Chinese and in English: live turnout of the open v4, then
    its ranked result as it arrives; and the demo control page at 1280×800."""
    screens = {lang: Visitor(browser, session, viewport=HD) for lang in ("zh", "en")}
    try:
        for lang, big in screens.items():
            big.check(f"/screen/{MEETING}{'?lang=en' if lang == 'en' else ''}", f"big screen, v4 open ({lang})",
                      ready="#live:not([hidden])", vertical=True, english=lang == "en")
        with session.app.app_context():
            lifecycle.close_vote(MEETING, "v4", actor="test")
            demo.demo_tally(MEETING, "v4")
        for lang, big in screens.items():
            big.check(None, f"big screen, v4 ranked result ({lang})", ready="body[data-view=result] table.ranking",
                      vertical=True, english=lang == "en")
    finally:
        for big in screens.values():
            big.close()
    control = Visitor(browser, session)
    try:
        control.check(f"/demo/{MEETING}", "demo control", shot="demo-control.png")
        cells = control.page.locator("th, td.kind, td.state, td.actions button").all()
        assert len(cells) > 20
        wrapped = [cell.inner_text() for cell in cells if cell.evaluate(LINES) != 1]
        assert not wrapped, wrapped
        assert control.page.locator("a[href$='/record.zip']").count() == 1
        assert control.page.locator(f"a[href='/screen/{MEETING}']").count() == 1
        assert control.page.locator(f"a[href='/staff/meetings/{MEETING}/console']").count() == 1
        assert control.page.locator("td.state").all_inner_texts() == ["已公布"] * 5
        assert not any(word in control.page.locator("body").inner_text() for word in ("resolution", "pending", "published"))
    finally:
        control.close()
