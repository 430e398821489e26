"""Printing benchmark tables and writing them into docs/performance.md between markers."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

PERFORMANCE_MD = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (also readable as plain text)."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def machine() -> str:
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}"


def write_section(name: str, command: str, body: str) -> None:
    """Replace the section between ``<!-- bench:NAME:start -->`` and ``…:end -->`` (or append it)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"<!-- bench:{name}:start -->\n"
        f"Measured {stamp} on {machine()} with `{command}`.\n\n{body}\n"
        f"<!-- bench:{name}:end -->"
    )
    text = PERFORMANCE_MD.read_text(encoding="utf-8") if PERFORMANCE_MD.exists() else "# Performance\n"
    pattern = re.compile(rf"<!-- bench:{name}:start -->.*?<!-- bench:{name}:end -->", re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    PERFORMANCE_MD.parent.mkdir(parents=True, exist_ok=True)
    PERFORMANCE_MD.write_text(text, encoding="utf-8")
