"""Clerk and automation commands: ``flask --app tally …`` (docs/clerk-cli.md).

The commands named in issue #3 exist exactly as named: ``demo``, ``vote open``, ``vote close``,
``vote tally``, ``record``. Errors print one line and exit with status 2; no traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from ballot.errors import PiaojueError
from ballot.hashing import parse_json
from tally import demo
from tally.api import tokens
from tally.errors import APIError
from tally.services import ceremony, checkin, export, lifecycle, meetings, results
from tally.store import cache, migrations

CLI_ACTOR = "clerk:cli"


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _run(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except APIError as exc:
        _fail(f"{exc.message} [{exc.code}]")
    except PiaojueError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename}: {exc.strerror}")


def _read_json(path: str) -> Any:
    try:
        return parse_json(Path(path).read_bytes(), where=path)
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    except PiaojueError as exc:
        _fail(str(exc))


db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the latest migration."""
    migrations.upgrade(current_app)
    click.echo("database is up to date")


meeting_cli = AppGroup("meeting", help="Create and seal meetings.")


@meeting_cli.command("create")
@click.argument("meeting_id")
@click.option("--title", required=True)
@click.option("--body", "body_name", required=True, help="e.g. 某市人民代表大会")
@click.option("--members", type=int, required=True, help="全体组成人员 / 全体代表 (the majority base)")
@click.option("--quorum", type=click.Choice(["two_thirds", "majority"]), default="two_thirds")
@click.option("--trustee", "trustees", multiple=True, required=True, help="a trustee's name (repeat)")
@click.option("--threshold", type=int, required=True)
def meeting_create(meeting_id: str, title: str, body_name: str, members: int, quorum: str,
                   trustees: tuple[str, ...], threshold: int) -> None:
    """Create a meeting (state: setup)."""
    _run(lambda: meetings.create_meeting(meeting_id, title, body_name, members, quorum, list(trustees), threshold,
                                      actor=CLI_ACTOR))
    click.echo(f"meeting {meeting_id} created; next: roster, credentials, votes, key ceremony, seal")


@meeting_cli.command("seal")
@click.argument("meeting_id")
def meeting_seal(meeting_id: str) -> None:
    """Write the §6.3 meeting entry and start the log (the ceremony must be complete)."""
    entry = _run(lambda: meetings.seal(meeting_id, actor=CLI_ACTOR))
    click.echo(f"meeting {meeting_id} sealed; joint public key {entry['public_key']}")


@meeting_cli.command("checkin")
@click.argument("meeting_id")
@click.argument("action", type=click.Choice(["open", "close"]))
def meeting_checkin(meeting_id: str, action: str) -> None:
    """Close check-in (签到截止) or reopen it."""
    state = _run(lambda: checkin.set_checkin_open(meeting_id, action == "open", actor=CLI_ACTOR))
    click.echo(f"check-in {'open' if state['open'] else 'closed'}; present {state['present']}/{state['members']}")


@meeting_cli.command("status")
@click.argument("meeting_id")
def meeting_status(meeting_id: str) -> None:
    """The setup and ceremony status of a meeting."""
    meeting = _run(lambda: meetings.get_meeting(meeting_id))
    click.echo(f"{meeting.id}: {meeting.title} [{meeting.state}], present {meeting.checkins}/{meeting.members}")
    for row in ceremony.ceremony_status(meeting_id):
        click.echo(f"  trustee {row['index']} {row['name']}: announced={row['announced']} dealt={row['dealt']} "
                   f"confirmed={row['confirmed']}" + (f" complaint: {row['complaint']}" if row["complaint"] else ""))


@click.command("roster")
@with_appcontext
@click.argument("meeting_id")
@click.argument("roster_file", type=click.Path(exists=True, dir_okay=False))
def roster_import(meeting_id: str, roster_file: str) -> None:
    """Import the roster (CSV or XLSX with 座位号/姓名/代表团 headers)."""
    data = Path(roster_file).read_bytes()
    deputies = _run(lambda: meetings.import_roster(meeting_id, data, Path(roster_file).name, actor=CLI_ACTOR))
    click.echo(f"imported {len(deputies)} deputies")


