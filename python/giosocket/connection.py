"""Connections over a connected :class:`~giosocket.Socket` (GIO's ``GSocketConnection`` family).

A :class:`SocketConnection` is an :class:`io.RawIOBase`, so the standard library stacks on it
unchanged: ``io.BufferedReader``/``io.BufferedWriter``/``io.BufferedRWPair``,
``io.TextIOWrapper``, ``shutil.copyfileobj``.  Reads and writes block whatever the socket's
``blocking`` flag, each wait bounded by the socket's ``timeout`` (GIO's ``GSocketInputStream`` /
``GSocketOutputStream`` use blocking I/O).  ``close()`` closes the socket, as GIO's
``g_io_stream_close``; dropping a connection object does not: the socket stays open while
something else references it, and closes when its own last reference goes (GIO's reference
counting).

``Socket.connection_factory_create_connection()`` picks the class as GIO's connection factory:
the class registered for the socket's family, type and protocol
(:meth:`SocketConnection.factory_register_type`), by default :class:`TcpConnection` for
IPv4/IPv6 stream sockets, :class:`UnixConnection` for UNIX stream sockets,
:class:`SocketConnection` otherwise.
"""

from __future__ import annotations

import builtins
import io
import os
import socket as _socket
from typing import TYPE_CHECKING, Any

from ._enums import IOErrorEnum, SocketFamily, SocketProtocol, SocketType
from ._errors import Error, _make
from ._giosocket import Credentials, Socket, UnixCredentialsMessage, UnixFDMessage

if TYPE_CHECKING:
    from ._giosocket import Cancellable, SocketAddress, _AddressLike

__all__ = ["SocketConnection", "TcpConnection", "UnixConnection"]


