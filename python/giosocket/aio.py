"""asyncio integration: the coroutines behind ``Socket.*_async`` (GIO's ``create_source`` role).

Each coroutine first makes its operation's non-blocking attempt (``Socket._try_*``: the
result, or None where it would block) -- no wait, no loop call when the socket is ready.
Only when it would block does it wait, through the socket's *registration* with the running
loop (:class:`_Registration`):

- the socket stays registered with the loop while it is used there (one ``add_reader`` /
  ``add_writer`` for as long as waits keep coming, not one per wait); a readiness callback
  that finds nobody waiting unregisters it;
- one waiter queue per direction; the loop's readiness callback performs the waiting
  operation itself (as asyncio's own ``sock_recv`` does), so data is consumed before the
  loop polls again and readiness that leads to no progress simply keeps waiting;
- the socket's ``timeout`` bounds the whole call (inactivity from the call's start, as the
  blocking calls), raising ``TIMED_OUT``; a :class:`~giosocket.Cancellable` raises
  ``CANCELLED`` when cancelled; cancelling the task withdraws its waiter;
- ``close()`` of the socket from any thread fails every waiter with ``CLOSED`` through the
  loop (``call_soon_threadsafe``); the fd stays open until the loop has unregistered it, so
  the loop never watches a recycled fd number.

Works on any asyncio loop with ``add_reader``/``add_writer`` (the default loop, uvloop).
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import TYPE_CHECKING, Any, Callable

from ._enums import IOCondition, IOErrorEnum
from ._errors import _make

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._giosocket import (
        Cancellable,
        InputMessage,
        OutputMessage,
        Socket,
        SocketAddress,
        _AddressLike,
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

_Attempt = Callable[..., Any]
# A waiting operation: its future, the attempt to make when ready, the attempt's arguments.
_Entry = tuple["asyncio.Future[Any]", _Attempt, tuple[Any, ...]]

_get_ident = threading.get_ident
_READ_CONDITIONS = int(IOCondition.IN | IOCondition.PRI | IOCondition.ERR | IOCondition.HUP)
_OUT = int(IOCondition.OUT)


#: Readiness that led to no progress pauses the watch, 50 µs doubling to 5 ms (as the
#: blocking engine), so a stuck wait (a full AF_UNIX receiver, a pending ICMP error) costs
#: almost no CPU instead of spinning the loop.
_BACKOFF_FIRST = 50e-6
_BACKOFF_MAX = 5e-3


class _Registration:
    """One socket's registration with one event loop: a waiter queue per direction.

    Index 0 of the per-direction lists is reading, 1 is writing.
    """

    __slots__ = (
        "active",
        "fd",
        "loop",
        "misses",
        "paused",
        "queues",
        "thread",
        "token",
        "watching",
    )

    def __init__(self, socket: Socket, loop: asyncio.AbstractEventLoop) -> None:
        self.token = socket._in_flight()  # CLOSED if closed; keeps the fd open
        self.fd = self.token.fd
        self.loop = loop
        self.thread = _get_ident()
        self.queues: tuple[collections.deque[_Entry], collections.deque[_Entry]] = (
            collections.deque(),
            collections.deque(),
        )
        self.watching = [False, False]
        self.paused = [False, False]
        self.misses = [0, 0]
        self.active = True  # False once torn down or retired: never watch the fd again

    def add(self, write: bool, entry: _Entry) -> None:
        """Queue ``entry`` for readiness in one direction, watching the fd if not yet."""
        if not self.active:
            raise _make(IOErrorEnum.CLOSED, "Socket is already closed")
        self.queues[write].append(entry)
        if not self.watching[write] and not self.paused[write]:
            self._watch(write)

    def withdraw(self, write: bool, entry: _Entry) -> None:
        """Take back a wait that ended without the loop's help (cancelled, timed out, or
        done through the other direction)."""
        queue = self.queues[write]
        if entry not in queue:
            return
        queue.remove(entry)
        if not queue and not self.loop.is_closed():
            self._unwatch(write)

    def _watch(self, write: bool) -> None:
        if write:
            self.loop.add_writer(self.fd, self._ready, True)
        else:
            self.loop.add_reader(self.fd, self._ready, False)
        self.watching[write] = True

    def _unwatch(self, write: bool) -> None:
        if self.watching[write]:
            self.watching[write] = False
            if write:
                self.loop.remove_writer(self.fd)
            else:
                self.loop.remove_reader(self.fd)

    def _ready(self, write: bool) -> None:
        """The loop says the fd is ready: make every waiting attempt, in order (one waiter's
        lack of progress, e.g. a HUP condition wait, must not hold back a receive behind it)."""
        queue = self.queues[write]
        if not queue:
            # Nobody waits: stop watching (idle) until the next wait.
            self._unwatch(write)
            return
        if len(queue) == 1:  # the common case: one waiter
            future, attempt, args = entry = queue[0]
            if future.done():
                queue.clear()
                return
            try:
                result = attempt(*args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 - as asyncio's sock_recv: to the waiter
                queue.clear()
                future.set_exception(exc)
                return
            if result is None:
                self._back_off(write)
            else:
                queue.clear()
                future.set_result(result)
                self.misses[write] = 0
            return
        progressed = False
        for entry in list(queue):
            future, attempt, args = entry
            if future.done():  # timed out, cancelled, or failed meanwhile
                queue.remove(entry)
                continue
            try:
                result = attempt(*args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 - as asyncio's sock_recv: to the waiter
                queue.remove(entry)
                future.set_exception(exc)
                progressed = True
                continue
            if result is not None:
                queue.remove(entry)
                future.set_result(result)
                progressed = True
        if progressed:
            self.misses[write] = 0
        elif queue:
            self._back_off(write)

    def _back_off(self, write: bool) -> None:
        misses = self.misses[write] = self.misses[write] + 1
        if misses == 1:
            return  # one spurious wake-up is normal (another reader took the data)
        self._unwatch(write)
        self.paused[write] = True
        delay = min(_BACKOFF_FIRST * (1 << min(misses - 2, 16)), _BACKOFF_MAX)
        self.loop.call_later(delay, self._resume, write)

    def _resume(self, write: bool) -> None:
        self.paused[write] = False
        if self.active and self.queues[write] and not self.watching[write]:
            self._watch(write)

    def socket_closed(self) -> None:
        """The socket was closed (from any thread): fail the waiters in the loop's thread."""
        if _get_ident() == self.thread:
            self._teardown()
            return
        try:
            self.loop.call_soon_threadsafe(self._teardown)
        except RuntimeError:  # the loop is closed: nothing watches the fd any more
            self.token.release()

    def busy_elsewhere(self) -> bool:
        """Whether another loop still uses the socket (it has waiters or runs in another
        thread), so a new loop must not take it over."""
        if self.loop.is_closed():
            return False
        return any(self.queues) or (self.loop.is_running() and self.thread != _get_ident())

    def retire(self) -> None:
        """Leave an idle loop (the socket moves to another loop); called in its thread."""
        self.active = False
        if not self.loop.is_closed():
            self._unwatch(False)
            self._unwatch(True)
        self.token.release()

    def _teardown(self) -> None:
        self.active = False
        if not self.loop.is_closed():
            self._unwatch(False)
            self._unwatch(True)
        for queue in self.queues:
            while queue:
                future = queue.popleft()[0]
                if not future.done():
                    future.set_exception(_make(IOErrorEnum.CLOSED, "Socket is already closed"))
        self.token.release()


