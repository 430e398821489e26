"""`flask --app tally demo --simulate` runs a verifiable session; log keys are sealed at rest."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from ballot.audit import verify_record
from ballot.record import read_record
from tally import create_app, logkeys
from tally.models import Meeting


def test_demo_simulate_writes_a_record_the_verifier_accepts(app, tmp_path):
    record = tmp_path / "record.zip"
    result = app.test_cli_runner().invoke(
        args=["demo", "--deputies", "12", "--codes", str(tmp_path / "codes.json"), "--meeting", "sim",
              "--simulate", "--record", str(record)]
    )
    assert result.exit_code == 0, result.output
    report = verify_record(read_record(record))
    assert report.ok, report.format()
    assert [v["state"] for v in report.votes] == ["published"] * 5
    verifier = subprocess.run([sys.executable, "-m", "ballot.verify", str(record)], capture_output=True, text=True)
    assert verifier.returncode == 0 and "RESULT: PASS" in verifier.stdout


def test_log_key_is_sealed_under_the_kek(app, meeting, tmp_path):
    with app.app_context():
        from tally import db

        row = db.session().get(Meeting, "m1")
        key = logkeys.open_log_key("m1", row.log_private_key_sealed)
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        assert raw not in row.log_private_key_sealed
        with pytest.raises(logkeys.SecretError):
            logkeys.open_log_key("m2", row.log_private_key_sealed)  # bound to its meeting
        sealed = row.log_private_key_sealed
    other = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "KEY_ENCRYPTION_KEY": "22" * 32},
                       instance_path=str(tmp_path / "other"))
    with other.app_context():
        with pytest.raises(logkeys.SecretError):
            logkeys.open_log_key("m1", sealed)
    other.extensions["piaojue.engine"].dispose()
    bad = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/y.sqlite3", "KEY_ENCRYPTION_KEY": "abc"},
                     instance_path=str(tmp_path / "bad"))
    with bad.app_context():
        with pytest.raises(logkeys.SecretError, match="64 hex"):
            logkeys.new_log_key("m9")
    bad.extensions["piaojue.engine"].dispose()
