"""Trustee commands for working offline with files (SPEC §6.1 ceremony, §6.2 partial decryption).

This module defines a ``ceremony`` click group and a ``decrypt`` command; ``keys/cli.py``
registers them on the main ``keys`` group::

    keys ceremony begin   --meeting M --index i --trustees n --threshold k --name NAME \\
                          --state trustee.state --out announcement.json
    keys ceremony deal    --state trustee.state --announcements DIR_OR_FILE… --out messages.json
    keys ceremony receive --state trustee.state --announcements … --messages …
    keys ceremony trustees --meeting M --announcements … --out trustees.json
    keys decrypt --state trustee.state --meeting-hash HEX | --meeting meeting.json \\
                 --vote vote.json --aggregates aggregates.json --out share.json

The passphrase of the state file is read from ``PIAOJUE_PASSPHRASE`` when set (for scripts and
demo meetings), and otherwise prompted for without echo (twice when a new file is made).

Errors print one line to stderr and exit with code 2. ``ceremony receive`` exits with code 3
when a share fails its check: the trustee complains about the sender it names.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from ballot.errors import EncodingError, MeetingError, PiaojueError, ThresholdError
from ballot.hashing import hex_bytes, parse_json
from ballot.meeting import parse_meeting, verify_meeting
from ballot.vote import parse_vote
from keys.ceremony import announcement_fingerprint, begin, deal, meeting_trustees, parse_state, receive
from keys.decrypt import parse_aggregates, partial_decrypt
from keys.errors import ShareError
from keys.statefile import DEFAULT_KDF, KdfParams, kdf_params, load_state, read_header, save_state

PASSPHRASE_ENV = "PIAOJUE_PASSPHRASE"
EXIT_ERROR = 2
EXIT_COMPLAINT = 3

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _errors(func: F) -> F:
    """Turn our typed errors and file errors into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ShareError as exc:
            _fail(
                f"{exc} — complain: trustee {exc.sender} must answer before the ceremony can finish "
                "(the state file was not changed)",
                EXIT_COMPLAINT,
            )
        except PiaojueError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return None

    return wrapper  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Files and passphrases


def _passphrase(confirm: bool) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value is not None:
        return value
    return click.prompt("State file passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


def _read_json(path: str | Path) -> Any:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EncodingError(f"cannot read: {exc.strerror or exc}", where=str(path)) from None
    try:
        return parse_json(data, where=str(path))
    except EncodingError as exc:
        raise EncodingError(exc.message, where=str(path)) from None


def _write_json(path: str | Path, obj: Any) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=1) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def _collect(paths: Iterable[str]) -> list[Any]:
    """JSON objects from files and directories (every ``*.json`` in a directory, sorted by name);
    a file may hold one object or a list of them."""
    items: list[Any] = []
    for raw in paths:
        path = Path(raw)
        files = (
            sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
            if path.is_dir()
            else [path]
        )
        for file in files:
            value = _read_json(file)
            items.extend(value if isinstance(value, list) else [value])
    return items


