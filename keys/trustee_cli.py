"""Trustee commands (SPEC §6.1 ceremony, §6.2 partial decryption), offline with files or
through the tally service.

This module defines a ``ceremony`` click group and a ``decrypt`` command; ``keys/cli.py``
registers them on the main ``keys`` group.

Offline, with files carried between the trustees::

    keys ceremony begin   --meeting M --index i --trustees n --threshold k --name NAME \\
                          --state trustee.state --out announcement.json
    keys ceremony deal    --state trustee.state --announcements DIR_OR_FILE… --out messages.json
    keys ceremony receive --state trustee.state --announcements … --messages …
    keys ceremony trustees --meeting M --announcements … --out trustees.json
    keys decrypt --state trustee.state --meeting-hash HEX | --meeting meeting.json \\
                 --vote vote.json --aggregates aggregates.json --out share.json

Through the tally service, which relays the ceremony (``--server``/``--token`` may come from
``PIAOJUE_SERVER``/``PIAOJUE_TOKEN``; the token is this trustee's, from
``flask --app tally staff NAME --role trustee --meeting M --trustee i``)::

    keys ceremony begin   --server URL --token T --meeting M --index i --trustees n --threshold k \\
                          --name NAME --state trustee.state
    keys ceremony deal    --server URL --token T --state trustee.state
    keys ceremony receive --server URL --token T --state trustee.state
    keys decrypt          --server URL --meeting M --vote V --state trustee.state

``begin`` checks n and k against the server's meeting before it makes the state file, posts the
announcement and prints its fingerprint; run again with the same state file, it posts the
announcement if the server does not have it yet (e.g. after a network failure). ``deal`` fails,
naming them, until every trustee has announced; it prints every announcement's fingerprint for
the trustees to compare aloud. ``receive`` stores the share and confirms to the server, or posts
a complaint naming the trustee whose share failed. ``decrypt`` needs no token: a share is
self-authenticating by its proofs. It checks the served meeting entry (its proofs, its hash
``Q``, and that its keys are this trustee's) before it decrypts, then prints which trustees
have posted shares; the result publishes itself once ``k`` have. An ``--out`` file, optional in
server mode, keeps a copy of what was posted.

``PIAOJUE_SERVER`` applies only when no offline option is given (``--announcements``,
``--messages``, ``--aggregates``, ``--meeting-hash``; for ``begin``, ``--out``), so offline
commands work unchanged with it set. ``--server`` on the command line together with offline
inputs is an error (``begin --server … --out FILE`` posts and also writes the file).

The passphrase of the state file is read from ``PIAOJUE_PASSPHRASE`` when set (for scripts and
demo meetings), and otherwise prompted for without echo (twice when a new file is made).

Errors print one line to stderr and exit with code 2. ``ceremony receive`` exits with code 3
when a share fails its check: the trustee complains about the sender it names.

Long: every trustee command in its offline and ``--server`` forms, which share options and files.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import click
from click.core import ParameterSource

from ballot.errors import EncodingError, MeetingError, PiaojueError, ThresholdError
from ballot.hashing import hex_bytes, parse_json
from ballot.meeting import Meeting, parse_meeting, verify_meeting
from ballot.proofs import pairs_to_json, prove_knowledge
from ballot.vote import parse_vote
from keys.ceremony import (
    TrusteeState,
    announcement_fingerprint,
    begin,
    deal,
    meeting_trustees,
    parse_state,
    receive,
)
from keys.decrypt import parse_aggregates, partial_decrypt
from keys.envelope import public_bytes
from keys.errors import RelayError, ShareError
from keys.polynomial import commit
from keys.relay_client import RelayClient, quote
from keys.statefile import DEFAULT_KDF, KdfParams, kdf_params, load_state, read_header, save_state

PASSPHRASE_ENV = "PIAOJUE_PASSPHRASE"
SERVER_ENV = "PIAOJUE_SERVER"
TOKEN_ENV = "PIAOJUE_TOKEN"
EXIT_ERROR = 2
EXIT_COMPLAINT = 3

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
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
        except PiaojueError as exc:  # RelayError included: the server's code and message
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
    """Input files or directories: required offline, not given with ``--server``."""
    return click.option(
        name, multiple=True, type=click.Path(exists=True, dir_okay=True), help=help_text + " Offline mode."
    )


# ---------------------------------------------------------------------------------------------
# The tally service (server mode)


def _server_option(func: F) -> F:
    return click.option(
        "--server",
        envvar=SERVER_ENV,
        metavar="URL",
        help=f"The tally service's URL (or {SERVER_ENV}): relay through it instead of files.",
    )(func)


def _token_option(func: F) -> F:
    return click.option(
        "--token",
        envvar=TOKEN_ENV,
        help=f"This trustee's staff token (or {TOKEN_ENV}), from the clerk "
        "(`flask --app tally staff NAME --role trustee --meeting M --trustee i`).",
    )(func)


def _server_mode(
    server: str | None, offline_inputs: bool, offline_hint: str, *, exclusive: bool = True
) -> bool:
    """Whether to use the tally service. ``PIAOJUE_SERVER`` from the environment gives way to
    offline inputs; ``--server`` on the command line with offline inputs is an error when
    ``exclusive``."""
    if server is not None and offline_inputs:
        source = click.get_current_context().get_parameter_source("server")
        if source is not ParameterSource.COMMANDLINE:
            return False
        if exclusive:
            _fail(f"give either --server or {offline_hint}, not both")
    if server is None:
        if not offline_inputs:
            _fail(
                f"give {offline_hint} to work with files, "
                f"or --server URL (or {SERVER_ENV}) to use the tally service"
            )
        return False
    return True


def _client(server: str, token: str | None, *, need_token: bool = True) -> RelayClient:
    if need_token and not token:
        _fail(f"give --token T (or set {TOKEN_ENV}): this trustee's token from the clerk")
    return RelayClient(server, token if need_token else None)


def _staff(meeting_id: str, *rest: str) -> str:
    return "/api/staff/meetings/" + quote(meeting_id) + "".join("/" + part for part in rest)


def _public(meeting_id: str, *rest: str) -> str:
    return "/api/meetings/" + quote(meeting_id) + "".join("/" + part for part in rest)


def _expect(answer: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise RelayError(f"unexpected answer from the server to {what}: no valid {key!r}")
    return value


def _ceremony_status(client: RelayClient, meeting_id: str) -> dict[str, Any]:
    what = f"GET {_staff(meeting_id, 'ceremony')}"
    status = client.get_json(_staff(meeting_id, "ceremony"))
    _expect(status, "trustees", int, what)
    _expect(status, "threshold", int, what)
    _expect(status, "state", str, what)
    rows = _expect(status, "status", list, what)
    for row in rows:
        _expect(row, "index", int, what)
    return cast(dict[str, Any], status)


def _names(status: dict[str, Any] | None) -> dict[int, str]:
    if status is None:
        return {}
    return {row["index"]: str(row.get("name", "")) for row in status["status"]}


def _row(status: dict[str, Any], index: int) -> dict[str, Any]:
    for row in status["status"]:
        if row["index"] == index:
            return cast(dict[str, Any], row)
    return {}


def _who(indices: Iterable[int], names: dict[int, str]) -> str:
    listed = [f"{i} ({names[i]})" if names.get(i) else str(i) for i in indices]
    return ("trustee " if len(listed) == 1 else "trustees ") + ", ".join(listed)


def _status_or_none(client: RelayClient, meeting_id: str) -> dict[str, Any] | None:
    try:
        return _ceremony_status(client, meeting_id)
    except RelayError:
        return None


def _get_announcements(client: RelayClient, meeting_id: str) -> list[Any]:
    path = _staff(meeting_id, "ceremony", "announcements")
    return cast(list[Any], _expect(client.get_json(path), "announcements", list, f"GET {path}"))


def _matches_state(announcement: Any, parsed: TrusteeState) -> bool:
    """Whether ``announcement`` carries this state's commitments and transport key."""
    return (
        isinstance(announcement, dict)
        and announcement.get("commitments") == [A.hex() for A in commit(parsed.coefficients)]
        and announcement.get("transport_key") == public_bytes(parsed.transport_private).hex()
    )


