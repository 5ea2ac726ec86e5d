"""The wait engine never spins: spurious readiness, call-wide deadlines, signals, fork, EMFILE.

Two everyday triggers make ``poll()`` report readiness while the syscall keeps failing with
EAGAIN: an unconnected AF_UNIX datagram sender whose receiver's queue is full (poll looks at
the sender's own buffer), and a UDP socket with IP_RECVERR holding an ICMP error in its error
queue (POLLERR stays set, ``recv`` gives EAGAIN). Every blocking call, sync and async, must
still honour its timeout, cost almost no CPU while stuck, and stay interruptible.
"""

from __future__ import annotations

import asyncio
import os
import socket as pysocket
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import giosocket as g
import pytest
from conftest import fd_count, run_python
from giosocket import IOErrorEnum, SocketFamily, SocketType

IP_RECVERR = 11  # <linux/in.h>; the socket module does not export it
TIMEOUT = 0.5
SLACK = 0.1  # the acceptance bound: TIMED_OUT within timeout + 100 ms
MAX_CPU_SHARE = 0.2  # of one core, while stuck

# Setup code shared by the in-process tests and the SIGINT subprocesses: defines `stuck`
# (the socket whose calls see spurious readiness) and `dest` (where it sends, if anywhere).
FULL_UNIX_RECEIVER = textwrap.dedent(
    """
    import os, tempfile, giosocket as g
    dest = os.path.join(tempfile.mkdtemp(), "rx")
    rx = g.Socket(g.SocketFamily.UNIX, g.SocketType.DATAGRAM)
    rx.bind(dest, False)
    stuck = g.Socket(g.SocketFamily.UNIX, g.SocketType.DATAGRAM)
    stuck.blocking = False
    for _ in range(100_000):
        try:
            stuck.send_to(dest, b"x")
        except BlockingIOError:
            break
    else:
        raise RuntimeError("the receiver's queue never filled")
    stuck.blocking = True
    """
)

PENDING_ICMP_ERROR = textwrap.dedent(
    """
    import socket, time, giosocket as g
    closed = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
    closed.bind(("127.0.0.1", 0), False)
    dest = closed.local_address
    closed.close()
    stuck = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
    stuck.set_option(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
    stuck.connect(dest)
    stuck.send(b"x")
    for _ in range(200):  # the ICMP port unreachable arrives within microseconds on loopback
        if stuck.condition_check(g.IOCondition.ERR):
            break
        time.sleep(0.005)
    try:
        stuck.receive_with_blocking(10, False)   # reports (and clears) the socket error once
    except ConnectionRefusedError:
        pass
    assert stuck.condition_check(g.IOCondition.IN) & g.IOCondition.ERR, "no pending error"
    """
)


def _setup(code: str) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    exec(code, scope)  # noqa: S102 - the same setup code runs in the SIGINT subprocesses
    return scope


@pytest.fixture
def full_unix_receiver() -> Iterator[dict[str, Any]]:
    scope = _setup(FULL_UNIX_RECEIVER)
    yield scope
    scope["stuck"].close()
    scope["rx"].close()
    os.unlink(scope["dest"])
    os.rmdir(os.path.dirname(scope["dest"]))


@pytest.fixture
def pending_icmp_error() -> Iterator[dict[str, Any]]:
    scope = _setup(PENDING_ICMP_ERROR)
    yield scope
    scope["stuck"].close()


