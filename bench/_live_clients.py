"""Client processes for ``bench.live``: many kiosk sockets per process, and the presidium.

Kiosks: one asyncio event loop holds hundreds or thousands of Socket.IO clients. Each speaks the
wire protocol directly (RFC 6455 WebSocket, Engine.IO 4 and Socket.IO 5 text packets: open,
ping/pong, namespace connect, ``join`` with an ack, events), a few microseconds per message, so
3,000 of them fit beside the server on the same two cores; python-socketio's own client costs
tens of times more per connection. Each socket is opened from a given loopback source address
(127.0.K.x), so nginx's ``ip_hash`` spreads them over the instances as it would spread tablets
on different subnets.

Presidium: python-socketio's real ``Client`` (over websocket-client), authenticated with a staff
token, one per presidium member.

Both record every event of the measured vote with ``time.monotonic()`` (CLOCK_MONOTONIC, one
clock for every process on the machine) and report through a ``multiprocessing`` pipe:
``("ready", stats)`` once every client has joined, then, on ``("collect", vote_id, timeout)``,
``("events", [...])`` once every client has seen ``vote_state`` ``closed`` (or the timeout).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import socket
import time
from dataclasses import dataclass, field
from typing import Any, cast

NAMESPACE = "/live"
CONNECT_PARALLEL = 64


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Record:
    """One client's outcome: its source address, whether it joined, whether the socket stayed
    open, and the events received after joining as (monotonic time, name, payload)."""

    source: str
    joined: bool = False
    dropped: bool = False
    error: str = ""
    events: list[tuple[float, str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Kiosks: a minimal Socket.IO-over-WebSocket client on asyncio


class KioskProtocol(asyncio.Protocol):
    def __init__(self, record: Record, meeting_id: str, host: str, joined: asyncio.Future[bool]) -> None:
        self.record = record
        self.meeting_id = meeting_id
        self.host = host
        self.joined = joined
        self.closed: dict[str, asyncio.Future[bool]] = {}  # vote_id → set on its vote_state closed
        self.stopping = False
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    # -- transport callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP connection: a full Transport
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self._fail(f"upgrade refused: {status[:80]!r}")
                return
            del self.buffer[:end + 4]
            self.upgraded = True
        self._frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stopping:
            self._fail("connection lost")

    def closed_future(self, vote_id: str) -> asyncio.Future[bool]:
        if vote_id not in self.closed:
            self.closed[vote_id] = asyncio.get_running_loop().create_future()
        return self.closed[vote_id]

    # -- WebSocket framing (server frames are unmasked)

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length, start = b1 & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = int.from_bytes(buf[2:10], "big"), 10
            mask = b""
            if b1 & 0x80:
                mask, start = bytes(buf[start:start + 4]), start + 4
            if len(buf) < start + length:
                return
            payload = bytes(buf[start:start + length])
            del buf[:start + length]
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode in (0, 1):
                self.fragments.append(payload)
                if b0 & 0x80:
                    message, self.fragments = b"".join(self.fragments), []
                    self._message(message.decode())
            elif opcode == 8:
                self._fail("closed by the server")
                if self.transport is not None:
                    self.transport.close()
                return
            elif opcode == 9:
                self._send_frame(0x8A, payload)

    def _send_frame(self, head: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = bytes([head, 0x80 | n])
        elif n < 65536:
            header = bytes([head, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([head, 0x80 | 127]) + n.to_bytes(8, "big")
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        self.transport.write(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(0x81, text.encode())

    # -- Engine.IO / Socket.IO packets

    def _message(self, text: str) -> None:
        kind = text[:1]
        if kind == "2":  # Engine.IO ping → pong
            self.send_text("3")
        elif kind == "0":  # Engine.IO open → Socket.IO connect to /live
            self.send_text(f"40{NAMESPACE},")
        elif kind == "4":
            self._socketio(text[1:])
        elif kind == "1":
            self._fail("closed by the server")

    def _socketio(self, packet: str) -> None:
        kind, rest = packet[:1], packet[1:]
        if rest.startswith(NAMESPACE + ","):
            rest = rest[len(NAMESPACE) + 1:]
        if kind == "2":  # event
            name, *args = json.loads(rest)
            self.record.events.append((time.monotonic(), name, args[0] if args else None))
            if name == "vote_state" and args and args[0].get("state") == "closed":
                closed = self.closed_future(args[0].get("vote_id"))
                if not closed.done():
                    closed.set_result(True)
        elif kind == "0":  # connected to the namespace → join (ack id 1)
            self.send_text(f"42{NAMESPACE},1" + json.dumps(["join", {"meeting": self.meeting_id}]))
        elif kind == "3":  # the join ack
            ack = json.loads(rest[rest.index("["):])[0]
            if ack.get("joined") == self.meeting_id:
                self.record.joined = True
                if not self.joined.done():
                    self.joined.set_result(True)
            else:
                self._fail(f"join refused: {ack}")
        elif kind == "4":
            self._fail(f"connect refused: {rest[:80]}")

    def _fail(self, reason: str) -> None:
        if not self.joined.done():
            self.record.error = self.record.error or reason
            self.joined.set_result(False)
        else:  # lost after joining
            self.record.dropped = True
            self.record.error = self.record.error or reason
        for closed in self.closed.values():
            if not closed.done():
                closed.set_result(False)
        if self.transport is not None:
            self.transport.close()


async def _open(loop: asyncio.AbstractEventLoop, record: Record, host: str, port: int, meeting_id: str,
                gate: asyncio.Semaphore, timeout: float) -> KioskProtocol | None:
    async with gate:
        joined: asyncio.Future[bool] = loop.create_future()
        try:
            _transport, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: KioskProtocol(record, meeting_id, f"{host}:{port}", joined),
                                       host, port, local_addr=(record.source, 0)),
                timeout,
            )
            await asyncio.wait_for(joined, timeout)
        except (TimeoutError, OSError) as exc:
            record.error = record.error or f"{type(exc).__name__}: {exc}"
            return None
        return protocol


async def _kiosks(pipe: Any, host: str, port: int, meeting_id: str, sources: list[str]) -> None:
    loop = asyncio.get_running_loop()
    records = [Record(source) for source in sources]
    gate = asyncio.Semaphore(CONNECT_PARALLEL)
    started = time.monotonic()
    protocols = await asyncio.gather(*(_open(loop, r, host, port, meeting_id, gate, 120.0) for r in records))
    live = [p for p in protocols if p is not None]
    pipe.send(("ready", {"clients": len(records), "joined": sum(r.joined for r in records),
                         "seconds": time.monotonic() - started,
                         "errors": sorted({r.error for r in records if r.error})[:5]}))
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "collect":
            _, vote_id, timeout = command
            pending = [p.closed_future(vote_id) for p in live if not p.record.dropped]
            pending = [f for f in pending if not f.done()]
            if pending:
                await asyncio.wait(pending, timeout=timeout)
            pipe.send(("events", [_summary(r, vote_id) for r in records]))
        elif command[0] == "stop":
            for p in live:
                p.stopping = True
                if p.transport is not None:
                    p.transport.close()
            await asyncio.sleep(0.2)
            return


def _summary(record: Record, vote_id: str) -> tuple[str, bool, bool, str, list[tuple[float, str, Any]]]:
    events = [(t, name, payload) for t, name, payload in record.events
              if name in ("turnout", "vote_state") and isinstance(payload, dict) and payload.get("vote_id") == vote_id]
    return record.source, record.joined, record.dropped, record.error, events


def kiosk_main(pipe: Any, host: str, port: int, meeting_id: str, sources: list[str]) -> None:
    """Entry point of a kiosk process: one client per entry of ``sources`` (its source address)."""
    raise_nofile()
    asyncio.run(_kiosks(pipe, host, port, meeting_id, sources))


# ---------------------------------------------------------------------------------------------
# Presidium: python-socketio's Client with a staff token


def presidium_main(pipe: Any, host: str, port: int, meeting_id: str, token: str, sources: list[str]) -> None:
    import threading

    import socketio

    raise_nofile()
    records = [Record(source) for source in sources]
    clients = []
    guard = threading.Lock()
    closed: list[dict[str, threading.Event]] = [{} for _ in sources]

    def closed_event(index: int, vote_id: str) -> threading.Event:
        with guard:
            return closed[index].setdefault(vote_id, threading.Event())

    for index, record in enumerate(records):
        # websocket-client connects a socket it is given: bind it to the source address first
        sock = socket.create_connection((host, port), timeout=30, source_address=(record.source, 0))
        client = socketio.Client(reconnection=False, websocket_extra_options={"socket": sock})

        def recorder(name: str, record: Record = record, index: int = index):
            def record_event(payload: Any) -> None:
                record.events.append((time.monotonic(), name, payload))
                if name == "vote_state" and isinstance(payload, dict) and payload.get("state") == "closed":
                    closed_event(index, cast("str", payload.get("vote_id"))).set()
            return record_event

        for name in ("turnout", "vote_state"):
            client.on(name, recorder(name), namespace=NAMESPACE)
        try:
            client.connect(f"http://{host}:{port}", namespaces=[NAMESPACE], transports=["websocket"],
                           auth={"token": token}, wait_timeout=30)
            ack = client.call("join", {"meeting": meeting_id}, namespace=NAMESPACE, timeout=30)
            record.joined = bool(ack and ack.get("joined") == meeting_id and ack.get("staff"))
            if not record.joined:
                record.error = f"join: {ack}"
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the run
            record.error = f"{type(exc).__name__}: {exc}"
        clients.append(client)
    pipe.send(("ready", {"clients": len(records), "joined": sum(r.joined for r in records),
                         "errors": [r.error for r in records if r.error]}))
    while True:
        command = pipe.recv()
        if command[0] == "collect":
            _, vote_id, timeout = command
            deadline = time.monotonic() + timeout
            for index in range(len(records)):
                closed_event(index, vote_id).wait(max(0.0, deadline - time.monotonic()))
            for record, client in zip(records, clients):
                record.dropped = record.joined and not client.connected
            pipe.send(("events", [_summary(r, vote_id) for r in records]))
        elif command[0] == "stop":
            for client in clients:
                if client.connected:
                    client.disconnect()
            return
