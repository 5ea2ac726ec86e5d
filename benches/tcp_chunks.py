"""How many bytes each receive call gets in the TCP bulk scenario (stdlib vs giosocket).

Run: ``python benches/tcp_chunks.py`` (from a checkout, after ``pip install -e .``). It explains
the spread of the TCP bulk CPU-time ratio: giosocket's descriptor is non-blocking, so a receive
that outruns the sender waits in ``poll`` and wakes on the first segment, getting smaller chunks
per call than a stdlib socket sleeping inside ``recv``.
"""

from __future__ import annotations

import time

import cases as bc

TOTAL = 512 << 20


def run(kind: str) -> None:
    client, server = bc._tcp_pair(bulk=True)
    buf = bytearray(bc.STREAM_BUF)
    calls = got = 0

    def sender(fd: int) -> object:
        return bc.native_loop("_bench_stream_send")(fd, TOTAL, bc.STREAM_BUF, 600.0)

    with server, bc.Peer(client, sender):
        if kind == "giosocket":
            sock = bc._wrap(server, timeout=5.0)
            receive = sock.receive_into
        else:
            receive = server.recv_into
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        while got < TOTAL:
            n = receive(buf)
            if n == 0:
                break
            got += n
            calls += 1
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
    print(
        f"{kind:9} calls={calls:6} bytes/call={got / calls / 1024:6.1f} KiB "
        f"MB/s per CPU-s={got / cpu / 1e6:6.0f} MB/s wall={got / wall / 1e6:6.0f}"
    )


if __name__ == "__main__":
    for kind in ("stdlib", "giosocket") * 3:
        run(kind)
