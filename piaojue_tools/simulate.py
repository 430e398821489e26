"""``python -m ballot.simulate --out DIR``: a complete, verifiable record of one simulated meeting.

The meeting has all five kinds of vote (a resolution, appointments of 3 nominees, a 民生实事
selection of up to 10 of 13 projects, an election of 2 of 3, and an evaluation of 4
departments). It runs a real key ceremony (``--trustees`` of them, threshold ``--threshold``),
real encryption and proofs for every ballot, a Benaloh challenge (a spoiled ballot), recasts on
the evaluation (which allows them), and decryption by ``threshold`` of the trustees. Deputies'
choices and who takes part are drawn from ``--seed``; cryptographic randomness is never seeded.

This module uses ``keys/`` (the trustees' side) to play the trustees; the verifier does not. It is
a tool, not protocol, so it lives beside the core; ``ballot/simulate.py`` keeps the public command
``python -m ballot.simulate`` running it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ballot import templates
from ballot.audit import verify_record
from ballot.clock import utc_now
from ballot.elgamal import Ciphertext, sum_ciphertexts
from ballot.encrypt import encrypt_ballot
from ballot.hashing import canonical_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.meeting import Meeting, parse_meeting
from ballot.record import read_record, write_record
from ballot.results import result_entry
from ballot.vote import VoteDefinition, parse_vote
from keys.ceremony import run_ceremony_in_memory
from keys.decrypt import combine_shares, partial_decrypt
from piaojue_tools import demo_data


@dataclass
class MemoryLog:
    """An in-memory §7 log with signed tree heads, for simulations."""

    log_key: Ed25519PrivateKey
    entries: list[dict[str, Any]] = field(default_factory=list)
    tree: MerkleTree = field(default_factory=MerkleTree)
    sths: list[dict[str, Any]] = field(default_factory=list)

    def append(self, entry: dict[str, Any]) -> int:
        self.entries.append(entry)
        return self.tree.append(leaf_hash(canonical_json(entry)))

    def publish_sth(self) -> dict[str, Any]:
        size = self.tree.size
        sth = sign_sth(self.log_key, size, self.tree.root(size), int(time.time() * 1000))
        self.sths.append(sth)
        return sth


def _public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def agenda() -> list[dict[str, Any]]:
    """The five votes of the simulated (and demo) meeting, as §4.1 entries."""
    return [
        templates.resolution("v1", "关于2027年全市国民经济和社会发展计划的决议"),
        templates.appointment("v2", "人事任免案", demo_data.NOMINEES),
        templates.selection("v3", "2027年民生实事项目票决", demo_data.projects(13), 10),
        templates.election("v4", "补选市人大常委会委员（差额选举）", demo_data.CANDIDATES, 2),
        templates.evaluation("v5", "部门工作满意度测评", demo_data.DEPARTMENTS, recast=True),
    ]


def plausible_choices(vote: VoteDefinition, rng: random.Random) -> dict[str, list[str]]:
    """A plausible deputy's choices for ``vote`` (mostly 赞成/满意, popular projects favoured)."""
    choices: dict[str, list[str]] = {}
    for contest in vote.contests:
        if vote.kind in ("resolution", "appointment"):
            if contest.min == 0 and rng.random() < 0.02:
                choices[contest.id] = []
            else:
                choices[contest.id] = [rng.choices(contest.options, weights=(88, 6, 6))[0]]
        elif vote.kind == "evaluation":
            choices[contest.id] = [rng.choices(contest.options, weights=(70, 24, 6))[0]]
        else:
            # Earlier options are more popular; most deputies use (nearly) all their votes.
            size = len(contest.options)
            weights = [(size - i) ** 2 + size for i in range(size)]
            wanted = contest.max if rng.random() < 0.8 else rng.randint(contest.min, contest.max)
            picked: list[str] = []
            pool, pool_weights = list(contest.options), list(weights)
            while len(picked) < wanted:
                option = rng.choices(pool, weights=pool_weights)[0]
                position = pool.index(option)
                pool.pop(position)
                pool_weights.pop(position)
                picked.append(option)
            choices[contest.id] = picked
    return choices


