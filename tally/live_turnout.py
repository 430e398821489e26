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
    what ``PubSubManager._handle_emit`` calls for every event published by any instance."""

    def _gate_setup(self, namespace: str, interval: float, staff_interval: float) -> None:
        self.gate_namespace = namespace
        self.gate_interval = max(0.0, float(interval))
        self.gate_staff_interval = max(0.0, float(staff_interval))
        self._gate_lock = threading.RLock()
        self._gate_state: dict[tuple[str, str], _RoomVote] = {}
        self._gate_wake: Any = None
        self._gate_task: Any = None

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
        with self._gate_lock:  # the pending turnout goes first
            self._gate_flush(rooms=(room, _staff_room(room)))
            return super().emit(event, data, namespace, room=room, **kwargs)

    def catch_up(self, sid: str, room: str, payload: dict[str, Any]) -> None:
        """Send a joining client the current ``turnout`` of meeting room ``room`` (read from the
        database) directly, and keep later events of that room or its staff room that are not
        above it from reaching that client."""
        with self._gate_lock:
            if _is_turnout(payload):
                for key_room in (room, _staff_room(room)):
                    state = self._gate_state.setdefault((key_room, payload["vote_id"]), _RoomVote())
                    if payload["cast"] > state.sent_cast:
                        state.floors[sid] = payload["cast"]
            super().emit("turnout", payload, self.gate_namespace, room=sid)

    # ------------------------------------------------------------------ internals

    def _interval(self, room: str) -> float:
        return self.gate_staff_interval if room.startswith(STAFF_PREFIX) else self.gate_interval

    def _gate_turnout(self, room: str, payload: dict[str, Any]) -> None:
        with self._gate_lock:
            state = self._gate_state.setdefault((room, payload["vote_id"]), _RoomVote())
            if payload["cast"] <= state.top():
                return  # stale (another instance's earlier batch) or unchanged
            state.pending = dict(payload)
            if self._interval(room) <= 0:
                self._gate_send(room, state, time.monotonic())
                return
            self._gate_start()
            self._gate_wake.set()

    def _gate_send(self, room: str, state: _RoomVote, now: float) -> None:
        payload = state.pending
        assert payload is not None
        state.pending = None
        state.sent_cast, state.sent_at = payload["cast"], now
        skip: list[str] = []
        if state.floors:
            skip = [sid for sid, floor in state.floors.items() if floor >= payload["cast"]]
            state.floors = {sid: floor for sid, floor in state.floors.items() if floor > payload["cast"]}
        if room.startswith(STAFF_PREFIX):
            super().emit("turnout", payload, self.gate_namespace, room=room, skip_sid=skip or None)
            return
        # The meeting room: staff clients get turnout from the staff room. Thousands of sockets are
        # written in chunks, letting other work (requests, the message queue) run in between.
        skip.extend(sid for sid, _eio_sid in self.get_participants(self.gate_namespace, _staff_room(room)))
        skipped = set(skip)
        sids = [sid for sid, _eio in self.get_participants(self.gate_namespace, room) if sid not in skipped]
        for start in range(0, len(sids), FAN_OUT_CHUNK):
            if start:
                self.server.sleep(0)  # type: ignore[attr-defined]
            super().emit("turnout", payload, self.gate_namespace, room=sids[start:start + FAN_OUT_CHUNK])

    def _gate_flush(self, rooms: tuple[str, ...] | None = None, due_only: bool = False) -> float | None:
        """Send pending turnouts (of ``rooms``, or all rooms; only those whose interval has passed
        if ``due_only``). Returns when the next pending one is due, or None. Caller holds the lock."""
        now = time.monotonic()
        next_due: float | None = None
        # staff rooms first: a few sockets, the shorter interval
        ordered = sorted(self._gate_state.items(), key=lambda item: not item[0][0].startswith(STAFF_PREFIX))
        for (key_room, _vote_id), state in ordered:
            if state.pending is None or (rooms is not None and key_room not in rooms):
                continue
            due = state.sent_at + self._interval(key_room)
            if due_only and now < due:
                next_due = due if next_due is None else min(next_due, due)
                continue
            self._gate_send(key_room, state, now)
        return next_due

    def _gate_start(self) -> None:
        if self._gate_task is None:
            self._gate_wake = self.server.eio.create_event()  # type: ignore[attr-defined]
            self._gate_task = self.server.start_background_task(self._gate_loop)  # type: ignore[attr-defined]

    def _gate_loop(self) -> None:
        """The trailing edge: one background task per manager (a thread, or a greenlet under
        gevent) sends what falls due."""
        while True:
            with self._gate_lock:
                self._gate_wake.clear()
                try:
                    next_due = self._gate_flush(due_only=True)
                except Exception:  # noqa: BLE001 - a failed send must not end the loop
                    self.server.logger.exception("turnout delivery failed")  # type: ignore[attr-defined]
                    next_due = time.monotonic() + self.gate_staff_interval
            timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
            self._gate_wake.wait(timeout)


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
    turnout. MRO: LiveRedisManager, RedisManager, PubSubManager, TurnoutGate, Manager."""

    def __init__(self, url: str, channel: str, namespace: str, interval: float,
                 staff_interval: float) -> None:
        super().__init__(url, channel=channel, write_only=False)
        self._gate_setup(namespace, interval, staff_interval)
