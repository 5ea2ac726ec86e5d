"""Socket.*_async coroutines on the default asyncio loop and on uvloop (when installed)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine
from typing import Any, Callable, Protocol, TypeVar

import conftest
import giosocket
import pytest
from conftest import connected_tcp
from giosocket import (
    Cancellable,
    InetSocketAddress,
    InputMessage,
    IOCondition,
    IOErrorEnum,
    OutputMessage,
    Socket,
    SocketFamily,
    SocketType,
)
from giosocket import aio as gaio

T = TypeVar("T")


class Runner(Protocol):
    """Runs a coroutine to completion on a fresh event loop."""

    def __call__(self, coro: Coroutine[Any, Any, T], /) -> T: ...


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:
        pytest.skip("uvloop is not installed (pip install uvloop)")
    return uvloop.new_event_loop


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Run a coroutine to completion on a fresh loop of the parametrised kind."""
    factory = asyncio.new_event_loop if request.param == "asyncio" else _uvloop_factory()

    def runner(coro: Coroutine[Any, Any, T]) -> T:
        loop = factory()
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, 30))
        finally:
            loop.close()
            assert not gaio._watchers, "a loop registration was left behind"

    return runner


def tcp_pair() -> tuple[Socket, Socket]:
    """A connected loopback TCP (client, server) pair; no timeouts (as GIO's default)."""
    return connected_tcp(timeout=0)


def udp_socket() -> Socket:
    """A UDP socket bound to an ephemeral loopback port; no timeout."""
    return conftest.udp_socket(timeout=0)


def registered(loop: asyncio.AbstractEventLoop, fd: int) -> bool | None:
    """Whether ``fd`` is still registered with ``loop``; None when the loop cannot tell.

    Selector loops expose their selector; uvloop does not (its ``remove_reader`` returns None),
    so there the tests rely on our registry being empty and on re-registering the fd.
    """
    selector = getattr(loop, "_selector", None)
    if selector is None:
        return None
    return fd in selector.get_map()


def test_tcp_echo_200_round_trips(run: Runner) -> None:
    client, server = tcp_pair()

    async def echo() -> None:
        while data := await server.receive_async(4096):
            sent = 0
            while sent < len(data):
                sent += await server.send_async(data[sent:])

    async def main() -> int:
        task = asyncio.ensure_future(echo())
        count = 0
        for i in range(200):
            message = b"round trip %d" % i
            await client.send_async(message)
            got = b""
            while len(got) < len(message):
                got += await client.receive_async(4096)
            assert got == message
            count += 1
        client.shutdown(False, True)
        await task
        return count

    assert run(main()) == 200
    client.close()
    server.close()


def test_udp_echo_receive_from_send_to(run: Runner) -> None:
    server, client = udp_socket(), udp_socket()

    async def echo() -> None:
        for _ in range(200):
            data, sender = await server.receive_from_async(2048)
            await server.send_to_async(sender, data)

    async def main() -> None:
        task = asyncio.ensure_future(echo())
        buf = bytearray(2048)
        for i in range(200):
            await client.send_to_async(server.get_local_address(), b"dgram %d" % i)
            n = await client.receive_into_async(buf)
            assert bytes(buf[:n]) == b"dgram %d" % i
        await task

    run(main())
    server.close()
    client.close()


def test_cancellable_wait_does_not_stall_ticker(
    run: Runner,
) -> None:
    client, server = tcp_pair()
    cancellable = Cancellable()

    async def main() -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        stop = False
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while not stop:
                await asyncio.sleep(0.001)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.ensure_future(ticker())
        loop.call_later(0.2, cancellable.cancel)
        start = time.monotonic()
        with pytest.raises(giosocket.Error) as info:
            await server.receive_async(100, cancellable)
        elapsed = time.monotonic() - start
        assert info.value.code == IOErrorEnum.CANCELLED
        stop = True
        await tick
        return elapsed, max(gaps), len(gaps)

    elapsed, worst_gap, ticks = run(main())
    assert 0.18 <= elapsed < 5
    assert worst_gap < 0.1, f"the loop stalled for {worst_gap * 1000:.1f} ms"
    assert ticks >= 20
    client.close()
    server.close()


