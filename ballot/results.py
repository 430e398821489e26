"""Building a vote's §8 ``result`` entry from its aggregates, counts and trustee set."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ballot.elgamal import Ciphertext
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
) -> dict[str, Any]:
    """The §8 result: ``counted``, ``trustees``, ``tallies`` in vote order, and the §9 ``outcome``."""
    refs = vote.option_refs()
    tallies = [
        {"contest": contest, "option": option, "A": ct.alpha.hex(), "B": ct.beta.hex(), "count": counts[(contest, option)]}
        for (contest, option), ct in zip(refs, aggregates)
    ]
    outcome = compute_outcome(
        vote.rule, vote.entry, counts, members=members, present=present, counted=counted, quorum=quorum
    )
    return {
        "type": "result",
        "vote_id": vote.vote_id,
        "counted": counted,
        "trustees": sorted(trustees),
        "tallies": tallies,
        "outcome": outcome,
    }
