"""The scenarios of ``python benches/run.py`` and the loops they time (see ``harness``).

Each contender is a function ``run(seconds) -> value`` (packets/s, MB/s or microseconds). Python
loops are written identically for the stdlib and giosocket so that the difference is the call
itself; native contenders call the extension's private ``_bench_*`` loops (``native_loop``),
which exist only in a build with the cargo feature ``bench``.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import giosocket
from giosocket import _giosocket

if TYPE_CHECKING:
    from typing_extensions import Self

HOST = "127.0.0.1"
PAYLOAD = 64
BATCH = 64
DGRAM_BUF = 2048
STREAM_BUF = 256 * 1024
BLOCK = 64
MSG_WAITFORONE = int(getattr(giosocket, "MSG_WAITFORONE", 0x10000))
SYSTEM_PYTHON = "/usr/bin/python3"


class Unavailable(Exception):
    """A contender that cannot run here (missing feature or package); the reason is shown."""


@dataclass
class Sample:
    """One timed run: ``units`` done (packets, bytes or round trips) in ``wall`` seconds, of
    which the timed thread spent ``cpu`` seconds on a CPU."""

    units: float
    wall: float
    cpu: float


@dataclass
class Contender:
    """One way of doing a scenario's job; ``run(seconds)`` returns one :class:`Sample`."""

    key: str
    label: str
    run: Callable[[float], Sample]
    native: str | None = None
    baseline: str | None = None
    missing: str | None = None
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None


@dataclass
class Scenario:
    """A job, its unit and its contenders; ``stdlib`` names the baseline contender.

    ``clock`` says which time the headline figure divides by: "cpu" (the timed thread's CPU
    time: the per-call cost, robust to other load on the machine) or "wall" (latency).
    """

    key: str
    title: str
    unit: str
    clock: str
    stdlib: str
    contenders: list[Contender]
    # Sockets the contenders use without owning them (e.g. a sink): kept open while the
    # scenario lives.
    resources: list[socket.socket] = field(default_factory=list)

    @property
    def higher_is_better(self) -> bool:
        return self.unit != "us"

    def get(self, key: str) -> Contender | None:
        return next((c for c in self.contenders if c.key == key), None)

    def run_order(self) -> list[Contender]:
        """Each native reference first, then the contenders compared with it (table order
        otherwise), so that compared contenders run back to back."""
        order: list[Contender] = []
        for c in self.contenders:
            ref = self.get(c.native) if c.native else None
            for x in (ref, c):
                if x is not None and all(x is not y for y in order):
                    order.append(x)
        return order

    def baseline(self, c: Contender) -> str:
        """The stdlib contender ``c`` is compared with."""
        return c.baseline or self.stdlib

    def value(self, sample: Sample, clock: str) -> float:
        """The sample in this scenario's unit (pps, MB/s or us per round trip)."""
        t = sample.cpu if clock == "cpu" else sample.wall
        if self.unit == "us":
            return t / sample.units * 1e6 if sample.units else float("inf")
        rate = sample.units / t if t > 0 else 0.0
        return rate / 1e6 if self.unit == "MB/s" else rate

    def median(self, key: str | None, clock: str | None = None) -> float | None:
        c = self.get(key) if key else None
        if c is None or not c.samples:
            return None
        return statistics.median(self.value(s, clock or self.clock) for s in c.samples)

    def ratio(self, key: str, ref: str | None) -> float | None:
        """Speed of ``key`` relative to ``ref`` on the headline clock (above 1 = faster).

        The median of the per-round ratios when both ran in every round (each pair ran close
        together in time, so slow drifts in machine load cancel), else the ratio of medians.
        """
        a, b = self.get(key), self.get(ref) if ref else None
        if a is None or b is None or not a.samples or not b.samples:
            return None
        if len(a.samples) == len(b.samples):
            pairs = [
                (self.value(x, self.clock), self.value(y, self.clock))
                for x, y in zip(a.samples, b.samples)
            ]
            ratios = [
                p / q if self.higher_is_better else q / p for p, q in pairs if p > 0 and q > 0
            ]
            return statistics.median(ratios) if ratios else None
        ma, mb = self.median(key), self.median(ref)
        if ma is None or mb is None or ma <= 0 or mb <= 0:
            return None
        return ma / mb if self.higher_is_better else mb / ma


