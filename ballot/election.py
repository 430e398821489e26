"""Statutory elections (选举): the vote's ``election`` object, counting write-ins, ranking listed
candidates with write-in names, and follow-up votes (docs/protocol.md §12.2, §12.7, §12.8).

* :func:`parse_election` checks a vote entry against §12.2 rules 1–5 (the candidate contests of
  赞成/反对/弃权, the write-in contest, the ``select`` rule, the ``against`` and ``seats``
  constraints, the names) and returns an :class:`Election`; :func:`election_of` is the cached
  form the ballot checks use. :func:`expected_constraints` builds §12.2 rule 4's constraints
  (the template in :mod:`ballot.templates` uses it).
* :func:`check_follow_up` is §12.8 at the index of a follow-up vote: 再次投票 (``tied``) among
  the tied candidates, 另行选举 (``unfilled``) with the statutory list;
  :func:`follow_up_names` proposes the list by that rule (for the presidium to review).
* :func:`mix_rows` are the rows of §12.5 rule 1; :func:`decode_row` and :func:`count_writeins`
  are §12.6 rule 3 and §12.7 rules 2–4; :func:`election_outcome` is §12.7 rule 5.

Every function is pure; a violated rule raises :class:`VoteDefinitionError` (the vote) or
:class:`RuleError` (counting), naming the place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ballot.elgamal import Ciphertext
from ballot.errors import EncodingError, RuleError, VoteDefinitionError
from ballot.group import Point
from ballot.hashing import canonical_json
from ballot.names import decode_name, is_valid_name, normalise
from ballot.rules import compute_outcome, select_ranking
from ballot.vote import VoteDefinition

ELECTION_KEYS = frozenset({"candidates", "writein", "follows"})
CANDIDATE_KEYS = frozenset({"contest", "name"})
FOLLOWS_KEYS = frozenset({"vote_id", "reason"})
REASONS = ("tied", "unfilled")
YES, NO, ABSTAIN = "yes", "no", "abstain"
OPTIONS = (YES, NO, ABSTAIN)
WRITEINS_KEYS = frozenset({"cast", "names", "invalid"})

UNDECODABLE = None
"""What :func:`decode_row` gives for a slot whose points are not the encoding of a string."""


@dataclass(frozen=True, slots=True)
class Election:
    """A checked ``election`` object (§12.2) with the numbers the ballot and result checks need."""

    candidates: tuple[tuple[str, str], ...]
    """``(contest id, name)`` of each listed candidate, in list order."""
    writein: str | None
    """The write-in contest's id, or ``None`` for an election without write-ins."""
    slots: tuple[str, ...]
    """The write-in slots' option ids, in slot order (empty without write-ins)."""
    seats: int
    follows: tuple[str, str] | None
    """``(vote_id, reason)`` of a follow-up vote (§12.8)."""

    @property
    def width(self) -> int:
        """``W = 2w``: ciphertexts per row of the mix (§12.5 rule 1)."""
        return 2 * len(self.slots)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.candidates)


def is_statutory(vote: VoteDefinition) -> bool:
    """Whether ``vote`` is a statutory election: its entry has a top-level ``election`` (§12.2)."""
    return "election" in vote.entry


def expected_constraints(contests: Sequence[str], writein: str | None, slots: Sequence[str], seats: int) -> list[dict[str, Any]]:
    """§12.2 rule 4: ``against`` (write-ins ≤ 反对 marks, with write-ins only) and ``seats``
    (赞成 + write-ins ≤ seats)."""
    yes = [[c, YES] for c in contests]
    if writein is None:
        return [{"id": "seats", "members": yes, "min": 0, "max": min(seats, len(contests))}]
    against = [[c, NO] for c in contests] + [[writein, o, -1] for o in slots]
    return [
        {"id": "against", "members": against, "min": 0, "max": len(contests)},
        {"id": "seats", "members": yes + [[writein, o] for o in slots], "min": 0, "max": min(seats, len(contests) + len(slots))},
    ]


def _fail(message: str, where: str) -> VoteDefinitionError:
    return VoteDefinitionError(message, where=f"vote.{where}")


