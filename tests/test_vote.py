"""SPEC §4.1 vote definitions and the templates for the five kinds."""

from __future__ import annotations

import copy

import pytest

from ballot import templates
from ballot.errors import VoteDefinitionError
from ballot.hashing import canonical_json, h256
from ballot.vote import parse_vote
from piaojue_tools import demo_data

BASE = templates.selection("v3", "民生实事", demo_data.projects(13), 10)


def test_templates_produce_valid_votes_of_every_kind():
    votes = [
        templates.resolution("v1", "决议"),
        templates.appointment("v2", "任免", demo_data.NOMINEES),
        BASE,
        templates.election("v4", "选举", demo_data.CANDIDATES, 2),
        templates.evaluation("v5", "测评", demo_data.DEPARTMENTS),
    ]
    kinds = [parse_vote(v).kind for v in votes]
    assert kinds == ["resolution", "appointment", "selection", "election", "evaluation"]
    assert [v["rule"]["name"] for v in votes] == ["majority", "majority", "select", "select", "rating"]


def test_vote_hash_is_h256_of_canonical_json():
    vote = parse_vote(BASE)
    assert vote.hash == h256("piaojue/1/vote", canonical_json(BASE))
    changed = copy.deepcopy(BASE)
    changed["contests"][0]["options"][0]["budget_cny"] += 1  # display fields are hashed too
    assert parse_vote(changed).hash != vote.hash


def _with(path, value):
    entry = copy.deepcopy(BASE)
    target = entry
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return entry


@pytest.mark.parametrize(
    "entry, where, message",
    [
        (_with(["type"], "ballot"), "vote.type", "type"),
        (_with(["vote_id"], "v 3"), "vote.vote_id", "vote_id"),
        (_with(["kind"], "poll"), "vote.kind", "kind"),
        (_with(["title"], KeyError), "vote", "title"),
        (_with(["contests"], []), "vote.contests", "at least one contest"),
        (_with(["contests", 0, "min"], 11), "vote.contests[0]", "min ≤ max"),
        (_with(["contests", 0, "max"], 14), "vote.contests[0]", "max ≤ 13"),
        (_with(["contests", 0, "min"], -1), "vote.contests[0]", "0 ≤ min"),
        (_with(["contests", 0, "max"], True), "vote.contests[0].max", "wrong type"),
        (_with(["contests", 0, "options", 1, "id"], "p01"), "vote.contests[0].options[1].id", "duplicate option"),
        (_with(["contests", 0, "options", 1, "id"], ""), "vote.contests[0].options[1].id", "non-empty"),
        (_with(["recast"], "no"), "vote.recast", "wrong type"),
        (_with(["constraints"], [{"id": "k", "members": [["projects", "p99"]], "min": 0, "max": 1}]),
         "vote.constraints[0].members[0]", "not an option"),
        (_with(["constraints"], [{"id": "k", "members": [["projects", "p01"], ["projects", "p01"]], "min": 0, "max": 1}]),
         "vote.constraints[0].members[1]", "duplicate member"),
        (_with(["constraints"], [{"id": "k", "members": [["projects", "p01"]], "min": 0, "max": 2}]),
         "vote.constraints[0]", "max ≤ 1"),
        (_with(["constraints"], [{"id": "k", "members": [["projects", "p01"]], "min": 0, "max": 1},
                                 {"id": "k", "members": [["projects", "p02"]], "min": 0, "max": 1}]),
         "vote.constraints[1].id", "duplicate constraint"),
        (_with(["rule", "name"], "plurality"), "vote.rule.name", ""),
        (_with(["rule", "candidates", 0], ["projects", "p99"]), "vote.rule.candidates[0]", ""),
        (_with(["contests", 0, "options", 0, "budget_cny"], 1.5), "vote", "canonical JSON"),
    ],
)
def test_bad_vote_definitions_name_the_field(entry, where, message):
    with pytest.raises(VoteDefinitionError) as info:
        parse_vote(entry)
    assert info.value.where == where
    assert message in info.value.message


def test_duplicate_contest_ids():
    entry = templates.appointment("v2", "任免", demo_data.NOMINEES)
    entry["contests"][1]["id"] = entry["contests"][0]["id"]
    with pytest.raises(VoteDefinitionError) as info:
        parse_vote(entry)
    assert "duplicate" in info.value.message


@pytest.mark.parametrize("bad", [None, [], "vote", 7])
def test_non_object(bad):
    with pytest.raises(VoteDefinitionError):
        parse_vote(bad)


def test_templates_do_not_share_option_objects():
    # Each vote entry owns its option objects: editing one vote's option leaves the next alone.
    first = templates.resolution("v1", "甲")
    first["contests"][0]["options"][0]["label"] = "changed"
    assert templates.resolution("v2", "乙")["contests"][0]["options"][0]["label"] == "赞成"
    evaluation = templates.evaluation("v3", "测评", [{"id": "d1", "name": "部门"}])
    evaluation["contests"][0]["options"][0]["label"] = "changed"
    assert templates.evaluation("v4", "测评", [{"id": "d1", "name": "部门"}])["contests"][0]["options"][0]["label"] == "满意"
