"""Vote definitions (SPEC §4.1).

:func:`parse_vote` turns a ``vote`` log entry into a :class:`VoteDefinition`, checking it
strictly: bad ``min``/``max``, constraint members that do not exist and duplicate ids raise
:class:`VoteDefinitionError` naming the field. The §9 ``rule`` is checked by
:func:`ballot.rules.validate_rule`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ballot.errors import EncodingError, RuleError, VoteDefinitionError, wrong_fields
from ballot.hashing import canonical_json, h256
from ballot.rules import validate_rule

VOTE_TAG = "piaojue/1/vote"
KINDS = ("resolution", "appointment", "selection", "election", "evaluation")
IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Meeting and vote ids appear in URLs (SPEC §11), so they are restricted to this alphabet."""
MAX_OPTIONS = 500
"""Total options across a vote's contests; bounds a ballot's size (docs/spec-notes.md)."""
MAX_RANGE = 500
CONSTRAINT_KEYS = frozenset({"id", "members", "min", "max"})
"""A constraint has exactly these fields (SPEC §8.1 "Exact shapes"); contests and options may carry
display fields besides their required ones."""
"""Largest ``max − min + 1`` of any contest or constraint range proof."""

OptionRef = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Contest:
    id: str
    min: int
    max: int
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Constraint:
    """A §4.1 constraint, with the signed members of protocol §12.1: ``coefficients[i]`` is the
    ``+1`` or ``−1`` of ``members[i]`` (empty: every member ``+1``, as §4.1 has it)."""

    id: str
    members: tuple[OptionRef, ...]
    min: int
    max: int
    coefficients: tuple[int, ...] = ()

    def signed_members(self) -> list[tuple[OptionRef, int]]:
        """``(member, coefficient)`` pairs in the vote's order."""
        return list(zip(self.members, self.coefficients or (1,) * len(self.members)))

    @property
    def offset(self) -> int:
        """``d``: the number of members with coefficient ``−1`` (§12.1 rule 2)."""
        return sum(1 for c in self.coefficients if c == -1)

    def value(self, selected: set[OptionRef] | frozenset[OptionRef]) -> int:
        """``Σ₊ x_m − Σ₋ x_m`` for the selected options (the kiosk's check, §12.1 rule 2)."""
        return sum(c for ref, c in self.signed_members() if ref in selected)


@dataclass(frozen=True, slots=True)
class VoteDefinition:
    """A parsed and checked §4.1 ``vote`` entry. ``entry`` is the exact JSON object."""

    vote_id: str
    kind: str
    title: str
    contests: tuple[Contest, ...]
    constraints: tuple[Constraint, ...]
    rule: dict[str, Any]
    recast: bool
    entry: dict[str, Any]
    hash: bytes

    def option_refs(self) -> list[OptionRef]:
        """Every ``(contest_id, option_id)`` in ballot order."""
        return [(contest.id, option) for contest in self.contests for option in contest.options]


def vote_hash(entry: dict[str, Any]) -> bytes:
    """``Hv = H256("piaojue/1/vote", canonical JSON of the entry)`` (SPEC §4.1)."""
    return h256(VOTE_TAG, canonical_json(entry))


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise VoteDefinitionError(f"missing field {key!r}", where=where)
    value = obj[key]
    if isinstance(value, bool) and kind is not bool:
        raise VoteDefinitionError(f"{key!r} has the wrong type", where=f"{where}.{key}")
    if not isinstance(value, kind):
        raise VoteDefinitionError(f"{key!r} has the wrong type", where=f"{where}.{key}")
    return value


def _text_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 128:
        raise VoteDefinitionError("an id is a non-empty string of at most 128 characters", where=where)
    return value


def _bounds(obj: dict[str, Any], size: int, where: str) -> tuple[int, int]:
    low = _require(obj, "min", int, where)
    high = _require(obj, "max", int, where)
    if not 0 <= low <= high <= size:
        raise VoteDefinitionError(f"needs 0 ≤ min ≤ max ≤ {size}, got min={low}, max={high}", where=where)
    if high - low + 1 > MAX_RANGE:
        raise VoteDefinitionError(f"range [{low}, {high}] is larger than {MAX_RANGE}", where=where)
    return low, high


def _parse_contest(raw: Any, where: str) -> Contest:
    if not isinstance(raw, dict):
        raise VoteDefinitionError("a contest is an object", where=where)
    contest_id = _text_id(raw.get("id"), f"{where}.id")
    options_raw = _require(raw, "options", list, where)
    if not options_raw:
        raise VoteDefinitionError("a contest needs at least one option", where=f"{where}.options")
    options: list[str] = []
    for i, option in enumerate(options_raw):
        if not isinstance(option, dict):
            raise VoteDefinitionError("an option is an object", where=f"{where}.options[{i}]")
        option_id = _text_id(option.get("id"), f"{where}.options[{i}].id")
        if option_id in options:
            raise VoteDefinitionError(f"duplicate option id {option_id!r}", where=f"{where}.options[{i}].id")
        options.append(option_id)
    low, high = _bounds(raw, len(options), where)
    return Contest(contest_id, low, high, tuple(options))


