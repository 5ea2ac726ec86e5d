"""Socket.create_source on a real GLib.MainLoop (PyGObject from the test extra)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import giosocket
import pytest
from conftest import udp_socket
from giosocket import Cancellable, IOCondition, IOErrorEnum, Socket, SocketFamily, SocketType

try:
    import gi

    gi.require_version("GLib", "2.0")
    from gi.repository import GLib
except (ImportError, ValueError) as exc:  # pragma: no cover - the test extra installs it
    pytest.skip(
        f"PyGObject is not importable here ({exc}): pip install -e '.[test]'",
        allow_module_level=True,
    )

# GLib's default main context owns a wake-up eventfd for the life of the process: create it
# before the fd-leak checks start counting.
GLib.MainContext.default()
pytestmark = pytest.mark.usefixtures("no_fd_leak")
LIMIT_MS = 5000  # every loop here quits after this long at the latest


def run_loop(loop: Any, limit_ms: int = LIMIT_MS) -> bool:
    """Run `loop` until it quits or `limit_ms` passes; True if it quit by itself."""
    timed_out: list[bool] = []

    def give_up() -> bool:
        timed_out.append(True)
        loop.quit()
        return False

    guard = GLib.timeout_add(limit_ms, give_up)
    loop.run()
    if not timed_out:
        GLib.source_remove(guard)
    return not timed_out


@pytest.fixture
def rx() -> Iterator[Socket]:
    sock = udp_socket(timeout=0)
    sock.blocking = False
    yield sock
    sock.close()


def attach(
    sock: Socket,
    condition: IOCondition,
    callback: Callable[..., bool],
    cancellable: Cancellable | None = None,
    **kwargs: Any,
) -> None:
    source = sock.create_source(condition, cancellable, **kwargs)
    source.set_callback(callback)
    source.attach(None)  # no reference kept: the attached source stays alive, as in GIO


def test_main_loop_receives_datagrams(rx: Socket) -> None:
    loop = GLib.MainLoop()
    got: list[tuple[IOCondition, bytes]] = []

    def on_readable(sock: Socket, condition: IOCondition) -> bool:
        assert sock is rx
        while True:
            try:
                got.append((condition, sock.receive(64)))
            except giosocket.Error as e:
                assert e.code == IOErrorEnum.WOULD_BLOCK
                break
        if len(got) >= 5:
            loop.quit()
            return False
        return True

    attach(rx, IOCondition.IN, on_readable)
    with udp_socket() as tx:
        for i in range(5):
            tx.send_to(rx.get_local_address(), b"datagram %d" % i)
        assert run_loop(loop)
    assert [data for _, data in got] == [b"datagram %d" % i for i in range(5)]
    assert all(cond == IOCondition.IN for cond, _ in got)


def test_main_loop_accepts_a_tcp_connection() -> None:
    loop = GLib.MainLoop()
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as listener:
        listener.bind(("127.0.0.1", 0), True)
        listener.listen()
        listener.blocking = False
        accepted: list[Socket] = []

        def on_incoming(sock: Socket, condition: IOCondition) -> bool:
            assert condition & IOCondition.IN
            accepted.append(sock.accept())
            loop.quit()
            return False

        attach(listener, IOCondition.IN, on_incoming)
        with Socket(SocketFamily.IPV4, SocketType.STREAM) as client:
            client.timeout = 5
            GLib.idle_add(lambda: client.connect(listener.get_local_address()) and False)
            assert run_loop(loop)
            (server,) = accepted
            with server:
                client.send(b"hi")
                server.timeout = 5
                assert server.receive(2) == b"hi"


def test_user_data_is_passed_to_the_callback(rx: Socket) -> None:
    loop = GLib.MainLoop()
    seen: list[object] = []

    def on_writable(sock: Socket, condition: IOCondition, data: object) -> bool:
        seen.append((condition, data))
        loop.quit()
        return False

    source = rx.create_source(IOCondition.OUT)
    source.set_callback(on_writable, "user data")
    source.attach(None)
    assert run_loop(loop)
    assert seen == [(IOCondition.OUT, "user data")]


@pytest.mark.parametrize("how", ["socket timeout", "timeout_us"])
def test_timeout_fires_with_the_condition_set(rx: Socket, how: str) -> None:
    loop = GLib.MainLoop()
    fired: list[tuple[float, IOCondition]] = []

    def on_ready(sock: Socket, condition: IOCondition) -> bool:
        fired.append((time.monotonic() - start, condition))
        if len(fired) == 2:
            loop.quit()
            return False
        return True  # GIO re-arms the timeout after each dispatch

    if how == "socket timeout":
        rx.timeout = 0.2
        attach(rx, IOCondition.IN, on_ready)
    else:
        attach(rx, IOCondition.IN, on_ready, timeout_us=200_000)
    start = time.monotonic()
    assert run_loop(loop)
    (first, cond1), (second, cond2) = fired
    # Nothing was sent: both dispatches are the inactivity timeout, with IN set (GIO adds
    # IN | OUT, masked by the condition asked for).
    assert cond1 == cond2 == IOCondition.IN
    assert 0.15 <= first < 2 and 0.3 <= second < 4
    # As GIO's check_timeout: the next I/O raises TIMED_OUT once, then runs normally.
    with pytest.raises(giosocket.Error) as info:
        rx.receive(8)
    assert info.value.code == IOErrorEnum.TIMED_OUT
    with pytest.raises(giosocket.Error) as info:
        rx.receive(8)
    assert info.value.code == IOErrorEnum.WOULD_BLOCK


def test_no_timeout_means_no_dispatch_without_io(rx: Socket) -> None:
    loop = GLib.MainLoop()
    fired: list[IOCondition] = []
    attach(rx, IOCondition.IN, lambda s, c: fired.append(c) or True)
    assert not run_loop(loop, limit_ms=300)  # ends by the guard, not by the source
    assert fired == []


def test_cancellation_fires_and_the_next_io_raises_cancelled(rx: Socket) -> None:
    loop = GLib.MainLoop()
    cancellable = Cancellable()
    outcome: list[object] = []

    def on_ready(sock: Socket, condition: IOCondition) -> bool:
        try:
            sock.receive(8, cancellable)
            outcome.append("received")
        except giosocket.Error as e:
            outcome.append((condition, e.code))
        loop.quit()
        return False

    attach(rx, IOCondition.IN, on_ready, cancellable)
    start = time.monotonic()
    GLib.timeout_add(100, lambda: cancellable.cancel() and False)
    assert run_loop(loop)
    assert outcome == [(IOCondition(0), IOErrorEnum.CANCELLED)]
    assert 0.05 <= time.monotonic() - start < 3


def test_closing_the_socket_dispatches_nval() -> None:
    loop = GLib.MainLoop()
    sock = udp_socket(timeout=0)
    seen: list[IOCondition] = []

    def on_ready(s: Socket, condition: IOCondition) -> bool:
        seen.append(condition)
        loop.quit()
        return False

    attach(sock, IOCondition.IN, on_ready)
    GLib.idle_add(lambda: sock.close() and False)
    assert run_loop(loop)
    assert seen == [IOCondition.NVAL]


def test_create_source_argument_errors(rx: Socket) -> None:
    with pytest.raises(ValueError):
        rx.create_source(IOCondition.IN, None, timeout_us=-1)
    with pytest.raises(TypeError):
        rx.create_source("IN")  # type: ignore[arg-type]
    closed = udp_socket()
    closed.close()
    with pytest.raises(giosocket.Error) as info:
        closed.create_source(IOCondition.IN)
    assert info.value.code == IOErrorEnum.CLOSED


def test_without_pygobject_it_is_not_supported() -> None:
    code = (
        "import sys; sys.modules['gi'] = None\n"
        "import giosocket\n"
        "s = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)\n"
        "try:\n"
        "    s.create_source(giosocket.IOCondition.IN)\n"
        "except giosocket.Error as e:\n"
        "    print(e.code.name, 'PyGObject' in str(e))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["NOT_SUPPORTED", "True"]


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # dropping unclosed sockets is the point
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sources_let_their_socket_go() -> None:
    import gc
    import os

    def fd_is_open(fd: int) -> bool:
        try:
            os.fstat(fd)
            return True
        except OSError:
            return False

    # Never attached: dropping the source drops its reference to the socket.
    sock = udp_socket()
    fd = sock.get_fd()
    source = sock.create_source(IOCondition.IN)
    source.set_callback(lambda s, c: True)
    del sock, source
    gc.collect()
    assert not fd_is_open(fd)
    # Attached, then removed by its callback returning False: the context lets it go.
    loop = GLib.MainLoop()
    sock = udp_socket()
    fd = sock.get_fd()
    attach(sock, IOCondition.OUT, lambda s, c: loop.quit() or False)
    del sock
    assert run_loop(loop)
    gc.collect()
    assert not fd_is_open(fd)
    # Attached, then destroyed by the caller.
    sock = udp_socket()
    fd = sock.get_fd()
    source = sock.create_source(IOCondition.IN)
    source.set_callback(lambda s, c: True)
    source.attach(None)
    del sock
    source.destroy()
    del source
    gc.collect()
    assert not fd_is_open(fd)
