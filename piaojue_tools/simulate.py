"""``python -m ballot.simulate --out DIR``: a complete, verifiable record of one simulated meeting.

The meeting has all five kinds of vote (a resolution, appointments of 3 nominees, a 民生实事
selection of up to 10 of 13 projects, an election of 2 of 3, and an evaluation of 4
departments). It runs a real key ceremony (``--trustees`` of them, threshold ``--threshold``),
real encryption and proofs for every ballot, a Benaloh challenge (a spoiled ballot), recasts on
the evaluation (which allows them), and decryption by ``threshold`` of the trustees. Deputies'
choices and who takes part are drawn from ``--seed``; cryptographic randomness is never seeded.

With ``statutory=True`` (the command's default; the conformance generator and the tests that
rely on the five votes leave it off) two more votes follow (docs/protocol.md §12): v6, a
statutory election (赞成/反对/弃权 per candidate, 另选他人 write-ins) whose choices are arranged
so that two candidates tie at the last seat, while a few deputies write in names (a blank and a
listed candidate's name among them, both invalid write-ins); its names are mixed by ``threshold``
trustees' verifiable shuffles and decrypted by their name shares; and v7, the 再次投票 among the
tied candidates that the result calls for (or a 另行选举 if seats were left unfilled without a
tie).

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
from ballot.election import election_of, follow_up_names, mix_rows
from ballot.elgamal import Ciphertext, sum_ciphertexts
from ballot.encrypt import encrypt_ballot
from ballot.errors import PiaojueError
from ballot.hashing import canonical_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.meeting import Meeting, parse_meeting
from ballot.record import read_record, write_record
from ballot.results import result_entry
from ballot.vote import VoteDefinition, parse_vote
from keys.ceremony import run_ceremony_in_memory
from keys.decrypt import combine_shares, partial_decrypt
from keys.mix import combine_names, name_share_entry, shuffle_entry
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


STATUTORY_CANDIDATES = [
    {"id": "s1", "name": "周卫东"},
    {"id": "s2", "name": "吴晓梅"},
    {"id": "s3", "name": "郑国强"},
    {"id": "s4", "name": "古丽娜尔·艾力"},
]
WRITTEN_IN = ["张三", "张三", "李四", "张三", "", STATUTORY_CANDIDATES[1]["name"]]
"""The names the first deputies write in on v6: a blank and a listed candidate's name are invalid."""


def statutory_agenda() -> list[dict[str, Any]]:
    """v6: a statutory election of 2 of 4 with 2 write-in slots (docs/protocol.md §12.2)."""
    return [templates.statutory_election("v6", "选举市人大常委会委员（差额选举）", STATUTORY_CANDIDATES, 2)]


def tie_choices(vote: VoteDefinition, turn: int, voters: int) -> tuple[dict[str, list[str]], list[str]]:
    """v6's choices for the ``turn``-th of ``voters`` deputies, and the names written in: s2 and s3
    get exactly the same number of 赞成 (over half of the voters, so over half of the members
    when turnout is high) and tie at the second seat behind s1; s4 gets few; the first few
    deputies among those who leave a seat open vote 反对 on s1 and write in a name."""
    x = (3 * voters) // 5
    b, c = turn < x, turn >= voters - x
    marks = {"s2": "yes" if b else "no", "s3": "yes" if c else "abstain", "s4": "abstain" if turn % 3 else "no"}
    names: list[str] = []
    if b and c:
        marks["s1"] = "abstain"  # two 赞成 already: the seats are used up
    elif b and turn < len(WRITTEN_IN):
        marks["s1"] = "no"  # 反对, and 另选他人
        names = [WRITTEN_IN[turn]]
    else:
        marks["s1"] = "yes"
    return {contest: [option] for contest, option in marks.items()}, names