class SocketConnection(io.RawIOBase):
    """A byte stream over a connected socket (GIO's ``GSocketConnection``)."""

    def __init__(self, socket: Socket) -> None:
        """Wrap ``socket``; the connection owns it from now on (``close()`` closes it)."""
        if not isinstance(socket, Socket):
            raise TypeError(f"socket must be a giosocket.Socket, not {type(socket).__name__!r}")
        super().__init__()
        self._socket = socket

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._socket.get_fd()}"
        return f"<giosocket.{type(self).__name__} {state}>"

    def __del__(self) -> None:
        # Not io.IOBase's finalizer, which would close(): as GIO, dropping the connection only
        # drops its reference to the socket (which closes when its last reference goes).
        pass

    @staticmethod
    def factory_lookup_type(
        family: int, type: int, protocol_id: int
    ) -> builtins.type[SocketConnection]:
        """The connection class registered for ``(family, type, protocol_id)``.

        GIO's ``g_socket_connection_factory_lookup_type``: :class:`SocketConnection` when
        nothing is registered for that combination.
        """
        return _FACTORY.get((int(family), int(type), int(protocol_id)), SocketConnection)

    @staticmethod
    def factory_register_type(
        g_type: builtins.type[SocketConnection], family: int, type: int, protocol: int
    ) -> None:
        """Make ``connection_factory_create_connection()`` build ``g_type`` for such sockets.

        GIO's ``g_socket_connection_factory_register_type``; ``g_type`` must be a
        :class:`SocketConnection` subclass taking the socket as its one argument.
        """
        if not (isinstance(g_type, builtins.type) and issubclass(g_type, SocketConnection)):
            raise TypeError(f"g_type must be a SocketConnection subclass, not {g_type!r}")
        _FACTORY[(int(family), int(type), int(protocol))] = g_type

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

    def readinto(self, buffer: Any) -> int:
        """Receive into ``buffer``, blocking (bounded by the socket timeout); 0 at end of stream."""
        self._check_open()
        return self._socket._stream_receive_into(buffer)

    def write(self, buffer: Any) -> int:
        """Send ``buffer``, blocking (bounded by the socket timeout); the bytes sent (maybe fewer)."""
        self._check_open()
        return self._socket.send_with_blocking(buffer, True)

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
    """A UNIX-domain stream connection (GIO's ``GUnixConnection``): passes fds and credentials.

    Each of these calls exchanges one byte of stream data carrying a control message, so both
    sides must pair them (``send_fd`` with ``receive_fd``, ``send_credentials`` with
    ``receive_credentials``) and not interleave them with other reads of the stream.
    """

    def send_fd(self, fd: int, cancellable: Cancellable | None = None) -> bool:
        """Pass a duplicate of ``fd`` to the peer (SCM_RIGHTS); the caller keeps ``fd``."""
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        message = UnixFDMessage([fd])
        self._socket.send_message(None, [_ONE_BYTE], [message], 0, cancellable)
        return True

    def receive_fd(self, cancellable: Cancellable | None = None) -> int:
        """Receive a file descriptor sent by ``send_fd`` (close-on-exec; the caller owns it)."""
        n, _, messages, _ = self._socket.receive_message(None, 0, cancellable)
        fds = [fd for m in messages if isinstance(m, UnixFDMessage) for fd in m.steal_fds()]
        if n != 1 or len(messages) != 1 or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            if n != 1:
                raise _failed(
                    "Expecting to read a single byte for receiving an fd, got end of stream"
                )
            if len(messages) != 1:
                raise _failed(f"Expecting 1 control message, got {len(messages)}")
            if not isinstance(messages[0], UnixFDMessage):
                raise _failed("Unexpected type of ancillary data")
            raise _failed(f"Expecting one fd, but got {len(fds)}")
        return fds[0]

    def send_credentials(self, cancellable: Cancellable | None = None) -> bool:
        """Send this process's credentials (SCM_CREDENTIALS) with one NUL byte."""
        messages = (
            [UnixCredentialsMessage(Credentials())] if UnixCredentialsMessage.is_supported() else []
        )
        try:
            self._socket.send_message(None, [_ONE_BYTE], messages, 0, cancellable)
        except Error as exc:
            raise _make(exc.code, f"Error sending credentials: {exc.strerror}", exc.errno) from exc
        return True

    def receive_credentials(self, cancellable: Cancellable | None = None) -> Credentials:
        """Receive the peer's credentials sent by ``send_credentials``.

        Turns on SO_PASSCRED for the call if it is off (and off again after), as GIO. When
        the peer sent no credentials message, falls back to ``Socket.get_credentials()``
        (SO_PEERCRED, the peer's credentials at connect time); so does a message carrying
        Linux's "no credentials" filler (pid 0), which GIO would return as is.
        """
        socket = self._socket
        turn_off = False
        if _SO_PASSCRED is not None and socket.get_option(_socket.SOL_SOCKET, _SO_PASSCRED) == 0:
            socket.set_option(_socket.SOL_SOCKET, _SO_PASSCRED, 1)
            turn_off = True
        try:
            n, _, messages, _ = socket.receive_message(None, 0, cancellable)
            try:
                if n != 1:
                    raise _failed(
                        "Expecting to read a single byte for receiving credentials but read zero "
                        "bytes"
                    )
                if UnixCredentialsMessage.is_supported() and messages:
                    if len(messages) != 1:
                        raise _failed(f"Expecting 1 control message, got {len(messages)}")
                    message = messages[0]
                    if not isinstance(message, UnixCredentialsMessage):
                        raise _failed("Unexpected type of ancillary data")
                    credentials = message.get_credentials()
                    if credentials.pid != 0:
                        return credentials
                    # pid 0: Linux's "no credentials" filler (the peer sent none and the byte
                    # was queued before SO_PASSCRED was on): same fallback as no message.
                if messages and not UnixCredentialsMessage.is_supported():
                    raise _failed(f"Not expecting control message, but got {len(messages)}")
                return socket.get_credentials()
            finally:
                for m in messages:
                    if isinstance(m, UnixFDMessage):
                        for fd in m.steal_fds():
                            os.close(fd)
        finally:
            if turn_off and _SO_PASSCRED is not None:
                socket.set_option(_socket.SOL_SOCKET, _SO_PASSCRED, 0)


_ONE_BYTE = b"\0"
# SO_PASSCRED exists on Linux only; elsewhere credentials come with SO_PEERCRED-like fallbacks.
_SO_PASSCRED: int | None = getattr(_socket, "SO_PASSCRED", None)


def _failed(message: str) -> Error:
    return _make(IOErrorEnum.FAILED, message)


# (family, type, protocol) -> class: GIO's registrations (g_socket_connection_factory and
# GTcpConnection/GUnixConnection's class_init), extended by factory_register_type.
_FACTORY: dict[tuple[int, int, int], type[SocketConnection]] = {
    (family, SocketType.STREAM, protocol): TcpConnection
    for family in (SocketFamily.IPV4, SocketFamily.IPV6)
    for protocol in (SocketProtocol.DEFAULT, SocketProtocol.TCP)
}
_FACTORY[(SocketFamily.UNIX, SocketType.STREAM, SocketProtocol.DEFAULT)] = UnixConnection


def _create_connection(socket: Socket) -> SocketConnection:
    """``Socket.connection_factory_create_connection()``: GIO's connection factory lookup."""
    cls = SocketConnection.factory_lookup_type(
        socket.get_family(), socket.get_socket_type(), socket.get_protocol()
    )
    return cls(socket)
