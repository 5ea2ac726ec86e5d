"""UDP packet metadata: what the fast fields cost, against native references.

Usage: ``python benches/udp_metadata.py [ROUNDS] [REPS]`` (defaults 5 rounds, 10 fill/drain
repetitions per contender and round) after a release build (``pip install -e .``). The native
reference loops (``_giosocket._bench_udp_recv_meta``) exist only in builds with the ``bench``
cargo feature; without them the script says so and prints the Python rates alone.

Each measurement fills one loopback UDP socket's receive queue (UDP GSO sends of 64 segments of
64 bytes, IP_TOS = ECT(0), from a stdlib socket) and then drains it with the contender
(non-blocking, full batches), timing only the drain: datagrams per CPU-second of the draining
thread. Contenders are interleaved in rounds (order rotated every round); medians over the rounds
are printed with their ratios:

1. GRO receive (``set_udp_gro(True)``): ``receive_messages`` of 8 / 64 ``InputMessage`` of 64 KiB,
   counting datagrams with ``InputMessage.segment_size``, vs the native loop (``recvmmsg`` with a
   control buffer per message, UDP_GRO decoded natively). Target: >= 0.9. Also shown: the same
   drain without the per-message field reads (the library's share alone).
2. Packet info + traffic class: ``receive_messages`` of 64 with both switches on vs the same
   batch with them off; the cost ratio (rate off / rate on) is compared with the native
   ``recvmmsg`` loop's cost ratio (no control buffer vs control buffers decoded). Python is
   measured reading ``destination`` and ``traffic_class`` of every datagram and not reading
   them. Target: the Python excess over native <= 0.15.
"""

from __future__ import annotations

import os
import socket
import statistics
import struct
import sys
import time
from collections.abc import Callable

import giosocket as g
from giosocket import _giosocket as native_mod

SEGMENT = 64
SEGMENTS_PER_SEND = 64
NATIVE: Callable[..., tuple[int, int, float, float]] | None = getattr(
    native_mod, "_bench_udp_recv_meta", None
)
Drain = Callable[[], tuple[int, float]]


