"""The vendored browser JS is exactly what the lockfile pins, and exactly what the imports reach.

kiosk/vendor.sh (kiosk/vendor.mjs) fills two folders from the npm tarballs pinned in
kiosk/package-lock.json: kiosk/static/vendor/ (served: the tablet, the receipt page, the console and
the hall screen reach it through the one import map kiosk/templates/kiosk/importmap.html) and
tests/browser/vendor/ (axe-core, test-only). Each has packages.json (version and tarball integrity
of each package, the files copied from it) and SHA256SUMS. Nothing here uses the network:

* (a) every file's SHA-256 is the one in SHA256SUMS, and SHA256SUMS lists every file;
* (b) packages.json names the lockfile's version and integrity (the SHA-512 of the npm tarball)
  for every package of kiosk/package.json; where npm's cache holds that tarball (any machine that
  ran vendor.sh or ``npm ci``), its SHA-512 is checked and every vendored file is compared with the
  tarball's bytes; otherwise with kiosk/node_modules/ if it is installed at the pinned version;
  otherwise that comparison is skipped, saying why;
* (c) the import graph of our own modules, resolved through the import map as a browser does
  (kiosk/importgraph.mjs, V8's parser; node required), reaches every vendored JS file and nothing
  outside the vendor folder is imported, and every import resolves to a file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
KIOSK = ROOT / "kiosk"
SERVED = KIOSK / "static" / "vendor"
TEST_ONLY = ROOT / "tests" / "browser" / "vendor"
FOLDERS = [SERVED, TEST_ONLY]
PINS = {"@noble/curves": "2.4.0", "@noble/hashes": "2.4.0", "jsqr": "1.4.0", "socket.io-client": "4.8.4"}
DEV_PINS = {"axe-core": "4.14.1"}
META = {"SHA256SUMS", "packages.json"}
LICENCE = re.compile(r"(LICEN[CS]E|COPYING)([.-].*)?", re.IGNORECASE)


def _lock() -> dict[str, Any]:
    return json.loads((KIOSK / "package-lock.json").read_text(encoding="utf-8"))


def _record(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "packages.json").read_text(encoding="utf-8"))


def _all_packages() -> list[tuple[Path, str]]:
    return [(folder, name) for folder in FOLDERS for name in sorted(_record(folder))]


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_package_json_pins_exact_versions_and_lockfile_agrees() -> None:
    package = json.loads((KIOSK / "package.json").read_text(encoding="utf-8"))
    assert package["dependencies"] == PINS
    assert package["devDependencies"] == DEV_PINS
    lock = _lock()
    assert lock["packages"][""]["dependencies"] == PINS
    assert lock["packages"][""]["devDependencies"] == DEV_PINS
    for name, version in {**PINS, **DEV_PINS}.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


# ------------------------------------------------------------------------- (a) SHA256SUMS


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.relative_to(ROOT).as_posix())
def test_every_vendored_file_matches_sha256sums(folder: Path) -> None:
    sums: dict[str, str] = {}
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, rel = line.split("  ", 1)
        assert re.fullmatch(r"[0-9a-f]{64}", digest), line
        assert rel not in sums, f"{rel} listed twice"
        sums[rel] = digest
    assert set(sums) == _files(folder) - {"SHA256SUMS"}, "SHA256SUMS must list every vendored file, and only those"
    for rel, digest in sums.items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, f"{folder.name}/{rel} changed"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.relative_to(ROOT).as_posix())
def test_packages_json_lists_exactly_the_vendored_files(folder: Path) -> None:
    listed = {f"{name}/{rel}" for name, entry in _record(folder).items() for rel in entry["files"]}
    assert listed == _files(folder) - META


# ---------------------------------------------------------------- (b) the lockfile's tarballs


def test_packages_json_names_the_lockfile_versions_and_tarball_integrity() -> None:
    lock = _lock()["packages"]
    assert set(_record(SERVED)) == set(PINS), "kiosk/static/vendor/ holds the runtime dependencies"
    assert set(_record(TEST_ONLY)) == set(DEV_PINS), "tests/browser/vendor/ holds the dev dependencies"
    for folder, name in _all_packages():
        entry = _record(folder)[name]
        assert entry["version"] == lock[f"node_modules/{name}"]["version"], name
        assert entry["integrity"] == lock[f"node_modules/{name}"]["integrity"], name
        assert entry["integrity"].startswith("sha512-")


def _npm_cache() -> Path:
    configured = os.environ.get("npm_config_cache") or os.environ.get("NPM_CONFIG_CACHE")
    return Path(configured) if configured else Path.home() / ".npm"


def _cached_tarball(integrity: str) -> bytes | None:
    """The tarball with this SRI integrity from npm's content-addressed cache (cacache), or None."""
    digest = base64.b64decode(integrity.removeprefix("sha512-")).hex()
    path = _npm_cache() / "_cacache" / "content-v2" / "sha512" / digest[:2] / digest[2:4] / digest[4:]
    return path.read_bytes() if path.is_file() else None


