"""SPEC §8.1 (revision 2): records forged the way a tally service holding the log key would
forge them. Each record is re-signed and recounted (honest decryption of the forged aggregates,
see :mod:`tests.forgery`), so one rule is broken; the verifier must reject it under the check that
owns the rule, naming the entry (and, where it refuses a ballot, the counts that included it)."""

from __future__ import annotations

import copy
import ctypes

import pysodium
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot.audit import verify_record
from ballot.encrypt import encrypt_ballot
from ballot.errors import MeetingError, VoteDefinitionError
from ballot.group import ed25519_key_has_prime_order
from ballot.log import sign_sth
from ballot.meeting import parse_meeting
from ballot.vote import parse_vote
from piaojue_tools.simulate import simulate
from tests.forgery import hash_hex, index_of, public_hex, retally, signed_record

# Torsion points of Ed25519 (canonical encodings): the identity, the point of order 2 (0, −1),
# and a point of order 8 (from libsodium's small-order blocklist).
IDENTITY = bytes([1]) + bytes(31)
ORDER_2 = (2**255 - 20).to_bytes(32, "little")
ORDER_8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")


@pytest.fixture(scope="module")
def sim():
    # 20 members, 19 present, about 13 voting in each vote: room to add and remove ballots.
    return simulate(deputies=20, seed=5, turnout=0.7)


def _key_of(sim, credential_hex):
    return next(k for k in sim.deputy_keys if public_hex(k) == credential_hex)


def _ballots(entries, vote_id):
    return [i for i, e in enumerate(entries) if e["type"] == "ballot" and e["vote_id"] == vote_id]


def _vote(sim, vote_id):
    return next(v for v in sim.votes if v.vote_id == vote_id)


COUNTING_CHECKS = {"shares", "tallies", "decryption", "outcomes"}
"""A ballot the verifier refuses is not counted, so the forger's aggregates (which count it) no
longer match the verifier's: these checks fail after the rule itself, and only these."""


def _fails_only(record, check, index=None, text=None):
    report = verify_record(record)
    assert check in report.failed(), report.format()
    assert set(report.failed()) - {check} <= COUNTING_CHECKS, report.format()
    failure = report.checks[check].first_failure
    if index is not None:
        assert failure.index == index, report.format()
    if text is not None:
        assert text in failure.message, report.format()
    return report


def test_the_forger_alone_breaks_nothing(sim):
    # The recount of an unedited log is the honest record: every check passes.
    report = verify_record(signed_record(sim, retally(sim, sim.log.entries)))
    assert report.ok, report.format()


# ----------------------------------------------------------------- challenged and cast (§4.4)


def test_challenged_ballot_cast_for_a_deputy_who_never_cast(sim):
    entries = copy.deepcopy(sim.log.entries)
    spoiled_at = index_of(entries, "spoiled", "v1")
    challenged = entries[spoiled_at]["ballot"]
    # The deputy challenged, then cast another ballot: drop that one and cast the challenged one.
    own = next(i for i in _ballots(entries, "v1") if entries[i]["credential"] == challenged["credential"])
    del entries[own]
    entries.insert(spoiled_at + 1, copy.deepcopy(challenged))
    _fails_only(signed_record(sim, retally(sim, entries)), "ballots", spoiled_at + 1, "challenged")


def test_challenged_ballot_appended_after_the_real_one_under_recast(sim):
    entries = copy.deepcopy(sim.log.entries)
    vote = _vote(sim, "v5")
    real_at = _ballots(entries, "v5")[3]
    key = _key_of(sim, entries[real_at]["credential"])
    challenge = encrypt_ballot(vote, sim.meeting.hash, sim.meeting.public_key, key, _unsatisfied(vote))
    entries.insert(real_at, challenge.spoiled_entry())  # challenged before the real ballot
    entries.insert(real_at + 2, copy.deepcopy(challenge.entry))  # and cast after it: it would count
    _fails_only(signed_record(sim, retally(sim, entries)), "ballots", real_at + 2, "challenged")


def test_counted_ballot_published_as_spoiled(sim):
    entries = copy.deepcopy(sim.log.entries)
    vote = _vote(sim, "v2")
    at = _ballots(entries, "v2")[0]
    key = _key_of(sim, entries[at]["credential"])
    choices = {contest.id: [contest.options[0]] for contest in vote.contests}
    cast = encrypt_ballot(vote, sim.meeting.hash, sim.meeting.public_key, key, choices)
    entries[at] = cast.entry  # a ballot whose openings the forger holds, counted
    close = index_of(entries, "close", "v2")
    entries.insert(close, cast.spoiled_entry())  # then "challenged": its plaintexts published
    _fails_only(signed_record(sim, retally(sim, entries)), "spoiled", close, "cast ballot is spoiled")


