"""Counting rules (SPEC §9) as pure functions.

``validate_rule(rule, vote)`` checks a §4.1 vote's ``rule`` object strictly against the vote;
``compute_outcome(rule, vote, counts, members=, present=, counted=, quorum=)`` turns the
decrypted counts into exactly the §9 ``outcome`` object that goes into the §8 ``result`` entry.
Both are deterministic, do no I/O and raise only :class:`ballot.errors.RuleError`. The outcome
contains only dict/list/str/int/bool/None, so it serialises to canonical JSON (SPEC §1) as is.

Decisions where SPEC §9 is silent (copied to docs/spec-notes.md):

1. **``base`` is optional.** SPEC §9 calls ``members`` "the default", so a rule without a
   ``base`` key is accepted and counted with base ``members``. A rule that does carry ``base``
   must use ``members``, ``present`` or ``cast``. No other key is optional, and unknown keys are
   rejected (the rule is hashed with the vote, so it is kept strict).
2. **Every rule needs at least one contest.** A vote whose ``contests`` is empty is rejected.
3. **``majority``:** ``yes`` must be an option id of *every* contest (one contest per question or
   nominee). Contest ``min``/``max`` are not constrained by the rule.
4. **``select``:** ``seats`` is an int ≥ 1 (``bool`` is not an int). ``seats`` may exceed the
   number of candidates (等额/short lists): then ``unfilled > 0``. ``candidates`` is a non-empty
   list of distinct ``[contest_id, option_id]`` pairs naming existing options; it need not list
   every option of the vote and may span several contests. Each pair must be a JSON array
   (a list) of exactly two strings.
5. **``rating``:** ``levels`` is a list of exactly 3 distinct option-id strings. Every contest
   must have exactly those three options (in any display order, no others) and
   ``min = max = 1``.
6. **Counts.** ``counts`` must hold an int (not ``bool``) for every option of every contest,
   keyed ``(contest_id, option_id)``; a missing count, an extra key naming no option, a negative
   count, or a count greater than ``counted`` (each ballot adds 0 or 1 to each option, §4.3) is a
   :class:`RuleError`. Consequently no count can exceed any base when the numbers below hold.
7. **Meeting numbers.** ``members ≥ 1`` and ``0 ≤ counted ≤ present ≤ members`` are required
   (§5: the number counted never exceeds ``present``; only members hold credentials); anything
   else is a :class:`RuleError`. ``quorum`` must be ``two_thirds`` or ``majority``.
8. **Base 0** (SPEC §9, revision 2): when the base is 0 (for instance ``cast`` with nothing
   counted), no ``half`` or ``two_thirds`` threshold is met, so no item passes and no candidate
   meets a ``half`` threshold, and every ``grade`` is ``None``. (Revision 1 left this open; the
   formulas read literally made "two thirds or more" of 0 hold.)
9. **Quorum not met, ``select``:** every candidate is ``not_elected`` (there is no
   ``below_threshold`` either), ``elected = []``, ``tied = []``, ``unfilled = seats``, and
   ``ranking`` lists every candidate by count descending, ties by ``candidates`` order. Counts are
   still reported in every rule.
10. **``select`` with ``threshold: "none"``** means every candidate meets the threshold, so none is
    ``below_threshold``.
11. **Tie at the seat boundary.** Among the threshold-meeting candidates in rank order, let ``c``
    be the count in place ``seats``; if place ``seats + 1`` also has ``c``, *every*
    threshold-meeting candidate with count ``c`` (including any ranked above place ``seats``) is
    ``tied``, those with a count above ``c`` are ``elected``, and the rest ``not_elected``. Ties
    wholly above or below the boundary change nothing but the ranking order.
12. **Majority ``counts``** is an object with every option of the contest (vote option order,
    though canonical JSON sorts keys anyway). ``not_voted = present − counted`` is the same for
    every item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ballot.errors import RuleError

RULE_NAMES = ("majority", "select", "rating")
BASES = ("members", "present", "cast")
QUORUMS = ("two_thirds", "majority")
K = TypeVar("K")

_KEYS: dict[str, frozenset[str]] = {
    "majority": frozenset({"name", "yes", "threshold", "base"}),
    "select": frozenset({"name", "seats", "candidates", "threshold", "base"}),
    "rating": frozenset({"name", "levels", "base"}),
}
_OPTIONAL = frozenset({"base"})
_THRESHOLDS = {
    "majority": ("half", "two_thirds"),
    "select": ("half", "none"),
}


# ---------------------------------------------------------------------------------------------
# small helpers


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _more_than_half(count: int, base: int) -> bool:
    """"More than half" of base: ``2·count > base``, never met at base 0 (SPEC §9)."""
    return base > 0 and 2 * count > base


def _two_thirds_or_more(count: int, base: int) -> bool:
    """"Two thirds or more" of base: ``3·count ≥ 2·base``, never met at base 0 (SPEC §9)."""
    return base > 0 and 3 * count >= 2 * base


def quorum_met(quorum: str, *, members: int, present: int) -> bool:
    """The §9 quorum test: ``two_thirds`` → ``3·present ≥ 2·members``;
    ``majority`` → ``2·present > members``."""
    if quorum == "two_thirds":
        return 3 * present >= 2 * members
    if quorum == "majority":
        return 2 * present > members
    raise RuleError(f"quorum must be one of {', '.join(QUORUMS)}, not {quorum!r}", where="quorum")


def _index_vote(vote: Any) -> list[tuple[str, dict[str, Any], list[str]]]:
    """The vote's contests as ``(contest_id, contest, [option ids])``, checking just enough of
    the §4.1 structure that the rule can be applied (duplicate ids would make counts ambiguous)."""
    if not isinstance(vote, Mapping):
        raise RuleError("the vote must be an object", where="vote")
    contests = vote.get("contests")
    if not isinstance(contests, list):
        raise RuleError("the vote must have a list of contests", where="contests")
    if not contests:
        raise RuleError("the vote has no contests", where="contests")
    out: list[tuple[str, dict[str, Any], list[str]]] = []
    seen: set[str] = set()
    for i, contest in enumerate(contests):
        where = f"contests[{i}]"
        if not isinstance(contest, Mapping):
            raise RuleError("a contest must be an object", where=where)
        cid = contest.get("id")
        if not isinstance(cid, str):
            raise RuleError("a contest id must be a string", where=f"{where}.id")
        if cid in seen:
            raise RuleError(f"duplicate contest id {cid!r}", where=f"{where}.id")
        seen.add(cid)
        options = contest.get("options")
        if not isinstance(options, list):
            raise RuleError(f"contest {cid!r} must have a list of options", where=f"{where}.options")
        oids: list[str] = []
        for j, option in enumerate(options):
            owhere = f"{where}.options[{j}]"
            if not isinstance(option, Mapping) or not isinstance(option.get("id"), str):
                raise RuleError("an option must be an object with a string id", where=owhere)
            if option["id"] in oids:
                raise RuleError(f"duplicate option id {option['id']!r} in contest {cid!r}", where=owhere)
            oids.append(option["id"])
        out.append((cid, dict(contest), oids))
    return out


def _base_name(rule: Mapping[str, Any]) -> str:
    return str(rule.get("base", "members"))


# ---------------------------------------------------------------------------------------------
# validation


def validate_rule(rule: Any, vote: Any) -> None:
    """Check a §4.1 vote's ``rule`` strictly against the vote (SPEC §9).

    Raises :class:`RuleError` whose ``where`` names the offending place, e.g.
    ``rule.candidates[2]`` or ``contests[1].options``. ``base`` may be omitted (meaning
    ``members``, the §9 default); see the module docstring for every other decision.
    """
    if not isinstance(rule, Mapping):
        raise RuleError("the rule must be an object", where="rule")
    name = rule.get("name")
    if not isinstance(name, str) or name not in RULE_NAMES:
        raise RuleError(f"rule name must be one of {', '.join(RULE_NAMES)}, not {name!r}", where="rule.name")
    for key in rule:
        if not isinstance(key, str) or key not in _KEYS[name]:
            raise RuleError(f"unknown key {key!r} in a {name} rule", where=f"rule.{key}")
    missing = sorted(_KEYS[name] - _OPTIONAL - set(rule))
    if missing:
        raise RuleError(f"a {name} rule needs {', '.join(missing)}", where=f"rule.{missing[0]}")
    if "base" in rule and (not isinstance(rule["base"], str) or rule["base"] not in BASES):
        raise RuleError(f"base must be one of {', '.join(BASES)}, not {rule['base']!r}", where="rule.base")
    if name in _THRESHOLDS:
        threshold = rule["threshold"]
        allowed = _THRESHOLDS[name]
        if not isinstance(threshold, str) or threshold not in allowed:
            raise RuleError(
                f"a {name} rule's threshold must be one of {', '.join(allowed)}, not {threshold!r}",
                where="rule.threshold",
            )

    contests = _index_vote(vote)

    if name == "majority":
        yes = rule["yes"]
        if not isinstance(yes, str):
            raise RuleError("yes must be an option id (a string)", where="rule.yes")
        for cid, _contest, oids in contests:
            if yes not in oids:
                raise RuleError(f"yes option {yes!r} is not an option of contest {cid!r}", where="rule.yes")
        return

    if name == "select":
        seats = rule["seats"]
        if not _is_int(seats) or seats < 1:
            raise RuleError(f"seats must be an integer ≥ 1, not {seats!r}", where="rule.seats")
        candidates = rule["candidates"]
        if not isinstance(candidates, list) or not candidates:
            raise RuleError("candidates must be a non-empty list", where="rule.candidates")
        options = {cid: set(oids) for cid, _contest, oids in contests}
        seen: set[tuple[str, str]] = set()
        for i, cand in enumerate(candidates):
            where = f"rule.candidates[{i}]"
            if not (isinstance(cand, list) and len(cand) == 2 and all(isinstance(x, str) for x in cand)):
                raise RuleError("a candidate must be a [contest_id, option_id] pair of strings", where=where)
            cid, oid = cand
            if cid not in options:
                raise RuleError(f"candidate names unknown contest {cid!r}", where=where)
            if oid not in options[cid]:
                raise RuleError(f"candidate names unknown option {oid!r} of contest {cid!r}", where=where)
            if (cid, oid) in seen:
                raise RuleError(f"duplicate candidate [{cid!r}, {oid!r}]", where=where)
            seen.add((cid, oid))
        return

    # rating
    levels = rule["levels"]
    if not isinstance(levels, list) or len(levels) != 3:
        raise RuleError("levels must be a list of exactly 3 option ids", where="rule.levels")
    for i, level in enumerate(levels):
        if not isinstance(level, str):
            raise RuleError("a level must be an option id (a string)", where=f"rule.levels[{i}]")
        if level in levels[:i]:
            raise RuleError(f"duplicate level {level!r}", where=f"rule.levels[{i}]")
    for i, (cid, contest, oids) in enumerate(contests):
        if sorted(oids) != sorted(levels):
            raise RuleError(
                f"contest {cid!r} must have exactly the options {', '.join(levels)}, has {', '.join(oids)}",
                where=f"contests[{i}].options",
            )
        for bound in ("min", "max"):
            value = contest.get(bound)
            if not _is_int(value) or value != 1:
                raise RuleError(
                    f"contest {cid!r} must take exactly one level ({bound} = 1), has {bound} = {value!r}",
                    where=f"contests[{i}].{bound}",
                )


# ---------------------------------------------------------------------------------------------
# outcomes


def compute_outcome(
    rule: Any,
    vote: Any,
    counts: Mapping[tuple[str, str], int],
    *,
    members: int,
    present: int,
    counted: int,
    quorum: str,
) -> dict[str, Any]:
    """The §9 outcome object for ``rule`` over ``vote``, from the decrypted counts.

    ``counts[(contest_id, option_id)]`` is every option's count; ``members`` is the meeting's
    ``members`` (§6.3), ``present`` the ``open`` entry's ``present`` (§7), ``counted`` the number
    of ballots counted (§8) and ``quorum`` the meeting's ``quorum`` field. The base is
    ``members``/``present``/``counted`` for ``rule.base`` ``members``/``present``/``cast``.

    Returns, per SPEC §9:

    - majority: ``{"quorum_met", "items": [{"contest", "counts", "not_voted", "passed"}]}``
    - select: ``{"quorum_met", "ranking": [{"candidate", "count", "status"}], "elected", "tied",
      "unfilled"}``
    - rating: ``{"quorum_met", "items": [{"contest", "counts", "grade"}]}``

    Raises :class:`RuleError` for a malformed rule, inconsistent numbers or bad counts.
    """
    validate_rule(rule, vote)
    contests = _index_vote(vote)
    for label, value in (("members", members), ("present", present), ("counted", counted)):
        if not _is_int(value):
            raise RuleError(f"{label} must be an integer, not {value!r}", where=label)
    if members < 1:
        raise RuleError(f"members must be ≥ 1, not {members}", where="members")
    if not 0 <= present <= members:
        raise RuleError(f"present must be between 0 and members ({members}), not {present}", where="present")
    if not 0 <= counted <= present:
        raise RuleError(f"counted must be between 0 and present ({present}), not {counted}", where="counted")
    met = quorum_met(quorum, members=members, present=present)
    table = _check_counts(counts, contests, counted)

    base = {"members": members, "present": present, "cast": counted}[_base_name(rule)]
    name = rule["name"]
    if name == "majority":
        return _majority(rule, contests, table, base=base, met=met, not_voted=present - counted)
    if name == "select":
        return _select(rule, table, base=base, met=met)
    return _rating(rule, contests, table, base=base, met=met)


def _check_counts(
    counts: Any, contests: list[tuple[str, dict[str, Any], list[str]]], counted: int
) -> dict[tuple[str, str], int]:
    if not isinstance(counts, Mapping):
        raise RuleError("counts must be a mapping from (contest, option) to count", where="counts")
    wanted = {(cid, oid) for cid, _contest, oids in contests for oid in oids}
    for key in counts:
        if key not in wanted:
            raise RuleError(f"a count for {key!r}, which is no option of the vote", where="counts")
    table: dict[tuple[str, str], int] = {}
    for cid, _contest, oids in contests:
        for oid in oids:
            where = f"counts[{cid}, {oid}]"
            if (cid, oid) not in counts:
                raise RuleError(f"no count for option {oid!r} of contest {cid!r}", where=where)
            n = counts[(cid, oid)]
            if not _is_int(n):
                raise RuleError(f"a count must be an integer, not {n!r}", where=where)
            if not 0 <= n <= counted:
                raise RuleError(f"count {n} is outside 0..counted ({counted})", where=where)
            table[(cid, oid)] = n
    return table


def _majority(
    rule: Mapping[str, Any],
    contests: list[tuple[str, dict[str, Any], list[str]]],
    table: dict[tuple[str, str], int],
    *,
    base: int,
    met: bool,
    not_voted: int,
) -> dict[str, Any]:
    """SPEC §9 ``majority``: passed iff quorum met and the ``yes`` count meets the threshold."""
    test = _more_than_half if rule["threshold"] == "half" else _two_thirds_or_more
    items = []
    for cid, _contest, oids in contests:
        yes = table[(cid, rule["yes"])]
        items.append(
            {
                "contest": cid,
                "counts": {oid: table[(cid, oid)] for oid in oids},
                "not_voted": not_voted,
                "passed": met and test(yes, base),
            }
        )
    return {"quorum_met": met, "items": items}


def select_ranking(
    order: Sequence[K],
    count: Mapping[K, int],
    *,
    seats: int,
    threshold: str,
    base: int,
    met: bool,
) -> list[tuple[K, str]]:
    """The §9 ``select`` algorithm over any entries: ``order`` lists them in tie-break order and
    ``count`` gives each its count. Returns ``(entry, status)`` in ranking order: the
    threshold-meeting entries by count descending (stable, so equal counts keep ``order``), each
    ``elected``, ``tied`` or ``not_elected``, then the others ``below_threshold``; without quorum,
    every entry ``not_elected``. Used by :func:`compute_outcome` and by the statutory election of
    docs/protocol.md §12.7 rule 5 (:mod:`ballot.election`), which ranks listed candidates and
    write-in names together."""

    def by_count(group: list[K]) -> list[K]:
        # Python's sort is stable, so equal counts keep their order in ``order``.
        return sorted(group, key=lambda key: -count[key])

    if not met:
        return [(key, "not_elected") for key in by_count(list(order))]
    if threshold == "none":
        meeting, below = list(order), []
    else:
        meeting = [key for key in order if _more_than_half(count[key], base)]
        below = [key for key in order if not _more_than_half(count[key], base)]
    ranked = by_count(meeting)

    status: dict[K, str] = {}
    if len(ranked) <= seats:
        for key in ranked:
            status[key] = "elected"
    else:
        c = count[ranked[seats - 1]]
        if count[ranked[seats]] == c:
            for key in ranked:
                n = count[key]
                status[key] = "elected" if n > c else "tied" if n == c else "not_elected"
        else:
            for place, key in enumerate(ranked):
                status[key] = "elected" if place < seats else "not_elected"
    return [(key, status[key]) for key in ranked] + [(key, "below_threshold") for key in by_count(below)]


def _select(
    rule: Mapping[str, Any], table: dict[tuple[str, str], int], *, base: int, met: bool
) -> dict[str, Any]:
    """SPEC §9 ``select``: rank the threshold-meeting candidates, elect up to ``seats``, mark a
    tie at the seat boundary, and list the rest as ``below_threshold``."""
    seats: int = rule["seats"]
    cands = [(c, o) for c, o in rule["candidates"]]
    ranking = select_ranking(cands, table, seats=seats, threshold=rule["threshold"], base=base, met=met)
    return {
        "quorum_met": met,
        "ranking": [{"candidate": [c, o], "count": table[(c, o)], "status": s} for (c, o), s in ranking],
        "elected": [[c, o] for (c, o), s in ranking if s == "elected"],
        "tied": [[c, o] for (c, o), s in ranking if s == "tied"],
        "unfilled": seats - sum(1 for _, s in ranking if s == "elected") if met else seats,
    }


def _rating(
    rule: Mapping[str, Any],
    contests: list[tuple[str, dict[str, Any], list[str]]],
    table: dict[tuple[str, str], int],
    *,
    base: int,
    met: bool,
) -> dict[str, Any]:
    """SPEC §9 ``rating``: the first level if more than half of base chose it; else the second if
    the first two together are more than half; else the third. ``None`` without quorum or at
    base 0."""
    first, second, third = rule["levels"]
    items = []
    for cid, _contest, oids in contests:
        n1, n2 = table[(cid, first)], table[(cid, second)]
        grade: str | None
        if not met or base == 0:
            grade = None
        elif _more_than_half(n1, base):
            grade = first
        elif _more_than_half(n1 + n2, base):
            grade = second
        else:
            grade = third
        items.append({"contest": cid, "counts": {oid: table[(cid, oid)] for oid in oids}, "grade": grade})
    return {"quorum_met": met, "items": items}
