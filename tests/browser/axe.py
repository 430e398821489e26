"""axe-core in the browser tests: ``assert_no_axe_violations(page, context)``.

axe-core is pinned in kiosk/package.json (a dev dependency) and vendored by kiosk/vendor.sh into
``tests/browser/vendor/axe-core/`` (axe.min.js, its licences and package.json), so the tests need
no network and no npm. The script is injected into the page under test and run on the whole
document; any violation, at any impact, fails the test with the rule, its impact, the WCAG help
text and the elements it found.

    from browser.axe import assert_no_axe_violations
    assert_no_axe_violations(page, "kiosk ballot v3, 800×1280, largest text")

``rules`` passes axe rule options, e.g. ``{"color-contrast-enhanced": {"enabled": True}}`` for
the WCAG AAA 7:1 contrast check (off in axe by default).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

AXE_DIR = Path(__file__).resolve().parent / "vendor" / "axe-core"
AXE_VERSION = json.loads((AXE_DIR / "package.json").read_text())["version"]
_SOURCE: str | None = None

_RUN = """async (options) => {
  const result = await window.axe.run(document, options);
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 200),
                                 summary: (n.failureSummary || "").replace(/\\s+/g, " ").trim() })),
  }));
}"""


def axe_source() -> str:
    global _SOURCE
    if _SOURCE is None:
        _SOURCE = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")
    return _SOURCE


def axe_violations(page: Any, *, rules: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Inject axe-core (once per document) and return its violations on ``page``'s document."""
    if not page.evaluate("() => typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        page.add_script_tag(content=axe_source())
        version = page.evaluate("() => window.axe.version")
        assert version == AXE_VERSION, f"axe-core {version} in the page, {AXE_VERSION} vendored"
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if rules:
        options["rules"] = rules
    return page.evaluate(_RUN, options)


def format_violations(violations: list[dict[str, Any]], limit: int = 5) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} element(s)] {v['helpUrl']}")
        for node in v["nodes"][:limit]:
            lines.append(f"    {node['target']}: {node['summary']}")
            lines.append(f"      {node['html']}")
        if len(v["nodes"]) > limit:
            lines.append(f"    … and {len(v['nodes']) - limit} more")
    return "\n".join(lines)


def assert_no_axe_violations(page: Any, context: str, *, rules: dict[str, dict[str, Any]] | None = None) -> None:
    """Fail, listing every violation, unless axe-core finds none on ``page`` (``context`` names
    the page and state in the failure message)."""
    violations = axe_violations(page, rules=rules)
    assert not violations, f"axe-core {AXE_VERSION}: {len(violations)} violation(s) on {context}:\n" + \
        format_violations(violations)
