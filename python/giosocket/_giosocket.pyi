"""Type stubs for giosocket's native module (kept honest by ``python -m mypy.stubtest giosocket``)."""

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar, final, overload

from typing_extensions import Buffer, Self, TypeAlias, disjoint_base

from ._enums import (
    IOCondition,
    IOErrorEnum,
    PollableReturn,
    SocketFamily,
    SocketProtocol,
    SocketType,
    UnixSocketAddressType,
)
from .connection import SocketConnection

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
    "InetAddress",
    "InetSocketAddress",
    "InputMessage",
    "InputVector",
    "NativeSocketAddress",
    "OutputMessage",
    "OutputVector",
    "PacketInfoMessage",
    "Socket",
    "SocketAddress",
    "SocketControlMessage",
    "SocketErrorMessage",
    "TimestampMessage",
    "TrafficClassMessage",
    "UdpSegmentMessage",
    "UnixCredentialsMessage",
    "UnixFDMessage",
    "UnixSocketAddress",
    "_DatagramReader",
    "_DatagramSlots",
    "_InFlight",
    "_SendQueue",
    "__version__",
    "_init",
    "_io_error_from_errno",
    "_native_constants",
]

_ReadableBuffer: TypeAlias = Buffer | list[int]
_WritableBuffer: TypeAlias = Buffer
_AddressLike: TypeAlias = (
    SocketAddress
    | tuple[str, int]
    | tuple[str, int, int, int]
    | str
    | bytes
    | os.PathLike[str]
    | os.PathLike[bytes]
)
_OutputVectors: TypeAlias = Buffer | Sequence[OutputVector | Buffer | list[int]]
_InputVectors: TypeAlias = Buffer | Sequence[InputVector | Buffer]
# Socket(family, type, protocol): a member of the right enum, or the GIO number as a literal, so
# that swapped enum arguments are a type error (and a TypeError at run time). Any int protocol
# number is valid (IPPROTO_*), so only the enum check at run time guards that one.
_FamilyArg: TypeAlias = SocketFamily | Literal[1, 2, 10]
_TypeArg: TypeAlias = SocketType | Literal[1, 2, 3]
_ProtocolArg: TypeAlias = SocketProtocol | int
_ControlMessages: TypeAlias = SocketControlMessage | Iterable[SocketControlMessage]
_M = TypeVar("_M", bound=SocketControlMessage)
MSG_OOB: Final[int]
MSG_PEEK: Final[int]
MSG_DONTROUTE: Final[int]
MSG_CTRUNC: Final[int]
MSG_TRUNC: Final[int]
MSG_DONTWAIT: Final[int]
MSG_EOR: Final[int]
MSG_WAITALL: Final[int]
MSG_CONFIRM: Final[int]
MSG_ERRQUEUE: Final[int]
MSG_NOSIGNAL: Final[int]
MSG_MORE: Final[int]
MSG_WAITFORONE: Final[int]
MSG_CMSG_CLOEXEC: Final[int]
SO_EE_ORIGIN_NONE: Final[int]
SO_EE_ORIGIN_LOCAL: Final[int]
SO_EE_ORIGIN_ICMP: Final[int]
SO_EE_ORIGIN_ICMP6: Final[int]
SO_EE_ORIGIN_TXSTATUS: Final[int]

@final
class Cancellable:
    """GIO's `GCancellable`. `cancel()` from any thread makes the eventfd readable, so every
    operation polling it (the wait engine) wakes at once and raises CANCELLED.
    """

    def __new__(cls) -> Self: ...
    @staticmethod
    def new() -> Cancellable:
        """GIO's `g_cancellable_new()`: a new, uncancelled cancellable, as the constructor."""
    def cancel(self) -> None:
        """Cancel: every operation waiting with this cancellable wakes and raises CANCELLED, and
        the callbacks given to `connect` run, in this thread (once per cancel; a second
        `cancel()` before `reset()` does nothing).
        """
    def is_cancelled(self) -> bool:
        """Whether the cancellable has been cancelled."""
    def reset(self) -> None:
        """Make the cancellable usable again after a cancel (connected callbacks stay connected)."""
    def set_error_if_cancelled(self) -> bool:
        """Raise `giosocket.Error(CANCELLED)` if cancelled; otherwise return False (GIO's gboolean)."""
    def get_fd(self) -> int:
        """A file descriptor that becomes readable when cancelled (owned by the cancellable)."""
    def release_fd(self) -> None:
        """GIO's `g_cancellable_release_fd`: says the caller is done with `get_fd()`'s fd."""
    def connect(self, callback: Callable[..., object], *args: Any) -> int:
        """`connect(callback, *args) -> handler id`: call `callback(cancellable, *args)` when
        cancelled (in the cancelling thread)."""
    def disconnect(self, handler_id: int) -> None:
        """Disconnect a callback by the id `connect` returned (0 and unknown ids are ignored)."""
    def push_current(self) -> None:
        """Make this the calling thread's current cancellable (`get_current()`), until the
        matching `pop_current()`."""
    def pop_current(self) -> None:
        """Undo the last `push_current()` of this thread; ValueError if this cancellable is not
        the thread's current one."""
    @staticmethod
    def get_current() -> Cancellable | None:
        """The calling thread's current cancellable (the last `push_current()`), or None."""

@final
class Credentials:
    """A process's credentials: pid, uid, gid (GIO's `GCredentials`). `Credentials()` describes
    the calling process. Safe to share between threads.
    """

    def __new__(cls) -> Self: ...
    @staticmethod
    def new() -> Credentials:
        """GIO's `g_credentials_new()`: the calling process's credentials, as the constructor."""
    def get_native(self, native_type: int) -> bytes:
        """The native form: the 12 bytes of a `struct ucred` (pid, uid, gid in host byte order)
        for `native_type` 1 (GIO's `G_CREDENTIALS_TYPE_LINUX_UCRED`); NOT_SUPPORTED for
        another type."""
    def set_native(self, native_type: int, native: _ReadableBuffer) -> None:
        """Replace all three ids from a native form as `get_native` returns it (GIO's
        `g_credentials_set_native`); NOT_SUPPORTED for another type, ValueError for a buffer
        that is not 12 bytes."""
    @property
    def pid(self) -> int:
        """The process id, as stored (0 or -1 when the kernel gave none; see `get_unix_pid`)."""
    @property
    def uid(self) -> int:
        """The user id, as stored (4294967295 when the kernel gave none; see `get_unix_user`)."""
    @property
    def gid(self) -> int:
        """The group id, as stored (4294967295 when the kernel gave none)."""
    def get_unix_pid(self) -> int:
        """The UNIX process id; INVALID_DATA when the credentials hold the kernel's "no data"
        values (NOT_SUPPORTED where the platform does not report peer pids).
        """
    def get_unix_user(self) -> int:
        """The UNIX user id; INVALID_DATA when the credentials hold the kernel's "no data" values."""
    def set_unix_user(self, uid: int) -> bool:
        """Set the UNIX user id (4294967295, i.e. `(uid_t) -1`, is refused with ValueError)."""
    def is_same_user(self, other: Credentials) -> bool:
        """Whether both credentials name the same user (False when these hold no valid data)."""
    def to_string(self) -> str:
        """Human-readable form, as GIO: `GCredentials:linux-ucred:pid=1,uid=0,gid=0`."""

