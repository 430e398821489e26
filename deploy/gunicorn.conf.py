"""gunicorn settings for one tally instance: one process (Flask-SocketIO keeps its clients in
process), many threads (ballot verification releases the GIL inside libsodium, and WebSocket
connections each hold a thread). Run several instances behind nginx for more cores."""

import os

bind = os.environ.get("PIAOJUE_BIND", "127.0.0.1:8000")
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("PIAOJUE_THREADS", "64"))
timeout = 120
graceful_timeout = 30
wsgi_app = "tally:create_app()"
