"""A trustee's offline commands for write-in names (docs/protocol.md §12.5–§12.6)::

    keys shuffle     --state trustee.state --record RECORD --vote V --out shuffle.json
    keys name-shares --state trustee.state --record RECORD --vote V --out name_share.json

``RECORD`` is the election record so far (a directory or .zip, as ``python -m ballot.verify``
reads it: the log with its signed tree head), carried to the trustee's offline machine. Before it
touches its share, the command replays the whole record with the verifier's own checks
(:class:`ballot.audit.Auditor`, V1–V51) and refuses a record that fails any of them; it checks
that the meeting's keys are this trustee's. ``shuffle`` then re-encrypts and permutes the vote's
current rows (the counted ballots' name ciphertexts, or the last verified shuffle's output) and
writes the signed ``shuffle`` entry; it refuses to shuffle twice, or once names are being
decrypted. ``name-shares`` writes the ``name_share`` entry for the last shuffle's output, and
refuses until shuffles by ``threshold`` distinct trustees stand in the record (§12.5 rule 9).
The entry goes to the service, which logs it (the service's intake of these entries, and a
``--server`` mode that fetches and posts as ``keys decrypt --server`` does, are not built yet).

Errors print one line to stderr and exit with code 2, like the other trustee commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ballot.audit import Auditor, _VoteState
from ballot.errors import ThresholdError
from ballot.meeting import Meeting
from ballot.record import read_record
from keys.ceremony import parse_state
from keys.mix import name_share_entry, shuffle_entry
from keys.trustee_cli import _check_meeting, _errors, _fail, _load, _write_json

F = TypeVar("F", bound=Callable[..., Any])


def _replay(state: dict[str, Any], record_path: str, vote_id: str) -> tuple[Auditor, Meeting, _VoteState]:
    """Verify the record and return ``(auditor, meeting, vote state)`` for ``vote_id``."""
    auditor = Auditor()
    record = read_record(record_path)
    for line, entry in zip(record.lines, record.entries):
        auditor.feed(line, entry)
    if record.lines:
        auditor.check_record_heads(record.sth, record.sths)
    report = auditor.report()
    if not report.ok:
        failed = report.failed()
        first = report.checks[failed[0]].first_failure
        _fail(f"the record does not verify ({', '.join(failed)}; first: {first}): nothing was done")
    if auditor.meeting is None:
        _fail("the record has no meeting entry")
    meeting = _check_meeting(state, auditor.meeting.entry)
    vote = auditor.votes.get(vote_id)
    if vote is None:
        _fail(f"the record defines no vote {vote_id!r}")
    election = vote.election
    if election is None or election.writein is None:
        _fail(f"vote {vote_id} is not a statutory election with write-ins: it has no names to mix")
    if vote.closed_at is None:
        _fail(f"vote {vote_id} is not closed yet")
    if vote.result_at is not None:
        _fail(f"vote {vote_id} is already published")
    if not vote.counted:
        _fail(f"no ballot was counted in vote {vote_id}: nothing to mix")
    return auditor, meeting, vote


def _options(func: F) -> F:
    for option in reversed(
        [
            click.option("--state", "state_path", required=True, type=click.Path(exists=True, dir_okay=False)),
            click.option(
                "--record", "record_path", required=True, type=click.Path(exists=True),
                help="The election record so far (directory or .zip); verified before anything is done.",
            ),
            click.option("--vote", "vote_id", required=True, help="The vote id (a closed statutory election)."),
            click.option("--out", required=True, type=click.Path(dir_okay=False), help="The entry file to write."),
        ]
    ):
        func = option(func)
    return func


@click.command("shuffle")
@_options
@_errors
def shuffle_command(state_path: str, record_path: str, vote_id: str, out: str) -> None:
    """Shuffle a closed election's write-in names and write the signed shuffle entry (§12.5)."""
    state, _, _ = _load(state_path)
    parsed = parse_state(state)
    parsed.require_complete()
    _, meeting, vote = _replay(state, record_path, vote_id)
    if parsed.index in vote.shufflers:
        _fail(f"trustee {parsed.index} has already shuffled vote {vote_id} (at most once, §12.5 rule 9)")
    if vote.name_shares:
        _fail(f"the names of vote {vote_id} are already being decrypted: no more shuffles (§12.6 rule 2)")
    rows = vote.mix_input()
    entry = shuffle_entry(state, meeting.hash, vote.definition.hash, vote_id, rows)
    _write_json(out, entry)
    done = len(set(vote.shufflers)) + 1
    click.echo(
        f"shuffle of trustee {parsed.index} for vote {vote_id} ({len(rows)} rows of "
        f"{len(rows[0])} ciphertexts) written to {out}; {done} of threshold {meeting.threshold} shuffles"
    )


@click.command("name-shares")
@_options
@_errors
def name_shares_command(state_path: str, record_path: str, vote_id: str, out: str) -> None:
    """Decrypt-share the last shuffle's output and write the name_share entry (§12.6)."""
    state, _, _ = _load(state_path)
    parsed = parse_state(state)
    parsed.require_complete()
    _, meeting, vote = _replay(state, record_path, vote_id)
    shufflers = sorted(set(vote.shufflers))
    if len(shufflers) < meeting.threshold:
        raise ThresholdError(
            f"vote {vote_id} has shuffles by trustees {shufflers or 'none'}; names are decrypted only "
            f"after {meeting.threshold} trustees have shuffled (§12.5 rule 9)"
        )
    if parsed.index in vote.name_shares:
        _fail(f"trustee {parsed.index} has already logged its name shares for vote {vote_id}")
    rows = vote.mix_input()
    entry = name_share_entry(state, meeting.hash, vote.definition.hash, vote_id, rows)
    _write_json(out, entry)
    click.echo(
        f"name shares of trustee {parsed.index} for vote {vote_id} ({len(rows)} × {len(rows[0])}) written to {out}"
    )


__all__ = ["name_shares_command", "shuffle_command"]
