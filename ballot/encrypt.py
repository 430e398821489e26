"""Ballot encryption (SPEC §4.3) and spoiled-ballot openings (SPEC §4.4): the kiosk's side.

:func:`encrypt_ballot` turns a deputy's choices into a signed §4.3 ballot. The nonces are kept
in :class:`EncryptedBallot` only so that the ballot can be challenged (§4.4); a cast ballot's
nonces are discarded.

For a statutory election with write-ins (docs/protocol.md §12.4) the deputy's 另选他人 names fill
the write-in slots in order (the slot options are selected for them), every other slot carries
the blank, and each slot gets its name ciphertexts and blank-or-named proof; the kiosk's checks
(§12.7 rule 3) refuse an empty, overlong, listed or repeated name before anything is encrypted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ballot.ballot import (
    ballot_context,
    ballot_hash,
    constraint_combination,
    format_tracker,
    signature_message,
    tracker_code,
)
from ballot.election import election_of
from ballot.elgamal import Ciphertext, encrypt
from ballot.errors import ChoiceError
from ballot.group import Point, Scalar
from ballot.names import check_name
from ballot.proofs import pairs_to_json, prove_range
from ballot.vote import OptionRef, VoteDefinition
from ballot.writein import encrypt_name, prove_slot, slot_to_json

Choices = Mapping[str, Collection[str]]
"""For each contest id, the ids of the selected options."""


@dataclass(frozen=True, slots=True)
class Opening:
    """The plaintext and nonce of one selection (SPEC §4.4)."""

    contest: str
    option: str
    m: int
    r: Scalar

    def to_json(self) -> list[Any]:
        return [self.contest, self.option, self.m, self.r.hex()]


@dataclass(frozen=True, slots=True)
class EncryptedBallot:
    entry: dict[str, Any]
    hash: bytes
    openings: tuple[Opening, ...]
    ciphertexts: tuple[Ciphertext, ...]
    """The selection ciphertexts in vote order (as :class:`ballot.ballot.VerifiedBallot` has them)."""
    name_openings: tuple[tuple[str, str, tuple[Scalar, Scalar]], ...] = ()
    """Per write-in slot ``(option, name, (r_1, r_2))`` (§12.4 rule 7; empty without write-ins)."""

    @property
    def tracker(self) -> str:
        return format_tracker(tracker_code(self.hash))

    def spoiled_entry(self) -> dict[str, Any]:
        """The §4.4 ``spoiled`` entry that reveals this ballot's plaintexts and nonces."""
        entry = {
            "type": "spoiled",
            "vote_id": self.entry["vote_id"],
            "ballot": self.entry,
            "openings": [opening.to_json() for opening in self.openings],
        }
        if "writeins" in self.entry:  # §12.4 rule 7
            entry["name_openings"] = [
                [option, name, [r.hex() for r in nonces]] for option, name, nonces in self.name_openings
            ]
        return entry


def check_choices(vote: VoteDefinition, choices: Choices) -> set[OptionRef]:
    """The selected ``(contest, option)`` pairs, after checking them against the vote's bounds."""
    unknown = set(choices) - {c.id for c in vote.contests}
    if unknown:
        raise ChoiceError(f"no such contest: {sorted(unknown)}")
    selected: set[OptionRef] = set()
    for contest in vote.contests:
        chosen = set(choices.get(contest.id, ()))
        if not chosen <= set(contest.options):
            raise ChoiceError(f"no such option: {sorted(chosen - set(contest.options))}", where=contest.id)
        if not contest.min <= len(chosen) <= contest.max:
            raise ChoiceError(
                f"choose between {contest.min} and {contest.max} options, not {len(chosen)}", where=contest.id
            )
        selected |= {(contest.id, option) for option in chosen}
    for constraint in vote.constraints:
        count = constraint.value(selected)  # protocol §12.1: signed members
        if not constraint.min <= count <= constraint.max:
            raise ChoiceError(
                f"constraint allows {constraint.min} to {constraint.max} selections, not {count}",
                where=constraint.id,
            )
    return selected


