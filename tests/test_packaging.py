"""Packaging (pyproject.toml): the base install is the record verifier alone.

A fresh virtual environment gets ``pip install`` of a copy of the checkout with no extras (its
two dependencies, pysodium and cryptography, come from the machine's pip configuration: the
local wheel mirror or the cache). ``piaojue-verify`` then accepts a valid conformance record
(exit 0) and rejects an invalid one (exit 1), and the service cannot be imported there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
BASE = {"piaojue", "pysodium", "cryptography", "cffi", "pycparser", "pip", "setuptools"}
"""Everything a base install may hold: the package, its two dependencies and theirs, and the venv's own."""


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for line in requirements:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("piaojue["):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==([0-9.]+)", line)
        assert match, f"not an exact pin: {line!r}"
        pins[match.group(1).lower()] = match.group(3)
    return pins


def test_pyproject_pins_match_requirements():
    required = _pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    project = PYPROJECT["project"]
    declared = _pins(project["dependencies"])
    assert declared == {"pysodium": required["pysodium"], "cryptography": required["cryptography"]}
    for extra in project["optional-dependencies"].values():
        declared.update(_pins(extra))
    assert declared == required, "pyproject.toml and requirements.txt pin different sets or versions"


def test_extras_and_scripts_are_declared():
    project = PYPROJECT["project"]
    assert set(project["optional-dependencies"]) == {"trustee", "clerk", "service", "test", "all"}
    assert project["optional-dependencies"]["all"] == ["piaojue[trustee,clerk,service,test]"]
    assert project["scripts"] == {"piaojue-verify": "ballot.verify:main", "piaojue-monitor": "ballot.monitor:main"}
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in ("ballot", "keys", "tally", "kiosk", "piaojue_tools"):
        assert package in include and f"{package}.*" in include


def _run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs, check=False)


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory):
    """A fresh venv with ``pip install`` of the checkout (no extras), from a copy of the sources so
    that the build writes nothing into the working tree."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("ballot", "keys", "tally", "kiosk", "piaojue_tools"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    venv = work / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)])
    assert created.returncode == 0, created.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    installed = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)], env=env, cwd=work)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv, work, env


def test_base_install_is_the_verifier_alone(base_venv):
    venv, work, env = base_venv
    listed = _run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"], env=env, cwd=work)
    names = {line.split("==")[0].lower() for line in listed.stdout.split()}
    assert names <= BASE, sorted(names - BASE)
    # The service's code is there (one distribution) but cannot run without the `service` extra.
    probe = _run([str(venv / "bin" / "python"), "-c", "import tally"], env=env, cwd=work)
    assert probe.returncode != 0 and "No module named 'flask'" in probe.stderr, probe.stderr
    probe = _run([str(venv / "bin" / "python"), "-c", "import ballot.audit, ballot.verify, ballot.record"], env=env, cwd=work)
    assert probe.returncode == 0, probe.stderr
    # The simulator (piaojue_tools, through the public `python -m ballot.simulate`) needs no extra.
    probe = _run([str(venv / "bin" / "python"), "-m", "ballot.simulate", "--help"], env=env, cwd=work)
    assert probe.returncode == 0 and "--out" in probe.stdout, probe.stderr


def test_piaojue_verify_on_conformance_records(base_venv):
    venv, work, env = base_venv
    verify = str(venv / "bin" / "piaojue-verify")
    conformance = ROOT / "conformance"
    ok = _run([verify, str(conformance / "valid" / "full-zip.zip"), "--receipt", str(conformance / "receipts" / "valid.json")],
              env=env, cwd=work)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "RESULT: PASS" in ok.stdout
    bad = _run([verify, str(conformance / "invalid" / "ballots" / "challenged-then-cast")], env=env, cwd=work)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "RESULT: FAIL (ballots" in bad.stdout
    unreadable = _run([verify, str(conformance / "invalid" / "record_format" / "log-no-final-newline")], env=env, cwd=work)
    assert unreadable.returncode == 2, unreadable.stdout + unreadable.stderr
    monitor = _run([str(venv / "bin" / "piaojue-monitor")], env=env, cwd=work)
    assert monitor.returncode == 2 and "usage: piaojue-monitor" in monitor.stderr  # BASE_URL MEETING required
