"""Interleaved A/B of the message fast paths against native loops and the stdlib.

Usage: ``python benches/messages_ab.py [ROUNDS]`` after ``maturin develop --release``.
Sends 64-byte datagrams to a closed loopback port (the kernel drops them, so the per-call cost
dominates) and prints packets per CPU-second of the sending thread, medians over the rounds:
UDP GSO (one ``send_message`` of 64 segments) vs the native GSO loop and the stdlib ``sendto``
loop; ``send_messages`` of 64 vs the native ``sendmmsg`` loop. The receive side is measured by
``python benches/run.py``. Needs the native loops (cargo feature ``bench``, on for checkouts).
"""

from __future__ import annotations

import functools
import socket
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import giosocket as g
from giosocket import _giosocket as native_mod

BATCH = 64
PAYLOAD = bytes(range(64))


def closed_port() -> tuple[str, int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        host, port = s.getsockname()
    return host, port


def loop2(fn: Callable[[Any, Any], int], a: Any, b: Any, sec: float) -> tuple[int, int, float]:
    calls = total = 0
    cpu = time.thread_time()
    end = time.perf_counter() + sec
    while time.perf_counter() < end:
        for _ in range(BATCH):
            total += fn(a, b)
        calls += BATCH
    return calls, total, time.thread_time() - cpu


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    addr = closed_port()
    target = g.InetSocketAddress(*addr)

    def gio_gso(sec: float) -> float:
        with g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as s:
            send = functools.partial(s.send_message, target)
            _, sent, cpu = loop2(send, [PAYLOAD * BATCH], [g.UdpSegmentMessage(64)], sec)
        return sent / len(PAYLOAD) / cpu

    def gio_send_messages(sec: float) -> float:
        with g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as s:
            msgs = [g.OutputMessage(target, [PAYLOAD]) for _ in range(BATCH)]
            _, sent, cpu = loop2(s.send_messages, msgs, 0, sec)
        return sent / cpu

    def stdlib_sendto(sec: float) -> float:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            calls, _, cpu = loop2(s.sendto, PAYLOAD, addr, sec)
        return calls / cpu

    def native(mode: str) -> Callable[[float], float]:
        def run(sec: float) -> float:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                bench = native_mod._bench_udp_send
                packets, _, _, cpu = bench(s.fileno(), addr, len(PAYLOAD), mode, BATCH, sec)
            return float(packets) / cpu

        return run

    cases: dict[str, Callable[[float], float]] = {
        "gio_gso": gio_gso,
        "native_gso": native("gso"),
        "gio_send_messages": gio_send_messages,
        "native_sendmmsg": native("sendmmsg"),
        "stdlib_sendto": stdlib_sendto,
    }
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for key, fn in cases.items():
            samples[key].append(fn(0.4))
    med = {k: statistics.median(v) for k, v in samples.items()}
    for key, value in med.items():
        print(f"{key:18s} {value / 1e3:9.0f} k packets per CPU-second")
    print(f"GSO / native GSO           {med['gio_gso'] / med['native_gso']:.2f}")
    print(f"GSO / stdlib sendto        {med['gio_gso'] / med['stdlib_sendto']:.2f}")
    print(f"send_messages / sendmmsg   {med['gio_send_messages'] / med['native_sendmmsg']:.2f}")


if __name__ == "__main__":
    main()
