"""The trustees' key ceremony (SPEC §6.1) as message-passing steps.

Each trustee runs three steps; between them, messages travel by files or through the server,
which only relays them:

1. :func:`begin` — pick the polynomial ``f_i`` (step 1) and a transport key, and return the
   secret state (save it with :func:`keys.statefile.save_state`) and a public *announcement*::

       {"index": i, "name": "...", "commitments": ["<hex A_i0>", …], "proofs": [["<c>", "<v>"], …],
        "transport_key": "<hex X25519 public key>"}

   with the commitments ``A_ij`` and their Schnorr proofs of knowledge (step 2).
2. :func:`deal` — given all ``n`` announcements, check them (shape, indices 1..n, every proof
   of knowledge), then seal ``f_i(l)`` to every other trustee ``l`` (step 3). Each message is
   ``{"from": i, "to": l, "envelope": {…}}`` (:mod:`keys.envelope`), its associated data bound
   to ``(meeting_id, i, l)``.
3. :func:`receive` — open the envelopes addressed to this trustee, run the Feldman check on each
   (step 4) and, if every share passes, store ``s_l = Σ_i f_i(l)`` and ``K_l = s_l·G``. A share
   that fails raises :class:`~keys.errors.FeldmanError` naming its sender: the trustee complains.

:func:`meeting_trustees` turns the announcements into the §6.3 ``trustees`` list (without the
transport keys) and ``K = Σ_i A_i0``.

**Checking announcements out of band.** The relay could swap a transport key and read the
shares sealed to it. So before dealing, trustees compare :func:`announcement_fingerprint` of
every announcement over another channel (read aloud in the ceremony room).

The state (implementation-defined, SPEC §10) is a JSON object::

    {"format": "piaojue/1/trustee", "meeting_id", "index", "n", "threshold", "name",
     "coefficients": ["<hex a_i0>", …], "transport_key": "<hex X25519 private key>",
     # after receive:
     "share": "<hex s_l>", "verification_key": "<hex K_l>", "public_key": "<hex K>",
     "commitments": [["<hex A_1,0>", …], …]}

The coefficients stay in the state after the ceremony so a trustee can deal again (for example
when a share got lost in transit); the file is encrypted either way.

Long: the three steps and their Feldman checks follow SPEC §6.1 in order, to be read beside it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from ballot.errors import EncodingError, ProofError
from ballot.group import Point, Scalar
from ballot.hashing import canonical_json, h256, hex_bytes
from ballot.meeting import MAX_TRUSTEES
from ballot.proofs import ScalarPair, pairs_to_json, parse_pairs, prove_knowledge, verify_knowledge
from ballot.threshold import joint_public_key, verification_key
from ballot.vote import IDENTIFIER
from keys.envelope import (
    load_private_key,
    load_public_key,
    open_envelope,
    public_bytes,
    seal,
    share_associated_data,
)
from keys.errors import CeremonyError, EnvelopeError, FeldmanError, ShareError
from keys.polynomial import commit, evaluate, feldman_expected, random_polynomial

STATE_FORMAT = "piaojue/1/trustee"
FINGERPRINT_TAG = "piaojue/1/announcement"
ANNOUNCEMENT_KEYS = frozenset({"index", "name", "commitments", "proofs", "transport_key"})
MESSAGE_KEYS = frozenset({"from", "to", "envelope"})
_BASE_KEYS = frozenset(
    {"format", "meeting_id", "index", "n", "threshold", "name", "coefficients", "transport_key"}
)
_RESULT_KEYS = frozenset({"share", "verification_key", "public_key", "commitments"})


# ---------------------------------------------------------------------------------------------
# Parsed forms


@dataclass(frozen=True, slots=True)
class Announcement:
    """A checked announcement of trustee ``index`` (SPEC §6.1 step 2, plus its transport key)."""

    index: int
    name: str
    commitments: tuple[Point, ...]
    proofs: tuple[ScalarPair, ...]
    transport_key: bytes
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrusteeState:
    """A parsed trustee state. ``share`` etc. are ``None`` until :func:`receive` has run."""

    meeting_id: str
    index: int
    n: int
    threshold: int
    name: str
    coefficients: tuple[Scalar, ...]
    transport_private: X25519PrivateKey
    share: Scalar | None
    verification_key: Point | None
    public_key: Point | None
    commitments: tuple[tuple[Point, ...], ...] | None

    @property
    def complete(self) -> bool:
        return self.share is not None

    def require_complete(self) -> Scalar:
        """``s_l``; :class:`CeremonyError` if the ceremony has not finished for this trustee."""
        if self.share is None:
            raise CeremonyError(
                f"trustee {self.index} has no share yet: run `ceremony receive` first", trustee=self.index
            )
        return self.share


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_parameters(meeting_id: object, n: object, threshold: object) -> None:
    if not isinstance(meeting_id, str) or IDENTIFIER.fullmatch(meeting_id) is None:
        raise CeremonyError(f"meeting id must match [A-Za-z0-9_-]{{1,64}} (SPEC §6.3), got {meeting_id!r}")
    _check_counts(n, threshold)


def _check_counts(n: object, threshold: object) -> None:
    if not _is_int(n) or not 1 <= n <= MAX_TRUSTEES:
        raise CeremonyError(f"the number of trustees must be between 1 and {MAX_TRUSTEES}, got {n!r}")
    if not _is_int(threshold) or not 1 <= threshold <= n:
        raise CeremonyError(f"the threshold must satisfy 1 ≤ k ≤ n = {n}, got {threshold!r}")


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise CeremonyError("a trustee name is non-empty text", where=where)
    return name


def parse_state(state: Any) -> TrusteeState:
    """Check and parse a state made by :func:`begin` or :func:`receive`."""
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CeremonyError(f"not a trustee state (format is not {STATE_FORMAT!r})", where="state")
    keys = set(state)
    if not _BASE_KEYS <= keys or (keys - _BASE_KEYS) not in (set(), _RESULT_KEYS):
        raise CeremonyError("trustee state has unexpected or missing fields", where="state")
    meeting_id, n, threshold = state["meeting_id"], state["n"], state["threshold"]
    _check_parameters(meeting_id, n, threshold)
    index = state["index"]
    if not _is_int(index) or not 1 <= index <= n:
        raise CeremonyError(f"trustee index must be in 1..{n}", where="state.index")
    name = _check_name(state["name"], "state.name")
    try:
        coefficients_raw = state["coefficients"]
        if not isinstance(coefficients_raw, list) or len(coefficients_raw) != threshold:
            raise CeremonyError(f"expected {threshold} coefficients", where="state.coefficients")
        coefficients = tuple(
            Scalar.from_hex(a, where=f"state.coefficients[{j}]") for j, a in enumerate(coefficients_raw)
        )
        transport = load_private_key(hex_bytes(state["transport_key"], 32, where="state.transport_key"))
        share = verification = public = None
        commitments = None
        if "share" in state:
            share = Scalar.from_hex(state["share"], where="state.share")
            verification = Point.from_hex(state["verification_key"], where="state.verification_key")
            public = Point.from_hex(state["public_key"], where="state.public_key")
            rows = state["commitments"]
            if not isinstance(rows, list) or len(rows) != n:
                raise CeremonyError(f"expected {n} rows of commitments", where="state.commitments")
            commitments = tuple(
                _points(row, threshold, f"state.commitments[{i}]") for i, row in enumerate(rows)
            )
    except (EncodingError, EnvelopeError) as exc:
        raise CeremonyError(f"corrupted trustee state: {exc}", where="state") from None
    if share is not None and Point.base_mul(share) != verification:
        raise CeremonyError("corrupted trustee state: K_l ≠ s_l·G", where="state.verification_key")
    return TrusteeState(
        meeting_id,
        index,
        n,
        threshold,
        name,
        coefficients,
        transport,
        share,
        verification,
        public,
        commitments,
    )


def _points(row: object, count: int, where: str) -> tuple[Point, ...]:
    if not isinstance(row, list) or len(row) != count:
        raise CeremonyError(f"expected {count} commitments", where=where)
    return tuple(Point.from_hex(value, where=f"{where}[{j}]") for j, value in enumerate(row))


def _parse_announcement(raw: Any, meeting_id: str, n: int, threshold: int, position: int) -> Announcement:
    where = f"announcements[{position}]"
    if not isinstance(raw, dict):
        raise CeremonyError("an announcement is a JSON object", where=where)
    index = raw.get("index")
    if not _is_int(index) or not 1 <= index <= n:
        raise CeremonyError(f"announcement index must be an integer in 1..{n}, got {index!r}", where=where)
    who = f"trustee {index}'s announcement"
    if set(raw) != ANNOUNCEMENT_KEYS:
        raise CeremonyError(
            f"{who} must have exactly the fields {sorted(ANNOUNCEMENT_KEYS)}", trustee=index, where=where
        )
    name = _check_name(raw["name"], f"{where}.name")
    try:
        commitments = _points(raw["commitments"], threshold, f"{where}.commitments")
        proofs = tuple(parse_pairs(raw["proofs"], where=f"{where}.proofs", length=threshold))
        transport_key = hex_bytes(raw["transport_key"], 32, where=f"{where}.transport_key")
        load_public_key(transport_key)
    except CeremonyError as exc:
        raise CeremonyError(f"{who}: {exc.message}", trustee=index, where=exc.where) from None
    except (EncodingError, EnvelopeError) as exc:
        raise CeremonyError(f"{who} is malformed: {exc}", trustee=index, where=where) from None
    for j, (commitment, proof) in enumerate(zip(commitments, proofs, strict=True)):
        try:
            verify_knowledge(commitment, proof, meeting_id, index, j)
        except ProofError:
            raise CeremonyError(
                f"trustee {index}'s proof of knowledge for A_{index},{j} does not verify",
                trustee=index,
                where=f"{where}.proofs[{j}]",
            ) from None
    return Announcement(index, name, commitments, proofs, transport_key, raw)


def parse_announcements(
    meeting_id: str, n: int, threshold: int, announcements: Iterable[Any]
) -> list[Announcement]:
    """Check all ``n`` announcements (SPEC §6.1 step 2) and return them in index order.

    Exactly one announcement per index ``1..n`` (identical duplicates, e.g. a file collected
    twice, are ignored); every proof of knowledge verifies for ``(meeting_id, i, j)``; transport
    keys are distinct. Raises :class:`CeremonyError` naming the trustee at fault.
    """
    _check_parameters(meeting_id, n, threshold)
    if isinstance(announcements, (dict, str, bytes)):
        raise CeremonyError("announcements must be a list of announcement objects")
    by_index: dict[int, Announcement] = {}
    for position, raw in enumerate(announcements):
        if isinstance(raw, dict) and _is_int(raw.get("index")) and raw["index"] in by_index:
            if _same(by_index[raw["index"]].raw, raw):
                continue
            raise CeremonyError(
                f"two different announcements for trustee {raw['index']}", trustee=raw["index"]
            )
        parsed = _parse_announcement(raw, meeting_id, n, threshold, position)
        by_index[parsed.index] = parsed
    missing = [i for i in range(1, n + 1) if i not in by_index]
    if missing:
        raise CeremonyError(
            f"missing announcements from trustee{'s' if len(missing) > 1 else ''} "
            + ", ".join(map(str, missing)),
            trustee=missing[0],
        )
    ordered = [by_index[i] for i in range(1, n + 1)]
    seen: dict[bytes, int] = {}
    for ann in ordered:
        if ann.transport_key in seen:
            raise CeremonyError(
                f"trustees {seen[ann.transport_key]} and {ann.index} announce the same transport key",
                trustee=ann.index,
            )
        seen[ann.transport_key] = ann.index
    return ordered


def _canonical_or_none(raw: Any) -> bytes | None:
    try:
        return canonical_json(raw)
    except EncodingError:
        return None


def _same(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same document (an identical copy, safe to skip)."""
    canonical = _canonical_or_none(a)
    return canonical is not None and canonical == _canonical_or_none(b)


