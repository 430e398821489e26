"""A published result, arranged for display: the rows, bars and statuses of the results page and
of the 公告 exports. Everything is read from the §8 ``result`` entry (counts and the §9
``outcome`` the service computed when it published) and the §4.1 vote entry (labels); nothing is
recomputed here except percentages for the bars and the number of votes a threshold needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tally.store.models import Meeting, Vote


@dataclass
class Bar:
    id: str
    label: str
    label_en: str | None
    count: int
    pct: float
    """``count`` as a percentage of the rule's base (the bar's width, capped at 100)."""


@dataclass
class Item:
    """One question, nominee or evaluated department: its bars and its result."""

    contest: str
    title: str
    extra: str | None
    bars: list[Bar]
    passed: bool | None = None
    grade: str | None = None
    grade_label: str | None = None
    grade_label_en: str | None = None
    blank: int = 0
    """未按 for this item: deputies present minus this item's counts (those who did not vote, and
    those who voted but left this item blank)."""


@dataclass
class Ranked:
    """One project or candidate of a selection or election, in ranking order."""

    rank: int
    id: str
    label: str
    label_en: str | None
    description: str | None
    budget_cny: int | None
    count: int
    pct: float
    status: str
    """``elected``, ``tied``, ``not_elected`` or ``below_threshold`` (SPEC §9)."""


@dataclass
class ResultView:
    meeting_id: str
    meeting_title: str
    body: str
    vote_id: str
    position: int
    kind: str
    rule: str
    title: str
    members: int
    present: int
    counted: int
    not_voted: int
    base_name: str
    base: int
    threshold: str | None
    needed: int | None
    """Votes needed to pass or to be elected (``None`` without a threshold)."""
    marker: float | None
    """Where the threshold falls on a bar, in percent of the base."""
    quorum_met: bool
    trustees: list[int]
    items: list[Item] = field(default_factory=list)
    ranking: list[Ranked] = field(default_factory=list)
    seats: int | None = None
    unfilled: int | None = None
    published_at: datetime | None = None
    log_index: int | None = None
    item_blanks: bool = False
    """A deputy may leave an item blank (a nominee of 人事任免): each item's 未按 may then exceed
    the vote's, and the pages and the 公告 say how it is counted."""


def needed_votes(threshold: str | None, base: int) -> int | None:
    """The least count meeting the threshold: "more than half" is ``2·n > base``, "two thirds or
    more" is ``3·n ≥ 2·base`` (SPEC §9)."""
    if threshold == "half":
        return base // 2 + 1
    if threshold == "two_thirds":
        return (2 * base + 2) // 3
    return None


def _pct(count: int, base: int) -> float:
    return round(min(100.0, 100.0 * count / base), 1) if base > 0 else 0.0


def result_view(meeting: Meeting, vote: Vote, result: dict[str, Any], *, published_at: datetime | None = None,
                log_index: int | None = None) -> ResultView:
    entry = vote.entry
    rule = entry["rule"]
    outcome = result["outcome"]
    present = vote.present or 0
    counted = int(result["counted"])
    base_name = rule.get("base", "members")
    base = {"members": meeting.members, "present": present, "cast": counted}[base_name]
    threshold = rule.get("threshold") if rule["name"] != "rating" else "half"
    counts = {(t["contest"], t["option"]): int(t["count"]) for t in result["tallies"]}
    contests = {c["id"]: c for c in entry["contests"]}
    view = ResultView(
        meeting_id=meeting.id, meeting_title=meeting.title, body=meeting.body, vote_id=vote.vote_id,
        position=vote.position, kind=entry["kind"], rule=rule["name"], title=entry["title"],
        members=meeting.members, present=present, counted=counted, not_voted=max(0, present - counted),
        base_name=base_name, base=base, threshold=threshold, needed=needed_votes(threshold, base),
        marker={"half": 50.0, "two_thirds": round(200 / 3, 1)}.get(threshold or ""),
        quorum_met=bool(outcome["quorum_met"]), trustees=list(result["trustees"]),
        published_at=published_at, log_index=log_index,
    )

    def bars(contest: dict[str, Any], order: list[str] | None = None) -> list[Bar]:
        options = {o["id"]: o for o in contest["options"]}
        ids = order or list(options)
        return [Bar(i, options[i].get("label", i), options[i].get("label_en"), counts[(contest["id"], i)],
                    _pct(counts[(contest["id"], i)], base)) for i in ids]

    def extra(contest: dict[str, Any]) -> str | None:
        return contest.get("post") or contest.get("description")

    def blank(contest: dict[str, Any]) -> int:
        return max(0, present - sum(counts[(contest["id"], o["id"])] for o in contest["options"]))

    if rule["name"] in ("majority", "rating"):
        view.item_blanks = any(int(c.get("min", 1)) == 0 for c in entry["contests"])
    if rule["name"] == "majority":
        for item in outcome["items"]:
            contest = contests[item["contest"]]
            view.items.append(Item(contest["id"], contest["title"], extra(contest), bars(contest),
                                   passed=bool(item["passed"]), blank=blank(contest)))
    elif rule["name"] == "rating":
        levels = list(rule["levels"])
        for item in outcome["items"]:
            contest = contests[item["contest"]]
            level = {o["id"]: o for o in contest["options"]}.get(item["grade"] or "")
            view.items.append(Item(contest["id"], contest["title"], extra(contest), bars(contest, levels),
                                   grade=item["grade"], grade_label=level.get("label") if level else None,
                                   grade_label_en=level.get("label_en") if level else None,
                                   blank=blank(contest)))
    else:
        view.seats = int(rule["seats"])
        view.unfilled = int(outcome["unfilled"])
        for rank, row in enumerate(outcome["ranking"], start=1):
            cid, oid = row["candidate"]
            option = next(o for o in contests[cid]["options"] if o["id"] == oid)
            budget = option.get("budget_cny")
            view.ranking.append(Ranked(
                rank, oid, option.get("label", oid), option.get("label_en"), option.get("description"),
                budget if isinstance(budget, int) and not isinstance(budget, bool) else None,
                int(row["count"]), _pct(int(row["count"]), base), row["status"],
            ))
    return view
