"""From the clerk's vote form to the parameters of :func:`tally.services.meetings.vote_from_template`.

The kinds with a list (nominees, projects, candidates, evaluated departments) take it as a
textarea, one entry per line, fields separated by a comma (``,`` or ``，``) or a tab, so a list
can be pasted from a spreadsheet:

=============  ===================================  =====================================
kind           one line                             becomes
=============  ===================================  =====================================
appointment    ``姓名,职务``                         ``{"id": "n1", "name", "post"}``
selection      ``名称,预算(元),说明``                 ``{"id": "p01", "label", "budget_cny", "description"}``
election       ``姓名,简介``                         ``{"id": "c1", "label", "description"}``
evaluation     ``名称``                              ``{"id": "d1", "name"}``
=============  ===================================  =====================================

The last field takes the rest of the line, commas and all (descriptions are prose). A budget is
whole yuan (``120000000``), or with ``万``/``亿`` (``1.2亿``, ``12000万``); thousands separators
must be spaces or ``_`` since the comma separates fields. The template itself (``ballot.templates``
via ``tally.services.meetings``) builds and checks the §4.1 entry; this module only reads the lines.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

KINDS = ("resolution", "appointment", "selection", "election", "evaluation")
KIND_NAMES = {
    "resolution": _l("Resolution (议案表决)"),
    "appointment": _l("Appointment (人事任免)"),
    "selection": _l("Livelihood projects (民生实事项目票决)"),
    "election": _l("Election (选举)"),
    "evaluation": _l("Satisfaction evaluation (满意度测评)"),
}
LIST_HELP = {
    "appointment": _l("One nominee per line: name, post (e.g. 王建国,市发展和改革委员会主任)."),
    "selection": _l("One project per line: name, budget in yuan, description "
                    "(e.g. 老旧小区加装电梯,60000000,为 2000 年前建成的老旧住宅加装电梯 300 部)."),
    "election": _l("One candidate per line: name, short biography (e.g. 刘海燕,女，1972 年生，市工商联副主席)."),
    "evaluation": _l("One department or item per line (e.g. 市住房和城乡建设局)."),
}
RULE = {"resolution": "majority", "appointment": "majority", "selection": "select", "election": "select",
        "evaluation": "rating"}
MAX_LINES = 300
_SEPARATOR = re.compile(r"\s*[,，\t]\s*")
_BUDGET = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>万|亿)?\s*(?:元)?")


def parse_budget(text: str) -> int:
    cleaned = text.replace(" ", "").replace("_", "").replace("\u3000", "")
    match = _BUDGET.fullmatch(cleaned)
    if match is None:
        raise ValueError(text)
    try:
        value = Decimal(match["number"]) * {"万": 10_000, "亿": 100_000_000, None: 1}[match["unit"]]
    except InvalidOperation:
        raise ValueError(text) from None
    if value != value.to_integral_value() or value > 10**15:
        raise ValueError(text)
    return int(value)


def _lines(text: str) -> list[tuple[int, str]]:
    rows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip().strip("\ufeff").strip()
        if line:
            rows.append((number, line))
    return rows


_SPLITS = {"appointment": 1, "selection": 2, "election": 1, "evaluation": 0}


def parse_entries(kind: str, text: str) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The list of a kind's entries and the problems found, as ``(line, message)``."""
    problems: list[tuple[int, str]] = []
    entries: list[dict[str, Any]] = []
    if kind not in _SPLITS:
        return entries, problems
    rows = _lines(text)
    if not rows:
        problems.append((0, _("Enter at least one line.")))
        return entries, problems
    if len(rows) > MAX_LINES:
        problems.append((rows[MAX_LINES][0], _("At most %(n)d lines.", n=MAX_LINES)))
        return entries, problems
    seen: dict[str, int] = {}
    for index, (number, line) in enumerate(rows, start=1):
        fields = _SEPARATOR.split(line, maxsplit=_SPLITS[kind]) if _SPLITS[kind] else [line]
        fields += [""] * (3 - len(fields))
        name, second, third = fields[0].strip(), fields[1].strip(), fields[2].strip()
        if not name:
            problems.append((number, _("The name is empty.")))
            continue
        if name in seen:
            problems.append((number, _("%(name)s is listed twice (line %(first)d).", name=name, first=seen[name])))
            continue
        seen[name] = number
        entry: dict[str, Any]
        if kind == "appointment":
            entry = {"id": f"n{index}", "name": name, **({"post": second} if second else {})}
        elif kind == "selection":
            entry = {"id": f"p{index:02d}", "label": name}
            if second:
                try:
                    entry["budget_cny"] = parse_budget(second)
                except ValueError:
                    problems.append((number, _("The budget %(budget)s is not a whole number of yuan.", budget=second)))
                    continue
            if third:
                entry["description"] = third
        elif kind == "election":
            entry = {"id": f"c{index}", "label": name, **({"description": second} if second else {})}
        else:
            entry = {"id": f"d{index}", "name": name}
        entries.append(entry)
    return entries, problems


def template_params(kind: str, form: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``params`` of ``setup.vote_from_template`` from the form and the parsed list."""
    params: dict[str, Any] = {"vote_id": (form.vote_id.data or "").strip(), "title": (form.title.data or "").strip()}
    key = {"appointment": "nominees", "selection": "projects", "election": "candidates", "evaluation": "items"}.get(kind)
    if key:
        params[key] = entries
    if kind in ("selection", "election"):
        params["seats"] = form.seats.data
    if kind != "evaluation":
        params["threshold"] = form.threshold.data
    params["base"] = form.base.data
    params["recast"] = bool(form.recast.data)
    return params