def announcement_fingerprint(announcement: dict[str, Any]) -> str:
    """A short code for comparing an announcement out of band: the RFC 4648 base32 of the first
    10 bytes of ``H256("piaojue/1/announcement", canonical JSON)``, as ``XXXX-XXXX-XXXX-XXXX``."""
    try:
        digest = h256(FINGERPRINT_TAG, canonical_json(announcement))
    except EncodingError as exc:
        raise CeremonyError(f"announcement is not a JSON document: {exc}") from None
    code = base64.b32encode(digest[:10]).decode("ascii")
    return "-".join(code[i : i + 4] for i in range(0, 16, 4))


def _own(parsed: TrusteeState, announcements: Sequence[Announcement]) -> None:
    mine = announcements[parsed.index - 1]
    if mine.commitments != tuple(commit(parsed.coefficients)) or mine.transport_key != public_bytes(
        parsed.transport_private
    ):
        raise CeremonyError(
            f"the announcement for trustee {parsed.index} is not the one this state made "
            "(wrong state file, or the announcement was replaced)",
            trustee=parsed.index,
        )


# ---------------------------------------------------------------------------------------------
# The three steps


def begin(
    meeting_id: str, index: int, n: int, threshold: int, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """SPEC §6.1 steps 1–2 for trustee ``index``: returns ``(state, announcement)``.

    ``state`` holds the secret coefficients and the X25519 transport private key; save it with
    :func:`keys.statefile.save_state`. ``announcement`` is public.
    """
    _check_parameters(meeting_id, n, threshold)
    if not _is_int(index) or not 1 <= index <= n:
        raise CeremonyError(f"trustee index must be in 1..{n}, got {index!r}")
    _check_name(name, "name")
    coefficients = random_polynomial(threshold)
    commitments = commit(coefficients)
    proofs = [prove_knowledge(a, meeting_id, index, j) for j, a in enumerate(coefficients)]
    transport = X25519PrivateKey.generate()
    state = {
        "format": STATE_FORMAT,
        "meeting_id": meeting_id,
        "index": index,
        "n": n,
        "threshold": threshold,
        "name": name,
        "coefficients": [a.hex() for a in coefficients],
        "transport_key": transport.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex(),
    }
    announcement = {
        "index": index,
        "name": name,
        "commitments": [A.hex() for A in commitments],
        "proofs": pairs_to_json(proofs),
        "transport_key": public_bytes(transport).hex(),
    }
    return state, announcement


def deal(state: dict[str, Any], announcements: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """SPEC §6.1 step 3: check every announcement, then seal ``f_i(l)`` to each other trustee ``l``.

    Returns ``[{"from": i, "to": l, "envelope": {...}}, …]`` in order of ``l``.
    """
    parsed = parse_state(state)
    checked = parse_announcements(parsed.meeting_id, parsed.n, parsed.threshold, announcements)
    _own(parsed, checked)
    messages = []
    for ann in checked:
        if ann.index == parsed.index:
            continue
        value = evaluate(parsed.coefficients, ann.index)
        envelope = seal(
            ann.transport_key,
            value.to_bytes(),
            share_associated_data(parsed.meeting_id, parsed.index, ann.index),
        )
        messages.append({"from": parsed.index, "to": ann.index, "envelope": envelope})
    return messages


def _messages_for(parsed: TrusteeState, messages: Iterable[Any]) -> dict[int, dict[str, Any]]:
    if isinstance(messages, (dict, str, bytes)):
        raise CeremonyError("messages must be a list of message objects")
    found: dict[int, dict[str, Any]] = {}
    for position, message in enumerate(messages):
        where = f"messages[{position}]"
        if not isinstance(message, dict) or set(message) != MESSAGE_KEYS:
            raise CeremonyError(
                'a message is an object with exactly "from", "to" and "envelope"', where=where
            )
        sender, recipient = message["from"], message["to"]
        if not (
            _is_int(sender) and _is_int(recipient) and 1 <= sender <= parsed.n and 1 <= recipient <= parsed.n
        ):
            raise CeremonyError(f'"from" and "to" must be trustee indices in 1..{parsed.n}', where=where)
        if recipient != parsed.index:
            continue
        if sender == parsed.index:
            raise CeremonyError(f"a message from trustee {sender} to itself", trustee=sender, where=where)
        if sender in found:
            if _same(found[sender], message):
                continue
            raise CeremonyError(
                f"two different messages from trustee {sender} to trustee {parsed.index}",
                trustee=sender,
                where=where,
            )
        found[sender] = message
    missing = [i for i in range(1, parsed.n + 1) if i != parsed.index and i not in found]
    if missing:
        raise CeremonyError(
            f"no share for trustee {parsed.index} from trustee{'s' if len(missing) > 1 else ''} "
            + ", ".join(map(str, missing)),
            trustee=missing[0],
        )
    return found


def _open_share(
    parsed: TrusteeState, sender: int, message: dict[str, Any], commitments: Sequence[Point]
) -> Scalar:
    l = parsed.index
    try:
        plaintext = open_envelope(
            parsed.transport_private, message["envelope"], share_associated_data(parsed.meeting_id, sender, l)
        )
    except EnvelopeError as exc:
        raise ShareError(
            f"trustee {sender}'s share to trustee {l} cannot be opened: {exc}", sender=sender, recipient=l
        ) from None
    try:
        value = Scalar.from_bytes(plaintext)
    except EncodingError:
        raise ShareError(
            f"trustee {sender}'s share to trustee {l} is not a 32-byte scalar", sender=sender, recipient=l
        ) from None
    if Point.base_mul(value) != feldman_expected(commitments, l):
        raise FeldmanError(sender, l, "f_i(l)·G ≠ Σ_j l^j·A_ij")
    return value


def receive(
    state: dict[str, Any], announcements: Sequence[dict[str, Any]], messages: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """SPEC §6.1 step 4: open this trustee's envelopes and Feldman-check each share.

    On success returns a new state with ``s_l = Σ_i f_i(l)`` (its own ``f_l(l)`` included),
    ``K_l``, ``K`` and every trustee's commitments. Every share is checked before anything is
    raised; the error is :class:`FeldmanError` (or :class:`ShareError` for an envelope that does
    not open) for the first bad sender, and its message lists every bad sender.
    """
    parsed = parse_state(state)
    checked = parse_announcements(parsed.meeting_id, parsed.n, parsed.threshold, announcements)
    _own(parsed, checked)
    found = _messages_for(parsed, messages)
    share = evaluate(parsed.coefficients, parsed.index)
    failures: list[ShareError] = []
    for ann in checked:
        if ann.index == parsed.index:
            continue
        try:
            share = share + _open_share(parsed, ann.index, found[ann.index], ann.commitments)
        except ShareError as exc:
            failures.append(exc)
    if failures:
        first = failures[0]
        if len(failures) > 1:  # name every bad sender in the one message
            first.message = "; ".join(str(failure) for failure in failures)
            first.args = (first.message,)
        first.failures = failures
        raise first
    commitments = [list(ann.commitments) for ann in checked]
    key = Point.base_mul(share)
    if key != verification_key(parsed.index, commitments):  # implied by the Feldman checks
        raise CeremonyError(
            f"K_{parsed.index} ≠ s_{parsed.index}·G after the Feldman checks", trustee=parsed.index
        )
    new_state = {name: value for name, value in state.items() if name not in _RESULT_KEYS}
    new_state.update(
        {
            "share": share.hex(),
            "verification_key": key.hex(),
            "public_key": joint_public_key(commitments).hex(),
            "commitments": [[A.hex() for A in row] for row in commitments],
        }
    )
    return new_state


# ---------------------------------------------------------------------------------------------
# Results


def meeting_trustees(
    announcements: Sequence[dict[str, Any]], *, meeting_id: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """The §6.3 ``trustees`` list (index order, no transport keys) and ``K = Σ_i A_i0`` as hex.

    With ``meeting_id``, every proof of knowledge is verified too (otherwise only the shape is
    checked; :func:`ballot.meeting.verify_meeting` checks the proofs of the final entry).
    """
    if isinstance(announcements, (dict, str, bytes)) or not announcements:
        raise CeremonyError("announcements must be a non-empty list")
    n = len({a.get("index") for a in announcements if isinstance(a, dict)})
    first = announcements[0]
    commitments = first.get("commitments") if isinstance(first, dict) else None
    threshold = len(commitments) if isinstance(commitments, list) else 0
    if meeting_id is not None:
        checked = parse_announcements(meeting_id, n, threshold, announcements)
    else:
        # Shape only: check against a throwaway meeting id with the proofs skipped.
        checked = _parse_shapes(n, threshold, announcements)
    trustees = [
        {
            "index": ann.index,
            "name": ann.name,
            "commitments": [A.hex() for A in ann.commitments],
            "proofs": pairs_to_json(ann.proofs),
        }
        for ann in checked
    ]
    public_key = joint_public_key([ann.commitments for ann in checked])
    return trustees, public_key.hex()


def _parse_shapes(n: int, threshold: int, announcements: Sequence[Any]) -> list[Announcement]:
    _check_counts(n, threshold)
    by_index: dict[int, Announcement] = {}
    for position, raw in enumerate(announcements):
        where = f"announcements[{position}]"
        if not isinstance(raw, dict) or set(raw) != ANNOUNCEMENT_KEYS:
            raise CeremonyError(
                f"an announcement has exactly the fields {sorted(ANNOUNCEMENT_KEYS)}", where=where
            )
        index = raw["index"]
        if not _is_int(index) or not 1 <= index <= n:
            raise CeremonyError(f"announcement index must be in 1..{n}", where=where)
        try:
            ann = Announcement(
                index,
                _check_name(raw["name"], f"{where}.name"),
                _points(raw["commitments"], threshold, f"{where}.commitments"),
                tuple(parse_pairs(raw["proofs"], where=f"{where}.proofs", length=threshold)),
                hex_bytes(raw["transport_key"], 32, where=f"{where}.transport_key"),
                raw,
            )
        except EncodingError as exc:
            raise CeremonyError(
                f"trustee {index}'s announcement is malformed: {exc}", trustee=index
            ) from None
        if index in by_index and not _same(by_index[index].raw, raw):
            raise CeremonyError(f"two different announcements for trustee {index}", trustee=index)
        by_index[index] = ann
    return [by_index[i] for i in range(1, n + 1)]


def run_ceremony_in_memory(
    meeting_id: str, names: Sequence[str], threshold: int
) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]]]:
    """Run :func:`begin`, :func:`deal` and :func:`receive` for all trustees in one process.

    For simulations, demos and tests. Returns ``(trustees_json, public_key_hex, states)`` with
    ``states[l − 1]`` the completed state of trustee ``l``.
    """
    if isinstance(names, str):
        raise CeremonyError("names must be a list of trustee names")
    n = len(names)
    _check_parameters(meeting_id, n, threshold)
    begun = [begin(meeting_id, index, n, threshold, name) for index, name in enumerate(names, start=1)]
    announcements = [announcement for _, announcement in begun]
    messages = [message for state, _ in begun for message in deal(state, announcements)]
    states = [receive(state, announcements, messages) for state, _ in begun]
    trustees, public_key = meeting_trustees(announcements, meeting_id=meeting_id)
    return trustees, public_key, states