def test_already_cancelled_raises_at_once(run: Runner) -> None:
    client, server = tcp_pair()
    cancellable = Cancellable()
    cancellable.cancel()

    async def main() -> None:
        for coro in (
            server.receive_async(10, cancellable),
            server.condition_wait_async(IOCondition.IN, cancellable),
            client.send_async(b"x", cancellable),
        ):
            with pytest.raises(giosocket.Error) as info:
                await coro
            assert info.value.code == IOErrorEnum.CANCELLED

    run(main())
    client.close()
    server.close()


def test_task_cancellation_unregisters_reader(run: Runner) -> None:
    client, server = tcp_pair()
    cancellable = Cancellable()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(server.receive_async(100, cancellable))
        await asyncio.sleep(0.05)
        assert not task.done()
        if hasattr(loop, "_selector"):
            assert registered(loop, server.fileno())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not gaio._watchers
        assert registered(loop, server.fileno()) in (False, None)
        assert registered(loop, cancellable.get_fd()) in (False, None)
        # The fd is free for the loop again: a plain add_reader on it works and fires.
        fired = loop.create_future()

        def on_readable() -> None:
            if not fired.done():
                fired.set_result(True)

        loop.add_reader(server.fileno(), on_readable)
        client.send(b"x")
        assert await asyncio.wait_for(fired, 5)
        loop.remove_reader(server.fileno())
        # And the socket still works with the coroutines.
        assert await server.receive_async(10) == b"x"

    run(main())
    client.close()
    server.close()


def test_socket_timeout_raises_timed_out(run: Runner) -> None:
    client, server = tcp_pair()
    server.timeout = 0.1

    async def main() -> float:
        start = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            await server.receive_async(10)
        assert isinstance(info.value, giosocket.Error)
        assert info.value.code == IOErrorEnum.TIMED_OUT
        return time.monotonic() - start

    elapsed = run(main())
    assert 0.08 <= elapsed < 5
    client.close()
    server.close()


def test_close_while_waiting_raises_closed(run: Runner) -> None:
    client, server = tcp_pair()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, server.close)
        with pytest.raises(giosocket.Error) as info:
            await server.receive_async(10)
        assert info.value.code == IOErrorEnum.CLOSED
        with pytest.raises(giosocket.Error) as info:
            await server.receive_async(10)
        assert info.value.code == IOErrorEnum.CLOSED

    run(main())
    client.close()


def test_nonblocking_socket_still_waits(run: Runner) -> None:
    client, server = tcp_pair()
    server.blocking = False

    async def main() -> bytes:
        asyncio.get_running_loop().call_later(0.05, client.send, b"late")
        return await server.receive_async(10)

    assert run(main()) == b"late"
    assert server.blocking is False
    with pytest.raises(BlockingIOError):
        server.receive(10)
    client.close()
    server.close()


def test_accept_and_connect_async(run: Runner) -> None:
    listener = Socket(SocketFamily.IPV4, SocketType.STREAM)
    listener.bind(("127.0.0.1", 0), True)
    listener.listen()
    address = listener.get_local_address()
    assert isinstance(address, InetSocketAddress)

    async def main() -> None:
        client = Socket(SocketFamily.IPV4, SocketType.STREAM)
        accepted, connected = await asyncio.gather(
            listener.accept_async(), client.connect_async(address)
        )
        assert connected is True and client.is_connected()
        assert accepted.get_remote_address() == client.get_local_address()
        await accepted.send_async(b"hi")
        assert await client.receive_async(2) == b"hi"
        accepted.close()
        client.close()

    run(main())
    listener.close()


def test_connect_async_refused(run: Runner) -> None:
    probe = Socket(SocketFamily.IPV4, SocketType.STREAM)
    probe.bind(("127.0.0.1", 0), True)
    address = probe.get_local_address()
    probe.close()  # nothing listens there now

    async def main() -> None:
        sock = Socket(SocketFamily.IPV4, SocketType.STREAM)
        with pytest.raises(ConnectionRefusedError) as info:
            await sock.connect_async(address)
        assert isinstance(info.value, giosocket.Error)
        sock.close()

    run(main())