# ----------------------------------------------------------------- replay and eligibility


def test_recast_rolled_back_by_replaying_the_earlier_ballot(sim):
    entries = copy.deepcopy(sim.log.entries)
    by_credential: dict[str, list[int]] = {}
    for i in _ballots(entries, "v5"):
        by_credential.setdefault(entries[i]["credential"], []).append(i)
    first, _second = next(positions for positions in by_credential.values() if len(positions) == 2)
    close = index_of(entries, "close", "v5")
    entries.insert(close, copy.deepcopy(entries[first]))  # the same bytes again: "the last counts"
    _fails_only(signed_record(sim, retally(sim, entries)), "ballots", close, "replay")


@pytest.mark.parametrize("replacement", [False, True], ids=["new-credential", "replacement-card"])
def test_credential_registered_after_open_votes_in_that_vote(sim, replacement):
    entries = copy.deepcopy(sim.log.entries)
    vote = _vote(sim, "v2")
    opened = index_of(entries, "open", "v2")
    newcomer = Ed25519PrivateKey.generate()
    revoke = []
    if replacement:  # a lost card: the old credential (who has not voted in v2) is replaced
        voted = {entries[i]["credential"] for i in _ballots(entries, "v2")}
        revoke = [next(public_hex(k) for k in sim.deputy_keys if public_hex(k) not in voted)]
    entries.insert(opened + 1, {"type": "credentials", "add": [public_hex(newcomer)], "revoke": revoke})
    ballot = encrypt_ballot(vote, sim.meeting.hash, sim.meeting.public_key, newcomer, _blank(vote))
    close = index_of(entries, "close", "v2")
    entries.insert(close, ballot.entry)
    _fails_only(signed_record(sim, retally(sim, entries)), "ballots", close, "not_checked_in")


def test_present_above_the_credentials_active_at_open(sim):
    entries = copy.deepcopy(sim.log.entries)
    opened = index_of(entries, "open", "v5")
    voted = {entries[i]["credential"] for i in _ballots(entries, "v5")}
    idle = sorted(public_hex(k) for k in sim.deputy_keys if public_hex(k) not in voted)[:3]
    entries.insert(opened, {"type": "credentials", "add": [], "revoke": idle})
    # 19 present ≤ 20 members, but only 17 credentials are active: the quorum is inflated.
    assert entries[opened + 1]["present"] == 19
    _fails_only(signed_record(sim, retally(sim, entries)), "vote_lifecycle", opened + 1, "active at open")


def test_spoiled_entry_outside_the_vote(sim):
    entries = copy.deepcopy(sim.log.entries)
    spoiled_at = index_of(entries, "spoiled", "v1")
    spoiled = entries.pop(spoiled_at)
    entries.insert(index_of(entries, "close", "v1") + 1, spoiled)
    at = index_of(entries, "spoiled", "v1")
    _fails_only(signed_record(sim, retally(sim, entries)), "spoiled", at, "open..close")


def test_spoiled_entry_with_a_revoked_credential(sim):
    entries = copy.deepcopy(sim.log.entries)
    spoiled_at = index_of(entries, "spoiled", "v1")
    credential = entries[spoiled_at]["ballot"]["credential"]
    # Revoke it just before the challenge; drop its v1 ballot (it would fail too) and later ones.
    entries = [e for e in entries if not (e["type"] == "ballot" and e["credential"] == credential)]
    entries.insert(spoiled_at, {"type": "credentials", "add": [], "revoke": [credential]})
    _fails_only(signed_record(sim, retally(sim, entries)), "spoiled", spoiled_at + 1, "revoked_credential")


# ----------------------------------------------------------------- types (§8.1 "Types")


def _only_one_ballot(sim, entries, vote_id):
    """``entries`` with the ballots of ``vote_id`` replaced by one that marks the first option of
    every contest, recounted: every count is 0 or 1."""
    vote = _vote(sim, vote_id)
    first = _ballots(entries, vote_id)[0]
    key = _key_of(sim, entries[first]["credential"])
    choices = {contest.id: list(contest.options[: max(1, contest.min)]) for contest in vote.contests}
    ballot = encrypt_ballot(vote, sim.meeting.hash, sim.meeting.public_key, key, choices)
    kept = [ballot.entry if i == first else e for i, e in enumerate(entries) if i == first or i not in _ballots(entries, vote_id)]
    return retally(sim, kept)


