"""Vote templates: §4.1 vote entries, with the right §9 rule, for the five kinds of vote.

These are conveniences for clerks and the simulator; their choices (option ids, bounds, rule
defaults) are the project's own and are listed in docs/spec-notes.md. Every template returns
an entry that :func:`ballot.vote.parse_vote` accepts.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

from ballot.vote import parse_vote

YES, NO, ABSTAIN = "yes", "no", "abstain"
SATISFIED, BASICALLY_SATISFIED, UNSATISFIED = "satisfied", "basically_satisfied", "unsatisfied"

_YES_NO_ABSTAIN = [
    {"id": YES, "label": "赞成", "label_en": "For"},
    {"id": NO, "label": "反对", "label_en": "Against"},
    {"id": ABSTAIN, "label": "弃权", "label_en": "Abstain"},
]
_LEVELS = [
    {"id": SATISFIED, "label": "满意", "label_en": "Satisfied"},
    {"id": BASICALLY_SATISFIED, "label": "基本满意", "label_en": "Basically satisfied"},
    {"id": UNSATISFIED, "label": "不满意", "label_en": "Unsatisfied"},
]


def _entry(
    vote_id: str, kind: str, title: str, contests: list[dict[str, Any]], rule: dict[str, Any], recast: bool
) -> dict[str, Any]:
    entry = {
        "type": "vote",
        "vote_id": vote_id,
        "kind": kind,
        "title": title,
        "contests": contests,
        "constraints": [],
        "rule": rule,
        "recast": recast,
    }
    parse_vote(entry)  # raises VoteDefinitionError on a bad template input
    return entry


def resolution(
    vote_id: str, title: str, *, threshold: str = "half", base: str = "members", recast: bool = False
) -> dict[str, Any]:
    """议案表决: one contest, exactly one of 赞成/反对/弃权; passes on the ``yes`` count."""
    contests = [{"id": "motion", "title": title, "min": 1, "max": 1, "options": copy.deepcopy(_YES_NO_ABSTAIN)}]
    rule = {"name": "majority", "yes": YES, "threshold": threshold, "base": base}
    return _entry(vote_id, "resolution", title, contests, rule, recast)


def appointment(
    vote_id: str,
    title: str,
    nominees: Sequence[dict[str, Any]],
    *,
    threshold: str = "half",
    base: str = "members",
    recast: bool = False,
) -> dict[str, Any]:
    """人事任免: one contest per nominee (``{"id", "name", ...}``), at most one of 赞成/反对/弃权 each
    (a deputy may leave a nominee blank)."""
    contests = [
        {
            "id": nominee["id"],
            "title": nominee["name"],
            **{k: v for k, v in nominee.items() if k not in ("id", "name")},
            "min": 0,
            "max": 1,
            "options": copy.deepcopy(_YES_NO_ABSTAIN),
        }
        for nominee in nominees
    ]
    rule = {"name": "majority", "yes": YES, "threshold": threshold, "base": base}
    return _entry(vote_id, "appointment", title, contests, rule, recast)


def _select(
    vote_id: str,
    kind: str,
    title: str,
    contest_id: str,
    options: Sequence[dict[str, Any]],
    seats: int,
    threshold: str,
    base: str,
    recast: bool,
) -> dict[str, Any]:
    contests = [{"id": contest_id, "title": title, "min": 0, "max": seats, "options": [dict(o) for o in options]}]
    rule = {
        "name": "select",
        "seats": seats,
        "candidates": [[contest_id, option["id"]] for option in options],
        "threshold": threshold,
        "base": base,
    }
    return _entry(vote_id, kind, title, contests, rule, recast)


def selection(
    vote_id: str,
    title: str,
    projects: Sequence[dict[str, Any]],
    seats: int,
    *,
    threshold: str = "half",
    base: str = "members",
    recast: bool = False,
) -> dict[str, Any]:
    """民生实事项目票决: choose up to ``seats`` of the projects (``{"id", "label", "budget_cny", ...}``)."""
    return _select(vote_id, "selection", title, "projects", projects, seats, threshold, base, recast)


def election(
    vote_id: str,
    title: str,
    candidates: Sequence[dict[str, Any]],
    seats: int,
    *,
    threshold: str = "half",
    base: str = "members",
    recast: bool = False,
) -> dict[str, Any]:
    """选举: choose up to ``seats`` of the candidates (``{"id", "label", ...}``)."""
    return _select(vote_id, "election", title, "candidates", candidates, seats, threshold, base, recast)


def evaluation(
    vote_id: str,
    title: str,
    items: Sequence[dict[str, Any]],
    *,
    base: str = "cast",
    recast: bool = False,
) -> dict[str, Any]:
    """满意度测评: one contest per item (``{"id", "name", ...}``), exactly one of 满意/基本满意/不满意."""
    contests = [
        {
            "id": item["id"],
            "title": item["name"],
            **{k: v for k, v in item.items() if k not in ("id", "name")},
            "min": 1,
            "max": 1,
            "options": copy.deepcopy(_LEVELS),
        }
        for item in items
    ]
    rule = {"name": "rating", "levels": [SATISFIED, BASICALLY_SATISFIED, UNSATISFIED], "base": base}
    return _entry(vote_id, "evaluation", title, contests, rule, recast)