def _load(path: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    header = read_header(path)
    if header.get("demo"):
        click.echo("DEMO state file (its passphrase is public): not for a real meeting.", err=True)
    passphrase = _passphrase(confirm=False)
    return load_state(path, passphrase), passphrase, header


def _options_paths(name: str, help_text: str) -> Callable[[F], F]:
    return click.option(
        name, multiple=True, required=True, type=click.Path(exists=True, dir_okay=True), help=help_text
    )


# ---------------------------------------------------------------------------------------------
# ceremony


@click.group("ceremony")
def ceremony() -> None:
    """Trustee key ceremony (SPEC §6.1): begin, deal, receive."""


@ceremony.command("begin")
@click.option("--meeting", "meeting_id", required=True, help="Meeting id, as in the meeting entry.")
@click.option("--index", type=int, required=True, help="This trustee's index i (1..n).")
@click.option("--trustees", "n", type=int, required=True, help="Number of trustees n.")
@click.option("--threshold", type=int, required=True, help="Threshold k.")
@click.option("--name", required=True, help="This trustee's name, as in the meeting entry.")
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False), help="New state file.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Announcement file to publish.")
@click.option("--demo", is_flag=True, help="Mark the state file DEMO (its passphrase is public).")
@click.option("--kdf-memory-cost", type=int, default=DEFAULT_KDF.memory_cost, hidden=True)
@click.option("--kdf-iterations", type=int, default=DEFAULT_KDF.iterations, hidden=True)
@_errors
def begin_command(
    meeting_id: str,
    index: int,
    n: int,
    threshold: int,
    name: str,
    state_path: str,
    out: str,
    demo: bool,
    kdf_memory_cost: int,
    kdf_iterations: int,
) -> None:
    """Make this trustee's polynomial, commitments and transport key."""
    if os.path.exists(state_path):
        _fail(f"{state_path} already exists; refusing to overwrite a state file (it may hold a ceremony)")
    kdf = KdfParams(memory_cost=kdf_memory_cost, iterations=kdf_iterations, lanes=DEFAULT_KDF.lanes)
    kdf.check()
    state, announcement = begin(meeting_id, index, n, threshold, name)
    save_state(state_path, state, _passphrase(confirm=True), demo=demo, kdf=kdf)
    _write_json(out, announcement)
    click.echo(
        f"trustee {index} of {n} (threshold {threshold}) for meeting {meeting_id}"
        + (" [DEMO]" if demo else "")
    )
    click.echo(f"state saved to {state_path}; announcement written to {out}")
    click.echo(f"announcement fingerprint: {announcement_fingerprint(announcement)}")


@ceremony.command("deal")
@click.option("--state", "state_path", required=True, type=click.Path(exists=True, dir_okay=False))
@_options_paths("--announcements", "Announcement files or directories (all n trustees).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Messages file to relay.")
@_errors
def deal_command(state_path: str, announcements: tuple[str, ...], out: str) -> None:
    """Check every announcement and seal a share to each other trustee."""
    state, _, _ = _load(state_path)
    collected = _collect(announcements)
    messages = deal(state, collected)
    _write_json(out, messages)
    _print_fingerprints(collected)
    click.echo(f"{len(messages)} sealed shares written to {out}")


def _print_fingerprints(announcements: list[Any]) -> None:
    click.echo("all proofs of knowledge verify; compare these fingerprints with each trustee:")
    seen = set()
    for ann in sorted(announcements, key=lambda a: a["index"]):
        if ann["index"] in seen:
            continue
        seen.add(ann["index"])
        click.echo(f"  trustee {ann['index']} ({ann['name']}): {announcement_fingerprint(ann)}")


@ceremony.command("receive")
@click.option("--state", "state_path", required=True, type=click.Path(exists=True, dir_okay=False))
@_options_paths("--announcements", "Announcement files or directories (all n trustees).")
@_options_paths("--messages", "Message files or directories (may hold messages for others too).")
@_errors
def receive_command(state_path: str, announcements: tuple[str, ...], messages: tuple[str, ...]) -> None:
    """Open this trustee's shares, run the Feldman checks and store s_l."""
    state, passphrase, header = _load(state_path)
    new_state = receive(state, _collect(announcements), _collect(messages))
    save_state(state_path, new_state, passphrase, demo=bool(header.get("demo")), kdf=kdf_params(header))
    parsed = parse_state(new_state)
    others = [i for i in range(1, parsed.n + 1) if i != parsed.index]
    click.echo(
        f"Feldman check passed for the shares from trustee{'s' if len(others) != 1 else ''} "
        f"{', '.join(map(str, others)) or '(none)'}"
    )
    assert parsed.verification_key is not None and parsed.public_key is not None
    click.echo(f"verification key K_{parsed.index} = {parsed.verification_key.hex()}")
    click.echo(f"joint public key K = {parsed.public_key.hex()}")
    click.echo(f"share stored in {state_path}")