def follow_up_choices(vote: VoteDefinition, rng: random.Random) -> tuple[dict[str, list[str]], list[str]]:
    """A deputy's choices in a follow-up vote: 赞成 for one candidate (earlier ones favoured),
    反对 or 弃权 for the rest; rarely 反对 for all and a write-in."""
    election = election_of(vote)
    assert election is not None
    contests = [c for c, _ in election.candidates]
    if election.writein is not None and rng.random() < 0.03:
        return {c: ["no"] for c in contests}, ["王五"]
    pick = rng.choices(contests, weights=[len(contests) - i + 1 for i in range(len(contests))])[0]
    return {c: ["yes" if c == pick else rng.choice(["no", "abstain"])] for c in contests}, []


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
    statutory: bool = False,
) -> SimulationResult:
    """Run the whole meeting in memory and return its log (see the module docstring).

    ``votes_json`` replaces the five-vote :func:`agenda` (benchmarks use one large selection).
    ``statutory`` adds v6 (a statutory election with write-ins and a tie) and its follow-up v7
    (docs/protocol.md §12), after the other votes; off by default so that the five votes' records
    (tests, conformance vectors) are drawn exactly as before.
    """
    rng = random.Random(seed)
    meeting_id = f"sim-{seed}"
    log = MemoryLog(Ed25519PrivateKey.generate())
    trustee_names = [f"监票人{i + 1}" for i in range(trustees)]
    trustees_json, public_key_hex, states = run_ceremony_in_memory(meeting_id, trustee_names, threshold)
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
    if statutory:
        votes += [parse_vote(entry) for entry in statutory_agenda()]
    for vote in votes:
        log.append(vote.entry)
    log.publish_sth()

    checked_in = rng.sample(range(deputies), k=max(1, round(deputies * 0.96)))
    results: dict[str, dict[str, Any]] = {}
    present: dict[str, int] = {}
    position = 0
    while position < len(votes):
        vote = votes[position]
        election = election_of(vote)
        log.append({"type": "open", "vote_id": vote.vote_id, "at": utc_now(), "present": len(checked_in)})
        present[vote.vote_id] = len(checked_in)
        voters = rng.sample(checked_in, k=max(1, round(len(checked_in) * turnout)))
        counted: dict[bytes, tuple[Ciphertext, ...]] = {}
        names: dict[bytes, tuple[Any, ...]] = {}
        logged = 0
        for turn, deputy in enumerate(voters):
            key = keys[deputy]
            rounds = 2 if vote.recast and turn % 20 == 0 else 1
            if spoil and position == 0 and turn == 0:
                choices, written = _choose(vote, election, rng, turn, len(voters))
                challenged = encrypt_ballot(
                    vote, meeting.hash, meeting.public_key, key, choices, writeins=written, check_names=False
                )
                log.append(challenged.spoiled_entry())
            for _ in range(rounds):
                choices, written = _choose(vote, election, rng, turn, len(voters))
                ballot = encrypt_ballot(
                    vote, meeting.hash, meeting.public_key, key, choices, writeins=written, check_names=False
                )
                log.append(ballot.entry)
                logged += 1
                credential = _public_bytes(key)
                counted.pop(credential, None)  # recast: the last one counts, in its place (§5)
                counted[credential] = ballot.ciphertexts
                names[credential] = tuple(
                    tuple(_name_cts(slot)) for slot in ballot.entry.get("writeins", [])
                )
        log.append({"type": "close", "vote_id": vote.vote_id, "at": utc_now(), "ballots": logged})
        aggregates = [sum_ciphertexts(column) for column in zip(*counted.values())]
        refs = vote.option_refs()
        aggregate_list = [(c, o, ct) for (c, o), ct in zip(refs, aggregates)]
        chosen = sorted(rng.sample(range(trustees), k=threshold))
        decoded = None
        if election is not None and election.writein is not None:
            decoded = _mix(log, meeting, vote, [states[i] for i in chosen], mix_rows([names[c] for c in counted]))
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
            names=decoded,
        )
        log.append(result)
        results[vote.vote_id] = result
        log.publish_sth()
        if election is not None and election.follows is None:
            follow_up = _follow_up(vote, result["outcome"])
            if follow_up is not None:
                votes.append(parse_vote(follow_up))
                log.append(follow_up)
        position += 1
    return SimulationResult(meeting, log, votes, results, present, keys, states)


