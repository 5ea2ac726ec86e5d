"""giosocket: GLib's GSocket (the Gio.Socket API) for Python, implemented in Rust.

Everything public is importable from here: the socket, addresses, cancellation, messages,
credentials, connections, GIO's enums and :class:`Error`.
"""

from __future__ import annotations

from ._enums import (
    IOCondition,
    IOErrorEnum,
    PollableReturn,
    SocketFamily,
    SocketMsgFlags,
    SocketProtocol,
    SocketType,
    UnixSocketAddressType,
)
from ._errors import Error
from ._giosocket import (
    Cancellable,
    Credentials,
    InetAddress,
    InetSocketAddress,
    Socket,
    SocketAddress,
    UnixSocketAddress,
)
from .connection import SocketConnection, TcpConnection, UnixConnection

__version__ = "0.1.0"

__all__ = [
    "Cancellable",
    "Credentials",
    "Error",
    "IOCondition",
    "IOErrorEnum",
    "InetAddress",
    "InetSocketAddress",
    "PollableReturn",
    "Socket",
    "SocketAddress",
    "SocketConnection",
    "SocketFamily",
    "SocketMsgFlags",
    "SocketProtocol",
    "SocketType",
    "TcpConnection",
    "UnixConnection",
    "UnixSocketAddress",
    "UnixSocketAddressType",
]
