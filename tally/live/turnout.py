"""Coalesced ``turnout`` delivery for the live channel (SPEC §11, docs/spec-notes.md).

SPEC §11 says every joined client receives ``turnout`` events; it does not say one per ballot.
Intake announces turnout once per group-commit batch, which at hundreds of ballots per second is
dozens of broadcasts per second, each written to every connected tablet (3,000 in a national
session): more than two cores can write. So each instance delivers to its own clients, per room
and vote:

- **at most one ``turnout`` per interval**: 0.1 s for the staff room (the presidium console,
  ``LIVE_TURNOUT_STAFF_INTERVAL``), 1 s for everyone else in the meeting room (tablets, which
  ignore it, and the hall screen; ``LIVE_TURNOUT_INTERVAL``). The first change after a quiet
  interval goes out at once (leading edge); changes inside the interval are merged into one event
  sent when it ends (trailing edge), so the latest count is always delivered, at most one
  interval late. Staff clients get turnout from the staff room only (the meeting room's events
  skip them), so each client has one sequence;
- **never a lower count after a higher one**: counts only grow within a vote (a re-cast replaces
  a ballot, it does not remove one), so an event whose ``cast`` is not above what the room was
  last sent (or has pending) is dropped. With several instances, two batches committed on two
  instances can reach Redis in the opposite order; this rule keeps every client's sequence
  non-decreasing anyway;
- **order with the other events**: any other event to the meeting room (``vote_state``,
  ``result``, ``presence``, ``vote_hold`` …) first sends the pending turnout of that room and of
  its staff room, so e.g. the final count always arrives before ``vote_state`` ``closed``;
- **a client that joins** is sent the current count directly; room events that are not above
  that count skip it, so its sequence stays non-decreasing too.

Emits are still published to the message queue once per batch (Redis traffic is small); only the
fan-out to each instance's own sockets is coalesced. The rule lives in the client manager
(python-socketio's ``Manager`` / ``RedisManager``) because that is where every instance sees
every room event, its own and those from other instances, in one order. With intervals of 0
(the default under ``TESTING``) every increase is delivered at once, in the caller's thread.

:class:`LiveRedisManager` also caps the Redis listener's reconnection back-off at 5 s.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import socketio

TURNOUT_INTERVAL = 1.0  # the meeting room: tablets and the hall screen
STAFF_TURNOUT_INTERVAL = 0.1  # the staff room: the presidium console
ROOM_PREFIX = "meeting:"
STAFF_PREFIX = "staff:"
FAN_OUT_CHUNK = 200
LISTEN_RETRY_MAX = 5.0  # seconds between two reconnections of the message queue's listener


@dataclass
class _RoomVote:
    """What one room has been sent for one vote."""

    sent_cast: int = -1
    sent_at: float = float("-inf")
    pending: dict[str, Any] | None = None
    floors: dict[str, int] = field(default_factory=dict)  # sid → count it was sent on joining

    def top(self) -> int:
        return self.pending["cast"] if self.pending is not None else self.sent_cast


class TurnoutGate(socketio.Manager):
    """A python-socketio client manager whose ``emit`` is the local fan-out: the in-process
    manager's emit, or, placed after ``PubSubManager`` in the MRO (:class:`LiveRedisManager`),
    what ``PubSubManager._handle_emit`` calls for every event published by any instance.

    Locks: ``_gate_state_lock`` guards the bookkeeping and is held only briefly, so the message
    queue's listener is never stuck behind a fan-out. Sending holds the room's *send lock* (one
    for meeting rooms, one for staff rooms; taken in that order when both are needed), so a
    room's events leave in order, while the staff rooms, a few sockets each, never wait for
    the meeting room's fan-out to thousands. Each kind has its own trailing-edge task."""

    def _gate_setup(self, namespace: str, interval: float, staff_interval: float) -> None:
        self.gate_namespace = namespace
        self.gate_interval = max(0.0, float(interval))
        self.gate_staff_interval = max(0.0, float(staff_interval))
        self._gate_state_lock = threading.Lock()
        self._gate_send_locks = {False: threading.RLock(), True: threading.RLock()}  # staff? → lock
        self._gate_state: dict[tuple[str, str], _RoomVote] = {}
        self._gate_wakes: dict[bool, Any] = {}

    # ------------------------------------------------------------------ the fan-out

    def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        room = to or room
        if (namespace != self.gate_namespace or not isinstance(room, str) or callback is not None or skip_sid
                or not room.startswith((ROOM_PREFIX, STAFF_PREFIX))):
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                callback=callback, **kwargs)
        if event == "turnout" and _is_turnout(data):
            self._gate_turnout(room, data)
            return None
        if room.startswith(STAFF_PREFIX):  # seat map events: no order with turnout to keep
            return super().emit(event, data, namespace, room=room, **kwargs)
        with self._gate_send_locks[False], self._gate_send_locks[True]:  # the pending turnout goes first
            for key_room in (room, _staff_room(room)):
                for vote_id in self._gate_pending_votes(key_room):
                    self._gate_send(key_room, vote_id)
            return super().emit(event, data, namespace, room=room, **kwargs)

    def catch_up(self, sid: str, room: str, payload: dict[str, Any]) -> None:
        """Send a joining client the current ``turnout`` of meeting room ``room`` (read from the
        database) directly, and keep later events of that room or its staff room that are not
        above it from reaching that client."""
        with self._gate_send_locks[False], self._gate_send_locks[True]:  # no fan-out in flight
            if _is_turnout(payload):
                with self._gate_state_lock:
                    for key_room in (room, _staff_room(room)):
                        state = self._gate_state.setdefault((key_room, payload["vote_id"]), _RoomVote())
                        if payload["cast"] > state.sent_cast:
                            state.floors[sid] = payload["cast"]
            super().emit("turnout", payload, self.gate_namespace, room=sid)

    # ------------------------------------------------------------------ internals

    def _interval(self, room: str) -> float:
        return self.gate_staff_interval if room.startswith(STAFF_PREFIX) else self.gate_interval

    def _gate_turnout(self, room: str, payload: dict[str, Any]) -> None:
        staff = room.startswith(STAFF_PREFIX)
        with self._gate_state_lock:
            state = self._gate_state.setdefault((room, payload["vote_id"]), _RoomVote())
            if payload["cast"] <= state.top():
                return  # stale (another instance's earlier batch) or unchanged
            state.pending = dict(payload)
        if self._interval(room) <= 0:
            with self._gate_send_locks[staff]:
                self._gate_send(room, payload["vote_id"])
            return
        self._gate_wake(staff)

    def _gate_pending_votes(self, room: str) -> list[str]:
        with self._gate_state_lock:
            return [vote_id for (key_room, vote_id), state in self._gate_state.items()
                    if key_room == room and state.pending is not None]

    def _gate_send(self, room: str, vote_id: str) -> None:
        """Send the pending turnout of ``room`` for ``vote_id``, if any. Caller holds the room's
        send lock, so what is taken here leaves before anything taken after it."""
        with self._gate_state_lock:
            state = self._gate_state[(room, vote_id)]
            payload = state.pending
            if payload is None:
                return
            state.pending = None
            state.sent_cast, state.sent_at = payload["cast"], time.monotonic()
            skip: list[str] = []
            if state.floors:
                skip = [sid for sid, floor in state.floors.items() if floor >= payload["cast"]]
                state.floors = {sid: floor for sid, floor in state.floors.items() if floor > payload["cast"]}
        if room.startswith(STAFF_PREFIX):
            super().emit("turnout", payload, self.gate_namespace, room=room, skip_sid=skip or None)
            return
        # The meeting room: staff clients get turnout from the staff room. Thousands of sockets are
        # written in chunks, letting other work (requests, the message queue, the staff rooms'
        # task) run in between.
        skip.extend(sid for sid, _eio_sid in self.get_participants(self.gate_namespace, _staff_room(room)))
        skipped = set(skip)
        sids = [sid for sid, _eio in self.get_participants(self.gate_namespace, room) if sid not in skipped]
        for start in range(0, len(sids), FAN_OUT_CHUNK):
            if start:
                self.server.sleep(0)
            super().emit("turnout", payload, self.gate_namespace, room=sids[start:start + FAN_OUT_CHUNK])

    def _gate_due(self, staff: bool) -> tuple[list[tuple[str, str]], float | None]:
        """The (room, vote) pairs of one kind whose pending turnout is due now, and when the next
        one not yet due will be (None: nothing else pending)."""
        now = time.monotonic()
        due: list[tuple[str, str]] = []
        next_due: float | None = None
        with self._gate_state_lock:
            for (key_room, vote_id), state in self._gate_state.items():
                if state.pending is None or key_room.startswith(STAFF_PREFIX) != staff:
                    continue
                at = state.sent_at + self._interval(key_room)
                if now >= at:
                    due.append((key_room, vote_id))
                else:
                    next_due = at if next_due is None else min(next_due, at)
        return due, next_due

    def _gate_wake(self, staff: bool) -> None:
        wake = self._gate_wakes.get(staff)
        if wake is None:
            with self._gate_state_lock:
                wake = self._gate_wakes.get(staff)
                if wake is None:
                    wake = self._gate_wakes[staff] = self.server.eio.create_event()
                    self.server.start_background_task(self._gate_loop, staff, wake)
        wake.set()

    def _gate_loop(self, staff: bool, wake: Any) -> None:
        """The trailing edge of one kind of room (staff or meeting): a background task (a thread,
        or a greenlet under gevent) that sends what falls due."""
        while True:
            wake.clear()
            try:
                with self._gate_send_locks[staff]:
                    due, next_due = self._gate_due(staff)
                    for key_room, vote_id in due:
                        self._gate_send(key_room, vote_id)
                    if due:
                        next_due = self._gate_due(staff)[1]
            except Exception:  # a failed send must not end the loop
                self.server.logger.exception("turnout delivery failed")
                next_due = time.monotonic() + self.gate_staff_interval
            timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
            wake.wait(timeout)


