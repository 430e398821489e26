"""Trustee state files: Argon2id + AES-256-GCM, header bound as associated data (SPEC §6.1)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from keys.errors import StateFileError
from keys.statefile import (
    DEFAULT_KDF,
    FORMAT,
    KdfParams,
    is_demo,
    kdf_params,
    load_state,
    read_header,
    save_state,
)

FAST = KdfParams(memory_cost=8, iterations=1, lanes=1)
STATE = {"format": "piaojue/1/trustee", "index": 2, "share": "ab" * 32, "name": "王芳"}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "trustee2.state"


def _rewrite(path, change):
    header = json.loads(path.read_text("utf-8"))
    change(header)
    path.write_text(json.dumps(header), "utf-8")


def test_round_trip(path):
    save_state(path, STATE, "correct horse", kdf=FAST)
    assert load_state(path, "correct horse") == STATE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    header = json.loads(path.read_text("utf-8"))
    assert set(header) == {"format", "kdf", "nonce", "ciphertext"}
    assert header["format"] == FORMAT
    assert header["kdf"] == {
        "name": "argon2id",
        "salt": header["kdf"]["salt"],
        "iterations": 1,
        "lanes": 1,
        "memory_cost": 8,
    }
    assert len(bytes.fromhex(header["kdf"]["salt"])) == 16
    assert len(bytes.fromhex(header["nonce"])) == 12
    assert "ab" * 32 not in path.read_text("utf-8") and "王芳" not in path.read_text("utf-8")
    assert kdf_params(read_header(path)) == FAST
    assert not is_demo(path)
    # overwrite in place, no temporary files left behind
    save_state(path, {**STATE, "index": 3}, "correct horse", kdf=FAST)
    assert load_state(path, "correct horse")["index"] == 3
    assert os.listdir(path.parent) == [path.name]


def test_default_cost_is_recorded(path):
    assert DEFAULT_KDF == KdfParams(memory_cost=65536, iterations=3, lanes=1)
    save_state(path, STATE, "pw")
    assert read_header(path)["kdf"]["memory_cost"] == 65536
    assert load_state(path, "pw") == STATE


def test_wrong_passphrase(path):
    save_state(path, STATE, "correct horse", kdf=FAST)
    with pytest.raises(StateFileError, match="wrong passphrase or corrupted file"):
        load_state(path, "correct hors")
    with pytest.raises(StateFileError):
        load_state(path, "")


def test_passphrase_is_nfc_normalised(path):
    save_state(path, STATE, "caf\u00e9 口令", kdf=FAST)
    assert load_state(path, "cafe\u0301 口令") == STATE


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h.update(
            ciphertext=h["ciphertext"][:-2] + ("00" if h["ciphertext"][-2:] != "00" else "01")
        ),
        lambda h: h.update(nonce="00" * 12),
        lambda h: h["kdf"].update(salt="11" * 16),
        lambda h: h["kdf"].update(iterations=2),
        lambda h: h["kdf"].update(memory_cost=16),
        lambda h: h.update(demo=True),
    ],
)
def test_tampered_file_does_not_open(path, change):
    save_state(path, STATE, "pw", kdf=FAST)
    _rewrite(path, change)
    with pytest.raises(StateFileError, match="wrong passphrase or corrupted file"):
        load_state(path, "pw")


def test_demo_marker(path):
    save_state(path, STATE, "demo", demo=True, kdf=FAST)
    header = json.loads(path.read_text("utf-8"))
    assert header["demo"] is True
    assert is_demo(path) and read_header(path)["demo"] is True
    assert "ciphertext" not in read_header(path)
    assert load_state(path, "demo") == STATE
    # the marker is bound: it cannot be removed silently
    _rewrite(path, lambda h: h.pop("demo"))
    with pytest.raises(StateFileError, match="wrong passphrase or corrupted file"):
        load_state(path, "demo")
    save_state(path, STATE, "demo", demo=True, kdf=FAST)
    _rewrite(path, lambda h: h.update(demo=False))
    with pytest.raises(StateFileError, match="demo marker"):
        load_state(path, "demo")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        json.dumps({"format": "something/else"}).encode(),
        json.dumps({"format": FORMAT}).encode(),
    ],
)
def test_not_a_state_file(path, content):
    path.write_bytes(content)
    with pytest.raises(StateFileError):
        load_state(path, "pw")


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h["kdf"].update(name="scrypt"),
        lambda h: h["kdf"].update(memory_cost=10**9),  # would make the loader allocate ~1 TB
        lambda h: h["kdf"].update(iterations=0),
        lambda h: h["kdf"].update(lanes=True),
        lambda h: h["kdf"].update(salt="00"),
        lambda h: h["kdf"].pop("salt"),
        lambda h: h.update(nonce="xyz"),
        lambda h: h.update(extra=1),
        lambda h: h.pop("ciphertext"),
    ],
)
def test_bad_header(path, change):
    save_state(path, STATE, "pw", kdf=FAST)
    _rewrite(path, change)
    with pytest.raises(StateFileError):
        load_state(path, "pw")


def test_missing_file_and_bad_inputs(tmp_path, path):
    with pytest.raises(StateFileError, match="cannot read"):
        load_state(tmp_path / "nope.state", "pw")
    with pytest.raises(StateFileError, match="empty"):
        save_state(path, STATE, "", kdf=FAST)
    with pytest.raises(StateFileError):
        save_state(path, {"x": 1.5}, "pw", kdf=FAST)
    with pytest.raises(StateFileError):
        save_state(path, STATE, "pw", kdf=KdfParams(memory_cost=4, iterations=1, lanes=1))
    with pytest.raises(StateFileError, match="cannot write"):
        save_state(tmp_path / "no-such-dir" / "x.state", STATE, "pw", kdf=FAST)
    assert not path.exists()
