"""Encryption worker for ``bench.cast``: pre-encrypts one ballot per deputy in a process pool.

Kept apart from ``bench.cast`` so that spawned workers import only the protocol core (no Flask,
no SQLAlchemy, no sockets).
"""

from __future__ import annotations

import json
import random
from typing import Any

from ballot.encrypt import encrypt_ballot
from ballot.group import Point
from ballot.vote import VoteDefinition, parse_vote
from keys.credentials import derive_private_key
from piaojue_tools.simulate import plausible_choices

_state: dict[str, Any] = {}


def init(meeting_id: str, meeting_hash_hex: str, public_key_hex: str, vote_entry: dict[str, Any]) -> None:
    definition: VoteDefinition = parse_vote(vote_entry)
    _state.update(
        meeting_id=meeting_id,
        meeting_hash=bytes.fromhex(meeting_hash_hex),
        public_key=Point.from_hex(public_key_hex),
        definition=definition,
    )


def encrypt_one(task: tuple[int, str, int]) -> bytes:
    """``(position, credential code, seed)`` → the §4.3 ballot as JSON bytes, ready to POST."""
    position, code, seed = task
    definition = _state["definition"]
    key = derive_private_key(code, _state["meeting_id"])
    choices = plausible_choices(definition, random.Random(seed * 1_000_003 + position))
    ballot = encrypt_ballot(definition, _state["meeting_hash"], _state["public_key"], key, choices)
    return json.dumps(ballot.entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
