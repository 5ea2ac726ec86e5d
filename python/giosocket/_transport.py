"""A batching ``asyncio.DatagramTransport`` over giosocket (``giosocket.aio.create_datagram_endpoint``).

Behaves as asyncio's own datagram transport (same callbacks in the same order, same addresses,
same flow control), with the system calls batched:

- Receiving: the loop calls the native ``_DatagramReader``: each readiness wake-up reads up to
  ``batch`` datagrams with one ``recvmmsg`` into reused native slots and calls the protocol. A
  protocol that defines ``datagrams_received(batch)`` gets one call with a list of
  ``(data, addr)`` per wake-up. The unusual cases (errors, truncated datagrams, a pause in
  mid-batch) come back to the methods here (``_report_truncated``, ``_keep``, ...).
- Sending: ``sendto`` is the native ``_SendQueue.sendto`` (bound to each instance): it keeps
  (bytes) or copies the data and queues it. Datagrams sent while the transport delivers received
  ones go out together when that delivery ends (a reply to a lone datagram goes at once: nothing
  to batch it with); datagrams sent from anywhere else go out together right after the loop's
  current iteration (``call_soon``). One ``sendmmsg`` sends the queue; consecutive datagrams of
  one size to one destination become one UDP GSO message where the kernel has it. Order is kept.
  A datagram the kernel refuses with an error reaches ``error_received``; a full socket buffer
  keeps the queue (``pause_writing`` above the high-water mark) until the socket is writable.

Made by ``giosocket.aio.create_datagram_endpoint`` (``_endpoint.py``), which also provides
``install(loop)``.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import os
import socket as _socket
import warnings
from typing import Any, Callable

from ._enums import SocketFamily, UnixSocketAddressType
from ._giosocket import (
    InetSocketAddress,
    Socket,
    SocketAddress,
    UdpSegmentMessage,
    UnixSocketAddress,
    _DatagramReader,
    _DatagramSlots,
    _SendQueue,
)

__all__ = ["DatagramTransport"]

logger = logging.getLogger("giosocket.aio")

_ProtocolFactory = Callable[[], asyncio.BaseProtocol]
_PyAddress = Any  # what asyncio reports and takes: (host, port[, flowinfo, scope_id]), str, bytes

_INET_SLOT = 65536  # room for any UDP datagram (65507 / 65527 bytes of payload at most)
_UNIX_SLOT = 256 * 1024  # asyncio's max_size for one recvfrom
_MAX_BATCH = 1024  # recvmmsg's most messages per call (UIO_MAXIOV)
_CACHE_LIMIT = 4096


def _enable_gro(sock: Socket) -> bool:
    try:
        return bool(sock.set_udp_gro(True))
    except OSError:
        return False  # not on this kernel: datagrams arrive one per slot


def _host_string(host: str, scope_id: int) -> str:
    """The host as CPython's getnameinfo-based conversion shows it (link-local gets ``%if``)."""
    if scope_id and host.lower().startswith("fe80:"):
        try:
            return f"{host}%{_socket.if_indextoname(scope_id)}"
        except OSError:
            return f"{host}%{scope_id}"
    return host


def _to_python(address: SocketAddress, family: int) -> _PyAddress:
    """A giosocket address as asyncio's transport reports it on a socket of ``family``."""
    if isinstance(address, InetSocketAddress):
        host = address.address.to_string()
        if family == _socket.AF_INET6:
            if address.family == SocketFamily.IPV4:  # giosocket turned v4-mapped into IPv4
                return ("::ffff:" + host, address.port, 0, 0)
            scope = address.scope_id
            return (_host_string(host, scope), address.port, address.flowinfo, scope)
        return (host, address.port)
    native = address.to_native()
    path = native[2:]
    if path[:1] == b"\0":
        return path  # abstract names are bytes, as CPython gives them
    return os.fsdecode(path.split(b"\0", 1)[0])


def unix_address(address: str | bytes) -> UnixSocketAddress:
    raw = os.fsencode(address) if isinstance(address, str) else bytes(address)
    if raw[:1] == b"\0":
        return UnixSocketAddress.new_with_type(raw[1:], UnixSocketAddressType.ABSTRACT)
    return UnixSocketAddress(raw)