credentials_cli = AppGroup("credentials", help="Register and replace credentials.")


@credentials_cli.command("register")
@click.argument("meeting_id")
@click.argument("creds_json", type=click.Path(exists=True, dir_okay=False))
def credentials_register(meeting_id: str, creds_json: str) -> None:
    """Register the public keys in creds.json (from ``python -m keys credentials``)."""
    data = _read_json(creds_json)
    if not isinstance(data, dict) or data.get("meeting_id") != meeting_id:
        _fail(f"{creds_json} is not a creds.json for meeting {meeting_id}")
    count = _run(lambda: meetings.register_credentials(meeting_id, data.get("credentials"), actor=CLI_ACTOR))
    click.echo(f"registered {count} credentials")


@credentials_cli.command("replace")
@click.argument("meeting_id")
@click.argument("old")
@click.argument("new", required=False)
def credentials_replace(meeting_id: str, old: str, new: str | None) -> None:
    """Revoke a lost card's credential OLD, registering NEW in its place if given."""
    _run(lambda: meetings.replace_credential(meeting_id, old, new, actor=CLI_ACTOR))
    click.echo("revoked" + (" and replaced" if new else ""))


vote_cli = AppGroup("vote", help="Define, open, close and tally votes.")


@vote_cli.command("define")
@click.argument("meeting_id")
@click.argument("vote_json", type=click.Path(exists=True, dir_okay=False))
def vote_define(meeting_id: str, vote_json: str) -> None:
    """Add a vote: a §4.1 entry, or {"template": KIND, "params": {...}}."""
    data = _read_json(vote_json)
    if isinstance(data, dict) and "template" in data:
        entry = _run(lambda: meetings.vote_from_template(data["template"], data.get("params")))
    else:
        entry = data
    vote = _run(lambda: meetings.define_vote(meeting_id, entry, actor=CLI_ACTOR))
    click.echo(f"vote {vote.vote_id} defined ({entry['kind']}); vote hash {vote.vote_hash.hex()}")


@vote_cli.command("open")
@click.argument("meeting_id")
@click.argument("vote_id")
@click.option("--duration", type=int, default=None, help="seconds until it closes (shown as a countdown)")
def vote_open(meeting_id: str, vote_id: str, duration: int | None) -> None:
    """Open a vote, snapshotting the check-ins as ``present``."""
    vote = _run(lambda: lifecycle.open_vote(meeting_id, vote_id, actor=CLI_ACTOR, duration_seconds=duration))
    click.echo(f"vote {vote_id} open; present {vote.present}")


@vote_cli.command("close")
@click.argument("meeting_id")
@click.argument("vote_id")
def vote_close(meeting_id: str, vote_id: str) -> None:
    """Close a vote."""
    vote = _run(lambda: lifecycle.close_vote(meeting_id, vote_id, actor=CLI_ACTOR))
    click.echo(f"vote {vote_id} closed; {vote.ballots_logged} ballots logged, {vote.counted} count")


@vote_cli.command("hold")
@click.argument("meeting_id")
@click.argument("vote_id")
def vote_hold(meeting_id: str, vote_id: str) -> None:
    """Put an open vote on hold (暂停): no ballots are accepted and its timer stops."""
    vote = _run(lambda: lifecycle.hold_vote(meeting_id, vote_id, actor=CLI_ACTOR))
    left = "no timer" if vote.held_remaining_ms is None else f"{round(vote.held_remaining_ms / 1000)} s left"
    click.echo(f"vote {vote_id} on hold ({left})")


@vote_cli.command("resume")
@click.argument("meeting_id")
@click.argument("vote_id")
def vote_resume(meeting_id: str, vote_id: str) -> None:
    """Resume a held vote; its timer restarts with the time it had left."""
    vote = _run(lambda: lifecycle.resume_vote(meeting_id, vote_id, actor=CLI_ACTOR))
    closes = vote.closes_at.isoformat() if vote.closes_at else "no timer"
    click.echo(f"vote {vote_id} resumed; closes at {closes}")


