"""Tamper tests for the statutory-election checks V41–V51 (docs/protocol.md §12.9), built like
tests/test_audit_forgery.py: a dishonest tally service, which holds the log key and re-signs the
tree head, edits a simulated record with a write-in election (v6, a tie at the last seat) and its
再次投票 (v7); the verifier must reject each edit under the check that owns the rule, naming the
entry. Real crypto throughout (the trustees' states of the simulation shuffle and decrypt)."""

from __future__ import annotations

import copy

import pytest

import ballot.encrypt as encrypt_module
from ballot import templates
from ballot.audit import Auditor, verify_record
from ballot.election import check_follow_up, election_of, election_outcome, follow_up_names, parse_election
from ballot.encrypt import encrypt_ballot
from ballot.errors import VoteDefinitionError
from ballot.group import GENERATOR, Point, Scalar
from ballot.hashing import canonical_json
from ballot.shuffle import parse_rows, prove_shuffle, reencrypt, rows_to_json, shuffle
from ballot.vote import parse_vote
from keys.ceremony import parse_state
from keys.mix import name_share_entry
from piaojue_tools.simulate import simulate
from tests.forgery import index_of, public_hex, signed_record

COUNTING = {"shares", "tallies", "decryption", "outcomes", "mixing", "writeins"}
"""A refused ballot is not counted: the forger's aggregates and mix rows (which count it) no
longer match the verifier's, so these checks may fail after the rule itself."""


@pytest.fixture(scope="module")
def sim():
    # 30 members, 29 present, 28 voting: v6 ties at the second seat, so v7 is its 再次投票.
    result = simulate(deputies=30, seed=4, trustees=3, threshold=2, votes_json=[], statutory=True)
    assert [v.vote_id for v in result.votes] == ["v6", "v7"]
    assert result.results["v6"]["outcome"]["tied"], result.results["v6"]["outcome"]
    return result


def _vote(sim, vote_id):
    return next(v for v in sim.votes if v.vote_id == vote_id)


def _fails(record, check, index=None, text=None, allowed=frozenset()):
    report = verify_record(record)
    assert check in report.failed(), report.format()
    assert set(report.failed()) - {check} <= set(allowed), report.format()
    failure = report.checks[check].first_failure
    if index is not None:
        assert failure.index == index, report.format()
    if text is not None:
        assert text in failure.message, report.format()
    return report


def _output(entry):
    n = len(entry["output"])
    return list(parse_rows(entry["output"], n, len(entry["output"][0])))


def _state(sim, trustee):
    return sim.trustee_states[trustee - 1]


# ----------------------------------------------------------------- the honest record


def test_the_honest_record_passes_with_the_write_in_checks(sim):
    report = verify_record(signed_record(sim))
    assert report.ok, report.format()
    assert {"mixing", "writeins"} <= set(report.checks)
    assert report.checks["mixing"].checked == 4 * 2  # per vote: 2 shuffles and 2 name shares
    writeins = sim.results["v6"]["writeins"]
    assert writeins["cast"] == 6 and writeins["invalid"] == 2  # a blank and a listed name
    assert writeins["names"] == [{"name": "张三", "count": 3}, {"name": "李四", "count": 1}]
    assert sim.results["v7"]["outcome"]["elected"] or sim.results["v7"]["outcome"]["tied"] is not None


def test_the_monitor_runs_the_same_checks_entry_by_entry(sim):
    """Auditor.feed (the monitor's path) reports a forged shuffle at the entry that carries it."""
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6")
    entries[at]["output"][0], entries[at]["output"][1] = entries[at]["output"][1], entries[at]["output"][0]
    auditor = Auditor()
    record = signed_record(sim, entries)
    caused = {}
    for i, (line, entry) in enumerate(zip(record.lines, record.entries)):
        caused[i] = auditor.feed(line, entry)
    assert [name for name, _ in caused[at]] == ["mixing"]
    assert all(not caused[i] for i in range(at))
    honest = Auditor()
    for line in signed_record(sim).lines:
        assert honest.feed(line) == []


# ----------------------------------------------------------------- shuffles (V45–V46)


