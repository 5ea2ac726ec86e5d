"""Bad input raises TypeError/ValueError/OverflowError/MemoryError/giosocket.Error:
never a panic, never an abort, never a leaked fd."""

from __future__ import annotations

import json
import os
import socket
import textwrap

import giosocket
import pytest
from conftest import run_python
from giosocket import (
    Cancellable,
    InetAddress,
    InetSocketAddress,
    IOCondition,
    Socket,
    SocketAddress,
    SocketFamily,
    SocketType,
    UnixSocketAddress,
)

pytestmark = pytest.mark.usefixtures("no_fd_leak")

V4, DGRAM, STREAM = SocketFamily.IPV4, SocketType.DATAGRAM, SocketType.STREAM
ALLOWED = (TypeError, ValueError, OverflowError, MemoryError, giosocket.Error)


@pytest.fixture
def sock():
    s = Socket(V4, DGRAM)
    s.bind(("127.0.0.1", 0), False)
    s.timeout = 0.05
    yield s
    s.close()


@pytest.mark.parametrize("size", [-1, -(2**31), -(2**63)])
def test_negative_sizes_are_value_errors(sock, size: int) -> None:
    for call in (
        lambda: sock.receive(size),
        lambda: sock.receive_from(size),
        lambda: sock.receive_with_blocking(size, False),
        lambda: sock.receive_bytes(size, 0),
        lambda: sock.receive_bytes_from(size, 0),
    ):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("size", [2**64, 2**100])
def test_sizes_beyond_64_bits_are_overflow_errors(sock, size: int) -> None:
    with pytest.raises(OverflowError):
        sock.receive(size)
    with pytest.raises(OverflowError):
        sock.receive_bytes(10, size)


def test_huge_size_is_memory_error_not_a_crash(sock) -> None:
    with pytest.raises((MemoryError, OverflowError)):
        sock.receive(2**62)
    with pytest.raises((MemoryError, OverflowError)):
        sock.receive_from(2**63 - 1)


@pytest.mark.parametrize(
    "buf",
    [b"readonly", memoryview(b"readonly"), "text", 42, None, [1, 2, 3], (1, 2)],
    ids=["bytes", "ro-memoryview", "str", "int", "None", "list", "tuple"],
)
def test_into_calls_reject_read_only_and_non_buffers(sock, buf) -> None:
    with pytest.raises(TypeError):
        sock.receive_into(buf)
    with pytest.raises(TypeError):
        sock.receive_from_into(buf)


def test_into_calls_reject_non_contiguous_buffers(sock) -> None:
    strided = memoryview(bytearray(10))[::2]
    with pytest.raises(TypeError):
        sock.receive_into(strided)


@pytest.mark.parametrize(
    "data",
    ["text", 42, None, object(), [256], [-1], ["a"], [1.5], memoryview(bytearray(10))[::2]],
    ids=["str", "int", "None", "object", "256", "-1", "list-str", "list-float", "strided"],
)
def test_send_rejects_non_buffers(sock, data) -> None:
    with pytest.raises((TypeError, ValueError)):
        sock.send_to(sock.local_address, data)


@pytest.mark.parametrize(
    "host",
    ["localhost", "example.com", "1.2.3", "256.1.1.1", "", "::g", "1.2.3.4%eth0", " 1.2.3.4"],
)
def test_non_numeric_hosts_are_value_errors(sock, host: str) -> None:
    with pytest.raises(ValueError):
        sock.send_to((host, 9), b"x")
    with pytest.raises(ValueError):
        InetAddress(host)
    with pytest.raises(ValueError):
        InetSocketAddress(host, 9)


@pytest.mark.parametrize("port", [-1, 65536, 2**31, 2**64])
def test_ports_out_of_range_are_overflow_errors(sock, port: int) -> None:
    with pytest.raises(OverflowError):
        sock.bind(("127.0.0.1", port), False)
    with pytest.raises(OverflowError):
        InetSocketAddress("127.0.0.1", port)
    with pytest.raises(OverflowError):
        InetSocketAddress.new_from_string("127.0.0.1", port)