@vote_cli.command("tally")
@click.argument("meeting_id")
@click.argument("vote_id")
def vote_tally(meeting_id: str, vote_id: str) -> None:
    """Decrypt and publish. In a demo meeting the demo trustees decrypt; otherwise report which
    trustees have posted shares, and publish once ``threshold`` have."""
    meeting = _run(lambda: meetings.get_meeting(meeting_id))
    if meeting.is_demo:
        _run(lambda: demo.demo_tally(meeting_id, vote_id))
    status = _run(lambda: results.decryption_status(meeting_id, vote_id))
    if status["state"] == "closed" and len(status["posted"]) >= status["threshold"]:
        _run(lambda: results.publish(meeting_id, vote_id, actor=CLI_ACTOR))
        status = results.decryption_status(meeting_id, vote_id)
    click.echo(f"vote {vote_id}: {status['state']}; shares from trustees {status['posted']}, "
               f"threshold {status['threshold']}; missing {status['missing']}")
    if status["state"] == "published":
        result = results.published_result(meeting_id, vote_id)
        click.echo(json.dumps(result["outcome"], ensure_ascii=False))
    elif status["state"] == "closed":
        needed = status["threshold"] - len(status["posted"])
        click.echo(f"waiting for {needed} more trustee share(s): trustees run "
                   f"`python -m keys decrypt --server URL --meeting {meeting_id} --vote {vote_id} --state FILE`")


