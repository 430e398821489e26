"""Vote templates: §4.1 vote entries, with the right §9 rule, for the five kinds of vote, and the
statutory election of docs/protocol.md §12.2.

These are conveniences for clerks and the simulator; their choices (option ids, bounds, rule
defaults) are the project's own and are listed in docs/spec-notes.md. Every template returns
an entry that :func:`ballot.vote.parse_vote` accepts.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ballot.election import expected_constraints, parse_election
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


def statutory_election(
    vote_id: str,
    title: str,
    candidates: Sequence[dict[str, Any]],
    seats: int,
    *,
    writein_slots: int | None = None,
    follows: dict[str, str] | None = None,
    threshold: str = "half",
    base: str = "members",
    recast: bool = False,
) -> dict[str, Any]:
    """选举 under the statute (docs/protocol.md §12.2): per candidate (``{"id", "name", ...}``)
    exactly one of 赞成/反对/弃权; ``writein_slots`` 另选他人 slots (default ``seats``, one per
    seat as on the paper ballot; 0 for none) in a last contest ``writein``; the constraints
    ``against`` (a write-in only beside a 反对) and ``seats`` (赞成 + write-ins ≤ seats); the
    ``select`` rule over the 赞成 counts; ``follows`` (``{"vote_id", "reason"}``) for a 再次投票
    or 另行选举 (§12.8)."""
    slots = seats if writein_slots is None else writein_slots
    contests: list[dict[str, Any]] = [
        {
            "id": candidate["id"],
            "title": candidate["name"],
            **{k: v for k, v in candidate.items() if k not in ("id", "name", "title")},
            "min": 1,
            "max": 1,
            "options": copy.deepcopy(_YES_NO_ABSTAIN),
        }
        for candidate in candidates
    ]
    writein = "writein" if slots else None
    options = [f"w{s}" for s in range(1, slots + 1)]
    if writein is not None:
        contests.append(
            {
                "id": writein,
                "title": "另选他人",
                "title_en": "Write-in",
                "min": 0,
                "max": slots,
                "options": [{"id": o, "label": f"另选他人 {s}"} for s, o in enumerate(options, start=1)],
            }
        )
    ids = [candidate["id"] for candidate in candidates]
    entry = {
        "type": "vote",
        "vote_id": vote_id,
        "kind": "election",
        "title": title,
        "contests": contests,
        "constraints": expected_constraints(ids, writein, options, seats),
        "rule": {"name": "select", "seats": seats, "candidates": [[c, YES] for c in ids], "threshold": threshold, "base": base},
        "election": {
            "candidates": [{"contest": c["id"], "name": c["name"]} for c in candidates],
            "writein": writein,
            "follows": dict(follows) if follows is not None else None,
        },
        "recast": recast,
    }
    parse_election(parse_vote(entry))  # raises VoteDefinitionError on a bad template input
    return entry
