"""The README's main command, `flask --app tally demo-serve`, serves a demo meeting a tablet can
pair with and prints working links (a smoke test of the real process, on loopback)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

from bench.cluster import free_port, wait_http


def test_demo_serve_prints_links_that_work(tmp_path):
    port = free_port()
    env = dict(os.environ, PIAOJUE_INSTANCE_PATH=str(tmp_path / "instance"), PIAOJUE_KEY_ENCRYPTION_KEY="44" * 32)
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "tally", "demo-serve", "--deputies", "12", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while not any("Audit:" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            lines.append(process.stdout.readline())
        output = "".join(lines)
        pairing = re.search(r"/kiosk/pair/(\d{8})\s+code (\S+)", output)
        control = re.search(r"(http://127\.0\.0\.1:\d+/demo/(demo-[\d-]+))", output)
        assert pairing and control, output
        wait_http(f"http://127.0.0.1:{port}/kiosk/")
        with urllib.request.urlopen(control.group(1)) as page:
            assert "演示控制" in page.read().decode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/kiosk/api/pair",
                                         json.dumps({"code": pairing.group(1)}).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            paired = json.loads(response.read())
        assert paired["meeting_id"] == control.group(2) and paired["seat"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/meetings/{paired['meeting_id']}") as response:
            assert len(json.loads(response.read())["votes"]) == 5
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
        process.stdout.close()
