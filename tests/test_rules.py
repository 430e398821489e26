"""Tests for ballot/rules.py: the SPEC §9 counting rules, with hand-computed outcomes."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballot.errors import RuleError
from ballot.hashing import canonical_json
from ballot.rules import compute_outcome, quorum_met, validate_rule

# ---------------------------------------------------------------------------------------------
# fixtures


def contest(cid: str, options: list[str], lo: int = 0, hi: int = 1) -> dict:
    return {"id": cid, "title": cid, "min": lo, "max": hi, "options": [{"id": o, "label": o} for o in options]}


def vote_of(*contests: dict, rule: dict | None = None) -> dict:
    return {
        "type": "vote",
        "vote_id": "v1",
        "kind": "resolution",
        "title": "t",
        "contests": list(contests),
        "constraints": [],
        "rule": rule,
        "recast": False,
    }


YNA = ["yes", "no", "abstain"]
MAJ_VOTE = vote_of(contest("q1", YNA), contest("q2", YNA))


def majority_rule(threshold: str = "half", base: str | None = "members") -> dict:
    rule = {"name": "majority", "yes": "yes", "threshold": threshold}
    if base is not None:
        rule["base"] = base
    return rule


def maj_counts(q1: tuple[int, int, int], q2: tuple[int, int, int] = (0, 0, 0)) -> dict:
    out = {}
    for cid, triple in (("q1", q1), ("q2", q2)):
        for oid, n in zip(YNA, triple):
            out[(cid, oid)] = n
    return out


def maj_item(cid: str, triple: tuple[int, int, int], not_voted: int, passed: bool) -> dict:
    return {
        "contest": cid,
        "counts": dict(zip(YNA, triple)),
        "not_voted": not_voted,
        "passed": passed,
    }


def select_setup(counts: dict[str, int], order: list[str] | None = None, *, max_: int = 1):
    """One contest "s" whose options are the candidates, in ``order`` (default: dict order)."""
    order = order or list(counts)
    v = vote_of(contest("s", order, 0, max_))
    table = {("s", o): n for o, n in counts.items()}
    cands = [["s", o] for o in order]
    return v, table, cands


def select_rule(seats: int, cands: list, threshold: str = "half", base: str = "members") -> dict:
    return {"name": "select", "seats": seats, "candidates": cands, "threshold": threshold, "base": base}


def rk(o: str, n: int, status: str) -> dict:
    return {"candidate": ["s", o], "count": n, "status": status}


LEVELS = ["good", "fair", "poor"]
RATING_RULE = {"name": "rating", "levels": LEVELS, "base": "members"}


def rating_vote(n: int) -> dict:
    return vote_of(*[contest(f"i{k}", LEVELS, 1, 1) for k in range(1, n + 1)])


def rating_counts(*triples: tuple[int, int, int]) -> dict:
    return {(f"i{k}", lvl): n for k, t in enumerate(triples, 1) for lvl, n in zip(LEVELS, t)}


def rating_item(k: int, triple: tuple[int, int, int], grade: str | None) -> dict:
    return {"contest": f"i{k}", "counts": dict(zip(LEVELS, triple)), "grade": grade}


def outcome(rule, vote, counts, *, members, present, counted, quorum="two_thirds"):
    out = compute_outcome(rule, vote, counts, members=members, present=present, counted=counted, quorum=quorum)
    # Every outcome is a JSON document that round-trips and has a canonical form (§1).
    assert json.loads(json.dumps(out)) == out
    canonical_json(out)
    return out


# ---------------------------------------------------------------------------------------------
# quorum


@pytest.mark.parametrize(
    "quorum,members,present,met",
    [
        ("two_thirds", 99, 66, True),  # 198 >= 198
        ("two_thirds", 99, 65, False),  # 195 < 198
        ("two_thirds", 100, 67, True),  # 201 >= 200
        ("two_thirds", 100, 66, False),  # 198 < 200
        ("majority", 100, 51, True),  # 102 > 100
        ("majority", 100, 50, False),  # 100 > 100 fails
        ("majority", 99, 50, True),  # 100 > 99
        ("majority", 99, 49, False),  # 98 > 99 fails
    ],
)
def test_quorum_boundaries(quorum, members, present, met):
    assert quorum_met(quorum, members=members, present=present) is met


def test_quorum_unknown_kind():
    with pytest.raises(RuleError) as e:
        quorum_met("half", members=10, present=10)
    assert e.value.where == "quorum"


# ---------------------------------------------------------------------------------------------
# majority


def test_majority_half_exact_boundary_fails_and_one_more_passes():
    # base = members = 100; 2·50 = 100 is not > 100; 2·51 = 102 > 100.
    out = outcome(majority_rule(), MAJ_VOTE, maj_counts((50, 15, 5), (51, 14, 4)), members=100, present=80, counted=70)
    assert out == {
        "quorum_met": True,
        "items": [
            maj_item("q1", (50, 15, 5), 10, False),
            maj_item("q2", (51, 14, 4), 10, True),
        ],
    }


def test_majority_two_thirds_exact_boundary_passes():
    # base = members = 99; 2·base = 198; 3·66 = 198 passes, 3·65 = 195 fails.
    out = outcome(
        majority_rule("two_thirds"), MAJ_VOTE, maj_counts((66, 10, 4), (65, 11, 4)), members=99, present=90, counted=80
    )
    assert out == {
        "quorum_met": True,
        "items": [
            maj_item("q1", (66, 10, 4), 10, True),
            maj_item("q2", (65, 11, 4), 10, False),
        ],
    }


def test_majority_two_thirds_base_present():
    # base = present = 90 -> 2·base = 180; 3·60 = 180 passes; 3·59 = 177 fails.
    out = outcome(
        majority_rule("two_thirds", "present"), MAJ_VOTE, maj_counts((60, 20, 5), (59, 21, 5)),
        members=99, present=90, counted=85,
    )
    assert [i["passed"] for i in out["items"]] == [True, False]
    assert [i["not_voted"] for i in out["items"]] == [5, 5]


def test_majority_base_present():
    # base = present = 80: 2·40 = 80 fails, 2·41 = 82 passes (both would fail with base members = 100).
    out = outcome(
        majority_rule("half", "present"), MAJ_VOTE, maj_counts((40, 20, 10), (41, 19, 10)),
        members=100, present=80, counted=70,
    )
    assert out == {
        "quorum_met": True,
        "items": [
            maj_item("q1", (40, 20, 10), 10, False),
            maj_item("q2", (41, 19, 10), 10, True),
        ],
    }


def test_majority_base_cast():
    # base = counted = 70: 2·35 = 70 fails, 2·36 = 72 passes.
    out = outcome(
        majority_rule("half", "cast"), MAJ_VOTE, maj_counts((35, 30, 5), (36, 30, 4)),
        members=100, present=80, counted=70,
    )
    assert out == {
        "quorum_met": True,
        "items": [
            maj_item("q1", (35, 30, 5), 10, False),
            maj_item("q2", (36, 30, 4), 10, True),
        ],
    }


def test_majority_base_missing_means_members():
    # Same counts as the cast test: with base members = 100, 36 fails.
    out = outcome(
        majority_rule("half", None), MAJ_VOTE, maj_counts((35, 30, 5), (51, 15, 4)),
        members=100, present=80, counted=70,
    )
    assert [i["passed"] for i in out["items"]] == [False, True]


def test_majority_base_zero_meets_no_threshold():
    # SPEC §9 revision 2: at base 0 neither "more than half" nor "two thirds or more" is met
    # (read literally, 3·0 ≥ 2·0 would pass every item of a two-thirds vote with nothing counted).
    half = outcome(majority_rule("half", "cast"), MAJ_VOTE, maj_counts((0, 0, 0)), members=10, present=10, counted=0)
    two = outcome(
        majority_rule("two_thirds", "cast"), MAJ_VOTE, maj_counts((0, 0, 0)), members=10, present=10, counted=0
    )
    assert [i["passed"] for i in half["items"]] == [False, False]
    assert [i["passed"] for i in two["items"]] == [False, False]
    assert [i["not_voted"] for i in two["items"]] == [10, 10]


def test_select_and_rating_at_base_zero():
    # Nothing counted under base cast: no candidate meets a half threshold; no grade (SPEC §9 rev 2).
    sel = outcome(select_rule(1, [["s", "a"], ["s", "b"]], "half", "cast"), vote_of(contest("s", ["a", "b"], 0, 1)),
                  {("s", "a"): 0, ("s", "b"): 0}, members=10, present=10, counted=0)
    assert [row["status"] for row in sel["ranking"]] == ["below_threshold", "below_threshold"]
    assert sel["elected"] == [] and sel["unfilled"] == 1
    rating = outcome(
        _with(RATING_RULE, base="cast"), RAT_VOTE, rating_counts((0, 0, 0), (0, 0, 0)), members=10, present=10, counted=0
    )
    assert [item["grade"] for item in rating["items"]] == [None, None]


@pytest.mark.parametrize(
    "quorum,members,present,met",
    [
        ("two_thirds", 99, 66, True),
        ("two_thirds", 99, 65, False),
        ("majority", 100, 51, True),
        ("majority", 100, 50, False),
    ],
)
def test_majority_quorum_boundary(quorum, members, present, met):
    # Everyone present voted yes; with base present that passes iff the quorum was met.
    counts = maj_counts((present, 0, 0), (present, 0, 0))
    out = outcome(
        majority_rule("half", "present"), MAJ_VOTE, counts,
        members=members, present=present, counted=present, quorum=quorum,
    )
    assert out == {
        "quorum_met": met,
        "items": [
            maj_item("q1", (present, 0, 0), 0, met),
            maj_item("q2", (present, 0, 0), 0, met),
        ],
    }


def test_majority_counts_follow_option_order_and_every_option():
    v = vote_of(contest("n1", ["agree", "disagree", "abstain"]), rule=None)
    rule = {"name": "majority", "yes": "agree", "threshold": "half", "base": "members"}
    counts = {("n1", "abstain"): 1, ("n1", "agree"): 7, ("n1", "disagree"): 2}
    out = outcome(rule, v, counts, members=12, present=11, counted=10)
    assert out == {
        "quorum_met": True,
        "items": [
            {"contest": "n1", "counts": {"agree": 7, "disagree": 2, "abstain": 1}, "not_voted": 1, "passed": True}
        ],
    }
    assert list(out["items"][0]["counts"]) == ["agree", "disagree", "abstain"]


# ---------------------------------------------------------------------------------------------
# select


def test_select_fewer_meet_threshold_than_seats():
    # base members = 10; more than half means count >= 6.
    v, table, cands = select_setup({"a": 6, "b": 5, "c": 8, "d": 2}, max_=3)
    out = outcome(select_rule(3, cands), v, table, members=10, present=10, counted=10)
    assert out == {
        "quorum_met": True,
        "ranking": [
            rk("c", 8, "elected"),
            rk("a", 6, "elected"),
            rk("b", 5, "below_threshold"),
            rk("d", 2, "below_threshold"),
        ],
        "elected": [["s", "c"], ["s", "a"]],
        "tied": [],
        "unfilled": 1,
    }


def test_select_exactly_seats_meet_threshold():
    v, table, cands = select_setup({"a": 6, "b": 7, "c": 1})
    out = outcome(select_rule(2, cands), v, table, members=10, present=10, counted=10)
    assert out == {
        "quorum_met": True,
        "ranking": [rk("b", 7, "elected"), rk("a", 6, "elected"), rk("c", 1, "below_threshold")],
        "elected": [["s", "b"], ["s", "a"]],
        "tied": [],
        "unfilled": 0,
    }


def test_select_tie_at_boundary():
    # seats 2: place 2 is b (7), place 3 (c) also 7 -> b, c, d tied; a above 7 elected.
    v, table, cands = select_setup({"a": 9, "b": 7, "c": 7, "d": 7, "e": 3})
    out = outcome(select_rule(2, cands, "none"), v, table, members=10, present=10, counted=10)
    assert out == {
        "quorum_met": True,
        "ranking": [
            rk("a", 9, "elected"),
            rk("b", 7, "tied"),
            rk("c", 7, "tied"),
            rk("d", 7, "tied"),
            rk("e", 3, "not_elected"),
        ],
        "elected": [["s", "a"]],
        "tied": [["s", "b"], ["s", "c"], ["s", "d"]],
        "unfilled": 1,
    }


def test_select_tie_reaching_above_seat_place():
    # seats 2, all three have 7: every candidate with c = 7 is tied, even place 1; nobody elected.
    v, table, cands = select_setup({"a": 7, "b": 7, "c": 7})
    out = outcome(select_rule(2, cands, "none"), v, table, members=10, present=10, counted=10)
    assert out == {
        "quorum_met": True,
        "ranking": [rk("a", 7, "tied"), rk("b", 7, "tied"), rk("c", 7, "tied")],
        "elected": [],
        "tied": [["s", "a"], ["s", "b"], ["s", "c"]],
        "unfilled": 2,
    }


def test_select_tie_exactly_filling_seats_next_lower():
    # seats 3: place 3 has 7, place 4 has 2 -> the first three are elected, no tie.
    v, table, cands = select_setup({"a": 7, "b": 7, "c": 7, "d": 2})
    out = outcome(select_rule(3, cands, "none"), v, table, members=10, present=10, counted=10)
    assert out == {
        "quorum_met": True,
        "ranking": [rk("a", 7, "elected"), rk("b", 7, "elected"), rk("c", 7, "elected"), rk("d", 2, "not_elected")],
        "elected": [["s", "a"], ["s", "b"], ["s", "c"]],
        "tied": [],
        "unfilled": 0,
    }


def test_select_tie_below_boundary_changes_nothing_but_order():
    # candidates order a, d, b, c; d and c tie at 5, below place 2 -> ranked by candidates order.
    v, table, cands = select_setup({"a": 9, "d": 5, "b": 8, "c": 5})
    out = outcome(select_rule(2, cands, "none"), v, table, members=10, present=10, counted=10)
    assert out == {
        "quorum_met": True,
        "ranking": [
            rk("a", 9, "elected"),
            rk("b", 8, "elected"),
            rk("d", 5, "not_elected"),
            rk("c", 5, "not_elected"),
        ],
        "elected": [["s", "a"], ["s", "b"]],
        "tied": [],
        "unfilled": 0,
    }


def test_select_tie_above_boundary_changes_nothing_but_order():
    v, table, cands = select_setup({"b": 9, "a": 9, "c": 8, "d": 5})
    out = outcome(select_rule(3, cands, "none"), v, table, members=10, present=10, counted=10)
    assert out["ranking"] == [
        rk("b", 9, "elected"),
        rk("a", 9, "elected"),
        rk("c", 8, "elected"),
        rk("d", 5, "not_elected"),
    ]
    assert out["elected"] == [["s", "b"], ["s", "a"], ["s", "c"]]
    assert out["tied"] == [] and out["unfilled"] == 0


def test_select_below_threshold_ordering():
    # base members = 20: more than half means >= 11. p 12, t 11 meet; r 10, s 10, q 4 do not.
    v, table, cands = select_setup({"p": 12, "q": 4, "r": 10, "s": 10, "t": 11})
    out = outcome(select_rule(1, cands), v, table, members=20, present=18, counted=18)
    assert out == {
        "quorum_met": True,
        "ranking": [
            rk("p", 12, "elected"),
            rk("t", 11, "not_elected"),
            rk("r", 10, "below_threshold"),
            rk("s", 10, "below_threshold"),
            rk("q", 4, "below_threshold"),
        ],
        "elected": [["s", "p"]],
        "tied": [],
        "unfilled": 0,
    }


def test_select_threshold_half_exact_boundary_and_bases():
    # count 5: base members 10 -> 2·5 = 10 fails; base present 9 -> 10 > 9 passes; base cast 8 passes.
    v, table, cands = select_setup({"a": 5, "b": 4})
    m = outcome(select_rule(1, cands, base="members"), v, table, members=10, present=9, counted=8)
    assert m["ranking"] == [rk("a", 5, "below_threshold"), rk("b", 4, "below_threshold")]
    assert m["elected"] == [] and m["unfilled"] == 1
    p = outcome(select_rule(1, cands, base="present"), v, table, members=10, present=9, counted=8)
    assert p["ranking"] == [rk("a", 5, "elected"), rk("b", 4, "below_threshold")]
    c = outcome(select_rule(1, cands, base="cast"), v, table, members=10, present=9, counted=8)
    # base cast = 8: 2·4 = 8 fails, 2·5 = 10 passes.
    assert c == p


def test_select_threshold_none_ranks_zero_counts():
    v, table, cands = select_setup({"a": 0, "b": 1, "c": 0})
    out = outcome(select_rule(2, cands, "none"), v, table, members=10, present=10, counted=1)
    # place 2 is a (0), place 3 is c (0): a and c tied, b elected.
    assert out == {
        "quorum_met": True,
        "ranking": [rk("b", 1, "elected"), rk("a", 0, "tied"), rk("c", 0, "tied")],
        "elected": [["s", "b"]],
        "tied": [["s", "a"], ["s", "c"]],
        "unfilled": 1,
    }


def test_select_candidates_across_contests_and_subset():
    # Per-project contests (赞成/反对), with candidates the 赞成 options; 反对 options are not candidates.
    v = vote_of(contest("p1", ["y", "n"]), contest("p2", ["y", "n"]), contest("p3", ["y", "n"]))
    counts = {("p1", "y"): 6, ("p1", "n"): 3, ("p2", "y"): 8, ("p2", "n"): 1, ("p3", "y"): 3, ("p3", "n"): 7}
    rule = {"name": "select", "seats": 1, "candidates": [["p1", "y"], ["p2", "y"], ["p3", "y"]], "threshold": "half"}
    out = outcome(rule, v, counts, members=10, present=10, counted=10)  # no base: members
    assert out == {
        "quorum_met": True,
        "ranking": [
            {"candidate": ["p2", "y"], "count": 8, "status": "elected"},
            {"candidate": ["p1", "y"], "count": 6, "status": "not_elected"},
            {"candidate": ["p3", "y"], "count": 3, "status": "below_threshold"},
        ],
        "elected": [["p2", "y"]],
        "tied": [],
        "unfilled": 0,
    }


def test_select_seats_more_than_candidates():
    v, table, cands = select_setup({"a": 9, "b": 8})
    out = outcome(select_rule(5, cands, "none"), v, table, members=10, present=10, counted=10)
    assert out["elected"] == [["s", "a"], ["s", "b"]] and out["unfilled"] == 3


@pytest.mark.parametrize("quorum,members,present", [("two_thirds", 99, 65), ("majority", 100, 50)])
def test_select_quorum_not_met(quorum, members, present):
    # Every candidate not_elected (even one below threshold), ranked by count desc then candidates order.
    v, table, cands = select_setup({"a": 3, "b": 40, "c": 40, "d": 45})
    out = outcome(select_rule(2, cands), v, table, members=members, present=present, counted=45, quorum=quorum)
    assert out == {
        "quorum_met": False,
        "ranking": [
            rk("d", 45, "not_elected"),
            rk("b", 40, "not_elected"),
            rk("c", 40, "not_elected"),
            rk("a", 3, "not_elected"),
        ],
        "elected": [],
        "tied": [],
        "unfilled": 2,
    }


@pytest.mark.parametrize("quorum,members,present", [("two_thirds", 99, 66), ("majority", 100, 51)])
def test_select_quorum_just_met(quorum, members, present):
    v, table, cands = select_setup({"a": 3, "b": 40, "c": 40, "d": 45})
    out = outcome(select_rule(2, cands, "none"), v, table, members=members, present=present, counted=45, quorum=quorum)
    assert out["quorum_met"] is True
    assert out["elected"] == [["s", "d"]]
    assert out["tied"] == [["s", "b"], ["s", "c"]]


# A 20-of-23 election (base members = 100: more than half means >= 51).
K = [f"k{i:02d}" for i in range(1, 24)]
K_COUNTS = [85, 51, 84, 50, 83, 82, 81, 80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 69, 52, 52, 30, 68]


def test_select_20_of_23():
    counts = dict(zip(K, K_COUNTS))
    v, table, cands = select_setup(counts, K, max_=20)
    out = outcome(select_rule(20, cands), v, table, members=100, present=90, counted=88)
    elected_order = [
        "k01", "k03", "k05", "k06", "k07", "k08", "k09", "k10", "k11", "k12",
        "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k23", "k20", "k21",
    ]  # fmt: skip
    assert out == {
        "quorum_met": True,
        "ranking": [rk(o, counts[o], "elected") for o in elected_order]
        + [rk("k02", 51, "not_elected"), rk("k04", 50, "below_threshold"), rk("k22", 30, "below_threshold")],
        "elected": [["s", o] for o in elected_order],
        "tied": [],
        "unfilled": 0,
    }


def test_select_20_of_23_with_boundary_tie():
    # k02 raised to 52: k02, k20, k21 share 52 at places 19-21 -> all three tied, 18 elected.
    counts = dict(zip(K, K_COUNTS))
    counts["k02"] = 52
    v, table, cands = select_setup(counts, K, max_=20)
    out = outcome(select_rule(20, cands), v, table, members=100, present=90, counted=88)
    elected_order = [
        "k01", "k03", "k05", "k06", "k07", "k08", "k09", "k10", "k11", "k12",
        "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k23",
    ]  # fmt: skip
    assert out == {
        "quorum_met": True,
        "ranking": [rk(o, counts[o], "elected") for o in elected_order]
        + [rk("k02", 52, "tied"), rk("k20", 52, "tied"), rk("k21", 52, "tied")]
        + [rk("k04", 50, "below_threshold"), rk("k22", 30, "below_threshold")],
        "elected": [["s", o] for o in elected_order],
        "tied": [["s", "k02"], ["s", "k20"], ["s", "k21"]],
        "unfilled": 2,
    }


# ---------------------------------------------------------------------------------------------
# rating


def test_rating_each_grade_at_boundaries():
    # base members = 100, counted = 90.
    triples = [
        (51, 0, 39),  # 2·51 > 100 -> good
        (50, 1, 39),  # 2·50 = 100 no; 2·51 > 100 -> fair
        (50, 0, 40),  # 2·50 no; 2·50 no -> poor
        (0, 51, 39),  # 2·0 no; 2·51 > 100 -> fair
        (30, 20, 40),  # 2·30 no; 2·50 = 100 no -> poor
    ]
    out = outcome(RATING_RULE, rating_vote(5), rating_counts(*triples), members=100, present=95, counted=90)
    assert out == {
        "quorum_met": True,
        "items": [
            rating_item(1, triples[0], "good"),
            rating_item(2, triples[1], "fair"),
            rating_item(3, triples[2], "poor"),
            rating_item(4, triples[3], "fair"),
            rating_item(5, triples[4], "poor"),
        ],
    }


def test_rating_bases():
    triples = [(45, 0, 45), (40, 6, 44)]
    rule = dict(RATING_RULE, base="present")  # base 90: 2·45 = 90 fails; 2·46 = 92 > 90
    out = outcome(rule, rating_vote(2), rating_counts(*triples), members=100, present=90, counted=90)
    assert [i["grade"] for i in out["items"]] == ["poor", "fair"]
    rule = dict(RATING_RULE, base="cast")  # base 89
    out = outcome(rule, rating_vote(2), rating_counts((45, 0, 44), (40, 5, 44)), members=100, present=90, counted=89)
    assert [i["grade"] for i in out["items"]] == ["good", "fair"]
    rule = {"name": "rating", "levels": LEVELS}  # base members = 100
    out = outcome(rule, rating_vote(2), rating_counts((45, 0, 45), (40, 6, 44)), members=100, present=90, counted=90)
    assert [i["grade"] for i in out["items"]] == ["poor", "poor"]


def test_rating_level_order_is_the_rule_order_not_option_order():
    v = vote_of(contest("i1", ["poor", "good", "fair"], 1, 1))
    counts = {("i1", "poor"): 1, ("i1", "good"): 8, ("i1", "fair"): 1}
    out = outcome(RATING_RULE, v, counts, members=10, present=10, counted=10)
    assert out == {
        "quorum_met": True,
        "items": [{"contest": "i1", "counts": {"poor": 1, "good": 8, "fair": 1}, "grade": "good"}],
    }


@pytest.mark.parametrize("quorum,members,present", [("two_thirds", 99, 65), ("majority", 100, 50)])
def test_rating_quorum_not_met(quorum, members, present):
    triples = [(50, 0, 0), (0, 0, 50)]
    out = outcome(
        RATING_RULE, rating_vote(2), rating_counts(*triples), members=members, present=present, counted=50, quorum=quorum
    )
    assert out == {"quorum_met": False, "items": [rating_item(1, triples[0], None), rating_item(2, triples[1], None)]}


# ---------------------------------------------------------------------------------------------
# validate_rule rejections

SEL_VOTE = vote_of(contest("s", ["a", "b", "c"], 0, 2), contest("t", ["x", "y"]))
SEL_RULE = {"name": "select", "seats": 2, "candidates": [["s", "a"], ["s", "b"], ["t", "x"]], "threshold": "half",
            "base": "members"}  # fmt: skip
RAT_VOTE = rating_vote(2)


def _with(rule: dict, **changes) -> dict:
    out = copy.deepcopy(rule)
    for k, v in changes.items():
        if v is _DROP:
            del out[k]
        else:
            out[k] = v
    return out


_DROP = object()


def _vote_with(vote: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(vote)
    target = out
    for p in path[:-1]:
        target = target[p]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


def test_valid_rules_accepted():
    validate_rule(majority_rule(), MAJ_VOTE)
    validate_rule(majority_rule("two_thirds", None), MAJ_VOTE)
    validate_rule(SEL_RULE, SEL_VOTE)
    validate_rule(_with(SEL_RULE, threshold="none", base="cast", seats=7), SEL_VOTE)
    validate_rule(RATING_RULE, RAT_VOTE)
    validate_rule(_with(RATING_RULE, base="present"), RAT_VOTE)


@pytest.mark.parametrize(
    "rule,vote,where",
    [
        # general
        (["majority"], MAJ_VOTE, "rule"),
        (None, MAJ_VOTE, "rule"),
        ({"name": "plurality"}, MAJ_VOTE, "rule.name"),
        ({"name": 1}, MAJ_VOTE, "rule.name"),
        ({}, MAJ_VOTE, "rule.name"),
        (_with(majority_rule(), extra=1), MAJ_VOTE, "rule.extra"),
        (_with(majority_rule(), seats=1), MAJ_VOTE, "rule.seats"),
        (_with(majority_rule(), yes=_DROP), MAJ_VOTE, "rule.yes"),
        (_with(majority_rule(), threshold=_DROP), MAJ_VOTE, "rule.threshold"),
        (_with(majority_rule(), base="all"), MAJ_VOTE, "rule.base"),
        (_with(majority_rule(), base=None), MAJ_VOTE, "rule.base"),
        (_with(majority_rule(), base=["members"]), MAJ_VOTE, "rule.base"),
        # majority
        (_with(majority_rule(), threshold="none"), MAJ_VOTE, "rule.threshold"),
        (_with(majority_rule(), threshold="three_quarters"), MAJ_VOTE, "rule.threshold"),
        (_with(majority_rule(), threshold=None), MAJ_VOTE, "rule.threshold"),
        (_with(majority_rule(), yes=1), MAJ_VOTE, "rule.yes"),
        (_with(majority_rule(), yes="maybe"), MAJ_VOTE, "rule.yes"),
        (majority_rule(), vote_of(contest("q1", YNA), contest("q2", ["agree", "no"])), "rule.yes"),
        # select
        (_with(SEL_RULE, threshold="two_thirds"), SEL_VOTE, "rule.threshold"),
        (_with(SEL_RULE, levels=LEVELS), SEL_VOTE, "rule.levels"),
        (_with(SEL_RULE, seats=_DROP), SEL_VOTE, "rule.seats"),
        (_with(SEL_RULE, candidates=_DROP), SEL_VOTE, "rule.candidates"),
        (_with(SEL_RULE, seats=0), SEL_VOTE, "rule.seats"),
        (_with(SEL_RULE, seats=-1), SEL_VOTE, "rule.seats"),
        (_with(SEL_RULE, seats=True), SEL_VOTE, "rule.seats"),
        (_with(SEL_RULE, seats="2"), SEL_VOTE, "rule.seats"),
        (_with(SEL_RULE, seats=2.0), SEL_VOTE, "rule.seats"),
        (_with(SEL_RULE, candidates=[]), SEL_VOTE, "rule.candidates"),
        (_with(SEL_RULE, candidates="s"), SEL_VOTE, "rule.candidates"),
        (_with(SEL_RULE, candidates=[["s", "a"], ["s"]]), SEL_VOTE, "rule.candidates[1]"),
        (_with(SEL_RULE, candidates=[["s", "a", "b"]]), SEL_VOTE, "rule.candidates[0]"),
        (_with(SEL_RULE, candidates=[("s", "a")]), SEL_VOTE, "rule.candidates[0]"),
        (_with(SEL_RULE, candidates=["sa"]), SEL_VOTE, "rule.candidates[0]"),
        (_with(SEL_RULE, candidates=[["s", 1]]), SEL_VOTE, "rule.candidates[0]"),
        (_with(SEL_RULE, candidates=[["s", "a"], ["s", "b"], ["u", "a"]]), SEL_VOTE, "rule.candidates[2]"),
        (_with(SEL_RULE, candidates=[["s", "a"], ["s", "b"], ["s", "x"]]), SEL_VOTE, "rule.candidates[2]"),
        (_with(SEL_RULE, candidates=[["s", "a"], ["t", "x"], ["s", "a"]]), SEL_VOTE, "rule.candidates[2]"),
        # rating
        (_with(RATING_RULE, threshold="half"), RAT_VOTE, "rule.threshold"),
        (_with(RATING_RULE, levels=_DROP), RAT_VOTE, "rule.levels"),
        (_with(RATING_RULE, levels=LEVELS[:2]), RAT_VOTE, "rule.levels"),
        (_with(RATING_RULE, levels=LEVELS + ["awful"]), RAT_VOTE, "rule.levels"),
        (_with(RATING_RULE, levels="good"), RAT_VOTE, "rule.levels"),
        (_with(RATING_RULE, levels=["good", 2, "poor"]), RAT_VOTE, "rule.levels[1]"),
        (_with(RATING_RULE, levels=["good", "fair", "good"]), RAT_VOTE, "rule.levels[2]"),
        (RATING_RULE, vote_of(contest("i1", LEVELS, 1, 1), contest("i2", ["good", "fair"], 1, 1)),
         "contests[1].options"),
        (RATING_RULE, vote_of(contest("i1", LEVELS + ["awful"], 1, 1)), "contests[0].options"),
        (RATING_RULE, vote_of(contest("i1", ["good", "fair", "bad"], 1, 1)), "contests[0].options"),
        (RATING_RULE, vote_of(contest("i1", LEVELS, 1, 1), contest("i2", LEVELS, 0, 1)), "contests[1].min"),
        (RATING_RULE, vote_of(contest("i1", LEVELS, 1, 2)), "contests[0].max"),
        (RATING_RULE, vote_of(contest("i1", LEVELS, True, 1)), "contests[0].min"),
        (RATING_RULE, _vote_with(RAT_VOTE, ("contests", 0, "max"), _DROP), "contests[0].max"),
        # the vote itself
        (majority_rule(), "vote", "vote"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests",), _DROP), "contests"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests",), {}), "contests"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests",), []), "contests"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests", 1), "q2"), "contests[1]"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests", 1, "id"), 2), "contests[1].id"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests", 1, "id"), "q1"), "contests[1].id"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests", 0, "options"), None), "contests[0].options"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests", 0, "options", 1), {"label": "x"}), "contests[0].options[1]"),
        (majority_rule(), _vote_with(MAJ_VOTE, ("contests", 0, "options", 1), {"id": "yes"}), "contests[0].options[1]"),
    ],
)
def test_validate_rule_rejects(rule, vote, where):
    with pytest.raises(RuleError) as e:
        validate_rule(rule, vote)
    assert e.value.where == where
    assert e.value.message


def test_compute_outcome_validates_the_rule():
    with pytest.raises(RuleError) as e:
        compute_outcome(_with(majority_rule(), yes="maybe"), MAJ_VOTE, maj_counts((1, 0, 0)),
                        members=10, present=10, counted=1, quorum="majority")  # fmt: skip
    assert e.value.where == "rule.yes"


# ---------------------------------------------------------------------------------------------
# compute_outcome rejections


GOOD = maj_counts((5, 2, 1), (4, 3, 1))


def _numbers(**changes):
    base = {"members": 10, "present": 9, "counted": 8, "quorum": "two_thirds"}
    base.update(changes)
    return base


def test_good_numbers_work():
    out = compute_outcome(majority_rule(), MAJ_VOTE, GOOD, **_numbers())
    assert out == {
        "quorum_met": True,
        "items": [maj_item("q1", (5, 2, 1), 1, False), maj_item("q2", (4, 3, 1), 1, False)],
    }


@pytest.mark.parametrize(
    "counts,numbers,where",
    [
        (GOOD, _numbers(quorum="half"), "quorum"),
        (GOOD, _numbers(quorum=None), "quorum"),
        (GOOD, _numbers(members=0, present=0, counted=0), "members"),
        (GOOD, _numbers(members=True), "members"),
        (GOOD, _numbers(members="10"), "members"),
        (GOOD, _numbers(present=11), "present"),
        (GOOD, _numbers(present=-1), "present"),
        (GOOD, _numbers(present=9.0), "present"),
        (GOOD, _numbers(counted=10), "counted"),
        (GOOD, _numbers(counted=-1), "counted"),
        (GOOD, _numbers(counted=False), "counted"),
        ([1, 2], _numbers(), "counts"),
        ({**GOOD, ("q3", "yes"): 0}, _numbers(), "counts"),
        ({**GOOD, ("q1", "maybe"): 0}, _numbers(), "counts"),
        ({**GOOD, "q1": 0}, _numbers(), "counts"),
        ({k: v for k, v in GOOD.items() if k != ("q2", "abstain")}, _numbers(), "counts[q2, abstain]"),
        ({**GOOD, ("q1", "no"): -1}, _numbers(), "counts[q1, no]"),
        ({**GOOD, ("q1", "no"): 9}, _numbers(), "counts[q1, no]"),
        ({**GOOD, ("q1", "no"): True}, _numbers(), "counts[q1, no]"),
        ({**GOOD, ("q1", "no"): 2.0}, _numbers(), "counts[q1, no]"),
        ({**GOOD, ("q1", "no"): "2"}, _numbers(), "counts[q1, no]"),
    ],
)
def test_compute_outcome_rejects(counts, numbers, where):
    with pytest.raises(RuleError) as e:
        compute_outcome(majority_rule(), MAJ_VOTE, counts, **numbers)
    assert e.value.where == where


def test_inputs_are_not_mutated():
    v, table, cands = select_setup({"a": 3, "b": 5})
    rule = select_rule(1, cands)
    before = (copy.deepcopy(rule), copy.deepcopy(v), dict(table))
    out = compute_outcome(rule, v, table, members=10, present=10, counted=8, quorum="majority")
    assert (rule, v, table) == before
    # The outcome does not alias the rule's candidate lists.
    out["elected"].append("x")
    for entry in out["ranking"]:
        entry["candidate"].append("x")
    assert rule == before[0]


# ---------------------------------------------------------------------------------------------
# properties


@st.composite
def select_cases(draw):
    n = draw(st.integers(1, 8))
    members = draw(st.integers(1, 30))
    present = draw(st.integers(0, members))
    counted = draw(st.integers(0, present))
    names = [f"o{i}" for i in range(n)]
    order = draw(st.permutations(names))
    counts = {("s", o): draw(st.integers(0, counted)) for o in names}
    k = draw(st.integers(1, n))
    cands = [["s", o] for o in order[:k]]
    rule = {
        "name": "select",
        "seats": draw(st.integers(1, 9)),
        "candidates": cands,
        "threshold": draw(st.sampled_from(["half", "none"])),
        "base": draw(st.sampled_from(["members", "present", "cast"])),
    }
    quorum = draw(st.sampled_from(["two_thirds", "majority"]))
    vote = vote_of(contest("s", names, 0, n))
    return rule, vote, counts, {"members": members, "present": present, "counted": counted, "quorum": quorum}


@settings(max_examples=400, deadline=None)
@given(select_cases())
def test_select_properties(case):
    rule, vote, counts, numbers = case
    out = compute_outcome(rule, vote, counts, **numbers)
    assert json.loads(json.dumps(out)) == out
    assert json.loads(canonical_json(out)) == out
    assert set(out) == {"quorum_met", "ranking", "elected", "tied", "unfilled"}

    seats = rule["seats"]
    elected, tied, ranking = out["elected"], out["tied"], out["ranking"]
    base = {"members": numbers["members"], "present": numbers["present"], "cast": numbers["counted"]}[rule["base"]]

    # ranking is a permutation of the candidates, with their counts
    assert sorted(map(tuple, (r["candidate"] for r in ranking))) == sorted(map(tuple, rule["candidates"]))
    assert all(r["count"] == counts[tuple(r["candidate"])] for r in ranking)
    assert out["unfilled"] == seats - len(elected) >= 0

    met = quorum_met(numbers["quorum"], members=numbers["members"], present=numbers["present"])
    assert out["quorum_met"] is met
    if not met:
        assert elected == [] and tied == [] and out["unfilled"] == seats
        assert {r["status"] for r in ranking} == {"not_elected"}
        assert [r["count"] for r in ranking] == sorted((r["count"] for r in ranking), reverse=True)
        return

    def meets(n: int) -> bool:
        return rule["threshold"] == "none" or 2 * n > base

    meeting = [r for r in ranking if r["status"] != "below_threshold"]
    below = [r for r in ranking if r["status"] == "below_threshold"]
    # threshold-meeting candidates come first; each group by count descending, stable in candidates order
    assert ranking == meeting + below
    assert all(meets(r["count"]) for r in meeting) and not any(meets(r["count"]) for r in below)
    pos = {tuple(c): i for i, c in enumerate(rule["candidates"])}
    for group in (meeting, below):
        keys = [(-r["count"], pos[tuple(r["candidate"])]) for r in group]
        assert keys == sorted(keys)

    # elected ⊆ threshold-meeting, and elected/tied follow ranking order
    assert elected == [r["candidate"] for r in ranking if r["status"] == "elected"]
    assert tied == [r["candidate"] for r in ranking if r["status"] == "tied"]
    assert all(r["status"] in ("elected", "tied", "not_elected") for r in meeting)

    if tied:
        # A boundary tie: fewer than seats elected, more than seats elected-or-tied, one shared count
        assert len(elected) < seats < len(elected) + len(tied)
        c = {counts[tuple(t)] for t in tied}
        assert len(c) == 1
        (c,) = c
        assert all(counts[tuple(e)] > c for e in elected)
        assert all(r["count"] < c for r in meeting if r["status"] == "not_elected")
    else:
        assert len(elected) == min(seats, len(meeting))
        if elected and len(meeting) > seats:
            assert counts[tuple(elected[-1])] > meeting[seats]["count"]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_majority_and_rating_properties(data):
    members = data.draw(st.integers(1, 30))
    present = data.draw(st.integers(0, members))
    counted = data.draw(st.integers(0, present))
    quorum = data.draw(st.sampled_from(["two_thirds", "majority"]))
    base_name = data.draw(st.sampled_from(["members", "present", "cast"]))
    base = {"members": members, "present": present, "cast": counted}[base_name]
    met = quorum_met(quorum, members=members, present=present)
    triple = st.tuples(*[st.integers(0, counted)] * 3)
    t1, t2 = data.draw(triple), data.draw(triple)

    threshold = data.draw(st.sampled_from(["half", "two_thirds"]))
    out = compute_outcome(majority_rule(threshold, base_name), MAJ_VOTE, maj_counts(t1, t2),
                          members=members, present=present, counted=counted, quorum=quorum)  # fmt: skip
    assert json.loads(canonical_json(out)) == out
    for item, t in zip(out["items"], (t1, t2)):
        want = (2 * t[0] > base) if threshold == "half" else (3 * t[0] >= 2 * base)
        assert item["passed"] is (met and base > 0 and want)  # no threshold is met at base 0
        assert item["not_voted"] == present - counted

    out = compute_outcome(dict(RATING_RULE, base=base_name), rating_vote(2), rating_counts(t1, t2),
                          members=members, present=present, counted=counted, quorum=quorum)  # fmt: skip
    assert json.loads(canonical_json(out)) == out
    for item, t in zip(out["items"], (t1, t2)):
        if not met or base == 0:
            assert item["grade"] is None
        elif 2 * t[0] > base:
            assert item["grade"] == "good"
        elif 2 * (t[0] + t[1]) > base:
            assert item["grade"] == "fair"
        else:
            assert item["grade"] == "poor"
