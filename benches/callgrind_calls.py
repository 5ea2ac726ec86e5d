"""Instructions per call, giosocket vs the stdlib, counted by callgrind (repeatable on a noisy box).

Each case runs a loop of N calls in a fresh interpreter under ``valgrind --tool=callgrind``,
twice (N and 2N, same setup, ``PYTHONHASHSEED=0``); the difference divided by N is the cost of
one loop iteration, setup and interpreter start-up cancelled out. Both contenders use the same loop shape, so the ratio
compares the calls themselves.

    python benches/callgrind_calls.py            # all cases, markdown table
    python benches/callgrind_calls.py --only eagain send_to --n 1000

Needs valgrind (Debian: ``apt-get install valgrind``). Receive cases pre-fill the socket's
queue; as root they raise the buffer with SO_RCVBUFFORCE so all 2N datagrams fit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

SETUP = textwrap.dedent(
    """
    import os, select, socket, sys
    import giosocket as g
    N = int(sys.argv[1])          # calls measured
    QUEUED = int(sys.argv[3])     # datagrams queued for the receive cases (the same in both runs)
    G = sys.argv[2] == "giosocket"
    SO_RCVBUFFORCE = 33

    def udp_pair():
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
        except OSError:
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        rx.bind(("127.0.0.1", 0))
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.connect(rx.getsockname())
        return rx, tx

    def wrap(s):
        return g.Socket.new_from_fd(s.detach()) if G else s

    buf = bytearray(64)
    data = bytes(32)
    """
)

# name -> (setup for both, giosocket statement, stdlib statement, target ratio or None)
CASES: dict[str, tuple[str, str, str, float | None]] = {
    "eagain": (
        "rx, tx = udp_pair(); s = wrap(rx)\nif G: s.blocking = False\nelse: s.setblocking(False)",
        "try:\n        s.receive_into(buf)\n    except BlockingIOError:\n        pass",
        "try:\n        s.recv_into(buf)\n    except BlockingIOError:\n        pass",
        1.2,
    ),
    "condition_check": (
        (
            "rx, tx = udp_pair(); s = wrap(rx); p = select.poll(); p.register(rx.fileno() if not G"
            " else s.fileno(), select.POLLIN); IN = g.IOCondition.IN"
        ),
        "s.condition_check(IN)",
        "p.poll(0)",
        1.2,
    ),
    "send_to": (
        "rx, tx = udp_pair(); s = wrap(tx); dest = rx.getsockname()",
        "s.send_to(dest, data)",
        "s.sendto(data, dest)",
        1.0,
    ),
    "send": (
        "rx, tx = udp_pair(); s = wrap(tx)",
        "s.send(data)",
        "s.send(data)",
        1.0,
    ),
    "receive_into": (
        "rx, tx = udp_pair()\nfor _ in range(QUEUED): tx.send(data)\ns = wrap(rx)",
        "s.receive_into(buf)",
        "s.recv_into(buf)",
        1.0,
    ),
    "receive": (
        "rx, tx = udp_pair()\nfor _ in range(QUEUED): tx.send(data)\ns = wrap(rx)",
        "s.receive(64)",
        "s.recv(64)",
        1.0,
    ),
    "receive_from": (
        "rx, tx = udp_pair()\nfor _ in range(QUEUED): tx.send(data)\ns = wrap(rx)",
        "s.receive_from(64)",
        "s.recvfrom(64)",
        1.0,
    ),
    "get_option": (
        "rx, tx = udp_pair(); s = wrap(rx)",
        "s.get_option(socket.SOL_SOCKET, socket.SO_RCVBUF)",
        "s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)",
        1.0,
    ),
    "get_local_address": (
        "rx, tx = udp_pair(); s = wrap(rx)",
        "s.get_local_address()",
        "s.getsockname()",
        1.0,
    ),
}


def program(case: str, contender: str) -> str:
    setup, ours, theirs, _ = CASES[case]
    body = ours if contender == "giosocket" else theirs
    return SETUP + setup + f"\nfor _ in range(N):\n    {body}\n"


def instructions(code: str, n: int, contender: str, queued: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "case.py")
        out = os.path.join(tmp, "callgrind.out")
        with open(script, "w") as f:
            f.write(code)
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                script,
                str(n),
                contender,
                str(queued),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise RuntimeError("no totals in the callgrind output")


def per_call(case: str, contender: str, n: int) -> float:
    code = program(case, contender)
    # Both runs queue the same 2N datagrams for the receive cases, so the difference is the
    # N extra calls alone; a fixed hash seed keeps dict layouts the same across runs.
    runs = [instructions(code, k, contender, 2 * n) for k in (n, 2 * n)]
    return (runs[1] - runs[0]) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run")
    parser.add_argument("--n", type=int, default=2000, help="calls in the shorter run")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    print("| call | giosocket | stdlib | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    failed = False
    for case in args.only or CASES:
        ours = per_call(case, "giosocket", args.n)
        theirs = per_call(case, "stdlib", args.n)
        ratio = ours / theirs
        target = CASES[case][3]
        mark = "" if target is None or ratio <= target else " (over)"
        failed |= bool(mark)
        shown = "-" if target is None else f"<= {target}"
        print(f"| {case} | {ours:,.0f} | {theirs:,.0f} | {ratio:.2f}{mark} | {shown} |")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