@pytest.mark.parametrize(
    ("family", "stype", "protocol"),
    [
        (-5, 1, 0),
        (0, 1, 0),
        (9999, 1, 0),
        (2, 0, 0),
        (2, 7, 0),
        (2, -1, 0),
        (2, 1, -1),
        (2, 1, 9999),
        (2, 2, 6),  # UDP socket with the TCP protocol
        (2**40, 1, 0),
        (2, 2**40, 0),
    ],
)
def test_bad_socket_constructor_values(family: int, stype: int, protocol: int) -> None:
    with pytest.raises(ALLOWED) as info:
        Socket(family, stype, protocol)
    assert not isinstance(info.value, giosocket.Error) or info.value.code in (
        giosocket.IOErrorEnum.INVALID_ARGUMENT,
        giosocket.IOErrorEnum.NOT_SUPPORTED,
    )
    with pytest.raises(ALLOWED):
        Socket.new(family, stype, protocol)


@pytest.mark.parametrize("args", [("2", 1), (2.0, 1), (None, 1), (2, "1"), (2, 1, "0")])
def test_constructor_wrong_types(args) -> None:
    with pytest.raises(TypeError):
        Socket(*args)


@pytest.mark.parametrize("condition", [-1, 64, 1 << 16, 2**40])
def test_bad_conditions_are_value_errors(sock, condition: int) -> None:
    for call in (
        lambda: sock.condition_check(condition),
        lambda: sock.condition_wait(condition),
        lambda: sock.condition_timed_wait(condition, 0),
    ):
        with pytest.raises((ValueError, OverflowError)):
            call()


def test_bad_unix_address_types_and_families() -> None:
    for bad in (-1, 0, 5, 2**40):
        with pytest.raises((ValueError, OverflowError)):
            UnixSocketAddress.new_with_type("x", bad)
        with pytest.raises((ValueError, OverflowError)):
            InetAddress.new_any(bad)


def test_new_from_fd_with_a_non_socket_fd() -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(giosocket.Error):
            Socket.new_from_fd(r)
        os.fstat(r)  # not taken, not closed
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("fd", [-1, -(2**40), 2**31, 2**62])
def test_new_from_fd_with_impossible_numbers(fd: int) -> None:
    with pytest.raises((ValueError, OverflowError)):
        Socket.new_from_fd(fd)


def test_new_from_fd_with_a_closed_fd_number() -> None:
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    with pytest.raises(giosocket.Error):
        Socket.new_from_fd(fd)


def test_new_from_fd_wrong_types() -> None:
    for bad in ("3", 3.0, None, socket.socket):
        with pytest.raises(TypeError):
            Socket.new_from_fd(bad)  # type: ignore[arg-type]