def _to_giosocket(address: _PyAddress, family: int) -> tuple[SocketAddress, bool]:
    """``(SocketAddress, cacheable)`` for an asyncio-style address on a socket of ``family``.

    Numeric hosts are converted directly; names are resolved with ``getaddrinfo`` as the stdlib
    transport does (blocking; not cached, since names change).
    """
    if family == _socket.AF_UNIX:
        if not isinstance(address, (str, bytes)):
            raise TypeError(f"a str or bytes UNIX address is expected, not {address!r}")
        return unix_address(address), True
    if not isinstance(address, tuple) or len(address) not in (2, 4):
        raise TypeError(
            f"a (host, port) or (host, port, flowinfo, scope_id) tuple is expected, not {address!r}"
        )
    host, port = address[0], address[1]
    if not isinstance(host, str) or not isinstance(port, int):
        raise TypeError(f"a (str host, int port) address is expected, not {address!r}")
    if host == "<broadcast>":
        host = "255.255.255.255"
    flowinfo, scope = (address[2], address[3]) if len(address) == 4 else (0, 0)
    numeric, _, zone = host.partition("%")
    try:
        if zone:
            scope = int(zone) if zone.isdigit() else _socket.if_nametoindex(zone)
        return InetSocketAddress(numeric, port, flowinfo, scope), True
    except (ValueError, TypeError, OSError):
        pass
    infos = _socket.getaddrinfo(host, port, family, _socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"getaddrinfo({host!r}) returned no address")
    resolved: tuple[Any, ...] = infos[0][4]
    return InetSocketAddress(str(resolved[0]), int(resolved[1]), *resolved[2:4]), False