@click.command("record")
@with_appcontext
@click.argument("meeting_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="FILE.zip")
def record(meeting_id: str, out: str) -> None:
    """Write the meeting's election record (SPEC §8) as a zip."""
    _run(lambda: cache.sealed_meeting(meeting_id))
    path = _run(lambda: export.write_record_zip(meeting_id, out))
    click.echo(f"record written to {path}")


@click.command("staff")
@with_appcontext
@click.argument("name")
@click.option("--role", type=click.Choice(list(tokens.ROLES)), required=True)
@click.option("--meeting", "meeting_id", default=None, help="a trustee's meeting")
@click.option("--trustee", "trustee_index", type=int, default=None, help="a trustee's index")
def staff(name: str, role: str, meeting_id: str | None, trustee_index: int | None) -> None:
    """Create a staff API token (printed once)."""
    token = _run(lambda: tokens.create_token(name, role, meeting_id=meeting_id, trustee_index=trustee_index))
    click.echo(token)


@click.command("demo")
@with_appcontext
@click.option("--deputies", type=int, default=386, show_default=True)
@click.option("--codes", "codes_file", required=True, type=click.Path(dir_okay=False),
              help="where to write the deputies' credential codes (JSON)")
@click.option("--meeting", "meeting_id", default=None, help="meeting id (default demo-YYYYMMDD-HHMMSS)")
@click.option("--simulate", is_flag=True, help="also check in, vote, close, decrypt and publish every vote")
@click.option("--record", "record_path", default=None, type=click.Path(dir_okay=False),
              help="with --simulate: where to write the record zip (default instance/<meeting>-record.zip)")
@click.option("--seed", type=int, default=0, show_default=True)
def demo_command(deputies: int, codes_file: str, meeting_id: str | None, simulate: bool,
                 record_path: str | None, seed: int) -> None:
    """Set up a realistic demo meeting (real crypto) and write its credential codes."""
    if not 1 <= deputies <= 5000:
        _fail("--deputies must be from 1 to 5000")
    meeting_id = meeting_id or datetime.now().strftime("demo-%Y%m%d-%H%M%S")
    people = _run(lambda: demo.create_demo(meeting_id, deputies, seed=seed))
    demo.write_codes(codes_file, meeting_id, people)
    click.echo(f"demo meeting {meeting_id}: {deputies} deputies, 5 trustees (threshold 3), 5 votes pending")
    click.echo(f"credential codes: {codes_file}")
    if simulate:
        _run(lambda: demo.simulate_session(meeting_id, people, seed=seed))
        target = record_path or str(Path(current_app.instance_path) / f"{meeting_id}-record.zip")
        export.write_record_zip(meeting_id, target)
        click.echo(f"simulated the session; record: {target}")
        click.echo(f"verify it: python -m ballot.verify {target}")


@click.command("demo-serve")
@with_appcontext
@click.option("--deputies", type=int, default=386, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--tablets", type=int, default=3, show_default=True, help="seats to print tablet links for")
@click.option("--simulate/--no-simulate", default=True, show_default=True,
              help="the deputies without a tablet check in and vote at a human pace whenever a vote opens")
@click.option("--pace", type=click.FloatRange(1, 600), default=demo.HALL_PACE_SECONDS, show_default=True,
              help="seconds over which the simulated deputies' ballots are spread after a vote opens")
@click.option("--public-url", default=None,
              help="the address deputies' phones open for receipts (default: with --host 0.0.0.0, this "
                   "machine's LAN address; else the local address)")
def demo_serve(
    deputies: int, host: str, port: int, tablets: int, simulate: bool, pace: float, public_url: str | None
) -> None:
    """The main job: a demo meeting with real crypto, served for tablets in a browser.

    The server is the production one (gunicorn with the gevent worker, deploy/gunicorn.conf.py),
    in a child process; the simulated deputies (tally.demo.run_hall) are another, at a lower CPU
    priority, posting real ballots over HTTP. Ctrl+C stops both."""
    import multiprocessing
    import secrets
    import signal
    import subprocess

    from keys.credentials import format_code
    from tally.services import pairing

    if not 1 <= tablets <= deputies <= 5000:
        _fail("need 1 ≤ --tablets ≤ --deputies ≤ 5000")
    meeting_id = datetime.now().strftime("demo-%Y%m%d-%H%M%S")
    people = _run(lambda: demo.create_demo(meeting_id, deputies))
    codes_file = Path(current_app.instance_path) / f"{meeting_id}-codes.json"
    demo.write_codes(codes_file, meeting_id, people)
    links = pairing.create_codes(meeting_id, [p.seat for p in people[:tablets]], actor=CLI_ACTOR)
    password = secrets.token_urlsafe(9)
    _account(lambda: demo.presidium_login(demo.DEMO_PRESIDIUM, password))
    base = public_url.rstrip("/") if public_url else demo.public_url(host, port)
    phones_reach = public_url is not None or not demo.is_loopback_url(base)
    others = deputies - tablets
    click.echo(f"\n票决 Piaojue demo meeting {meeting_id}: {deputies} deputies, 5 trustees (threshold 3), 5 votes.")
    if simulate and others:
        click.echo(f"The {others} deputies without a tablet are simulated: most check in now, and whenever a vote "
                   f"opens they vote within about {pace:.0f} s (real ballots; some items pass, some fail).\n")
    else:
        click.echo("No simulated deputies: only the tablets below check in and vote.\n")
    click.echo("1. Open a tablet (one browser tab per seat) and check in with the credential code shown:")
    for person, link in zip(people, links):
        click.echo(f"   seat {person.seat} {person.name}: {base}/kiosk/pair/{link['code']}   code {format_code(person.code)}")
    click.echo(f"2. Run the session (open, close, tally each vote): {base}/demo/{meeting_id}")
    click.echo(f"   Big screen: {base}/screen/{meeting_id}")
    click.echo(f"   Presidium console: {base}/staff/meetings/{meeting_id}/console"
               f"   (sign in as {demo.DEMO_PRESIDIUM}, password {password})")
    click.echo(f"3. Audit: {base}/api/meetings/{meeting_id}/record.zip  →  python -m ballot.verify RECORD.zip")
    click.echo(f"   Every deputy's credential code: {codes_file}")
    if phones_reach:
        click.echo(f"   Receipts: the tablets' QR codes and short links open {base}/r/… on a phone on this network.\n")
    else:
        click.echo("   Receipts on a phone: start with --host 0.0.0.0 (QR codes then carry this machine's LAN "
                   "address) or --public-url URL.\n")

    # This process only supervises from here: its vote timer would close votes where the
    # server's clients never hear of it, and its database connections are not needed.
    timer = current_app.extensions.pop("piaojue.timer", None)
    if timer is not None:
        timer.stop()
    current_app.extensions["piaojue.engine"].dispose()
    env = dict(os.environ, PIAOJUE_INSTANCE_PATH=current_app.instance_path,
               DATABASE_URL=current_app.config["DATABASE_URL"], PIAOJUE_PUBLIC_URL=base)
    if not phones_reach:
        env["PIAOJUE_PUBLIC_URL_WARNING"] = "0"  # said above, in the demo's own words
    conf = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--log-level", "warning"]
    if conf.is_file():
        command += ["--config", str(conf)]
    else:  # an installed package without the checkout's deploy/: the same settings that matter here
        env["SOCKETIO_ASYNC_MODE"] = "gevent"
        command += ["--worker-class", "gevent", "--workers", "1", "tally:create_app()"]
    server = subprocess.Popen(command, env=env)
    hall = None
    if simulate and others:
        context = multiprocessing.get_context("spawn")
        hall = context.Process(
            target=demo.run_hall, name="piaojue-demo-hall", daemon=True,
            args=(f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}", meeting_id,
                  [(p.seat, p.code) for p in people[tablets:]]),
            kwargs={"pace": pace, "parent": os.getpid()},
        )
        hall.start()

    def _terminate(signum: int, frame: Any) -> None:  # signal handler signature
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        status = server.wait()
    except KeyboardInterrupt:
        status = 0
    finally:
        if hall is not None and hall.is_alive():
            hall.terminate()
            hall.join(5)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    if status:
        _fail(f"the server stopped with status {status} (is port {port} in use?)")


user_cli = AppGroup("user", help="Staff accounts for the web pages (password logins).")
USER_ACTOR = "system:cli"


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _account(fn: Callable[[], Any]) -> Any:
    from tally.web.logins import AccountError

    try:
        return fn()
    except AccountError as exc:
        _fail(str(exc))


@user_cli.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(list(tokens.ROLES)), required=True)
@click.option("--display-name", default=None, help="the name shown on the pages (default: NAME)")
@click.option("--meeting", "meeting_id", default=None, help="a trustee's meeting")
@click.option("--trustee", "trustee_index", type=int, default=None, help="a trustee's index")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
def user_add(name: str, role: str, display_name: str | None, meeting_id: str | None, trustee_index: int | None,
             password_stdin: bool) -> None:
    """Create a staff account NAME with a password (prompted for, or --password-stdin)."""
    from tally.web import logins

    password = _new_password(password_stdin)
    user = _account(lambda: logins.create_user(name, role, password, display_name=display_name,
                                                 meeting_id=meeting_id, trustee_index=trustee_index,
                                                 actor=USER_ACTOR))
    click.echo(f"account {user.username} ({user.role}) created; sign in at /staff/login")


