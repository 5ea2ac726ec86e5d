"""Connections over a connected :class:`~giosocket.Socket` (GIO's ``GSocketConnection`` family).

A :class:`SocketConnection` is an :class:`io.RawIOBase`, so the standard library stacks on it
unchanged: ``io.BufferedReader``/``io.BufferedWriter``/``io.BufferedRWPair``,
``io.TextIOWrapper``, ``shutil.copyfileobj``.  Reads and writes follow the socket's ``blocking``
mode: blocking by default (GIO's streams); on a non-blocking socket they return ``None`` when
they would block, as ``io.RawIOBase`` specifies.  Closing the connection closes the socket, as
GIO does (also when the connection is garbage-collected while still open).

``Socket.connection_factory_create_connection()`` picks the class as GIO's connection factory:
:class:`TcpConnection` for IPv4/IPv6 stream sockets, :class:`UnixConnection` for UNIX stream
sockets, :class:`SocketConnection` otherwise.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ._enums import IOErrorEnum, SocketFamily, SocketProtocol, SocketType
from ._errors import Error

if TYPE_CHECKING:
    from ._giosocket import Cancellable, Socket, SocketAddress, _AddressLike

__all__ = ["SocketConnection", "TcpConnection", "UnixConnection"]


class SocketConnection(io.RawIOBase):
    """A byte stream over a connected socket (GIO's ``GSocketConnection``)."""

    def __init__(self, socket: Socket) -> None:
        """Wrap ``socket``; the connection owns it from now on (``close()`` closes it)."""
        super().__init__()
        self._socket = socket

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._socket.get_fd()}"
        return f"<giosocket.{type(self).__name__} {state}>"

    @property
    def socket(self) -> Socket:
        """The underlying :class:`~giosocket.Socket`."""
        return self._socket

    def get_socket(self) -> Socket:
        """The underlying :class:`~giosocket.Socket`."""
        return self._socket

    def get_local_address(self) -> SocketAddress:
        """The socket's local address."""
        return self._socket.get_local_address()

    def get_remote_address(self) -> SocketAddress:
        """The connected peer's address."""
        return self._socket.get_remote_address()

    def is_connected(self) -> bool:
        """Whether the underlying socket is connected."""
        return self._socket.is_connected()

    def connect(self, address: _AddressLike, cancellable: Cancellable | None = None) -> bool:
        """Connect the underlying socket to ``address`` (GIO's ``g_socket_connection_connect``)."""
        return self._socket.connect(address, cancellable)

    @property
    def closed(self) -> bool:
        """Whether the connection (or its socket) is closed."""
        return bool(super().closed) or self._socket.is_closed()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed connection")

    def fileno(self) -> int:
        """The socket's file descriptor."""
        self._check_open()
        return self._socket.get_fd()

    def readable(self) -> bool:
        """True: a connection can be read."""
        self._check_open()
        return True

    def writable(self) -> bool:
        """True: a connection can be written."""
        self._check_open()
        return True

    def readinto(self, buffer: Any) -> int | None:
        """Receive into ``buffer``; 0 at end of stream, None if a non-blocking socket has no data."""
        self._check_open()
        try:
            return self._socket.receive_into(buffer)
        except Error as exc:
            if exc.code == IOErrorEnum.WOULD_BLOCK:
                return None
            raise

    def write(self, buffer: Any) -> int | None:
        """Send ``buffer``; returns the bytes sent (maybe fewer), None if it would block."""
        self._check_open()
        try:
            return self._socket.send(buffer)
        except Error as exc:
            if exc.code == IOErrorEnum.WOULD_BLOCK:
                return None
            raise

    def _before_close(self) -> None:
        """Hook run before the socket is closed (TcpConnection's graceful disconnect)."""

    def close(self) -> None:
        """Close the connection and its socket (idempotent).

        Errors of the closing steps are raised after the socket has been closed, as GIO's
        ``g_io_stream_close`` reports them.
        """
        if super().closed:
            return
        try:
            if not self._socket.is_closed():
                self._before_close()
        finally:
            try:
                self._socket.close()
            finally:
                super().close()


class TcpConnection(SocketConnection):
    """A TCP connection (GIO's ``GTcpConnection``), with optional graceful disconnect."""

    def __init__(self, socket: Socket) -> None:
        """Wrap a connected TCP ``socket``."""
        super().__init__(socket)
        self._graceful_disconnect = False

    @property
    def graceful_disconnect(self) -> bool:
        """Whether ``close()`` first half-closes and waits for the peer to close."""
        return self._graceful_disconnect

    @graceful_disconnect.setter
    def graceful_disconnect(self, value: bool) -> None:
        self._graceful_disconnect = bool(value)

    def get_graceful_disconnect(self) -> bool:
        """Whether graceful disconnects are used on ``close()``."""
        return self._graceful_disconnect

    def set_graceful_disconnect(self, graceful_disconnect: bool) -> None:
        """Enable or disable graceful disconnects on ``close()``.

        A graceful disconnect shuts down the sending side, reads (and discards) until the peer
        closes -- so it has seen all our data -- then closes. Each wait is bounded by the
        socket's ``timeout``; an error there is raised by ``close()`` after the socket has been
        closed anyway (GIO's behaviour).
        """
        self._graceful_disconnect = bool(graceful_disconnect)

    def _before_close(self) -> None:
        if not self._graceful_disconnect:
            return
        socket = self._socket
        socket.shutdown(False, True)
        while socket.receive_with_blocking(1024, True):
            pass


class UnixConnection(SocketConnection):
    """A UNIX-domain stream connection (GIO's ``GUnixConnection``): passes fds and credentials."""


def _create_connection(socket: Socket) -> SocketConnection:
    """``Socket.connection_factory_create_connection()``: GIO's connection factory lookup."""
    family = socket.get_family()
    stype = socket.get_socket_type()
    protocol = socket.get_protocol()
    if stype == SocketType.STREAM:
        if family in (SocketFamily.IPV4, SocketFamily.IPV6) and protocol in (
            SocketProtocol.DEFAULT,
            SocketProtocol.TCP,
        ):
            return TcpConnection(socket)
        if family == SocketFamily.UNIX and protocol == SocketProtocol.DEFAULT:
            return UnixConnection(socket)
    return SocketConnection(socket)