# --------------------------------------------------------------------------------------
# Sockets and loops


def _udp(bind: bool = False) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if bind:
        s.bind((HOST, 0))
    return s


def _rcvtimeo(s: socket.socket, seconds: float) -> None:
    """Kernel receive timeout on a blocking stdlib socket (no poll before each call)."""
    sec = int(seconds)
    s.setsockopt(
        socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", sec, int((seconds - sec) * 1e6))
    )


def _big_rcvbuf(s: socket.socket, size: int = 4 << 20) -> None:
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, size)  # SO_RCVBUFFORCE (needs CAP_NET_ADMIN)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def _wrap(s: socket.socket, timeout: float | None = None) -> giosocket.Socket:
    """The same kernel socket as a giosocket.Socket (which takes ownership of the fd), with
    ``timeout`` seconds as its timeout if given. Use it as a context manager (closes it)."""
    g = giosocket.Socket.new_from_fd(s.detach())
    if timeout is not None:
        g.timeout = timeout
    return g


# The timed loops below are written out once per arity on purpose: a generic ``fn(*args)``
# loop would add its own argument packing to every measured call.


def _loop1(fn: Callable[[Any], int], a: Any, seconds: float) -> tuple[int, int, float, float]:
    """Call ``fn(a)`` for ``seconds``: (calls, sum of results, wall, thread CPU seconds)."""
    calls = total = 0
    block = range(BLOCK)
    cpu = time.thread_time()
    start = now = time.perf_counter()
    deadline = start + seconds
    while now < deadline:
        for _ in block:
            total += fn(a)
        calls += BLOCK
        now = time.perf_counter()
    return calls, total, now - start, time.thread_time() - cpu


def _loop1_discard(fn: Callable[[Any], object], a: Any, seconds: float) -> tuple[int, float, float]:
    """Call ``fn(a)`` for ``seconds``, dropping the results: (calls, wall, thread CPU seconds)."""
    calls = 0
    block = range(BLOCK)
    cpu = time.thread_time()
    start = now = time.perf_counter()
    deadline = start + seconds
    while now < deadline:
        for _ in block:
            fn(a)
        calls += BLOCK
        now = time.perf_counter()
    return calls, now - start, time.thread_time() - cpu


def _loop2(
    fn: Callable[[Any, Any], int], a: Any, b: Any, seconds: float
) -> tuple[int, int, float, float]:
    """Call ``fn(a, b)`` for ``seconds``: (calls, sum of results, wall, thread CPU seconds)."""
    calls = total = 0
    block = range(BLOCK)
    cpu = time.thread_time()
    start = now = time.perf_counter()
    deadline = start + seconds
    while now < deadline:
        for _ in block:
            total += fn(a, b)
        calls += BLOCK
        now = time.perf_counter()
    return calls, total, now - start, time.thread_time() - cpu


def _loop3(
    fn: Callable[[Any, Any, Any], int], a: Any, b: Any, c: Any, seconds: float
) -> tuple[int, int, float, float]:
    """Call ``fn(a, b, c)`` for ``seconds``: (calls, sum of results, wall, thread CPU seconds)."""
    calls = total = 0
    block = range(BLOCK)
    cpu = time.thread_time()
    start = now = time.perf_counter()
    deadline = start + seconds
    while now < deadline:
        for _ in block:
            total += fn(a, b, c)
        calls += BLOCK
        now = time.perf_counter()
    return calls, total, now - start, time.thread_time() - cpu


def native_loop(name: str) -> Callable[..., Any]:
    """The extension's native loop ``name`` (e.g. ``"_bench_udp_send"``); :class:`Unavailable`
    in a build without the cargo feature ``bench`` (release wheels)."""
    fn: Callable[..., Any] | None = getattr(_giosocket, name, None)
    if fn is None:
        raise Unavailable(
            "giosocket was built without the cargo feature bench (native loops); "
            "build from a checkout: pip install -e ."
        )
    return fn


