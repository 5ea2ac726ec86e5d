"""The UDP flood scenarios of ``bench_asyncio.py``: a native sender in another process
flooding a socket (GSO bursts or sendmmsg), and a full socket queue drained (receive capacity
without GRO). See that script's docstring for the method."""

from __future__ import annotations

import asyncio
import functools
import socket
import subprocess
import sys
import time
from typing import Any

from asyncio_common import Contender, Result, Window
from giosocket import (
    InetSocketAddress,
    InputMessage,
    OutputMessage,
    Socket,
    SocketFamily,
    SocketProtocol,
    SocketType,
)
from giosocket import aio as gaio

# --- UDP flood receive ---------------------------------------------------------------------------

_SENDER = """
import socket, sys, time
import giosocket
port, seconds, mode = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
native = getattr(giosocket._giosocket, "_bench_udp_send", None)
print("ready", flush=True)
if native is not None:  # the bench feature's Rust loop (checkouts)
    native(s.fileno(), ("127.0.0.1", port), 64, mode, 64, seconds)
else:  # a release build: the same system calls, one Python call per 64 datagrams
    g = giosocket.Socket.new_from_fd(s.detach())
    to = giosocket.InetSocketAddress("127.0.0.1", port)
    if mode == "gso":
        batch = [giosocket.OutputMessage(to, b"f" * 4096, segment_size=64)]
    else:
        batch = [giosocket.OutputMessage(to, b"f" * 64) for _ in range(64)]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        g.send_messages(batch)
"""


class Flood:
    """A native sender in another process flooding ``port`` for ``seconds``.

    ``mode`` "gso": 64 datagrams per send as one UDP GSO buffer (a receiver with UDP GRO may
    get them as one); "sendmmsg": 64 separate datagrams per send.
    """

    def __init__(self, port: int, seconds: float, mode: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SENDER, str(port), str(seconds), mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.proc.stdout.readline()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _flood_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _first_datagram(ready: asyncio.Event) -> None:
    await asyncio.wait_for(ready.wait(), 10)


def flood_loop(receive: str, mode: str = "gso") -> Contender:
    """A receive loop: 'sock_recv_into', 'receive_into_async' or 'receive_messages_async'."""

    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        raw = _flood_socket()
        port = raw.getsockname()[1]
        flood = Flood(port, seconds + 10, mode)
        window = Window()
        try:
            buf = bytearray(2048)
            if receive == "sock_recv_into":
                raw.setblocking(False)
                await loop.sock_recv_into(raw, buf)
                deadline = time.perf_counter() + seconds
                window.start()
                while window.count & 63 or time.perf_counter() < deadline:
                    await loop.sock_recv_into(raw, buf)
                    window.count += 1
                return window.stop()
            sock = Socket.new_from_fd(raw.detach())
            try:
                if receive == "receive_into_async":
                    await sock.receive_into_async(buf)
                    deadline = time.perf_counter() + seconds
                    window.start()
                    while window.count & 63 or time.perf_counter() < deadline:
                        await sock.receive_into_async(buf)
                        window.count += 1
                    return window.stop()
                inputs = [InputMessage([bytearray(2048)]) for _ in range(64)]
                await sock.receive_messages_async(inputs)
                deadline = time.perf_counter() + seconds
                window.start()
                while time.perf_counter() < deadline:
                    window.count += await sock.receive_messages_async(inputs)
                return window.stop()
            finally:
                sock.close()
        finally:
            flood.stop()
            raw.close()

    return run


_QUEUED = 20000  # datagrams per fill of the flood_queue scenario (fewer if the buffer is small)


def _filled_socket() -> tuple[socket.socket, int]:
    """A UDP socket whose receive queue holds ``count`` 64 B datagrams: ``(socket, count)``.

    The datagrams come from ``sendmmsg`` calls of 64 separate datagrams (giosocket's
    ``send_messages``: no GSO, so the receiver gets them one per slot, as in any flood).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE (root)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    sock.bind(("127.0.0.1", 0))
    # a 64 B datagram takes about 1 KiB of receive buffer (its skb): stay well inside
    count = min(_QUEUED, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2048) // 64 * 64
    to = InetSocketAddress("127.0.0.1", sock.getsockname()[1])
    sender = Socket.new(SocketFamily.IPV4, SocketType.DATAGRAM, SocketProtocol.UDP)
    try:
        batch = [OutputMessage(to, b"q" * 64) for _ in range(64)]
        for _ in range(count // 64):
            sent = 0
            while sent < 64:
                sent += sender.send_messages(batch[sent:])
    finally:
        sender.close()
    return sock, count


def drain_loop(receive: str) -> Contender:
    """A receive loop draining a full queue: 'sock_recv_into' or 'receive_messages_async'."""

    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        count = cpu = wall = 0.0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            raw, queued = _filled_socket()
            window = Window()
            try:
                if receive == "sock_recv_into":
                    raw.setblocking(False)
                    buf = bytearray(2048)
                    window.start()
                    while window.count < queued:
                        await loop.sock_recv_into(raw, buf)
                        window.count += 1
                else:
                    sock = Socket.new_from_fd(raw.detach())
                    try:
                        inputs = [InputMessage([bytearray(2048)]) for _ in range(64)]
                        window.start()
                        while window.count < queued:
                            window.count += await sock.receive_messages_async(inputs)
                    finally:
                        sock.close()
                got, c, w = window.stop()
            finally:
                raw.close()
            count, cpu, wall = count + got, cpu + c, wall + w
        return int(count), cpu, wall

    return run


def _same(protocol: asyncio.BaseProtocol) -> asyncio.BaseProtocol:
    return protocol


def drain_transport(giosocket: bool, batch_callback: bool = False) -> Contender:
    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        make = gaio.create_datagram_endpoint if giosocket else loop.create_datagram_endpoint
        count = cpu = wall = 0.0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            raw, queued = _filled_socket()
            counter = _BatchCounter() if batch_callback else _Counter()
            counter.expect = queued
            counter.window.start()
            transport, _ = await make(functools.partial(_same, counter), sock=raw)  # reads now
            try:
                await asyncio.wait_for(counter.done.wait(), 10)
                got, c, w = counter.window.stop()
            finally:
                transport.close()
                await asyncio.sleep(0)
            count, cpu, wall = count + got, cpu + c, wall + w
        return int(count), cpu, wall

    return run


class _Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.window = Window()
        self.ready = asyncio.Event()
        self.done = asyncio.Event()  # set once ``expect`` datagrams arrived (if set)
        self.expect = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.window.count += 1
        self.ready.set()
        if self.window.count == self.expect:
            self.done.set()


class _BatchCounter(_Counter):
    def datagrams_received(self, batch: list[tuple[bytes, Any]]) -> None:
        self.window.count += len(batch)
        self.ready.set()
        if self.expect and self.window.count >= self.expect:
            self.done.set()


def flood_transport(giosocket: bool, batch_callback: bool = False, mode: str = "gso") -> Contender:
    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        raw = _flood_socket()
        flood = Flood(raw.getsockname()[1], seconds + 10, mode)
        make = gaio.create_datagram_endpoint if giosocket else loop.create_datagram_endpoint
        transport, counter = await make(_BatchCounter if batch_callback else _Counter, sock=raw)
        try:
            await _first_datagram(counter.ready)
            counter.window.start()
            await asyncio.sleep(seconds)
            return counter.window.stop()
        finally:
            flood.stop()
            transport.close()
            await asyncio.sleep(0)

    return run