def test_condition_wait_async(run: Runner) -> None:
    client, server = tcp_pair()

    async def main() -> None:
        assert await client.condition_wait_async(IOCondition.OUT) is True
        asyncio.get_running_loop().call_later(0.05, client.send, b"z")
        start = time.monotonic()
        assert await server.condition_wait_async(IOCondition.IN) is True
        assert time.monotonic() - start >= 0.03
        assert server.receive(1) == b"z"
        server.timeout = 0.05
        with pytest.raises(TimeoutError):
            await server.condition_wait_async(IOCondition.IN)

    run(main())
    client.close()
    server.close()


def test_concurrent_waiters_share_socket_and_cancellable(
    run: Runner,
) -> None:
    a_client, a_server = tcp_pair()
    b_client, b_server = tcp_pair()
    cancellable = Cancellable()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        r1 = asyncio.ensure_future(a_server.receive_async(1, cancellable))
        r2 = asyncio.ensure_future(a_server.receive_async(1, cancellable))
        r3 = asyncio.ensure_future(b_server.receive_async(10, cancellable))
        await asyncio.sleep(0.02)
        a_client.send(b"12")
        got = sorted(await asyncio.gather(r1, r2))
        assert got == [b"1", b"2"]
        assert not r3.done()
        loop.call_soon(cancellable.cancel)
        with pytest.raises(giosocket.Error) as info:
            await r3
        assert info.value.code == IOErrorEnum.CANCELLED

    run(main())
    for sock in (a_client, a_server, b_client, b_server):
        sock.close()


def test_async_errors_and_bad_input(run: Runner) -> None:
    client, server = tcp_pair()

    async def main() -> None:
        with pytest.raises(TypeError):
            await server.receive_into_async(b"read-only")
        with pytest.raises(ValueError):
            await server.receive_async(-1)
        with pytest.raises(TypeError):
            await client.send_async(12)  # type: ignore[arg-type]

    run(main())
    client.close()
    server.close()
    with pytest.raises(giosocket.Error) as info:
        run(server.receive_async(1))
    assert info.value.code == IOErrorEnum.CLOSED


def test_no_fd_leak(run: Runner) -> None:
    async def main() -> None:
        for _ in range(20):
            client, server = tcp_pair()
            server.timeout = 0.001
            with pytest.raises(TimeoutError):
                await server.receive_async(1)
            await client.send_async(b"x")
            assert await server.receive_async(1) == b"x"
            client.close()
            server.close()

    run(main())  # warm up the loop machinery once
    before = len(os.listdir("/proc/self/fd"))
    run(main())
    assert len(os.listdir("/proc/self/fd")) <= before


def test_batched_udp_echo(run: Runner) -> None:
    server, client = udp_socket(), udp_socket()
    server.timeout = client.timeout = 5

    async def echo() -> int:
        buffers = [bytearray(256) for _ in range(16)]
        inputs = [InputMessage([b]) for b in buffers]
        total = 0
        while total < 200:
            n = await server.receive_messages_async(inputs)
            assert 1 <= n <= 16
            replies = [
                OutputMessage(m.address, [memoryview(b)[: m.bytes_received]])
                for m, b in zip(inputs[:n], buffers)
            ]
            sent = 0
            while sent < n:
                sent += await server.send_messages_async(replies[sent:])
            total += n
        return total

    async def main() -> None:
        task = asyncio.ensure_future(echo())
        address = server.get_local_address()
        got: list[bytes] = []
        for burst in range(0, 200, 20):
            batch = [OutputMessage(address, [b"msg %d" % i]) for i in range(burst, burst + 20)]
            assert await client.send_messages_async(batch) == 20
            while len(got) < burst + 20:
                got.append(await client.receive_async(256))
        assert got == [b"msg %d" % i for i in range(200)]
        assert await task == 200

    run(main())
    server.close()
    client.close()


def test_receive_messages_async_cancel_and_timeout(
    run: Runner,
) -> None:
    sock = udp_socket()
    inputs = [InputMessage([bytearray(64)]) for _ in range(4)]
    cancellable = Cancellable()

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.05, cancellable.cancel)
        with pytest.raises(giosocket.Error) as info:
            await sock.receive_messages_async(inputs, 0, cancellable)
        assert info.value.code == IOErrorEnum.CANCELLED
        sock.timeout = 0.05
        with pytest.raises(TimeoutError):
            await sock.receive_messages_async(inputs)

    run(main())
    sock.close()