def _has(*names: str) -> None:
    missing = [n for n in names if not hasattr(giosocket, n) and not hasattr(giosocket.Socket, n)]
    if missing:
        raise Unavailable("not available: needs " + ", ".join(missing))


# --------------------------------------------------------------------------------------
# (a) UDP send


def _gso_error(exc: OSError) -> Unavailable:
    return Unavailable(f"UDP GSO not supported here ({exc})")


def udp_send_scenario() -> Scenario:
    """64-byte datagrams to a loopback sink that never reads (the kernel drops the excess)."""
    sink = _udp(bind=True)
    addr = sink.getsockname()
    payload = bytes(range(PAYLOAD))

    def stdlib(seconds: float) -> Sample:
        with _udp() as s:
            calls, _, wall, cpu = _loop2(s.sendto, payload, addr, seconds)
        return Sample(calls, wall, cpu)

    def gio_send_to(seconds: float) -> Sample:
        with _wrap(_udp()) as g:
            calls, _, wall, cpu = _loop2(
                g.send_to, giosocket.InetSocketAddress(HOST, addr[1]), payload, seconds
            )
        return Sample(calls, wall, cpu)

    def gio_send_to_tuple(seconds: float) -> Sample:
        with _wrap(_udp()) as g:
            calls, _, wall, cpu = _loop2(g.send_to, addr, payload, seconds)
        return Sample(calls, wall, cpu)

    def gio_send_messages(seconds: float) -> Sample:
        _has("OutputMessage", "send_messages")
        target = giosocket.InetSocketAddress(HOST, addr[1])
        msgs = [giosocket.OutputMessage(target, [payload]) for _ in range(BATCH)]
        with _wrap(_udp()) as g:
            _, sent, wall, cpu = _loop1(g.send_messages, msgs, seconds)
        return Sample(sent, wall, cpu)

    def gio_gso(seconds: float) -> Sample:
        _has("UdpSegmentMessage", "send_message")
        target = giosocket.InetSocketAddress(HOST, addr[1])
        seg = [giosocket.UdpSegmentMessage(PAYLOAD)]
        vectors = [payload * BATCH]
        with _wrap(_udp()) as g:
            try:
                g.send_message(target, vectors, seg)
            except OSError as exc:
                raise _gso_error(exc) from exc
            _, sent, wall, cpu = _loop3(g.send_message, target, vectors, seg, seconds)
        return Sample(sent / PAYLOAD, wall, cpu)

    def native(mode: str, batch: int) -> Callable[[float], Sample]:
        def run(seconds: float) -> Sample:
            with _udp() as s:
                try:
                    packets, _, wall, cpu = native_loop("_bench_udp_send")(
                        s.fileno(), addr, PAYLOAD, mode, batch, seconds
                    )
                except OSError as exc:
                    if mode == "gso":
                        raise _gso_error(exc) from exc
                    raise
            return Sample(packets, wall, cpu)

        return run

    return Scenario(
        "udp_send",
        f"(a) UDP send, {PAYLOAD}-byte datagrams to {HOST}",
        "pps",
        "cpu",
        "stdlib_sendto",
        [
            Contender("stdlib_sendto", "stdlib socket.sendto", stdlib, "native_sendto"),
            Contender("gio_send_to", "giosocket send_to", gio_send_to, "native_sendto"),
            Contender(
                "gio_send_to_tuple",
                "giosocket send_to (tuple addr)",
                gio_send_to_tuple,
                "native_sendto",
            ),
            Contender(
                "gio_send_messages",
                f"giosocket send_messages x{BATCH}",
                gio_send_messages,
                "native_sendmmsg",
            ),
            Contender("gio_gso", f"giosocket GSO x{BATCH}", gio_gso, "native_gso"),
            Contender(
                "pygobject_send_to",
                "PyGObject Gio.Socket.send_to",
                _pygobject(addr),
                "native_sendto",
            ),
            Contender("native_sendto", "native sendto", native("sendto", 1)),
            Contender("native_sendmmsg", f"native sendmmsg x{BATCH}", native("sendmmsg", BATCH)),
            Contender("native_gso", f"native GSO x{BATCH}", native("gso", BATCH)),
        ],
        resources=[sink],
    )