def test_outcome_booleans_as_integers(sim):
    for field in ("passed", "quorum_met"):
        entries = copy.deepcopy(sim.log.entries)
        at = index_of(entries, "result", "v1")
        outcome = entries[at]["outcome"]
        target = outcome["items"][0] if field == "passed" else outcome
        assert isinstance(target[field], bool)
        target[field] = int(target[field])  # 1 == True and 0 == False in Python; not in canonical JSON
        _fails_only(signed_record(sim, entries), "outcomes", at)


def test_integers_as_booleans(sim):
    entries = _only_one_ballot(sim, sim.log.entries, "v4")
    at = index_of(entries, "result", "v4")
    assert entries[at]["counted"] == 1
    ranked = next(row for row in entries[at]["outcome"]["ranking"] if row["count"] == 1)
    ranked["count"] = True
    _fails_only(signed_record(sim, entries), "outcomes", at)

    entries = _only_one_ballot(sim, sim.log.entries, "v4")
    entries[at]["counted"] = True
    _fails_only(signed_record(sim, entries), "tallies", at, "counted")

    entries = _only_one_ballot(sim, sim.log.entries, "v4")
    tally = next(item for item in entries[at]["tallies"] if item["count"] == 1)
    tally["count"] = True
    _fails_only(signed_record(sim, entries), "tallies", at, "count True is not within")

    entries = retally(sim, [e for e in sim.log.entries if not (e["type"] == "ballot" and e["vote_id"] == "v2")])
    close = index_of(entries, "close", "v2")
    assert entries[close]["ballots"] == 0
    entries[close]["ballots"] = False
    _fails_only(signed_record(sim, entries), "vote_lifecycle", close, "ballots")


# ----------------------------------------------------------------- times and bounds


@pytest.mark.parametrize(
    "kind,at",
    [
        ("open", "２０２６-12-06T09:00:00Z"),  # full-width digits
        ("close", "2027-13-45T99:99:99Z"),  # no such date or time
        ("open", "2026-12-06T09:00:00+00:00"),  # revision 2: Z only
        ("close", "2026-02-29T09:00:00Z"),  # 2026 is not a leap year
        ("open", "2026-12-06T09:00:00.1234567890Z"),  # ten fraction digits
    ],
)
def test_invalid_times(sim, kind, at):
    entries = copy.deepcopy(sim.log.entries)
    where = index_of(entries, kind, "v3")
    entries[where]["at"] = at
    _fails_only(signed_record(sim, entries), "vote_lifecycle", where)


def test_close_earlier_than_open(sim):
    entries = copy.deepcopy(sim.log.entries)
    entries[index_of(entries, "open", "v3")]["at"] = "2026-12-06T09:00:00.5Z"
    close = index_of(entries, "close", "v3")
    entries[close]["at"] = "2026-12-06T09:00:00.499999999Z"
    _fails_only(signed_record(sim, entries), "vote_lifecycle", close, "earlier")
    entries[close]["at"] = "2026-12-06T09:00:00.500Z"  # the same instant is allowed
    assert verify_record(signed_record(sim, entries)).ok


@pytest.mark.parametrize("where", ["count", "counted"])
def test_a_huge_count_is_rejected_before_any_work(sim, where):
    entries = copy.deepcopy(sim.log.entries)
    at = index_of(entries, "result", "v1")
    if where == "count":
        entries[at]["tallies"][0]["count"] = 2**53 - 1  # before revision 2: out of memory
    else:
        entries[at]["counted"] = len(_ballots(entries, "v1")) + 1  # more than were logged
    report = verify_record(signed_record(sim, entries))
    assert report.failed() == ["tallies"], report.format()
    assert report.checks["tallies"].first_failure.index == at
    assert "is not within" in report.checks["tallies"].first_failure.message
    # It stopped before replaying the log: no ballot proof was checked, nothing decrypted.
    assert not report.checks["ballots"].ran and report.checks["ballots"].checked == 0
    assert "not run" in report.format()


# ----------------------------------------------------------------- keys of small order


def _torsion_sum(point: bytes, torsion: bytes) -> bytes:
    out = ctypes.create_string_buffer(32)
    assert pysodium.sodium.crypto_core_ed25519_add(out, point, torsion) == 0
    return out.raw