def _tarball_files(data: bytes) -> dict[str, bytes]:
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[member.name.split("/", 1)[1]] = extracted.read()  # npm's top folder, "package/"
    return files


@pytest.mark.parametrize(("folder", "name"), _all_packages(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_vendored_files_are_byte_identical_to_the_pinned_tarball(folder: Path, name: str) -> None:
    entry = _record(folder)[name]
    tarball = _cached_tarball(entry["integrity"])
    if tarball is not None:
        actual = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        assert actual == entry["integrity"], f"npm's cached tarball of {name} is not the lockfile's"
        original = _tarball_files(tarball)
        source = f"npm's cached tarball {name}@{entry['version']}"
    else:
        installed = KIOSK / "node_modules" / name
        package_json = installed / "package.json"
        if not package_json.is_file() or json.loads(package_json.read_text(encoding="utf-8"))["version"] != entry["version"]:
            pytest.skip(f"neither npm's cache nor kiosk/node_modules has {name}@{entry['version']}: "
                        "run kiosk/vendor.sh (or npm ci in kiosk/) once to compare the bytes")
        original = {rel: (installed / rel).read_bytes() for rel in entry["files"] if (installed / rel).is_file()}
        source = f"kiosk/node_modules/{name}"
    for rel in entry["files"]:
        assert rel in original, f"{name}/{rel} is not in {source}"
        assert (folder / name / rel).read_bytes() == original[rel], f"{name}/{rel} differs from {source}"


# ------------------------------------------------------------------- (c) the import graph


def _import_graph() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the import graph cannot be followed (install node >= 20)")
    proc = subprocess.run(
        [node, "--experimental-vm-modules", "--no-warnings", str(KIOSK / "importgraph.mjs")],
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False, cwd=ROOT,
    )
    graph: dict[str, Any] = json.loads(proc.stdout)
    assert proc.returncode == 0 and not graph["problems"], "\n".join(graph["problems"]) + proc.stderr
    return graph


def test_every_import_resolves_and_reaches_exactly_the_vendored_js() -> None:
    graph = _import_graph()
    record = _record(SERVED)
    for name, entry in record.items():
        shipped = sorted(rel for rel in entry["files"] if not LICENCE.fullmatch(rel))
        assert graph["vendor"].get(name) == shipped, f"{name}: vendored {shipped}, reached {graph['vendor'].get(name)}"
        licences = [rel for rel in entry["files"] if LICENCE.fullmatch(rel)]
        assert licences, f"{name} is vendored without its licence"
    assert set(graph["vendor"]) == set(record), "a vendored package no import reaches, or an import of an unvendored one"
    # our own modules are all in the graph (they are its entries), the vendored ones are reached
    reached = set(graph["modules"])
    assert "/kiosk/static/js/kiosk.js" in reached and "/kiosk/static/js/receipt.js" in reached
    assert "/kiosk/static/vendor/socket.io-client/dist/socket.io.esm.min.js" in reached


IMPORT_MAP_PAGES = {
    ROOT / "kiosk/templates/kiosk/kiosk.html": '{% include "kiosk/importmap.html" %}',
    ROOT / "kiosk/templates/kiosk/receipt.html": '{% include "kiosk/importmap.html" %}',
    ROOT / "tally/templates/bigscreen/screen.html": '{% include "kiosk/importmap.html" %}',
    ROOT / "tally/templates/staff/console.html": '{% block importmap %}{% include "kiosk/importmap.html" %}{% endblock %}',
}


def test_pages_reach_vendored_js_only_through_the_one_import_map() -> None:
    for page, include in IMPORT_MAP_PAGES.items():
        text = page.read_text(encoding="utf-8")
        assert include in text, f"{page.relative_to(ROOT)} does not include the import map"
        module = text.find('type="module"')
        assert module == -1 or text.index(include) < module, f"{page.relative_to(ROOT)}: import map after a module script"
    base = (ROOT / "tally/templates/staff/base.html").read_text(encoding="utf-8")
    assert base.index("{% block importmap %}") < base.index('type="module"')
    served = [*(ROOT / "kiosk/templates").rglob("*.html"), *(ROOT / "tally/templates").rglob("*.html"),
              *(ROOT / "kiosk/static/js").rglob("*.js"), *(ROOT / "tally/static").rglob("*.js")]
    for path in served:
        if path.name == "importmap.html":
            continue
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        assert "node_modules" not in text, f"{rel} names node_modules"
        assert not re.search(r"""["'`]/kiosk/static/vendor|filename=["']vendor""", text), f"{rel} loads from the vendor folder by path"


def test_no_test_drivers_or_type_declarations_are_served() -> None:
    static = KIOSK / "static"
    assert not list(static.rglob("*.mjs")), "JS test drivers belong in tests/js/"
    assert not [p for p in static.rglob("*") if p.name.endswith((".d.ts", ".map", ".ts", ".md"))]
    total = sum(p.stat().st_size for p in SERVED.rglob("*") if p.is_file())
    assert total < 1_000_000, f"vendored files are {total} bytes"
