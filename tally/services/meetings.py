"""Setting a meeting up: creation, roster, credentials, votes, sealing (the key-ceremony relay
that comes before sealing is :mod:`tally.services.ceremony`).

Every function here is called by both the clerk's CLI and the staff JSON API, raises
:class:`~tally.errors.APIError` for anything the caller got wrong, and commits its own work.
Before sealing nothing is in the log; sealing writes the §6.3 meeting entry (index 0), one
``credentials`` entry with every registered key, and the ``vote`` entries defined so far.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import func, select

from ballot import templates
from ballot.errors import PiaojueError, VoteDefinitionError
from ballot.meeting import QUORUMS, meeting_hash, parse_meeting, verify_meeting
from ballot.vote import IDENTIFIER, parse_vote
from keys.ceremony import meeting_trustees
from keys.credentials import check_public_key
from keys.errors import CredentialError, RosterError
from keys.roster import parse_roster_bytes
from tally.errors import APIError, conflict, not_found
from tally.store import db, logstore
from tally.store.audit_trail import record_event
from tally.store.logkeys import new_log_key
from tally.store.models import Credential, Deputy, Meeting, Trustee, Vote

_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_TRUSTEES = 16


def get_meeting(meeting_id: str) -> Meeting:
    meeting = db.session().get(Meeting, meeting_id)
    if meeting is None:
        raise not_found(f"meeting {meeting_id!r}")
    return meeting


def require_setup(meeting: Meeting) -> None:
    if meeting.state != "setup":
        raise conflict("sealed", f"meeting {meeting.id} is sealed; its setup can no longer change")


def create_meeting(
    meeting_id: str,
    title: str,
    body: str,
    members: int,
    quorum: str,
    trustee_names: Sequence[str],
    threshold: int,
    *,
    actor: str,
    is_demo: bool = False,
) -> Meeting:
    if not isinstance(meeting_id, str) or IDENTIFIER.fullmatch(meeting_id) is None:
        raise APIError("malformed", "meeting_id must match [A-Za-z0-9_-]{1,64}")
    if not isinstance(title, str) or not title.strip() or not isinstance(body, str) or not body.strip():
        raise APIError("malformed", "title and body are required")
    if not isinstance(members, int) or isinstance(members, bool) or not 1 <= members <= 100_000:
        raise APIError("malformed", "members must be an integer from 1 to 100000")
    if quorum not in QUORUMS:
        raise APIError("malformed", f"quorum must be one of {', '.join(QUORUMS)}")
    names = list(trustee_names)
    if not 1 <= len(names) <= MAX_TRUSTEES or not all(isinstance(n, str) and n.strip() for n in names):
        raise APIError("malformed", f"between 1 and {MAX_TRUSTEES} trustees, each with a name")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= len(names):
        raise APIError("malformed", f"threshold must be from 1 to {len(names)}")
    session = db.session()
    if session.get(Meeting, meeting_id) is not None:
        raise conflict("exists", f"meeting {meeting_id!r} already exists")
    public, sealed = new_log_key(meeting_id)
    meeting = Meeting(
        id=meeting_id,
        title=title.strip(),
        body=body.strip(),
        members=members,
        quorum=quorum,
        trustee_count=len(names),
        threshold=threshold,
        is_demo=is_demo,
        log_public_key=public,
        log_private_key_sealed=sealed,
        state="setup",
        log_size=0,
        checkins=0,
    )
    session.add(meeting)
    session.add_all(Trustee(meeting_id=meeting_id, index=i + 1, name=n.strip()) for i, n in enumerate(names))
    record_event(actor, "meeting.create", meeting_id, {"title": title, "members": members})
    session.commit()
    return meeting


def import_roster(meeting_id: str, data: bytes, filename: str, *, actor: str) -> list[Deputy]:
    """Replace the meeting's roster with the rows of a CSV or XLSX file (keys.roster)."""
    meeting = get_meeting(meeting_id)
    require_setup(meeting)
    try:
        entries = parse_roster_bytes(data, filename=filename)
    except RosterError as exc:
        raise APIError(
            "invalid_roster", exc.message, problems=[{"row": row, "message": m} for row, m in exc.problems]
        ) from None
    session = db.session()
    session.query(Deputy).filter(Deputy.meeting_id == meeting_id).delete()
    deputies = [Deputy(meeting_id=meeting_id, seat=e.seat, name=e.name, group=e.group) for e in entries]
    session.add_all(deputies)
    record_event(actor, "roster.import", meeting_id, {"rows": len(deputies), "file": filename})
    session.commit()
    return deputies


def _check_keys(public_keys: Any) -> list[str]:
    if not isinstance(public_keys, list) or not public_keys:
        raise APIError("malformed", "credentials must be a non-empty list of hex public keys")
    for i, key in enumerate(public_keys):
        if not isinstance(key, str) or _HEX64.fullmatch(key) is None:
            raise APIError("malformed", f"credentials[{i}] is not 64 lowercase hex characters")
        try:
            check_public_key(bytes.fromhex(key))
        except CredentialError:
            raise APIError("malformed", f"credentials[{i}] is not a valid Ed25519 public key "
                           "(a small-order point or a non-canonical encoding)") from None
    if len(set(public_keys)) != len(public_keys):
        raise APIError("malformed", "credentials contains duplicates")
    return list(public_keys)


