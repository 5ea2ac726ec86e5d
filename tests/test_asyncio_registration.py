"""The asyncio fast path: a socket stays registered with its loop while it is used there,
close() from any thread fails its waiters through the loop, and the fd outlives the loop's
watch of it."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, Callable, TypeVar

import giosocket
import pytest
from conftest import connected_tcp
from giosocket import IOErrorEnum

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner[Any]:
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop

    def runner(coro: Coroutine[Any, Any, T]) -> T:
        loop = factory()
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, 30))
        finally:
            loop.close()

    return runner


def fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_echo_registers_each_socket_once(run: Runner[Any]) -> None:
    """100 request/response round trips add the server's reader once, not once per wait."""
    client, server = connected_tcp(timeout=0)
    added: dict[int, int] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        original = loop.add_reader

        def counting_add_reader(fd: int, callback: Any, *args: Any) -> None:
            added[fd] = added.get(fd, 0) + 1
            original(fd, callback, *args)

        loop.add_reader = counting_add_reader  # type: ignore[method-assign]

        async def echo() -> None:
            while data := await server.receive_async(64):
                await server.send_async(data)

        task = asyncio.ensure_future(echo())
        for i in range(100):
            await client.send_async(b"ping %d" % i)
            assert await client.receive_async(64) == b"ping %d" % i
        client.shutdown(False, True)
        await task

    run(main())
    assert added.get(server.fileno(), 0) <= 2, added
    assert added.get(client.fileno(), 0) <= 2, added
    client.close()
    server.close()


def test_close_from_another_thread_fails_the_waiter(run: Runner[Any]) -> None:
    client, server = connected_tcp(timeout=0)
    fd = server.fileno()

    async def main() -> None:
        threading.Timer(0.05, server.close).start()
        with pytest.raises(giosocket.Error) as info:
            await server.receive_async(10)
        assert info.value.code == IOErrorEnum.CLOSED
        # The loop has let go of the fd: it is closed now, not before.
        await asyncio.sleep(0)
        assert not fd_is_open(fd)

    run(main())
    client.close()


def test_close_from_another_thread_wakes_every_waiter(run: Runner[Any]) -> None:
    a = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
    a.bind(("127.0.0.1", 0), False)

    async def main() -> list[Any]:
        threading.Timer(0.05, a.close).start()
        return await asyncio.gather(
            a.receive_async(10), a.receive_from_async(10), return_exceptions=True
        )

    outcomes = run(main())
    assert [getattr(o, "code", o) for o in outcomes] == [IOErrorEnum.CLOSED] * 2


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # dropping it unclosed is the point
def test_a_dropped_registered_socket_releases_its_fd(run: Runner[Any]) -> None:
    client, server = connected_tcp(timeout=0)
    fd = server.fileno()

    async def main() -> None:
        nonlocal server
        task = asyncio.ensure_future(server.receive_async(10))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        del task
        del server
        gc.collect()
        for _ in range(3):
            await asyncio.sleep(0)
        assert not fd_is_open(fd)

    run(main())
    client.close()


def test_a_socket_moves_to_a_new_loop(run: Runner[Any]) -> None:
    client, server = connected_tcp(timeout=0)

    async def one_round_trip(payload: bytes) -> bytes:
        await client.send_async(payload)
        return await server.receive_async(64)

    assert run(one_round_trip(b"first")) == b"first"
    # asyncio.run-style: the first loop is closed, the socket is used on a second one.
    assert run(one_round_trip(b"second")) == b"second"

    async def waits() -> bytes:
        asyncio.get_running_loop().call_later(0.02, client.send, b"third")
        return await server.receive_async(64)

    assert run(waits()) == b"third"
    client.close()
    server.close()


def test_timeout_is_per_call_not_per_wait(run: Runner[Any]) -> None:
    """Traffic that does not complete the call (another reader takes it) is no activity."""
    client, server = connected_tcp(timeout=0)
    server.timeout = 0.3

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TimeoutError):
            await server.receive_async(10)
        return loop.time() - start

    elapsed = run(main())
    assert 0.29 <= elapsed < 0.4
    client.close()
    server.close()


