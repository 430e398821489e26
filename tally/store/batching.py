"""Group commit: concurrent requests for the same meeting share one locked transaction.

Every ballot must be appended under the meeting's lock, and a transaction's fixed costs (the
lock, syncing the Merkle tree, signing a tree head, the commit) dwarf the cost of one more row.
So a request hands its already-verified item to :class:`GroupCommit` and waits: the first
waiting request becomes the *leader* and runs one batch with everything queued for that meeting
(its own item included), in one transaction, then passes leadership to the next queued request
if there is one, and returns. Each item gets its own result or its own error; a failure of the
transaction itself (the database is down) is the error of every item in that batch.

This is per process: several instances still serialise through the database lock.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Payload = TypeVar("Payload")


@dataclass(eq=False)
class Item(Generic[Payload]):
    """One request's work: ``payload`` in, ``result`` or ``error`` out."""

    payload: Payload
    result: Any = None
    error: BaseException | None = None
    finished: bool = False
    promoted: bool = False
    wake: threading.Event = field(default_factory=threading.Event)


class GroupCommit(Generic[Payload]):
    def __init__(self, run_batch: Callable[[str, Sequence[Item[Payload]]], None], max_batch: int = 256) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._guard = threading.Lock()
        self._queues: dict[str, deque[Item[Payload]]] = defaultdict(deque)
        self._leading: set[str] = set()

    def submit(self, key: str, payload: Payload) -> Any:
        """Run ``payload`` in the next batch for ``key``; return its result or raise its error."""
        item: Item[Payload] = Item(payload)
        with self._guard:
            self._queues[key].append(item)
            lead = key not in self._leading
            if lead:
                self._leading.add(key)
        if not lead:
            item.wake.wait()
            if not item.finished:  # promoted: the previous leader left this item queued for us
                self._lead(key)
        else:
            self._lead(key)
        assert item.finished
        if item.error is not None:
            raise item.error
        return item.result

    def _lead(self, key: str) -> None:
        with self._guard:
            queue = self._queues[key]
            batch = [queue.popleft() for _ in range(min(len(queue), self._max_batch))]
        try:
            self._run_batch(key, batch)
        except BaseException as exc:  # noqa: BLE001 - the transaction failed: every item in it fails
            # Even an item already rejected inside it: that rejection was judged against writes
            # that were never committed (e.g. ``already_voted`` after an earlier item of the
            # batch), so the client gets the transaction's error and a retry gets the truth.
            for item in batch:
                item.result = None
                item.error = exc
        finally:
            with self._guard:
                for item in batch:
                    item.finished = True
                    item.wake.set()
                queue = self._queues[key]
                if queue:
                    successor = queue[0]
                    successor.promoted = True
                    successor.wake.set()
                else:
                    self._leading.discard(key)
                    del self._queues[key]