def test_two_outputs_swapped(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6")
    output = entries[at]["output"]
    output[0], output[1] = output[1], output[0]
    _fails(signed_record(sim, entries), "mixing", at, "shuffle proof", COUNTING)


def test_one_output_reencrypted_with_another_nonce(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6", nth=1)
    rows = _output(entries[at])
    rows[3] = (reencrypt(rows[3][0], Scalar.random(), sim.meeting.public_key), *rows[3][1:])
    entries[at]["output"] = rows_to_json(rows)
    _fails(signed_record(sim, entries), "mixing", at, "shuffle proof", COUNTING)


def test_a_row_dropped(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6")
    del entries[at]["output"][-1]
    _fails(signed_record(sim, entries), "mixing", at, "expected an array of", COUNTING)


def test_a_row_duplicated(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6")
    entries[at]["output"][1] = copy.deepcopy(entries[at]["output"][0])
    _fails(signed_record(sim, entries), "mixing", at, "shuffle proof", COUNTING)


def test_a_shuffle_proof_made_for_another_vote(sim):
    """The trustee's real shuffle of the right input, proved under v7's vote hash: d differs."""
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6")
    trustee = entries[at]["trustee"]
    v6, v7 = _vote(sim, "v6"), _vote(sim, "v7")
    auditor = Auditor()
    for line in signed_record(sim, entries[:at]).lines:
        auditor.feed(line)
    rows, _, _ = auditor.mix_state("v6")
    key = sim.meeting.public_key
    result = shuffle(rows, key)
    share = parse_state(_state(sim, trustee)).require_complete()
    proof = prove_shuffle(rows, result, key, sim.meeting.hash, v7.hash, trustee, share)
    assert v6.hash != v7.hash
    entries[at].update(output=rows_to_json(result.output), proof=proof.to_json(), signature=proof.signature_json())
    _fails(signed_record(sim, entries), "mixing", at, "shuffle proof", COUNTING)


def test_a_shuffle_under_another_trustees_number(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6")
    used = {e["trustee"] for e in entries if e["type"] == "shuffle" and e["vote_id"] == "v6"}
    entries[at]["trustee"] = next(t for t in (1, 2, 3) if t not in used)
    _fails(signed_record(sim, entries), "mixing", at, None, COUNTING)


def test_a_trustee_shuffles_twice(sim):
    entries = copy.deepcopy(sim.log.entries)
    first, second = index_of(entries, "shuffle", "v6"), index_of(entries, "shuffle", "v6", nth=1)
    entries[second]["trustee"] = entries[first]["trustee"]
    _fails(signed_record(sim, entries), "mixing", second, "second shuffle", COUNTING)


def test_the_service_shuffles_without_a_trustees_share(sim):
    """Rule 7: the service needs no secret to shuffle, but cannot sign for trustee l."""
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6")
    trustee = entries[at]["trustee"]
    auditor = Auditor()
    for line in signed_record(sim, entries[:at]).lines:
        auditor.feed(line)
    rows, _, _ = auditor.mix_state("v6")
    result = shuffle(rows, sim.meeting.public_key)
    forged = prove_shuffle(rows, result, sim.meeting.public_key, sim.meeting.hash, _vote(sim, "v6").hash, trustee, Scalar.random())
    entries[at].update(output=rows_to_json(result.output), proof=forged.to_json(), signature=forged.signature_json())
    _fails(signed_record(sim, entries), "mixing", at, "signature", COUNTING)


# ----------------------------------------------------------------- name shares (V47)


def test_a_name_share_that_does_not_verify(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "name_share", "v6")
    m = Point.from_hex(entries[at]["shares"][2][1][0])
    entries[at]["shares"][2][1][0] = (m + GENERATOR).hex()
    _fails(signed_record(sim, entries), "mixing", at, "name share", COUNTING)


def test_names_decrypted_before_threshold_trustees_shuffled(sim):
    """Threshold 2: the service drops the second shuffle and has both trustees decrypt the first
    one's output (honest name shares, the same names): one trustee could link names to ballots."""
    entries = copy.deepcopy(sim.log.entries)
    second = index_of(entries, "shuffle", "v6", nth=1)
    first_output = _output(entries[index_of(entries, "shuffle", "v6")])
    v6 = _vote(sim, "v6")
    del entries[second]
    for nth in (0, 1):
        at = index_of(entries, "name_share", "v6", nth=nth)
        trustee = entries[at]["trustee"]
        entries[at] = name_share_entry(_state(sim, trustee), sim.meeting.hash, v6.hash, "v6", first_output)
    at = index_of(entries, "name_share", "v6")
    report = _fails(signed_record(sim, entries), "mixing", at, "threshold", {"writeins"})
    assert report.checks["writeins"].first_failure.index == index_of(entries, "result", "v6")


def test_a_shuffle_after_the_name_shares(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "shuffle", "v6", nth=1)
    moved = entries.pop(at)
    after = index_of(entries, "name_share", "v6", nth=1) + 1
    entries.insert(after, moved)
    _fails(signed_record(sim, entries), "mixing", None, None, COUNTING)


# ----------------------------------------------------------------- results (V48–V51)


def _reoutcome(sim, entries, at):
    vote = _vote(sim, entries[at]["vote_id"])
    counts = {(t["contest"], t["option"]): t["count"] for t in entries[at]["tallies"]}
    present = next(e["present"] for e in entries if e["type"] == "open" and e["vote_id"] == vote.vote_id)
    entries[at]["outcome"] = election_outcome(
        vote, election_of(vote), counts, entries[at]["writeins"], members=sim.meeting.members,
        present=present, counted=entries[at]["counted"], quorum=sim.meeting.quorum,
    )


def test_write_in_counts_that_do_not_follow_from_the_names(sim):
    """One of 张三's three votes moved to a name nobody wrote; the outcome follows the forgery."""
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "result", "v6")
    entries[at]["writeins"]["names"] = [
        {"name": "张三", "count": 2}, {"name": "李四", "count": 1}, {"name": "王五", "count": 1},
    ]
    _reoutcome(sim, entries, at)
    _fails(signed_record(sim, entries), "writeins", at, "differ from the names")


def test_write_ins_counted_as_invalid_that_are_valid(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "result", "v6")
    entries[at]["writeins"] = {"cast": 6, "names": [{"name": "张三", "count": 3}], "invalid": 3}
    _reoutcome(sim, entries, at)
    _fails(signed_record(sim, entries), "writeins", at, "differ from the names")


def test_write_in_counts_out_of_bounds_fail_before_decryption(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "result", "v6")
    entries[at]["writeins"] = {"cast": 10**9, "names": [{"name": "张三", "count": 10**9}], "invalid": 0}
    _fails(signed_record(sim, entries), "writeins", at, "not within", {"outcomes"})


def test_a_result_without_its_name_shares(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "name_share", "v6", nth=1)
    del entries[at]
    _fails(signed_record(sim, entries), "writeins", index_of(entries, "result", "v6"), "name_share")


def test_an_outcome_that_ignores_the_write_ins(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "result", "v6")
    entries[at]["outcome"]["ranking"] = [r for r in entries[at]["outcome"]["ranking"] if r["contest"] is not None]
    _fails(signed_record(sim, entries), "outcomes", at)


def test_a_result_without_writeins(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "result", "v6")
    del entries[at]["writeins"]
    _fails(signed_record(sim, entries[: at + 1]), "tallies", at, "exactly the fields")


# ----------------------------------------------------------------- ballots (V41, V43–V44)


def _forged_ballot(sim, monkeypatch, vote, key, choices, names):
    """A dishonest kiosk: the kiosk's checks skipped, and every range proof made for the nearest
    value in range (so the proof of a broken constraint is for a value the ballot does not hold)."""
    real_prove = encrypt_module.prove_range
    monkeypatch.setattr(
        encrypt_module, "check_choices", lambda _vote, chosen: {(c, o) for c, opts in chosen.items() for o in opts}
    )
    monkeypatch.setattr(
        encrypt_module, "prove_range",
        lambda ct, m, r, lo, hi, k, ctx: real_prove(ct, min(max(m, lo), hi), r, lo, hi, k, ctx),
    )
    return encrypt_ballot(vote, sim.meeting.hash, sim.meeting.public_key, key, choices, writeins=names, check_names=False)


def _replace_ballot(sim, monkeypatch, choices, names):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "ballot", "v6", nth=3)
    key = next(k for k in sim.deputy_keys if public_hex(k) == entries[at]["credential"])
    entries[at] = _forged_ballot(sim, monkeypatch, _vote(sim, "v6"), key, choices, names).entry
    return _until_close(entries), at


def _until_close(entries):
    """The log up to v6's close: a record may end with a vote closed and not yet counted (§8.1),
    so only the ballot's own rule is left to fail."""
    return entries[: index_of(entries, "close", "v6") + 1]


def test_a_write_in_beside_abstain_only(sim, monkeypatch):
    choices = {"s1": ["abstain"], "s2": ["abstain"], "s3": ["abstain"], "s4": ["abstain"]}
    entries, at = _replace_ballot(sim, monkeypatch, choices, ["王五"])
    _fails(signed_record(sim, entries), "ballots", at, "invalid_proof")


def test_yes_marks_plus_write_ins_above_the_seats(sim, monkeypatch):
    choices = {"s1": ["yes"], "s2": ["yes"], "s3": ["no"], "s4": ["abstain"]}
    entries, at = _replace_ballot(sim, monkeypatch, choices, ["王五"])
    _fails(signed_record(sim, entries), "ballots", at, "invalid_proof")


def test_the_verifier_names_the_broken_constraint(sim, monkeypatch):
    from ballot.ballot import verify_ballot
    from ballot.errors import BallotError

    vote = _vote(sim, "v6")
    key = sim.deputy_keys[0]
    for choices, where in (
        ({"s1": ["abstain"], "s2": ["abstain"], "s3": ["abstain"], "s4": ["abstain"]}, "constraints[0].proof"),
        ({"s1": ["yes"], "s2": ["yes"], "s3": ["no"], "s4": ["abstain"]}, "constraints[1].proof"),
    ):
        forged = _forged_ballot(sim, monkeypatch, vote, key, choices, ["王五"])
        with pytest.raises(BallotError) as info:
            verify_ballot(forged.entry, vote, sim.meeting.hash, sim.meeting.public_key)
        assert (info.value.code, info.value.where) == ("invalid_proof", where)


def test_a_name_moved_into_a_slot_without_a_write_in(sim):
    """Slot 2's indicator is 0 but it now carries slot 1's name: the blank-or-named proof fails."""
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "ballot", "v6")  # the first voter wrote in a name in slot 1
    key = next(k for k in sim.deputy_keys if public_hex(k) == entries[at]["credential"])
    ballot = entries[at]
    ballot["writeins"][1]["name"] = ballot["writeins"][0]["name"]
    from ballot.ballot import ballot_hash, signature_message

    ballot["signature"] = key.sign(signature_message(ballot_hash(ballot))).hex()
    report = _fails(signed_record(sim, _until_close(entries)), "ballots", at, "invalid_proof")
    assert "slot 2" in report.checks["ballots"].first_failure.message


def test_a_ballot_without_its_writeins(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "ballot", "v6", nth=5)
    del entries[at]["writeins"]
    _fails(signed_record(sim, _until_close(entries)), "ballots", at, "malformed")


def test_a_spoiled_name_opening_that_does_not_match(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "spoiled", "v6")
    assert "name_openings" in entries[at]
    entries[at]["name_openings"][0][1] = "冒名"
    _fails(signed_record(sim, entries), "spoiled", at, "invalid_proof")


def test_a_spoiled_entry_without_name_openings(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "spoiled", "v6")
    del entries[at]["name_openings"]
    _fails(signed_record(sim, entries), "spoiled", at, "malformed")


# ----------------------------------------------------------------- votes and follow-ups (V42)


def _until_vote(sim, vote_entry):
    """The log up to v7's vote entry, replaced by ``vote_entry`` (the record ends there)."""
    entries = copy.deepcopy(sim.log.entries)
    at = next(i for i, e in enumerate(entries) if e["type"] == "vote" and e["vote_id"] == "v7")
    return entries[:at] + [vote_entry], at


def test_a_revote_whose_list_breaks_the_rule(sim):
    v7 = copy.deepcopy(_vote(sim, "v7").entry)
    tied = sim.results["v6"]["outcome"]["tied"]
    elected = sim.results["v6"]["outcome"]["elected"][0]
    forged = templates.statutory_election(
        "v7", v7["title"], [{"id": "f1", "name": tied[0]}, {"id": "f2", "name": elected}], 1,
        follows={"vote_id": "v6", "reason": "tied"},
    )
    entries, at = _until_vote(sim, forged)
    _fails(signed_record(sim, entries), "votes", at, "tied candidates")


def test_a_follow_up_with_the_wrong_reason_or_seats(sim):
    tied = sim.results["v6"]["outcome"]["tied"]
    candidates = [{"id": f"f{i}", "name": n} for i, n in enumerate(tied, start=1)]
    unfilled = templates.statutory_election("v7", "另行选举", candidates, 1, follows={"vote_id": "v6", "reason": "unfilled"})
    entries, at = _until_vote(sim, unfilled)
    _fails(signed_record(sim, entries), "votes", at, "no tie")
    two_seats = templates.statutory_election("v7", "再次投票", candidates, 2, follows={"vote_id": "v6", "reason": "tied"})
    entries, at = _until_vote(sim, two_seats)
    _fails(signed_record(sim, entries), "votes", at, "seats")


def test_a_follow_up_before_the_result(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = next(i for i, e in enumerate(entries) if e["type"] == "vote" and e["vote_id"] == "v7")
    v7 = entries.pop(at)
    early = index_of(entries, "open", "v6")
    _fails(signed_record(sim, entries[:early] + [v7]), "votes", early, "no result")


def test_an_election_object_with_other_constraints(sim):
    forged = copy.deepcopy(_vote(sim, "v7").entry)
    forged["constraints"][1]["max"] = 2
    entries, at = _until_vote(sim, forged)
    _fails(signed_record(sim, entries), "votes", at, "against/seats")


# ----------------------------------------------------------------- the follow-up rule, pure (§12.8)


def _ranking(*rows):
    return [{"name": n, "contest": None, "count": c, "status": s} for n, c, s in rows]


def _follow_up(names, seats, reason="unfilled", vote_id="e2"):
    cands = [{"id": f"c{i}", "name": n} for i, n in enumerate(names, start=1)]
    return parse_election(parse_vote(templates.statutory_election(
        vote_id, "另行选举", cands, seats, follows={"vote_id": "e1", "reason": reason})))


EARLIER = parse_election(parse_vote(templates.statutory_election(
    "e1", "选举", [{"id": f"c{i}", "name": n} for i, n in enumerate("甲乙丙丁戊", start=1)], 3)))
UNFILLED = {
    "quorum_met": True,
    "ranking": _ranking(("甲", 90, "elected"), ("乙", 50, "below_threshold"), ("丙", 40, "below_threshold"),
                        ("丁", 40, "below_threshold"), ("戊", 10, "below_threshold")),
    "elected": ["甲"], "tied": [], "unfilled": 2,
}


@pytest.mark.parametrize(
    "names, ok",
    [
        (["乙", "丙", "丁"], True),  # s + 1
        (["乙", "丁", "丙"], False),  # not in rank order
        (["乙", "丁", "戊"], False),  # 丙 (40) left out above 戊 (10)
        (["乙", "戊", "丙"], False),
        (["乙", "丙"], False),  # only s candidates
        (["乙", "丙", "丁", "戊"], True),  # s + 2
        (["甲", "乙", "丙"], False),  # an elected candidate
        (["乙", "丙", "戊"], False),  # 丁 (40) left out above 戊 (10)
    ],
)
def test_the_statutory_list_of_a_new_election(names, ok):
    election = _follow_up(names, 2)
    if ok:
        check_follow_up(election, EARLIER, UNFILLED, followed_before=False)
    else:
        with pytest.raises(VoteDefinitionError):
            check_follow_up(election, EARLIER, UNFILLED, followed_before=False)


def test_one_seat_needs_two_candidates_and_one_follow_up_per_vote():
    ranking = [dict(row, status="elected") if row["name"] in "甲乙" else row for row in UNFILLED["ranking"]]
    outcome = dict(UNFILLED, ranking=ranking, unfilled=1, elected=["甲", "乙"])
    check_follow_up(_follow_up(["丙", "丁"], 1), EARLIER, outcome, followed_before=False)
    tie = [dict(row, count=40) if row["name"] == "戊" else row for row in ranking]
    # 丁 and 戊 tie at 40 behind 丙: the presidium may take either (§12.8 rule 4)
    check_follow_up(_follow_up(["丙", "戊"], 1), EARLIER, dict(outcome, ranking=tie), followed_before=False)
    with pytest.raises(VoteDefinitionError):
        check_follow_up(_follow_up(["丙", "丁", "戊"], 1), EARLIER, outcome, followed_before=False)
    with pytest.raises(VoteDefinitionError, match="already"):
        check_follow_up(_follow_up(["丙", "丁"], 1), EARLIER, outcome, followed_before=True)
    with pytest.raises(VoteDefinitionError, match="quorum"):
        check_follow_up(_follow_up(["丙", "丁"], 1), EARLIER, dict(outcome, quorum_met=False), followed_before=False)


def test_follow_up_names_by_rank():
    assert follow_up_names(UNFILLED, "unfilled") == ["乙", "丙", "丁"]
    assert follow_up_names(UNFILLED, "unfilled", extra=2) == ["乙", "丙", "丁", "戊"]
    assert follow_up_names(dict(UNFILLED, tied=["乙", "丙"]), "tied") == ["乙", "丙"]


def test_a_listed_candidates_name_written_in_counts_as_invalid(sim):
    assert canonical_json(sim.results["v6"]["writeins"]).count("吴晓梅".encode()) == 0
