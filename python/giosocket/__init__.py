"""giosocket: GLib's GSocket (the Gio.Socket API) for Python, implemented in Rust.

Everything public is importable from here: the socket, addresses, cancellation, messages,
credentials, connections, GIO's enums and :class:`Error`.
"""

from __future__ import annotations

from . import _enums, _errors
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
from ._errors import Error, io_error_quark
from ._giosocket import (
    MSG_CMSG_CLOEXEC,
    MSG_CONFIRM,
    MSG_CTRUNC,
    MSG_DONTROUTE,
    MSG_DONTWAIT,
    MSG_EOR,
    MSG_ERRQUEUE,
    MSG_MORE,
    MSG_NOSIGNAL,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    MSG_WAITFORONE,
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    SO_EE_ORIGIN_LOCAL,
    SO_EE_ORIGIN_NONE,
    SO_EE_ORIGIN_TXSTATUS,
    Cancellable,
    Credentials,
    DropCountMessage,
    InetAddress,
    InetSocketAddress,
    InputMessage,
    InputVector,
    NativeSocketAddress,
    OutputMessage,
    OutputVector,
    PacketInfoMessage,
    Socket,
    SocketAddress,
    SocketControlMessage,
    SocketErrorMessage,
    TimestampMessage,
    TrafficClassMessage,
    UdpSegmentMessage,
    UnixCredentialsMessage,
    UnixFDMessage,
    UnixSocketAddress,
    _init,
)
from ._giosocket import __version__ as _giosocket_version
from .connection import SocketConnection, TcpConnection, UnixConnection, _create_connection


def _load_aio() -> object:
    from . import aio

    return aio


def _create_source(*args: object) -> object:
    """``Socket.create_source``'s builder: imports PyGObject only when first called."""
    from ._gsource import create_source

    return create_source(*args)  # type: ignore[arg-type]


# The native module never imports this package: it gets what it needs here, once.
_init(
    error=Error,
    error_classes={int(code): cls for code, cls in _errors._BY_CODE.items()}
    | {int(IOErrorEnum.CONNECTION_CLOSED): _errors.ConnectionResetGioError},
    broken_pipe=_errors.BrokenPipeGioError,
    codes={int(code): code for code in IOErrorEnum},
    enums={
        name: getattr(_enums, name)
        for name in (
            "SocketFamily",
            "SocketType",
            "SocketProtocol",
            "IOCondition",
            "UnixSocketAddressType",
            "PollableReturn",
        )
    },
    create_connection=_create_connection,
    load_aio=_load_aio,
    create_source=_create_source,
)
del _load_aio

__version__: str = _giosocket_version

__all__ = [
    "MSG_CMSG_CLOEXEC",
    "MSG_CONFIRM",
    "MSG_CTRUNC",
    "MSG_DONTROUTE",
    "MSG_DONTWAIT",
    "MSG_EOR",
    "MSG_ERRQUEUE",
    "MSG_MORE",
    "MSG_NOSIGNAL",
    "MSG_OOB",
    "MSG_PEEK",
    "MSG_TRUNC",
    "MSG_WAITALL",
    "MSG_WAITFORONE",
    "SO_EE_ORIGIN_ICMP",
    "SO_EE_ORIGIN_ICMP6",
    "SO_EE_ORIGIN_LOCAL",
    "SO_EE_ORIGIN_NONE",
    "SO_EE_ORIGIN_TXSTATUS",
    "Cancellable",
    "Credentials",
    "DropCountMessage",
    "Error",
    "IOCondition",
    "IOErrorEnum",
    "InetAddress",
    "InetSocketAddress",
    "InputMessage",
    "InputVector",
    "NativeSocketAddress",
    "OutputMessage",
    "OutputVector",
    "PacketInfoMessage",
    "PollableReturn",
    "Socket",
    "SocketAddress",
    "SocketConnection",
    "SocketControlMessage",
    "SocketErrorMessage",
    "SocketFamily",
    "SocketMsgFlags",
    "SocketProtocol",
    "SocketType",
    "TcpConnection",
    "TimestampMessage",
    "TrafficClassMessage",
    "UdpSegmentMessage",
    "UnixConnection",
    "UnixCredentialsMessage",
    "UnixFDMessage",
    "UnixSocketAddress",
    "UnixSocketAddressType",
    "io_error_quark",
]
