"""Partial decryption and combination (SPEC §6.2, §8 share entries), and the trustee CLI."""

from __future__ import annotations

import copy
import itertools
import json

import pytest
from click.testing import CliRunner

from ballot.elgamal import encrypt, sum_ciphertexts
from ballot.errors import ThresholdError
from ballot.group import Scalar
from ballot.meeting import parse_meeting, verify_meeting
from ballot.vote import parse_vote
from keys.ceremony import begin, run_ceremony_in_memory
from keys.decrypt import (
    UNATTRIBUTED,
    aggregates_to_json,
    combine_shares,
    parse_aggregates,
    partial_decrypt,
    verify_share_entry,
)
from keys.envelope import seal, share_associated_data
from keys.errors import CeremonyError
from keys.statefile import load_state, read_header
from keys.trustee_cli import ceremony, decrypt

VOTE_HASH = bytes(range(32))
COUNTS = [4, 0, 2, 7, 1]
BALLOTS = 7


def meeting_entry(trustees, public_key, threshold, meeting_id="m1"):
    return {
        "type": "meeting",
        "spec": "piaojue/1",
        "meeting_id": meeting_id,
        "title": "第一次会议",
        "body": "某市人大常委会",
        "members": 10,
        "quorum": "two_thirds",
        "log_key": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",  # RFC 8032 test 1
        "threshold": threshold,
        "trustees": trustees,
        "public_key": public_key,
    }


@pytest.fixture(scope="module")
def setup():
    trustees, public_key, states = run_ceremony_in_memory("m1", ["a", "b", "c", "d", "e"], 3)
    meeting = parse_meeting(meeting_entry(trustees, public_key, 3))
    verify_meeting(meeting)
    aggregates = []
    for position, count in enumerate(COUNTS):
        ballots = [encrypt(1 if b < count else 0, meeting.public_key)[0] for b in range(BALLOTS)]
        aggregates.append(("c1", f"o{position}", sum_ciphertexts(ballots)))
    entries = [partial_decrypt(state, meeting.hash, VOTE_HASH, "v1", aggregates) for state in states]
    return meeting, states, aggregates, entries


def test_share_entry_shape(setup):
    meeting, _, aggregates, entries = setup
    entry = entries[1]
    assert set(entry) == {"type", "vote_id", "trustee", "shares"}
    assert entry["type"] == "share" and entry["vote_id"] == "v1" and entry["trustee"] == 2
    assert [(s["contest"], s["option"]) for s in entry["shares"]] == [(c, o) for c, o, _ in aggregates]
    for share in entry["shares"]:
        assert set(share) == {"contest", "option", "M", "proof"}
        assert len(share["M"]) == 64 and len(share["proof"]) == 2
    assert len(verify_share_entry(meeting, VOTE_HASH, aggregates, entry, vote_id="v1")) == len(COUNTS)


def test_every_three_of_five_decrypts(setup):
    meeting, _, aggregates, entries = setup
    for subset in itertools.combinations(range(5), 3):
        result = combine_shares(
            meeting, VOTE_HASH, aggregates, [entries[i] for i in subset], BALLOTS, vote_id="v1"
        )
        assert result.counts == COUNTS
        assert result.trustees_used == [i + 1 for i in subset]
        assert result.rejected == {}
    result = combine_shares(meeting.entry, VOTE_HASH, aggregates, list(reversed(entries)), BALLOTS)
    assert result.counts == COUNTS and result.trustees_used == [1, 2, 3]


def test_two_cannot_decrypt(setup):
    meeting, _, aggregates, entries = setup
    for subset in itertools.combinations(range(5), 2):
        with pytest.raises(ThresholdError) as info:
            combine_shares(meeting, VOTE_HASH, aggregates, [entries[i] for i in subset], BALLOTS)
        missing = [i + 1 for i in range(5) if i not in subset]
        assert "missing: trustee " + ", ".join(map(str, missing)) in str(info.value)
    with pytest.raises(ThresholdError):
        combine_shares(meeting, VOTE_HASH, aggregates, [], BALLOTS)


def _with_bad_proof(entry):
    bad = copy.deepcopy(entry)
    c, v = bad["shares"][2]["proof"]
    bad["shares"][2]["proof"] = [c, (Scalar.from_hex(v) + Scalar.reduce(1)).hex()]
    return bad


def test_wrong_share_proof_is_rejected_and_others_combine(setup):
    meeting, _, aggregates, entries = setup
    shares = [entries[0], _with_bad_proof(entries[1]), entries[2], entries[3]]
    result = combine_shares(meeting, VOTE_HASH, aggregates, shares, BALLOTS)
    assert result.counts == COUNTS
    assert result.trustees_used == [1, 3, 4]
    assert list(result.rejected) == [2]
    assert "partial decryption proof of trustee 2 does not verify" in result.rejected[2]


