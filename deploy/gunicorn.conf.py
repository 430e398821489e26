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
"""

import os
import resource

bind = os.environ.get("PIAOJUE_BIND", "127.0.0.1:8000")
workers = 1
worker_class = os.environ.get("PIAOJUE_WORKER", "gevent")
if worker_class not in ("gthread", "gevent"):
    raise ValueError(f"PIAOJUE_WORKER must be gthread or gevent, not {worker_class!r}")
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