def _announcement_from_state(parsed: TrusteeState) -> dict[str, Any]:
    """The announcement of an existing state (fresh proofs of knowledge, same commitments)."""
    return {
        "index": parsed.index,
        "name": parsed.name,
        "commitments": [A.hex() for A in commit(parsed.coefficients)],
        "proofs": pairs_to_json(
            [
                prove_knowledge(a, parsed.meeting_id, parsed.index, j)
                for j, a in enumerate(parsed.coefficients)
            ]
        ),
        "transport_key": public_bytes(parsed.transport_private).hex(),
    }


def _require_all_announced(
    parsed: TrusteeState, announcements: list[Any], status: dict[str, Any] | None, step: str
) -> None:
    present = {a.get("index") for a in announcements if isinstance(a, dict)}
    missing = [i for i in range(1, parsed.n + 1) if i not in present]
    if missing:
        _fail(
            f"not every trustee has announced yet: waiting for {_who(missing, _names(status))} "
            f"to run `ceremony begin`; run `ceremony {step}` again then"
        )


# ---------------------------------------------------------------------------------------------
# ceremony


@click.group("ceremony")
def ceremony() -> None:
    """Trustee key ceremony (SPEC §6.1): begin, deal, receive — with files, or through the
    tally service with --server."""


@ceremony.command("begin")
@click.option("--meeting", "meeting_id", required=True, help="Meeting id, as in the meeting entry.")
@click.option("--index", type=int, required=True, help="This trustee's index i (1..n).")
@click.option("--trustees", "n", type=int, required=True, help="Number of trustees n.")
@click.option("--threshold", type=int, required=True, help="Threshold k.")
@click.option("--name", required=True, help="This trustee's name, as in the meeting entry.")
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False), help="New state file.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Announcement file to publish (offline mode; with --server, an optional copy).",
)
@_server_option
@_token_option
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
    out: str | None,
    server: str | None,
    token: str | None,
    demo: bool,
    kdf_memory_cost: int,
    kdf_iterations: int,
) -> None:
    """Make this trustee's polynomial, commitments and transport key, and publish the
    announcement (to --out, or to the tally service with --server)."""
    kdf = KdfParams(memory_cost=kdf_memory_cost, iterations=kdf_iterations, lanes=DEFAULT_KDF.lanes)
    if _server_mode(server, out is not None, "--out FILE", exclusive=False):
        assert server is not None
        kdf.check()
        _begin_on_server(
            _client(server, token), meeting_id, index, n, threshold, name, state_path, out, demo, kdf
        )
        return
    assert out is not None
    if os.path.exists(state_path):
        _fail(f"{state_path} already exists; refusing to overwrite a state file (it may hold a ceremony)")
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