def _registration(socket: Socket) -> _Registration:
    """The socket's registration with the running loop, made on first use there."""
    current = socket._aio_registration()
    if current is not None and current.thread == _get_ident() and current.loop.is_running():
        # A loop running in this thread is the running loop: no get_running_loop() needed.
        return current  # type: ignore[no-any-return]
    loop = asyncio.get_running_loop()
    if current is not None and current.loop is loop:
        return current  # type: ignore[no-any-return]
    if current is not None and current.busy_elsewhere():
        raise RuntimeError("the socket is in use by another event loop")
    registration = _Registration(socket, loop)
    try:
        previous = socket._set_aio_registration(registration)
    except BaseException:
        registration.token.release()
        raise
    if previous is not None:
        previous.retire()
    return registration


# (loop, cancellable fd) -> the callbacks of every wait sharing that one loop reader.
_watchers: dict[tuple[asyncio.AbstractEventLoop, int], list[Callable[[], None]]] = {}


def _fire_cancel(key: tuple[asyncio.AbstractEventLoop, int]) -> None:
    for callback in list(_watchers.get(key, ())):
        callback()


def _watch_cancel(
    loop: asyncio.AbstractEventLoop, cancellable: Cancellable, future: asyncio.Future[Any]
) -> Callable[[], None]:
    """Fail ``future`` with CANCELLED when ``cancellable`` is cancelled; returns the undo."""

    def cancelled() -> None:
        if not future.done() and cancellable.is_cancelled():
            future.set_exception(_make(IOErrorEnum.CANCELLED, "Operation was cancelled"))

    key = (loop, cancellable.get_fd())
    callbacks = _watchers.get(key)
    if callbacks is None:
        loop.add_reader(key[1], _fire_cancel, key)
        callbacks = _watchers[key] = []
    callbacks.append(cancelled)

    def undo() -> None:
        callbacks.remove(cancelled)
        if not callbacks:
            del _watchers[key]
            loop.remove_reader(key[1])

    return undo


