"""Typed exceptions for ``keys/`` (roster import, credentials, card printing).

All subclass :class:`ballot.errors.PiaojueError`, so the ``keys`` CLI turns any of them into a
one-line message and exit code 2 instead of a traceback.  Messages are Chinese-first: they are
read by the clerk (会务工作人员) who prepared the roster.
"""

from __future__ import annotations

from ballot.errors import PiaojueError

#: How many problems a :class:`RosterError` message lists before it says "and N more".
MAX_LISTED_PROBLEMS = 20


class KeysError(PiaojueError):
    """Base of the errors raised by ``keys/``."""


class RosterError(KeysError):
    """A roster file that cannot be imported.

    ``problems`` is a list of ``(row, message)`` pairs, every problem found, in row order.
    ``row`` is the row number as the clerk sees it in the spreadsheet (the header is usually
    row 1), or ``None`` for a problem with the whole file (unreadable, wrong format).
    ``row`` (the attribute) is the row of the first problem.
    """

    def __init__(self, problems: list[tuple[int | None, str]], *, source: str | None = None) -> None:
        if not problems:
            raise ValueError("RosterError needs at least one problem")
        self.problems: list[tuple[int | None, str]] = list(problems)
        self.row: int | None = self.problems[0][0]
        self.source = source
        super().__init__(self._summary(), where=source)

    @staticmethod
    def describe(row: int | None, message: str) -> str:
        return f"第 {row} 行：{message}" if row is not None else message

    def _summary(self) -> str:
        parts = [self.describe(r, m) for r, m in self.problems[:MAX_LISTED_PROBLEMS]]
        if len(self.problems) == 1:
            return parts[0]
        text = f"名册有 {len(self.problems)} 处问题：" + "；".join(parts)
        hidden = len(self.problems) - MAX_LISTED_PROBLEMS
        if hidden > 0:
            text += f"；……另有 {hidden} 处"
        return text


class CredentialError(KeysError):
    """A credential code, card QR payload, meeting id or check-in input that is not valid (SPEC §4.2)."""


class CardError(KeysError):
    """The card PDF cannot be produced or written."""


# ---------------------------------------------------------------------------------------------
# Trustee ceremony, share envelopes, state files, partial decryption (SPEC §6)


class CeremonyError(KeysError):
    """A key-ceremony input that is malformed or does not verify (SPEC §6.1).

    ``trustee`` is the index of the trustee whose announcement or message is at fault, when
    one is known.
    """

    def __init__(self, message: str, *, trustee: int | None = None, where: str | None = None) -> None:
        self.trustee = trustee
        super().__init__(message, where=where)


class ShareError(CeremonyError):
    """A share ``f_i(l)`` that trustee ``l`` received and must complain about (SPEC §6.1 step 4).

    ``sender`` is ``i``, ``recipient`` is ``l``. When several shares failed, the one raised is the
    first, its message names all of them, and ``failures`` lists them all.
    """

    def __init__(self, message: str, *, sender: int, recipient: int) -> None:
        self.sender = sender
        self.recipient = recipient
        self.failures: list[ShareError] = [self]
        super().__init__(message, trustee=sender)


class FeldmanError(ShareError):
    """``f_i(l)·G ≠ Σ_j l^j·A_ij``: trustee ``i``'s share to ``l`` fails the Feldman check (SPEC §6.1)."""

    def __init__(self, sender: int, recipient: int, detail: str | None = None) -> None:
        message = f"trustee {sender}'s share to trustee {recipient} fails the Feldman check"
        super().__init__(f"{message} ({detail})" if detail else message, sender=sender, recipient=recipient)


class EnvelopeError(KeysError):
    """A share envelope that is malformed or does not decrypt (SPEC §6.1 step 3)."""


class StateFileError(KeysError):
    """A trustee state file that cannot be written, read or decrypted (SPEC §6.1)."""


class RelayError(KeysError):
    """A request to the tally service that failed (:mod:`keys.relay_client`).

    ``status`` is the HTTP status (``None`` when no answer came: connection refused, timeout,
    bad URL), ``code`` the service's error code (``{"error": code, "message": …}``, SPEC §11)
    when it sent one, and ``url`` the URL that was requested.
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, url: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.url = url
        super().__init__(message)