def _begin_on_server(
    client: RelayClient,
    meeting_id: str,
    index: int,
    n: int,
    threshold: int,
    name: str,
    state_path: str,
    out: str | None,
    demo: bool,
    kdf: KdfParams,
) -> None:
    # Check the meeting and the token before anything is made or saved.
    status = _ceremony_status(client, meeting_id)
    if status["state"] != "setup":
        _fail(f"meeting {meeting_id} is {status['state']} on the server: its key ceremony is over")
    if (status["trustees"], status["threshold"]) != (n, threshold):
        _fail(
            f"the server's meeting {meeting_id} has {status['trustees']} trustees with threshold "
            f"{status['threshold']}, not --trustees {n} --threshold {threshold}"
        )
    row = _row(status, index)
    if not row:
        _fail(f"the server's meeting {meeting_id} has no trustee {index}")
    registered = str(row.get("name") or "")
    if registered and registered != name:
        click.echo(
            f"note: the clerk registered trustee {index} as {registered!r}; the meeting entry uses that name",
            err=True,
        )
    announcements_path = _staff(meeting_id, "ceremony", "announcements")

    if os.path.exists(state_path):
        # Resume: the state exists (a failed post, or run twice); post its announcement if needed.
        state, _, header = _load(state_path)
        parsed = parse_state(state)
        if (parsed.meeting_id, parsed.index, parsed.n, parsed.threshold) != (meeting_id, index, n, threshold):
            _fail(
                f"{state_path} already exists for trustee {parsed.index} of {parsed.n} (threshold "
                f"{parsed.threshold}) of meeting {parsed.meeting_id}; refusing to overwrite a state file"
            )
        demo = bool(header.get("demo"))
        posted = next(
            (
                a
                for a in _get_announcements(client, meeting_id)
                if isinstance(a, dict) and a.get("index") == index
            ),
            None,
        )
        if posted is not None:
            if not _matches_state(posted, parsed):
                _fail(
                    f"the server already holds a different announcement for trustee {index} "
                    f"(not from {state_path}); ask the clerk"
                )
            announcement = posted
            verb = "was already posted"
        else:
            announcement = _announcement_from_state(parsed)
            client.post_json(announcements_path, announcement)
            verb = f"posted from the existing {state_path}"
    else:
        if row.get("announced"):
            _fail(
                f"trustee {index} has already announced for meeting {meeting_id} on the server "
                f"(from another state file?); use that state file, or ask the clerk"
            )
        state, announcement = begin(meeting_id, index, n, threshold, name)
        save_state(state_path, state, _passphrase(confirm=True), demo=demo, kdf=kdf)
        try:
            client.post_json(announcements_path, announcement)
        except RelayError as exc:
            _fail(
                f"{exc} — the state was saved to {state_path}: "
                "run the same command again to post the announcement"
            )
        verb = "posted"
    if out is not None:
        _write_json(out, announcement)
    click.echo(
        f"trustee {index} of {n} (threshold {threshold}) for meeting {meeting_id}"
        + (" [DEMO]" if demo else "")
    )
    click.echo(f"state in {state_path}; announcement {verb} to {client.base_url}")
    click.echo(f"announcement fingerprint: {announcement_fingerprint(announcement)}")


