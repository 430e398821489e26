"""Independent verification of an election record: everything SPEC §8 lists.

:class:`Auditor` replays a log incrementally (docs/protocol.md §8.1): it is fed the entries in
order (:meth:`Auditor.feed`), checks tree heads as they come (:meth:`Auditor.check_tree_head`)
and gives its report at any point (:meth:`Auditor.report`). :func:`verify_record` is a thin
driver that feeds it a whole record; the live monitor (:mod:`ballot.monitor`, §13) feeds it the
entries it fetches. Both therefore apply the same checks, by the same code. The checks, each
named in the report with how many items it checked and its first failure (with the entry index):

========================  =====================================================================
``record_format``         every line is the canonical JSON (§1) of a JSON object with a ``type``
``sth``                   the latest STH's signature under the meeting's log key, its size and root (§7)
``sth_history``           every STH in ``sths.jsonl``: signature, and a consistency proof to the latest (§7)
``meeting``               exactly one meeting entry, first; proofs of knowledge; ``K = Σ A_i0`` (§6.3)
``credentials``           credentials entries: sorted, distinct, keys of prime order, add only new keys,
                          revoke only registered ones (§7, §8.1)
``votes``                 vote definitions (§4.1, §9 rule), unique ids, each defined once
``vote_lifecycle``        open after the vote, close after open, each once; times (§8.1); ``present`` within
                          the credentials active at open and ``members``; ``close.ballots`` (§5, §7, §8.1)
``ballots``               every ballot well-formed (§4.3), its credential active at the vote's open and
                          where it stands, inside open..close, one per credential unless ``recast`` (§5),
                          no ballot hash cast twice, none both challenged and cast (§4.4, §8.1)
``spoiled``               every spoiled entry inside open..close, well-formed with an active credential, its
                          openings; never a ballot that was cast (§4.4, §8.1)
``shares``                every share entry: after close, one per trustee, one element per option, proofs (§6.2)
``tallies``               the result's ``counted`` and every ``(A, B)`` equal the sum of the counted ballots,
                          and every count within ``0..counted`` before any decryption work (§8, §8.1)
``decryption``            ``B − Σ λ_l·M_l = count·G`` over the result's trustees (§6.2, §8)
``outcomes``              the outcome is what §9 computes from the counts, compared whole as canonical JSON
``receipt``               (only with a receipt) its STH, tracker and inclusion (§8)
``witnesses``             (only when the log holds a ``witness`` entry) V52 of docs/protocol.md §13
``mixing``                (only with a statutory election with write-ins, or a ``shuffle`` or
                          ``name_share`` entry) V45–V47 of docs/protocol.md §12.9: each shuffle of the
                          names verified in chain from the counted ballots' rows, its owner's
                          signature, and the trustees' name shares after ``threshold`` shuffles
``writeins``              (with ``mixing``) V48–V50: the result's ``writeins`` bounded before any
                          decryption work, then recomputed from the names its trustees decrypt
========================  =====================================================================

Statutory elections (docs/protocol.md §12) add V41–V44 to ``votes``, ``ballots`` and ``spoiled``
(signed constraint members, the ``election`` object and its follow-up rule, write-in slots and
their proofs, name openings) and V51 to ``outcomes`` (listed candidates and write-ins ranked
together).

Counts are bounded before any decryption work (§8.1 V35–V36): for a whole record by one pass
over every result before the replay (:meth:`Auditor.bound_counts`); when fed incrementally,
each result when it arrives, before its handler runs.

The §8.1 container rules (``log.jsonl``, ``sth.json``, ``sths.jsonl``) are checked by
:mod:`ballot.record` while reading and by ``sth``/``sth_history`` here.

Types the verifier does not know are skipped and counted (§10).

Long: one Auditor replays the log once for all the checks above, which share that replay's state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ballot.ballot import VerifiedBallot, verify_ballot
from ballot.clock import parse_log_time
from ballot.election import (
    Election,
    check_follow_up,
    check_writeins_bounds,
    count_writeins,
    decode_row,
    election_outcome,
    mix_rows,
    parse_election,
)
from ballot.elgamal import Ciphertext, sum_ciphertexts
from ballot.errors import (
    BallotError,
    EncodingError,
    LogError,
    MeetingError,
    PiaojueError,
    ProofError,
    ReceiptError,
    RuleError,
    ThresholdError,
    VoteDefinitionError,
    wrong_fields,
)
from ballot.group import Point, ed25519_key_has_prime_order
from ballot.hashing import canonical_json, parse_json
from ballot.log import MerkleTree, SignedTreeHead, leaf_hash, parse_sth, verify_consistency, verify_sth
from ballot.meeting import Meeting, parse_meeting, verify_meeting
from ballot.proofs import multiple_of_generator, parse_pair, verify_partial
from ballot.receipt import verify_receipt
from ballot.record import Record
from ballot.rules import compute_outcome
from ballot.shuffle import Row, parse_proof, parse_rows, verify_shuffle
from ballot.spoiled import verify_spoiled
from ballot.threshold import combine_partials
from ballot.vote import OptionRef, VoteDefinition, parse_vote
from ballot.witness import Witness, parse_witness_entry
from ballot.writein import verify_name_share

KNOWN_TYPES = {
    "meeting", "credentials", "vote", "open", "ballot", "spoiled", "close", "share", "result", "witness",
    "shuffle", "name_share",
}
WITNESS_CHECK = ("witnesses", "witness keys registered in the log (§13)")
WRITEIN_CHECKS = [
    ("mixing", "shuffles of the write-in names and name shares (§12.5–§12.6)"),
    ("writeins", "write-in counts follow from the decrypted names (§12.7)"),
]
"""Checks that join the report with the first statutory election with write-ins, ``shuffle`` or
``name_share`` entry (docs/protocol.md §12.9), so that other records' reports are unchanged."""
SHUFFLE_KEYS = frozenset({"type", "vote_id", "trustee", "output", "proof", "signature"})
NAME_SHARE_KEYS = frozenset({"type", "vote_id", "trustee", "shares"})
_UNPARSED: Any = object()
_HEX64 = re.compile(r"[0-9a-f]{64}")

