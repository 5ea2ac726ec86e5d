"""Shared fixtures and helpers for giosocket's tests (real sockets on loopback only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import giosocket
import pytest
from giosocket import Socket, SocketFamily, SocketType


def open_fds() -> set[int]:
    """The fd numbers open in this process right now."""
    return {int(name) for name in os.listdir("/proc/self/fd")}


def fd_count() -> int:
    """How many fds this process has open right now."""
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    """Fail the test if it leaves more fds open than it found (counts /proc/self/fd)."""
    before = open_fds()
    yield
    # Give a socket dropped by the garbage collector a moment.
    deadline = time.monotonic() + 1.0
    leaked = open_fds() - before
    while leaked and time.monotonic() < deadline:
        import gc

        gc.collect()
        time.sleep(0.01)
        leaked = open_fds() - before
    details = {fd: _describe(fd) for fd in leaked}
    assert not leaked, f"leaked fds: {details}"


def _describe(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"


def has_ipv6() -> bool:
    """Whether IPv6 loopback works on this machine."""
    try:
        with Socket(SocketFamily.IPV6, SocketType.DATAGRAM) as s:
            s.bind(("::1", 0), False)
        return True
    except giosocket.Error:
        return False


needs_ipv6 = pytest.mark.skipif(not has_ipv6(), reason="this machine has no IPv6 loopback (::1)")


def tcp_pair(
    family: SocketFamily = SocketFamily.IPV4,
) -> tuple[Socket, Socket, Socket]:
    """(listener, client, server) connected over loopback TCP; close all three when done."""
    host = "127.0.0.1" if family == SocketFamily.IPV4 else "::1"
    listener = Socket(family, SocketType.STREAM)
    listener.bind((host, 0), True)
    listener.listen()
    client = Socket(family, SocketType.STREAM)
    client.timeout = 5
    client.connect(listener.local_address)
    listener.timeout = 5
    server = listener.accept()
    server.timeout = 5
    return listener, client, server


def connected_tcp(timeout: float) -> tuple[Socket, Socket]:
    """A connected loopback TCP (client, server) pair with `timeout` set on both; the
    listener is closed already."""
    listener, client, server = tcp_pair()
    listener.close()
    client.timeout = server.timeout = timeout
    return client, server


@pytest.fixture
def tcp() -> Iterator[tuple[Socket, Socket, Socket]]:
    """A connected loopback TCP (listener, client, server) triple, closed afterwards."""
    sockets = tcp_pair()
    yield sockets
    for s in sockets:
        s.close()


def udp_socket(host: str = "127.0.0.1", timeout: float = 5) -> Socket:
    """A UDP socket bound to an ephemeral loopback port (timeout 5 s unless told)."""
    family = SocketFamily.IPV6 if ":" in host else SocketFamily.IPV4
    s = Socket(family, SocketType.DATAGRAM)
    s.bind((host, 0), False)
    s.timeout = timeout
    return s


@pytest.fixture
def udp() -> Iterator[tuple[Socket, Socket]]:
    """Two bound loopback UDP sockets, closed afterwards."""
    a, b = udp_socket(), udp_socket()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def unix_pair() -> Iterator[tuple[Socket, Socket]]:
    """An anonymous connected UNIX stream pair (socketpair + new_from_fd)."""
    import socket

    x, y = socket.socketpair()
    a, b = Socket.new_from_fd(x.detach()), Socket.new_from_fd(y.detach())
    a.timeout = b.timeout = 5
    yield a, b
    a.close()
    b.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll `predicate` every 10 ms for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def run_python(
    code: str, timeout: float = 20.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter of the test's Python (for crash-prone checks), in
    environment `env` if given."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def run_giosocket(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``python -m giosocket ARGS`` in a fresh interpreter (at most `timeout` seconds)."""
    return subprocess.run(
        [sys.executable, "-m", "giosocket", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def sockets() -> Iterator[list[Socket]]:
    """A list to put sockets in; each is closed after the test, whatever happens."""
    opened: list[Socket] = []
    yield opened
    for sock in opened:
        sock.close()


def bound_udp(opened: list[Socket], family: SocketFamily, host: str, port: int = 0) -> Socket:
    """A UDP socket bound to (`host`, `port`) with a 5 s timeout, added to `opened` (created in
    the calling thread's network namespace)."""
    sock = Socket(family, SocketType.DATAGRAM)
    opened.append(sock)
    sock.bind((host, port), port != 0)
    sock.timeout = 5
    return sock


@pytest.fixture(scope="module")
def veth() -> Iterator[object]:
    """A `netns.VethPair` for the module's tests (skipped, with the reason, where private
    network namespaces cannot be made)."""
    from netns import NetnsUnavailable, VethPair, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    try:
        pair = VethPair()
    except NetnsUnavailable as exc:
        pytest.skip(f"cannot create private network namespaces here: {exc}")
    try:
        yield pair
    finally:
        pair.close()


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    """Each loop kind a test runs on: the default asyncio loop and uvloop."""
    return str(request.param)
