"""Cancellable: pre-cancelled calls, cancel() from another thread, reset, fd."""

from __future__ import annotations

import os
import select
import threading
import time

import giosocket
import pytest
from conftest import udp_socket
from giosocket import Cancellable, IOCondition, IOErrorEnum, Socket, SocketFamily, SocketType

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def test_cancellable_basics() -> None:
    c = Cancellable()
    assert not c.is_cancelled()
    assert c.set_error_if_cancelled() is False
    assert "cancelled=False" in repr(c)
    c.cancel()
    c.cancel()  # idempotent
    assert c.is_cancelled() and "cancelled=True" in repr(c)
    with pytest.raises(giosocket.Error) as info:
        c.set_error_if_cancelled()
    assert info.value.code is IOErrorEnum.CANCELLED
    assert str(info.value) == "Operation was cancelled"
    c.reset()
    assert not c.is_cancelled()
    c.reset()


def test_cancellable_fd_becomes_readable_on_cancel() -> None:
    c = Cancellable()
    fd = c.get_fd()
    assert fd >= 0
    assert select.select([fd], [], [], 0)[0] == []
    c.cancel()
    assert select.select([fd], [], [], 0)[0] == [fd]
    c.reset()
    assert select.select([fd], [], [], 0)[0] == []


def test_cancellable_fd_closed_when_dropped() -> None:
    c = Cancellable()
    fd = c.get_fd()
    del c
    import gc

    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


PRECANCELLED_STREAM = {
    "accept": lambda s, c: s.accept(c),
    "connect": lambda s, c: s.connect(("127.0.0.1", 0), c),
}


@pytest.mark.parametrize("blocking", [True, False])
@pytest.mark.parametrize("call", PRECANCELLED_STREAM.values(), ids=PRECANCELLED_STREAM.keys())
def test_precancelled_accept_or_connect_raises_cancelled(call, blocking: bool) -> None:
    c = Cancellable()
    c.cancel()
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as s:
        s.blocking = blocking
        with pytest.raises(giosocket.Error) as info:
            call(s, c)
        assert info.value.code is IOErrorEnum.CANCELLED
        assert not s.is_connected()


PRECANCELLED = {
    "send_to": lambda s, c: s.send_to(s.local_address, b"x", c),
    "send": lambda s, c: s.send(b"x", c),
    "send_with_blocking": lambda s, c: s.send_with_blocking(b"x", False, c),
    "receive": lambda s, c: s.receive(1, c),
    "receive_into": lambda s, c: s.receive_into(bytearray(1), c),
    "receive_from": lambda s, c: s.receive_from(1, c),
    "receive_from_into": lambda s, c: s.receive_from_into(bytearray(1), c),
    "receive_with_blocking": lambda s, c: s.receive_with_blocking(1, False, c),
    "receive_bytes": lambda s, c: s.receive_bytes(1, 0, c),
    "receive_bytes_from": lambda s, c: s.receive_bytes_from(1, -1, c),
    "condition_wait": lambda s, c: s.condition_wait(IOCondition.OUT, c),
    "condition_timed_wait": lambda s, c: s.condition_timed_wait(IOCondition.OUT, 0, c),
}


@pytest.mark.parametrize("call", PRECANCELLED.values(), ids=PRECANCELLED.keys())
def test_every_operation_checks_cancellable_first(call) -> None:
    c = Cancellable()
    c.cancel()
    with udp_socket() as s:
        # Data is ready and the socket writable: CANCELLED still wins, as in GIO.
        s.send_to(s.local_address, b"ready")
        with pytest.raises(giosocket.Error) as info:
            call(s, c)
        assert info.value.code is IOErrorEnum.CANCELLED
        assert s.receive(10) == b"ready"  # nothing was consumed


def test_cancel_from_another_thread_wakes_blocked_receive() -> None:
    c = Cancellable()
    with udp_socket() as s:
        s.timeout = 0
        threading.Timer(0.1, c.cancel).start()
        start = time.monotonic()
        with pytest.raises(giosocket.Error) as info:
            s.receive(10, c)
        took = time.monotonic() - start
        assert info.value.code is IOErrorEnum.CANCELLED
        assert 0.08 <= took < 1.0


def test_one_cancel_wakes_every_waiter_at_once() -> None:
    c = Cancellable()
    sockets = [udp_socket() for _ in range(4)]
    results: list[object] = []
    lock = threading.Lock()

    def waiter(s: Socket) -> None:
        try:
            s.receive(10, c)
        except giosocket.Error as e:
            with lock:
                results.append((e.code, time.monotonic()))

    threads = [threading.Thread(target=waiter, args=(s,)) for s in sockets]
    for t in threads:
        t.start()
    time.sleep(0.1)
    cancelled_at = time.monotonic()
    c.cancel()
    for t in threads:
        t.join(2)
    for s in sockets:
        s.close()
    assert len(results) == 4
    for code, at in results:  # type: ignore[misc]
        assert code is IOErrorEnum.CANCELLED
        assert at - cancelled_at < 0.5


def test_cancel_wakes_condition_wait_and_accept() -> None:
    c = Cancellable()
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as listener:
        listener.bind(("127.0.0.1", 0), True)
        listener.listen()
        threading.Timer(0.05, c.cancel).start()
        with pytest.raises(giosocket.Error) as info:
            listener.accept(c)
        assert info.value.code is IOErrorEnum.CANCELLED
        c.reset()
        threading.Timer(0.05, c.cancel).start()
        with pytest.raises(giosocket.Error) as info:
            listener.condition_wait(IOCondition.IN, c)
        assert info.value.code is IOErrorEnum.CANCELLED


