"""ballot/ and keys/ stay pure: no web framework, ORM or socket imports (the brief, DESIGN.md); and
the protocol core ballot/ imports neither keys/ nor the tools beside it (piaojue_tools), except
through the ``ballot.simulate`` command shim."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"flask", "flask_socketio", "socketio", "sqlalchemy", "alembic", "tally", "kiosk", "redis", "psycopg"}
TOOLS = "piaojue_tools"
SHIM = ROOT / "ballot" / "simulate.py"


def _modules(path: Path) -> set[str]:
    """Every module ``path`` imports, by its full dotted name (``from a import b`` gives ``a``
    and ``a.b``, since ``b`` may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _imports(path: Path) -> set[str]:
    """The top-level packages ``path`` imports."""
    return {name.split(".")[0] for name in _modules(path)}


@pytest.mark.parametrize("package", ["ballot", "keys", TOOLS])
def test_package_is_pure(package):
    files = sorted((ROOT / package).glob("*.py"))
    assert files, f"{package}/ has no modules"
    for path in files:
        bad = _imports(path) & FORBIDDEN
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_core_imports_neither_keys_nor_the_tools():
    """The auditor's verifier runs with ballot/ alone: no module of ballot/ but the
    ``ballot.simulate`` shim imports keys/ or the tools package, and none imports the shim."""
    modules = [p for p in sorted((ROOT / "ballot").rglob("*.py")) if p != SHIM]
    assert len(modules) > 10
    for path in modules:
        bad = _imports(path) & {"keys", TOOLS}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
        assert "ballot.simulate" not in _modules(path), f"{path.relative_to(ROOT)} imports the ballot.simulate shim"


def test_simulate_shim_only_runs_the_tool():
    """``python -m ballot.simulate`` stays a public command, but its code lives in piaojue_tools:
    the shim imports the tool's ``main`` and nothing else of keys/ or the tools."""
    assert _modules(SHIM) - {"__future__", "__future__.annotations", "sys"} == {
        f"{TOOLS}.simulate", f"{TOOLS}.simulate.main"
    }


def test_keys_does_not_import_the_tools():
    for path in sorted((ROOT / "keys").rglob("*.py")):
        assert TOOLS not in _imports(path), f"{path.relative_to(ROOT)} imports {TOOLS}"


def test_detector_sees_forbidden_imports(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import os\nfrom flask import Flask\nimport sqlalchemy.orm\n")
    assert _imports(sample) & FORBIDDEN == {"flask", "sqlalchemy"}
