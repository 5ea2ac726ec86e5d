"""Instructions per operation of the asyncio datagram transports, counted by callgrind.

Each case runs in a fresh interpreter under ``valgrind --tool=callgrind`` twice (N and 2N
operations, ``PYTHONHASHSEED=0``); the difference divided by N is one operation's user-space
cost (the kernel's work is not counted: see ``bench_asyncio.py`` for timings).

    python benches/callgrind_transport.py                # all cases, markdown table
    python benches/callgrind_transport.py --only echo --n 1000

- echo: a 64 B UDP ping-pong round trip, both ends in one loop (default asyncio loop).
- burst: one datagram of 64 sent 64 at a time per loop tick to a socket that never reads.
- drain: one datagram of a full socket queue (5,000 separate 64 B datagrams) received by a
  counting protocol, on uvloop; the fill (``send_messages`` of 64) is counted too, and the
  ``fill only`` row shows its share.

Needs valgrind (Debian: ``apt-get install valgrind``); the drain case needs uvloop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from callgrind_calls import instructions

PROGRAM = """
import asyncio, socket, sys
sys.path.insert(0, {benches!r})
import giosocket.aio as gaio
N, WHO = int(sys.argv[1]), sys.argv[2]
_warm = bytearray(8 << 20)
del _warm  # glibc raises its mmap threshold: asyncio's 256 KiB receive buffers stay cheap

def make():
    if WHO == "giosocket":
        return gaio.create_datagram_endpoint
    return asyncio.get_running_loop().create_datagram_endpoint
"""

CASES: dict[str, tuple[str, int]] = {
    # name -> (code after PROGRAM, operations per unit of N)
    "echo": (
        """
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, d, a): self.t.sendto(d, a)

class Ping(asyncio.DatagramProtocol):
    def __init__(self):
        self.n = 0
        self.done = asyncio.get_running_loop().create_future()
    def connection_made(self, t): self.t = t
    def datagram_received(self, d, a):
        self.n += 1
        if self.n < N: self.t.sendto(d)
        else: self.done.set_result(None)

async def main():
    st, _ = await make()(Echo, local_addr=("127.0.0.1", 0))
    ct, p = await make()(Ping, remote_addr=st.get_extra_info("sockname"))
    ct.sendto(b"u" * 64)
    await p.done
    ct.close(); st.close(); await asyncio.sleep(0)

asyncio.run(main())
""",
        1,
    ),
    "burst": (
        """
async def main():
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    t, _ = await make()(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    target, payload = sink.getsockname(), b"b" * 64
    for _ in range(N):
        for _ in range(64):
            t.sendto(payload, target)
        await asyncio.sleep(0)
    t.close(); await asyncio.sleep(0); sink.close()

asyncio.run(main())
""",
        64,
    ),
    "drain": (
        """
import uvloop
import asyncio_floods as F
F._QUEUED = 5000

async def main():
    for _ in range(N):
        if WHO == "fill only":
            F._filled_socket()[0].close()
        else:
            await F.drain_transport(WHO == "giosocket")(0.0001)

uvloop.new_event_loop().run_until_complete(main())
""",
        4992,
    ),
}

CONTENDERS = {
    "echo": ["giosocket", "asyncio"],
    "burst": ["giosocket", "asyncio"],
    "drain": ["giosocket", "uvloop", "fill only"],
}


def per_operation(case: str, who: str, n: int) -> float:
    code, per_n = CASES[case]
    benches = os.path.dirname(os.path.abspath(__file__))
    program = PROGRAM.format(benches=benches) + code
    runs = [instructions(program, k, who, 0) for k in (n, 2 * n)]
    return (runs[1] - runs[0]) / (n * per_n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run")
    parser.add_argument("--n", type=int, default=0, help="units in the shorter run")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    defaults = {"echo": 2000, "burst": 200, "drain": 2}
    print("| case | contender | instructions per operation |")
    print("|---|---|---:|")
    for case in args.only or CASES:
        for who in CONTENDERS[case]:
            cost = per_operation(case, who, args.n or defaults[case])
            print(f"| {case} | {who} | {cost:,.0f} |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
