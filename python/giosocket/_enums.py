"""GIO's enumerations with GIO's numeric values (IntEnum / IntFlag)."""

from __future__ import annotations

import enum


class SocketFamily(enum.IntEnum):
    """Address family of a socket (``GSocketFamily``)."""

    INVALID = 0
    UNIX = 1
    IPV4 = 2
    IPV6 = 10


class SocketType(enum.IntEnum):
    """Socket type (``GSocketType``; GIO values, not ``SOCK_*``)."""

    INVALID = 0
    STREAM = 1
    DATAGRAM = 2
    SEQPACKET = 3


class SocketProtocol(enum.IntEnum):
    """Protocol of a socket (``GSocketProtocol``)."""

    UNKNOWN = -1
    DEFAULT = 0
    TCP = 6
    UDP = 17
    SCTP = 132


class SocketMsgFlags(enum.IntFlag):
    """Flags for send/receive calls (``GSocketMsgFlags``); passed to the OS as given."""

    NONE = 0
    OOB = 1
    PEEK = 2
    DONTROUTE = 4


class IOCondition(enum.IntFlag):
    """Poll conditions (``GIOCondition``)."""

    IN = 1
    PRI = 2
    OUT = 4
    ERR = 8
    HUP = 16
    NVAL = 32


class PollableReturn(enum.IntEnum):
    """Result of ``send_message_with_timeout`` (``GPollableReturn``)."""

    FAILED = 0
    OK = 1
    WOULD_BLOCK = -27


class UnixSocketAddressType(enum.IntEnum):
    """Kind of UNIX socket address (``GUnixSocketAddressType``)."""

    INVALID = 0
    ANONYMOUS = 1
    PATH = 2
    ABSTRACT = 3
    ABSTRACT_PADDED = 4


class IOErrorEnum(enum.IntEnum):
    """GIO's error codes (``GIOErrorEnum``), with GIO's numbering."""

    FAILED = 0
    NOT_FOUND = 1
    EXISTS = 2
    IS_DIRECTORY = 3
    NOT_DIRECTORY = 4
    NOT_EMPTY = 5
    NOT_REGULAR_FILE = 6
    NOT_SYMBOLIC_LINK = 7
    NOT_MOUNTABLE_FILE = 8
    FILENAME_TOO_LONG = 9
    INVALID_FILENAME = 10
    TOO_MANY_LINKS = 11
    NO_SPACE = 12
    INVALID_ARGUMENT = 13
    PERMISSION_DENIED = 14
    NOT_SUPPORTED = 15
    NOT_MOUNTED = 16
    ALREADY_MOUNTED = 17
    CLOSED = 18
    CANCELLED = 19
    PENDING = 20
    READ_ONLY = 21
    CANT_CREATE_BACKUP = 22
    WRONG_ETAG = 23
    TIMED_OUT = 24
    WOULD_RECURSE = 25
    BUSY = 26
    WOULD_BLOCK = 27
    HOST_NOT_FOUND = 28
    WOULD_MERGE = 29
    FAILED_HANDLED = 30
    TOO_MANY_OPEN_FILES = 31
    NOT_INITIALIZED = 32
    ADDRESS_IN_USE = 33
    PARTIAL_INPUT = 34
    INVALID_DATA = 35
    DBUS_ERROR = 36
    HOST_UNREACHABLE = 37
    NETWORK_UNREACHABLE = 38
    CONNECTION_REFUSED = 39
    PROXY_FAILED = 40
    PROXY_AUTH_FAILED = 41
    PROXY_NEED_AUTH = 42
    PROXY_NOT_ALLOWED = 43
    BROKEN_PIPE = 44
    CONNECTION_CLOSED = 44
    NOT_CONNECTED = 45
    MESSAGE_TOO_LARGE = 46
    NO_SUCH_DEVICE = 47
    DESTINATION_UNSET = 48
