"""ballot/ and keys/ stay pure: no web framework, ORM or socket imports (the brief, DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"flask", "flask_socketio", "socketio", "sqlalchemy", "alembic", "tally", "kiosk", "redis", "psycopg"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["ballot", "keys"])
def test_package_is_pure(package):
    files = sorted((ROOT / package).glob("*.py"))
    assert files, f"{package}/ has no modules"
    for path in files:
        bad = _imports(path) & FORBIDDEN
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_verifier_needs_nothing_from_keys():
    """The auditor's verifier runs with ballot/ alone: no module it loads imports keys/."""
    verifier_modules = [p for p in (ROOT / "ballot").glob("*.py") if p.stem not in ("simulate",)]
    for path in verifier_modules:
        assert "keys" not in _imports(path), f"{path.name} imports keys/"


def test_detector_sees_forbidden_imports(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import os\nfrom flask import Flask\nimport sqlalchemy.orm\n")
    assert _imports(sample) & FORBIDDEN == {"flask", "sqlalchemy"}