def parse_election(vote: VoteDefinition) -> Election:
    """Check §12.2 rules 1–5 for a vote entry with an ``election`` field (rule 6, the follow-up,
    needs the log: :func:`check_follow_up`). Raises :class:`VoteDefinitionError`."""
    raw = vote.entry.get("election")
    if not isinstance(raw, dict) or set(raw) != ELECTION_KEYS:
        raise _fail("election has exactly the fields candidates, writein, follows", "election")
    if vote.kind != "election":  # rule 1
        raise _fail('a statutory election has kind "election"', "kind")
    candidates_raw = raw["candidates"]
    if not isinstance(candidates_raw, list) or not candidates_raw:
        raise _fail("election.candidates is a non-empty array", "election.candidates")
    candidates: list[tuple[str, str]] = []
    for i, item in enumerate(candidates_raw):
        at = f"election.candidates[{i}]"
        if not isinstance(item, dict) or set(item) != CANDIDATE_KEYS:
            raise _fail("a candidate has exactly contest, name", at)
        if not isinstance(item["contest"], str) or not isinstance(item["name"], str):
            raise _fail("a candidate's contest and name are strings", at)
        if not is_valid_name(item["name"]):  # rule 5
            raise _fail(f"{item['name']!r} is not a valid name (§12.3 rule 3)", f"{at}.name")
        if any(item["name"] == name for _, name in candidates):
            raise _fail(f"candidate name {item['name']!r} is listed twice", f"{at}.name")
        candidates.append((item["contest"], item["name"]))
    writein = raw["writein"]
    if writein is not None and not isinstance(writein, str):
        raise _fail("election.writein is a contest id or null", "election.writein")
    follows_raw = raw["follows"]
    follows = None
    if follows_raw is not None:
        if not isinstance(follows_raw, dict) or set(follows_raw) != FOLLOWS_KEYS:
            raise _fail("election.follows is null or exactly {vote_id, reason}", "election.follows")
        if not isinstance(follows_raw["vote_id"], str) or follows_raw["reason"] not in REASONS:
            raise _fail('follows has a vote_id string and reason "tied" or "unfilled"', "election.follows")
        if follows_raw["vote_id"] == vote.vote_id:
            raise _fail("a vote cannot follow itself", "election.follows.vote_id")
        follows = (follows_raw["vote_id"], follows_raw["reason"])

    # rule 2: the candidate contests, then the write-in contest, and nothing else
    contests = vote.contests
    expected_count = len(candidates) + (1 if writein is not None else 0)
    if len(contests) != expected_count:
        raise _fail(f"expected {expected_count} contests (one per candidate, then the write-in contest)", "contests")
    for i, ((contest_id, _name), contest) in enumerate(zip(candidates, contests)):
        if contest.id != contest_id:
            raise _fail(f"contest {i} must be candidate contest {contest_id!r}", f"contests[{i}].id")
        if contest.min != 1 or contest.max != 1 or contest.options != OPTIONS:
            raise _fail("a candidate contest has min = max = 1 and options yes, no, abstain", f"contests[{i}]")
    slots: tuple[str, ...] = ()
    if writein is not None:
        last = contests[-1]
        if last.id != writein:
            raise _fail(f"the last contest must be the write-in contest {writein!r}", f"contests[{len(contests) - 1}].id")
        if last.min != 0 or last.max != len(last.options):
            raise _fail("the write-in contest has min = 0 and max = its number of slots", f"contests[{len(contests) - 1}]")
        slots = last.options

    # rule 3: the select rule over the yes options
    rule = vote.rule
    if rule.get("name") != "select":
        raise _fail('a statutory election counts by the "select" rule', "rule.name")
    if rule.get("candidates") != [[c, YES] for c, _ in candidates]:
        raise _fail("rule.candidates is [[c_i, \"yes\"], …] in candidate order", "rule.candidates")
    seats = rule["seats"]

    # rule 4: the constraints, byte for byte
    expected = expected_constraints([c for c, _ in candidates], writein, slots, seats)
    if canonical_json(vote.entry["constraints"]) != canonical_json(expected):
        raise _fail("the constraints are not against/seats of §12.2 rule 4", "constraints")
    return Election(tuple(candidates), writein, slots, seats, follows)


_cache: dict[bytes, Election] = {}


def election_of(vote: VoteDefinition) -> Election | None:
    """:func:`parse_election` of a statutory election (cached by the vote hash), ``None`` for any
    other vote."""
    if not is_statutory(vote):
        return None
    found = _cache.get(vote.hash)
    if found is None:
        found = parse_election(vote)
        if len(_cache) > 256:
            _cache.clear()
        _cache[vote.hash] = found
    return found


# ---------------------------------------------------------------- follow-up votes (§12.8)


