"""The README's main command, `flask --app tally demo-serve`, serves a demo meeting a tablet can
pair with, prints working links and a presidium login, and simulates the deputies who have no
tablet so that the meeting reaches its quorum and votes are decided on their counts (a smoke
test of the real processes, on loopback)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

from ballot.rules import compute_outcome
from ballot.vote import parse_vote
from bench.cluster import free_port, wait_http
from piaojue_tools import demo_data
from piaojue_tools.simulate import agenda
from tally.demo import hall_choices


def _json(url: str, body: object = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_demo_serve_reaches_quorum_and_prints_links_that_work(tmp_path):
    port = free_port()
    env = dict(os.environ, PIAOJUE_INSTANCE_PATH=str(tmp_path / "instance"), PIAOJUE_KEY_ENCRYPTION_KEY="44" * 32)
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "tally", "demo-serve", "--deputies", "24", "--port", str(port),
         "--pace", "3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        def printed() -> bool:
            assert process.poll() is None, "demo-serve exited:\n" + "".join(lines)
            return any("Audit:" in line for line in lines)

        _wait(printed, 90, "the printed links")
        output = "".join(lines)
        pairing = re.search(r"/kiosk/pair/(\d{8})\s+code (\S+)", output)
        control = re.search(r"(http://127\.0\.0\.1:\d+/demo/(demo-[\d-]+))", output)
        login = re.search(r"(http://127\.0\.0\.1:\d+/staff/meetings/[\w-]+/console)\s+\(sign in as (\S+), password (\S+)\)",
                          output)
        assert pairing and control and login, output
        assert re.search(rf"Big screen: http://127\.0\.0\.1:{port}/screen/{control.group(2)}", output), output
        meeting = control.group(2)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/kiosk/")
        with urllib.request.urlopen(control.group(1)) as page:
            html = page.read().decode()
        assert "演示控制" in html and f"/screen/{meeting}" in html and f"/staff/meetings/{meeting}/console" in html
        assert f"/api/meetings/{meeting}/record.zip" in html
        paired = _json(f"{base}/kiosk/api/pair", {"code": pairing.group(1)})
        assert paired["meeting_id"] == meeting and paired["seat"]

        # The 21 deputies without a tablet check in by themselves: 20 of them (one is absent),
        # enough for the two-thirds quorum of 24 (16) without any tablet.
        state = _wait(lambda: (s := _json(f"{control.group(1)}/state"))["present"] >= 20 and s, 60, "check-ins")
        assert state["quorum_met"] is True

        # The printed presidium login opens the console.
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with browser.open(f"{base}/staff/login") as page:
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.read().decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": login.group(2), "password": login.group(3),
                                       "next": ""}).encode()
        with browser.open(f"{base}/staff/login", form) as page:
            assert page.url.endswith("/staff/")
        with browser.open(login.group(1)) as page:
            assert page.status == 200 and "data-vote=\"v1\"" in page.read().decode()

        # A vote opened on the control page is voted on by the simulated deputies within the
        # pace, through the real intake; its result is decided on its counts.
        opened = time.monotonic()
        _json(f"{control.group(1)}/step", {"action": "open", "vote_id": "v1"})
        cast = _wait(lambda: (v := _json(f"{control.group(1)}/state")["votes"][0])["cast"] >= 19 and v["cast"], 60,
                     "simulated ballots")
        assert time.monotonic() - opened > 1.0  # at a human pace, not all at once
        _json(f"{control.group(1)}/step", {"action": "close", "vote_id": "v1"})
        _json(f"{control.group(1)}/step", {"action": "tally", "vote_id": "v1"})
        result = _json(f"{base}/api/meetings/{meeting}/votes/v1/result")
        assert result["outcome"]["quorum_met"] is True
        assert sum(result["outcome"]["items"][0]["counts"].values()) == cast
        assert "development server" not in "".join(lines)
        # Bound to loopback, the demo says how phones can reach receipts instead of warning.
        assert "Receipts on a phone: start with --host 0.0.0.0" in output, output
        assert "PIAOJUE_PUBLIC_URL" not in "".join(lines)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        reader.join(5)
        process.stdout.close()
    assert "Traceback" not in "".join(lines), "".join(lines)


def test_simulated_deputies_lean_so_that_items_pass_and_fail():
    """The demo's leanings (tally.demo.hall_choices), counted by the §9 rules for 360 voters of 386
    members: the resolution passes, the second nominee is not appointed, some projects are
    selected and some are below the threshold, two of three candidates are elected, and the
    departments get every grade."""
    rng = random.Random(7)
    members, voters = 386, 360
    outcomes = {}
    for entry in agenda():
        vote = parse_vote(entry)
        counts = {ref: 0 for ref in vote.option_refs()}
        for _ in range(voters):
            for contest, options in hall_choices(vote, rng).items():
                for option in options:
                    counts[(contest, option)] += 1
        outcomes[vote.kind] = compute_outcome(vote.rule, entry, counts, members=members, present=voters,
                                              counted=voters, quorum="two_thirds")
    assert [i["passed"] for i in outcomes["resolution"]["items"]] == [True]
    assert [i["passed"] for i in outcomes["appointment"]["items"]] == [True, False, True]
    assert any(i["counts"] and sum(i["counts"].values()) < voters for i in outcomes["appointment"]["items"])
    statuses = [row["status"] for row in outcomes["selection"]["ranking"]]
    assert "elected" in statuses and "below_threshold" in statuses
    assert outcomes["election"]["elected"] == [["candidates", c["id"]] for c in demo_data.CANDIDATES[:2]]
    assert [i["grade"] for i in outcomes["evaluation"]["items"]] == ["satisfied", "basically_satisfied",
                                                                     "unsatisfied", "basically_satisfied"]


def test_demo_public_url_is_the_lan_address_for_every_interface():
    from tally.demo import lan_address
    from tally.demo import public_url as demo_public_url

    assert demo_public_url("127.0.0.1", 5000) == "http://127.0.0.1:5000"
    assert demo_public_url("::1", 5000) == "http://[::1]:5000"
    lan = lan_address()
    assert lan is None or not lan.startswith("127.")
    assert demo_public_url("0.0.0.0", 5001) == f"http://{lan or '127.0.0.1'}:5001"

