"""Building a vote's §8 ``result`` entry from its aggregates, counts and trustee set, with the
write-in fields of a statutory election (docs/protocol.md §12.7)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ballot.election import count_writeins, election_of, election_outcome
from ballot.elgamal import Ciphertext
from ballot.errors import RuleError
from ballot.rules import compute_outcome
from ballot.vote import OptionRef, VoteDefinition


def result_entry(
    vote: VoteDefinition,
    aggregates: Sequence[Ciphertext],
    counts: Mapping[OptionRef, int],
    *,
    trustees: Sequence[int],
    counted: int,
    present: int,
    members: int,
    quorum: str,
    names: Sequence[Sequence[str | None]] | None = None,
) -> dict[str, Any]:
    """The §8 result: ``counted``, ``trustees``, ``tallies`` in vote order, and the §9 ``outcome``.

    For a statutory election (§12.2) the outcome ranks listed candidates with write-in names
    (§12.7 rule 5); with write-ins, ``names`` are the decoded rows of the mix (§12.6 rule 3: per
    row the slots' strings, ``""`` for the blank, ``None`` if undecodable; empty if nothing was
    counted) and the entry carries ``writeins`` (§12.7 rules 2–4)."""
    refs = vote.option_refs()
    tallies = [
        {"contest": contest, "option": option, "A": ct.alpha.hex(), "B": ct.beta.hex(), "count": counts[(contest, option)]}
        for (contest, option), ct in zip(refs, aggregates)
    ]
    election = election_of(vote)
    writeins = None
    if election is None:
        outcome = compute_outcome(
            vote.rule, vote.entry, counts, members=members, present=present, counted=counted, quorum=quorum
        )
    else:
        if election.writein is not None:
            if names is None:
                raise RuleError("a statutory election with write-ins needs the decoded names", where="names")
            writeins = count_writeins(election, counts, names)
        outcome = election_outcome(
            vote, election, counts, writeins, members=members, present=present, counted=counted, quorum=quorum
        )
    entry = {
        "type": "result",
        "vote_id": vote.vote_id,
        "counted": counted,
        "trustees": sorted(trustees),
        "tallies": tallies,
        "outcome": outcome,
    }
    if writeins is not None:
        entry["writeins"] = writeins
    return entry
