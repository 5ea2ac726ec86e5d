"""Timeouts: the socket's per-wait `timeout` and per-call `timeout_us` budgets (GLib semantics)."""

from __future__ import annotations

import threading
import time

import giosocket
import pytest
from conftest import udp_socket
from giosocket import IOCondition, IOErrorEnum, Socket, SocketFamily, SocketType

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def elapsed(fn) -> tuple[float, BaseException | None]:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    try:
        fn()
    except BaseException as e:  # noqa: BLE001 - returned to the caller
        return time.monotonic() - start, e
    return time.monotonic() - start, None


def test_receive_on_idle_tcp_with_timeout_1_times_out_after_1s(tcp) -> None:
    _, client, _ = tcp
    client.timeout = 1
    took, err = elapsed(lambda: client.receive(128))
    assert isinstance(err, TimeoutError) and isinstance(err, giosocket.Error)
    assert err.code is IOErrorEnum.TIMED_OUT and str(err) == "Socket I/O timed out"
    assert 0.95 <= took < 1.5
    # The socket is still usable afterwards.
    assert client.send(b"ok") == 2


def test_condition_timed_wait_100ms_is_accurate(tcp) -> None:
    _, client, _ = tcp
    client.timeout = 1
    samples = []
    for _ in range(3):
        took, err = elapsed(lambda: client.condition_timed_wait(IOCondition.IN, 100_000))
        assert isinstance(err, giosocket.Error) and err.code is IOErrorEnum.TIMED_OUT
        samples.append(took)
    # GLib's test_timed_wait asserts 98..112 ms; allow one noisy sample on a loaded machine.
    assert min(samples) >= 0.098
    assert sorted(samples)[1] < 0.112, samples


def test_socket_timeout_caps_condition_timed_wait() -> None:
    with udp_socket() as s:
        s.timeout = 0.1
        took, err = elapsed(lambda: s.condition_timed_wait(IOCondition.IN, 5_000_000))
        assert isinstance(err, TimeoutError)
        assert 0.09 <= took < 0.5


def test_socket_timeout_bounds_condition_wait() -> None:
    with udp_socket() as s:
        s.timeout = 0.1
        took, err = elapsed(lambda: s.condition_wait(IOCondition.IN))
        assert isinstance(err, TimeoutError) and 0.09 <= took < 0.5


def test_condition_timed_wait_zero_polls_once() -> None:
    with udp_socket() as s:
        took, err = elapsed(lambda: s.condition_timed_wait(IOCondition.IN, 0))
        assert isinstance(err, TimeoutError) and took < 0.05
        assert s.condition_timed_wait(IOCondition.OUT, 0) is True


def test_receive_bytes_timeout_us() -> None:
    with udp_socket() as s:
        s.timeout = 0
        took, err = elapsed(lambda: s.receive_bytes(10, 150_000))
        assert isinstance(err, TimeoutError) and 0.14 <= took < 0.5
        took, err = elapsed(lambda: s.receive_bytes_from(10, 50_000))
        assert isinstance(err, TimeoutError) and 0.045 <= took < 0.4
        took, err = elapsed(lambda: s.receive_bytes(10, 0))
        assert isinstance(err, BlockingIOError) and took < 0.05


def test_timeout_is_per_wait_not_per_call() -> None:
    # GLib's timeout is an inactivity timeout: each wait may last up to `timeout`.
    with udp_socket() as rx, udp_socket() as tx:
        rx.timeout = 0.3
        stop = threading.Event()

        def trickle() -> None:
            for _ in range(4):
                if stop.wait(0.1):
                    return
                tx.send_to(rx.local_address, b"x")

        t = threading.Thread(target=trickle)
        t.start()
        try:
            start = time.monotonic()
            for _ in range(4):
                assert rx.receive(10) == b"x"
            assert time.monotonic() - start >= 0.35
        finally:
            stop.set()
            t.join(2)


def test_timeout_applies_to_accept_and_send() -> None:
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as listener:
        listener.bind(("127.0.0.1", 0), True)
        listener.listen()
        listener.timeout = 0.1
        took, err = elapsed(listener.accept)
        assert isinstance(err, TimeoutError) and took < 0.5


def test_blocking_connect_honours_timeout() -> None:
    # A full backlog makes further SYNs wait; connect must give up after `timeout`.
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as listener:
        listener.bind(("127.0.0.1", 0), True)
        listener.listen_backlog = 0
        listener.listen()
        clients = []
        try:
            timed_out = False
            for _ in range(8):
                c = Socket(SocketFamily.IPV4, SocketType.STREAM)
                clients.append(c)
                c.timeout = 0.2
                took, err = elapsed(lambda c=c: c.connect(listener.local_address))
                if err is not None:
                    assert isinstance(err, TimeoutError), err
                    assert took < 1.0
                    timed_out = True
                    break
            if not timed_out:
                pytest.skip("the kernel accepted every connection (no SYN backlog limit hit)")
        finally:
            for c in clients:
                c.close()


def test_timeout_zero_means_forever_until_data() -> None:
    with udp_socket() as rx, udp_socket() as tx:
        rx.timeout = 0
        threading.Timer(0.2, lambda: tx.send_to(rx.local_address, b"late")).start()
        took, err = elapsed(lambda: rx.receive(10))
        assert err is None and 0.15 <= took < 2