def _staff_room(room: str) -> str:
    return STAFF_PREFIX + room[len(ROOM_PREFIX):]


def _is_turnout(data: Any) -> bool:
    return (isinstance(data, dict) and isinstance(data.get("vote_id"), str)
            and isinstance(data.get("cast"), int) and not isinstance(data.get("cast"), bool))


class LiveManager(TurnoutGate):
    """The in-process client manager (no message queue) with coalesced turnout."""

    def __init__(self, namespace: str, interval: float, staff_interval: float) -> None:
        super().__init__()
        self._gate_setup(namespace, interval, staff_interval)


class LiveRedisManager(socketio.RedisManager, TurnoutGate):
    """Redis message queue; the local fan-out (``_handle_emit`` → ``Manager.emit``) coalesces
    turnout. MRO: LiveRedisManager, RedisManager, PubSubManager, TurnoutGate, Manager.

    The listener reconnects to a Redis that went away after 1, 2, 4 s, then every
    :data:`LISTEN_RETRY_MAX` s (python-socketio doubles up to 60 s, so after an outage of a
    minute the other instances' events could stay away for nearly another minute;
    docs/reliability.md "Faults")."""

    def __init__(self, url: str, channel: str, namespace: str, interval: float,
                 staff_interval: float) -> None:
        super().__init__(url, channel=channel, write_only=False)
        self._gate_setup(namespace, interval, staff_interval)

    def _redis_listen_with_retries(self):
        """python-socketio 5.18's listener loop (RedisManager._redis_listen_with_retries), with
        the back-off capped at :data:`LISTEN_RETRY_MAX`."""
        retry_sleep = 1.0
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                retry_sleep = 1.0
                yield from self.pubsub.listen()
            except Exception as exc:  # noqa: BLE001 - any Redis failure: reconnect
                self._get_logger().error("Cannot receive from redis... retrying in %s secs", retry_sleep,
                                         extra={"redis_exception": str(exc)})
                time.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, LISTEN_RETRY_MAX)
