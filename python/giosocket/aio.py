"""asyncio integration: the coroutines behind ``Socket.*_async`` (GIO's ``create_source`` role).

Each coroutine tries the socket's ordinary method without blocking (``Socket._call_nonblocking``
makes it non-blocking for that one call on this thread) and, on WOULD_BLOCK, waits with the
running loop's ``add_reader``/``add_writer`` -- no thread, the loop never blocks -- then retries
(readiness may be spurious or taken by another task). While waiting:

- the socket's ``timeout`` (per wait, as GIO) raises ``TIMED_OUT`` via ``loop.call_later``;
- a :class:`~giosocket.Cancellable`'s fd is watched too: ``cancel()`` raises ``CANCELLED``;
- ``close()`` of the socket (from anywhere) wakes the wait, which then raises ``CLOSED``; the fd
  stays open until the coroutine has unregistered it, so the loop never watches a recycled fd;
- cancelling the asyncio task unregisters everything before ``CancelledError`` propagates.

Several tasks may wait on the same socket or the same cancellable at once: one loop
registration per (loop, fd, direction) is shared by all of them. Works on any asyncio loop that
implements ``add_reader``/``add_writer`` (the default selector loop, uvloop).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ._enums import IOCondition, IOErrorEnum
from ._errors import Error, _make

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._giosocket import (
        Cancellable,
        InputMessage,
        OutputMessage,
        Socket,
        SocketAddress,
        _AddressLike,
        _InFlight,
    )

__all__ = [
    "accept_async",
    "condition_wait_async",
    "connect_async",
    "receive_async",
    "receive_from_async",
    "receive_into_async",
    "receive_messages_async",
    "send_async",
    "send_messages_async",
    "send_to_async",
]

_T = TypeVar("_T")
_Key = tuple[asyncio.AbstractEventLoop, int, bool]

# (loop, fd, is_writer) -> callbacks of every waiter sharing that one loop registration.
_watchers: dict[_Key, list[Callable[[], None]]] = {}

_READ_CONDITIONS = IOCondition.IN | IOCondition.PRI | IOCondition.ERR | IOCondition.HUP


def _fire(key: _Key) -> None:
    for callback in list(_watchers.get(key, ())):
        callback()


def _watch(loop: asyncio.AbstractEventLoop, fd: int, write: bool, cb: Callable[[], None]) -> None:
    key = (loop, fd, write)
    callbacks = _watchers.get(key)
    if callbacks is None:
        if write:
            loop.add_writer(fd, _fire, key)
        else:
            loop.add_reader(fd, _fire, key)
        callbacks = _watchers[key] = []
    callbacks.append(cb)


def _unwatch(loop: asyncio.AbstractEventLoop, fd: int, write: bool, cb: Callable[[], None]) -> None:
    key = (loop, fd, write)
    callbacks = _watchers.get(key)
    if callbacks is None:
        return
    try:
        callbacks.remove(cb)
    except ValueError:
        return
    if not callbacks:
        del _watchers[key]
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def _wait(
    socket: Socket,
    token: _InFlight,
    read: bool,
    write: bool,
    cancellable: Cancellable | None,
) -> None:
    """Wait once for readiness of ``token.fd``, for close, cancellation or the timeout."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not future.done():
            future.set_result(None)

    def cancelled() -> None:
        if future.done() or cancellable is None:
            return
        try:
            cancellable.set_error_if_cancelled()
        except Error as exc:
            future.set_exception(exc)

    def timed_out() -> None:
        if not future.done():
            future.set_exception(_make(IOErrorEnum.TIMED_OUT, "Socket I/O timed out"))

    watches: list[tuple[int, bool, Callable[[], None]]] = []
    if read:
        watches.append((token.fd, False, ready))
    if write:
        watches.append((token.fd, True, ready))
    if token.wake_fd >= 0:
        watches.append((token.wake_fd, False, ready))
    if cancellable is not None:
        watches.append((cancellable.get_fd(), False, cancelled))
    timeout = socket.get_timeout()
    timer = loop.call_later(timeout, timed_out) if timeout > 0 else None
    done: list[tuple[int, bool, Callable[[], None]]] = []
    try:
        for fd, is_writer, callback in watches:
            _watch(loop, fd, is_writer, callback)
            done.append((fd, is_writer, callback))
        await future
    finally:
        if timer is not None:
            timer.cancel()
        for fd, is_writer, callback in done:
            _unwatch(loop, fd, is_writer, callback)


async def _run(
    socket: Socket,
    write: bool,
    cancellable: Cancellable | None,
    method: Callable[..., _T],
    *args: Any,
) -> _T:
    """Retry ``method(*args)`` (non-blocking) until it stops raising WOULD_BLOCK."""
    if cancellable is not None:
        cancellable.set_error_if_cancelled()
    token = socket._in_flight()
    try:
        while True:
            result = socket._call_nonblocking(method, *args)
            if result is not None:
                return result
            await _wait(socket, token, not write, write, cancellable)
    finally:
        token.release()