CHECKS: list[tuple[str, str]] = [
    ("record_format", "log lines are canonical JSON entries"),
    ("sth", "latest signed tree head: signature, size, root"),
    ("sth_history", "published tree heads are signed and consistent"),
    ("meeting", "meeting entry, trustee proofs, joint key"),
    ("credentials", "credential registrations and revocations"),
    ("votes", "vote definitions and counting rules"),
    ("vote_lifecycle", "open and close entries"),
    ("ballots", "ballots well-formed, eligible, on time, not duplicated"),
    ("spoiled", "spoiled-ballot openings"),
    ("shares", "trustee partial decryptions and their proofs"),
    ("tallies", "aggregates equal the sum of counted ballots"),
    ("decryption", "shares combine to the published counts"),
    ("outcomes", "outcomes follow the counts by the counting rules"),
]


@dataclass(slots=True)
class Failure:
    index: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.index}: {self.message}" if self.index is not None else self.message


@dataclass(slots=True)
class CheckResult:
    name: str
    description: str
    checked: int = 0
    failures: int = 0
    first_failure: Failure | None = None
    ran: bool = True
    """False when the verification stopped before this check (see :meth:`Auditor.bound_counts`)."""
    last_failure: Failure | None = None
    """The latest failure (a live monitor reports the failure an entry caused)."""

    @property
    def ok(self) -> bool:
        return self.failures == 0

    def fail(self, index: int | None, message: str) -> None:
        self.failures += 1
        self.last_failure = Failure(index, message)
        if self.first_failure is None:
            self.first_failure = self.last_failure


@dataclass(slots=True)
class Report:
    """The per-check outcome of a record verification."""

    checks: dict[str, CheckResult]
    entries: int = 0
    meeting_id: str | None = None
    skipped_types: dict[str, int] = field(default_factory=dict)
    votes: list[dict[str, Any]] = field(default_factory=list)
    """Per vote: ``vote_id``, ``state``, ``counted`` and ``counted_hashes`` (hex ballot hashes
    of the ballots counted, §5), in the order the votes were defined."""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check.ok]

    def format(self) -> str:
        lines = [f"Piaojue record verification (piaojue/1): meeting {self.meeting_id}, {self.entries} log entries"]
        for check in self.checks.values():
            if not check.ran:
                lines.append(f"  [----] {check.name:<15} not run   {check.description}")
                continue
            mark = "PASS" if check.ok else "FAIL"
            line = f"  [{mark}] {check.name:<15} {check.checked:>7} checked  {check.description}"
            if not check.ok:
                line += f"\n         {check.failures} failure(s); first at {check.first_failure}"
            lines.append(line)
        for name, count in sorted(self.skipped_types.items()):
            lines.append(f"  [SKIP] entries of unknown type {name!r}: {count}")
        for vote in self.votes:
            lines.append(f"  vote {vote['vote_id']}: {vote['state']}, {vote['counted']} ballots counted")
        failed = self.failed()
        lines.append("RESULT: PASS" if not failed else f"RESULT: FAIL ({', '.join(failed)})")
        return "\n".join(lines)


@dataclass
class _VoteState:
    definition: VoteDefinition
    defined_at: int
    refs: list[OptionRef]
    opened_at: int | None = None
    opened_time: tuple[Any, int] | None = None
    present: int = 0
    eligible: frozenset[bytes] = frozenset()
    """The credentials active (registered, not revoked) at the vote's ``open`` (SPEC §8.1)."""
    cast_hashes: set[bytes] = field(default_factory=set)
    spoiled_hashes: set[bytes] = field(default_factory=set)
    closed_at: int | None = None
    logged: int = 0
    counted: dict[bytes, VerifiedBallot] = field(default_factory=dict)
    aggregates: list[Ciphertext] | None = None
    shares: dict[int, dict[OptionRef, Point]] = field(default_factory=dict)
    result_at: int | None = None
    election: Election | None = None
    """The checked ``election`` object of a statutory election (§12.2)."""
    outcome: Any = None
    """The published outcome, once the result stands (for a follow-up's check, §12.8)."""
    followed: bool = False
    mix: tuple[Row, ...] | None = None
    """The output of the last verified shuffle: the next shuffle's input (§12.5 rule 3)."""
    shufflers: list[int] = field(default_factory=list)
    name_shares: dict[int, list[list[Point]]] = field(default_factory=dict)

    def mix_input(self) -> tuple[Row, ...]:
        """The input of the vote's next shuffle: the rows of the counted ballots (§12.5 rule 1)
        before any shuffle, then the last shuffle's output."""
        if self.mix is not None:
            return self.mix
        return tuple(mix_rows([ballot.names for ballot in self.counted.values()]))

    @property
    def state(self) -> str:
        if self.result_at is not None:
            return "published"
        if self.closed_at is not None:
            return "closed"
        return "open" if self.opened_at is not None else "pending"


