"""A dishonest tally service, for tamper tests and the conformance vectors: it holds the log key and the trustees' help.

:func:`retally` takes a meeting log that someone has edited (ballots added, removed, moved or
replayed; credentials added; ``present`` changed) and does what a service that controls the log
key would do to hide the edit: it recounts every vote by the *naive* rule (any registered,
unrevoked credential; the last ballot per credential counts), rewrites every ``close.ballots``,
has the trustees honestly decrypt the new aggregates (fresh share entries with valid proofs), and
writes results whose outcomes follow from those counts. :func:`signed_record` then signs a tree
head over the result. What is left for a verifier to catch is exactly the SPEC §8.1 rule that the
edit broke, and nothing else.
"""

from __future__ import annotations

import copy
import json
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ballot.ballot import ballot_hash
from ballot.elgamal import Ciphertext, sum_ciphertexts
from ballot.errors import PiaojueError
from ballot.group import Point
from ballot.hashing import canonical_json
from ballot.log import MerkleTree, leaf_hash, sign_sth
from ballot.record import Record
from ballot.results import result_entry
from keys.decrypt import combine_shares, partial_decrypt
from piaojue_tools.simulate import SimulationResult


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes_raw().hex()


def _ciphertexts(ballot: dict[str, Any]) -> list[Ciphertext]:
    return [
        Ciphertext(Point.from_hex(sel["alpha"].lower()), Point.from_hex(sel["beta"].lower()))
        for contest in ballot["contests"]
        for sel in contest["selections"]
    ]


def retally(sim: SimulationResult, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` with every vote's close, shares and result recomputed as a dishonest service
    would (see the module docstring). The trustees who decrypt are those of the original result."""
    votes = {vote.vote_id: vote for vote in sim.votes}
    meeting = sim.meeting
    registered: set[str] = set()
    revoked: set[str] = set()
    out: list[dict[str, Any]] = []
    counted: dict[str, dict[str, list[Ciphertext]]] = {}
    logged: dict[str, int] = {}
    present: dict[str, int] = {}
    closed: set[str] = set()
    for entry in copy.deepcopy(entries):
        kind, vote_id = entry["type"], cast("str", entry.get("vote_id"))  # None: no vote, never used
        if kind == "credentials":
            registered.update(entry["add"])
            revoked.update(entry["revoke"])
        elif kind == "open":
            counted[vote_id], logged[vote_id], present[vote_id] = {}, 0, entry["present"]
        elif kind == "ballot" and vote_id in counted and vote_id not in closed:
            logged[vote_id] += 1
            if entry["credential"] in registered and entry["credential"] not in revoked:
                try:
                    counted[vote_id][entry["credential"]] = _ciphertexts(entry)  # the last one counts
                except PiaojueError:
                    pass  # points that do not decode cannot be added up: not counted
        elif kind == "close":
            if vote_id in logged and vote_id not in closed:
                entry["ballots"] = logged[vote_id]
                closed.add(vote_id)
        elif kind == "share":
            continue  # written afresh with the result
        elif kind == "result":
            vote = votes[vote_id]
            refs = vote.option_refs()
            columns = list(zip(*counted[vote_id].values()))
            aggregates = [sum_ciphertexts(column) for column in columns] or [Ciphertext.zero() for _ in refs]
            aggregate_list = [(c, o, ct) for (c, o), ct in zip(refs, aggregates)]
            shares = [
                partial_decrypt(sim.trustee_states[t - 1], meeting.hash, vote.hash, vote_id, aggregate_list)
                for t in entry["trustees"]
            ]
            out.extend(shares)
            n = len(counted[vote_id])
            combined = combine_shares(meeting, vote.hash, aggregate_list, shares, n)
            entry = result_entry(
                vote,
                aggregates,
                dict(zip(refs, combined.counts)),
                trustees=combined.trustees_used,
                counted=n,
                present=present[vote_id],
                members=meeting.members,
                quorum=meeting.quorum,
            )
        out.append(entry)
    return out


def signed_record(
    sim: SimulationResult,
    entries: list[dict[str, Any]] | None = None,
    *,
    lines: list[bytes] | None = None,
    sths: list[dict[str, Any]] | None = None,
    key: Ed25519PrivateKey | None = None,
) -> Record:
    """A record of ``entries`` (or raw ``lines``) with a tree head signed by the log key, no
    earlier than any of ``sths`` (sth.json is the latest)."""
    if lines is None:
        lines = [canonical_json(e) for e in (entries if entries is not None else sim.log.entries)]
    tree = MerkleTree()
    for line in lines:
        tree.append(leaf_hash(line))
    latest = max((head["timestamp"] for head in sths or []), default=1_700_000_000_000)
    sth = sign_sth(key or sim.log.log_key, tree.size, tree.root(tree.size), latest)
    parsed: list[Any] = [json.loads(line) for line in lines]
    return Record(list(lines), sth, sths, parsed)


def index_of(entries: list[dict[str, Any]], kind: str, vote_id: str | None = None, nth: int = 0) -> int:
    """The position of the ``nth`` entry of ``kind`` (for ``vote_id``, if given)."""
    found = [
        i for i, e in enumerate(entries) if e["type"] == kind and (vote_id is None or e.get("vote_id") == vote_id)
    ]
    return found[nth]


def hash_hex(ballot: dict[str, Any]) -> str:
    return ballot_hash(ballot).hex()
