"""The trustees' offline write-in commands (keys/mix_cli.py, docs/protocol.md §12.5–§12.6):
``python -m keys shuffle`` and ``python -m keys name-shares`` on a real simulated record, each
step verified by the record verifier; the refusals (a second shuffle, names before threshold
shuffles, a record that does not verify, a vote without write-ins, another meeting's state)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ballot.audit import verify_record
from ballot.hashing import canonical_json, parse_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.record import read_record, write_record
from ballot.shuffle import parse_rows
from keys.cli import cli
from keys.mix import combine_names
from keys.statefile import KdfParams, save_state
from piaojue_tools.simulate import simulate

PASSPHRASE = "口令 passphrase"
FAST = KdfParams(memory_cost=8, iterations=1)


@pytest.fixture(scope="module")
def sim():
    return simulate(deputies=8, seed=9, trustees=3, threshold=2, votes_json=[], statutory=True)


def _write(sim, tmp_path, entries, name="record"):
    tree = MerkleTree()
    for entry in entries:
        tree.append(leaf_hash(canonical_json(entry)))
    sth = sign_sth(sim.log.log_key, tree.size, tree.root(tree.size), 1_800_000_000_000)
    return write_record(tmp_path / name, entries, sth, [])


def _until_close(sim):
    entries = sim.log.entries
    close = next(i for i, e in enumerate(entries) if e["type"] == "close" and e["vote_id"] == "v6")
    return [dict(e) for e in entries[: close + 1]]


def _states(sim, tmp_path):
    paths = []
    for i, state in enumerate(sim.trustee_states, start=1):
        path = tmp_path / f"t{i}.state"
        save_state(path, state, PASSPHRASE, kdf=FAST)
        paths.append(str(path))
    return paths


def _run(command, *args):
    result = CliRunner().invoke(cli, [command, *args], env={"PIAOJUE_PASSPHRASE": PASSPHRASE})
    return result


def _read(path):
    return parse_json(path.read_bytes())


def test_shuffle_and_name_shares_offline(sim, tmp_path):
    states = _states(sim, tmp_path)
    entries = _until_close(sim)
    record = _write(sim, tmp_path, entries, "r0")

    # names before any shuffle: refused
    result = _run("name-shares", "--state", states[0], "--record", str(record), "--vote", "v6", "--out", str(tmp_path / "x.json"))
    assert result.exit_code == 2 and "after 2 trustees have shuffled" in result.output, result.output

    for step, trustee in enumerate((3, 1)):
        out = tmp_path / f"shuffle{trustee}.json"
        result = _run("shuffle", "--state", states[trustee - 1], "--record", str(record), "--vote", "v6", "--out", str(out))
        assert result.exit_code == 0, result.output
        assert f"{step + 1} of threshold 2" in result.output
        entries.append(_read(out))
        record = _write(sim, tmp_path, entries, f"r{step + 1}")
        report = verify_record(read_record(record))
        assert report.ok and report.checks["mixing"].checked == step + 1, report.format()

    # trustee 1 again: refused
    result = _run("shuffle", "--state", states[0], "--record", str(record), "--vote", "v6", "--out", str(tmp_path / "y.json"))
    assert result.exit_code == 2 and "already shuffled" in result.output

    shares = []
    for trustee in (1, 2):
        out = tmp_path / f"names{trustee}.json"
        result = _run("name-shares", "--state", states[trustee - 1], "--record", str(record), "--vote", "v6", "--out", str(out))
        assert result.exit_code == 0, result.output
        shares.append(_read(out))
    entries += shares
    record = _write(sim, tmp_path, entries, "r3")
    report = verify_record(read_record(record))
    assert report.ok and report.checks["mixing"].checked == 4, report.format()

    # no shuffle once the names are being decrypted
    result = _run("shuffle", "--state", states[1], "--record", str(record), "--vote", "v6", "--out", str(tmp_path / "z.json"))
    assert result.exit_code == 2 and "already being decrypted" in result.output

    # the shares decrypt the names the simulation's own trustees found
    last = entries[-3]
    rows = parse_rows(last["output"], len(last["output"]), len(last["output"][0]))
    _, decoded = combine_names(sim.meeting, sim.votes[0].hash, rows, shares, [1, 2])
    written = sorted(name for row in decoded for name in row if name)
    expected = sorted(
        item["name"] for item in sim.results["v6"]["writeins"]["names"] for _ in range(item["count"])
    )
    assert [name for name in written if name in expected] == expected


def test_a_record_that_does_not_verify_is_refused(sim, tmp_path):
    states = _states(sim, tmp_path)
    entries = _until_close(sim)
    entries[-1] = dict(entries[-1], ballots=entries[-1]["ballots"] + 1)  # a forged close
    record = _write(sim, tmp_path, entries)
    result = _run("shuffle", "--state", states[0], "--record", str(record), "--vote", "v6", "--out", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "does not verify" in result.output
    assert not (tmp_path / "s.json").exists()


def test_votes_that_cannot_be_mixed_are_refused(sim, tmp_path):
    states = _states(sim, tmp_path)
    entries = _until_close(sim)
    open_only = _write(sim, tmp_path, entries[:-1], "open")
    result = _run("shuffle", "--state", states[0], "--record", str(open_only), "--vote", "v6", "--out", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "not closed" in result.output
    record = _write(sim, tmp_path, entries)
    result = _run("shuffle", "--state", states[0], "--record", str(record), "--vote", "nope", "--out", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "no vote" in result.output


def test_another_meetings_state_is_refused(sim, tmp_path):
    other = simulate(deputies=4, seed=2, trustees=3, threshold=2, votes_json=[])
    path = tmp_path / "other.state"
    save_state(path, other.trustee_states[0], PASSPHRASE, kdf=FAST)
    record = _write(sim, tmp_path, _until_close(sim))
    result = _run("shuffle", "--state", str(path), "--record", str(record), "--vote", "v6", "--out", str(tmp_path / "s.json"))
    assert result.exit_code == 2, result.output