# --------------------------------------------------------------------------------------
# (e) PyGObject, in a subprocess (python3-gi is usually installed for the system Python only)

_GI_SCRIPT = r"""
import json, sys, time
import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio
host, port, seconds, size, block = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sock = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP)
addr = Gio.InetSocketAddress.new_from_string(host, port)
payload = bytes(range(size))
send = sock.send_to
calls = 0
rng = range(block)
cpu = time.thread_time()
start = now = time.perf_counter()
deadline = start + seconds
while now < deadline:
    for _ in rng:
        send(addr, payload, None)
    calls += block
    now = time.perf_counter()
cpu = time.thread_time() - cpu
print(json.dumps({"calls": calls, "wall": now - start, "cpu": cpu}))
"""

_GI_CHECK = "import gi; gi.require_version('Gio', '2.0'); from gi.repository import Gio"
_gi_python: list[str] = []


def _find_gi_python() -> str:
    """An interpreter that imports PyGObject: this one, else the system Python."""
    if _gi_python:
        return _gi_python[0]
    tried = []
    for exe in dict.fromkeys([sys.executable, SYSTEM_PYTHON]):
        if not os.path.exists(exe):
            continue
        tried.append(exe)
        try:
            done = subprocess.run(
                [exe, "-c", _GI_CHECK], capture_output=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            _gi_python.append(exe)
            return exe
    raise Unavailable(
        f"PyGObject (gi + Gio typelib) does not import in {' or '.join(tried) or 'any Python'}: "
        "apt-get install python3-gi gir1.2-glib-2.0"
    )


def _pygobject(addr: tuple[str, int]) -> Callable[[float], Sample]:
    def run(seconds: float) -> Sample:
        exe = _find_gi_python()
        args = [exe, "-c", _GI_SCRIPT, addr[0], str(addr[1]), str(seconds), str(PAYLOAD)]
        done = subprocess.run(
            [*args, str(BLOCK)], capture_output=True, text=True, timeout=60 + seconds, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"PyGObject run failed: {done.stderr.strip()[-300:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        return Sample(float(out["calls"]), float(out["wall"]), float(out["cpu"]))

    return run


# --------------------------------------------------------------------------------------
# (b) UDP receive, fed by a native flood

_gso_flood: list[bool] = []


def _gso_works() -> bool:
    """Whether the kernel takes UDP GSO sends (then the flood uses them)."""
    if not _gso_flood:
        send = native_loop("_bench_udp_send")
        with _udp(bind=True) as sink, _udp() as s:
            try:
                send(s.fileno(), sink.getsockname(), PAYLOAD, "gso", BATCH, 1.0, 1)
                _gso_flood.append(True)
            except OSError:
                _gso_flood.append(False)
    return _gso_flood[0]


class Flood:
    """A native sender flooding ``addr`` from a thread (GIL released) until the block ends."""

    def __init__(self, addr: tuple[str, int]) -> None:
        self.addr = addr
        self.send = native_loop("_bench_udp_send")
        self.mode = "gso" if _gso_works() else "sendmmsg"
        self.sock = _udp()
        self.stop = giosocket.Cancellable()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.send(self.sock.fileno(), self.addr, PAYLOAD, self.mode, BATCH, 600.0, 0, self.stop)
        except BaseException as exc:  # noqa: BLE001 (re-raised by __exit__ in the main thread)
            self.error = exc

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.cancel()
        self.thread.join(30)
        self.sock.close()
        if self.error is not None:
            raise RuntimeError(f"flood sender failed: {self.error}")


def _receiver() -> socket.socket:
    r = _udp(bind=True)
    _big_rcvbuf(r)
    _rcvtimeo(r, 2.0)
    return r


def udp_recv_scenario() -> Scenario:
    """Receive datagrams as fast as possible while a native GSO flood feeds the socket."""

    def stdlib(seconds: float) -> Sample:
        with _receiver() as r, Flood(r.getsockname()):
            buf = bytearray(DGRAM_BUF)
            r.recv_into(buf)
            calls, _, wall, cpu = _loop1(r.recv_into, buf, seconds)
        return Sample(calls, wall, cpu)

    def gio_receive_into(seconds: float) -> Sample:
        r = _receiver()
        addr = r.getsockname()
        with _wrap(r, timeout=2.0) as g, Flood(addr):
            buf = bytearray(DGRAM_BUF)
            g.receive_into(buf)
            calls, _, wall, cpu = _loop1(g.receive_into, buf, seconds)
        return Sample(calls, wall, cpu)

    def stdlib_recv(seconds: float) -> Sample:
        with _receiver() as r, Flood(r.getsockname()):
            r.recv(DGRAM_BUF)
            calls, wall, cpu = _loop1_discard(r.recv, DGRAM_BUF, seconds)
        return Sample(calls, wall, cpu)

    def gio_receive(seconds: float) -> Sample:
        r = _receiver()
        addr = r.getsockname()
        with _wrap(r, timeout=2.0) as g, Flood(addr):
            g.receive(DGRAM_BUF)
            calls, wall, cpu = _loop1_discard(g.receive, DGRAM_BUF, seconds)
        return Sample(calls, wall, cpu)

    def gio_receive_messages(seconds: float) -> Sample:
        _has("InputMessage", "receive_messages")
        msgs = [giosocket.InputMessage([bytearray(DGRAM_BUF)]) for _ in range(BATCH)]
        r = _receiver()
        addr = r.getsockname()
        with _wrap(r, timeout=2.0) as g, Flood(addr):
            g.receive_into(bytearray(DGRAM_BUF))
            _, packets, wall, cpu = _loop2(g.receive_messages, msgs, MSG_WAITFORONE, seconds)
        return Sample(packets, wall, cpu)

    def native(mode: str, batch: int) -> Callable[[float], Sample]:
        def run(seconds: float) -> Sample:
            with _receiver() as r, Flood(r.getsockname()):
                r.recv_into(bytearray(DGRAM_BUF))
                packets, _, wall, cpu = native_loop("_bench_udp_recv")(
                    r.fileno(), DGRAM_BUF, mode, batch, seconds
                )
            return Sample(packets, wall, cpu)

        return run

    return Scenario(
        "udp_recv",
        f"(b) UDP receive, {PAYLOAD}-byte datagrams from a native flood",
        "pps",
        "cpu",
        "stdlib_recv_into",
        [
            Contender("stdlib_recv_into", "stdlib socket.recv_into", stdlib, "native_recv"),
            Contender(
                "gio_receive_into", "giosocket receive_into", gio_receive_into, "native_recv"
            ),
            Contender("stdlib_recv", "stdlib socket.recv (new bytes)", stdlib_recv, "native_recv"),
            Contender(
                "gio_receive",
                "giosocket receive (new bytes)",
                gio_receive,
                "native_recv",
                baseline="stdlib_recv",
            ),
            Contender(
                "gio_receive_messages",
                f"giosocket receive_messages x{BATCH}",
                gio_receive_messages,
                "native_recvmmsg",
            ),
            Contender("native_recv", "native recv", native("recv", 1)),
            Contender("native_recvmmsg", f"native recvmmsg x{BATCH}", native("recvmmsg", BATCH)),
        ],
    )


# --------------------------------------------------------------------------------------
# (c) TCP bulk and (d) TCP ping-pong


def _tcp_pair(bulk: bool = False) -> tuple[socket.socket, socket.socket]:
    """A loopback TCP connection (client, server). ``bulk``: fixed 4 MiB socket buffers (no
    autotuning, so every run starts alike)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _rcvtimeo(s, 5.0)
    if bulk:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    return client, server


class Peer:
    """A native loop (sender or echo) on ``sock`` in a thread with the GIL released."""

    def __init__(self, sock: socket.socket, job: Callable[[int], object]) -> None:
        self.sock = sock
        self.job = job
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.job(self.sock.fileno())
        except BaseException as exc:  # noqa: BLE001 (re-raised by __exit__ in the main thread)
            self.error = exc

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(60)
        self.sock.close()
        if self.error is not None and exc[0] is None:
            raise RuntimeError(f"native peer failed: {self.error}")


def _drain(fn: Callable[[Any], int], buf: bytearray, total: int) -> Sample:
    """Receive ``total`` bytes with ``fn(buf)``."""
    got = 0
    cpu = time.thread_time()
    start = time.perf_counter()
    while got < total:
        n = fn(buf)
        if not n:
            raise RuntimeError(f"stream ended after {got} of {total} bytes")
        got += n
    return Sample(got, time.perf_counter() - start, time.thread_time() - cpu)


def tcp_bulk_scenario(total: int) -> Scenario:
    """Receive ``total`` bytes over loopback TCP from a native sender."""

    def sender() -> Callable[[int], object]:
        send = native_loop("_bench_stream_send")
        return lambda fd: send(fd, total, STREAM_BUF, 600.0)

    def stdlib(_: float) -> Sample:
        job = sender()
        client, server = _tcp_pair(bulk=True)
        with server, Peer(client, job):
            return _drain(server.recv_into, bytearray(STREAM_BUF), total)

    def gio_receive_into(_: float) -> Sample:
        job = sender()
        client, server = _tcp_pair(bulk=True)
        with _wrap(server, timeout=5.0) as g, Peer(client, job):
            return _drain(g.receive_into, bytearray(STREAM_BUF), total)

    def native(_: float) -> Sample:
        receive = native_loop("_bench_stream_recv")
        job = sender()
        client, server = _tcp_pair(bulk=True)
        with server, Peer(client, job):
            _, got, wall, cpu = receive(server.fileno(), total, STREAM_BUF, 600.0)
        if got != total:
            raise RuntimeError(f"stream ended after {got} of {total} bytes")
        return Sample(got, wall, cpu)

    return Scenario(
        "tcp_bulk",
        f"(c) TCP bulk receive, {total >> 20} MiB over {HOST}, {STREAM_BUF >> 10} KiB buffer",
        "MB/s",
        "cpu",
        "stdlib_recv_into",
        [
            Contender("stdlib_recv_into", "stdlib socket.recv_into", stdlib, "native_recv"),
            Contender(
                "gio_receive_into", "giosocket receive_into", gio_receive_into, "native_recv"
            ),
            Contender("native_recv", "native recv", native),
        ],
    )


def _pingpong(
    send: Callable[[bytes], int], recv_into: Callable[[bytearray], int], seconds: float
) -> Sample:
    """Round trips of one byte for ``seconds``."""
    msg, buf = b"x", bytearray(1)
    n = 0
    block = range(16)
    cpu = time.thread_time()
    start = now = time.perf_counter()
    deadline = start + seconds
    while now < deadline:
        for _ in block:
            send(msg)
            recv_into(buf)
        n += 16
        now = time.perf_counter()
    return Sample(n, now - start, time.thread_time() - cpu)


def tcp_pingpong_scenario() -> Scenario:
    """One-byte request/response over loopback TCP against a native echo peer."""

    def echo() -> Callable[[int], object]:
        loop = native_loop("_bench_echo")
        return lambda fd: loop(fd, 65536, 600.0)

    def stdlib(seconds: float) -> Sample:
        job = echo()
        client, server = _tcp_pair()
        with client, Peer(server, job):
            sample = _pingpong(client.send, client.recv_into, seconds)
            client.shutdown(socket.SHUT_WR)
        return sample

    def gio(seconds: float) -> Sample:
        job = echo()
        client, server = _tcp_pair()
        with _wrap(client, timeout=5.0) as g, Peer(server, job):
            sample = _pingpong(g.send, g.receive_into, seconds)
            g.shutdown(False, True)
        return sample

    def native(seconds: float) -> Sample:
        pingpong = native_loop("_bench_pingpong")
        job = echo()
        client, server = _tcp_pair()
        with client, Peer(server, job):
            n, _, wall, cpu = pingpong(client.fileno(), 1, seconds)
            client.shutdown(socket.SHUT_WR)
        return Sample(n, wall, cpu)

    return Scenario(
        "tcp_pingpong",
        f"(d) TCP ping-pong, 1 byte each way over {HOST} (round-trip latency)",
        "us",
        "wall",
        "stdlib",
        [
            Contender("stdlib", "stdlib send + recv_into", stdlib, "native"),
            Contender("gio", "giosocket send + receive_into", gio, "native"),
            Contender("native", "native send + recv", native),
        ],
    )
