"""Receipt links usable from a phone (issue #13): PIAOJUE_PUBLIC_URL, the warning when phones
cannot reach it, and the short link /r/<meeting>/<16 hex> the tablet shows."""

from __future__ import annotations

import logging

import pytest

from tally import create_app
from tally.web import kiosk


@pytest.mark.parametrize(("configured", "warns"), [
    (None, "is not set"),
    ("", "is not set"),
    ("http://127.0.0.1:5000", "loopback"),
    ("http://127.8.0.1/", "loopback"),
    ("http://localhost:5000", "loopback"),
    ("http://[::1]:8000", "loopback"),
    ("http://192.168.1.20:5000", None),
    ("https://vote.example.org/", None),
])
def test_loopback_warning(configured, warns):
    app = create_app({"TESTING": True, "PUBLIC_URL": configured, "DATABASE_URL": "sqlite://"})
    message = kiosk.loopback_warning(app)
    if warns is None:
        assert message is None
    else:
        assert message is not None and warns in message and "PIAOJUE_PUBLIC_URL" in message
    app.extensions["piaojue.engine"].dispose()


def test_a_starting_server_warns(tmp_path, caplog):
    """A server (not under TESTING, not another flask command) logs the warning as it starts."""
    with caplog.at_level(logging.WARNING):
        app = create_app({"TESTING": False, "VOTE_TIMER": False, "PUBLIC_URL": "http://127.0.0.1:5000",
                          "DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite3"}, instance_path=str(tmp_path / "i"))
    assert any("PIAOJUE_PUBLIC_URL=http://127.0.0.1:5000 is a loopback address" in r.getMessage() for r in caplog.records)
    app.extensions["piaojue.engine"].dispose()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        app = create_app({"TESTING": False, "VOTE_TIMER": False, "PUBLIC_URL": "http://10.0.0.5:5000",
                          "DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite3"}, instance_path=str(tmp_path / "i"))
    assert not any("PIAOJUE_PUBLIC_URL" in r.getMessage() for r in caplog.records)
    app.extensions["piaojue.engine"].dispose()