def _time_out(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(_make(IOErrorEnum.TIMED_OUT, "Socket I/O timed out"))


async def _wait(
    socket: Socket,
    write: bool | None,
    cancellable: Cancellable | None,
    attempt: _Attempt,
    *args: Any,
) -> Any:
    """Wait until ``attempt(*args)`` returns a value (not None) once the socket is ready.

    ``write`` picks the direction; None waits for either (``condition_wait_async``).
    """
    registration = _registration(socket)
    loop = registration.loop
    future: asyncio.Future[Any] = loop.create_future()
    entry: _Entry = (future, attempt, args)
    directions = (False, True) if write is None else (write,)
    timer = None
    undo_cancel = None
    try:
        for direction in directions:
            registration.add(direction, entry)
        timeout = socket.get_timeout()
        if timeout > 0:
            timer = loop.call_later(timeout, _time_out, future)
        if cancellable is not None:
            undo_cancel = _watch_cancel(loop, cancellable, future)
        return await future
    except asyncio.CancelledError:
        if future.done() and not future.cancelled() and future.exception() is None:
            # The operation completed (its data already taken from the kernel) before the
            # cancellation reached this task: deliver the result rather than lose it. (A
            # coroutine may deny a cancellation; asyncio's timeouts then see a result.)
            return future.result()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        if undo_cancel is not None:
            undo_cancel()
        if write is None or not future.done() or future.cancelled() or future.exception():
            for direction in directions:
                registration.withdraw(direction, entry)


def _check(cancellable: Cancellable | None) -> None:
    if cancellable is not None:
        cancellable.set_error_if_cancelled()


async def condition_wait_async(
    socket: Socket, condition: int, cancellable: Cancellable | None = None
) -> bool:
    """Wait until ``condition`` (an :class:`IOCondition`) holds on ``socket``; returns True.

    Like ``condition_wait``: ERR and HUP always end the wait; ``timeout`` raises TIMED_OUT.
    """
    condition = IOCondition(condition)
    events = int(condition)
    if socket._try_condition(events):
        return True
    _check(cancellable)
    read = bool(events & _READ_CONDITIONS) or not events & _OUT
    write: bool | None = None if read and events & _OUT else not read
    result: bool = await _wait(socket, write, cancellable, socket._try_condition, events)
    return result


async def accept_async(socket: Socket, cancellable: Cancellable | None = None) -> Socket:
    """Accept a connection on a listening ``socket`` without blocking the loop."""
    result = socket._try_accept(cancellable)
    if result is None:
        result = await _wait(socket, False, cancellable, socket._try_accept, cancellable)
    return result


async def connect_async(
    socket: Socket, address: _AddressLike, cancellable: Cancellable | None = None
) -> bool:
    """Connect ``socket`` to ``address`` without blocking the loop; returns True.

    Starts a non-blocking connect, waits until writable, then reports the connect result
    (e.g. CONNECTION_REFUSED), as GIO's ``connect`` + ``check_connect_result``.
    """
    state = socket._try_connect(address, cancellable)
    if state is None:
        # EAGAIN (a full UNIX listen backlog): try again whenever writable, within one timeout.
        state = await _wait(socket, True, cancellable, socket._try_connect, address, cancellable)
    if state:
        return True
    # In progress: writable means done; the result is SO_ERROR's.
    done: bool = await _wait(socket, True, cancellable, socket._try_connect_result)
    return done


async def send_async(socket: Socket, buffer: Any, cancellable: Cancellable | None = None) -> int:
    """Send ``buffer`` once writable; returns the bytes sent (maybe fewer on streams)."""
    result = socket._try_send(buffer, cancellable)
    if result is None:
        result = await _wait(socket, True, cancellable, socket._try_send, buffer, cancellable)
    return result


async def send_to_async(
    socket: Socket,
    address: _AddressLike | None,
    buffer: Any,
    cancellable: Cancellable | None = None,
) -> int:
    """Send ``buffer`` to ``address`` (None = the connected peer) once writable."""
    result = socket._try_send_to(address, buffer, cancellable)
    if result is None:
        result = await _wait(
            socket, True, cancellable, socket._try_send_to, address, buffer, cancellable
        )
    return result


async def receive_async(socket: Socket, size: int, cancellable: Cancellable | None = None) -> bytes:
    """Receive up to ``size`` bytes once readable (b"" at end of stream)."""
    result = socket._try_receive(size, cancellable)
    if result is None:
        result = await _wait(socket, False, cancellable, socket._try_receive, size, cancellable)
    return result


async def receive_into_async(
    socket: Socket, buffer: Any, cancellable: Cancellable | None = None
) -> int:
    """Receive into the writable ``buffer`` once readable; returns the bytes written."""
    result = socket._try_receive_into(buffer, cancellable)
    if result is None:
        result = await _wait(
            socket, False, cancellable, socket._try_receive_into, buffer, cancellable
        )
    return result


async def receive_from_async(
    socket: Socket, size: int, cancellable: Cancellable | None = None
) -> tuple[bytes, SocketAddress | None]:
    """Receive up to ``size`` bytes and the sender's address once readable."""
    result = socket._try_receive_from(size, cancellable)
    if result is None:
        result = await _wait(
            socket, False, cancellable, socket._try_receive_from, size, cancellable
        )
    return result


def _try_send_messages(
    socket: Socket, messages: Any, flags: int, cancellable: Cancellable | None
) -> int | None:
    return socket._try_send_messages(messages, flags, cancellable)


def _try_receive_messages(
    socket: Socket, messages: Any, flags: int, cancellable: Cancellable | None
) -> int | None:
    return socket._try_receive_messages(messages, flags, cancellable)


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
    messages = list(messages)
    result = _try_send_messages(socket, messages, flags, cancellable)
    if result is None:
        result = await _wait(
            socket, True, cancellable, _try_send_messages, socket, messages, flags, cancellable
        )
    return result


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
    result = _try_receive_messages(socket, messages, flags, cancellable)
    if result is None:
        result = await _wait(
            socket,
            False,
            cancellable,
            _try_receive_messages,
            socket,
            messages,
            flags,
            cancellable,
        )
    return result


# The batching DatagramTransport (giosocket/_transport.py, _endpoint.py).
from ._endpoint import create_datagram_endpoint, install, uninstall

__all__ += ["create_datagram_endpoint", "install", "uninstall"]