def credential_public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def encrypt_ballot(
    vote: VoteDefinition,
    meeting_hash: bytes,
    public_key: Point,
    credential_key: Ed25519PrivateKey,
    choices: Choices,
    *,
    writeins: Sequence[str] = (),
    check_names: bool = True,
) -> EncryptedBallot:
    """Encrypt, prove and sign a ballot for ``choices`` (SPEC §4.3).

    ``writeins`` are the names a deputy wrote in (另选他人, docs/protocol.md §12.4), at most one
    per slot; their slots' options are selected (``choices`` may name them too, but then exactly
    them). Each is normalised and refused (:class:`ChoiceError`) if empty, overlong, a listed
    candidate's name or repeated (§12.7 rule 3). ``check_names=False`` encodes the strings as
    given, blank included, as a careless or dishonest client would (simulations and tests)."""
    election = election_of(vote)
    slots = election.slots if election is not None else ()
    names = list(writeins)
    if len(names) > len(slots):
        raise ChoiceError(f"{len(names)} write-in names for {len(slots)} write-in slots", where="writein")
    if check_names:
        names = [check_name(typed) for typed in names]
        assert election is not None or not names
        for i, name in enumerate(names):
            if election is not None and name in election.names:
                raise ChoiceError(f"{name} is a listed candidate: vote 赞成 for them instead", where="writein")
            if name in names[:i]:
                raise ChoiceError(f"{name} is written in twice", where="writein")
    if election is not None and election.writein is not None:
        wanted = list(slots[: len(names)])
        if election.writein in choices and set(choices[election.writein]) != set(wanted):
            raise ChoiceError("the write-in slots selected must be those of the names written in", where="writein")
        choices = {**choices, election.writein: wanted}
    selected = check_choices(vote, choices)
    credential = credential_public_bytes(credential_key)
    ctx = ballot_context(meeting_hash, vote.hash, credential)
    by_ref: dict[OptionRef, tuple[Ciphertext, int, Scalar]] = {}
    contests_json = []
    openings = []
    for contest in vote.contests:
        selections_json = []
        total_ct, total_m, total_r = Ciphertext.zero(), 0, Scalar.reduce(0)
        for option in contest.options:
            m = 1 if (contest.id, option) in selected else 0
            ct, r = encrypt(m, public_key)
            proof = prove_range(ct, m, r, 0, 1, public_key, ctx)
            by_ref[(contest.id, option)] = (ct, m, r)
            openings.append(Opening(contest.id, option, m, r))
            selections_json.append(
                {"option": option, **ct.to_json(), "proof": pairs_to_json(proof)}
            )
            total_ct, total_m, total_r = total_ct + ct, total_m + m, total_r + r
        proof = prove_range(total_ct, total_m, total_r, contest.min, contest.max, public_key, ctx)
        contests_json.append({"id": contest.id, "selections": selections_json, "proof": pairs_to_json(proof)})
    constraints_json = []
    for constraint in vote.constraints:
        # protocol §12.1 rules 3–4: C = Σ₊ − Σ₋ + d·G, proved in [min + d, max + d]
        total_ct = constraint_combination(constraint, {ref: by_ref[ref][0] for ref in constraint.members})
        total_m, total_r = constraint.offset, Scalar.reduce(0)
        for ref, coefficient in constraint.signed_members():
            _, m, r = by_ref[ref]
            total_m, total_r = total_m + coefficient * m, (total_r + r if coefficient == 1 else total_r - r)
        lo, hi = constraint.min + constraint.offset, constraint.max + constraint.offset
        proof = prove_range(total_ct, total_m, total_r, lo, hi, public_key, ctx)
        constraints_json.append({"id": constraint.id, "proof": pairs_to_json(proof)})
    entry: dict[str, Any] = {
        "type": "ballot",
        "vote_id": vote.vote_id,
        "credential": credential.hex(),
        "contests": contests_json,
        "constraints": constraints_json,
    }
    name_openings = []
    if slots:
        assert election is not None and election.writein is not None
        slots_json = []
        for s, option in enumerate(slots):  # §12.4 rules 2–4
            indicator, m, r = by_ref[(election.writein, option)]
            text = names[s] if s < len(names) else ""
            name_ct, nonces = encrypt_name(text, public_key)
            slot_proof = prove_slot(indicator, m, r, name_ct, nonces, public_key, ctx, s + 1)
            slots_json.append(slot_to_json(option, name_ct, slot_proof))
            name_openings.append((option, text, nonces))
        entry["writeins"] = slots_json
    digest = ballot_hash(entry)
    entry["signature"] = credential_key.sign(signature_message(digest)).hex()
    ordered = tuple(by_ref[ref][0] for ref in vote.option_refs())
    return EncryptedBallot(entry, digest, tuple(openings), ordered, tuple(name_openings))
