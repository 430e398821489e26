"""SQLAlchemy 2 models of the tally service.

The public log (``log_entries``) is the source of truth for everything SPEC.md defines; the
other tables are indexes and working state derived from it or kept beside it (roster, check-ins,
running aggregates, staff, the ceremony relay). Models import nothing from the web layer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy import (
    true as sa_true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("clerk", "presidium", "trustee", "auditor")
"""The staff roles, of API tokens (:mod:`tally.api.tokens`) and web accounts (:mod:`tally.web.logins`):
``clerk`` sets meetings up, ``presidium`` runs votes, ``trustee`` (bound to one meeting and trustee
index) relays the key ceremony and decrypts, ``auditor`` reads the audit trail."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Meeting(Base):
    """A meeting: its setup data, and once sealed its §6.3 entry at log index 0."""

    __tablename__ = "meetings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    members: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[str] = mapped_column(String(16))
    trustee_count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="setup")
    """``setup`` (roster, credentials, votes, ceremony) → ``sealed`` (the log has started)."""
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    log_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    log_private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    """The Ed25519 log key, AES-256-GCM under the configured key-encryption key (tally.store.logkeys)."""
    meeting_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    public_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    log_size: Mapped[int] = mapped_column(Integer, default=0)
    checkins: Mapped[int] = mapped_column(Integer, default=0)
    """How many active (registered, not revoked) credentials have checked in: the ``present`` an
    ``open`` entry would carry now. A revoked card leaves it; its replacement re-enters it."""
    checkin_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    """Whether new check-ins are accepted (the presidium closes and reopens check-in; a credential
    already checked in may always repeat its check-in). docs/spec-notes.md."""
    sth_timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The latest signed tree head's ``timestamp``: the next is never earlier, even if the
    clock goes back (SPEC §8.1: STHs in non-decreasing timestamp order)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Deputy(Base):
    """A roster row. Names never reach the log."""

    __tablename__ = "deputies"
    __table_args__ = (UniqueConstraint("meeting_id", "seat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    seat: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    group: Mapped[str | None] = mapped_column(Text, nullable=True)


class Credential(Base):
    """A registered credential public key (§4.2), its log state and its check-in."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("meeting_id", "public_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    public_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending`` (not yet in a credentials entry), ``registered``, ``revoked``."""
    registered_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Log index of the ``credentials`` entry that added it (null while ``pending``)."""
    checkin_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The n-th credential to check in (null: not checked in)."""
    admitted_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Checked in: an ``open`` entry at log index ≥ this admits it (the log size when it checked
    in, or for a replacement that inherits a check-in, the index after its ``credentials``
    entry). SPEC §5, §8.1: credentials are fixed at ``open``; a later one votes from the next
    vote on. Null: not checked in."""
    seat: Mapped[str | None] = mapped_column(String(32), nullable=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Vote(Base):
    """A vote definition (§4.1) and its running state."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("meeting_id", "position"),)

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    vote_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    entry: Mapped[dict] = mapped_column(JSON)
    vote_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending``, ``open``, ``closed``, ``published`` (SPEC §11)."""
    logged: Mapped[bool] = mapped_column(Boolean, default=False)
    present: Mapped[int | None] = mapped_column(Integer, nullable=True)
    open_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Log index of the vote's ``open`` entry: the credentials it admits are those with
    ``admitted_from ≤ open_index`` (SPEC §8.1)."""
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    """An open vote on hold (暂停) accepts no ballots and its timer is paused (docs/spec-notes.md)."""
    held_remaining_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """While held: the timer's time left, restored as ``closes_at`` on resume (null: no timer)."""
    ballots_logged: Mapped[int] = mapped_column(Integer, default=0)
    counted: Mapped[int] = mapped_column(Integer, default=0)
    aggregate: Mapped[list | None] = mapped_column(JSON, nullable=True)
    """Running sum of the counted ballots' ciphertexts: ``[[alpha_hex, beta_hex], …]`` in option order."""


class LogEntry(Base):
    """Entry ``idx`` of a meeting's §7 log: exactly the canonical JSON bytes ``d_i``."""

    __tablename__ = "log_entries"

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    vote_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


Index("ix_log_entries_vote", LogEntry.meeting_id, LogEntry.vote_id, LogEntry.type)


class TreeHead(Base):
    """Every signed tree head the service has issued (SPEC §7), for ``sths.jsonl``."""

    __tablename__ = "tree_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class SpoiledBallot(Base):
    """Index of logged §4.4 spoiled ballots by the hash of the challenged ballot: a ballot whose
    openings are public is never cast, and a cast ballot is never spoiled (docs/spec-notes.md)."""

    __tablename__ = "spoiled_ballots"
    __table_args__ = (Index("ix_spoiled_ballots_hash", "meeting_id", "ballot_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    vote_id: Mapped[str] = mapped_column(String(64))
    ballot_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_index: Mapped[int] = mapped_column(Integer)


class CastBallot(Base):
    """Index of logged ballots: where each is, and whether it still counts (recast, §5)."""

    __tablename__ = "ballots"
    __table_args__ = (
        UniqueConstraint("meeting_id", "ballot_hash"),
        ForeignKeyConstraint(["meeting_id", "vote_id"], ["votes.meeting_id", "votes.vote_id"], ondelete="CASCADE"),
        Index("ix_ballots_credential", "meeting_id", "vote_id", "credential"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(String(64))
    vote_id: Mapped[str] = mapped_column(String(64))
    credential: Mapped[str] = mapped_column(String(64))
    ballot_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_index: Mapped[int] = mapped_column(Integer)
    tree_head_id: Mapped[int] = mapped_column(ForeignKey("tree_heads.id"))
    counts: Mapped[bool] = mapped_column(Boolean, default=True)


class Trustee(Base):
    """A trustee of the meeting and its key-ceremony relay state (§6.1)."""

    __tablename__ = "trustees"

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    announcement: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint: Mapped[str | None] = mapped_column(Text, nullable=True)


class CeremonyMessage(Base):
    """An encrypted share envelope relayed from one trustee to another (§6.1 step 3)."""

    __tablename__ = "ceremony_messages"
    __table_args__ = (UniqueConstraint("meeting_id", "sender", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    sender: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[int] = mapped_column(Integer)
    message: Mapped[dict] = mapped_column(JSON)


class StaffToken(Base):
    """A staff member's API token (stored as its SHA-256) and role."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    meeting_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trustee_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """The staff audit trail: who did what, when (visible to auditors)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    meeting_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Pairing(Base):
    """A one-time code that binds a tablet to a seat (the clerk prints or reads it out)."""

    __tablename__ = "pairings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    seat: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# ------------------------------------------------------------------ staff web pages (issue #5)


class StaffUser(Base):
    """A staff member's web login (issue #5): an argon2id password hash and a role.

    ``role`` is one of ``clerk``, ``presidium``, ``trustee``, ``auditor`` (tally.api.tokens.ROLES); a
    trustee's account names its meeting and trustee index. Accounts are made with
    ``flask --app tally user add``; an inactive account cannot log in.
    """

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    meeting_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trustee_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginThrottle(Base):
    """Failed staff logins per (username, client address): after too many in a window the pair
    is locked out for a while (tally.web.logins). Kept in the database so that every instance
    behind the load balancer sees the same counts and a restart does not reset them."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
