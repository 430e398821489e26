"""Garbage-collector settings for a long-running tally instance (docs/performance.md, bench live).

An instance serving 1,500 WebSockets holds about 420,000 objects the collector tracks. Under
CPython's default thresholds (700, 10, 10), `python -m bench live` measured a full collection
every 2–14 s while ballots streamed in, each stopping the whole process (the gevent hub, every
socket, the message-queue listener) for 90–440 ms: the presidium's ``turnout`` waited behind
them, and its p99 missed 250 ms. Two settings remove those stops without giving up the collector:

- **freeze what exists once the app is loaded** (:func:`gc.freeze`): modules, classes, the app,
  its engines: about 140,000 objects that live as long as the process, so no collection needs to
  scan them again (a full collection of them alone took 70 ms);
- **a larger first threshold** (:data:`THRESHOLD0`, 10,000 instead of 700): requests' temporary
  objects mostly die by reference counting before a young collection sees them, so fewer are
  promoted, and the older generations, which the per-socket objects live in, fill up (and are
  scanned) far less often. Cyclic garbage is still collected, a little later.

gunicorn applies both in each worker after the app is loaded (deploy/gunicorn.conf.py,
``post_worker_init``; ``PIAOJUE_GC_TUNING=0`` keeps CPython's defaults). The gevent worker also
stops recording each greenlet's spawning tree (``GEVENT_TRACK_GREENLET_TREE=0``: about 19
objects per socket, and work at every spawn, that only debugging uses).

:class:`PauseLog` records every collection's pause in a file (``PIAOJUE_GC_LOG``), which
``bench live`` reads to report the pauses that fell inside each ballot stream.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any, TextIO

THRESHOLD0 = 10_000
"""Allocations (net of deallocations) between two young collections; CPython's default is 700."""


def apply(threshold0: int = THRESHOLD0) -> None:
    """Collect once, freeze every object that exists now, and raise the first threshold."""
    if threshold0 < 1:
        raise ValueError(f"threshold0 must be at least 1, not {threshold0}")
    gc.collect()
    gc.freeze()
    _, threshold1, threshold2 = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, threshold2)


class PauseLog:
    """Appends one line per garbage collection to ``folder/gc-<pid>.log``:
    ``<time.monotonic() at its end> <generation> <pause in ms> <objects collected>``, after a
    header line ``# pid=… threshold=… frozen=…`` stating the policy in force."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / f"gc-{os.getpid()}.log"
        self._out: TextIO = open(self.path, "a", buffering=1, encoding="ascii")  # noqa: SIM115 - the process's lifetime
        self._started = 0.0
        self._out.write(f"# pid={os.getpid()} threshold={','.join(map(str, gc.get_threshold()))} "
                        f"frozen={gc.get_freeze_count()}\n")
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - self._started) * 1000
        self._out.write(f"{time.monotonic():.4f} {info['generation']} {pause_ms:.2f} {info['collected']}\n")

    def close(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
        self._out.close()


def read_pauses(path: str | os.PathLike[str]) -> tuple[dict[str, str], list[tuple[float, int, float]]]:
    """A :class:`PauseLog` file: its header fields, and (end time, generation, pause in s) per
    collection."""
    header: dict[str, str] = {}
    pauses: list[tuple[float, int, float]] = []
    for line in Path(path).read_text(encoding="ascii").splitlines():
        if line.startswith("#"):
            for field in line[1:].split():
                if "=" in field:
                    key, value = field.split("=", 1)
                    header[key] = value
        elif line.strip():
            at, generation, pause_ms, _collected = line.split()
            pauses.append((float(at), int(generation), float(pause_ms) / 1000))
    return header, pauses