@ceremony.command("deal")
@click.option("--state", "state_path", required=True, type=click.Path(exists=True, dir_okay=False))
@_options_paths("--announcements", "Announcement files or directories (all n trustees).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Messages file to relay (offline mode; with --server, an optional copy).",
)
@_server_option
@_token_option
@_errors
def deal_command(
    state_path: str, announcements: tuple[str, ...], out: str | None, server: str | None, token: str | None
) -> None:
    """Check every announcement and seal a share to each other trustee."""
    if _server_mode(server, bool(announcements), "--announcements … --out FILE"):
        assert server is not None
        _deal_on_server(_client(server, token), state_path, out)
        return
    if out is None:
        _fail("give --out FILE for the messages (or --server URL to relay them)")
    assert out is not None
    state, _, _ = _load(state_path)
    collected = _collect(announcements)
    messages = deal(state, collected)
    _write_json(out, messages)
    _print_fingerprints(collected)
    click.echo(f"{len(messages)} sealed shares written to {out}")


def _deal_on_server(client: RelayClient, state_path: str, out: str | None) -> None:
    state, _, _ = _load(state_path)
    parsed = parse_state(state)
    meeting_id = parsed.meeting_id
    status = _ceremony_status(client, meeting_id)
    announcements = _get_announcements(client, meeting_id)
    _require_all_announced(parsed, announcements, status, "deal")
    messages = deal(state, announcements)  # checks every announcement and proof first
    already = _row(status, parsed.index).get("dealt")
    if isinstance(already, int) and not isinstance(already, bool) and already >= len(messages) > 0:
        verb = "were already relayed"
    else:
        client.post_json(_staff(meeting_id, "ceremony", "messages"), {"messages": messages})
        verb = "relayed"
    if out is not None:
        _write_json(out, messages)
    _print_fingerprints(announcements)
    click.echo(f"{len(messages)} sealed shares of trustee {parsed.index} {verb} through {client.base_url}")


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
@_server_option
@_token_option
@_errors
def receive_command(
    state_path: str,
    announcements: tuple[str, ...],
    messages: tuple[str, ...],
    server: str | None,
    token: str | None,
) -> None:
    """Open this trustee's shares, run the Feldman checks and store s_l."""
    if _server_mode(server, bool(announcements or messages), "--announcements … --messages …"):
        assert server is not None
        _receive_on_server(_client(server, token), state_path)
        return
    if not announcements or not messages:
        _fail("give both --announcements and --messages (or --server URL)")
    state, passphrase, header = _load(state_path)
    new_state = receive(state, _collect(announcements), _collect(messages))
    save_state(state_path, new_state, passphrase, demo=bool(header.get("demo")), kdf=kdf_params(header))
    _print_received(new_state, state_path)


def _print_received(new_state: dict[str, Any], state_path: str) -> None:
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