def test_reset_cancellable_is_reusable() -> None:
    c = Cancellable()
    c.cancel()
    c.reset()
    with udp_socket() as s:
        s.send_to(s.local_address, b"after reset")
        assert s.receive(20, c) == b"after reset"
        with pytest.raises(TimeoutError):
            s.receive_bytes(1, 20_000, c)


def test_cancellable_shared_across_threads_stress() -> None:
    # Cancel and reset repeatedly while other threads poll it: no crash, no hang.
    c = Cancellable()
    stop = time.monotonic() + 0.3

    def flip() -> None:
        while time.monotonic() < stop:
            c.cancel()
            c.reset()

    threads = [threading.Thread(target=flip) for _ in range(2)]
    for t in threads:
        t.start()
    with udp_socket() as s:
        for _ in range(200):
            try:
                s.receive_bytes(1, 1000, c)
            except giosocket.Error as e:
                assert e.code in (IOErrorEnum.CANCELLED, IOErrorEnum.TIMED_OUT)
            if time.monotonic() > stop:
                break
    for t in threads:
        t.join(2)


# ---- GIO's callback and current-stack API ------------------------------------------------


def test_new_is_the_constructor() -> None:
    c = Cancellable.new()
    assert type(c) is Cancellable and not c.is_cancelled()


def test_connect_runs_once_per_cancel_with_args() -> None:
    c = Cancellable.new()
    calls: list[tuple[object, ...]] = []
    handler = c.connect(lambda *a: calls.append(a), "data", 7)
    assert handler > 0
    assert calls == []
    c.cancel()
    assert calls == [(c, "data", 7)]
    c.cancel()  # already cancelled: no second call
    assert len(calls) == 1
    c.reset()
    c.cancel()  # still connected after reset, as GIO's signal handler
    assert len(calls) == 2
    c.reset()
    c.disconnect(handler)
    c.disconnect(handler)  # unknown ids are ignored
    c.disconnect(0)
    c.cancel()
    assert len(calls) == 2


def test_connect_on_a_cancelled_cancellable_calls_at_once_and_returns_0() -> None:
    c = Cancellable.new()
    c.cancel()
    seen: list[Cancellable] = []
    assert c.connect(seen.append) == 0
    assert seen == [c]


def test_connect_rejects_non_callables() -> None:
    with pytest.raises(TypeError):
        Cancellable().connect(3)  # type: ignore[arg-type]


def test_callback_errors_are_reported_and_do_not_stop_the_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    reported: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))
    c = Cancellable()
    later: list[bool] = []

    def boom(_: Cancellable) -> None:
        raise RuntimeError("callback failed")

    c.connect(boom)
    c.connect(lambda _: later.append(True))
    c.cancel()
    assert c.is_cancelled() and later == [True]
    assert len(reported) == 1 and isinstance(reported[0], RuntimeError)


def test_callback_from_another_threads_cancel_wakes_a_blocked_receive() -> None:
    c = Cancellable()
    ran_in: list[str] = []
    c.connect(lambda _: ran_in.append(threading.current_thread().name))
    with udp_socket(timeout=10) as sock:
        t = threading.Timer(0.05, c.cancel)
        t.name = "canceller"
        t.start()
        with pytest.raises(giosocket.Error) as info:
            sock.receive(16, c)
        t.join(5)
    assert info.value.code is IOErrorEnum.CANCELLED
    assert ran_in == ["canceller"]  # GIO runs handlers in the cancelling thread


def test_connected_callback_that_references_the_cancellable_is_collected() -> None:
    import gc

    def make_cycle() -> int:
        c = Cancellable()
        c.connect(lambda _: c.is_cancelled())  # a cycle through the handler list
        return c.get_fd()

    fd = make_cycle()
    assert "eventfd" in os.readlink(f"/proc/self/fd/{fd}")
    gc.collect()
    # Freed by the collector: its eventfd is closed (no_fd_leak checks the count too).
    assert not os.path.exists(f"/proc/self/fd/{fd}") or "eventfd" not in os.readlink(
        f"/proc/self/fd/{fd}"
    )


def test_release_fd_keeps_the_fd_working() -> None:
    c = Cancellable()
    fd = c.get_fd()
    c.release_fd()
    assert c.get_fd() == fd
    c.cancel()
    assert select.select([fd], [], [], 1)[0] == [fd]


def test_push_pop_get_current_per_thread() -> None:
    assert Cancellable.get_current() is None
    outer, inner = Cancellable(), Cancellable()
    outer.push_current()
    inner.push_current()
    assert Cancellable.get_current() is inner
    other_thread: list[Cancellable | None] = []
    t = threading.Thread(target=lambda: other_thread.append(Cancellable.get_current()))
    t.start()
    t.join(5)
    assert other_thread == [None]
    with pytest.raises(ValueError):
        outer.pop_current()  # not the top of the stack
    inner.pop_current()
    assert Cancellable.get_current() is outer
    outer.pop_current()
    assert Cancellable.get_current() is None
    with pytest.raises(ValueError):
        outer.pop_current()