@user_cli.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (ends its sessions everywhere)."""
    from tally.web import logins

    password = _new_password(password_stdin)
    _account(lambda: logins.set_password(name, password, actor=USER_ACTOR))
    click.echo(f"password of {name} changed")


@user_cli.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="enable the account again instead")
def user_disable(name: str, enable: bool) -> None:
    """Disable (or --enable) the account NAME; a disabled account cannot sign in."""
    from tally.web import logins

    _account(lambda: logins.set_active(name, enable, actor=USER_ACTOR))
    click.echo(f"account {name} {'enabled' if enable else 'disabled'}")


@user_cli.command("list")
def user_list() -> None:
    """List the staff accounts."""
    from sqlalchemy import select

    from tally.store import db
    from tally.store.models import StaffUser

    for user in db.session().scalars(select(StaffUser).order_by(StaffUser.username)):
        where = f" meeting {user.meeting_id} trustee {user.trustee_index}" if user.role == "trustee" else ""
        click.echo(f"{user.username}\t{user.role}{where}\t{user.display_name}\t{'active' if user.active else 'disabled'}")


def init_app(app: Flask) -> None:
    for command in (db_cli, meeting_cli, roster_import, credentials_cli, vote_cli, record, staff, demo_command,
                    demo_serve, user_cli):
        app.cli.add_command(command)