def test_wrong_partial_value_is_rejected(setup):
    meeting, _, aggregates, entries = setup
    bad = copy.deepcopy(entries[4])
    bad["shares"][0]["M"] = entries[3]["shares"][0]["M"]  # someone else's M_l, with 5's proof
    result = combine_shares(meeting, VOTE_HASH, aggregates, [bad, *entries[:3]], BALLOTS)
    assert result.counts == COUNTS and list(result.rejected) == [5]


def test_invalid_shares_below_threshold_are_named(setup):
    meeting, _, aggregates, entries = setup
    shares = [entries[0], _with_bad_proof(entries[1]), entries[2]]
    with pytest.raises(ThresholdError) as info:
        combine_shares(meeting, VOTE_HASH, aggregates, shares, BALLOTS)
    message = str(info.value)
    assert "2 valid shares, the threshold is 3" in message
    assert "missing: trustee 4, 5" in message
    assert "invalid: trustee 2" in message


def test_shares_for_another_vote_or_meeting_are_rejected(setup):
    meeting, states, aggregates, entries = setup
    other_vote = partial_decrypt(states[0], meeting.hash, b"\x01" * 32, "v1", aggregates)
    other_meeting = partial_decrypt(states[1], b"\x02" * 32, VOTE_HASH, "v1", aggregates)
    wrong_id = {**entries[2], "vote_id": "v2"}
    result = combine_shares(
        meeting,
        VOTE_HASH,
        aggregates,
        [other_vote, other_meeting, wrong_id, *entries[2:]],
        BALLOTS,
        vote_id="v1",
    )
    assert result.counts == COUNTS and result.trustees_used == [3, 4, 5]
    assert set(result.rejected) == {1, 2}  # the wrong vote_id copy of 3 is superseded by the valid one
    garbage = [{"type": "share"}, "nonsense", {**entries[0], "trustee": 9}]
    result = combine_shares(meeting, VOTE_HASH, aggregates, garbage + entries[:3], BALLOTS)
    assert result.trustees_used == [1, 2, 3] and list(result.rejected) == [UNATTRIBUTED]


def test_malformed_share_entries(setup):
    meeting, _, aggregates, entries = setup
    good = entries[0]
    for broken in (
        {**good, "type": "result"},
        {**good, "shares": good["shares"][:-1]},
        {**good, "shares": list(reversed(good["shares"]))},
        {**good, "extra": 1},
        {**good, "shares": [{**good["shares"][0], "M": "zz"}, *good["shares"][1:]]},
    ):
        with pytest.raises(ThresholdError):
            verify_share_entry(meeting, VOTE_HASH, aggregates, broken)


def test_count_above_bound_is_an_error(setup):
    meeting, _, aggregates, entries = setup
    with pytest.raises(ThresholdError, match="c1/o3"):
        combine_shares(meeting, VOTE_HASH, aggregates, entries, 5)


def test_partial_decrypt_needs_a_finished_ceremony(setup):
    meeting, _, aggregates, _ = setup
    state, _ = begin("m1", 1, 5, 3, "a")
    with pytest.raises(CeremonyError, match="no share yet"):
        partial_decrypt(state, meeting.hash, VOTE_HASH, "v1", aggregates)


def test_partial_decrypt_input_checks(setup):
    meeting, states, aggregates, _ = setup
    with pytest.raises(ThresholdError):
        partial_decrypt(states[0], b"short", VOTE_HASH, "v1", aggregates)
    with pytest.raises(ThresholdError):
        partial_decrypt(states[0], meeting.hash, VOTE_HASH, "v1", [])
    with pytest.raises(ThresholdError):
        partial_decrypt(states[0], meeting.hash, VOTE_HASH, "v1", aggregates + aggregates[:1])


def test_aggregates_json_round_trip(setup):
    _, _, aggregates, _ = setup
    as_json = aggregates_to_json(aggregates)
    assert parse_aggregates(as_json) == aggregates
    assert parse_aggregates({"tallies": [{**a, "count": 1} for a in as_json]}) == aggregates
    with pytest.raises(ThresholdError):
        parse_aggregates([{"contest": "c1", "option": "o0", "A": "00"}])


# ---------------------------------------------------------------- CLI


FAST = ["--kdf-memory-cost", "8", "--kdf-iterations", "1"]
VOTE = {
    "type": "vote",
    "vote_id": "v1",
    "kind": "resolution",
    "title": "关于……的决议（草案）",
    "contests": [
        {
            "id": "q1",
            "title": "q",
            "min": 0,
            "max": 1,
            "options": [
                {"id": "yes", "label": "赞成"},
                {"id": "no", "label": "反对"},
                {"id": "abstain", "label": "弃权"},
            ],
        }
    ],
    "constraints": [],
    "rule": {"name": "majority", "yes": "yes", "threshold": "half", "base": "members"},
    "recast": False,
}