def check_follow_up(
    election: Election,
    earlier: Election | None,
    outcome: Any,
    *,
    followed_before: bool,
) -> None:
    """§12.8 rules 1–4 for a follow-up ``election`` of a vote whose checked election is ``earlier``
    (``None`` if it is not a statutory election) and whose published outcome is ``outcome``
    (``None`` if it has no result yet); ``followed_before`` if an earlier vote already follows it."""
    assert election.follows is not None
    vote_id, reason = election.follows
    where = "election.follows"
    if earlier is None:
        raise _fail(f"vote {vote_id!r} is not a statutory election defined before", where)
    if not isinstance(outcome, dict):
        raise _fail(f"vote {vote_id!r} has no result before this vote", where)
    if outcome.get("quorum_met") is not True:
        raise _fail(f"vote {vote_id!r} did not meet its quorum", where)
    if followed_before:
        raise _fail(f"vote {vote_id!r} already has a follow-up", where)
    unfilled, tied, ranking = outcome.get("unfilled"), outcome.get("tied"), outcome.get("ranking")
    if not isinstance(ranking, list) or not isinstance(tied, list):
        raise _fail(f"vote {vote_id!r}'s outcome is not a statutory outcome", where)
    if election.seats != unfilled:  # rule 2
        raise _fail(f"the seats ({election.seats}) must be the {unfilled!r} left unfilled", "rule.seats")
    names = list(election.names)
    if reason == "tied":  # rule 3
        if not tied or names != tied:
            raise _fail(f"a 再次投票 lists exactly the tied candidates {tied}, in order", "election.candidates")
        return
    # rule 4: 另行选举
    if tied or not isinstance(unfilled, int) or unfilled < 1:
        raise _fail("a 另行选举 follows an outcome with unfilled seats and no tie", where)
    m, s = len(names), unfilled
    if not (m == 2 if s == 1 else s + 1 <= m <= s + 3):
        wanted = "2" if s == 1 else f"{s + 1} to {s + 3}"
        raise _fail(f"{m} candidates for {s} seat(s); the statutory list has {wanted}", "election.candidates")
    open_entries = [e for e in ranking if isinstance(e, dict) and e.get("status") != "elected"]
    order = [e.get("name") for e in open_entries]
    positions = []
    for i, name in enumerate(names):
        if name not in order:
            raise _fail(f"{name!r} is not a candidate of vote {vote_id!r} left unelected", f"election.candidates[{i}]")
        positions.append(order.index(name))
    if positions != sorted(positions):
        raise _fail("the candidates must appear in the order of the earlier ranking", "election.candidates")
    counts = [open_entries[p].get("count") for p in positions]
    if not counts or not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        raise _fail("the earlier ranking must give every listed candidate an integer count", "election.follows")
    least = min(c for c in counts if isinstance(c, int))
    for entry in open_entries:
        if entry.get("name") not in names and isinstance(entry.get("count"), int) and entry["count"] > least:
            raise _fail(
                f"{entry.get('name')!r} ({entry['count']} votes) ranks above a listed candidate ({least})",
                "election.candidates",
            )


def follow_up_names(outcome: Mapping[str, Any], reason: str, *, extra: int = 1) -> list[str]:
    """The candidate list §12.8 gives for a follow-up: the tied names (``tied``), or the first
    unelected names by rank (``unfilled``): two for one seat, else ``seats + extra`` (``extra`` in
    1..3). Ties at the end of the list are the presidium's choice; this takes the earlier-ranked."""
    if reason == "tied":
        return list(outcome["tied"])
    seats = outcome["unfilled"]
    if not 1 <= extra <= 3:
        raise RuleError("a 另行选举 list has one to three more candidates than seats", where="extra")
    size = 2 if seats == 1 else seats + extra
    open_names = [e["name"] for e in outcome["ranking"] if e["status"] != "elected"]
    if len(open_names) < size:
        raise RuleError(f"only {len(open_names)} unelected candidates for a list of {size}", where="ranking")
    return open_names[:size]


# ---------------------------------------------------------------- the mix and the names (§12.5–§12.7)


def mix_rows(names: Sequence[Sequence[tuple[Ciphertext, Ciphertext]]]) -> list[tuple[Ciphertext, ...]]:
    """§12.5 rule 1: one row per counted ballot (given in ballot-entry order), the two name
    ciphertexts of each slot in slot order."""
    return [tuple(ct for name in ballot for ct in name) for ballot in names]


def decode_row(points: Sequence[Point]) -> list[str | None]:
    """§12.6 rule 3: each slot's decoded string (``""`` for the blank), or :data:`UNDECODABLE`."""
    out: list[str | None] = []
    for s in range(0, len(points), 2):
        try:
            out.append(decode_name((points[s], points[s + 1])))
        except EncodingError:
            out.append(UNDECODABLE)
    return out