class DatagramTransport(asyncio.DatagramTransport):
    """A batching asyncio datagram transport over a :class:`giosocket.Socket` (which it owns).

    Made by :func:`giosocket.aio.create_datagram_endpoint`; see the module docstring.
    """

    # Slots: an instance dict of more than 30 keys stops being shared, which makes every
    # attribute access a dict lookup (the flush and lifecycle paths read many).
    # __dict__ and __weakref__ stay available, as on asyncio's own transports.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_address",
        "_backlog",
        "_closing",
        "_conn_lost",
        "_connected",
        "_family",
        "_fd",
        "_flushing",
        "_high_water",
        "_loop",
        "_low_water",
        "_paused",
        "_peer",
        "_protocol",
        "_protocol_paused",
        "_q",
        "_reader",
        "_reading",
        "_slot",
        "_slots",
        "_sock",
        "_to_cache",
        "_writing",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: Socket,
        protocol: asyncio.BaseProtocol,
        address: _PyAddress = None,
        batch: int = 64,
        waiter: asyncio.Future[None] | None = None,
    ) -> None:
        if not 1 <= batch <= _MAX_BATCH:
            raise ValueError(f"batch must be in range(1, {_MAX_BATCH + 1}), not {batch}")
        sock.blocking = False
        sock.timeout = 0
        self._loop = loop
        self._sock: Socket | None = sock
        self._fd = sock.fileno()
        self._family = int(sock.family)
        extra: dict[str, Any] = {"socket": sock}
        extra["sockname"] = self._python_address(sock.get_local_address)
        extra["peername"] = self._python_address(sock.get_remote_address)
        super().__init__(extra)
        self._address = address  # remote_addr (may be set without connect: allow_broadcast)
        self._connected = extra["peername"] is not None
        self._peer = extra["peername"]
        self._protocol: asyncio.BaseProtocol = protocol
        self.set_protocol(protocol)
        inet_udp = self._family in (_socket.AF_INET, _socket.AF_INET6) and int(sock.protocol) in (
            0,
            _socket.IPPROTO_UDP,
        )
        # Receiving: native slots (one lazily touched area) for one recvmmsg per wake-up,
        # returning (bytes, addr) pairs; senders are converted once each (by _to_python).
        # With UDP GRO the kernel may hand several datagrams of one sender as one slot: they
        # come back split. A truncated datagram comes back as (None, addr).
        inet = self._family in (_socket.AF_INET, _socket.AF_INET6)
        slot = _UNIX_SLOT if self._family == _socket.AF_UNIX else _INET_SLOT
        self._slot = slot
        if inet_udp:
            _enable_gro(sock)
        self._slots = _DatagramSlots(
            batch,
            slot,
            functools.partial(_to_python, family=self._family),
            self._peer,
            inet,
        )
        # Datagrams already received when the protocol paused reading mid-batch.
        self._backlog: list[tuple[bytes, _PyAddress]] = []
        # Sending: the native queue (runs of datagrams, each one future message: consecutive
        # sends of one size to one destination join the open run, one UDP GSO message) and
        # sendto itself, bound to the instance so that a protocol's call reaches it directly.
        self._to_cache: dict[Any, SocketAddress] = {}
        self._flushing = False  # inside _flush: sends only queue, the running flush sends them
        self._writing = False  # a writer is registered: the kernel refused part of the queue
        self._q = _SendQueue(  # calls back _report, _flush, _destination, ... (see there)
            sock,
            self,
            loop.call_soon,
            gso_limit=65535 if inet_udp and UdpSegmentMessage.is_supported() else 0,
            high_water=64 * 1024,
            remote=address if address else None,
            connected=self._connected,
        )
        self.sendto = self._q.sendto  # type: ignore[method-assign]
        # Receiving: the loop calls the native reader (one recvmmsg, then the protocol).
        self._reader = _DatagramReader(sock, self._slots, self._q, self, protocol)
        self._high_water = 64 * 1024
        self._low_water = 16 * 1024
        self._protocol_paused = False
        # State, as asyncio's _SelectorTransport
        self._closing = False
        self._conn_lost = 0
        self._reading = False
        self._paused = False
        loop.call_soon(self._protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter)

    def _python_address(self, getter: Callable[[], SocketAddress]) -> _PyAddress:
        try:
            return _to_python(getter(), self._family)
        except OSError:
            return None

    def __repr__(self) -> str:
        state = "closed" if self._sock is None else "closing" if self._closing else "open"
        return (
            f"<giosocket DatagramTransport {state} fd={self._fd} "
            f"queued={len(self._q)} bufsize={self._q.queued_bytes}>"
        )

    def __del__(self) -> None:
        sock = getattr(self, "_sock", None)
        if sock is not None:
            warnings.warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            sock.close()

    # --- BaseTransport ---------------------------------------------------------------------

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Send further callbacks to ``protocol``."""
        self._protocol = protocol
        reader = getattr(self, "_reader", None)  # (unset while __init__ runs)
        if reader is not None:
            reader.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol receiving the callbacks."""
        return self._protocol

    def is_closing(self) -> bool:
        """True once ``close()`` or ``abort()`` was called (or a fatal error closed it)."""
        return self._closing

    def close(self) -> None:
        """Stop receiving, send what is queued, then call ``connection_lost(None)`` and close."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        if self._flushing:
            return  # the running flush ends with connection_lost once the queue is sent
        if len(self._q) and not self._writing:
            self._flush()
        if not len(self._q) and not self._conn_lost:
            self._lose(None)

    def abort(self) -> None:
        """Close now: datagrams the kernel has not taken yet are discarded."""
        if len(self._q) and not self._writing and not self._flushing and not self._conn_lost:
            self._flush()  # what asyncio would already have handed to the kernel goes out
        self._force_close(None)

    # --- reading, as asyncio's ReadTransport ------------------------------------------------

    def is_reading(self) -> bool:
        """True while datagrams are delivered (not closing, not paused)."""
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        """Stop delivering datagrams until ``resume_reading()`` (they wait in the kernel)."""
        if not self.is_reading():
            return
        self._paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        """Deliver datagrams again after ``pause_reading()``."""
        if self._closing or not self._paused:
            return
        self._paused = False
        if self._backlog:
            self._loop.call_soon(self._drain_backlog)
        else:
            self._start_reading()

    def _start_reading(self) -> None:
        if self._reading or not self.is_reading() or self._sock is None:
            return
        self._reading = True
        self._reader.stopped = False
        self._loop.add_reader(self._fd, self._reader)

    def _stop_reading(self) -> None:
        self._reader.stopped = True  # also in mid-batch: the reader delivers no more
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def _keep(self, rest: list[tuple[bytes | None, _PyAddress]]) -> None:
        """The protocol paused reading in mid-batch: the rest waits for ``resume_reading()``
        (closed instead: dropped, as asyncio delivers nothing after close)."""
        if not self._closing:
            self._backlog += self._without_truncated(rest)

    def _report_truncated(self) -> None:
        self._report(OSError(errno.EMSGSIZE, f"datagram larger than {self._slot} bytes dropped"))

    def _without_truncated(
        self, batch: list[tuple[bytes | None, _PyAddress]]
    ) -> list[tuple[bytes, _PyAddress]]:
        """``batch`` without its truncated datagrams, each reported to ``error_received``."""
        kept: list[tuple[bytes, _PyAddress]] = []
        for data, addr in batch:
            if data is None:
                self._report_truncated()
            else:
                kept.append((data, addr))
        return kept

    def _drain_backlog(self) -> None:
        """After ``resume_reading()``: what a pause held back, then the socket again."""
        queue = self._q
        deferred = queue.begin_delivery(False)
        try:
            while self._backlog and not self._paused and not self._closing:
                data, addr = self._backlog.pop(0)
                try:
                    self._protocol.datagram_received(data, addr)  # type: ignore[attr-defined]
                except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
                    self._callback_failed(exc, "datagram_received")
        finally:
            if queue.end_delivery(deferred):
                self._flush()
        if not self._backlog:
            self._start_reading()

    def _callback_failed(self, exc: Exception, name: str) -> None:
        self._loop.call_exception_handler(
            {
                "message": f"Exception in protocol.{name}()",
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            }
        )

    def _report(self, exc: OSError) -> None:
        try:
            self._protocol.error_received(exc)  # type: ignore[attr-defined]
        except Exception as cb_exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
            self._callback_failed(cb_exc, "error_received")

    # --- writing ----------------------------------------------------------------------------

    def sendto(self, data: Any, addr: _PyAddress = None) -> None:
        """Queue one datagram (copied now unless it is bytes) to ``addr`` (None: the peer).

        As asyncio: empty data is ignored; on a connected endpoint ``addr`` must be None or the
        peer; after the transport is lost the datagram is discarded (with a warning after a few).
        Datagrams queued in one loop iteration leave together (sendmmsg, UDP GSO).
        """
        self._q.sendto(data, addr)  # (instances call the queue's sendto directly)

    def _destination(self, addr: _PyAddress) -> tuple[SocketAddress, bool]:
        """What the native queue could not convert: ``(address, cacheable)``."""
        try:
            dest = self._to_cache.get(addr)
        except TypeError:  # unhashable: converted each time
            dest = None
        if dest is not None:
            return dest, True
        dest, cacheable = _to_giosocket(addr, self._family)
        cacheable = cacheable and isinstance(addr, (tuple, str, bytes))
        if cacheable:
            if len(self._to_cache) >= _CACHE_LIMIT:
                self._to_cache.clear()
            self._to_cache[addr] = dest
        return dest, cacheable

    def _warn_lost_send(self) -> None:
        """A datagram sent long after the connection was lost (asyncio's warning)."""
        logger.warning("socket.send() raised exception.")

    def _flush_soon(self) -> None:
        queue = self._q
        queue.deferred = False
        if len(queue) and not self._writing and not self._conn_lost:
            self._flush()

    def _write_ready(self) -> None:
        if self._conn_lost:
            return
        self._flush()

    def _flush(self) -> None:
        """Hand the queue to the kernel until it is empty or the socket buffer is full."""
        if self._sock is None or self._flushing:
            return
        queue = self._q
        self._flushing = queue.held = True
        try:
            queue.send()  # refused datagrams go to error_received meanwhile
        except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
            self._fatal_error(exc, "Fatal write error on datagram transport")
        finally:
            self._flushing = False
            queue.held = self._writing
        if self._conn_lost:
            return  # lost meanwhile (abort from error_received)
        if len(queue):
            if not self._writing:
                self._writing = queue.held = True
                self._loop.add_writer(self._fd, self._write_ready)
            self._maybe_pause_protocol()
            return
        if self._writing:
            self._writing = queue.held = False
            self._loop.remove_writer(self._fd)
        self._maybe_resume_protocol()
        if self._closing and not len(queue):
            # (what resume_writing() sent meanwhile goes first: its flush ends with the loss)
            self._lose(None)

    # --- flow control, as asyncio's _FlowControlMixin ---------------------------------------

    def get_write_buffer_size(self) -> int:
        """Bytes queued and not yet taken by the kernel."""
        return self._q.queued_bytes

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """``(low, high)`` water marks of the queue, in bytes."""
        return (self._low_water, self._high_water)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks (asyncio's defaults: 64 KiB high, a quarter of it low)."""
        if high is None:
            high = 64 * 1024 if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high_water = self._q.high_water = high
        self._low_water = low
        self._maybe_pause_protocol()

    def _maybe_pause_protocol(self) -> None:
        if self._q.queued_bytes <= self._high_water or self._protocol_paused:
            return
        self._protocol_paused = True
        try:
            self._protocol.pause_writing()
        except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
            self._callback_failed(exc, "pause_writing")

    def _maybe_resume_protocol(self) -> None:
        if not self._protocol_paused or self._q.queued_bytes > self._low_water:
            return
        self._protocol_paused = False
        try:
            self._protocol.resume_writing()
        except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
            self._callback_failed(exc, "resume_writing")

    # --- closing ----------------------------------------------------------------------------

    def _fatal_error(self, exc: Exception, message: str) -> None:
        if not isinstance(exc, OSError):
            self._loop.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self,
                    "protocol": self._protocol,
                }
            )
        self._force_close(exc)

    def _force_close(self, exc: Exception | None) -> None:
        if self._conn_lost:
            return
        self._closing = True
        self._stop_reading()
        self._lose(exc)

    def _lose(self, exc: Exception | None) -> None:
        """Drop the queue, unregister, and schedule ``connection_lost(exc)`` (once)."""
        self._conn_lost += 1
        self._q.lose()
        if self._writing:
            self._writing = self._q.held = False
            self._loop.remove_writer(self._fd)
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            sock, self._sock = self._sock, None
            if sock is not None:
                sock.close()


def _set_result_unless_cancelled(waiter: asyncio.Future[None]) -> None:
    if not waiter.cancelled():
        waiter.set_result(None)