def register_credentials(meeting_id: str, public_keys: Any, *, actor: str) -> int:
    """Register public keys (creds.json from ``python -m keys credentials``). After sealing they
    are logged at once in a ``credentials`` entry."""
    keys = _check_keys(public_keys)
    meeting = get_meeting(meeting_id)
    session = db.session()
    existing = set(session.scalars(select(Credential.public_key).where(Credential.meeting_id == meeting_id)))
    clash = sorted(set(keys) & existing)
    if clash:
        raise conflict("exists", f"credential {clash[0][:16]}… is already registered")
    total = len(existing) + len(keys)
    if total > meeting.members:
        raise APIError("malformed", f"{total} credentials would exceed the meeting's {meeting.members} members")
    if meeting.state == "setup":
        session.add_all(Credential(meeting_id=meeting_id, public_key=k, state="pending") for k in keys)
        record_event(actor, "credentials.register", meeting_id, {"count": len(keys)})
        session.commit()
        return len(keys)
    session.rollback()
    with logstore.writing(meeting_id) as log:
        index = log.append({"type": "credentials", "add": sorted(keys), "revoke": []})
        # Registered from here on: an ``open`` entry before ``index`` does not admit them (§8.1).
        log.session.add_all(Credential(meeting_id=meeting_id, public_key=k, state="registered", registered_index=index)
                            for k in keys)
        log.sign_tree_head()
        record_event(actor, "credentials.register", meeting_id, {"count": len(keys)}, session=log.session)
    return len(keys)


def replace_credential(meeting_id: str, old: str, new: str | None, *, actor: str) -> None:
    """Revoke a lost card's credential and optionally register its replacement in one entry.

    SPEC §8.1 (revision 2): credentials are fixed at ``open``. The replacement is registered at
    this entry's index, so it cannot vote in a vote already open (``not_checked_in``); if the old
    card had checked in, the replacement counts as checked in for every vote opened from now on
    (the deputy is in the hall, with a new card). ``present`` counts active credentials only: the
    revoked card leaves it, an inheriting replacement re-enters it.
    """
    _check_keys([old] + ([new] if new is not None else []))
    meeting = get_meeting(meeting_id)
    session = db.session()
    row = session.scalar(select(Credential).where(Credential.meeting_id == meeting_id, Credential.public_key == old))
    if row is None or row.state == "revoked":
        raise not_found("an active credential with that public key")
    if new is not None and session.scalar(
        select(Credential).where(Credential.meeting_id == meeting_id, Credential.public_key == new)
    ):
        raise conflict("exists", "the replacement credential is already registered")
    if meeting.state == "setup":
        session.delete(row)
        if new is not None:
            session.add(Credential(meeting_id=meeting_id, public_key=new, state="pending"))
        record_event(actor, "credentials.replace", meeting_id, {"old": old[:16]})
        session.commit()
        return
    session.rollback()
    with logstore.writing(meeting_id) as log:
        stored = log.session.scalar(
            select(Credential).where(Credential.meeting_id == meeting_id, Credential.public_key == old)
        )
        assert stored is not None
        if stored.state == "revoked":
            raise not_found("an active credential with that public key")
        stored.state = "revoked"
        checked_in = stored.admitted_from is not None
        if checked_in:
            log.meeting.checkins -= 1
        index = log.append({"type": "credentials", "add": [new] if new else [], "revoke": [old]})
        if new is not None:
            inherits = checked_in
            log.session.add(
                Credential(
                    meeting_id=meeting_id,
                    public_key=new,
                    state="registered",
                    registered_index=index,
                    # Checked in for the votes opened after this entry, never for one open now.
                    checkin_order=stored.checkin_order if inherits else None,
                    admitted_from=index + 1 if inherits else None,
                    seat=stored.seat if inherits else None,
                    checked_in_at=stored.checked_in_at if inherits else None,
                )
            )
            if inherits:
                log.meeting.checkins += 1
        log.sign_tree_head()
        record_event(actor, "credentials.replace", meeting_id, {"old": old[:16]}, session=log.session)


TEMPLATES = {
    "resolution": templates.resolution,
    "appointment": templates.appointment,
    "selection": templates.selection,
    "election": templates.election,
    "evaluation": templates.evaluation,
}