def assert_times_out_cheaply(call: Callable[[], object], limit: float = TIMEOUT) -> None:
    """`call()` raises TIMED_OUT after `limit` (within the slack) using little CPU."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    with pytest.raises(g.Error) as info:
        call()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    assert info.value.code == IOErrorEnum.TIMED_OUT
    assert isinstance(info.value, TimeoutError)
    assert limit - 0.01 <= wall < limit + SLACK, wall
    assert cpu < MAX_CPU_SHARE * wall, f"{cpu:.3f} s of CPU in {wall:.3f} s"


UNIX_SYNC_CALLS: dict[str, Callable[[dict[str, Any]], object]] = {
    "send_to": lambda s: s["stuck"].send_to(s["dest"], b"y"),
    "send_message": lambda s: s["stuck"].send_message(s["dest"], [b"y"]),
    "send_messages": lambda s: s["stuck"].send_messages([g.OutputMessage(s["dest"], [b"y"])]),
}


@pytest.mark.parametrize("name", UNIX_SYNC_CALLS)
def test_full_unix_receiver_send_times_out_without_spinning(
    full_unix_receiver: dict[str, Any], name: str
) -> None:
    full_unix_receiver["stuck"].timeout = TIMEOUT
    assert_times_out_cheaply(lambda: UNIX_SYNC_CALLS[name](full_unix_receiver))


def test_full_unix_receiver_send_message_with_timeout_is_an_overall_deadline(
    full_unix_receiver: dict[str, Any],
) -> None:
    s = full_unix_receiver
    assert_times_out_cheaply(
        lambda: s["stuck"].send_message_with_timeout(s["dest"], [b"y"], None, 0, int(TIMEOUT * 1e6))
    )


def test_timeout_us_is_overall_even_with_a_longer_socket_timeout(
    full_unix_receiver: dict[str, Any],
) -> None:
    s = full_unix_receiver
    s["stuck"].timeout = 30
    assert_times_out_cheaply(
        lambda: s["stuck"].send_message_with_timeout(s["dest"], [b"y"], None, 0, 300_000),
        limit=0.3,
    )


ICMP_SYNC_CALLS: dict[str, Callable[[g.Socket], object]] = {
    "receive": lambda s: s.receive(10),
    "receive_from": lambda s: s.receive_from(10),
    "receive_messages": lambda s: s.receive_messages([g.InputMessage([bytearray(10)])]),
    "receive_message": lambda s: s.receive_message([bytearray(10)]),
}


@pytest.mark.parametrize("name", ICMP_SYNC_CALLS)
def test_pending_icmp_error_receive_times_out_without_spinning(
    pending_icmp_error: dict[str, Any], name: str
) -> None:
    stuck = pending_icmp_error["stuck"]
    stuck.timeout = TIMEOUT
    assert_times_out_cheaply(lambda: ICMP_SYNC_CALLS[name](stuck))


def test_pending_icmp_error_receive_bytes_deadline_holds(
    pending_icmp_error: dict[str, Any],
) -> None:
    stuck = pending_icmp_error["stuck"]
    assert_times_out_cheaply(lambda: stuck.receive_bytes(10, 300_000), limit=0.3)


def test_data_after_spurious_readiness_is_still_received(
    pending_icmp_error: dict[str, Any],
) -> None:
    """Back-off must not lose or delay real data by more than a few ms."""
    stuck = pending_icmp_error["stuck"]
    stuck.timeout = 5
    peer = g.Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    with peer:
        # Re-point the stuck socket at a live peer, which answers after 0.2 s.
        peer.bind(("127.0.0.1", 0), False)
        stuck.connect(peer.local_address)
        peer.connect(stuck.local_address)
        threading.Timer(0.2, peer.send, (b"late",)).start()
        start = time.monotonic()
        assert stuck.receive(10) == b"late"
        assert time.monotonic() - start < 0.2 + SLACK


def _run_async(kind: str, coro: Coroutine[Any, Any, Any]) -> Any:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_full_unix_receiver_send_to_async_times_out_without_spinning(
    full_unix_receiver: dict[str, Any], kind: str
) -> None:
    s = full_unix_receiver
    s["stuck"].timeout = TIMEOUT
    assert_times_out_cheaply(lambda: _run_async(kind, s["stuck"].send_to_async(s["dest"], b"y")))


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_full_unix_receiver_send_messages_async_times_out_without_spinning(
    full_unix_receiver: dict[str, Any], kind: str
) -> None:
    s = full_unix_receiver
    s["stuck"].timeout = TIMEOUT
    message = g.OutputMessage(s["dest"], [b"y"])
    assert_times_out_cheaply(lambda: _run_async(kind, s["stuck"].send_messages_async([message])))


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
@pytest.mark.parametrize("name", ["receive_async", "receive_messages_async"])
def test_pending_icmp_error_receive_async_times_out_without_spinning(
    pending_icmp_error: dict[str, Any], kind: str, name: str
) -> None:
    stuck = pending_icmp_error["stuck"]
    stuck.timeout = TIMEOUT
    if name == "receive_async":
        make = lambda: stuck.receive_async(10)
    else:
        make = lambda: stuck.receive_messages_async([g.InputMessage([bytearray(10)])])
    assert_times_out_cheaply(lambda: _run_async(kind, make()))


SIGINT_WHILE_STUCK = textwrap.dedent(
    """
    import asyncio, os, signal, threading, time
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if our parent ignores it
    {setup}
    stuck.timeout = 0  # block forever: only Ctrl-C ends the call
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(0.3, interrupt).start()
    try:
        {call}
        print("RETURNED")
    except KeyboardInterrupt:
        print("KeyboardInterrupt", time.monotonic() - sent[0])
    """
)

SIGINT_CASES = {
    "unix_send_to": (FULL_UNIX_RECEIVER, "stuck.send_to(dest, b'y')"),
    "unix_send_messages": (
        FULL_UNIX_RECEIVER,
        "stuck.send_messages([g.OutputMessage(dest, [b'y'])])",
    ),
    "icmp_receive": (PENDING_ICMP_ERROR, "stuck.receive(10)"),
    "icmp_receive_bytes": (PENDING_ICMP_ERROR, "stuck.receive_bytes(10, -1)"),
    "unix_send_to_async": (FULL_UNIX_RECEIVER, "asyncio.run(stuck.send_to_async(dest, b'y'))"),
    "icmp_receive_async": (PENDING_ICMP_ERROR, "asyncio.run(stuck.receive_async(10))"),
}


@pytest.mark.parametrize("case", SIGINT_CASES.values(), ids=SIGINT_CASES.keys())
def test_sigint_interrupts_a_stuck_call_within_100ms(case: tuple[str, str]) -> None:
    setup, call = case
    code = SIGINT_WHILE_STUCK.format(setup=textwrap.indent(setup, ""), call=call)
    result = run_python(code, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("KeyboardInterrupt"), result.stdout + result.stderr
    latency = float(result.stdout.split()[1])
    assert latency < 0.1, latency


# Python 3.12+ warns that forking a multi-threaded process may deadlock the child; this child
# only closes a socket and reports with os.write / os._exit.
@pytest.mark.filterwarnings("ignore:This process.*is multi-threaded:DeprecationWarning")
def test_fork_child_close_releases_the_listener_despite_a_parent_thread_in_accept() -> None:
    """Pre-fork servers: a parent thread blocked in accept at fork time must not keep the
    listener open in the child, and the child's close must not wake the parent's thread."""
    listener = g.Socket(SocketFamily.IPV4, SocketType.STREAM)
    listener.bind(("127.0.0.1", 0), True)
    listener.listen()
    port = listener.local_address.port
    fd = listener.fileno()
    outcome: list[object] = []

    def accept() -> None:
        try:
            outcome.append(listener.accept())
        except g.Error as exc:
            outcome.append(exc.code)

    thread = threading.Thread(target=accept)
    thread.start()
    time.sleep(0.1)  # the thread is in accept's wait
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only this thread exists here
        status = 1
        try:
            os.close(read_end)
            before = fd_count()
            listener.close()
            try:
                os.fstat(fd)
            except OSError:
                # Released, and nothing else leaked (the wake-up fd included).
                status = 0 if fd_count() < before else 3
            else:
                status = 2
            os.write(write_end, bytes([status]))
        finally:
            os._exit(status)
    os.close(write_end)
    child_status = os.read(read_end, 1)
    os.close(read_end)
    _, wait_status = os.waitpid(pid, 0)
    assert child_status == b"\x00", f"child reported {child_status!r} (2: fd still open)"
    assert os.waitstatus_to_exitcode(wait_status) == 0
    time.sleep(0.05)
    assert thread.is_alive(), "the child's close woke the parent's accept"
    listener.close()
    thread.join(5)
    assert outcome == [IOErrorEnum.CLOSED]
    probe = pysocket.socket()
    with probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


EMFILE_WAKE = textwrap.dedent(
    """
    import os, resource, threading, time, giosocket as g
    a = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
    a.bind(("127.0.0.1", 0), False)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    fillers = []
    try:
        while True:
            fillers.append(os.dup(0))
    except OSError:
        pass
    outcome = []
    def receive():
        try:
            a.receive(10)
        except g.Error as exc:
            outcome.append((exc.code.name, time.monotonic()))
    t = threading.Thread(target=receive)
    t.start()
    time.sleep(0.2)      # waiting with the fd table full: no close wake-up fd could be made
    for f in fillers:
        os.close(f)
    time.sleep(0.1)
    closed_at = time.monotonic()
    a.close()
    t.join(5)
    print(outcome[0][0], outcome[0][1] - closed_at)
    """
)


def test_close_wakes_a_wait_that_started_with_the_fd_table_full() -> None:
    result = run_python(EMFILE_WAKE, timeout=20)
    assert result.returncode == 0, result.stderr
    name, latency = result.stdout.split()
    assert name == "CLOSED"
    assert float(latency) < 0.1


def test_close_wakes_a_wait_while_the_fd_table_stays_full() -> None:
    code = EMFILE_WAKE.replace("for f in fillers:\n    os.close(f)\n", "")
    result = run_python(code, timeout=20)
    assert result.returncode == 0, result.stderr
    name, latency = result.stdout.split()
    assert name == "CLOSED"
    assert float(latency) < 0.1


class _RaisingPath:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __fspath__(self) -> str:
        raise self.exc


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), ValueError("bad path"), OSError(5, "io")])
def test_fspath_exceptions_propagate_unchanged(exc: BaseException) -> None:
    sock = g.Socket(SocketFamily.UNIX, SocketType.DATAGRAM)
    with sock:
        with pytest.raises(type(exc)) as info:
            sock.bind(_RaisingPath(exc), False)
        assert info.value is exc
        with pytest.raises(type(exc)):
            g.UnixSocketAddress(_RaisingPath(exc))


def test_fspath_missing_is_a_type_error() -> None:
    sock = g.Socket(SocketFamily.UNIX, SocketType.DATAGRAM)
    with sock, pytest.raises(TypeError):
        sock.bind(3.5, False)  # type: ignore[arg-type]


def test_fspath_returning_bytes_is_accepted() -> None:
    class BytesPath:
        def __init__(self, path: bytes) -> None:
            self.path = path

        def __fspath__(self) -> bytes:
            return self.path

    path = os.path.join(tempfile.mkdtemp(), "bp").encode()
    sock = g.Socket(SocketFamily.UNIX, SocketType.DATAGRAM)
    with sock:
        assert sock.bind(BytesPath(path), False)
        assert sock.local_address.get_path_bytes() == path
    os.unlink(path)
    os.rmdir(os.path.dirname(path))
