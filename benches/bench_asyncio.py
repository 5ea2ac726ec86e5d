#!/usr/bin/env python3
"""asyncio benchmarks: giosocket's *_async and DatagramTransport against each loop's own calls.

    python benches/bench_asyncio.py            # 5 rounds (+1 warm-up) of 0.3 s per contender
    python benches/bench_asyncio.py --quick    # 1 short round: a smoke test, not a measurement
    python benches/bench_asyncio.py --rounds 9 --seconds 0.5 --only udp_echo --only flood

Scenarios, each on the default asyncio loop and on uvloop (when installed), all on loopback:

- tcp_echo_1 / tcp_echo_50: 32 B echo over 1 / 50 TCP connections, both ends in the loop:
  giosocket ``send_async``/``receive_into_async``; ``loop.sock_sendall``/``sock_recv_into``;
  an asyncio Protocol over the loop's own transport.
- udp_echo: 64 B UDP echo, both ends in the loop: giosocket ``*_async``; ``loop.sock_recvfrom``/
  ``sock_sendto``; the loop's own datagram transport; giosocket's DatagramTransport.
- flood: 64 B datagrams from a native sender in another process sending GSO bursts of 64 (a
  receiver with UDP GRO, as giosocket's transport, may get each burst in one slot):
  ``loop.sock_recv_into``; ``receive_into_async``; ``receive_messages_async`` x64; giosocket's
  transport (``datagram_received``, and ``datagrams_received`` batches); the loop's own
  DatagramProtocol.
- flood_mmsg: the same with a ``sendmmsg`` sender (separate datagrams: GRO cannot help). Every
  receiver keeps up with this sender, so each wake-up finds a few datagrams and the rates
  mostly measure the sender's pace (how many datagrams share one wake-up), not receive capacity.
- flood_queue: receive capacity without GRO: a ``sendmmsg`` sender fills the socket's queue with
  separate 64 B datagrams (20,000 with SO_RCVBUFFORCE, as root), then the receiver drains it;
  only the drain is timed. A flood for a receiver is a queue that never empties.
- burst: a task sends 64 datagrams of 64 B per loop tick through a transport to a socket that
  never reads (the kernel drops the excess): the loop's own transport, giosocket's.

Method: each contender runs for a fixed time once per round, on a fresh loop, in an order that
rotates every round. Rates are per CPU second of this thread (``time.thread_time``): the cost
per operation, steady while others load the machine (flood: the sender runs in another
process). Ratios are the median of the per-round ratios. Nothing here is a pass/fail check.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
from typing import Any, Callable

from asyncio_common import Contender, Result, Unavailable, Window
from asyncio_floods import drain_loop, drain_transport, flood_loop, flood_transport
from giosocket import Socket
from giosocket import aio as gaio

# --- TCP 32 B echo ------------------------------------------------------------------------------


def _tcp_pairs(count: int) -> list[tuple[socket.socket, socket.socket]]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(count)
        pairs = []
        for _ in range(count):
            client = socket.create_connection(listener.getsockname())
            server, _ = listener.accept()
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pairs.append((client, server))
    return pairs


def tcp_giosocket(conns: int) -> Contender:
    async def run(seconds: float) -> Result:
        pairs = [
            (Socket.new_from_fd(c.detach()), Socket.new_from_fd(s.detach()))
            for c, s in _tcp_pairs(conns)
        ]
        window = Window()
        deadline = 0.0

        async def serve(sock: Socket) -> None:
            buf = bytearray(64)
            view = memoryview(buf)
            while n := await sock.receive_into_async(buf):
                await sock.send_async(view[:n])

        async def client(sock: Socket) -> None:
            payload, buf = b"x" * 32, bytearray(32)
            view = memoryview(buf)
            while time.perf_counter() < deadline:
                await sock.send_async(payload)
                got = 0
                while got < 32:
                    got += await sock.receive_into_async(view[got:])
                window.count += 1

        servers = [asyncio.ensure_future(serve(s)) for _, s in pairs]
        deadline = time.perf_counter() + seconds
        window.start()
        await asyncio.gather(*(client(c) for c, _ in pairs))
        result = window.stop()
        for c, _ in pairs:
            c.shutdown(False, True)
        await asyncio.gather(*servers)
        for c, s in pairs:
            c.close()
            s.close()
        return result

    return run


def tcp_sock_calls(conns: int) -> Contender:
    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        pairs = _tcp_pairs(conns)
        for c, s in pairs:
            c.setblocking(False)
            s.setblocking(False)
        window = Window()
        deadline = 0.0

        async def serve(sock: socket.socket) -> None:
            buf = bytearray(64)
            view = memoryview(buf)
            while n := await loop.sock_recv_into(sock, buf):
                await loop.sock_sendall(sock, view[:n])

        async def client(sock: socket.socket) -> None:
            payload, buf = b"x" * 32, bytearray(32)
            view = memoryview(buf)
            while time.perf_counter() < deadline:
                await loop.sock_sendall(sock, payload)
                got = 0
                while got < 32:
                    got += await loop.sock_recv_into(sock, view[got:])
                window.count += 1

        servers = [asyncio.ensure_future(serve(s)) for _, s in pairs]
        deadline = time.perf_counter() + seconds
        window.start()
        await asyncio.gather(*(client(c) for c, _ in pairs))
        result = window.stop()
        for c, _ in pairs:
            c.shutdown(socket.SHUT_WR)
        await asyncio.gather(*servers)
        for c, s in pairs:
            c.close()
            s.close()
        return result

    return run


class _TcpEcho(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _TcpPinger(asyncio.Protocol):
    def __init__(self, window: Window, deadline: float, done: asyncio.Future[None]) -> None:
        self.window, self.deadline, self.done, self.got = window, deadline, done, 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.got < 32:
            return
        self.got = 0
        self.window.count += 1
        if time.perf_counter() < self.deadline:
            self.transport.write(b"x" * 32)
        elif not self.done.done():
            self.done.set_result(None)


def tcp_protocol(conns: int) -> Contender:
    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        window = Window()
        deadline = time.perf_counter() + seconds + 1.0  # fixed below, once connected
        transports: list[Any] = []
        pingers: list[_TcpPinger] = []
        for client, server in _tcp_pairs(conns):
            st, _ = await loop.connect_accepted_socket(_TcpEcho, sock=server)
            done: asyncio.Future[None] = loop.create_future()
            ct, pinger = await loop.create_connection(
                lambda d=done: _TcpPinger(window, deadline, d), sock=client
            )
            transports += [st, ct]
            pingers.append(pinger)
        deadline = time.perf_counter() + seconds
        window.start()
        for p in pingers:
            p.deadline = deadline
            p.transport.write(b"x" * 32)
        await asyncio.gather(*(p.done for p in pingers))
        result = window.stop()
        for t in transports:
            t.close()
        await asyncio.sleep(0)
        return result

    return run


# --- UDP 64 B echo ------------------------------------------------------------------------------


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    client.connect(server.getsockname())
    return server, client


async def udp_giosocket_async(seconds: float) -> Result:
    s, c = _udp_pair()
    server, client = Socket.new_from_fd(s.detach()), Socket.new_from_fd(c.detach())

    async def serve() -> None:
        while True:
            data, addr = await server.receive_from_async(2048)
            await server.send_to_async(addr, data)

    task = asyncio.ensure_future(serve())
    window, payload, buf = Window(), b"u" * 64, bytearray(2048)
    deadline = time.perf_counter() + seconds
    window.start()
    while time.perf_counter() < deadline:
        await client.send_async(payload)
        await client.receive_into_async(buf)
        window.count += 1
    result = window.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    server.close()
    client.close()
    return result


async def udp_sock_calls(seconds: float) -> Result:
    loop = asyncio.get_running_loop()
    server, client = _udp_pair()
    server.setblocking(False)
    client.setblocking(False)
    await loop.sock_sendall(client, b"probe")
    try:
        await loop.sock_recvfrom(server, 2048)
    except (NotImplementedError, AttributeError):  # uvloop; Python < 3.11 has no sock_recvfrom
        server.close()
        client.close()
        raise Unavailable(f"{type(loop).__module__} has no sock_recvfrom") from None

    async def serve() -> None:
        while True:
            data, addr = await loop.sock_recvfrom(server, 2048)
            await loop.sock_sendto(server, data, addr)

    task = asyncio.ensure_future(serve())
    window, payload, buf = Window(), b"u" * 64, bytearray(2048)
    deadline = time.perf_counter() + seconds
    window.start()
    while time.perf_counter() < deadline:
        await loop.sock_sendall(client, payload)
        await loop.sock_recv_into(client, buf)
        window.count += 1
    result = window.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    server.close()
    client.close()
    return result


class _UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class _UdpPinger(asyncio.DatagramProtocol):
    def __init__(self, window: Window) -> None:
        self.window, self.deadline = window, 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.window.count += 1
        if time.perf_counter() < self.deadline:
            self.transport.sendto(data)
        elif not self.done.done():
            self.done.set_result(None)


def udp_transport(giosocket: bool) -> Contender:
    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        make = gaio.create_datagram_endpoint if giosocket else loop.create_datagram_endpoint
        st, _ = await make(_UdpEcho, local_addr=("127.0.0.1", 0))
        window = Window()
        ct, pinger = await make(
            lambda: _UdpPinger(window), remote_addr=st.get_extra_info("sockname")
        )
        pinger.deadline = time.perf_counter() + seconds
        window.start()
        ct.sendto(b"u" * 64)
        await pinger.done
        result = window.stop()
        ct.close()
        st.close()
        await asyncio.sleep(0)
        return result

    return run


# --- 64-datagram bursts ------------------------------------------------------------------------


def burst_transport(giosocket: bool) -> Contender:
    async def run(seconds: float) -> Result:
        loop = asyncio.get_running_loop()
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # never read: the kernel drops
        sink.bind(("127.0.0.1", 0))
        make = gaio.create_datagram_endpoint if giosocket else loop.create_datagram_endpoint
        transport, _ = await make(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        target, payload, window = sink.getsockname(), b"b" * 64, Window()
        deadline = time.perf_counter() + seconds
        window.start()
        while time.perf_counter() < deadline:
            for _ in range(64):
                transport.sendto(payload, target)
            window.count += 64
            await asyncio.sleep(0)
        result = window.stop()
        transport.close()
        await asyncio.sleep(0)
        sink.close()
        return result

    return run


# --- the table ----------------------------------------------------------------------------------

# scenario -> (title, [(contender name, factory)], [(ratio label, numerator, denominator)])
# A denominator "default:NAME" is that contender on the default loop in the same round.
SCENARIOS: dict[str, tuple[str, list[tuple[str, Contender]], list[tuple[str, str, str]]]] = {
    "tcp_echo_1": (
        "TCP 32 B echo, 1 connection (round trips/s)",
        [
            ("giosocket *_async", tcp_giosocket(1)),
            ("loop.sock_*", tcp_sock_calls(1)),
            ("asyncio Protocol", tcp_protocol(1)),
        ],
        [
            ("*_async / loop.sock_*", "giosocket *_async", "loop.sock_*"),
            ("*_async / Protocol", "giosocket *_async", "asyncio Protocol"),
        ],
    ),
    "tcp_echo_50": (
        "TCP 32 B echo, 50 connections (round trips/s)",
        [
            ("giosocket *_async", tcp_giosocket(50)),
            ("loop.sock_*", tcp_sock_calls(50)),
            ("asyncio Protocol", tcp_protocol(50)),
        ],
        [
            ("*_async / loop.sock_*", "giosocket *_async", "loop.sock_*"),
            ("*_async / Protocol", "giosocket *_async", "asyncio Protocol"),
        ],
    ),
    "udp_echo": (
        "UDP 64 B echo (round trips/s)",
        [
            ("giosocket *_async", udp_giosocket_async),
            ("loop.sock_*", udp_sock_calls),
            ("loop's transport", udp_transport(False)),
            ("giosocket transport", udp_transport(True)),
        ],
        [
            ("giosocket transport / loop's transport", "giosocket transport", "loop's transport"),
            ("*_async / loop.sock_*", "giosocket *_async", "loop.sock_*"),
        ],
    ),
    "flood": (
        "UDP flood receive, 64 B from a native sender (datagrams/s)",
        [
            ("loop.sock_recv_into", flood_loop("sock_recv_into")),
            ("receive_into_async", flood_loop("receive_into_async")),
            ("receive_messages_async x64", flood_loop("receive_messages_async")),
            ("loop's DatagramProtocol", flood_transport(False)),
            ("giosocket transport", flood_transport(True)),
            ("giosocket transport, datagrams_received", flood_transport(True, True)),
        ],
        [
            ("giosocket transport / loop's", "giosocket transport", "loop's DatagramProtocol"),
            (
                "giosocket transport (batch cb) / loop's",
                "giosocket transport, datagrams_received",
                "loop's DatagramProtocol",
            ),
            (
                "receive_messages_async x64 / loop's",
                "receive_messages_async x64",
                "loop's DatagramProtocol",
            ),
            (
                "receive_into_async / loop.sock_recv_into",
                "receive_into_async",
                "loop.sock_recv_into",
            ),
        ],
    ),
    "flood_mmsg": (
        "UDP flood receive, 64 B from a native sendmmsg sender: no GSO, so no GRO (datagrams/s)",
        [
            ("receive_messages_async x64", flood_loop("receive_messages_async", "sendmmsg")),
            ("loop's DatagramProtocol", flood_transport(False, mode="sendmmsg")),
            ("giosocket transport", flood_transport(True, mode="sendmmsg")),
            (
                "giosocket transport, datagrams_received",
                flood_transport(True, True, mode="sendmmsg"),
            ),
        ],
        [
            ("giosocket transport / loop's", "giosocket transport", "loop's DatagramProtocol"),
            (
                "giosocket transport (batch cb) / loop's",
                "giosocket transport, datagrams_received",
                "loop's DatagramProtocol",
            ),
            (
                "receive_messages_async x64 / loop's",
                "receive_messages_async x64",
                "loop's DatagramProtocol",
            ),
        ],
    ),
    "flood_queue": (
        "UDP flood receive: a full queue of separate 64 B datagrams drained (datagrams/s)",
        [
            ("loop.sock_recv_into", drain_loop("sock_recv_into")),
            ("receive_messages_async x64", drain_loop("receive_messages_async")),
            ("loop's DatagramProtocol", drain_transport(False)),
            ("giosocket transport", drain_transport(True)),
            ("giosocket transport, datagrams_received", drain_transport(True, True)),
        ],
        [
            ("giosocket transport / loop's", "giosocket transport", "loop's DatagramProtocol"),
            (
                "giosocket transport (batch cb) / loop's",
                "giosocket transport, datagrams_received",
                "loop's DatagramProtocol",
            ),
            (
                "receive_messages_async x64 / loop's",
                "receive_messages_async x64",
                "loop's DatagramProtocol",
            ),
        ],
    ),
    "burst": (
        "64 datagrams of 64 B per tick through a transport (datagrams/s)",
        [
            ("loop's transport", burst_transport(False)),
            ("giosocket transport", burst_transport(True)),
        ],
        [
            ("giosocket transport / loop's", "giosocket transport", "loop's transport"),
            (
                "giosocket transport / default loop's",
                "giosocket transport",
                "default:loop's transport",
            ),
        ],
    ),
}


_warm_malloc = [bytearray(8 << 20)]


def loop_factories() -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    loops: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"default": asyncio.new_event_loop}
    try:
        import uvloop

        loops["uvloop"] = uvloop.new_event_loop
    except ImportError:
        print("uvloop is not installed: default loop only", file=sys.stderr)
    return loops


def measure(
    factory: Callable[[], asyncio.AbstractEventLoop], contender: Contender, seconds: float
) -> float | None:
    """Operations per CPU second, or None when the loop lacks what the contender needs."""
    loop = factory()
    try:
        count, cpu, _wall = loop.run_until_complete(
            asyncio.wait_for(contender(seconds), seconds + 30)
        )
    except Unavailable:
        return None
    finally:
        loop.close()
    return count / cpu if cpu > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="per contender and round")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="repeatable")
    args = parser.parse_args(argv)
    rounds, seconds, warmup = (1, 0.05, 0) if args.quick else (args.rounds, args.seconds, 1)
    # asyncio's selector transport receives each datagram into a fresh 256 KiB bytes object.
    # Until glibc's malloc raises its dynamic mmap threshold (on the first free of a large
    # mmap'd block) that costs an mmap/munmap or a heap trim per datagram, and the loop's
    # transport runs ~3x slower than after. Free one large block first, so the loop's own
    # transport is always measured in its fast state (whatever ran before in the process).
    del _warm_malloc[:]
    loops = loop_factories()
    names = args.only or list(SCENARIOS)
    # rates[(scenario, loop, contender)] -> per-round rates
    rates: dict[tuple[str, str, str], list[float | None]] = {}
    for round_number in range(warmup + rounds):
        for name in names:
            _title, contenders, _ratios = SCENARIOS[name]
            for loop_name, factory in loops.items():
                shift = round_number % len(contenders)
                for label, contender in contenders[shift:] + contenders[:shift]:
                    rate = measure(factory, contender, seconds)
                    if round_number >= warmup:
                        rates.setdefault((name, loop_name, label), []).append(rate)
        if round_number >= warmup:
            print(f"round {round_number - warmup + 1}/{rounds} done", file=sys.stderr)
    print(
        f"giosocket asyncio benchmarks: {rounds} round(s) x {seconds} s per contender, "
        f"rates per CPU second of the loop thread, medians; load average {os.getloadavg()[0]:.2f}"
    )
    for name in names:
        title, contenders, ratios = SCENARIOS[name]
        print(f"\n{title}")
        for loop_name in loops:
            for label, _ in contenders:
                values = [v for v in rates[(name, loop_name, label)] if v is not None]
                shown = f"{statistics.median(values):>12,.0f}" if values else f"{'n/a':>12}"
                print(f"  {loop_name:8} {label:42} {shown}")
            for ratio_label, numerator, denominator in ratios:
                anchor_loop, anchor = loop_name, denominator
                if denominator.startswith("default:"):
                    anchor_loop, anchor = "default", denominator[len("default:") :]
                    if loop_name == "default":
                        continue
                per_round = [
                    a / b
                    for a, b in zip(
                        rates[(name, loop_name, numerator)], rates[(name, anchor_loop, anchor)]
                    )
                    if a is not None and b
                ]
                shown = f"{statistics.median(per_round):6.2f}x" if per_round else "   n/a"
                print(f"  {loop_name:8} ratio {ratio_label:52} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
