"""gunicorn settings for one tally instance: one process (Flask-SocketIO keeps its clients in
process); run several instances behind nginx for more cores (docs/deployment.md).

``PIAOJUE_WORKER`` picks the worker, and with it Flask-SocketIO's async mode:

- ``gevent`` (default): one OS thread, a greenlet per connection (``PIAOJUE_CONNECTIONS`` at
  most); WebSocket through simple-websocket with gevent's primitives. psycopg 3 and redis-py
  cooperate through gevent's monkey-patching, which the worker applies before loading the app.
- ``gthread``: ``PIAOJUE_THREADS`` threads. Each WebSocket holds one of them for as long as it
  is open (plus engine.io's writer and simple-websocket's reader threads), so the thread count
  must exceed the WebSocket clients the instance serves, plus headroom for HTTP requests.

``python -m bench live`` measured both with 3,000 clients on two instances (docs/performance.md):
gevent took 142 ballots/s against gthread's 19, with about 70 KiB per socket against 120;
gthread needed 4 threads per socket (6,000 per instance) and, in one run, dropped sockets.

``PIAOJUE_GC_TUNING`` (1, the default, or 0) applies tally.ops.gc_tuning's garbage-collector
settings in the worker: in that benchmark they took the presidium's p99 from 221–238 ms to
119–122 ms in the same run, with no full collection during the ballot streams.
"""

import os
import resource

bind = os.environ.get("PIAOJUE_BIND", "127.0.0.1:8000")
workers = 1
worker_class = os.environ.get("PIAOJUE_WORKER", "gevent")
if worker_class not in ("gthread", "gevent"):
    raise ValueError(f"PIAOJUE_WORKER must be gthread or gevent, not {worker_class!r}")
gc_tuning = os.environ.get("PIAOJUE_GC_TUNING", "1")
if gc_tuning not in ("0", "1"):
    raise ValueError(f"PIAOJUE_GC_TUNING must be 0 or 1, not {gc_tuning!r}")
if gc_tuning == "1":  # read by gevent in the worker (tally.ops.gc_tuning)
    os.environ.setdefault("GEVENT_TRACK_GREENLET_TREE", "0")
threads = int(os.environ.get("PIAOJUE_THREADS", "64"))
worker_connections = int(os.environ.get("PIAOJUE_CONNECTIONS", "10000"))
# Flask-SocketIO must use the worker's concurrency model (read by tally.config in the worker).
os.environ["SOCKETIO_ASYNC_MODE"] = "gevent" if worker_class == "gevent" else "threading"
timeout = 120
graceful_timeout = 30
wsgi_app = "tally:create_app()"

# One file descriptor per client connection (and per database / Redis connection): raise the
# soft limit to the hard limit so a few thousand WebSockets fit.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _hard != resource.RLIM_INFINITY and _soft < _hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


def post_worker_init(worker):  # gunicorn's hook signature
    """Once the worker has loaded the app: the garbage-collector settings of tally.ops.gc_tuning
    (``PIAOJUE_GC_TUNING=0``: CPython's defaults), and with ``PIAOJUE_GC_LOG=<folder>`` a log of
    every collection's pause (read by ``python -m bench live``)."""
    from tally.ops import gc_tuning as tuning

    if gc_tuning == "1":
        tuning.apply()
    if os.environ.get("PIAOJUE_GC_LOG"):
        tuning.PauseLog(os.environ["PIAOJUE_GC_LOG"])