@final
class InetAddress:
    """An IPv4 or IPv6 address (GIO's `GInetAddress`)."""

    def __new__(cls, address: InetAddress | str) -> Self: ...
    @staticmethod
    def new_from_string(string: str) -> InetAddress | None:
        """Parse a numeric address; None if `string` is not one (GIO returns NULL)."""
    @staticmethod
    def new_from_bytes(data: _ReadableBuffer, family: int) -> InetAddress:
        """From 4 (IPv4) or 16 (IPv6) raw bytes in network order."""
    @staticmethod
    def new_any(family: int) -> InetAddress:
        """The any-address (0.0.0.0 or ::) of `family`."""
    @staticmethod
    def new_loopback(family: int) -> InetAddress:
        """The loopback address (127.0.0.1 or ::1) of `family`."""
    def to_string(self) -> str:
        """Text form as GIO (`inet_ntop`): `127.0.0.1`, `::1`, `::1.2.3.4`."""
    def to_bytes(self) -> bytes:
        """Raw bytes in network order (4 or 16)."""
    @property
    def family(self) -> SocketFamily:
        """`SocketFamily.IPV4` or `IPV6`."""
    def get_family(self) -> SocketFamily:
        """`SocketFamily.IPV4` or `IPV6`."""
    def get_native_size(self) -> int:
        """Size of the raw address: 4 or 16."""
    def equal(self, other: InetAddress | str) -> bool:
        """Whether `other` is the same address."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    @property
    def is_any(self) -> bool:
        """Whether this is the any-address (0.0.0.0 or ::)."""
    @property
    def is_loopback(self) -> bool:
        """Whether this is a loopback address (127.0.0.0/8 or ::1)."""
    @property
    def is_link_local(self) -> bool:
        """Whether this is link-local (169.254.0.0/16 or fe80::/10)."""
    @property
    def is_site_local(self) -> bool:
        """Whether this is site-local (RFC 1918 or fec0::/10)."""
    @property
    def is_multicast(self) -> bool:
        """Whether this is a multicast address."""
    @property
    def is_mc_global(self) -> bool:
        """Whether this is a global-scope IPv6 multicast address."""
    @property
    def is_mc_link_local(self) -> bool:
        """Whether this is a link-local IPv6 multicast address."""
    @property
    def is_mc_node_local(self) -> bool:
        """Whether this is a node-local IPv6 multicast address."""
    @property
    def is_mc_org_local(self) -> bool:
        """Whether this is an organisation-local IPv6 multicast address."""
    @property
    def is_mc_site_local(self) -> bool:
        """Whether this is a site-local IPv6 multicast address."""
    def get_is_any(self) -> bool:
        """Whether this is the any-address (0.0.0.0 or ::)."""
    def get_is_loopback(self) -> bool:
        """Whether this is a loopback address (127.0.0.0/8 or ::1)."""
    def get_is_link_local(self) -> bool:
        """Whether this is link-local (169.254.0.0/16 or fe80::/10)."""
    def get_is_site_local(self) -> bool:
        """Whether this is site-local (RFC 1918 or fec0::/10)."""
    def get_is_multicast(self) -> bool:
        """Whether this is a multicast address."""
    def get_is_mc_global(self) -> bool:
        """Whether this is a global-scope IPv6 multicast address."""
    def get_is_mc_link_local(self) -> bool:
        """Whether this is a link-local IPv6 multicast address."""
    def get_is_mc_node_local(self) -> bool:
        """Whether this is a node-local IPv6 multicast address."""
    def get_is_mc_org_local(self) -> bool:
        """Whether this is an organisation-local IPv6 multicast address."""
    def get_is_mc_site_local(self) -> bool:
        """Whether this is a site-local IPv6 multicast address."""

@disjoint_base
class SocketAddress:
    """Base class of socket addresses (GIO's `GSocketAddress`); holds the native form. Addresses
    of families giosocket does not decode are [`NativeSocketAddress`]es.
    """

    @property
    def family(self) -> SocketFamily:
        """The socket family (`SocketFamily`)."""
    def get_family(self) -> SocketFamily:
        """The socket family (`SocketFamily`)."""
    def get_native_size(self) -> int:
        """Size in bytes of the native form."""
    def to_native(self) -> bytes:
        """The native `struct sockaddr` bytes."""
    @staticmethod
    def new_from_native(data: _ReadableBuffer) -> SocketAddress:
        """Decode a native `struct sockaddr` (v4-mapped IPv6 comes back as IPv4, as GIO)."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class NativeSocketAddress(SocketAddress):
    """An address of a family giosocket does not model (packet, netlink, ...): only the native
    bytes, as GIO's `GNativeSocketAddress`."""

    def __new__(cls, native: _ReadableBuffer) -> Self: ...
    def to_string(self) -> str:
        """GIO's text for an address it cannot print: the type name, `GNativeSocketAddress`."""

@final
class InetSocketAddress(SocketAddress):
    """An IP address and port (GIO's `GInetSocketAddress`)."""

    def __new__(
        cls, address: InetAddress | str, port: int, flowinfo: int = 0, scope_id: int = 0
    ) -> Self: ...
    @staticmethod
    def new(address: InetAddress | str, port: int) -> InetSocketAddress:  # type: ignore[override]
        """GIO's `g_inet_socket_address_new(address, port)`."""
    @staticmethod
    def new_from_string(address: str, port: int) -> InetSocketAddress | None:
        """Parse a numeric address (IPv6 may carry `%scope`); None if it is not one."""
    @property
    def address(self) -> InetAddress:
        """The IP address."""
    def get_address(self) -> InetAddress:
        """The IP address."""
    @property
    def port(self) -> int:
        """The port."""
    def get_port(self) -> int:
        """The port."""
    @property
    def flowinfo(self) -> int:
        """IPv6 flow info (0 for IPv4)."""
    def get_flowinfo(self) -> int:
        """IPv6 flow info (0 for IPv4)."""
    @property
    def scope_id(self) -> int:
        """IPv6 scope id (0 for IPv4)."""
    def get_scope_id(self) -> int:
        """IPv6 scope id (0 for IPv4)."""
    def to_string(self) -> str:
        """GIO's text form: `1.2.3.4:80`, `[::1]:80`, `[fe80::1%2]:80`; without the port (and
        the brackets) when the port is 0: `1.2.3.4`, `fe80::1%2`."""

@final
class UnixSocketAddress(SocketAddress):
    """A UNIX-domain socket address (GIO's `GUnixSocketAddress`)."""

    def __new__(cls, path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> Self: ...
    @staticmethod
    def new(  # type: ignore[override]
        path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    ) -> UnixSocketAddress:
        """GIO's `g_unix_socket_address_new(path)`: a filesystem path, as the constructor."""
    @staticmethod
    def new_abstract(name: str | bytes) -> UnixSocketAddress:
        """An abstract-namespace address, zero-padded (GIO's deprecated `new_abstract`)."""
    @staticmethod
    def new_with_type(
        path: str | bytes | os.PathLike[str] | os.PathLike[bytes], type: int
    ) -> UnixSocketAddress:
        """An address of the given `UnixSocketAddressType`."""
    @staticmethod
    def abstract_names_supported() -> bool:
        """Whether the platform supports abstract names (Linux: yes)."""
    @property
    def path(self) -> str:
        """The path (or abstract name) as str (file-system encoding, surrogateescape)."""
    def get_path(self) -> str:
        """The path (or abstract name) as str."""
    def get_path_bytes(self) -> bytes:
        """The path (or abstract name) as bytes."""
    def get_path_len(self) -> int:
        """Length of the path in bytes."""
    @property
    def address_type(self) -> UnixSocketAddressType:
        """The `UnixSocketAddressType`."""
    def get_address_type(self) -> UnixSocketAddressType:
        """The `UnixSocketAddressType`."""
    def get_is_abstract(self) -> bool:
        """Whether this is an abstract address (GIO's deprecated `get_is_abstract`)."""
    def to_string(self) -> str:
        """GIO's text form: `anonymous`, or the path (or abstract name) with every byte that is
        not printable ASCII written as `\\xNN`."""

@final
class Socket:
    """GIO's `GSocket`: the OS fd is always non-blocking and close-on-exec; blocking mode is
    emulated by the wait engine. Safe to share between threads.
    """

    def __new__(
        cls, family: _FamilyArg, type: _TypeArg, protocol: _ProtocolArg = SocketProtocol.DEFAULT
    ) -> Self: ...
    @staticmethod
    def new(
        family: _FamilyArg, type: _TypeArg, protocol: _ProtocolArg = SocketProtocol.DEFAULT
    ) -> Socket:
        """GIO's `g_socket_new(family, type, protocol)`."""
    @staticmethod
    def new_from_fd(fd: int) -> Socket:
        """Wrap an existing socket fd, taking ownership (on success only)."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...
    def fileno(self) -> int:
        """The OS file descriptor (-1 once closed)."""
    def get_fd(self) -> int:
        """The OS file descriptor (-1 once closed)."""
    @property
    def fd(self) -> int:
        """The OS file descriptor (-1 once closed)."""
    # lifecycle
    def bind(self, address: _AddressLike, allow_reuse: bool) -> bool:
        """Bind to a local address. `allow_reuse` sets SO_REUSEADDR (and SO_REUSEPORT on
        datagram sockets), as GIO.
        """
    def listen(self) -> bool:
        """Start listening (backlog from `listen_backlog`, default 10)."""
    def accept(self, cancellable: Cancellable | None = None) -> Socket:
        """Accept a connection; blocks in blocking mode (WOULD_BLOCK otherwise)."""
    def connect(self, address: _AddressLike, cancellable: Cancellable | None = None) -> bool:
        """Connect to `address`. In non-blocking mode an in-progress connect raises PENDING;
        finish it with `condition_wait(OUT)` + `check_connect_result()`.
        """
    def check_connect_result(self) -> bool:
        """Finish a non-blocking connect: raise the connect error (SO_ERROR) if any."""
    def close(self) -> bool:
        """Close the socket (idempotent). Wakes operations blocked in other threads (they raise
        CLOSED); the fd is released once the last of them returns.
        """
    def shutdown(self, shutdown_read: bool, shutdown_write: bool) -> bool:
        """Shut down reading and/or writing."""
    def is_closed(self) -> bool:
        """Whether `close()` was called."""
    def is_connected(self) -> bool:
        """Whether the socket is connected (until shut down both ways, or closed)."""
    def speaks_ipv4(self) -> bool:
        """Whether this socket can talk to IPv4 peers (IPv4, or IPv6 without IPV6_V6ONLY)."""
    # conditions
    def condition_check(self, condition: int) -> IOCondition:
        """Poll once, without blocking: which of `condition` (plus ERR/HUP) holds now."""
    def condition_wait(self, condition: int, cancellable: Cancellable | None = None) -> bool:
        """Wait until `condition` holds (bounded by the socket timeout: TIMED_OUT)."""
    def condition_timed_wait(
        self, condition: int, timeout_us: int, cancellable: Cancellable | None = None
    ) -> bool:
        """Wait up to `timeout_us` µs (-1 = forever) until `condition` holds."""
    def get_available_bytes(self) -> int:
        """Bytes readable now: FIONREAD on streams; size of the next datagram on datagram sockets."""
    def get_option(self, level: int, optname: int) -> int:
        """`getsockopt(level, optname)` as an int."""
    def set_option(self, level: int, optname: int, value: int) -> bool:
        """`setsockopt(level, optname, value)` with an int value."""
    # sending
    def send(self, buffer: _ReadableBuffer, cancellable: Cancellable | None = None) -> int:
        """Send `buffer` on a connected socket; returns the bytes sent (may be fewer on streams)."""
    def send_to(
        self,
        address: _AddressLike | None,
        buffer: _ReadableBuffer,
        cancellable: Cancellable | None = None,
    ) -> int:
        """Send `buffer` to `address` (None = the connected peer)."""
    def send_with_blocking(
        self, buffer: _ReadableBuffer, blocking: bool, cancellable: Cancellable | None = None
    ) -> int:
        """Send with an explicit blocking mode for this call."""
    # receiving
    def receive(self, size: int, cancellable: Cancellable | None = None) -> bytes:
        """Receive up to `size` bytes (b"" at end of stream)."""
    def receive_into(self, buffer: _WritableBuffer, cancellable: Cancellable | None = None) -> int:
        """Receive into a writable buffer; returns the number of bytes written."""
    def receive_from(
        self, size: int, cancellable: Cancellable | None = None
    ) -> tuple[bytes, SocketAddress | None]:
        """Receive up to `size` bytes and the sender's address (None when the OS gives none)."""
    def receive_from_into(
        self, buffer: _WritableBuffer, cancellable: Cancellable | None = None
    ) -> tuple[int, SocketAddress | None]:
        """Receive into a writable buffer; returns (bytes written, sender)."""
    def receive_with_blocking(
        self, size: int, blocking: bool, cancellable: Cancellable | None = None
    ) -> bytes:
        """Receive with an explicit blocking mode for this call."""
    def receive_bytes(
        self, size: int, timeout_us: int, cancellable: Cancellable | None = None
    ) -> bytes:
        """Receive up to `size` bytes waiting at most `timeout_us` µs (-1 forever, 0 never)."""
    def receive_bytes_from(
        self, size: int, timeout_us: int, cancellable: Cancellable | None = None
    ) -> tuple[bytes, SocketAddress | None]:
        """Like `receive_bytes`, also returning the sender."""
    # messages
    def send_message(
        self,
        address: _AddressLike | None,
        vectors: _OutputVectors | None,
        messages: _ControlMessages | None = None,
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> int:
        """Send one message gathered from `vectors` (buffers or OutputVectors; none sends one NUL
        byte, as GIO) with optional control messages, to `address` (None = connected peer).
        Returns the bytes sent.
        """
    def send_message_with_timeout(
        self,
        address: _AddressLike | None,
        vectors: _OutputVectors | None,
        messages: _ControlMessages | None,
        flags: int,
        timeout_us: int,
        cancellable: Cancellable | None = None,
    ) -> tuple[PollableReturn, int]:
        """Like `send_message`, waiting at most `timeout_us` µs (-1 forever, 0 never). Returns
        `(PollableReturn, bytes_written)`: `WOULD_BLOCK` is returned, not raised (GIO);
        running out of time raises TIMED_OUT.
        """
    def send_messages(
        self,
        messages: Iterable[OutputMessage],
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> int:
        """Send several datagrams in one go (sendmmsg). Returns how many were sent: once at least
        one went, a later failure ends the batch early without raising (GIO); it raises only
        when none went. Fills each message's `bytes_sent` (0 for those not sent).
        """
    def receive_message(
        self,
        vectors: _InputVectors | None = None,
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> tuple[int, SocketAddress | None, list[SocketControlMessage], int]:
        """Receive one message scattered into `vectors` (writable buffers or InputVectors; None or
        empty reads and discards one byte, as GIO). Returns `(bytes, sender, control_messages,
        flags)`; `flags` are the kernel's output flags (`MSG_TRUNC`, `MSG_CTRUNC`, ...).
        Received descriptors are close-on-exec and owned by their `UnixFDMessage`.
        """
    def receive_messages(
        self,
        messages: Iterable[InputMessage],
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> int:
        """Receive several datagrams in one go (recvmmsg) into reusable `InputMessage`s. Blocking
        sockets wait until every message is filled (GIO) unless `MSG_WAITFORONE` is in
        `flags`; a timeout or cancellation after at least one message returns the partial
        count. Returns how many messages were filled. If a registered control message class
        raises while decoding, every received message is still recorded (descriptors owned or
        closed) and the exception propagates.
        """
    def set_udp_gro(self, enabled: bool) -> bool:
        """Enable or disable UDP generic receive offload (Linux `UDP_GRO`): the kernel may then
        deliver several datagrams of one flow coalesced into one buffer, with a
        `UdpSegmentMessage` (ask for control messages) telling their size. Raises
        NOT_SUPPORTED where the kernel lacks it.
        """
    def set_receive_packet_info(self, enabled: bool) -> bool:
        """Receive each datagram's destination address and arrival interface."""
    def set_receive_traffic_class(self, enabled: bool) -> bool:
        """Receive each datagram's traffic class byte (ECN + DSCP)."""
    def set_receive_timestamps(self, enabled: bool) -> bool:
        """Receive the kernel's receive time of each datagram."""
    def set_receive_drop_count(self, enabled: bool) -> bool:
        """Receive the socket's running drop counter with each datagram."""
    def set_receive_errors(self, enabled: bool) -> bool:
        """Queue ICMP and local errors on the socket's error queue."""
    # options and state
    def get_family(self) -> SocketFamily:
        """The `SocketFamily`."""
    def get_socket_type(self) -> SocketType:
        """The `SocketType`."""
    def get_protocol(self) -> SocketProtocol:
        """The `SocketProtocol`."""
    def get_blocking(self) -> bool:
        """Whether calls block (emulated; the OS fd stays non-blocking)."""
    def set_blocking(self, blocking: bool) -> None:
        """Set blocking mode."""
    def get_keepalive(self) -> bool:
        """SO_KEEPALIVE."""
    def set_keepalive(self, keepalive: bool) -> None:
        """Set SO_KEEPALIVE."""
    def get_listen_backlog(self) -> int:
        """Backlog used by `listen()` (default 10)."""
    def set_listen_backlog(self, backlog: int) -> None:
        """Set the backlog used by the next `listen()`; no effect once the socket is listening,
        as GIO (whose `g_return_if_fail (!listening)` keeps the value).
        """
    def get_timeout(self) -> float:
        """Inactivity timeout of blocking calls, in seconds (0 = none)."""
    def set_timeout(self, timeout: float) -> None:
        """Set the timeout in seconds (float accepted; 0 = none; negative raises ValueError)."""
    def get_local_address(self) -> SocketAddress:
        """The local address (`getsockname`)."""
    def get_remote_address(self) -> SocketAddress:
        """The connected peer's address (`getpeername`)."""
    def get_credentials(self) -> Credentials:
        """The connected peer's credentials (SO_PEERCRED). On Linux a TCP socket gives
        credentials whose getters raise INVALID_DATA, as GIO.
        """
    def join_multicast_group(
        self, group: InetAddress | str, source_specific: bool, iface: str | None = None
    ) -> bool:
        """Join `group` (any-source) on interface `iface` (None: the kernel picks one). The socket
        must be a bound datagram socket. `source_specific=True` needs a source address, which
        this signature cannot carry: it raises INVALID_ARGUMENT; use `join_multicast_group_ssm`.
        """
    def leave_multicast_group(
        self, group: InetAddress | str, source_specific: bool, iface: str | None = None
    ) -> bool:
        """Leave a group joined with `join_multicast_group` (same arguments)."""
    def join_multicast_group_ssm(
        self,
        group: InetAddress | str,
        source_specific: InetAddress | str | None = None,
        iface: str | None = None,
    ) -> bool:
        """Join `group` receiving only from `source_specific` (RFC 4604 source-specific multicast);
        with `source_specific=None` this is an any-source join, as GIO.
        """
    def leave_multicast_group_ssm(
        self,
        group: InetAddress | str,
        source_specific: InetAddress | str | None = None,
        iface: str | None = None,
    ) -> bool:
        """Leave a group joined with `join_multicast_group_ssm` (same arguments)."""
    def get_ttl(self) -> int:
        """Unicast TTL / hop limit (IP_TTL, IPV6_UNICAST_HOPS)."""
    def set_ttl(self, ttl: int) -> None:
        """Set the unicast TTL / hop limit (1..255)."""
    def get_multicast_ttl(self) -> int:
        """Multicast TTL / hop limit (IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS); default 1."""
    def set_multicast_ttl(self, ttl: int) -> None:
        """Set the multicast TTL (0..255; 0 keeps datagrams on this host)."""
    def get_multicast_loopback(self) -> bool:
        """Whether this host's own members receive the multicast datagrams sent (default True)."""
    def set_multicast_loopback(self, loopback: bool) -> None:
        """Set multicast loopback."""
    def get_broadcast(self) -> bool:
        """SO_BROADCAST: whether datagrams may be sent to broadcast addresses."""
    def set_broadcast(self, broadcast: bool) -> None:
        """Set SO_BROADCAST."""
    @property
    def ttl(self) -> int:
        """Unicast TTL / hop limit (IP_TTL, IPV6_UNICAST_HOPS; 1..255)."""
    @ttl.setter
    def ttl(self, value: int) -> None: ...
    @property
    def multicast_ttl(self) -> int:
        """Multicast TTL / hop limit (IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS); default 1."""
    @multicast_ttl.setter
    def multicast_ttl(self, value: int) -> None: ...
    @property
    def multicast_loopback(self) -> bool:
        """Whether this host's own members receive the multicast datagrams sent (default True)."""
    @multicast_loopback.setter
    def multicast_loopback(self, value: bool) -> None: ...
    @property
    def broadcast(self) -> bool:
        """SO_BROADCAST: whether datagrams may be sent to broadcast addresses."""
    @broadcast.setter
    def broadcast(self, value: bool) -> None: ...
    @property
    def family(self) -> SocketFamily:
        """The socket's address family (`SocketFamily`), fixed at creation."""
    @property
    def type(self) -> SocketType:
        """The socket type (`SocketType`), fixed at creation."""
    @property
    def protocol(self) -> SocketProtocol:
        """The protocol (`SocketProtocol`, or the raw protocol number)."""
    @property
    def blocking(self) -> bool:
        """Whether calls block (emulated; the OS fd stays non-blocking)."""
    @blocking.setter
    def blocking(self, value: bool) -> None: ...
    @property
    def keepalive(self) -> bool:
        """SO_KEEPALIVE: whether TCP keepalive probes are sent on an idle connection."""
    @keepalive.setter
    def keepalive(self, value: bool) -> None: ...
    @property
    def listen_backlog(self) -> int:
        """Backlog used by `listen()` (default 10)."""
    @listen_backlog.setter
    def listen_backlog(self, value: int) -> None: ...
    @property
    def timeout(self) -> float:
        """Inactivity timeout of blocking calls, in seconds (0 = none; negative raises ValueError)."""
    @timeout.setter
    def timeout(self, value: float) -> None: ...
    @property
    def local_address(self) -> SocketAddress:
        """The local address (`getsockname`)."""
    @property
    def remote_address(self) -> SocketAddress:
        """The connected peer's address (`getpeername`)."""
    # connections
    def connection_factory_create_connection(self) -> SocketConnection:
        """GIO's `g_socket_connection_factory_create_connection`: the class registered for the
        socket's family, type and protocol (`SocketConnection.factory_register_type`):
        `TcpConnection` for IPv4/IPv6 stream sockets, `UnixConnection` for UNIX stream
        sockets, else `SocketConnection`.
        """
    def _stream_receive_into(
        self, buffer: _WritableBuffer, cancellable: Cancellable | None = None
    ) -> int: ...
    # GLib main loops (needs PyGObject)
    def create_source(
        self,
        condition: int,
        cancellable: Cancellable | None = None,
        timeout_us: int | None = None,
    ) -> Any:
        """GIO's `g_socket_create_source`: a `GLib.Source` (PyGObject) that calls
        `callback(socket, condition[, user_data])` (set with `source.set_callback`) when
        `condition` is possible; the callback returns False to remove the source."""
    # asyncio (giosocket.aio): each mirrors its sync twin and honours `timeout`
    async def condition_wait_async(
        self, condition: int, cancellable: Cancellable | None = None
    ) -> bool:
        """`await condition_wait_async(condition)`: wait until `condition` holds (honours
        `timeout` and the cancellable).
        """
    async def accept_async(self, cancellable: Cancellable | None = None) -> Socket:
        """`await accept_async()`: accept a connection without blocking the event loop."""
    async def connect_async(
        self, address: _AddressLike, cancellable: Cancellable | None = None
    ) -> bool:
        """`await connect_async(address)`: connect without blocking the event loop."""
    async def send_async(
        self, buffer: _ReadableBuffer, cancellable: Cancellable | None = None
    ) -> int:
        """`await send_async(buffer)`: send once the socket is writable; returns bytes sent."""
    async def send_to_async(
        self,
        address: _AddressLike | None,
        buffer: _ReadableBuffer,
        cancellable: Cancellable | None = None,
    ) -> int:
        """`await send_to_async(address, buffer)`: send to `address` (None = the peer)."""
    async def receive_async(self, size: int, cancellable: Cancellable | None = None) -> bytes:
        """`await receive_async(size)`: receive up to `size` bytes (b"" at end of stream)."""
    async def receive_into_async(
        self, buffer: _WritableBuffer, cancellable: Cancellable | None = None
    ) -> int:
        """`await receive_into_async(buffer)`: receive into a writable buffer; returns the count."""
    async def receive_from_async(
        self, size: int, cancellable: Cancellable | None = None
    ) -> tuple[bytes, SocketAddress | None]:
        """`await receive_from_async(size)`: receive up to `size` bytes and the sender."""
    async def send_messages_async(
        self,
        messages: Iterable[OutputMessage],
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> int:
        """`await send_messages_async(messages, flags=0)`: send a batch once writable; returns
        how many messages were sent.
        """
    async def receive_messages_async(
        self,
        messages: Iterable[InputMessage],
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> int:
        """`await receive_messages_async(messages, flags=0)`: receive a batch once readable;
        returns how many messages arrived.
        """
    def _mark_timed_out(self) -> None:
        """A GLib source of this socket timed out (`_gsource.py`): the next I/O call raises
        TIMED_OUT once (GIO's `socket->priv->timed_out`).
        """
    def _in_flight(self) -> _InFlight: ...
    def _aio_registration(self) -> Any: ...
    def _set_aio_registration(self, registration: Any) -> Any: ...
    def _try_accept(self, cancellable: Cancellable | None = None) -> Socket | None: ...
    def _try_connect(
        self, address: _AddressLike, cancellable: Cancellable | None = None
    ) -> bool | None: ...
    def _try_connect_result(self) -> bool | None: ...
    def _try_condition(self, condition: int) -> bool | None: ...
    def _try_send(
        self, buffer: _ReadableBuffer, cancellable: Cancellable | None = None
    ) -> int | None: ...
    def _try_send_to(
        self,
        address: _AddressLike | None,
        buffer: _ReadableBuffer,
        cancellable: Cancellable | None = None,
    ) -> int | None: ...
    def _try_receive(self, size: int, cancellable: Cancellable | None = None) -> bytes | None: ...
    def _try_receive_into(
        self, buffer: _WritableBuffer, cancellable: Cancellable | None = None
    ) -> int | None: ...
    def _try_receive_from(
        self, size: int, cancellable: Cancellable | None = None
    ) -> tuple[bytes, SocketAddress | None] | None: ...
    def _try_send_messages(
        self,
        messages: Iterable[OutputMessage],
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> int | None:
        """`send_messages` without blocking: the count, or None if it would block."""
    def _try_receive_messages(
        self,
        messages: Iterable[InputMessage],
        flags: int = 0,
        cancellable: Cancellable | None = None,
    ) -> int | None:
        """`receive_messages` without blocking: the count, or None if it would block."""
    def _receive_datagrams(self, slots: _DatagramSlots) -> list[tuple[bytes | None, Any]] | None:
        """One non-blocking recvmmsg (MSG_WAITFORONE) into `slots`: a list of `(bytes, address)`
        (GRO slots split into their datagrams; a truncated datagram as `(None, address)`), or
        None if nothing is queued.
        """

@final
class _DatagramReader:
    """The transport's readiness callback; see the module documentation."""

    def __new__(
        cls,
        sock: Socket,
        slots: _DatagramSlots,
        queue: _SendQueue,
        transport: Any,
        protocol: Any,
    ) -> _DatagramReader: ...
    stopped: bool
    def set_protocol(self, protocol: Any) -> None:
        """Deliver to `protocol` from now on (`datagrams_received` if it has one)."""
    def __call__(self) -> None:
        """One wake-up: receive what is queued (up to the slots) and deliver it."""

@final
class _DatagramSlots:
    """Reusable receive slots for `Socket._receive_datagrams`: one area of `count` slots of
    `slot_size` bytes (pages are touched only as datagrams land in them), sender and control
    storage, and the senders' converted addresses.
    """

    def __new__(
        cls,
        count: int,
        slot_size: int,
        convert: Callable[[SocketAddress], Any],
        peer: Any = None,
        control: bool = True,
    ) -> _DatagramSlots: ...
    @property
    def truncated(self) -> int:
        """How many datagrams of the last receive were truncated (reported as `(None, addr)`)."""

@final
class _SendQueue:
    """The transport's datagram queue and `sendto`; see the module documentation."""

    def __new__(
        cls,
        sock: Socket,
        transport: Any,
        call_soon: Callable[[Callable[[], object]], object],
        *,
        gso_limit: int,
        high_water: int,
        remote: Any,
        connected: bool,
    ) -> _SendQueue: ...
    high_water: int
    gso_limit: int
    deferred: bool
    held: bool
    def sendto(self, data: bytes | bytearray | memoryview, addr: Any = None) -> None:
        """Queue one datagram (copied now unless it is bytes) to `addr` (None: the connected
        peer), as asyncio's `DatagramTransport.sendto`: empty data is ignored; with a
        remote_addr, `addr` must be None or it; after `lose()` the datagram is discarded (with
        a warning after a few).
        """
    def send(self) -> None:
        """Hand the runs to the kernel until the queue is empty or the socket buffer is full;
        refused datagrams go to `report`. Raises only what is not an OSError.
        """
    def begin_delivery(self, lone: bool) -> bool:
        """Start delivering received datagrams (`lone`: just one): returns the `deferred` flag to
        give back to `end_delivery`; a flush comes when the delivery ends.
        """
    def end_delivery(self, deferred: bool) -> bool:
        """End a delivery: restores `deferred`; True when the transport should flush now
        (datagrams wait, it is not held and not lost).
        """
    def lose(self) -> None:
        """The connection is lost: drop the queue; later datagrams are discarded."""
    @property
    def queued_bytes(self) -> int:
        """Bytes queued and not yet taken by the kernel."""
    def __len__(self) -> int:
        """How many runs (future messages) are queued."""

@final
class _InFlight:
    """Keeps a socket's fd in flight while an event loop watches it; released once, by
    `release()` or when dropped.
    """

    @property
    def fd(self) -> int:
        """The socket fd (stays open until `release()`)."""
    def release(self) -> None:
        """End the operation (idempotent); the fd is released here if the socket was closed."""

__version__: Final[str]

def _native_constants() -> dict[str, int]:
    """`_native_constants() -> dict[str, int]`: every enum value the crate uses natively, keyed
    `"Enum.MEMBER"`, so a test checks the Python enums against them (one source of truth).
    """

def _init(
    *,
    error: type[BaseException],
    error_classes: Mapping[int, type[BaseException]],
    broken_pipe: type[BaseException],
    codes: Mapping[int, IOErrorEnum],
    enums: Mapping[str, type],
    create_connection: Callable[[Socket], SocketConnection],
    load_aio: Callable[[], object],
    create_source: Callable[..., object],
) -> None:
    """`_init(...)`: the Python pieces the crate needs, handed over once by
    `giosocket/__init__.py` (the native module never imports its own package):
    the error classes and `IOErrorEnum` members, the enum classes, the connection factory,
    a loader for `giosocket.aio` (imported when a coroutine is first made) and the
    `create_source` builder (which imports PyGObject only when first called).
    """

def _io_error_from_errno(errno: int) -> IOErrorEnum:
    """`_io_error_from_errno(errno) -> IOErrorEnum`: GLib's `g_io_error_from_errno`, exposed
    (privately) so tests can compare the mapping with the real GIO.
    """

@final
class OutputVector:
    """A buffer to gather from when sending (GIO's `GOutputVector`). Holds the buffer's export
    for its lifetime, so the memory is neither copied nor moved.
    """

    def __new__(cls, buffer: _ReadableBuffer) -> Self: ...
    @property
    def buffer(self) -> _ReadableBuffer:
        """The buffer given to the constructor."""
    @property
    def size(self) -> int:
        """Its size in bytes."""

@final
class InputVector:
    """A writable buffer to scatter into when receiving (GIO's `GInputVector`). Holds a writable
    export: read-only objects are rejected with TypeError.
    """

    def __new__(cls, buffer: _WritableBuffer) -> Self: ...
    @property
    def buffer(self) -> _WritableBuffer:
        """The buffer given to the constructor."""
    @property
    def size(self) -> int:
        """Its capacity in bytes."""

@final
class OutputMessage:
    """One datagram to send with `Socket.send_messages` (GIO's `GOutputMessage`):
    `OutputMessage(address=None, vectors=(), control_messages=None)`. `bytes_sent` is filled
    by `send_messages`. Attributes may be reassigned between calls.
    """

    def __new__(
        cls,
        address: _AddressLike | None = None,
        vectors: _OutputVectors | None = None,
        control_messages: _ControlMessages | None = None,
        *,
        segment_size: int = 0,
        source: InetAddress | str | None = None,
        traffic_class: int | None = None,
    ) -> Self: ...
    @property
    def segment_size(self) -> int:
        """UDP GSO segment size to send with (0 = none)."""
    @segment_size.setter
    def segment_size(self, value: int) -> None: ...
    @property
    def source(self) -> InetAddress | None:
        """Source address to send from (packet info; None = the kernel's choice)."""
    @source.setter
    def source(self, value: InetAddress | str | None) -> None: ...
    @property
    def traffic_class(self) -> int | None:
        """Traffic class byte (ECN in the low two bits) to send with (None = the socket's)."""
    @traffic_class.setter
    def traffic_class(self, value: int | None) -> None: ...
    @property
    def address(self) -> _AddressLike | None:
        """Destination (None = the connected peer)."""
    @address.setter
    def address(self, value: _AddressLike | None) -> None: ...
    @property
    def vectors(self) -> _OutputVectors:
        """The vectors (as given)."""
    @vectors.setter
    def vectors(self, value: _OutputVectors | None) -> None: ...
    @property
    def control_messages(self) -> list[SocketControlMessage]:
        """The control messages to send with the datagram."""
    @control_messages.setter
    def control_messages(self, value: _ControlMessages | None) -> None: ...
    @property
    def bytes_sent(self) -> int:
        """Bytes sent by the last `send_messages` call (0 if this message was not sent)."""
    @bytes_sent.setter
    def bytes_sent(self, value: int) -> None: ...

@final
class InputMessage:
    """A datagram slot for `Socket.receive_messages` (GIO's `GInputMessage`):
    `InputMessage(vectors, want_control_messages=False, control_size=2048)`. After a call it
    holds `bytes_received`, `flags`, `address` and `control_messages` of the datagram received
    into it. Reuse it: its buffers stay borrowed and its storage is allocated once. While a
    call uses it, other threads touching it get a RuntimeError (pyo3's borrow check).
    """

    def __new__(
        cls,
        vectors: _InputVectors | None,
        want_control_messages: bool = False,
        control_size: int = 2048,
    ) -> Self: ...
    @property
    def vectors(self) -> Any:  # as given: a list, a tuple, one buffer or None (m.vectors[0] works)
        """The vectors (as given)."""
    @property
    def address(self) -> SocketAddress | None:
        """Sender of the last datagram received into this message (None if unknown)."""
    @property
    def bytes_received(self) -> int:
        """Bytes received into the vectors by the last call."""
    @property
    def flags(self) -> int:
        """Output flags of the last call (e.g. `MSG_TRUNC`, `MSG_CTRUNC`)."""
    @property
    def control_messages(self) -> list[SocketControlMessage]:
        """Control messages of the last datagram (empty unless `want_control_messages`)."""
    @property
    def segment_size(self) -> int:
        """GRO segment size of the last datagram (0 = not coalesced, or GRO off)."""
    @property
    def destination(self) -> InetAddress | None:
        """The address the last datagram was sent to (None unless packet info is on)."""
    @property
    def interface_index(self) -> int:
        """Index of the interface the last datagram arrived on (0 unless packet info is on)."""
    @property
    def traffic_class(self) -> int:
        """Traffic class byte of the last datagram (ECN = `& 3`; -1 unless traffic class is on)."""
    @property
    def timestamp_ns(self) -> int:
        """Kernel receive time of the last datagram in ns (0 unless timestamps are on)."""
    @property
    def drop_count(self) -> int:
        """The socket's drop counter at the last datagram (-1 = none attached)."""

@disjoint_base
class SocketControlMessage:
    """Base class of control messages (GIO's `GSocketControlMessage`). Instantiated directly,
    it is a generic message: `SocketControlMessage(level, msg_type, data=b"")` sends `data`
    as-is, and unknown control messages are received as such.
    """

    def __new__(cls, *args: object, **kwargs: object) -> Self: ...
    @overload
    def __init__(self) -> None: ...  # a subclass's own __init__ calls super().__init__()
    @overload
    def __init__(self, level: int, msg_type: int, data: _ReadableBuffer = b"") -> None: ...
    def get_level(self) -> int:
        """The cmsg level (e.g. `SOL_SOCKET`)."""
    def get_msg_type(self) -> int:
        """The cmsg type (e.g. `SCM_RIGHTS`)."""
    def get_size(self) -> int:
        """The size of the serialized data in bytes."""
    def serialize(self) -> bytes:
        """The data part of the control message (what follows the `cmsghdr`)."""
    @staticmethod
    def register(message_class: type[_M]) -> type[_M]:
        """Register a subclass so that received control messages are offered to its
        `deserialize(level, msg_type, data)` classmethod before the built-ins. Returns `cls`
        (usable as a class decorator). Registering twice has no effect.
        """
    @staticmethod
    def unregister(message_class: type[SocketControlMessage]) -> bool:
        """Undo `register(cls)`; returns whether it was registered."""

@final
class UnixFDMessage(SocketControlMessage):
    """GIO's `GUnixFDMessage` (with the fd list folded in): `UnixFDMessage(fds=())`."""

    def __new__(cls, fds: Iterable[int] = ()) -> Self: ...
    @staticmethod
    def new() -> UnixFDMessage:
        """GIO's `g_unix_fd_message_new()`: an empty message (add fds with `append_fd`)."""
    def append_fd(self, fd: int) -> bool:
        """Add a duplicate of `fd` (GIO's `g_unix_fd_message_append_fd`); returns True."""
    def steal_fds(self) -> list[int]:
        """Take ownership of all fds: the caller must close them; the message is left empty."""
    def get_fd_list(self) -> list[int]:
        """The fds the message owns (still owned by it: do not close them; see `steal_fds`)."""
    @property
    def fd_list(self) -> list[int]:
        """The fds the message owns (still owned by it: do not close them; see `steal_fds`)."""
    def __len__(self) -> int: ...

@final
class UnixCredentialsMessage(SocketControlMessage):
    """GIO's `GUnixCredentialsMessage`: `UnixCredentialsMessage(credentials=None)` (None = this
    process).
    """

    def __new__(cls, credentials: Credentials | None = None) -> Self: ...
    @staticmethod
    def new() -> UnixCredentialsMessage:
        """GIO's `g_unix_credentials_message_new()`: a message with this process's credentials."""
    @staticmethod
    def new_with_credentials(credentials: Credentials) -> UnixCredentialsMessage:
        """GIO's `g_unix_credentials_message_new_with_credentials(credentials)`."""
    @staticmethod
    def is_supported() -> bool:
        """Whether passing credentials is supported on this platform (True on Linux)."""
    def get_credentials(self) -> Credentials:
        """The credentials carried."""
    @property
    def credentials(self) -> Credentials:
        """The credentials carried."""

@final
class UdpSegmentMessage(SocketControlMessage):
    """`UdpSegmentMessage(segment_size)`: sent with one large buffer, the kernel splits it into
    datagrams of `segment_size` bytes (the last may be shorter). Received (with
    `Socket.set_udp_gro(True)`), it tells the size of the datagrams coalesced into the buffer.
    """

    def __new__(cls, segment_size: int) -> Self: ...
    @staticmethod
    def is_supported() -> bool:
        """Whether the kernel supports UDP GSO (sending this message)."""
    def get_segment_size(self) -> int:
        """The segment size in bytes."""
    @property
    def segment_size(self) -> int:
        """The segment size in bytes."""

@final
class PacketInfoMessage(SocketControlMessage):
    """Packet info (IP_PKTINFO / IPV6_PKTINFO): a datagram's destination and interface."""

    def __new__(cls, source: InetAddress | str | None = None, interface_index: int = 0) -> Self: ...
    @property
    def source(self) -> InetAddress | None:
        """The source address to send from (received: the local address to reply from)."""
    @property
    def destination(self) -> InetAddress | None:
        """The address the datagram was sent to (received messages; None when constructed)."""
    @property
    def interface_index(self) -> int:
        """The interface index (arrival interface when received, outgoing when sent; 0 = any)."""

@final
class TrafficClassMessage(SocketControlMessage):
    """The IPv4 TOS / IPv6 traffic class byte of a datagram (ECN + DSCP)."""

    def __new__(cls, value: int) -> Self: ...
    @property
    def value(self) -> int:
        """The whole byte (DSCP << 2 | ECN)."""
    @property
    def ecn(self) -> int:
        """The ECN codepoint (`value & 3`)."""
    @property
    def dscp(self) -> int:
        """The DSCP (`value >> 2`)."""

@final
class TimestampMessage(SocketControlMessage):
    """When the kernel received a datagram (SO_TIMESTAMPNS)."""

    def __new__(cls, ns: int) -> Self: ...
    @property
    def ns(self) -> int:
        """Nanoseconds since the epoch (CLOCK_REALTIME)."""
    @property
    def seconds(self) -> float:
        """Seconds since the epoch, as a float (compare with `time.time()`)."""

@final
class DropCountMessage(SocketControlMessage):
    """The kernel's running count of datagrams dropped for this socket (SO_RXQ_OVFL)."""

    def __new__(cls, count: int) -> Self: ...
    @property
    def count(self) -> int:
        """Datagrams dropped for this socket so far (the kernel's counter; it wraps at 2**32)."""

@final
class SocketErrorMessage(SocketControlMessage):
    """One entry of the socket error queue (IP_RECVERR / IPV6_RECVERR), e.g. an ICMP error."""

    def __new__(
        cls,
        errno: int,
        origin: int,
        type: int,
        code: int,
        info: int = 0,
        offender: SocketAddress | None = None,
    ) -> Self: ...
    @property
    def errno(self) -> int:
        """The error number (e.g. `errno.ECONNREFUSED`)."""
    @property
    def origin(self) -> int:
        """Where the error came from: one of `giosocket.SO_EE_ORIGIN_*`."""
    @property
    def type(self) -> int:
        """The ICMP type (ICMP origins), else the kernel's `ee_type`."""
    @property
    def code(self) -> int:
        """The ICMP code (ICMP origins), else the kernel's `ee_code`."""
    @property
    def info(self) -> int:
        """Extra information (`ee_info`: the next-hop MTU for "fragmentation needed")."""
    @property
    def offender(self) -> SocketAddress | None:
        """The node that reported the error (None if unknown)."""
    @property
    def original_destination(self) -> SocketAddress | None:
        """The destination of the datagram that failed (None if unknown)."""
    @property
    def error(self) -> Exception:
        """The matching `giosocket.Error` (code from the errno, message naming the offender)."""
