"""A batching ``asyncio.DatagramTransport`` over giosocket (``giosocket.aio.create_datagram_endpoint``).

Behaves as asyncio's own datagram transport (same callbacks in the same order, same addresses,
same flow control), with the system calls batched:

- Receiving: each readiness wake-up reads up to ``batch`` datagrams with one ``recvmmsg``
  (``Socket._receive_datagrams`` on reused native slots). A protocol that defines
  ``datagrams_received(batch)`` gets one call with a list of ``(data, addr)`` per wake-up.
- Sending: ``sendto`` copies the data and queues it. Datagrams sent while the transport delivers
  received ones go out together when that delivery ends; datagrams sent from anywhere else go out
  together right after the loop's current iteration (``call_soon``). One ``sendmmsg``
  (``Socket._send_datagrams``) sends the queue; consecutive datagrams of one size to one
  destination become one UDP GSO message where the kernel has it. Order is kept. A datagram the
  kernel refuses with an error reaches ``error_received``; a full socket buffer keeps the queue
  (``pause_writing`` above the high-water mark) until the socket is writable again.

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
from typing import Any, Callable, Optional

from ._enums import SocketFamily, UnixSocketAddressType
from ._giosocket import (
    InetSocketAddress,
    Socket,
    SocketAddress,
    UdpSegmentMessage,
    UnixSocketAddress,
    _DatagramSlots,
)

__all__ = ["DatagramTransport"]

logger = logging.getLogger("giosocket.aio")

_ProtocolFactory = Callable[[], asyncio.BaseProtocol]
_PyAddress = Any  # what asyncio reports and takes: (host, port[, flowinfo, scope_id]), str, bytes
_Run = tuple[Optional[SocketAddress], int, list[bytes]]
_BatchCallback = Callable[[list[tuple[bytes, Any]]], object]

_INET_SLOT = 65536  # room for any UDP datagram (65507 / 65527 bytes of payload at most)
_UNIX_SLOT = 256 * 1024  # asyncio's max_size for one recvfrom
_SEND_ROUND = 1024  # sendmmsg's most messages per call (UIO_MAXIOV)
_GSO_SEGMENTS = 64  # the kernel's UDP_MAX_SEGMENTS (older kernels)
_GSO_BYTES = 65000  # stays under the IP length limit for both families
_CACHE_LIMIT = 4096
_WARN_AFTER_LOST = 5  # asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES


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

    # Slots: attribute reads are the bulk of sendto's and _read_ready's work, and an instance
    # dict of more than 30 keys stops being shared, which makes every one a dict lookup.
    # __dict__ and __weakref__ stay available, as on asyncio's own transports.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_address",
        "_backlog",
        "_batch_callback",
        "_closing",
        "_conn_lost",
        "_connected",
        "_deferred",
        "_direct",
        "_family",
        "_fd",
        "_flushing",
        "_gso_limit",
        "_held",
        "_high_water",
        "_last_addr",
        "_last_dest",
        "_loop",
        "_low_water",
        "_paused",
        "_peer",
        "_protocol",
        "_protocol_paused",
        "_queue",
        "_queued_bytes",
        "_reading",
        "_run_datas",
        "_run_dest",
        "_run_room",
        "_run_size",
        "_slot",
        "_slots",
        "_sock",
        "_special",
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
        if not 1 <= batch <= _SEND_ROUND:
            raise ValueError(f"batch must be in range(1, {_SEND_ROUND + 1}), not {batch}")
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
        self._special = bool(address) or self._connected  # sendto's slow checks apply
        self._peer = extra["peername"]
        self._protocol: asyncio.BaseProtocol = protocol
        self._batch_callback: _BatchCallback | None = None
        self.set_protocol(protocol)
        inet_udp = self._family in (_socket.AF_INET, _socket.AF_INET6) and int(sock.protocol) in (
            0,
            _socket.IPPROTO_UDP,
        )
        self._gso_limit = 65535 if inet_udp and UdpSegmentMessage.is_supported() else 0
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
        # Sending
        # Runs of datagrams, each one future message: (destination, segment size, datagrams).
        # Consecutive sends of one size to one destination join the open run (UDP GSO).
        self._queue: list[_Run] = []
        self._run_dest: SocketAddress | None = None
        self._run_size = 0
        self._run_datas: list[bytes] = []
        self._run_room = 0  # how many more datagrams the open run takes
        self._queued_bytes = 0
        self._to_cache: dict[Any, SocketAddress] = {}
        # The last cached address object and its conversion: a protocol replying to the
        # address it was given (the same object: senders are converted once) skips the lookup.
        self._last_addr: object = None
        self._last_dest: SocketAddress | None = None
        # A flush will come without sendto's help: one is scheduled, or the transport is
        # delivering received datagrams (it flushes when the delivery ends).
        self._deferred = False
        self._direct = False  # delivering a lone datagram: a reply has nothing to batch with
        self._flushing = False  # inside _flush: sends only append, the running flush sends them
        self._writing = False  # a writer is registered: the kernel refused part of the queue
        self._held = False  # _flushing or _writing: sendto only queues
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
            f"queued={len(self._queue)} bufsize={self._queued_bytes}>"
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
        callback = getattr(protocol, "datagrams_received", None)
        self._batch_callback = callback if callable(callback) else None

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
        if self._queue and not self._writing:
            self._flush()
        if not self._queue and not self._conn_lost:
            self._lose(None)

    def abort(self) -> None:
        """Close now: datagrams the kernel has not taken yet are discarded."""
        if self._queue and not self._writing and not self._flushing and not self._conn_lost:
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
        self._loop.add_reader(self._fd, self._read_ready)

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def _read_ready(self) -> None:
        sock = self._sock
        if self._conn_lost or sock is None:
            return
        try:
            # One recvmmsg (WAITFORONE: what is queued, up to the batch, then stop).
            batch = sock._receive_datagrams(self._slots)
        except OSError as exc:
            self._protocol.error_received(exc)  # type: ignore[attr-defined]
            return
        except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
            self._fatal_error(exc, "Fatal read error on datagram transport")
            return
        if batch is None:
            return
        deferred, self._deferred = self._deferred, True
        self._direct = len(batch) == 1 and not self._queue
        try:
            if self._batch_callback is not None:
                # truncated datagrams are reported first; the rest is one batch
                whole = self._without_truncated(batch) if self._slots.truncated else batch
                if whole and not self._closing:
                    try:
                        self._batch_callback(whole)  # type: ignore[arg-type]
                    except Exception as exc:  # noqa: BLE001 (asyncio's rule: the loop's handler)
                        self._callback_failed(exc, "datagrams_received")
                return
            rest = iter(batch)
            for data, addr in rest:
                if data is None:
                    self._report_truncated()
                    continue
                try:
                    self._protocol.datagram_received(data, addr)  # type: ignore[attr-defined]
                except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
                    self._callback_failed(exc, "datagram_received")
                if self._closing or self._paused:
                    if not self._closing:  # pause_reading() from the callback: keep the rest
                        self._backlog += self._without_truncated(list(rest))
                    break  # closed by the protocol: as asyncio, nothing more is delivered
        finally:
            self._deferred = deferred
            self._direct = False
            queue = self._queue
            if queue and not self._writing and not self._conn_lost:
                if len(queue) == 1 and len(queue[0][2]) == 1:
                    self._flush_one(sock, queue)
                else:
                    self._flush()

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
        deferred, self._deferred = self._deferred, True
        try:
            while self._backlog and not self._paused and not self._closing:
                data, addr = self._backlog.pop(0)
                try:
                    self._protocol.datagram_received(data, addr)  # type: ignore[attr-defined]
                except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
                    self._callback_failed(exc, "datagram_received")
        finally:
            self._deferred = deferred
            if self._queue and not self._writing and not self._conn_lost:
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
        """Queue one datagram (copied now) to ``addr`` (None: the connected peer).

        As asyncio: empty data is ignored; on a connected endpoint ``addr`` must be None or the
        peer; after the transport is lost the datagram is discarded (with a warning after a few).
        """
        if type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(
                    f"data argument must be a bytes-like object, not {type(data).__name__!r}"
                )
            data = bytes(data)  # the caller may change its buffer afterwards
        if not data:
            return
        dest: SocketAddress | None = None  # None unconnected: DESTINATION_UNSET, as asyncio
        if self._special:  # a remote address, connected, or lost
            if self._address:
                if addr is not None and addr != self._address:
                    raise ValueError(f"Invalid address: must be None or {self._address}")
                addr = self._address
            if self._conn_lost:
                if self._conn_lost >= _WARN_AFTER_LOST:
                    logger.warning("socket.send() raised exception.")
                self._conn_lost += 1
                return
            if self._connected:
                addr = None
        if addr is not None:
            if addr is self._last_addr:  # the same (immutable) object as last time
                dest = self._last_dest
            else:
                try:
                    dest = self._to_cache.get(addr)
                except TypeError:  # unhashable: converted each time
                    pass
                if dest is None:
                    dest = self._destination(addr)
                else:
                    self._last_addr, self._last_dest = addr, dest
        if self._direct and not self._held and not self._queue:
            # A reply to a lone received datagram (ping-pong): nothing to coalesce it with, so
            # it goes at once, as asyncio's own transport sends when its buffer is empty.
            self._direct = False  # a second reply would be batched with later ones
            try:
                if self._sock is not None and self._sock._try_send_to(dest, data) is not None:
                    return
            except OSError as exc:
                self._report(exc)  # as asyncio: that datagram is reported, not retried
                return
        size = len(data)
        self._queued_bytes += size
        # Extend the open run (one future GSO message) or start a new one.
        if self._run_room and dest is self._run_dest and size <= self._run_size:
            self._run_datas.append(data)
            self._run_room = self._run_room - 1 if size == self._run_size else 0
        else:
            datas = [data]
            self._queue.append((dest, size, datas))
            self._run_dest, self._run_size, self._run_datas = dest, size, datas
            self._run_room = (
                min(_GSO_SEGMENTS, _GSO_BYTES // size) - 1 if size <= self._gso_limit else 0
            )
        if self._held or self._queued_bytes > self._high_water or len(self._queue) >= _SEND_ROUND:
            if self._held:
                self._maybe_pause_protocol()
            else:
                self._flush()
        elif not self._deferred:
            self._deferred = True
            self._loop.call_soon(self._flush_soon)

    def _destination(self, addr: _PyAddress) -> SocketAddress:
        dest, cacheable = _to_giosocket(addr, self._family)
        if cacheable and isinstance(addr, (tuple, str, bytes)):
            if len(self._to_cache) >= _CACHE_LIMIT:
                self._to_cache.clear()
            self._to_cache[addr] = dest
            self._last_addr, self._last_dest = addr, dest
        return dest

    def _flush_soon(self) -> None:
        self._deferred = False
        if self._queue and not self._writing and not self._conn_lost:
            self._flush()

    def _write_ready(self) -> None:
        if self._conn_lost:
            return
        self._flush()

    def _flush(self) -> None:
        """Hand the queue to the kernel until it is empty or the socket buffer is full."""
        sock = self._sock
        queue = self._queue
        if sock is None or self._flushing:
            return
        if len(queue) == 1 and not self._writing and len(queue[0][2]) == 1:
            self._flush_one(sock, queue)
            return
        self._flush_queue(sock, queue)

    def _flush_one(self, sock: Socket, queue: list[_Run]) -> None:
        """``_flush`` of a queue of one datagram (the ping-pong case): one plain send."""
        dest, _, datas = queue[0]
        try:
            sent = sock._try_send_to(dest, datas[0])
        except OSError as exc:
            queue.clear()
            self._queued_bytes = self._run_room = 0
            self._report(exc)  # as asyncio: that datagram is reported, not retried
            return
        if sent is None:  # the socket buffer is full: the general path registers the writer
            self._flush_queue(sock, queue)
            return
        queue.clear()
        self._queued_bytes = self._run_room = 0
        if self._protocol_paused:
            self._maybe_resume_protocol()
        if self._closing and not self._conn_lost:
            self._lose(None)

    def _flush_queue(self, sock: Socket, queue: list[_Run]) -> None:
        self._flushing = self._held = True
        self._run_room = 0  # sends from callbacks during the flush start new runs
        try:
            self._send_queue(sock, queue)
        finally:
            self._flushing = False
            self._held = self._writing
        if self._queue is not queue:
            return  # lost meanwhile (abort from error_received)
        if queue:
            if not self._writing:
                self._writing = self._held = True
                self._loop.add_writer(self._fd, self._write_ready)
            self._maybe_pause_protocol()
            return
        if self._writing:
            self._writing = self._held = False
            self._loop.remove_writer(self._fd)
        self._maybe_resume_protocol()
        if self._closing and not self._conn_lost:
            self._lose(None)

    def _send_queue(self, sock: Socket, queue: list[_Run]) -> None:
        """Send from the head of ``queue``; removes what the kernel took or refused."""
        done = 0
        while done < len(queue):
            if len(queue) - done == 1 and len(queue[done][2]) == 1:
                # one datagram (the ping-pong case): no message objects
                dest, _, datas = queue[done]
                try:
                    if sock._try_send_to(dest, datas[0]) is None:
                        break
                    done += 1
                except OSError as exc:
                    done += 1
                    self._report(exc)
                    if self._queue is not queue:
                        return
                except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
                    self._fatal_error(exc, "Fatal write error on datagram transport")
                    return
                continue
            try:
                # runs of several datagrams go as UDP GSO messages; one sendmmsg
                sent = sock._send_datagrams(queue, done)
            except OSError as exc:
                dest, size, datas = queue[done]
                if len(datas) > 1:  # a GSO message: retry its datagrams one by one
                    self._gso_failed(exc, size)
                    queue[done : done + 1] = [(dest, len(d), [d]) for d in datas]
                    continue
                done += 1
                self._report(exc)
                if self._queue is not queue:  # aborted from error_received
                    return
                continue
            except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
            if sent is None:
                break
            done += sent
        if done == len(queue):
            queue.clear()
            self._queued_bytes = 0
        else:
            del queue[:done]
            self._queued_bytes = sum(len(d) for _, _, datas in queue for d in datas)

    def _gso_failed(self, exc: OSError, size: int) -> None:
        if exc.errno in (errno.EIO, errno.EOPNOTSUPP, errno.ENOPROTOOPT):
            self._gso_limit = 0  # the device or the kernel cannot segment
        elif exc.errno in (errno.EINVAL, errno.EMSGSIZE):
            self._gso_limit = min(self._gso_limit, size - 1)  # over the path MTU

    # --- flow control, as asyncio's _FlowControlMixin ---------------------------------------

    def get_write_buffer_size(self) -> int:
        """Bytes queued and not yet taken by the kernel."""
        return self._queued_bytes

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
        self._high_water = high
        self._low_water = low
        self._maybe_pause_protocol()

    def _maybe_pause_protocol(self) -> None:
        if self._queued_bytes <= self._high_water or self._protocol_paused:
            return
        self._protocol_paused = True
        try:
            self._protocol.pause_writing()
        except Exception as exc:  # noqa: BLE001 (asyncio's rule: to the loop's handler)
            self._callback_failed(exc, "pause_writing")

    def _maybe_resume_protocol(self) -> None:
        if not self._protocol_paused or self._queued_bytes > self._low_water:
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
        self._special = True
        self._queue = []
        self._run_room = 0
        self._queued_bytes = 0
        if self._writing:
            self._writing = self._held = False
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
