"""Each vote's running aggregate (SPEC §2, §5, §8): the only module that reads or changes it.

``Vote.aggregate`` holds, per option reference in vote order, the sum ``(A, B)`` of that option's
ciphertexts over the ballots that count, as ``[[A hex, B hex], …]`` (``None`` before the first
ballot: every sum is then ``(identity, identity)``). Intake adds a ballot when it is logged and
subtracts the credential's earlier ballot on a recast (:mod:`tally.services.intake`); closing a vote then
costs nothing, and the trustees decrypt these sums (:mod:`tally.services.results`). A verifier recomputes
them from the log (§8.1, V33).

The service trusts what it stored or logged itself (already verified), so nothing here decodes
points with checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from ballot.elgamal import Ciphertext
from ballot.group import Point
from ballot.hashing import parse_json
from tally.store.models import LogEntry, Vote


def logged_ciphertext(alpha_hex: str, beta_hex: str) -> Ciphertext:
    """A ciphertext the service stored or logged itself (already verified): no decoding checks."""
    return Ciphertext(Point._trusted(bytes.fromhex(alpha_hex)), Point._trusted(bytes.fromhex(beta_hex)))


def read(vote: Vote, size: int) -> list[Ciphertext]:
    """The vote's running aggregate, one ciphertext per option (zeros before any ballot)."""
    if vote.aggregate is None:
        return [Ciphertext.zero() for _ in range(size)]
    return [logged_ciphertext(a, b) for a, b in vote.aggregate]


def add(sums: list[Ciphertext], ciphertexts: Iterable[Ciphertext]) -> None:
    """A ballot starts to count: add its ciphertexts (in vote order) to ``sums``, in place."""
    for i, ct in enumerate(ciphertexts):
        sums[i] = sums[i] + ct


def subtract(sums: list[Ciphertext], ciphertexts: Iterable[Ciphertext]) -> None:
    """A ballot stops counting (§5: a recast replaces it): take its ciphertexts out of ``sums``."""
    for i, ct in enumerate(ciphertexts):
        sums[i] = sums[i] - ct


def write(vote: Vote, sums: list[Ciphertext]) -> None:
    """Store ``sums`` as the vote's running aggregate (committed with the ballots that changed it)."""
    vote.aggregate = [[ct.alpha.hex(), ct.beta.hex()] for ct in sums]


def logged_ballot(session: Any, meeting_id: str, leaf_index: int) -> list[Ciphertext]:
    """The ciphertexts of the ballot logged at ``leaf_index`` (so already verified), in vote order:
    what it added to the aggregate."""
    data = session.scalar(
        select(LogEntry.data).where(LogEntry.meeting_id == meeting_id, LogEntry.idx == leaf_index)
    )
    contests = parse_json(data)["contests"]
    return [logged_ciphertext(s["alpha"], s["beta"]) for contest in contests for s in contest["selections"]]