def _receive_on_server(client: RelayClient, state_path: str) -> None:
    state, passphrase, header = _load(state_path)
    parsed = parse_state(state)
    meeting_id = parsed.meeting_id
    status = _status_or_none(client, meeting_id)
    announcements = _get_announcements(client, meeting_id)
    _require_all_announced(parsed, announcements, status, "receive")
    path = _staff(meeting_id, "ceremony", "messages")
    messages = _expect(client.get_json(path), "messages", list, f"GET {path}")
    senders = {m.get("from") for m in messages if isinstance(m, dict) and m.get("to") == parsed.index}
    waiting = [i for i in range(1, parsed.n + 1) if i != parsed.index and i not in senders]
    if waiting:
        _fail(
            f"no share for trustee {parsed.index} yet from {_who(waiting, _names(status))}: "
            "run `ceremony receive` again once they have run `ceremony deal`"
        )
    confirm = _staff(meeting_id, "ceremony", "confirm")
    try:
        new_state = receive(state, announcements, messages)
    except ShareError as exc:
        complaint = str(exc)
        try:
            client.post_json(confirm, {"ok": False, "complaint": complaint})
        except RelayError as relay:
            _fail(f"{complaint} — and the complaint could not be posted: {relay}", EXIT_COMPLAINT)
        _fail(
            f"{complaint} — complaint posted to the server: trustee {exc.sender} must answer before the "
            "ceremony can finish (the state file was not changed)",
            EXIT_COMPLAINT,
        )
        raise  # not reached: _fail exits
    save_state(state_path, new_state, passphrase, demo=bool(header.get("demo")), kdf=kdf_params(header))
    try:
        client.post_json(confirm, {"ok": True})
    except RelayError as exc:
        _fail(f"{exc} — the share was stored in {state_path}: run `ceremony receive` again to confirm")
    _print_received(new_state, state_path)
    click.echo(f"confirmed to {client.base_url}")


@ceremony.command("trustees")
@click.option("--meeting", "meeting_id", required=True, help="Meeting id, to verify the proofs.")
@click.option(
    "--announcements",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=True),
    help="Announcement files or directories (all n trustees).",
)
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


def _check_meeting(state: dict[str, Any], raw: Any) -> Meeting:
    """Parse and verify a meeting entry and check that its keys are this trustee's."""
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
    return meeting


def _meeting_hash(state: dict[str, Any], meeting_hash: str | None, meeting_path: str | None) -> bytes:
    if (meeting_hash is None) == (meeting_path is None):
        _fail("give exactly one of --meeting-hash and --meeting")
    if meeting_hash is not None:
        return hex_bytes(meeting_hash.strip().lower(), 32, where="--meeting-hash")
    assert meeting_path is not None
    return _check_meeting(state, _read_json(meeting_path)).hash


def _listed(indices: Any) -> str:
    return ", ".join(map(str, indices)) if isinstance(indices, list) and indices else "none"


@click.command("decrypt")
@click.option("--state", "state_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--meeting-hash", help="Meeting hash Q (SPEC §6.3), 64 hex characters. Offline mode.")
@click.option(
    "--meeting",
    "meeting",
    help="Offline: the meeting entry file (or the GET /api/meetings/<mid> response) instead of "
    "--meeting-hash; also checks the keys. With --server: the meeting id (default: the state's).",
)
@click.option(
    "--vote",
    "vote",
    required=True,
    help="Offline: the §4.1 vote entry file (or GET …/votes/<vid> response). With --server: the vote id.",
)
@click.option(
    "--aggregates",
    "aggregates_path",
    type=click.Path(exists=True, dir_okay=False),
    help='Aggregates file: [{"contest", "option", "A", "B"}, …]. Offline mode.',
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Share entry file (SPEC §8) (offline mode; with --server, an optional copy).",
)
@_server_option
@_errors
def decrypt(
    state_path: str,
    meeting_hash: str | None,
    meeting: str | None,
    vote: str,
    aggregates_path: str | None,
    out: str | None,
    server: str | None,
) -> None:
    """Partially decrypt a vote's aggregates (SPEC §6.2) and write the §8 share entry, or post
    it to the tally service with --server (no token needed: the proofs authenticate it)."""
    offline = aggregates_path is not None or meeting_hash is not None
    if _server_mode(server, offline, "--aggregates FILE --out FILE (and --meeting-hash or --meeting FILE)"):
        assert server is not None
        _decrypt_on_server(_client(server, None, need_token=False), state_path, meeting, vote, out)
        return
    if aggregates_path is None or out is None:
        _fail("give --aggregates FILE and --out FILE (or --server URL to fetch and post)")
    assert aggregates_path is not None and out is not None
    state, _, _ = _load(state_path)
    parsed = parse_state(state)
    parsed.require_complete()
    q = _meeting_hash(state, meeting_hash, meeting)
    raw_vote = _read_json(vote)
    if isinstance(raw_vote, dict) and "type" not in raw_vote and isinstance(raw_vote.get("vote"), dict):
        raw_vote = raw_vote["vote"]
    definition = parse_vote(raw_vote)
    aggregates = parse_aggregates(_read_json(aggregates_path))
    refs = [(contest, option) for contest, option, _ in aggregates]
    if refs != definition.option_refs():
        raise ThresholdError(
            f"the aggregates do not list the options of vote {definition.vote_id} in its order (SPEC §8)",
            where=aggregates_path,
        )
    entry = partial_decrypt(state, q, definition.hash, definition.vote_id, aggregates)
    _write_json(out, entry)
    click.echo(
        f"share entry of trustee {parsed.index} for vote {definition.vote_id} "
        f"({len(refs)} options) written to {out}"
    )


