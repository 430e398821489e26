"""The record verifier (SPEC §8): an honest simulated record passes, and every check catches the
tampering aimed at it, naming itself and the entry."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot.audit import check_receipt, verify_record
from ballot.ballot import ballot_hash, display_tracker
from ballot.encrypt import encrypt_ballot
from ballot.hashing import canonical_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.meeting import parse_meeting
from ballot.receipt import make_receipt
from ballot.record import read_record, write_record
from ballot.rules import compute_outcome
from ballot.vote import parse_vote
from piaojue_tools.simulate import simulate
from tests.forgery import signed_record

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sim():
    return simulate(deputies=12, seed=3)


def _record(sim, entries=None, lines=None, sths=None, key=None):
    """A record of ``entries`` (or raw ``lines``) with a freshly signed, correct STH."""
    return signed_record(sim, entries, lines=lines, sths=sths, key=key)


def _verify(record):
    return verify_record(record)


def _index(entries, predicate, nth=0):
    return [i for i, e in enumerate(entries) if predicate(e)][nth]


def _of(kind, vote_id=None):
    return lambda e: e["type"] == kind and (vote_id is None or e.get("vote_id") == vote_id)


def test_honest_record_passes(sim, tmp_path):
    report = _verify(_record(sim, sths=sim.log.sths[:-1]))
    assert report.ok, report.format()
    assert report.checks["ballots"].checked > 50
    assert report.checks["spoiled"].checked == 1
    assert report.checks["shares"].checked == 15  # 5 votes × 3 trustees
    assert [v["state"] for v in report.votes] == ["published"] * 5
    # The simulator's own record (with its STHs), written and read back as a directory and a zip.
    for target in (tmp_path / "rec", tmp_path / "rec.zip"):
        write_record(target, sim.log.entries, sim.log.sths[-1], sim.log.sths)
        assert verify_record(read_record(target)).ok


def _expect(report, check, index=None):
    assert check in report.failed(), report.format()
    failure = report.checks[check].first_failure
    if index is not None:
        assert failure.index == index, report.format()
    return failure


def test_record_format_non_canonical_line(sim):
    lines = [canonical_json(e) for e in sim.log.entries]
    lines[5] = json.dumps(sim.log.entries[5]).encode()  # spaces: not canonical
    report = _verify(_record(sim, lines=lines))
    assert report.failed() == ["record_format"]
    _expect(report, "record_format", 5)


def test_sth_wrong_key_and_wrong_root(sim):
    report = _verify(_record(sim, key=Ed25519PrivateKey.generate()))
    assert report.failed() == ["sth"]
    record = _record(sim)
    record.sth = sign_sth(sim.log.log_key, record.sth["tree_size"], bytes(32), 1)
    assert "root" in str(_expect(_verify(record), "sth"))


def test_sth_history_inconsistent(sim):
    bogus = sign_sth(sim.log.log_key, 10, bytes(32), 1)
    report = _verify(_record(sim, sths=[sim.log.sths[0], bogus]))
    assert report.failed() == ["sth_history"]
    assert "line 2" in str(_expect(report, "sth_history"))


def test_meeting_bad_proof_of_knowledge(sim):
    entries = copy.deepcopy(sim.log.entries)
    c, v = entries[0]["trustees"][1]["proofs"][0]
    entries[0]["trustees"][1]["proofs"][0] = [v, c]
    report = _verify(_record(sim, entries))
    assert "proofs" in str(_expect(report, "meeting", 0))


def test_credentials_revoking_unknown_key(sim):
    entries = copy.deepcopy(sim.log.entries)
    entries.insert(2, {"type": "credentials", "add": [], "revoke": ["ab" * 32]})
    report = _verify(_record(sim, entries))
    assert report.failed() == ["credentials"]
    _expect(report, "credentials", 2)


def test_votes_defined_twice(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("vote")) + 1
    entries.insert(at, entries[at - 1])
    report = _verify(_record(sim, entries))
    assert report.failed() == ["votes"]
    _expect(report, "votes", at)


def test_vote_lifecycle_wrong_ballot_count(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("close", "v2"))
    entries[at]["ballots"] += 1
    report = _verify(_record(sim, entries))
    assert report.failed() == ["vote_lifecycle"]
    _expect(report, "vote_lifecycle", at)


def test_ballots_same_bytes_twice_is_a_replay(sim):
    entries = copy.deepcopy(sim.log.entries)
    first = _index(entries, _of("ballot", "v3"))
    close = _index(entries, _of("close", "v3"))
    entries.insert(close, copy.deepcopy(entries[first]))
    entries[close + 1]["ballots"] += 1
    report = _verify(_record(sim, entries))
    assert report.failed() == ["ballots"]
    assert "replay" in str(_expect(report, "ballots", close))


def test_ballots_second_ballot_without_recast(sim):
    entries = copy.deepcopy(sim.log.entries)
    first = _index(entries, _of("ballot", "v3"))
    close = _index(entries, _of("close", "v3"))
    credential = entries[first]["credential"]
    key = next(k for k in sim.deputy_keys if k.public_key().public_bytes_raw().hex() == credential)
    again = encrypt_ballot(sim.votes[2], sim.meeting.hash, sim.meeting.public_key, key, {"projects": []})
    entries.insert(close, again.entry)
    entries[close + 1]["ballots"] += 1
    report = _verify(_record(sim, entries))
    assert report.failed() == ["ballots"]
    assert "already_voted" in str(_expect(report, "ballots", close))


def test_ballots_unregistered_credential(sim):
    entries = copy.deepcopy(sim.log.entries)
    meeting = parse_meeting(entries[0])
    vote = parse_vote(entries[_index(entries, _of("vote", "v1"))])
    stranger = encrypt_ballot(vote, meeting.hash, meeting.public_key, Ed25519PrivateKey.generate(), {"motion": ["no"]})
    close = _index(entries, _of("close", "v1"))
    entries.insert(close, stranger.entry)
    entries[close + 1]["ballots"] += 1
    report = _verify(_record(sim, entries))
    assert report.failed() == ["ballots"]
    assert "unknown_credential" in str(_expect(report, "ballots", close))


def test_ballots_after_close_and_bad_proof(sim):
    entries = copy.deepcopy(sim.log.entries)
    first = _index(entries, _of("ballot", "v4"))
    close = _index(entries, _of("close", "v4"))
    entries.insert(close + 1, copy.deepcopy(entries[first]))
    report = _verify(_record(sim, entries))
    assert "window" in str(_expect(report, "ballots", close + 1))

    entries = copy.deepcopy(sim.log.entries)
    selection = entries[first]["contests"][0]["selections"][0]
    selection["alpha"], selection["beta"] = selection["beta"], selection["alpha"]
    report = _verify(_record(sim, entries))
    failure = _expect(report, "ballots", first)
    assert "invalid_proof" in str(failure) or "bad_signature" in str(failure)
    assert "tallies" in report.failed()  # the dropped ballot changes every count


def test_spoiled_opening_does_not_match(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("spoiled"))
    entries[at]["openings"][0][2] = 1 - entries[at]["openings"][0][2]
    report = _verify(_record(sim, entries))
    assert report.failed() == ["spoiled"]
    assert "openings[0]" in str(_expect(report, "spoiled", at))


def test_shares_bad_partial_decryption(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("share", "v5"))
    entries[at]["shares"][0]["M"] = entries[at]["shares"][1]["M"]
    report = _verify(_record(sim, entries))
    assert "shares[0]" in str(_expect(report, "shares", at))
    _expect(report, "decryption")  # the result names a trustee whose share is invalid


def test_tallies_aggregate_not_the_sum(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("result", "v1"))
    entries[at]["tallies"][0]["A"] = entries[at]["tallies"][1]["A"]
    report = _verify(_record(sim, entries))
    assert report.failed() == ["tallies"]
    _expect(report, "tallies", at)


def test_decryption_count_changed_with_consistent_outcome(sim):
    """A result that lies about a count, with an outcome recomputed to match the lie."""
    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("result", "v1"))
    result = entries[at]
    result["tallies"][1]["count"] += 1  # one more 反对
    meeting = parse_meeting(entries[0])
    vote_entry = entries[_index(entries, _of("vote", "v1"))]
    present = entries[_index(entries, _of("open", "v1"))]["present"]
    counts = {(t["contest"], t["option"]): t["count"] for t in result["tallies"]}
    result["outcome"] = compute_outcome(
        vote_entry["rule"], vote_entry, counts, members=meeting.members, present=present,
        counted=result["counted"], quorum=meeting.quorum,
    )
    report = _verify(_record(sim, entries))
    assert report.failed() == ["decryption"]
    assert "count·G" in str(_expect(report, "decryption", at))


def test_outcome_not_what_the_rule_computes(sim):
    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("result", "v1"))
    entries[at]["outcome"]["items"][0]["passed"] = not entries[at]["outcome"]["items"][0]["passed"]
    report = _verify(_record(sim, entries))
    assert report.failed() == ["outcomes"]
    _expect(report, "outcomes", at)


def test_unknown_entry_types_are_skipped(sim):
    entries = copy.deepcopy(sim.log.entries)
    entries.insert(3, {"type": "seat_map", "note": "implementation's own"})
    report = _verify(_record(sim, entries))
    assert report.ok, report.format()
    assert report.skipped_types == {"seat_map": 1}


def _receipt_for(sim, record, nth=0):
    entries = sim.log.entries
    leaf = _index(entries, _of("ballot", "v3"), nth)
    tree = MerkleTree()
    for line in record.lines:
        tree.append(leaf_hash(line))
    digest = ballot_hash(entries[leaf])
    return make_receipt(
        sim.meeting.meeting_id, "v3", digest, display_tracker(digest), leaf, record.sth,
        tree.inclusion_proof(leaf, tree.size),
    )


def test_receipt_check(sim):
    record = _record(sim)
    report = _verify(record)
    check_receipt(record, report, _receipt_for(sim, record))
    assert report.ok, report.format()
    bad = _receipt_for(sim, record)
    bad["inclusion"][0] = "00" * 32
    check_receipt(record, report, bad)
    assert report.failed() == ["receipt"]


def test_verify_cli(sim, tmp_path):
    target = write_record(tmp_path / "rec.zip", sim.log.entries, sim.log.sths[-1], sim.log.sths)
    record = read_record(target)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(_receipt_for(sim, record, 2)))
    ok = subprocess.run(
        [sys.executable, "-m", "ballot.verify", str(target), "--receipt", str(receipt)],
        cwd=ROOT, capture_output=True, text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "RESULT: PASS" in ok.stdout and "[PASS] ballots" in ok.stdout and "[PASS] receipt" in ok.stdout

    entries = copy.deepcopy(sim.log.entries)
    at = _index(entries, _of("result", "v1"))
    entries[at]["outcome"]["items"][0]["passed"] = False
    tampered = tmp_path / "bad"
    write_record(tampered, entries, _record(sim, entries).sth)
    bad = subprocess.run([sys.executable, "-m", "ballot.verify", str(tampered)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "[FAIL] outcomes" in bad.stdout and f"entry {at}" in bad.stdout

    missing = subprocess.run([sys.executable, "-m", "ballot.verify", str(tmp_path / "nope")], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "error:" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize(
    "files, message",
    [
        ({"sth.json": b"{}"}, "log.jsonl"),
        ({"log.jsonl": b"", "sth.json": b"[1"}, "not valid JSON"),
        ({"log.jsonl": b'{"type":"meeting"}', "sth.json": b"{}"}, "newline"),
    ],
)
def test_unreadable_records(tmp_path, files, message):
    from ballot.errors import RecordError

    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(RecordError, match=message):
        read_record(tmp_path)


def test_garbage_zip(tmp_path):
    from ballot.errors import RecordError

    path = tmp_path / "r.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(RecordError):
        read_record(path)


def test_simulate_cli_writes_a_verifiable_record(tmp_path):
    out = tmp_path / "sim"
    run = subprocess.run(
        [sys.executable, "-m", "ballot.simulate", "--out", str(out), "--deputies", "9", "--seed", "5",
         "--trustees", "4", "--threshold", "2"],
        cwd=ROOT, capture_output=True, text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Verification" in run.stdout and "PASS" in run.stdout
    for kind in ("resolution", "appointment", "selection", "election", "evaluation"):
        assert kind in run.stdout
    report = verify_record(read_record(out))
    assert report.ok and report.checks["meeting"].checked == 1
    assert len(parse_meeting(read_record(out).entries[0]).trustees) == 4
    bad = subprocess.run([sys.executable, "-m", "ballot.simulate", "--out", str(out), "--threshold", "9"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "threshold" in bad.stderr