def vote_from_template(kind: str, params: object) -> dict[str, Any]:
    """A §4.1 entry from a template: ``{"vote_id", "title", …}`` plus the kind's own fields
    (``nominees``, ``projects`` + ``seats``, ``candidates`` + ``seats``, ``items``)."""
    if kind not in TEMPLATES:
        raise APIError("malformed", f"kind must be one of {', '.join(TEMPLATES)}")
    if not isinstance(params, dict):
        raise APIError("malformed", "template parameters must be an object")
    args: list[Any] = [params.get("vote_id"), params.get("title")]
    positional = {"appointment": ["nominees"], "selection": ["projects", "seats"],
                  "election": ["candidates", "seats"], "evaluation": ["items"]}.get(kind, [])
    for name in positional:
        if name not in params:
            raise APIError("malformed", f"a {kind} needs {name!r}")
        args.append(params[name])
    options = {k: params[k] for k in ("threshold", "base", "recast") if k in params}
    try:
        # TEMPLATES holds functions of different signatures; each takes its own params.
        template = cast(Callable[..., dict[str, Any]], TEMPLATES[kind])
        return template(*args, **options)
    except VoteDefinitionError as exc:
        raise APIError("invalid_vote", str(exc)) from None
    except (TypeError, KeyError, AttributeError) as exc:
        raise APIError("malformed", f"bad template parameters for a {kind}: {exc}") from None


def define_vote(meeting_id: str, entry: Any, *, actor: str) -> Vote:
    """Add a §4.1 vote to the agenda; after sealing it is logged at once."""
    try:
        definition = parse_vote(entry)
    except VoteDefinitionError as exc:
        raise APIError("invalid_vote", str(exc)) from None
    meeting = get_meeting(meeting_id)
    session = db.session()
    if session.get(Vote, (meeting_id, definition.vote_id)) is not None:
        raise conflict("exists", f"vote {definition.vote_id!r} already exists")
    position = (session.scalar(select(func.max(Vote.position)).where(Vote.meeting_id == meeting_id)) or 0) + 1
    if meeting.state == "setup":
        vote = Vote(meeting_id=meeting_id, vote_id=definition.vote_id, position=position, entry=definition.entry,
                    vote_hash=definition.hash, state="pending", logged=False)
        session.add(vote)
        record_event(actor, "vote.define", meeting_id, {"vote_id": definition.vote_id})
        session.commit()
        return vote
    session.rollback()
    with logstore.writing(meeting_id) as log:
        vote = Vote(meeting_id=meeting_id, vote_id=definition.vote_id, position=position, entry=definition.entry,
                    vote_hash=definition.hash, state="pending", logged=True)
        log.session.add(vote)
        log.append(definition.entry)
        log.sign_tree_head()
        record_event(actor, "vote.define", meeting_id, {"vote_id": definition.vote_id}, session=log.session)
    return vote


def meeting_entry_for(meeting: Meeting, trustees: list[Trustee]) -> dict[str, Any]:
    # seal() has refused a trustee without an announcement: none is None here
    announced = [t.announcement for t in trustees if t.announcement is not None]
    try:
        trustees_json, public_key = meeting_trustees(announced, meeting_id=meeting.id)
    except PiaojueError as exc:
        raise APIError("ceremony_incomplete", f"the trustees' announcements do not combine: {exc}") from None
    for item, trustee in zip(trustees_json, trustees):
        item["name"] = trustee.name
    return {
        "type": "meeting",
        "spec": "piaojue/1",
        "meeting_id": meeting.id,
        "title": meeting.title,
        "body": meeting.body,
        "members": meeting.members,
        "quorum": meeting.quorum,
        "log_key": meeting.log_public_key.hex(),
        "threshold": meeting.threshold,
        "trustees": trustees_json,
        "public_key": public_key,
    }


def seal(meeting_id: str, *, actor: str) -> dict[str, Any]:
    """Start the log: the §6.3 meeting entry, the credentials registered so far, the agenda."""
    with logstore.writing(meeting_id) as log:
        meeting = log.meeting
        require_setup(meeting)
        session = log.session
        trustees = list(session.scalars(select(Trustee).where(Trustee.meeting_id == meeting_id).order_by(Trustee.index)))
        missing = [t.index for t in trustees if t.announcement is None or not t.confirmed]
        if missing:
            raise APIError("ceremony_incomplete", f"trustees {missing} have not announced and confirmed their shares", 409)
        try:
            check_public_key(meeting.log_public_key)
        except CredentialError:
            # SPEC §8.1: under a small-order (or mixed-order) log key tree heads could be forged.
            raise APIError("invalid_log_key", "the meeting's log key is not an Ed25519 point of prime order; "
                           "the meeting cannot be sealed with it", 409) from None
        entry = meeting_entry_for(meeting, trustees)
        try:
            verify_meeting(parse_meeting(entry))
        except PiaojueError as exc:
            raise APIError("ceremony_incomplete", str(exc)) from None
        log.append(entry)
        meeting.meeting_hash = meeting_hash(entry)
        meeting.public_key = entry["public_key"]
        meeting.state = "sealed"
        pending = list(session.scalars(select(Credential).where(Credential.meeting_id == meeting_id)))
        if pending:
            index = log.append({"type": "credentials", "add": sorted(c.public_key for c in pending), "revoke": []})
            for credential in pending:
                credential.state = "registered"
                credential.registered_index = index
        for vote in session.scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.position)):
            log.append(vote.entry)
            vote.logged = True
        log.sign_tree_head()
        record_event(actor, "meeting.seal", meeting_id, {"credentials": len(pending)}, session=session)
        return entry
