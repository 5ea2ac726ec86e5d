"""Does a socket loop let other Python threads run? (the GIL released around each syscall)

A pure-Python counting thread runs alone, then beside a thread sending 32-byte UDP
datagrams in a loop (giosocket ``send_to``, then the stdlib's ``sendto``), contenders
interleaved in rounds. Printed: the counter's speed beside each sender as a share of its solo
speed (median of rounds), and each sender's own rate, so a sender that simply stopped making
progress cannot look good.

    python benches/threads_gil.py [--rounds 5] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from typing import Callable

import giosocket as g


def count_for(seconds: float, stop: threading.Event, out: list[float]) -> None:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            n += 1
        if time.perf_counter() >= deadline:
            break
    out.append(n / (time.perf_counter() - start))
    stop.set()


def send_loop(send: Callable[[], object]) -> Callable[[threading.Event, list[float]], None]:
    """A loop calling ``send()`` until told to stop; appends its rate."""

    def run(stop: threading.Event, out: list[float]) -> None:
        n = 0
        start = time.perf_counter()
        while not stop.is_set():
            send()
            n += 1
        out.append(n / (time.perf_counter() - start))

    return run


def one_round(
    seconds: float, sender: Callable[[threading.Event, list[float]], None] | None
) -> tuple[float, float]:
    stop = threading.Event()
    counted: list[float] = []
    sent: list[float] = []
    threads = [threading.Thread(target=count_for, args=(seconds, stop, counted))]
    if sender is not None:
        threads.append(threading.Thread(target=sender, args=(stop, sent)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counted[0], (sent[0] if sent else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    dest = sink.getsockname()
    data = bytes(32)
    ours = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
    theirs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    contenders = {
        "giosocket": send_loop(lambda: ours.send_to(dest, data)),
        "stdlib": send_loop(lambda: theirs.sendto(data, dest)),
    }
    shares: dict[str, list[float]] = {name: [] for name in contenders}
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        solo, _unused = one_round(args.seconds, None)
        for name, loop in contenders.items():
            counter, sends = one_round(args.seconds, loop)
            shares[name].append(counter / solo)
            rates[name].append(sends)
    print("| sender | counter speed / solo (median) | sender datagrams/s (median) |")
    print("|---|---:|---:|")
    for name in contenders:
        share = statistics.median(shares[name])
        rate = statistics.median(rates[name])
        print(f"| {name} | {share:.2f} | {rate:,.0f} |")
    sink.close()


if __name__ == "__main__":
    main()