def test_prime_order_check():
    good = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    assert ed25519_key_has_prime_order(good)
    for bad in (IDENTITY, ORDER_2, ORDER_8, bytes(32), _torsion_sum(good, ORDER_2), _torsion_sum(good, ORDER_8)):
        assert not ed25519_key_has_prime_order(bad), bad.hex()
    non_canonical = bytearray(ORDER_2)
    non_canonical[0] += 19  # y = p − 1 + 19 ≥ p
    assert not ed25519_key_has_prime_order(bytes(non_canonical))
    assert not ed25519_key_has_prime_order(good[:31])


@pytest.mark.parametrize("torsion", [IDENTITY, ORDER_8, "order-2l"], ids=["identity", "order-8", "order-2l"])
def test_small_order_log_key(sim, torsion):
    entry = copy.deepcopy(sim.log.entries[0])
    good = bytes.fromhex(entry["log_key"])
    entry["log_key"] = (_torsion_sum(good, ORDER_2) if torsion == "order-2l" else torsion).hex()
    with pytest.raises(MeetingError) as info:
        parse_meeting(entry)
    assert info.value.where == "meeting.log_key"
    report = verify_record(signed_record(sim, [entry] + sim.log.entries[1:]))
    assert report.checks["meeting"].first_failure.index == 0
    assert "log_key" in report.checks["meeting"].first_failure.message


@pytest.mark.parametrize("torsion", [IDENTITY, ORDER_8, "order-2l"], ids=["identity", "order-8", "order-2l"])
def test_small_order_credential(sim, torsion):
    good = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    key = _torsion_sum(good, ORDER_2) if torsion == "order-2l" else torsion
    entries = copy.deepcopy(sim.log.entries)
    entries.insert(2, {"type": "credentials", "add": [key.hex()], "revoke": []})
    _fails_only(signed_record(sim, entries), "credentials", 2, "prime order")


# ----------------------------------------------------------------- exact shapes


def test_meeting_and_constraint_shapes_are_exact(sim):
    entry = dict(sim.log.entries[0], note="extra")
    with pytest.raises(MeetingError, match="unexpected"):
        parse_meeting(entry)
    entry = copy.deepcopy(sim.log.entries[0])
    entry["trustees"][0]["email"] = "x@example.org"
    with pytest.raises(MeetingError, match="unexpected"):
        parse_meeting(entry)
    vote = copy.deepcopy(_vote(sim, "v3").entry)
    vote["constraints"] = [{"id": "k", "members": [["projects", "p01"]], "min": 0, "max": 1, "label": "x"}]
    with pytest.raises(VoteDefinitionError, match="unexpected"):
        parse_vote(vote)
    del vote["constraints"][0]["label"]
    parse_vote(vote)  # display fields stay allowed on votes, contests and options, not constraints


# ----------------------------------------------------------------- tree heads


def test_sths_out_of_time_order_or_later_than_the_latest(sim):
    history = sim.log.sths[:-1]
    earlier = copy.deepcopy(history)
    late = sign_sth(sim.log.log_key, earlier[1]["tree_size"], bytes.fromhex(earlier[1]["root"]),
                    earlier[0]["timestamp"] - 1)  # fmt: skip
    earlier[1] = late  # same tree, signed with a time before the previous head's
    report = verify_record(signed_record(sim, sths=earlier))
    assert report.failed() == ["sth_history"], report.format()
    assert "timestamps" in report.checks["sth_history"].first_failure.message

    record = signed_record(sim, sths=history)
    future = sign_sth(sim.log.log_key, history[0]["tree_size"], bytes.fromhex(history[0]["root"]),
                      record.sth["timestamp"] + 1)  # fmt: skip
    record.sths = [future] + history[1:]
    report = verify_record(record)
    assert report.failed() == ["sth_history"], report.format()
    assert "later than sth.json" in report.checks["sth_history"].first_failure.message


# ----------------------------------------------------------------- helpers


def _blank(vote):
    return {contest.id: [] if contest.min == 0 else contest.options[: contest.min] for contest in vote.contests}


def _unsatisfied(vote):
    return {contest.id: [contest.options[-1]] for contest in vote.contests}


def test_hash_helper_matches_the_ballot_hash(sim):
    ballot = sim.log.entries[index_of(sim.log.entries, "ballot", "v1")]
    assert len(hash_hex(ballot)) == 64
