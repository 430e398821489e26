"""Typed exceptions for the protocol core.

Every parser and verifier in ``ballot/`` and ``keys/`` raises one of these, never a bare
``KeyError``/``ValueError`` or a libsodium error. Each carries a ``where`` (a JSON-path-like
location, e.g. ``contests[0].selections[3].alpha``) so that the message names what is wrong.
"""

from __future__ import annotations


class PiaojueError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class EncodingError(PiaojueError):
    """Bytes, hex or JSON that do not decode as SPEC §1 requires."""


class InvalidPoint(EncodingError):
    """Not a canonical ristretto255 encoding (SPEC §1)."""


class InvalidScalar(EncodingError):
    """Not 32 little-endian bytes with value < ℓ (SPEC §1)."""


class VoteDefinitionError(PiaojueError):
    """A §4.1 vote definition that is inconsistent or malformed."""


class MeetingError(PiaojueError):
    """A §6.3 meeting entry that is malformed or inconsistent."""


class BallotError(PiaojueError):
    """A ballot that is not well-formed (SPEC §4.3).

    ``code`` is the SPEC §11 rejection code (``malformed``, ``invalid_proof``,
    ``bad_signature``, ...); ``check`` names the exact check that failed.
    """

    def __init__(self, code: str, message: str, *, where: str | None = None, check: str | None = None) -> None:
        self.code = code
        self.check = check or code
        super().__init__(message, where=where)


class ProofError(PiaojueError):
    """A zero-knowledge proof that does not verify (SPEC §3, §6)."""


class LogError(PiaojueError):
    """A Merkle log, inclusion or consistency proof, or STH that does not check (SPEC §7)."""


class ReceiptError(PiaojueError):
    """A §8 receipt that is malformed or does not verify."""


class RecordError(PiaojueError):
    """An election record (SPEC §8) that cannot be read."""


class RuleError(PiaojueError):
    """A §9 counting rule that is malformed or does not fit its vote."""


class ThresholdError(PiaojueError):
    """Threshold decryption inputs that cannot be combined (SPEC §6.2)."""


class ChoiceError(PiaojueError):
    """A deputy's choices that the vote does not allow (too many, unknown options...)."""


def wrong_fields(obj: dict[str, object], expected: set[str] | frozenset[str]) -> str:
    """A message naming the fields that ``obj`` lacks and has beyond ``expected`` (for the exact
    shapes of SPEC §8.1)."""
    missing = sorted(expected - set(obj))
    extra = sorted(str(key) for key in set(obj) - expected)
    parts = [f"missing {missing}" if missing else "", f"unexpected {extra}" if extra else ""]
    return "wrong fields: " + "; ".join(part for part in parts if part)



class MonitorError(PiaojueError):
    """A live log that fails the monitor's checks (docs/protocol.md §13 "The monitor"): a tree
    head, a consistency proof, an entry the signed root does not commit to, or an entry that
    fails §8.1. ``index`` names the entry when there is one."""

    def __init__(self, message: str, *, index: int | None = None, where: str | None = None) -> None:
        self.index = index
        super().__init__(message, where=where)


class FetchError(PiaojueError):
    """A §11 request that failed (network, HTTP status, or a body that is not a JSON document);
    ``status`` and ``code`` are the HTTP status and §11 error code when the service answered."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)