def test_an_operation_done_before_the_cancellation_lands_is_delivered(run: Runner[Any]) -> None:
    """The readiness callback took the datagram; the task is cancelled in the same loop
    round: the datagram is the task's result, not lost."""
    rx = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
    rx.bind(("127.0.0.1", 0), False)
    a, b = socket.socketpair()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(rx.receive_async(100))
        await asyncio.sleep(0.05)  # waiting through the registration

        def canceller() -> None:
            b.recv(10)
            task.cancel()

        loop.add_reader(b.fileno(), canceller)
        tx.sendto(b"precious", ("127.0.0.1", rx.local_address.port))
        a.send(b"x")
        try:
            return await task
        finally:
            loop.remove_reader(b.fileno())

    assert run(main()) == b"precious"
    rx.close()
    for s in (a, b, tx):
        s.close()


def test_a_condition_waiter_does_not_hold_back_a_receive(run: Runner[Any]) -> None:
    client, server = connected_tcp(timeout=0)

    async def main() -> bytes:
        hup = asyncio.ensure_future(client.condition_wait_async(giosocket.IOCondition.HUP))
        await asyncio.sleep(0.01)
        receive = asyncio.ensure_future(client.receive_async(100))
        await asyncio.sleep(0.01)
        server.send(b"data")
        try:
            return await asyncio.wait_for(asyncio.shield(receive), 1.0)
        finally:
            hup.cancel()
            with pytest.raises(asyncio.CancelledError):
                await hup

    assert run(main()) == b"data"
    client.close()
    server.close()


def _full_unix_backlog(tmp: str) -> tuple[str, list[giosocket.Socket]]:
    path = os.path.join(tmp, "listener")
    listener = giosocket.Socket(giosocket.SocketFamily.UNIX, giosocket.SocketType.STREAM)
    listener.bind(path, False)
    listener.listen_backlog = 0
    listener.listen()
    held = [listener]
    for _ in range(64):
        c = giosocket.Socket(giosocket.SocketFamily.UNIX, giosocket.SocketType.STREAM)
        c.blocking = False
        held.append(c)
        try:
            c.connect(path)
        except BlockingIOError:
            return path, held
    raise AssertionError("the backlog never filled")


def test_connect_to_a_full_unix_backlog(run: Runner[Any], tmp_path: Any) -> None:
    path, held = _full_unix_backlog(str(tmp_path))
    try:
        sync = giosocket.Socket(giosocket.SocketFamily.UNIX, giosocket.SocketType.STREAM)
        sync.timeout = 0.5
        with sync, pytest.raises(BlockingIOError):  # GIO: WOULD_BLOCK at once, no wait
            sync.connect(path)
        waiting = giosocket.Socket(giosocket.SocketFamily.UNIX, giosocket.SocketType.STREAM)
        waiting.timeout = 0.3

        async def main() -> tuple[float, float]:
            loop = asyncio.get_running_loop()
            start, cpu = loop.time(), time.process_time()
            with pytest.raises(TimeoutError):
                await waiting.connect_async(path)
            return loop.time() - start, time.process_time() - cpu

        with waiting:
            elapsed, cpu = run(main())
        assert 0.29 <= elapsed < 0.4
        assert cpu < 0.2 * elapsed
    finally:
        for s in held:
            s.close()


def test_a_loop_left_open_does_not_keep_the_socket(run: Runner[Any]) -> None:
    rx = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
    rx.bind(("127.0.0.1", 0), False)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    first = asyncio.new_event_loop()
    try:

        async def times_out() -> None:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(rx.receive_async(100), 0.05)

        first.run_until_complete(times_out())  # stays open, not running

        async def receives() -> bytes:
            asyncio.get_running_loop().call_later(
                0.05, tx.sendto, b"hi", ("127.0.0.1", rx.local_address.port)
            )
            return await asyncio.wait_for(rx.receive_async(100), 2)

        assert run(receives()) == b"hi"
    finally:
        first.close()
        rx.close()
        tx.close()


def test_a_socket_waited_on_by_another_loop_is_refused() -> None:
    rx = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
    rx.bind(("127.0.0.1", 0), False)
    started = threading.Event()
    outcome: list[object] = []

    async def waits_in_thread() -> None:
        task = asyncio.ensure_future(rx.receive_async(10))
        await asyncio.sleep(0.01)
        started.set()
        try:
            outcome.append(await asyncio.wait_for(task, 2))
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    thread = threading.Thread(target=asyncio.run, args=(waits_in_thread(),))
    thread.start()
    assert started.wait(5)

    async def second_loop() -> None:
        with pytest.raises(RuntimeError, match="another event loop"):
            await rx.receive_async(10)

    asyncio.run(second_loop())
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.sendto(b"first loop", ("127.0.0.1", rx.local_address.port))
    thread.join(5)
    assert outcome == [b"first loop"]
    tx.close()
    rx.close()