def python_gro(sock: g.Socket, messages: list[g.InputMessage]) -> tuple[int, float]:
    """Drain through the GRO fast field: (datagrams, CPU seconds)."""
    packets = 0
    cpu = time.thread_time()
    try:
        while True:
            n = sock.receive_messages(messages, g.MSG_DONTWAIT)
            for m in messages[:n]:
                size = m.bytes_received
                packets += -(-size // (m.segment_size or size or 1))
    except BlockingIOError:
        pass
    return packets, time.thread_time() - cpu


def python_gro_count(sock: g.Socket, messages: list[g.InputMessage]) -> tuple[int, float]:
    """The same drain without per-message field reads (assumes full 64-segment buffers): the
    library's share of the cost, without the Python consumer loop."""
    packets = 0
    cpu = time.thread_time()
    try:
        while True:
            packets += SEGMENTS_PER_SEND * sock.receive_messages(messages, g.MSG_DONTWAIT)
    except BlockingIOError:
        pass
    return packets, time.thread_time() - cpu


def python_batch(
    sock: g.Socket, messages: list[g.InputMessage], read_fields: bool
) -> tuple[int, float]:
    """Drain with plain batches (reading the metadata fields of every datagram if asked)."""
    packets = seen = 0
    cpu = time.thread_time()
    try:
        while True:
            n = sock.receive_messages(messages, g.MSG_DONTWAIT)
            packets += n
            if read_fields:
                for m in messages[:n]:
                    if m.destination is not None and m.traffic_class >= 0:
                        seen += 1
    except BlockingIOError:
        pass
    elapsed = time.thread_time() - cpu
    if read_fields and seen != packets:
        raise RuntimeError(f"metadata missing on {packets - seen} of {packets} datagrams")
    return packets, elapsed


def native(sock: g.Socket, size: int, batch: int, control: bool) -> tuple[int, float]:
    assert NATIVE is not None
    packets, _, _, cpu = NATIVE(sock.fileno(), size, batch, control, 60.0)
    return packets, cpu


def configure(sock: g.Socket, gro: bool, metadata: bool) -> None:
    sock.set_udp_gro(gro)
    sock.set_receive_packet_info(metadata)
    sock.set_receive_traffic_class(metadata)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    sock = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
    sock.bind(("127.0.0.1", 0), False)
    try:
        sock.set_option(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE (root)
    except g.Error:
        sock.set_option(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    address = sock.local_address
    assert isinstance(address, g.InetSocketAddress)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 2)
    payload = bytes(SEGMENT * SEGMENTS_PER_SEND)
    gso = [(socket.SOL_UDP, 103, struct.pack("H", SEGMENT))]
    target = ("127.0.0.1", address.port)

    def fill(sends: int) -> None:
        for _ in range(sends):
            try:
                tx.sendmsg([payload], gso, 0, target)
            except OSError:
                pass

    gro8 = [g.InputMessage(bytearray(65536)) for _ in range(8)]
    gro64 = [g.InputMessage(bytearray(65536)) for _ in range(64)]
    small = [g.InputMessage(bytearray(2048)) for _ in range(64)]
    # (name, gro, metadata switches, sends per fill, drain)
    contenders: list[tuple[str, bool, bool, int, Drain]] = [
        ("gro py b8", True, False, 2048, lambda: python_gro(sock, gro8)),
        ("gro py b64", True, False, 2048, lambda: python_gro(sock, gro64)),
        ("gro py b8 no-read", True, False, 2048, lambda: python_gro_count(sock, gro8)),
        ("gro py b64 no-read", True, False, 2048, lambda: python_gro_count(sock, gro64)),
        ("batch py off", False, False, 256, lambda: python_batch(sock, small, False)),
        ("batch py on+read", False, True, 256, lambda: python_batch(sock, small, True)),
        ("batch py on", False, True, 256, lambda: python_batch(sock, small, False)),
    ]
    if NATIVE is not None:
        contenders += [
            ("gro native b8", True, False, 2048, lambda: native(sock, 65536, 8, True)),
            ("gro native b64", True, False, 2048, lambda: native(sock, 65536, 64, True)),
            ("batch native off", False, False, 256, lambda: native(sock, 2048, 64, False)),
            ("batch native on", False, True, 256, lambda: native(sock, 2048, 64, True)),
        ]
    else:
        print(
            "NOTE: native reference loops are unavailable (this build lacks the 'bench' cargo "
            "feature): only Python rates are printed, no ratio against native can be computed."
        )

    rates: dict[str, list[float]] = {name: [] for name, *_ in contenders}
    load_before = os.getloadavg()
    try:
        for r in range(rounds):
            order = contenders[r % len(contenders) :] + contenders[: r % len(contenders)]
            for name, gro, metadata, sends, drain in order:
                configure(sock, gro, metadata)
                python_batch(sock, small, False)  # empty the queue
                packets = 0
                cpu = 0.0
                for _ in range(reps):
                    fill(sends)
                    p, c = drain()
                    packets += p
                    cpu += c
                rates[name].append(packets / cpu if cpu > 0 else 0.0)
    finally:
        tx.close()
        sock.close()
    load_after = os.getloadavg()

    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"rounds={rounds} reps={reps} loadavg before={load_before[0]:.2f}"
          f" after={load_after[0]:.2f} ({os.cpu_count()} CPUs)")  # fmt: skip
    print(f"{'contender':<20} {'Mdgram/CPU-s':>13}  per round")
    for name, value in median.items():
        spread = " ".join(f"{v / 1e6:.2f}" for v in rates[name])
        print(f"{name:<20} {value / 1e6:>13.2f}  [{spread}]")
    py_cost = median["batch py off"] / median["batch py on+read"]
    py_cost_unread = median["batch py off"] / median["batch py on"]
    print(f"python cost of pktinfo+tclass (off/on): {py_cost:.3f} fields read, "
          f"{py_cost_unread:.3f} not read")  # fmt: skip
    if NATIVE is None:
        return
    for batch in (8, 64):
        ratio = median[f"gro py b{batch}"] / median[f"gro native b{batch}"]
        bare = median[f"gro py b{batch} no-read"] / median[f"gro native b{batch}"]
        print(
            f"GRO batch {batch}: python / native = {ratio:.3f} reading segment_size and "
            f"bytes_received per message (target >= 0.9); {bare:.3f} without the field reads"
        )
    native_cost = median["batch native off"] / median["batch native on"]
    print(f"native cost of pktinfo+tclass (off/on): {native_cost:.3f}")
    print(
        f"python excess over native: {py_cost - native_cost:+.3f} fields read, "
        f"{py_cost_unread - native_cost:+.3f} not read (target <= 0.15)"
    )


if __name__ == "__main__":
    main()