def _print_decryption(status: Any, vote_id: str, client: RelayClient, meeting_id: str) -> None:
    state = status.get("state") if isinstance(status, dict) else None
    posted = status.get("posted") if isinstance(status, dict) else None
    missing = status.get("missing") if isinstance(status, dict) else None
    threshold = status.get("threshold") if isinstance(status, dict) else None
    click.echo(
        f"vote {vote_id}: {state}; shares posted by trustees {_listed(posted)} "
        f"(threshold {threshold}); missing {_listed(missing)}"
    )
    if state == "published":
        click.echo(f"result published: {client.url(_public(meeting_id, 'votes', quote(vote_id), 'result'))}")
    elif isinstance(posted, list) and isinstance(threshold, int):
        click.echo(f"waiting for {max(threshold - len(posted), 0)} more trustee share(s)")


def _decrypt_on_server(
    client: RelayClient, state_path: str, meeting_id: str | None, vote_id: str, out: str | None
) -> None:
    state, _, _ = _load(state_path)
    parsed = parse_state(state)
    parsed.require_complete()
    meeting_id = parsed.meeting_id if meeting_id is None else meeting_id
    if meeting_id != parsed.meeting_id:
        _fail(
            f"{state_path} is trustee {parsed.index}'s state for meeting {parsed.meeting_id}, "
            f"not {meeting_id}"
        )
    vote_path = _public(meeting_id, "votes", quote(vote_id))

    # The meeting entry: its proofs, its hash Q, and this trustee's keys.
    answer = client.get_json(_public(meeting_id))
    what = f"GET {_public(meeting_id)}"
    meeting = _check_meeting(state, _expect(answer, "meeting", dict, what))
    served_q = _expect(answer, "meeting_hash", str, what)
    if served_q != meeting.hash.hex():
        raise MeetingError(
            f"the server's meeting_hash {served_q} is not the hash of the meeting entry it serves "
            f"({meeting.hash.hex()})"
        )

    # The vote definition and its aggregates.
    answer = client.get_json(vote_path)
    definition = parse_vote(_expect(answer, "vote", dict, f"GET {vote_path}"))
    if (
        definition.vote_id != vote_id
        or _expect(answer, "vote_hash", str, f"GET {vote_path}") != definition.hash.hex()
    ):
        raise RelayError(f"the server's vote {vote_id} does not match its vote_id or vote_hash")
    decryption_path = vote_path + "/decryption"
    status = client.get_json(decryption_path)
    posted = status.get("posted") if isinstance(status, dict) else None
    if isinstance(posted, list) and parsed.index in posted:
        click.echo(f"trustee {parsed.index} has already posted its share for vote {vote_id}")
        _print_decryption(status, vote_id, client, meeting_id)
        return
    if isinstance(status, dict) and status.get("state") == "published":
        click.echo(f"vote {vote_id} is already published: no share is needed from trustee {parsed.index}")
        _print_decryption(status, vote_id, client, meeting_id)
        return
    answer = client.get_json(vote_path + "/aggregates")
    if isinstance(answer, dict) and answer.get("vote_id") != vote_id:
        raise RelayError(f"the server sent the aggregates of vote {answer.get('vote_id')!r}, not {vote_id!r}")
    aggregates = parse_aggregates(answer)
    refs = [(contest, option) for contest, option, _ in aggregates]
    if refs != definition.option_refs():
        raise ThresholdError(
            f"the server's aggregates do not list the options of vote {vote_id} in its order (SPEC §8)"
        )

    entry = partial_decrypt(state, meeting.hash, definition.hash, vote_id, aggregates)
    if out is not None:
        _write_json(out, entry)
    status = client.post_json(vote_path + "/shares", entry)
    click.echo(f"share of trustee {parsed.index} for vote {vote_id} ({len(refs)} options) posted")
    _print_decryption(status, vote_id, client, meeting_id)


__all__ = ["PASSPHRASE_ENV", "SERVER_ENV", "TOKEN_ENV", "ceremony", "decrypt"]
