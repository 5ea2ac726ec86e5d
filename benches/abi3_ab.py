"""Does the abi3 (limited API) build cost speed? Two giosocket builds, call by call.

Usage::

    python benches/abi3_ab.py PYTHON_A PYTHON_B [--calls N] [--rounds R] [--no-callgrind]

``PYTHON_A`` / ``PYTHON_B`` are interpreters (e.g. two venvs' ``bin/python``) each with one build
of giosocket installed, typically a version-specific wheel and the abi3 one from
``.ci/build-wheels`` (see docs/performance.md for figures and the exact commands). For every
operation below it prints:

- instructions per call under ``valgrind --tool=callgrind`` (the same count on every run of the
  same binary, whatever else the machine does): total instructions of a run making ``N`` calls
  minus those of the same run making none, divided by ``N``;
- CPU nanoseconds per call of the calling thread, median over ``R`` rounds in which the two
  builds run one after the other, alternating which goes first; ratio B / A per round, median.

All sockets are on loopback or socketpairs made by the script.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

OPS = [
    "send_to",
    "send_receive_into",
    "receive_would_block",
    "condition_check",
    "get_option",
    "local_address",
    "send_messages_x64",
    "receive_messages_x64",
]


def _workload(op: str) -> Callable[[], object]:
    """The call that ``op`` times, with everything it needs built beforehand."""
    import socket

    import giosocket as g

    keep: list[Any] = []
    if op == "send_to":
        sink = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
        sink.bind(("127.0.0.1", 0), False)
        tx = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
        keep += [sink, tx]
        dest, payload = sink.local_address, bytes(64)
        return lambda: tx.send_to(dest, payload)
    a, b = (g.Socket.new_from_fd(s.detach()) for s in socket.socketpair(type=socket.SOCK_DGRAM))
    keep += [a, b]
    if op == "send_receive_into":
        payload, buf = bytes(64), bytearray(2048)

        def send_receive_into() -> object:
            a.send(payload)
            return b.receive_into(buf)

        return send_receive_into
    if op == "receive_would_block":
        b.blocking = False

        def receive_would_block() -> object:
            try:
                return b.receive(16)
            except BlockingIOError:
                return None

        return receive_would_block
    if op == "condition_check":
        return lambda: b.condition_check(g.IOCondition.IN)
    if op == "get_option":
        return lambda: b.get_option(socket.SOL_SOCKET, socket.SO_SNDBUF)
    if op == "local_address":
        return lambda: a.local_address
    if op == "send_messages_x64":
        sink = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
        sink.bind(("127.0.0.1", 0), False)
        tx = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
        keep += [sink, tx]
        out = [g.OutputMessage(sink.local_address, [bytes(64)]) for _ in range(64)]
        return lambda: tx.send_messages(out)
    if op == "receive_messages_x64":
        rx = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
        rx.bind(("127.0.0.1", 0), False)
        tx = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
        keep += [rx, tx]
        slots = [g.InputMessage([bytearray(256)]) for _ in range(64)]
        out = [g.OutputMessage(rx.local_address, [bytes(64)]) for _ in range(64)]

        def receive_messages_x64() -> object:
            tx.send_messages(out)
            return rx.receive_messages(slots, g.MSG_WAITFORONE)

        return receive_messages_x64
    raise SystemExit(f"unknown operation {op}")


def child(op: str, calls: int, seconds: float) -> None:
    """Run ``op`` ``calls`` times (callgrind) or for ``seconds`` (timing); print JSON."""
    fn = _workload(op)
    if seconds <= 0:
        for _ in range(calls):
            fn()
        print(json.dumps({"calls": calls}))
        return
    for _ in range(1000):  # warm up
        fn()
    n = 0
    cpu = time.thread_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            fn()
        n += 200
    print(json.dumps({"ns": (time.thread_time() - cpu) / n * 1e9}))


def _run(python: str, args: list[str], valgrind: bool = False) -> tuple[str, str]:
    cmd = [python, __file__, "--child", *args]
    if valgrind:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return done.stdout, done.stderr


def instructions(python: str, op: str, calls: int) -> float:
    """Instructions per call of ``op`` in ``python``'s build (callgrind, minus a 0-call run)."""
    totals = []
    for n in (0, calls):
        _, err = _run(python, [op, str(n), "0"], valgrind=True)
        found = re.search(r"Collected\s*:\s*(\d+)", err)
        if not found:
            raise SystemExit(f"no callgrind total in:\n{err[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / calls


def main() -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python benches/abi3_ab.py", description=__doc__)
    parser.add_argument("python_a", nargs="?")
    parser.add_argument("python_b", nargs="?")
    parser.add_argument("--calls", type=int, default=20000, help="calls per callgrind run")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (0: none)")
    parser.add_argument("--seconds", type=float, default=0.3, help="seconds per timed run")
    parser.add_argument("--no-callgrind", action="store_true", help="timing only")
    parser.add_argument("--only", action="append", choices=OPS, help="this operation only")
    parser.add_argument(
        "--child", nargs=3, metavar=("OP", "CALLS", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), float(args.child[2]))
        return 0
    if not args.python_a or not args.python_b:
        parser.error("two interpreters are needed")
    a, b = args.python_a, args.python_b
    for label, exe in (("A", a), ("B", b)):
        out, _ = _run(exe, ["local_address", "1", "0"])
        so = subprocess.run(
            [exe, "-c", "import giosocket._giosocket as m; print(m.__file__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"{label}: {exe} -> {so}")
    use_callgrind = not args.no_callgrind and shutil.which("valgrind") is not None
    print(
        f"\n{'operation':<22} {'instr A':>9} {'instr B':>9} {'B/A':>6}   "
        f"{'ns A':>7} {'ns B':>7} {'B/A':>6}"
    )
    for op in args.only or OPS:
        ia = ib = None
        if use_callgrind:
            ia, ib = instructions(a, op, args.calls), instructions(b, op, args.calls)
        ratios, na, nb = [], [], []
        for r in range(args.rounds):
            order = [(a, na), (b, nb)] if r % 2 == 0 else [(b, nb), (a, na)]
            for exe, sink in order:
                out, _ = _run(exe, [op, "0", str(args.seconds)])
                sink.append(float(json.loads(out)["ns"]))
            ratios.append(nb[-1] / na[-1])
        cols = [
            f"{ia:9.0f}" if ia is not None else f"{'-':>9}",
            f"{ib:9.0f}" if ib is not None else f"{'-':>9}",
            f"{ib / ia:6.3f}" if ia and ib is not None else f"{'-':>6}",
            f"{statistics.median(na):7.0f}" if na else f"{'-':>7}",
            f"{statistics.median(nb):7.0f}" if nb else f"{'-':>7}",
            f"{statistics.median(ratios):6.3f}" if ratios else f"{'-':>6}",
        ]
        print(f"{op:<22} " + " ".join(cols[:3]) + "   " + " ".join(cols[3:]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
