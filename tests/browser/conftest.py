"""Browser tests of the kiosk (issue #4): the real app served over real HTTP and WebSocket, driven
by Playwright in Debian's chromium (``apt-get install -y chromium``; no ``playwright install``).

One server and one browser per module: a fresh SQLite database and instance folder, the demo
meeting ``m1`` of 6 deputies (tally.demo.create_demo: real trustees, real crypto), served by
werkzeug's threaded server, which Flask-SocketIO's threading mode (simple-websocket) upgrades to
WebSocket exactly as ``flask demo-serve`` does.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from keys.credentials import derive_private_key, public_key_hex, sign_checkin
from tally import create_app, demo
from tally.services import pairing
from tally.store import cache, logstore

CHROMIUM = os.environ.get("PIAOJUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
KEK = "11" * 32
MEETING = "m1"
# Screenshots of every screen: into docs/screens/ with PIAOJUE_UPDATE_SCREENS=1 (for the docs and
# the deputies' guide), otherwise into a scratch folder so a test run leaves the tree clean.
SCREENS = (Path(__file__).resolve().parents[2] / "docs" / "screens" if os.environ.get("PIAOJUE_UPDATE_SCREENS")
           else Path(tempfile.gettempdir()) / "piaojue-screens")
LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}
PHONE = {"width": 390, "height": 844}


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # no access log in the test output
        pass


@dataclass
class LiveServer:
    app: Any
    url: str
    people: list[demo.DemoDeputy]
    timings: dict[str, Any] = field(default_factory=dict)

    def pairing_code(self, seat: str) -> str:
        with self.app.app_context():
            return pairing.create_codes(MEETING, [seat], actor="test")[0]["code"]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code

    def entries(self) -> list[dict[str, Any]]:
        size = self.get(f"/api/meetings/{MEETING}/sth")["tree_size"]
        return self.get(f"/api/meetings/{MEETING}/entries?start=0&end={size}")["entries"]

    def check_in_by_api(self, person: demo.DemoDeputy) -> None:
        key = derive_private_key(person.code, MEETING)
        meeting_hash = bytes.fromhex(self.get(f"/api/meetings/{MEETING}")["meeting_hash"])
        body = {"credential": public_key_hex(key), "seat": person.seat, "signature": sign_checkin(key, meeting_hash, person.seat)}
        request = urllib.request.Request(
            f"{self.url}/api/meetings/{MEETING}/checkin", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk")
    cache.clear()
    logstore._trees.clear()
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp}/tally.sqlite3", "KEY_ENCRYPTION_KEY": KEK, "TESTING": True,
         "KIOSK_POST_TIMEOUT": 3},
        instance_path=str(tmp / "instance"),
    )
    with app.app_context():
        people = demo.create_demo(MEETING, 6)
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="kiosk-test-server", daemon=True)
    thread.start()
    live = LiveServer(app, f"http://127.0.0.1:{httpd.server_port}", people)
    try:
        yield live
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
        app.extensions["piaojue.engine"].dispose()
        cache.clear()
        logstore._trees.clear()
        if live.timings:
            print("\nkiosk browser timings:", json.dumps(live.timings, ensure_ascii=False))


def card_video(path: Path, text: str, width: int = 640, height: int = 480) -> Path:
    """A Y4M video of a credential card's QR code, for chromium's fake camera."""
    import qrcode

    code = qrcode.QRCode(border=4)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    scale = (height - 40) // len(matrix)
    x0 = (width - len(matrix) * scale) // 2
    y0 = (height - len(matrix) * scale) // 2
    luma = bytearray(b"\xeb" * (width * height))
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                for y in range(y0 + r * scale, y0 + (r + 1) * scale):
                    start = y * width + x0 + c * scale
                    luma[start:start + scale] = b"\x10" * scale
    frame = b"FRAME\n" + bytes(luma) + b"\x80" * (width * height // 2)
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * 2)
    return path


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """Chromium, whose fake camera shows the QR code of seat 005's credential card."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install -y chromium (or set PIAOJUE_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    video = card_video(tmp_path_factory.mktemp("camera") / "card.y4m", f"PJ1:{MEETING}:{server.people[4].code}")
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    playwright = sync_playwright().start()
    try:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + camera)
        try:
            yield instance
        finally:
            instance.close()
    finally:
        playwright.stop()


class Tablet:
    """One seat's tablet: a browser context of its own (its own localStorage/sessionStorage)."""

    def __init__(self, browser, server: LiveServer, person: demo.DemoDeputy, viewport=LANDSCAPE):
        self.server = server
        self.person = person
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=server.url)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []  # uncaught exceptions in the page
        self.console_errors: list[str] = []
        self.posted: list[str] = []  # every request body the page sent
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("request", lambda request: self.posted.append(request.post_data or "") if request.method == "POST" else None)

    @property
    def credential(self) -> str:
        return public_key_hex(derive_private_key(self.person.code, MEETING))

    def pair_by_url(self) -> None:
        self.page.goto(f"/kiosk/pair/{self.server.pairing_code(self.person.seat)}")
        self.wait_screen("checkin")

    def check_in(self, code: str | None = None) -> None:
        self.check_in_to("waiting", code)

    def check_in_to(self, screen: str, code: str | None = None) -> None:
        self.page.get_by_label("凭证代码").fill(code or self.person.code)
        self.page.get_by_role("button", name="签到", exact=True).click()
        self.wait_screen(screen)

    def wait_screen(self, name: str, timeout: float = 15_000) -> None:
        self.page.wait_for_function("name => document.body.dataset.screen === name", arg=name, timeout=timeout)

    def screen(self) -> str:
        return self.page.evaluate("document.body.dataset.screen")

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def shot(self, name: str, **kwargs: Any) -> None:
        SCREENS.mkdir(parents=True, exist_ok=True)
        # No focus ring, and the top of the screen, in the docs.
        self.page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        self.page.screenshot(path=str(SCREENS / name), **kwargs)

    def assert_fits(self) -> None:
        """Nothing sticks out sideways (no horizontal scrolling) at the current viewport."""
        overflow = self.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the viewport"

    def assert_touch_targets(self) -> None:
        """Every visible control is at least 56×56 CSS px and has an accessible name."""
        small = self.page.evaluate("""() => [...document.querySelectorAll('button, input, summary, a[href]')]
            .filter(el => el.offsetParent !== null)
            .map(el => [el.id || el.textContent.trim().slice(0, 20), el.getBoundingClientRect()])
            .filter(([, r]) => r.height < 56 || r.width < 56)
            .map(([name, r]) => `${name}: ${Math.round(r.width)}×${Math.round(r.height)}`)""")
        assert not small, f"touch targets under 56 px: {small}"
        for button in self.page.get_by_role("button").all():
            if button.is_visible():
                assert button.evaluate("el => (el.getAttribute('aria-label') || el.textContent).trim().length > 0")

    def focused_heading(self) -> bool:
        return self.page.evaluate("document.activeElement && document.activeElement.tagName === 'H1'")

    def close(self) -> None:
        self.context.close()


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        time.sleep(interval)
