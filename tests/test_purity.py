"""The structure of docs/architecture.md, checked.

- ballot/, keys/ and piaojue_tools stay pure: no web framework, ORM or socket imports, never tally;
  the protocol core ballot/ imports neither keys/ nor the tools beside it (piaojue_tools), except
  through the ``ballot.simulate`` command shim;
- tally/'s subpackages import only what the diagram allows, each has a one-line docstring, every
  module is on the module map, and only Config reads the environment;
- kiosk/ has no Python that imports tally (its Flask side is tally/web/kiosk.py);
- no module outside tests/ is over 500 lines without a reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"flask", "flask_socketio", "socketio", "sqlalchemy", "alembic", "tally", "kiosk", "redis", "psycopg"}
TOOLS = "piaojue_tools"
SHIM = ROOT / "ballot" / "simulate.py"
LONG_MODULE = 500
"""Lines; a longer module says why in a docstring line starting ``Long:``."""
SKIP = {".venv", "node_modules", ".git", "tests", "build", "dist", "instance", "__pycache__"}


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


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if not SKIP & set(p.relative_to(ROOT).parts))


@pytest.mark.parametrize("package", ["ballot", "keys", TOOLS])
def test_package_is_pure(package):
    files = _python_files(ROOT / package)
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


# ---------------------------------------------------------------- tally/: what may import what

BASE = {"tally.config", "tally.errors", "tally.http"}
DOORS = {"tally", "tally.cli", "tally.demo"}
"""The app factory and the command line: they wire everything together and may import anything."""
STORE_READS = {"tally.store", "tally.store.db", "tally.store.models", "tally.store.cache", "tally.store.logstore",
               "tally.store.audit_trail"}
"""What of the store the doors (api/, web/) may use directly: sessions, models, the caches, log reads,
the audit trail. Never batching, log keys or migrations."""
EXCEPTIONS = {
    ("tally.api.demo_control", "tally.demo"): "the demo control page runs the demo trustees' decryption",
}
ALLOWED = {
    "base": {"base"},
    "store": {"base", "store"},
    "live": {"base", "store", "live"},
    "ops": {"base", "ops"},
    "services": {"base", "store", "live", "ops", "services"},
    "api": {"base", "store-read", "live", "ops", "services", "api"},
    "web": {"base", "store-read", "live", "ops", "services", "web"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def tally_imports(path: Path) -> set[str]:
    """The tally modules ``path`` imports, anywhere in it (also inside functions): ``from tally.x
    import y`` counts as ``tally.x.y`` when that is a module, else as ``tally.x``."""
    found = set()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "tally"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "tally":
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if _is_module(full) else node.module)
    return found


def layer(module: str) -> str:
    """The layer of a tally module: base, store, live, ops, services, api, web, or door."""
    if module in BASE:
        return "base"
    if module in DOORS:
        return "door"
    part = module.split(".")[1]
    if part in ("store", "live", "ops", "services", "api", "web"):
        return part
    raise AssertionError(f"{module} is in no layer of docs/architecture.md: put it in a subpackage")


def _allowed(source: str, target: str) -> bool:
    source_layer, target_layer = layer(source), layer(target)
    if source_layer == "door" or (source, target) in EXCEPTIONS:
        return True
    allowed = ALLOWED[source_layer]
    if target_layer == "store" and target in STORE_READS and "store-read" in allowed:
        return True
    return target_layer in allowed


TALLY_FILES = [p for p in _python_files(ROOT / "tally") if "versions" not in p.parts]


@pytest.mark.parametrize("path", TALLY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_tally_layers(path):
    source = _module_name(path)
    bad = sorted(t for t in tally_imports(path) if not _allowed(source, t))
    assert not bad, (f"{source} ({layer(source)}) imports {bad}: not allowed by docs/architecture.md "
                     "(\"What may import what\")")


def test_layer_rules_catch_upward_imports():
    assert not _allowed("tally.store.db", "tally.live.broadcast")
    assert not _allowed("tally.live.broadcast", "tally.services.lifecycle")
    assert not _allowed("tally.services.intake", "tally.web")
    assert not _allowed("tally.api.public", "tally.web.logins")
    assert not _allowed("tally.web.console", "tally.store.batching")
    assert _allowed("tally.web.console", "tally.store.models")
    assert _allowed("tally.cli", "tally.web.logins")


def test_subpackages_have_a_one_line_docstring():
    for init in sorted((ROOT / "tally").rglob("__init__.py")):
        if "versions" in init.parts:
            continue
        doc = ast.get_docstring(_parse(init))
        assert doc and doc.splitlines()[0].strip(), f"{init.relative_to(ROOT)} has no docstring"


def test_module_map_lists_every_tally_module():
    """docs/architecture.md's module map names every module of tally/ (by its file name)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [str(p.relative_to(ROOT)) for p in TALLY_FILES
               if p.name != "__init__.py" and "migrations" not in p.parts and f"{p.name}`" not in text]
    assert not missing, f"not on the module map of docs/architecture.md: {missing}"


def test_no_environment_outside_config():
    """Every setting lives in Config: no other module of tally/ reads os.environ or getenv."""
    for path in TALLY_FILES:
        if path.name == "config.py" and path.parent.name == "tally":
            continue
        text = path.read_text(encoding="utf-8")
        reads = re.findall(r"os\.environ\.get\(|os\.environ\[|getenv\(", text)
        assert not reads, f"{path.relative_to(ROOT)} reads the environment: make it a Config setting"


# ---------------------------------------------------------------- kiosk/: only the browser client


def test_kiosk_has_no_python_that_imports_tally():
    """kiosk/ is the tablet's static client; its Flask side is tally/web/kiosk.py. The only
    Python allowed is the package marker that lets its files install as package data."""
    files = _python_files(ROOT / "kiosk")
    assert [p.relative_to(ROOT).as_posix() for p in files] == ["kiosk/__init__.py"]
    for path in files:
        assert not _imports(path), f"{path.relative_to(ROOT)} imports {sorted(_imports(path))}"


# ---------------------------------------------------------------- module size


def _long_reason(path: Path) -> str | None:
    doc = ast.get_docstring(_parse(path)) or ""
    return next((line for line in doc.splitlines() if line.strip().startswith("Long:")), None)


def test_no_long_module_without_a_reason():
    """No module outside tests/ is over 500 lines unless its docstring says why (``Long: …``)."""
    too_long = []
    for path in _python_files(ROOT):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > LONG_MODULE and _long_reason(path) is None:
            too_long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not too_long, f"over {LONG_MODULE} lines with no 'Long:' line in the docstring: {too_long}"