async def condition_wait_async(
    socket: Socket, condition: int, cancellable: Cancellable | None = None
) -> bool:
    """Wait until ``condition`` (an :class:`IOCondition`) holds on ``socket``; returns True.

    Like ``condition_wait``: ERR and HUP always end the wait; ``timeout`` raises TIMED_OUT.
    """
    condition = IOCondition(condition)
    if cancellable is not None:
        cancellable.set_error_if_cancelled()
    token = socket._in_flight()
    try:
        while True:
            if cancellable is not None:
                cancellable.set_error_if_cancelled()
            if socket.condition_check(condition):
                return True
            read = bool(condition & _READ_CONDITIONS) or not condition & IOCondition.OUT
            await _wait(socket, token, read, bool(condition & IOCondition.OUT), cancellable)
    finally:
        token.release()


async def accept_async(socket: Socket, cancellable: Cancellable | None = None) -> Socket:
    """Accept a connection on a listening ``socket`` without blocking the loop."""
    return await _run(socket, False, cancellable, socket.accept, cancellable)


async def connect_async(
    socket: Socket, address: _AddressLike, cancellable: Cancellable | None = None
) -> bool:
    """Connect ``socket`` to ``address`` without blocking the loop; returns True.

    Starts a non-blocking connect, waits until writable, then reports the connect result
    (e.g. CONNECTION_REFUSED), as GIO's ``connect`` + ``check_connect_result``.
    """
    while True:
        try:
            done = socket._call_nonblocking(socket.connect, address, cancellable)
        except Error as exc:
            if exc.code != IOErrorEnum.PENDING:
                raise
            await condition_wait_async(socket, IOCondition.OUT, cancellable)
            return socket.check_connect_result()
        if done is not None:
            return done
        # EAGAIN (a full UNIX listen backlog): wait until writable, then try again.
        await condition_wait_async(socket, IOCondition.OUT, cancellable)


async def send_async(socket: Socket, buffer: Any, cancellable: Cancellable | None = None) -> int:
    """Send ``buffer`` once writable; returns the bytes sent (maybe fewer on streams)."""
    return await _run(socket, True, cancellable, socket.send, buffer, cancellable)


async def send_to_async(
    socket: Socket,
    address: _AddressLike | None,
    buffer: Any,
    cancellable: Cancellable | None = None,
) -> int:
    """Send ``buffer`` to ``address`` (None = the connected peer) once writable."""
    return await _run(socket, True, cancellable, socket.send_to, address, buffer, cancellable)


async def receive_async(socket: Socket, size: int, cancellable: Cancellable | None = None) -> bytes:
    """Receive up to ``size`` bytes once readable (b"" at end of stream)."""
    return await _run(socket, False, cancellable, socket.receive, size, cancellable)


async def receive_into_async(
    socket: Socket, buffer: Any, cancellable: Cancellable | None = None
) -> int:
    """Receive into the writable ``buffer`` once readable; returns the bytes written."""
    return await _run(socket, False, cancellable, socket.receive_into, buffer, cancellable)


async def receive_from_async(
    socket: Socket, size: int, cancellable: Cancellable | None = None
) -> tuple[bytes, SocketAddress | None]:
    """Receive up to ``size`` bytes and the sender's address once readable."""
    return await _run(socket, False, cancellable, socket.receive_from, size, cancellable)


async def send_messages_async(
    socket: Socket,
    messages: Iterable[OutputMessage],
    flags: int = 0,
    cancellable: Cancellable | None = None,
) -> int:
    """Send a batch of datagrams once writable (``sendmmsg``); returns how many were sent.

    As the sync ``send_messages`` in non-blocking mode: a partial count when the socket buffer
    fills part-way (each message's ``bytes_sent`` tells which went); waits only while none can go.
    """
    return await _run(socket, True, cancellable, socket.send_messages, messages, flags, cancellable)


async def receive_messages_async(
    socket: Socket,
    messages: Iterable[InputMessage],
    flags: int = 0,
    cancellable: Cancellable | None = None,
) -> int:
    """Receive a batch of datagrams once readable (``recvmmsg``); returns how many arrived.

    Returns as soon as at least one message is there (what is queued, up to ``len(messages)``),
    as the sync ``receive_messages`` in non-blocking mode.
    """
    return await _run(
        socket, False, cancellable, socket.receive_messages, messages, flags, cancellable
    )


# The batching DatagramTransport (giosocket/_transport.py, _endpoint.py).
from ._endpoint import create_datagram_endpoint, install, uninstall

__all__ += ["create_datagram_endpoint", "install", "uninstall"]