@dataclass
class SimulationResult:
    meeting: Meeting
    log: MemoryLog
    votes: list[VoteDefinition]
    results: dict[str, dict[str, Any]]
    present: dict[str, int]
    deputy_keys: list[Ed25519PrivateKey] = field(default_factory=list)
    """Every deputy's credential key, in the order of the simulation (for tests that forge)."""
    trustee_states: list[Any] = field(default_factory=list)
    """Each trustee's ceremony state (``keys.ceremony``), index order (for tests that forge)."""


def simulate(
    deputies: int = 120,
    seed: int = 1,
    trustees: int = 5,
    threshold: int = 3,
    *,
    votes_json: list[dict[str, Any]] | None = None,
    turnout: float = 0.97,
    spoil: bool = True,
) -> SimulationResult:
    """Run the whole meeting in memory and return its log (see the module docstring).

    ``votes_json`` replaces the five-vote :func:`agenda` (benchmarks use one large selection).
    """
    rng = random.Random(seed)
    meeting_id = f"sim-{seed}"
    log = MemoryLog(Ed25519PrivateKey.generate())
    names = [f"监票人{i + 1}" for i in range(trustees)]
    trustees_json, public_key_hex, states = run_ceremony_in_memory(meeting_id, names, threshold)
    meeting_entry = {
        "type": "meeting",
        "spec": "piaojue/1",
        "meeting_id": meeting_id,
        "title": "某市第十七届人民代表大会第三次会议（模拟）",
        "body": "某市人民代表大会",
        "members": deputies,
        "quorum": "two_thirds",
        "log_key": _public_bytes(log.log_key).hex(),
        "threshold": threshold,
        "trustees": trustees_json,
        "public_key": public_key_hex,
    }
    log.append(meeting_entry)
    meeting = parse_meeting(meeting_entry)
    keys = [Ed25519PrivateKey.generate() for _ in range(deputies)]
    log.append({"type": "credentials", "add": sorted(_public_bytes(k).hex() for k in keys), "revoke": []})
    votes = [parse_vote(entry) for entry in (votes_json if votes_json is not None else agenda())]
    for vote in votes:
        log.append(vote.entry)
    log.publish_sth()

    checked_in = rng.sample(range(deputies), k=max(1, round(deputies * 0.96)))
    results: dict[str, dict[str, Any]] = {}
    present: dict[str, int] = {}
    for position, vote in enumerate(votes):
        log.append({"type": "open", "vote_id": vote.vote_id, "at": utc_now(), "present": len(checked_in)})
        present[vote.vote_id] = len(checked_in)
        voters = rng.sample(checked_in, k=max(1, round(len(checked_in) * turnout)))
        counted: dict[bytes, tuple[Ciphertext, ...]] = {}
        logged = 0
        for turn, deputy in enumerate(voters):
            key = keys[deputy]
            rounds = 2 if vote.recast and turn % 20 == 0 else 1
            if spoil and position == 0 and turn == 0:
                challenged = encrypt_ballot(vote, meeting.hash, meeting.public_key, key, plausible_choices(vote, rng))
                log.append(challenged.spoiled_entry())
            for _ in range(rounds):
                ballot = encrypt_ballot(vote, meeting.hash, meeting.public_key, key, plausible_choices(vote, rng))
                log.append(ballot.entry)
                logged += 1
                counted[_public_bytes(key)] = ballot.ciphertexts  # recast: the last one counts
        log.append({"type": "close", "vote_id": vote.vote_id, "at": utc_now(), "ballots": logged})
        aggregates = [sum_ciphertexts(column) for column in zip(*counted.values())]
        refs = vote.option_refs()
        aggregate_list = [(c, o, ct) for (c, o), ct in zip(refs, aggregates)]
        chosen = sorted(rng.sample(range(trustees), k=threshold))
        shares = [partial_decrypt(states[i], meeting.hash, vote.hash, vote.vote_id, aggregate_list) for i in chosen]
        for share in shares:
            log.append(share)
        combined = combine_shares(meeting, vote.hash, aggregate_list, shares, len(counted))
        result = result_entry(
            vote,
            aggregates,
            dict(zip(refs, combined.counts)),
            trustees=combined.trustees_used,
            counted=len(counted),
            present=len(checked_in),
            members=meeting.members,
            quorum=meeting.quorum,
        )
        log.append(result)
        results[vote.vote_id] = result
        log.publish_sth()
    return SimulationResult(meeting, log, votes, results, present, keys, states)