def count_writeins(election: Election, counts: Mapping[tuple[str, str], int], rows: Sequence[Sequence[str | None]]) -> dict[str, Any]:
    """§12.7 rules 2–4: the ``writeins`` object from the slot options' counts and the decoded
    rows. Raises :class:`RuleError` if more slots are non-blank than write-ins were declared."""
    assert election.writein is not None
    cast = sum(counts[(election.writein, option)] for option in election.slots)
    listed = set(election.names)
    tally: dict[str, int] = {}
    non_blank = 0
    for row in rows:
        seen: set[str] = set()
        for text in row:
            if text == "":
                continue
            non_blank += 1
            if text is UNDECODABLE:
                continue
            name = normalise(text)
            if not is_valid_name(name) or name in listed or name in seen:
                continue
            seen.add(name)
            tally[name] = tally.get(name, 0) + 1
    if non_blank > cast:
        raise RuleError(f"{non_blank} non-blank write-in slots but only {cast} write-ins declared", where="writeins")
    names = sorted(tally.items(), key=lambda item: (-item[1], item[0]))
    return {
        "cast": cast,
        "names": [{"name": name, "count": count} for name, count in names],
        "invalid": cast - sum(tally.values()),
    }


def check_writeins_bounds(value: Any, *, slots: int, counted: int) -> None:
    """§12.9 V49, before any decryption work: the shape of ``writeins`` and its bounds."""
    if not isinstance(value, dict) or set(value) != WRITEINS_KEYS:
        raise RuleError("writeins has exactly cast, names, invalid", where="writeins")
    cast, invalid, names = value["cast"], value["invalid"], value["names"]
    if not _is_int(cast) or not 0 <= cast <= slots * counted:
        raise RuleError(f"writeins.cast = {cast!r} is not within 0..{slots * counted}", where="writeins.cast")
    if not _is_int(invalid) or not 0 <= invalid <= cast:
        raise RuleError(f"writeins.invalid = {invalid!r} is not within 0..cast", where="writeins.invalid")
    if not isinstance(names, list):
        raise RuleError("writeins.names is an array", where="writeins.names")
    total = 0
    for i, item in enumerate(names):
        if not isinstance(item, dict) or set(item) != {"name", "count"} or not isinstance(item["name"], str):
            raise RuleError("a write-in name has exactly name (a string) and count", where=f"writeins.names[{i}]")
        if not _is_int(item["count"]) or not 1 <= item["count"] <= counted:
            raise RuleError(f"count {item['count']!r} is not within 1..{counted}", where=f"writeins.names[{i}].count")
        total += item["count"]
    if total != cast - invalid:
        raise RuleError(f"the names' counts add up to {total}, not cast − invalid = {cast - invalid}", where="writeins")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def election_outcome(
    vote: VoteDefinition,
    election: Election,
    counts: Mapping[tuple[str, str], int],
    writeins: Mapping[str, Any] | None,
    *,
    members: int,
    present: int,
    counted: int,
    quorum: str,
) -> dict[str, Any]:
    """§12.7 rule 5: §9's ``select`` over the listed candidates (list order, each with its
    ``yes`` count) then the write-in names (code-point order) of ``writeins``."""
    checked = compute_outcome(vote.rule, vote.entry, counts, members=members, present=present, counted=counted, quorum=quorum)
    entries: list[tuple[str, str | None, int]] = [(name, contest, counts[(contest, YES)]) for contest, name in election.candidates]
    if writeins is not None:
        entries += sorted(((item["name"], None, item["count"]) for item in writeins["names"]), key=lambda e: e[0])
    base = {"members": members, "present": present, "cast": counted}[vote.rule.get("base", "members")]
    ranking = select_ranking(
        list(range(len(entries))),
        {i: e[2] for i, e in enumerate(entries)},
        seats=election.seats,
        threshold=vote.rule["threshold"],
        base=base,
        met=checked["quorum_met"],
    )
    elected = [entries[i][0] for i, status in ranking if status == "elected"]
    return {
        "quorum_met": checked["quorum_met"],
        "ranking": [{"name": entries[i][0], "contest": entries[i][1], "count": entries[i][2], "status": status} for i, status in ranking],
        "elected": elected,
        "tied": [entries[i][0] for i, status in ranking if status == "tied"],
        "unfilled": election.seats - len(elected),
    }
