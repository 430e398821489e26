"""The tablet's speed in headless Chromium (issue #4 targets), with Python as the baseline.

* encryption plus proofs of the resolution, 13-project (up to 10) and 23-project (up to 20)
  ballots by the kiosk's JavaScript (``kiosk/static/js/crypto``) in Debian's chromium, against
  ``ballot.encrypt`` (libsodium) on the same ballots in the same run (target: 23 projects ≤ 1 s);
* the time from a vote being opened in the service to the ballot painted on a paired, checked-in
  tablet, pushed over Socket.IO (target ≤ 300 ms), and from the tap on 投票 to the receipt
  painted (encryption, the post, the receipt's check), one of each vote kind.

Run with ``python -m bench kiosk``.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.serving import WSGIRequestHandler, make_server

from ballot import templates
from ballot.encrypt import encrypt_ballot
from ballot.group import Point, Scalar
from ballot.vote import parse_vote
from bench.report import table, write_section
from keys.credentials import format_code
from piaojue_tools import demo_data

CHROMIUM = os.environ.get("PIAOJUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
BALLOTS = [
    ("resolution", templates.resolution("b1", "决议"), {"motion": ["yes"]}),
    ("13 projects, up to 10", templates.selection("b2", "民生", demo_data.projects(13), 10),
     {"projects": [f"p{i:02d}" for i in range(1, 11)]}),
    ("23 projects, up to 20", templates.selection("b3", "民生", demo_data.projects(23), 20),
     {"projects": [f"p{i:02d}" for i in range(1, 21)]}),
]

_JS_TIMER = """
async ([vote, hash, key, choices, rounds]) => {
  const c = await import('/kiosk/static/js/crypto/index.js');
  const seed = new Uint8Array(32).fill(7);
  c.encryptBallot(vote, hash, key, seed, choices);  // warm up (and build K's table)
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    c.encryptBallot(vote, hash, key, seed, choices);
    times.push(performance.now() - t);
  }
  return times;
}
"""

# A valid ballot of any kind: the first option of every contest (one of each resolution,
# nominee and department; one project or candidate).
_JS_CHOOSE = """() => {
  for (const group of document.querySelectorAll('.ballot-body section[data-contest]')) {
    group.querySelector('button[data-option]').click();
  }
}"""

# Tap 投票 on the review screen; resolves with the ms until the receipt screen is painted.
_JS_CAST = """() => new Promise((resolve) => {
  const started = performance.now();
  document.getElementById('btn-cast').click();
  const check = () => {
    if (document.body.dataset.screen === 'receipt') {
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - started)));
    } else {
      requestAnimationFrame(check);
    }
  };
  check();
})"""


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


def _python_ms(vote_entry: dict, choices: dict, rounds: int) -> float:
    vote = parse_vote(vote_entry)
    key = Point.base_mul(Scalar.random())
    credential = Ed25519PrivateKey.generate()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        encrypt_ballot(vote, bytes(32), key, credential, choices)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(quick: bool = False) -> str:
    from playwright.sync_api import sync_playwright

    from tally import create_app, demo
    from tally.services import lifecycle, pairing
    from tally.store import cache, logstore

    rounds = 3 if quick else 15
    tmp = Path(tempfile.mkdtemp(prefix="piaojue-bench-kiosk-"))
    cache.clear()
    logstore._trees.clear()
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/t.sqlite3", "KEY_ENCRYPTION_KEY": "55" * 32, "TESTING": True},
                     instance_path=str(tmp / "instance"))
    with app.app_context():
        people = demo.create_demo("m1", 4)
        code = pairing.create_codes("m1", [people[0].seat], actor="bench")[0]["code"]
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    serving = threading.Thread(target=httpd.serve_forever, daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    key_hex = Point.base_mul(Scalar.random()).hex()
    rows, paints, casts = [], [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{base}/kiosk/")
                for name, vote_entry, choices in BALLOTS:
                    js = page.evaluate(_JS_TIMER, [vote_entry, "00" * 32, key_hex, choices, rounds])
                    js_ms = statistics.median(js)
                    py_ms = _python_ms(vote_entry, choices, rounds)
                    target = " (target ≤ 1,000 ms)" if name.startswith("23") else ""
                    rows.append([name, f"{js_ms:.0f} ms{target}", f"{min(js):.0f} ms", f"{py_ms:.1f} ms",
                                 f"{js_ms / py_ms:.1f}×"])
                tablet = browser.new_page(viewport={"width": 1280, "height": 800})
                tablet.goto(f"{base}/kiosk/pair/{code}")
                tablet.wait_for_selector("body[data-screen='checkin']")
                tablet.fill("#code-input", format_code(people[0].code))
                tablet.click("#btn-checkin")
                tablet.wait_for_selector("body[data-screen='waiting']", timeout=15_000)
                for vote_id in ("v1", "v2", "v3", "v4", "v5"):
                    started = tablet.evaluate("Date.now()")
                    with app.app_context():
                        lifecycle.open_vote("m1", vote_id, actor="bench")
                    tablet.wait_for_function("vid => window.__piaojue.painted[vid]", arg=vote_id, timeout=15_000)
                    paints.append(tablet.evaluate("vid => window.__piaojue.painted[vid]", vote_id) - started)
                    tablet.evaluate(_JS_CHOOSE)
                    tablet.click("#btn-next")
                    tablet.wait_for_selector("body[data-screen='review'] #btn-cast:enabled")
                    casts.append(tablet.evaluate(_JS_CAST))
                    with app.app_context():
                        lifecycle.close_vote("m1", vote_id, actor="bench")
                    tablet.wait_for_function("vid => !document.getElementById('btn-recast')", arg=vote_id)
            finally:
                browser.close()
    finally:
        httpd.shutdown()
        serving.join(10)
        httpd.server_close()
        app.extensions["piaojue.engine"].dispose()
    body = "\n\n".join([
        f"Encryption and proofs of one ballot ({rounds} rounds, median; baseline: Python + libsodium, same run):\n\n"
        + table(["ballot", "JS in chromium", "JS min", "Python baseline", "JS / Python"], rows),
        "Vote opened in the service → ballot painted on a checked-in tablet (Socket.IO push; one per vote kind),"
        " and the tap on 投票 → receipt painted (encrypt, post, verify the receipt; one per vote kind):\n\n"
        + table(["step", "votes", "median", "max", "target"],
                [["open → ballot painted", str(len(paints)), f"{statistics.median(paints):.0f} ms",
                  f"{max(paints):.0f} ms", "≤ 300 ms"],
                 ["tap 投票 → receipt painted", str(len(casts)), f"{statistics.median(casts):.0f} ms",
                  f"{max(casts):.0f} ms", "—"]]),
    ])
    return body


def main(quick: bool = False) -> str:
    body = run(quick)
    print(body)
    if not quick:
        write_section("kiosk", "python -m bench kiosk", body)
    return body


if __name__ == "__main__":
    print(json.dumps(run(quick=True)))