def _choose(
    vote: VoteDefinition, election: Any, rng: random.Random, turn: int, voters: int
) -> tuple[dict[str, list[str]], list[str]]:
    if election is None:
        return plausible_choices(vote, rng), []
    if election.follows is None:
        return tie_choices(vote, turn, voters)
    return follow_up_choices(vote, rng)


def _name_cts(slot: dict[str, Any]) -> list[Ciphertext]:
    from ballot.group import Point

    return [Ciphertext(Point.from_hex(ct["alpha"]), Point.from_hex(ct["beta"])) for ct in slot["name"]]


def _mix(
    log: MemoryLog, meeting: Meeting, vote: VoteDefinition, states: list[Any], rows: list[tuple[Ciphertext, ...]]
) -> list[list[str | None]]:
    """§12.5–§12.6: each of ``states``' trustees shuffles the previous output in turn, then each
    logs its name shares of the last output; returns the decoded rows."""
    from ballot.shuffle import parse_rows

    if not rows:
        return []
    current = rows
    for state in states:
        entry = shuffle_entry(state, meeting.hash, vote.hash, vote.vote_id, current)
        log.append(entry)
        current = list(parse_rows(entry["output"], len(rows), len(rows[0])))
    entries = [name_share_entry(state, meeting.hash, vote.hash, vote.vote_id, current) for state in states]
    for entry in entries:
        log.append(entry)
    _, decoded = combine_names(meeting, vote.hash, current, entries, [e["trustee"] for e in entries])
    return decoded


def _follow_up(vote: VoteDefinition, outcome: dict[str, Any]) -> dict[str, Any] | None:
    """The 再次投票 (a tie at the last seat) or 另行选举 (seats left unfilled) that ``outcome`` calls
    for (docs/protocol.md §12.8), as v7; ``None`` if it calls for neither, or the list is short."""
    if not outcome["quorum_met"] or not outcome["unfilled"]:
        return None
    reason = "tied" if outcome["tied"] else "unfilled"
    try:
        listed = follow_up_names(outcome, reason)
    except PiaojueError:
        return None
    title = "再次投票" if reason == "tied" else "另行选举"
    candidates = [{"id": f"f{i}", "name": name} for i, name in enumerate(listed, start=1)]
    follows = {"vote_id": vote.vote_id, "reason": reason}
    return templates.statutory_election(
        "v7", f"{vote.title}（{title}）", candidates, outcome["unfilled"], follows=follows
    )


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
        (
            f"  {meeting.members} members, quorum {meeting.quorum}; "
            f"{len(meeting.trustees)} trustees, threshold {meeting.threshold}"
        ),
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
        elif "election" in vote.entry:  # docs/protocol.md §12.7: listed candidates and write-ins
            follows = vote.entry["election"]["follows"]
            if follows is not None:
                lines.append(f"  follows {follows['vote_id']} ({follows['reason']})")
            for row in outcome["ranking"]:
                label = row["name"] if row["contest"] is not None else f"{row['name']}（另选他人）"
                lines.append(f"  {_pad(label, 28)} {row['count']:>5}  {row['status']}")
            if "writeins" in result:
                writeins = result["writeins"]
                lines.append(f"  write-ins {writeins['cast']}, of which invalid {writeins['invalid']}")
            lines.append(f"  elected {outcome['elected']}, tied {outcome['tied']}, unfilled {outcome['unfilled']}")
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
    sim = simulate(args.deputies, args.seed, args.trustees, args.threshold, statutory=True)
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