def test_wrong_types_everywhere(sock) -> None:
    cases = [
        lambda: sock.bind(42, False),
        lambda: sock.bind(("127.0.0.1", 0), "yes"),
        lambda: sock.connect(object()),
        lambda: sock.send_to(b"x", b"x"[0]),
        lambda: sock.receive("10"),
        lambda: sock.receive(10.0),
        lambda: sock.receive(10, "not a cancellable"),
        lambda: sock.receive_bytes(10, "1"),
        lambda: sock.set_timeout("1"),
        lambda: sock.set_blocking("yes"),
        lambda: sock.set_keepalive(None),
        lambda: sock.set_listen_backlog("10"),
        lambda: sock.get_option("1", 2),
        lambda: sock.set_option(1, 2, "3"),
        lambda: sock.condition_check("IN"),
        lambda: sock.shutdown("x", False),
        lambda: SocketAddress.new_from_native("not bytes"),
        lambda: InetAddress.new_from_bytes("1234", V4),
        lambda: InetSocketAddress(1234, 1),
        lambda: UnixSocketAddress(None),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(TypeError):
            case()
        assert i >= 0


def test_set_option_value_out_of_int_range(sock) -> None:
    with pytest.raises(OverflowError):
        sock.set_option(socket.SOL_SOCKET, socket.SO_RCVBUF, 2**40)
    with pytest.raises(giosocket.Error):
        sock.set_option(-1, -1, 0)
    with pytest.raises(giosocket.Error):
        sock.get_option(socket.SOL_SOCKET, -5)


def test_huge_timeouts_do_not_overflow(sock) -> None:
    sock.timeout = 1e300
    assert sock.timeout > 1e9
    sock.timeout = 0.05
    with pytest.raises(TimeoutError):
        sock.receive_bytes(1, 2**63 - 1)  # capped by the socket timeout
    with pytest.raises(TimeoutError):
        sock.condition_timed_wait(IOCondition.IN, 2**62)
    with pytest.raises(OverflowError):
        sock.condition_timed_wait(IOCondition.IN, 2**63)
    for bad in (float("inf"), float("nan"), -1e-9):
        with pytest.raises(ValueError):
            sock.timeout = bad


def test_cancellable_wrong_type_and_reuse() -> None:
    with pytest.raises(TypeError):
        Cancellable(1)  # type: ignore[call-arg]


FUZZ = textwrap.dedent(
    """
    import json, os, socket, sys, giosocket
    from giosocket import *
    values = [None, -1, 0, 1, 2**31, -(2**63), 2**64, 1.5, float("nan"), "", "x", "127.0.0.1",
              b"", b"\\x00" * 200, bytearray(4), memoryview(b"ro"), [], [300], (), ("127.0.0.1",),
              ("127.0.0.1", 9), ("::1", 9, 0, 0), ("127.0.0.1", -1), object(), Cancellable(),
              InetAddress("127.0.0.1"), InetSocketAddress("127.0.0.1", 9),
              UnixSocketAddress("/nonexistent/x"), IOCondition.IN]
    methods = ["bind", "listen", "accept", "connect", "check_connect_result", "shutdown",
               "condition_check", "condition_wait", "condition_timed_wait", "get_available_bytes",
               "get_option", "set_option", "send", "send_to", "send_with_blocking", "receive",
               "receive_into", "receive_from", "receive_from_into", "receive_with_blocking",
               "receive_bytes", "receive_bytes_from", "set_blocking", "set_keepalive",
               "set_listen_backlog", "set_timeout", "speaks_ipv4", "get_local_address",
               "get_remote_address"]
    allowed = (TypeError, ValueError, OverflowError, MemoryError, giosocket.Error)
    bad = []
    calls = 0
    for family, stype in ((2, 2), (2, 1), (1, 1)):
        for m in methods:
            for arity in (0, 1, 2, 3):
                for i in range(len(values)):
                    args = [values[(i + k * 7) % len(values)] for k in range(arity)]
                    s = Socket(family, stype)
                    s.timeout = 0.01
                    s.blocking = False
                    try:
                        getattr(s, m)(*args)
                    except allowed:
                        pass
                    except BaseException as e:
                        bad.append((m, repr(args)[:80], type(e).__module__ + "." + type(e).__name__))
                    finally:
                        calls += 1
                        try:
                            s.close()
                        except giosocket.Error:
                            pass
    print(json.dumps({"calls": calls, "bad": bad[:20]}))
    """
)


def test_fuzz_core_methods_in_subprocess_never_panic_or_abort() -> None:
    result = run_python(FUZZ, timeout=60)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["calls"] > 1000
    assert report["bad"] == [], report["bad"]
    assert "panicked" not in result.stderr


EMFILE = textwrap.dedent(
    """
    import os, resource, socket, giosocket
    from giosocket import Socket, SocketFamily, SocketType, Cancellable
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    listener = Socket(SocketFamily.IPV4, SocketType.STREAM)
    listener.bind(("127.0.0.1", 0), True)
    listener.listen()
    client = Socket(SocketFamily.IPV4, SocketType.STREAM)
    client.connect(listener.local_address)
    idle = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    idle.bind(("127.0.0.1", 0), False)
    idle.timeout = 0.05
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    hog = []
    codes = set()
    for _ in range(200):
        try:
            hog.append(Socket(SocketFamily.IPV4, SocketType.DATAGRAM))
        except giosocket.Error as e:
            codes.add(("socket", e.code.name))
            break
    for name, call in (("accept", listener.accept), ("cancellable", Cancellable)):
        try:
            call()
        except giosocket.Error as e:
            codes.add((name, e.code.name))
    try:  # the close wake-up eventfd cannot be created: the wait still honours its timeout
        idle.receive(10)
    except TimeoutError:
        codes.add(("receive", "TIMED_OUT"))
    hog.pop().close()
    hog.pop().close()
    accepted = listener.accept()
    print(sorted(codes), accepted.is_connected())
    """
)


def test_fd_exhaustion_is_an_error_not_a_crash() -> None:
    result = run_python(EMFILE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "[('accept', 'TOO_MANY_OPEN_FILES'), ('cancellable', 'TOO_MANY_OPEN_FILES'), "
        "('receive', 'TIMED_OUT'), ('socket', 'TOO_MANY_OPEN_FILES')] True"
    )