class Auditor:
    """The §8.1 replay, fed one entry at a time (docs/protocol.md §8.1, §13 "The monitor").

    ``feed(line, entry)`` appends entry ``i = size`` to the Merkle tree and runs its checks
    against the state of everything fed before (credentials, votes, counted ballots,
    aggregates, shares); ``report()`` snapshots the report at any point. A vote still open, or
    closed without a result, is not a failure (§8.1). With ``bound_on_feed`` (the default, for a
    live log) a result's counts are bounded when it arrives, before any decryption work
    (V35–V36); :func:`verify_record` instead bounds every result of the record up front
    (:meth:`bound_counts`) and feeds with ``bound_on_feed=False``.
    """

    def __init__(self, *, bound_on_feed: bool = True) -> None:
        self._report = Report({name: CheckResult(name, text) for name, text in CHECKS})
        self.checks = self._report.checks
        self.meeting: Meeting | None = None
        self.verification_keys: dict[int, Point] = {}
        self.registered: set[bytes] = set()
        self.revoked: set[bytes] = set()
        self.votes: dict[str, _VoteState] = {}
        self.witnesses: dict[bytes, Witness] = {}
        self.tree = MerkleTree()
        self._bound_on_feed = bound_on_feed
        self._logged: dict[str, int] = {}
        """Ballot entries per vote id, as the count bound reads them (before any other check)."""
        self._handlers: dict[str, Callable[[int, dict[str, Any]], None]] = {
            "meeting": self._meeting,
            "credentials": self._credentials,
            "vote": self._vote,
            "open": self._open,
            "close": self._close,
            "ballot": self._ballot,
            "spoiled": self._spoiled,
            "share": self._share,
            "result": self._result,
            "witness": self._witness,
            "shuffle": self._shuffle,
            "name_share": self._name_share,
        }

    # ------------------------------------------------------------ feeding

    @property
    def size(self) -> int:
        """The number of entries fed so far."""
        return self.tree.size

    def feed(self, line: bytes, entry: Any = _UNPARSED) -> list[tuple[str, Failure]]:
        """Replay entry ``size``: ``line`` is its exact bytes ``d_i`` (a leaf of the tree, §7),
        ``entry`` the parsed document or the :class:`EncodingError` parsing raised (parsed here
        strictly, §1 rule 14, when not given). Returns the failures this entry caused, as
        ``(check name, failure)``, in check order; an empty list when it passed."""
        if entry is _UNPARSED:
            try:
                entry = parse_json(line, where=f"entry {self.size}")
            except EncodingError as exc:
                entry = exc
        before = {name: check.failures for name, check in self.checks.items()}
        self._feed(line, entry)
        return [
            (name, check.last_failure)
            for name, check in self.checks.items()
            if check.failures > before.get(name, 0) and check.last_failure is not None
        ]

    def _feed(self, line: bytes, entry: Any) -> None:
        index = self.tree.append(leaf_hash(line))
        fmt = self.checks["record_format"]
        fmt.checked += 1
        if isinstance(entry, EncodingError):
            fmt.fail(index, entry.message)
            return
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            fmt.fail(index, "an entry is a JSON object with a string 'type'")
            return
        try:
            canonical = canonical_json(entry)
        except EncodingError as exc:  # e.g. a lone surrogate escape: not UTF-8 text (SPEC §1)
            fmt.fail(index, exc.message)
            return
        if canonical != line:
            fmt.fail(index, "line is not the canonical JSON of its entry")
        if self._bound_on_feed and not self._bound_entry(index, entry):
            return  # a forged count costs nothing (§8.1 V36)
        kind = entry["type"]
        if index == 0 and kind != "meeting":
            self.checks["meeting"].fail(0, "the first entry must be the meeting entry")
        if kind not in KNOWN_TYPES:
            self._report.skipped_types[kind] = self._report.skipped_types.get(kind, 0) + 1
            return
        if self.meeting is None and kind != "meeting":
            return  # nothing can be checked without the meeting; already reported
        self._handlers[kind](index, entry)

    def report(self) -> Report:
        """The report so far: every check, and per vote its state and counted ballots."""
        self._report.entries = max(self._report.entries, self.tree.size)
        self._report.votes = [
            {
                "vote_id": vote.definition.vote_id,
                "state": vote.state,
                "counted": len(vote.counted),
                "counted_hashes": sorted(ballot.hash.hex() for ballot in vote.counted.values()),
            }
            for vote in self.votes.values()
        ]
        return self._report

    # ------------------------------------------------------------ count bounds

    def bound_counts(self, entries: list[Any]) -> bool:
        """SPEC §8.1 "Counts are bounded before any work": before anything else, every published
        count must lie in ``0..counted``, and ``counted`` within the ballot entries logged for the
        vote before its result. This pass reads only the parsed entries, so a forged count is
        rejected at once (the full replay checks every count again, exactly); on a failure
        :func:`verify_record` stops here and reports the other checks as not run."""
        for index, entry in enumerate(entries):
            self._bound_entry(index, entry)
        return self.checks["tallies"].ok

    def _bound_entry(self, index: int, entry: Any) -> bool:
        """One entry of the count bound (V35–V36); False if it is a result whose counts fail."""
        check = self.checks["tallies"]
        if not isinstance(entry, dict):
            return True
        vote_id = entry.get("vote_id")
        if entry.get("type") == "ballot" and isinstance(vote_id, str):
            self._logged[vote_id] = self._logged.get(vote_id, 0) + 1
        if entry.get("type") != "result" or not isinstance(vote_id, str):
            return True
        logged = self._logged.get(vote_id, 0)
        counted, tallies = entry.get("counted"), entry.get("tallies")
        if not _is_count(counted) or counted > logged:
            check.fail(index, f"counted = {counted!r} is not within the {logged} ballots logged")
            return False
        for i, item in enumerate(tallies if isinstance(tallies, list) else []):
            count = item.get("count") if isinstance(item, dict) else None
            if not _is_count(count) or count > counted:
                check.fail(index, f"tallies[{i}]: count {count!r} is not within 0..counted = {counted}")
                return False
        return True

    # ------------------------------------------------------------ tree heads

    def check_tree_head(self, sth: Any) -> SignedTreeHead:
        """§7, V4: ``sth`` has exactly the STH fields, its signature verifies under the meeting's
        ``log_key``, it covers exactly the entries fed so far, and its root is their MTH.
        Returns the parsed STH; raises :class:`LogError` (nothing is recorded in the report)."""
        size = self.tree.size
        if self.meeting is None:
            raise LogError("no meeting entry, so no log key to check the STH with")
        verify_sth(sth, self.meeting.log_key)
        head = parse_sth(sth)
        if head.tree_size != size:
            raise LogError(f"sth.json covers {head.tree_size} entries; log.jsonl has {size}")
        if head.root != self.tree.root(size):
            raise LogError("sth.json root is not the Merkle root of log.jsonl")
        return head

    def check_record_heads(self, latest: Any, history: list[Any] | None) -> None:
        """The checks ``sth`` and ``sth_history`` of a record (V4, V5), after the whole log was fed."""
        size = self.tree.size
        check = self.checks["sth"]
        check.checked += 1
        try:
            sth = self.check_tree_head(latest)
        except LogError as exc:
            check.fail(None, str(exc))
            return
        assert self.meeting is not None
        log_key = self.meeting.log_key
        history_check = self.checks["sth_history"]
        previous_size = previous_time = 0
        for i, item in enumerate(history or []):
            history_check.checked += 1
            try:
                verify_sth(item, log_key)
                head = parse_sth(item)
                if head.tree_size > size:
                    raise LogError(f"covers {head.tree_size} entries, more than the log's {size}")
                if head.timestamp > sth.timestamp:
                    raise LogError("its timestamp is later than sth.json's, the latest")
                if head.tree_size < previous_size or head.timestamp < previous_time:
                    raise LogError("tree sizes and timestamps in sths.jsonl must not decrease")
                proof = self.tree.consistency_proof(head.tree_size, size)
                verify_consistency(head.tree_size, size, head.root, self.tree.root(size), proof)
                previous_size, previous_time = head.tree_size, head.timestamp
            except LogError as exc:
                history_check.fail(None, f"sths.jsonl line {i + 1}: {exc}")

    # ------------------------------------------------------------ entry handlers

    def _meeting(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["meeting"]
        check.checked += 1
        if index != 0 or self.meeting is not None:
            check.fail(index, "exactly one meeting entry, and it is entry 0")
            return
        try:
            meeting = parse_meeting(entry)
            verify_meeting(meeting)
        except MeetingError as exc:
            check.fail(index, str(exc))
            return
        self.meeting = meeting
        self._report.meeting_id = meeting.meeting_id
        self.verification_keys = meeting.verification_keys()

    def _credentials(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["credentials"]
        check.checked += 1
        if set(entry) != {"type", "add", "revoke"}:
            check.fail(index, "a credentials entry has exactly the fields type, add, revoke")
            return
        lists: dict[str, list[bytes]] = {}
        for key in ("add", "revoke"):
            value = entry[key]
            if not isinstance(value, list) or not all(isinstance(x, str) and _HEX64.fullmatch(x) for x in value):
                check.fail(index, f"'{key}' must be a list of 64-hex public keys")
                return
            if value != sorted(set(value)):
                check.fail(index, f"'{key}' must be sorted and without duplicates")
                return
            lists[key] = [bytes.fromhex(x) for x in value]
        for credential in lists["add"]:
            if credential in self.registered:
                check.fail(index, f"credential {credential.hex()[:16]}… is registered twice")
            if not ed25519_key_has_prime_order(credential):
                check.fail(index, f"credential {credential.hex()[:16]}… is not an Ed25519 point of prime order")
            self.registered.add(credential)
        for credential in lists["revoke"]:
            if credential not in self.registered:
                check.fail(index, f"revokes credential {credential.hex()[:16]}…, which was never registered")
            elif credential in self.revoked:
                check.fail(index, f"revokes credential {credential.hex()[:16]}… twice")
            self.revoked.add(credential)

    def _vote(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["votes"]
        check.checked += 1
        try:
            definition = parse_vote(entry)
        except VoteDefinitionError as exc:
            check.fail(index, str(exc))
            return
        if definition.vote_id in self.votes:
            check.fail(index, f"vote {definition.vote_id!r} is defined twice")
            return
        election = None
        if "election" in entry:  # V42: §12.2 rules 1–5, and §12.8 at this index
            try:
                election = parse_election(definition)
                if election.follows is not None:
                    earlier = self.votes.get(election.follows[0])
                    check_follow_up(
                        election,
                        earlier.election if earlier is not None else None,
                        earlier.outcome if earlier is not None else None,
                        followed_before=earlier is not None and earlier.followed,
                    )
                    assert earlier is not None
                    earlier.followed = True
            except VoteDefinitionError as exc:
                check.fail(index, str(exc))
                return
            if election.writein is not None:
                self._writein_checks()
        self.votes[definition.vote_id] = _VoteState(definition, index, definition.option_refs(), election=election)

    def _writein_checks(self) -> None:
        for name, text in WRITEIN_CHECKS:
            if name not in self.checks:
                self.checks[name] = CheckResult(name, text)

    def mix_state(self, vote_id: str) -> tuple[tuple[Row, ...], list[int], dict[int, list[list[Point]]]]:
        """For a trustee's tools: the next shuffle's input rows, the trustees who have shuffled
        (in log order) and the verified name shares of a statutory election fed so far."""
        vote = self.votes[vote_id]
        return vote.mix_input(), list(vote.shufflers), dict(vote.name_shares)

    def _witness(self, index: int, entry: dict[str, Any]) -> None:
        """V52 (docs/protocol.md §13 rule 2): a witness key registered in the log. The check
        ``witnesses`` joins the report with the first ``witness`` entry."""
        assert self.meeting is not None
        if WITNESS_CHECK[0] not in self.checks:
            self.checks[WITNESS_CHECK[0]] = CheckResult(*WITNESS_CHECK)
        check = self.checks[WITNESS_CHECK[0]]
        check.checked += 1
        try:
            witness = parse_witness_entry(entry, self.meeting.hash, self.meeting.log_key, index)
        except LogError as exc:
            check.fail(index, str(exc))
            return
        if witness.key in self.witnesses:
            check.fail(index, f"witness key {witness.key.hex()[:16]}… is registered twice")
            return
        self.witnesses[witness.key] = witness

    def _vote_for(self, index: int, entry: dict[str, Any], check_name: str) -> _VoteState | None:
        vote_id = entry.get("vote_id")
        vote = self.votes.get(vote_id) if isinstance(vote_id, str) else None  # a list is unhashable
        if vote is None:
            self.checks[check_name].fail(index, f"refers to an undefined vote {entry.get('vote_id')!r}")
        return vote

    def _open(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["vote_lifecycle"]
        check.checked += 1
        if set(entry) != {"type", "vote_id", "at", "present"}:
            check.fail(index, "an open entry has exactly the fields type, vote_id, at, present")
            return
        vote = self._vote_for(index, entry, "vote_lifecycle")
        if vote is None:
            return
        present = entry["present"]
        if not _is_count(present):
            check.fail(index, "'present' must be a non-negative integer")
            return
        opened_time = None
        try:
            opened_time = parse_log_time(entry["at"])
        except EncodingError as exc:
            check.fail(index, str(exc))  # reported; the vote is still open for what follows
        if vote.opened_at is not None:
            check.fail(index, f"vote {vote.definition.vote_id!r} is opened twice")
            return
        if self.meeting is not None and present > self.meeting.members:
            check.fail(index, f"present = {present} exceeds the meeting's {self.meeting.members} members")
        eligible = frozenset(self.registered - self.revoked)
        if present > len(eligible):
            check.fail(index, f"present = {present} exceeds the {len(eligible)} credentials active at open")
        vote.opened_at, vote.opened_time, vote.present, vote.eligible = index, opened_time, present, eligible

    def _close(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["vote_lifecycle"]
        check.checked += 1
        if set(entry) != {"type", "vote_id", "at", "ballots"}:
            check.fail(index, "a close entry has exactly the fields type, vote_id, at, ballots")
            return
        vote = self._vote_for(index, entry, "vote_lifecycle")
        if vote is None:
            return
        if vote.opened_at is None or vote.closed_at is not None:
            check.fail(index, f"vote {vote.definition.vote_id!r} is closed without being open")
            return
        try:
            if vote.opened_time is not None and parse_log_time(entry["at"]) < vote.opened_time:
                check.fail(index, f"close at {entry['at']} is earlier than the vote's open")
        except EncodingError as exc:
            check.fail(index, str(exc))
        if not _is_count(entry["ballots"]) or entry["ballots"] != vote.logged:
            check.fail(index, f"close says {entry['ballots']!r} ballots; {vote.logged} were logged")
        vote.closed_at = index
        if len(vote.counted) > vote.present:
            self.checks["ballots"].fail(index, f"{len(vote.counted)} ballots counted but only {vote.present} present")
        columns = zip(*(ballot.ciphertexts for ballot in vote.counted.values()))
        sums = [sum_ciphertexts(column) for column in columns]
        vote.aggregates = sums if sums else [Ciphertext.zero() for _ in vote.refs]

    def _ballot(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["ballots"]
        check.checked += 1
        vote = self._vote_for(index, entry, "ballots")
        if vote is None or self.meeting is None:
            return
        if vote.opened_at is None or vote.closed_at is not None:
            check.fail(index, f"ballot stands outside vote {vote.definition.vote_id!r}'s open..close window")
            return
        vote.logged += 1
        try:
            verified = verify_ballot(entry, vote.definition, self.meeting.hash, self.meeting.public_key)
        except BallotError as exc:
            check.fail(index, f"{exc.code}: {exc}")
            return
        if not self._credential_active(check, index, verified.credential):
            return
        if verified.credential not in vote.eligible:
            check.fail(index, "not_checked_in: the credential was not active at the vote's open (§8.1)")
            return
        if verified.hash in vote.spoiled_hashes:
            check.fail(index, "a challenged (spoiled) ballot is cast (§4.4)")
            return
        if verified.hash in vote.cast_hashes:
            check.fail(index, "replay: this ballot hash was already cast in this vote (§8.1)")
            return
        vote.cast_hashes.add(verified.hash)
        if verified.credential in vote.counted and not vote.definition.recast:
            check.fail(index, "already_voted: a second ballot for this credential in a vote without recast")
            return
        vote.counted.pop(verified.credential, None)  # recast: the last ballot counts (§5)
        vote.counted[verified.credential] = verified

    def _credential_active(self, check: CheckResult, index: int, credential: bytes) -> bool:
        """§4.3: the credential is registered and not revoked where the entry stands."""
        if credential not in self.registered:
            check.fail(index, "unknown_credential: the credential is not registered at this point of the log")
            return False
        if credential in self.revoked:
            check.fail(index, "revoked_credential: the credential was revoked before this entry")
            return False
        return True

    def _spoiled(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["spoiled"]
        check.checked += 1
        vote = self._vote_for(index, entry, "spoiled")
        if vote is None or self.meeting is None:
            return
        if vote.opened_at is None or vote.closed_at is not None:
            check.fail(index, f"spoiled entry stands outside vote {vote.definition.vote_id!r}'s open..close window")
            return
        try:
            verified = verify_spoiled(entry, vote.definition, self.meeting.hash, self.meeting.public_key)
        except BallotError as exc:
            check.fail(index, f"{exc.code}: {exc}")
            return
        if not self._credential_active(check, index, verified.credential):
            return
        if verified.hash in vote.cast_hashes:
            check.fail(index, "a cast ballot is spoiled: its openings publish a counted vote (§4.4)")
            return
        vote.spoiled_hashes.add(verified.hash)

    def _share(self, index: int, entry: dict[str, Any]) -> None:
        check = self.checks["shares"]
        check.checked += 1
        vote = self._vote_for(index, entry, "shares")
        if vote is None or self.meeting is None:
            return
        try:
            trustee, partials = self._parse_share(entry, vote)
        except PiaojueError as exc:
            check.fail(index, str(exc))
            return
        vote.shares[trustee] = partials

    def _parse_share(self, entry: dict[str, Any], vote: _VoteState) -> tuple[int, dict[OptionRef, Point]]:
        assert self.meeting is not None
        if set(entry) != {"type", "vote_id", "trustee", "shares"}:
            raise EncodingError("a share entry has exactly the fields type, vote_id, trustee, shares")
        if vote.aggregates is None:
            raise EncodingError("a share entry must follow the vote's close entry")
        if vote.result_at is not None:
            raise EncodingError("a share entry must precede the vote's result")
        trustee = entry["trustee"]
        if not _is_count(trustee) or trustee not in self.verification_keys:
            raise EncodingError(f"'trustee' must be a trustee index 1..{len(self.verification_keys)}")
        if trustee in vote.shares:
            raise EncodingError(f"trustee {trustee} posted a second share for this vote")
        shares = entry["shares"]
        if not isinstance(shares, list) or len(shares) != len(vote.refs):
            raise EncodingError(f"'shares' must have one element per option ({len(vote.refs)})")
        partials: dict[OptionRef, Point] = {}
        for i, (item, ref, aggregate) in enumerate(zip(shares, vote.refs, vote.aggregates)):
            at = f"shares[{i}]"
            if not isinstance(item, dict) or set(item) != {"contest", "option", "M", "proof"}:
                raise EncodingError("a share has exactly the fields contest, option, M, proof", where=at)
            if (item["contest"], item["option"]) != ref:
                raise EncodingError(f"expected the share of {list(ref)}", where=at)
            partial = Point.from_hex(item["M"], where=f"{at}.M")
            proof = parse_pair(item["proof"], where=f"{at}.proof")
            try:
                verify_partial(
                    partial,
                    proof,
                    self.verification_keys[trustee],
                    aggregate.alpha,
                    self.meeting.hash,
                    vote.definition.hash,
                    trustee,
                )
            except ProofError as exc:
                raise ProofError(exc.message, where=at) from None
            partials[ref] = partial
        return trustee, partials

    def _result(self, index: int, entry: dict[str, Any]) -> None:
        tallies_check = self.checks["tallies"]
        tallies_check.checked += 1
        vote = self._vote_for(index, entry, "tallies")
        if vote is None or self.meeting is None:
            return
        expected_keys = {"type", "vote_id", "counted", "trustees", "tallies", "outcome"}
        election = vote.election
        with_writeins = election is not None and election.writein is not None
        if with_writeins:
            expected_keys.add("writeins")  # §12.7 rule 1
        if set(entry) != expected_keys:
            tallies_check.fail(index, f"a result entry has exactly the fields {sorted(expected_keys)}")
            return
        if vote.aggregates is None or vote.result_at is not None:
            tallies_check.fail(index, "a vote has one result, after its close entry")
            return
        vote.result_at = index
        counted = len(vote.counted)
        if not _is_count(entry["counted"]) or entry["counted"] != counted:
            tallies_check.fail(index, f"result says counted = {entry['counted']!r}; {counted} ballots count")
            return
        tallies = entry["tallies"]
        if not isinstance(tallies, list) or len(tallies) != len(vote.refs):
            tallies_check.fail(index, f"'tallies' must have one element per option ({len(vote.refs)})")
            return
        counts: dict[OptionRef, int] = {}
        for i, (item, ref, aggregate) in enumerate(zip(tallies, vote.refs, vote.aggregates)):
            if not isinstance(item, dict) or set(item) != {"contest", "option", "A", "B", "count"}:
                tallies_check.fail(index, f"tallies[{i}] has exactly the fields contest, option, A, B, count")
                return
            if (item["contest"], item["option"]) != ref or not _is_count(item["count"]):
                tallies_check.fail(index, f"tallies[{i}] must be the tally of {list(ref)} with an integer count")
                return
            if item["count"] > counted:  # §8.1: bounded before any discrete-logarithm work
                tallies_check.fail(index, f"tallies[{i}]: count {item['count']} exceeds counted = {counted}")
                return
            if item["A"] != aggregate.alpha.hex() or item["B"] != aggregate.beta.hex():
                tallies_check.fail(index, f"tallies[{i}]: (A, B) is not the sum of the counted ballots")
                return
            counts[ref] = item["count"]
        vote.outcome = entry["outcome"]
        bounded = not with_writeins or self._bound_writeins(index, entry, vote)
        self._check_decryption(index, entry, vote, counts)
        if with_writeins and bounded:
            self._check_writeins(index, entry, vote, counts)
        self._check_outcome(index, entry, vote, counts)

    def _check_decryption(
        self, index: int, entry: dict[str, Any], vote: _VoteState, counts: dict[OptionRef, int]
    ) -> None:
        assert self.meeting is not None and vote.aggregates is not None
        check = self.checks["decryption"]
        check.checked += 1
        trustees = entry["trustees"]
        if (
            not isinstance(trustees, list)
            or not all(_is_count(t) for t in trustees)
            or trustees != sorted(set(trustees))
        ):
            check.fail(index, "'trustees' must be a sorted list of distinct trustee indices")
            return
        missing = [t for t in trustees if t not in vote.shares]
        if missing:
            check.fail(index, f"trustees {missing} have no valid share entry for this vote")
            return
        for ref, aggregate in zip(vote.refs, vote.aggregates):
            try:
                combined = combine_partials({t: vote.shares[t][ref] for t in trustees}, self.meeting.threshold)
            except ThresholdError as exc:
                check.fail(index, str(exc))
                return
            if aggregate.beta - combined != multiple_of_generator(counts[ref]):
                check.fail(index, f"B − Σ λ_l·M_l ≠ count·G for {list(ref)} (count {counts[ref]})")
                return

    def _check_outcome(
        self, index: int, entry: dict[str, Any], vote: _VoteState, counts: dict[OptionRef, int]
    ) -> None:
        """V38, and V51 for a statutory election: §12.7 rule 5 over the counts and the published
        ``writeins`` (which V50 checks against the names, so each rule has one owner)."""
        assert self.meeting is not None
        check = self.checks["outcomes"]
        check.checked += 1
        members, present, counted, quorum = self.meeting.members, vote.present, len(vote.counted), self.meeting.quorum
        try:
            if vote.election is not None:
                writeins = None
                if vote.election.writein is not None:
                    writeins = entry["writeins"]
                    check_writeins_bounds(writeins, slots=len(vote.election.slots), counted=len(vote.counted))
                expected = election_outcome(
                    vote.definition, vote.election, counts, writeins,
                    members=members, present=present, counted=counted, quorum=quorum,
                )
            else:
                expected = compute_outcome(
                    vote.definition.rule, vote.definition.entry, counts,
                    members=members, present=present, counted=counted, quorum=quorum,
                )
        except RuleError as exc:
            check.fail(index, f"the counts do not fit the rule: {exc}")
            return
        try:
            same = canonical_json(entry["outcome"]) == canonical_json(expected)
        except EncodingError:
            same = False
        if not same:  # canonical JSON, so that 1 is not true (§8.1 "Types")
            check.fail(index, "the published outcome differs from the one §9 computes from the counts")

    # ------------------------------------------------------------ §12: the mix and the names

    def _shuffle(self, index: int, entry: dict[str, Any]) -> None:
        """V45–V46: a shuffle of a closed statutory election's names, verified against its input."""
        self._writein_checks()
        check = self.checks["mixing"]
        check.checked += 1
        vote = self._vote_for(index, entry, "mixing")
        if vote is None:
            return
        try:
            trustee, output = self._verify_shuffle(entry, vote)
        except PiaojueError as exc:
            check.fail(index, str(exc))
            return
        vote.mix = output
        vote.shufflers.append(trustee)

    def _mixed_vote(self, vote: _VoteState, what: str) -> Election:
        election = vote.election
        if election is None or election.writein is None:
            raise EncodingError(f"a {what} entry is for a statutory election with write-ins")
        if vote.aggregates is None:
            raise EncodingError(f"a {what} entry must follow the vote's close entry")
        if vote.result_at is not None:
            raise EncodingError(f"a {what} entry must precede the vote's result")
        if not vote.counted:
            raise EncodingError("no ballot was counted: nothing is mixed (§12.5 rule 1)")
        return election

    def _trustee(self, value: Any, done: Any, what: str) -> int:
        if not _is_count(value) or value not in self.verification_keys:
            raise EncodingError(f"'trustee' must be a trustee index 1..{len(self.verification_keys)}")
        if value in done:
            raise EncodingError(f"trustee {value} logged a second {what} for this vote")
        return value

    def _verify_shuffle(self, entry: dict[str, Any], vote: _VoteState) -> tuple[int, tuple[Row, ...]]:
        assert self.meeting is not None
        if set(entry) != SHUFFLE_KEYS:
            raise EncodingError(wrong_fields(entry, SHUFFLE_KEYS))
        election = self._mixed_vote(vote, "shuffle")
        if vote.name_shares:
            raise EncodingError("a shuffle entry must precede the vote's name shares (§12.6 rule 2)")
        trustee = self._trustee(entry["trustee"], vote.shufflers, "shuffle")
        rows = vote.mix_input()
        n, width = len(rows), election.width  # N and W from §12.5 rule 1, never from the entry
        output = parse_rows(entry["output"], n, width)
        proof = parse_proof(entry["proof"], entry["signature"], n, width)
        verify_shuffle(
            rows, output, proof, self.meeting.public_key, self.meeting.hash, vote.definition.hash,
            trustee, self.verification_keys[trustee],
        )
        return trustee, output

    def _name_share(self, index: int, entry: dict[str, Any]) -> None:
        """V47: a trustee's name shares of the last shuffle's output, after ``threshold`` shuffles."""
        self._writein_checks()
        check = self.checks["mixing"]
        check.checked += 1
        vote = self._vote_for(index, entry, "mixing")
        if vote is None:
            return
        try:
            trustee, partials = self._verify_name_share(entry, vote)
        except PiaojueError as exc:
            check.fail(index, str(exc))
            return
        vote.name_shares[trustee] = partials

    def _verify_name_share(self, entry: dict[str, Any], vote: _VoteState) -> tuple[int, list[list[Point]]]:
        assert self.meeting is not None
        if set(entry) != NAME_SHARE_KEYS:
            raise EncodingError(wrong_fields(entry, NAME_SHARE_KEYS))
        election = self._mixed_vote(vote, "name_share")
        threshold = self.meeting.threshold
        if len(set(vote.shufflers)) < threshold:
            raise EncodingError(
                f"names decrypted after shuffles by {len(set(vote.shufflers))} trustees; "
                f"at least threshold = {threshold} must shuffle first (§12.5 rule 9)"
            )
        trustee = self._trustee(entry["trustee"], vote.name_shares, "name_share")
        rows = vote.mix_input()
        shares = entry["shares"]
        if not isinstance(shares, list) or len(shares) != len(rows):
            raise EncodingError(f"'shares' must have one row per mixed row ({len(rows)})")
        key = self.verification_keys[trustee]
        partials: list[list[Point]] = []
        for i, (row, cts) in enumerate(zip(shares, rows)):
            if not isinstance(row, list) or len(row) != election.width:
                raise EncodingError(f"a row of shares has {election.width} elements", where=f"shares[{i}]")
            out = []
            for j, (item, ct) in enumerate(zip(row, cts)):
                at = f"shares[{i}][{j}]"
                if not isinstance(item, list) or len(item) != 3:
                    raise EncodingError("a name share is [M, c, v]", where=at)
                partial = Point.from_hex(item[0], where=f"{at}[0]")
                proof = parse_pair(item[1:], where=at)
                try:
                    verify_name_share(
                        partial, proof, key, ct.alpha, self.meeting.hash, vote.definition.hash, trustee
                    )
                except ProofError as exc:
                    raise ProofError(exc.message, where=at) from None
                out.append(partial)
            partials.append(out)
        return trustee, partials

    def _bound_writeins(self, index: int, entry: dict[str, Any], vote: _VoteState) -> bool:
        """V48–V49, before any decryption work."""
        assert self.meeting is not None and vote.election is not None
        check = self.checks["writeins"]
        check.checked += 1
        trustees = entry["trustees"]
        if vote.counted:
            if len(set(vote.shufflers)) < self.meeting.threshold:
                check.fail(index, f"the result needs shuffles by {self.meeting.threshold} trustees; "
                           f"{len(set(vote.shufflers))} shuffled (§12.5 rule 9)")
                return False
            missing = [t for t in trustees if t not in vote.name_shares] if isinstance(trustees, list) else []
            if missing or not isinstance(trustees, list):
                check.fail(index, f"trustees {missing} have no valid name_share entry for this vote")
                return False
        elif vote.shufflers or vote.name_shares:
            check.fail(index, "nothing was counted, so nothing may be shuffled or decrypted")
            return False
        try:
            check_writeins_bounds(entry["writeins"], slots=len(vote.election.slots), counted=len(vote.counted))
        except RuleError as exc:
            check.fail(index, str(exc))
            return False
        return True

    def _check_writeins(
        self, index: int, entry: dict[str, Any], vote: _VoteState, counts: dict[OptionRef, int]
    ) -> None:
        """V50: decrypt the names with the result's trustees, decode and count them, and compare."""
        assert self.meeting is not None and vote.election is not None
        check = self.checks["writeins"]
        decoded = []
        try:
            trustees = entry["trustees"]
            for i, row in enumerate(vote.mix_input() if vote.counted else ()):
                points = [
                    ct.beta - combine_partials({t: vote.name_shares[t][i][j] for t in trustees}, self.meeting.threshold)
                    for j, ct in enumerate(row)
                ]
                decoded.append(decode_row(points))
            expected = count_writeins(vote.election, counts, decoded)
        except (ThresholdError, RuleError) as exc:
            check.fail(index, str(exc))
            return
        if canonical_json(entry["writeins"]) != canonical_json(expected):
            check.fail(index, "the published writeins differ from the names the trustees decrypt (§12.7)")


def _is_count(value: Any) -> TypeGuard[int]:
    """A JSON integer ``≥ 0``, never a boolean (§8.1 "Types")."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_record(record: Record) -> Report:
    """Run every §8 check over ``record`` and return the report (it never raises for a bad record).

    A thin driver over :class:`Auditor`: bound every count up front (§8.1 V36), feed every line,
    then check ``sth.json`` and ``sths.jsonl`` (V4, V5)."""
    auditor = Auditor(bound_on_feed=False)
    auditor._report.entries = len(record.lines)
    if not auditor.bound_counts(record.entries):
        for name, check in auditor.checks.items():
            check.ran = name == "tallies"
        return auditor._report
    for line, entry in zip(record.lines, record.entries):
        auditor.feed(line, entry)
    if not record.lines:
        auditor.checks["meeting"].fail(None, "the log is empty")
    auditor.check_record_heads(record.sth, record.sths)
    return auditor.report()


def check_receipt(record: Record, report: Report, receipt: Any) -> None:
    """Check one §8 receipt against the record, adding a ``receipt`` check to ``report``.

    The receipt's STH must verify under the log key and be consistent with the record (its root
    is the root of the record's first ``tree_size`` entries); the entry at ``leaf_index`` must
    be the ballot the receipt names, and the inclusion proof must verify.
    """
    check = CheckResult("receipt", "receipt: tracker, inclusion, tree head")
    report.checks["receipt"] = check
    check.checked += 1
    try:
        if not isinstance(receipt, dict):
            raise ReceiptError("a receipt is a JSON object")
        first = record.entries[0] if record.entries else None
        meeting = parse_meeting(first)
        leaf_index = receipt.get("leaf_index")
        if not _is_count(leaf_index) or leaf_index >= len(record.lines):
            raise ReceiptError(f"leaf_index {leaf_index!r} is not in the log")
        entry = record.entries[leaf_index]
        if not isinstance(entry, dict):
            raise ReceiptError(f"log entry {leaf_index} is not a JSON object")
        verify_receipt(receipt, entry, meeting.log_key)
        tree = MerkleTree()
        tree.extend(leaf_hash(line) for line in record.lines)
        head = parse_sth(receipt["sth"], where="receipt.sth")
        if head.tree_size > tree.size or tree.root(head.tree_size) != head.root:
            raise ReceiptError("the receipt's tree head is not consistent with the record")
        if meeting.meeting_id != receipt.get("meeting_id"):
            raise ReceiptError("the receipt is for another meeting")
    except (PiaojueError, IndexError) as exc:
        check.fail(None, str(exc))


__all__ = ["CHECKS", "Auditor", "CheckResult", "Failure", "Report", "check_receipt", "verify_record"]