def _invoke(runner, command, args, passphrase="口令 passphrase", **kwargs):
    return runner.invoke(
        command, args, env={"PIAOJUE_PASSPHRASE": passphrase}, catch_exceptions=False, **kwargs
    )


def test_cli_round_trip(tmp_path):
    runner = CliRunner()
    n, k = 3, 2
    ann_dir = tmp_path / "announcements"
    msg_dir = tmp_path / "messages"
    ann_dir.mkdir()
    msg_dir.mkdir()
    state = {i: str(tmp_path / f"trustee{i}.state") for i in range(1, n + 1)}
    for i in range(1, n + 1):
        result = _invoke(
            runner,
            ceremony,
            [
                "begin",
                "--meeting",
                "m1",
                "--index",
                str(i),
                "--trustees",
                str(n),
                "--threshold",
                str(k),
                "--name",
                f"受托人{i}",
                "--state",
                state[i],
                "--out",
                str(ann_dir / f"{i}.json"),
                *FAST,
            ],
        )
        assert result.exit_code == 0, result.output
        assert "announcement fingerprint:" in result.stdout
    # begin refuses to overwrite a state file
    result = _invoke(
        runner,
        ceremony,
        [
            "begin",
            "--meeting",
            "m1",
            "--index",
            "1",
            "--trustees",
            "3",
            "--threshold",
            "2",
            "--name",
            "x",
            "--state",
            state[1],
            "--out",
            str(tmp_path / "x.json"),
            *FAST,
        ],
    )
    assert result.exit_code == 2 and "refusing to overwrite" in result.stderr
    for i in range(1, n + 1):
        result = _invoke(
            runner,
            ceremony,
            [
                "deal",
                "--state",
                state[i],
                "--announcements",
                str(ann_dir),
                "--out",
                str(msg_dir / f"{i}.json"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "compare these fingerprints" in result.stdout
    for i in range(1, n + 1):
        result = _invoke(
            runner,
            ceremony,
            ["receive", "--state", state[i], "--announcements", str(ann_dir), "--messages", str(msg_dir)],
        )
        assert result.exit_code == 0, result.output
        assert "Feldman check passed" in result.stdout
    result = _invoke(
        runner,
        ceremony,
        [
            "trustees",
            "--meeting",
            "m1",
            "--announcements",
            str(ann_dir),
            "--out",
            str(tmp_path / "trustees.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    made = json.loads((tmp_path / "trustees.json").read_text("utf-8"))
    entry = meeting_entry(made["trustees"], made["public_key"], k)
    meeting = parse_meeting(entry)
    verify_meeting(meeting)
    (tmp_path / "meeting.json").write_text(json.dumps({"meeting": entry, "meeting_hash": meeting.hash.hex()}))

    vote = parse_vote(VOTE)
    (tmp_path / "vote.json").write_text(json.dumps(VOTE, ensure_ascii=False), "utf-8")
    choices = [(1, 0, 0), (1, 0, 0), (0, 1, 0), (1, 0, 0), (0, 0, 1)]
    aggregates = []
    for position, (contest, option) in enumerate(vote.option_refs()):
        cts = [encrypt(choice[position], meeting.public_key)[0] for choice in choices]
        aggregates.append((contest, option, sum_ciphertexts(cts)))
    (tmp_path / "agg.json").write_text(json.dumps(aggregates_to_json(aggregates)))

    common = ["--vote", str(tmp_path / "vote.json"), "--aggregates", str(tmp_path / "agg.json")]
    result = _invoke(
        runner,
        decrypt,
        [
            "--state",
            state[1],
            "--meeting",
            str(tmp_path / "meeting.json"),
            *common,
            "--out",
            str(tmp_path / "s1.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    result = _invoke(
        runner,
        decrypt,
        [
            "--state",
            state[3],
            "--meeting-hash",
            meeting.hash.hex(),
            *common,
            "--out",
            str(tmp_path / "s3.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    shares = [json.loads((tmp_path / f"s{i}.json").read_text()) for i in (1, 3)]
    result = combine_shares(meeting, vote.hash, aggregates, shares, len(choices), vote_id="v1")
    assert result.counts == [3, 1, 1] and result.trustees_used == [1, 3]

    # a wrong passphrase: one line on stderr, exit 2, no traceback
    result = _invoke(
        runner,
        decrypt,
        [
            "--state",
            state[2],
            "--meeting-hash",
            meeting.hash.hex(),
            *common,
            "--out",
            str(tmp_path / "s2.json"),
        ],
        passphrase="wrong",
    )
    assert result.exit_code == 2
    assert "wrong passphrase or corrupted file" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    # neither or both of --meeting-hash / --meeting
    result = _invoke(runner, decrypt, ["--state", state[2], *common, "--out", str(tmp_path / "s2.json")])
    assert result.exit_code == 2 and "exactly one of" in result.stderr
    # aggregates not in the vote's order
    (tmp_path / "agg-bad.json").write_text(json.dumps(list(reversed(aggregates_to_json(aggregates)))))
    result = _invoke(
        runner,
        decrypt,
        [
            "--state",
            state[2],
            "--meeting-hash",
            meeting.hash.hex(),
            "--vote",
            str(tmp_path / "vote.json"),
            "--aggregates",
            str(tmp_path / "agg-bad.json"),
            "--out",
            str(tmp_path / "s2.json"),
        ],
    )
    assert result.exit_code == 2 and "in its order" in result.stderr


def test_cli_receive_complaint_and_demo(tmp_path):
    runner = CliRunner()
    ann_dir = tmp_path / "ann"
    ann_dir.mkdir()
    states = [str(tmp_path / f"t{i}.state") for i in (1, 2)]
    for i in (1, 2):
        result = _invoke(
            runner,
            ceremony,
            [
                "begin",
                "--meeting",
                "demo-1",
                "--index",
                str(i),
                "--trustees",
                "2",
                "--threshold",
                "2",
                "--name",
                f"t{i}",
                "--state",
                states[i - 1],
                "--out",
                str(ann_dir / f"{i}.json"),
                "--demo",
                *FAST,
            ],
            passphrase="demo",
        )
        assert result.exit_code == 0, result.output
        assert "[DEMO]" in result.stdout
    result = _invoke(
        runner,
        ceremony,
        ["deal", "--state", states[1], "--announcements", str(ann_dir), "--out", str(tmp_path / "m2.json")],
        passphrase="demo",
    )
    assert result.exit_code == 0 and "DEMO state file" in result.stderr
    messages = json.loads((tmp_path / "m2.json").read_text())
    # trustee 2's envelope to trustee 1, re-sealed with a random (wrong) share
    announcement1 = json.loads((ann_dir / "1.json").read_text())
    messages[0]["envelope"] = seal(
        bytes.fromhex(announcement1["transport_key"]),
        Scalar.random().to_bytes(),
        share_associated_data("demo-1", 2, 1),
    )
    (tmp_path / "bad.json").write_text(json.dumps(messages))
    before = (tmp_path / "t1.state").read_bytes()
    result = _invoke(
        runner,
        ceremony,
        [
            "receive",
            "--state",
            states[0],
            "--announcements",
            str(ann_dir),
            "--messages",
            str(tmp_path / "bad.json"),
        ],
        passphrase="demo",
    )
    assert result.exit_code == 3
    assert "trustee 2's share to trustee 1 fails the Feldman check" in result.stderr
    assert (tmp_path / "t1.state").read_bytes() == before
    # the real messages pass, and the state stays marked DEMO with its cost
    result = _invoke(
        runner,
        ceremony,
        [
            "receive",
            "--state",
            states[0],
            "--announcements",
            str(ann_dir),
            "--messages",
            str(tmp_path / "m2.json"),
        ],
        passphrase="demo",
    )
    assert result.exit_code == 0, result.output
    header = read_header(states[0])
    assert header["demo"] is True and header["kdf"]["memory_cost"] == 8
    # a malformed announcements file is a one-line error
    (tmp_path / "junk.json").write_text("{not json")
    result = _invoke(
        runner,
        ceremony,
        [
            "deal",
            "--state",
            states[0],
            "--announcements",
            str(tmp_path / "junk.json"),
            "--out",
            str(tmp_path / "o"),
        ],
        passphrase="demo",
    )
    assert result.exit_code == 2 and "not valid JSON" in result.stderr


def test_cli_prompts_for_passphrase(tmp_path):
    runner = CliRunner()
    args = [
        "begin",
        "--meeting",
        "m1",
        "--index",
        "1",
        "--trustees",
        "1",
        "--threshold",
        "1",
        "--name",
        "a",
        "--state",
        str(tmp_path / "s"),
        "--out",
        str(tmp_path / "a.json"),
        *FAST,
    ]
    result = runner.invoke(ceremony, args, input="pw1\npw2\npw1\npw1\n", env={"PIAOJUE_PASSPHRASE": None})
    assert result.exit_code == 0, result.output
    assert "pw1" not in result.output
    assert load_state(tmp_path / "s", "pw1")["index"] == 1