def _labels(vote: VoteDefinition) -> dict[tuple[str, str], str]:
    labels = {}
    for contest in vote.entry["contests"]:
        for option in contest["options"]:
            labels[(contest["id"], option["id"])] = option.get("label", option["id"])
    return labels


def _pad(text: str, width: int) -> str:
    """Pad to ``width`` terminal columns, counting wide (CJK) characters as two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def summarize(sim: SimulationResult) -> str:
    """A readable summary of the votes, counts and outcomes."""
    meeting = sim.meeting
    lines = [
        f"{meeting.title}  [{meeting.meeting_id}]",
        f"  {meeting.members} members, quorum {meeting.quorum}; "
        f"{len(meeting.trustees)} trustees, threshold {meeting.threshold}",
    ]
    for vote in sim.votes:
        result = sim.results[vote.vote_id]
        outcome = result["outcome"]
        labels = _labels(vote)
        lines.append(
            f"\n{vote.vote_id} {vote.kind}: {vote.title}\n  present {sim.present[vote.vote_id]}, "
            f"counted {result['counted']}, decrypted by trustees {result['trustees']}"
        )
        counts = {(t["contest"], t["option"]): t["count"] for t in result["tallies"]}
        if vote.rule["name"] == "majority":
            for item in outcome["items"]:
                tally = " / ".join(f"{labels[(item['contest'], o)]} {n}" for o, n in item["counts"].items())
                verdict = "通过 passed" if item["passed"] else "未通过 not passed"
                title = next(c["title"] for c in vote.entry["contests"] if c["id"] == item["contest"])
                lines.append(f"  {title}: {tally} / 未按 {item['not_voted']}  → {verdict}")
        elif vote.rule["name"] == "select":
            for row in outcome["ranking"]:
                ref = tuple(row["candidate"])
                lines.append(f"  {_pad(labels[ref], 28)} {counts[ref]:>5}  {row['status']}")
            lines.append(f"  elected {len(outcome['elected'])}, tied {len(outcome['tied'])}, unfilled {outcome['unfilled']}")
        else:
            for item in outcome["items"]:
                tally = " / ".join(f"{labels[(item['contest'], o)]} {n}" for o, n in item["counts"].items())
                title = next(c["title"] for c in vote.entry["contests"] if c["id"] == item["contest"])
                grade = labels[(item["contest"], item["grade"])] if item["grade"] else "—"
                lines.append(f"  {title}: {tally}  → {grade}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ballot.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="record directory (or .zip) to write")
    parser.add_argument("--deputies", type=int, default=120, help="members of the body (default 120)")
    parser.add_argument("--seed", type=int, default=1, help="seed for deputies' choices (default 1)")
    parser.add_argument("--trustees", type=int, default=5, help="number of trustees (default 5)")
    parser.add_argument("--threshold", type=int, default=3, help="trustees needed to decrypt (default 3)")
    args = parser.parse_args(argv)
    if args.deputies < 1 or not 1 <= args.threshold <= args.trustees:
        parser.error("need --deputies ≥ 1 and 1 ≤ --threshold ≤ --trustees")
    started = time.perf_counter()
    sim = simulate(args.deputies, args.seed, args.trustees, args.threshold)
    write_record(args.out, sim.log.entries, sim.log.sths[-1], sim.log.sths)
    elapsed = time.perf_counter() - started
    print(summarize(sim))
    started = time.perf_counter()
    report = verify_record(read_record(args.out))
    print(f"\nRecord written to {args.out} ({len(sim.log.entries)} entries) in {elapsed:.1f} s.")
    print(f"Verification ({time.perf_counter() - started:.1f} s): {'PASS' if report.ok else 'FAIL'}")
    if not report.ok:
        print(report.format())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
