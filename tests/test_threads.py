"""Thread safety: concurrent use of one socket, close() from another thread, GIL release."""

from __future__ import annotations

import threading
import time

import giosocket
import pytest
from conftest import udp_socket
from giosocket import IOCondition, IOErrorEnum, Socket, SocketFamily, SocketType

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def test_two_threads_send_and_receive_on_one_socket_at_once(unix_pair) -> None:
    a, b = unix_pair
    rounds = 2000
    payload = b"z" * 100
    errors: list[BaseException] = []
    received = [0]

    def sender() -> None:
        try:
            for _ in range(rounds):
                sent = 0
                while sent < len(payload):
                    sent += a.send(payload[sent:])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def receiver() -> None:
        try:
            while received[0] < rounds * len(payload):
                received[0] += len(a.receive(4096))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def echo() -> None:
        try:
            total = 0
            while total < rounds * len(payload):
                data = b.receive(4096)
                total += len(data)
                view = memoryview(data)
                while view:
                    view = view[b.send(view) :]
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=f) for f in (sender, receiver, echo)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert received[0] == rounds * len(payload)


def test_many_threads_share_one_udp_socket() -> None:
    rx = udp_socket()
    tx = udp_socket()
    rx.timeout = tx.timeout = 5
    per_thread = 200
    errors: list[BaseException] = []
    got: list[bytes] = []
    lock = threading.Lock()

    def send(tag: int) -> None:
        try:
            for i in range(per_thread):
                tx.send_to(rx.local_address, f"{tag}:{i}".encode())
                if i % 20 == 0:
                    time.sleep(0.001)  # stay below the receive buffer
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def receive() -> None:
        try:
            while True:
                try:
                    data = rx.receive_bytes(64, 300_000)
                except TimeoutError:
                    return
                with lock:
                    got.append(data)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=receive) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    rx.close()
    tx.close()
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    # Loopback UDP may drop under pressure; most must arrive, none twice.
    assert len(got) == len(set(got))
    assert len(got) > 0.5 * 3 * per_thread


@pytest.mark.parametrize(
    "blocked_call",
    [
        lambda s: s.receive(10),
        lambda s: s.receive_from(10),
        lambda s: s.receive_into(bytearray(10)),
        lambda s: s.condition_wait(IOCondition.IN),
        lambda s: s.receive_bytes(10, -1),
    ],
    ids=["receive", "receive_from", "receive_into", "condition_wait", "receive_bytes"],
)
def test_close_from_another_thread_wakes_blocked_call_within_100ms(blocked_call) -> None:
    s = udp_socket()
    s.timeout = 0
    outcome: list[tuple[object, float]] = []
    ready = threading.Event()

    def blocked() -> None:
        ready.set()
        try:
            blocked_call(s)
            outcome.append(("returned", time.monotonic()))
        except giosocket.Error as e:
            outcome.append((e.code, time.monotonic()))

    t = threading.Thread(target=blocked)
    t.start()
    ready.wait(2)
    time.sleep(0.1)  # let it reach the wait
    closed_at = time.monotonic()
    assert s.close() is True
    t.join(2)
    assert not t.is_alive(), "close() did not wake the blocked call"
    assert len(outcome) == 1
    code, at = outcome[0]
    assert code is IOErrorEnum.CLOSED
    assert at - closed_at < 0.1
    assert s.fileno() == -1


def test_close_from_another_thread_wakes_accept() -> None:
    listener = Socket(SocketFamily.IPV4, SocketType.STREAM)
    listener.bind(("127.0.0.1", 0), True)
    listener.listen()
    codes: list[object] = []

    def blocked() -> None:
        try:
            listener.accept()
        except giosocket.Error as e:
            codes.append(e.code)

    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.1)
    listener.close()
    t.join(2)
    assert codes == [IOErrorEnum.CLOSED]


def test_close_during_blocked_call_releases_the_fd_once_the_call_returns() -> None:
    # close() while another thread is blocked: the fd is released when the blocked call
    # leaves (exactly once), and a socket created afterwards is fully independent.
    s = udp_socket()
    s.timeout = 0
    fd = s.fileno()
    done = threading.Event()

    def blocked() -> None:
        try:
            s.receive(10)
        except giosocket.Error:
            pass
        done.set()

    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.05)
    s.close()
    assert done.wait(2)
    t.join(2)
    import os

    with pytest.raises(OSError):
        os.fstat(fd)  # released, not leaked
    with udp_socket() as fresh:
        fresh.send_to(fresh.local_address, b"mine")
        assert fresh.receive(10) == b"mine"


def pure_python_iterations(seconds: float) -> int:
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    return n


def test_blocked_receive_does_not_slow_other_python_threads() -> None:
    baseline = pure_python_iterations(0.3)
    s = udp_socket()
    s.timeout = 0
    t = threading.Thread(target=lambda: pytest.raises(giosocket.Error, s.receive, 10))
    t.start()
    time.sleep(0.05)
    with_blocked = pure_python_iterations(0.3)
    s.close()
    t.join(2)
    # With the GIL held by the blocked receiver this would be ~0; allow a lot of noise.
    assert with_blocked > 0.5 * baseline, (baseline, with_blocked)


def test_close_races_with_many_operations() -> None:
    # Hammer a socket from several threads while closing it: every call either works or
    # raises CLOSED; nothing crashes, nothing hangs, no fd leaks (fixture).
    def worker(s: Socket, outcomes: list[object]) -> None:
        for _ in range(50):
            try:
                s.send_to(("127.0.0.1", 9), b"x")
                s.receive_bytes(10, 1000)
            except giosocket.Error as e:
                outcomes.append(e.code)
                if e.code is IOErrorEnum.CLOSED:
                    return

    for _ in range(20):
        s = udp_socket()
        s.timeout = 0
        outcomes: list[object] = []
        threads = [threading.Thread(target=worker, args=(s, outcomes)) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.005)
        s.close()
        for t in threads:
            t.join(5)
        assert not any(t.is_alive() for t in threads)
        assert set(outcomes) <= {
            IOErrorEnum.CLOSED,
            IOErrorEnum.TIMED_OUT,
            IOErrorEnum.CONNECTION_REFUSED,
        }