def _parse_constraint(raw: Any, refs: set[OptionRef], where: str) -> Constraint:
    if not isinstance(raw, dict):
        raise VoteDefinitionError("a constraint is an object", where=where)
    if set(raw) != CONSTRAINT_KEYS:
        raise VoteDefinitionError(wrong_fields(raw, CONSTRAINT_KEYS), where=where)
    constraint_id = _text_id(raw.get("id"), f"{where}.id")
    members_raw = _require(raw, "members", list, where)
    members: list[OptionRef] = []
    coefficients: list[int] = []
    for i, member in enumerate(members_raw):
        at = f"{where}.members[{i}]"
        # protocol §12.1 rule 1: [contest, option] (+1) or [contest, option, -1] (−1), nothing else
        negated = isinstance(member, list) and len(member) == 3 and type(member[2]) is int and member[2] == -1
        if not (
            isinstance(member, list)
            and (len(member) == 2 or negated)
            and all(isinstance(x, str) for x in member[:2])
        ):
            raise VoteDefinitionError("a member is [contest_id, option_id] or [contest_id, option_id, -1]", where=at)
        ref = (member[0], member[1])
        if ref not in refs:
            raise VoteDefinitionError(f"member {list(ref)} is not an option of this vote", where=at)
        if ref in members:
            raise VoteDefinitionError(f"duplicate member {list(ref)}", where=at)
        members.append(ref)
        coefficients.append(-1 if negated else 1)
    if not members:
        raise VoteDefinitionError("a constraint needs at least one member", where=f"{where}.members")
    negative = coefficients.count(-1)
    if not negative:
        low, high = _bounds(raw, len(members), where)
        return Constraint(constraint_id, tuple(members), low, high)
    low = _require(raw, "min", int, where)
    high = _require(raw, "max", int, where)
    positive = len(members) - negative
    if not -negative <= low <= high <= positive:  # §12.1 rule 2
        raise VoteDefinitionError(
            f"needs −{negative} ≤ min ≤ max ≤ {positive}, got min={low}, max={high}", where=where
        )
    if high - low + 1 > MAX_RANGE:
        raise VoteDefinitionError(f"range [{low}, {high}] is larger than {MAX_RANGE}", where=where)
    return Constraint(constraint_id, tuple(members), low, high, tuple(coefficients))


def parse_vote(entry: Any, *, where: str = "vote") -> VoteDefinition:
    """Parse and check a §4.1 ``vote`` entry; raise :class:`VoteDefinitionError` if it is not valid."""
    if not isinstance(entry, dict):
        raise VoteDefinitionError("a vote definition is a JSON object", where=where)
    if entry.get("type") != "vote":
        raise VoteDefinitionError('"type" must be "vote"', where=f"{where}.type")
    vote_id = _require(entry, "vote_id", str, where)
    if IDENTIFIER.fullmatch(vote_id) is None:
        raise VoteDefinitionError("vote_id must match [A-Za-z0-9_-]{1,64}", where=f"{where}.vote_id")
    kind = _require(entry, "kind", str, where)
    if kind not in KINDS:
        raise VoteDefinitionError(f"kind must be one of {', '.join(KINDS)}", where=f"{where}.kind")
    title = _require(entry, "title", str, where)
    contests_raw = _require(entry, "contests", list, where)
    if not contests_raw:
        raise VoteDefinitionError("a vote needs at least one contest", where=f"{where}.contests")
    contests: list[Contest] = []
    for i, raw in enumerate(contests_raw):
        contest = _parse_contest(raw, f"{where}.contests[{i}]")
        if any(c.id == contest.id for c in contests):
            raise VoteDefinitionError(f"duplicate contest id {contest.id!r}", where=f"{where}.contests[{i}].id")
        contests.append(contest)
    total_options = sum(len(c.options) for c in contests)
    if total_options > MAX_OPTIONS:
        raise VoteDefinitionError(f"{total_options} options in all; at most {MAX_OPTIONS}", where=where)
    refs = {(c.id, o) for c in contests for o in c.options}
    constraints: list[Constraint] = []
    for i, raw in enumerate(_require(entry, "constraints", list, where)):
        constraint = _parse_constraint(raw, refs, f"{where}.constraints[{i}]")
        if any(c.id == constraint.id for c in constraints):
            raise VoteDefinitionError(
                f"duplicate constraint id {constraint.id!r}", where=f"{where}.constraints[{i}].id"
            )
        constraints.append(constraint)
    rule = _require(entry, "rule", dict, where)
    recast = _require(entry, "recast", bool, where)
    try:
        validate_rule(rule, entry)
    except RuleError as exc:
        raise VoteDefinitionError(exc.message, where=f"{where}.{exc.where}" if exc.where else f"{where}.rule")
    try:
        digest = vote_hash(entry)
    except EncodingError as exc:  # floats or huge integers in display fields
        raise VoteDefinitionError(f"not hashable as canonical JSON: {exc}", where=where) from None
    return VoteDefinition(
        vote_id, kind, title, tuple(contests), tuple(constraints), rule, recast, entry, digest
    )