@ceremony.command("trustees")
@click.option("--meeting", "meeting_id", required=True, help="Meeting id, to verify the proofs.")
@_options_paths("--announcements", "Announcement files or directories (all n trustees).")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@_errors
def trustees_command(meeting_id: str, announcements: tuple[str, ...], out: str) -> None:
    """Write the §6.3 trustees list and the joint public key K.

    The output is {"trustees": [...], "public_key": K}, ready for the meeting entry.
    """
    trustees, public_key = meeting_trustees(_collect(announcements), meeting_id=meeting_id)
    _write_json(out, {"trustees": trustees, "public_key": public_key})
    click.echo(f"{len(trustees)} trustees; joint public key K = {public_key}")


# ---------------------------------------------------------------------------------------------
# decrypt


def _meeting_hash(state: dict[str, Any], meeting_hash: str | None, meeting_path: str | None) -> bytes:
    if (meeting_hash is None) == (meeting_path is None):
        _fail("give exactly one of --meeting-hash and --meeting")
    if meeting_hash is not None:
        return hex_bytes(meeting_hash.strip().lower(), 32, where="--meeting-hash")
    assert meeting_path is not None
    raw = _read_json(meeting_path)
    if isinstance(raw, dict) and "type" not in raw and isinstance(raw.get("meeting"), dict):
        raw = raw["meeting"]  # the GET /api/meetings/<mid> response (SPEC §11)
    meeting = parse_meeting(raw)
    verify_meeting(meeting)
    parsed = parse_state(state)
    if meeting.meeting_id != parsed.meeting_id:
        raise MeetingError(f"the meeting is {meeting.meeting_id!r}; this state is for {parsed.meeting_id!r}")
    keys = meeting.verification_keys()
    if (
        meeting.public_key != parsed.public_key
        or meeting.threshold != parsed.threshold
        or keys.get(parsed.index) != parsed.verification_key
    ):
        raise MeetingError("the meeting entry's keys do not match this trustee's ceremony")
    return meeting.hash


@click.command("decrypt")
@click.option("--state", "state_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--meeting-hash", help="Meeting hash Q (SPEC §6.3), 64 hex characters.")
@click.option(
    "--meeting",
    "meeting_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Meeting entry (or the GET /api/meetings/<mid> response) instead of --meeting-hash; "
    "also checks the keys.",
)
@click.option(
    "--vote",
    "vote_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The §4.1 vote entry (or GET …/votes/<vid> response).",
)
@click.option(
    "--aggregates",
    "aggregates_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help='Aggregates: [{"contest", "option", "A", "B"}, …].',
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Share entry file (SPEC §8).")
@_errors
def decrypt(
    state_path: str,
    meeting_hash: str | None,
    meeting_path: str | None,
    vote_path: str,
    aggregates_path: str,
    out: str,
) -> None:
    """Partially decrypt a vote's aggregates (SPEC §6.2) and write the §8 share entry."""
    state, _, _ = _load(state_path)
    parsed = parse_state(state)
    parsed.require_complete()
    q = _meeting_hash(state, meeting_hash, meeting_path)
    raw_vote = _read_json(vote_path)
    if isinstance(raw_vote, dict) and "type" not in raw_vote and isinstance(raw_vote.get("vote"), dict):
        raw_vote = raw_vote["vote"]
    vote = parse_vote(raw_vote)
    aggregates = parse_aggregates(_read_json(aggregates_path))
    refs = [(contest, option) for contest, option, _ in aggregates]
    if refs != vote.option_refs():
        raise ThresholdError(
            f"the aggregates do not list the options of vote {vote.vote_id} in its order (SPEC §8)",
            where=aggregates_path,
        )
    entry = partial_decrypt(state, q, vote.hash, vote.vote_id, aggregates)
    _write_json(out, entry)
    click.echo(
        f"share entry of trustee {parsed.index} for vote {vote.vote_id} "
        f"({len(refs)} options) written to {out}"
    )


__all__ = ["PASSPHRASE_ENV", "ceremony", "decrypt"]
