"""CPU-bound work kept off the gevent hub.

Under gunicorn's gevent worker (deploy/gunicorn.conf.py) every request and every WebSocket of
an instance is a greenlet of one OS thread. A ballot's §4.3 check is CPU-bound for milliseconds
(about 2 ms for a resolution, 14 ms for 20 of 23 projects: docs/performance.md) and never
yields, so while it runs nothing else of the instance does: not the other requests, not the
message queue's listener, not the ``turnout`` fan-out to the presidium. :func:`cpu_bound` runs
such work in a small pool of real threads instead; the calling greenlet waits, the hub goes on.
The group arithmetic is libsodium, called through ctypes, which releases the GIL, so the pool
also uses the second core. Its size, ``CPU_THREADS``, caps the verifications in flight per
instance: more would only queue on the cores and on the GIL.

Under the threading mode (gthread worker, the development server, tests) requests are already
threads: the work runs in the caller.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")
CPU_THREADS = max(2, os.cpu_count() or 2)

_pool: Any = None
_pool_pid: int | None = None
_pool_guard = threading.Lock()


def _gevent_pool() -> Any:
    """gevent's pool of native threads for this process, or None when gevent has not patched
    ``threading`` (no hub to keep free). Created lazily, so once per forked worker."""
    global _pool, _pool_pid
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a pinned dependency
        return None
    if not monkey.is_module_patched("threading"):
        return None
    if _pool is None or _pool_pid != os.getpid():
        with _pool_guard:
            if _pool is None or _pool_pid != os.getpid():
                from gevent.threadpool import ThreadPool

                _pool, _pool_pid = ThreadPool(CPU_THREADS), os.getpid()
    return _pool


def cpu_bound(function: Callable[..., Result], *args: Any) -> Result:
    """``function(*args)``, in a native thread under gevent (the greenlet waits, other greenlets
    run), in the caller otherwise. Its exception, if any, is raised here. ``function`` must not
    touch gevent objects, the database session or Flask's context: pure computation only
    (ballot/)."""
    pool = _gevent_pool()
    if pool is None:
        return function(*args)
    return pool.apply(function, args)
