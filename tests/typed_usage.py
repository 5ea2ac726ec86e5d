"""A small typed tour of giosocket's public API; `mypy --strict tests/typed_usage.py` accepts it.

The functions are real code: tests/test_typed_usage.py calls them over loopback.
"""

from __future__ import annotations

import giosocket
from giosocket import (
    Cancellable,
    InetAddress,
    InetSocketAddress,
    InputMessage,
    IOCondition,
    IOErrorEnum,
    OutputMessage,
    OutputVector,
    Socket,
    SocketAddress,
    SocketControlMessage,
    SocketFamily,
    SocketProtocol,
    SocketType,
    UnixFDMessage,
    UnixSocketAddress,
    UnixSocketAddressType,
)


def udp_echo_once(payload: bytes) -> tuple[bytes, str]:
    """Send `payload` to a loopback UDP socket and read it back with its sender's text form."""
    with (
        Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as rx,
        Socket.new(SocketFamily.IPV4, SocketType.DATAGRAM, SocketProtocol.DEFAULT) as tx,
    ):
        rx.bind(("127.0.0.1", 0), False)
        rx.timeout = 5.0
        local: SocketAddress = rx.local_address
        sent: int = tx.send_to(local, payload)
        assert sent == len(payload)
        data, sender = rx.receive_from(2048)
        text = sender.to_string() if isinstance(sender, InetSocketAddress) else ""
        return data, text


def tcp_roundtrip(message: bytes, cancellable: Cancellable | None = None) -> bytes:
    """Connect over loopback TCP, send `message`, receive it into a buffer on the other side."""
    listener = Socket(SocketFamily.IPV4, SocketType.STREAM)
    try:
        listener.bind(InetSocketAddress(InetAddress.new_loopback(SocketFamily.IPV4), 0), True)
        listener.listen_backlog = 4
        listener.listen()
        client = Socket(SocketFamily.IPV4, SocketType.STREAM)
        client.connect(listener.get_local_address(), cancellable)
        server = listener.accept(cancellable=cancellable)
        with client, server:
            client.send(message, cancellable)
            buf = bytearray(len(message))
            got = 0
            while got < len(buf):
                ready: bool = server.condition_timed_wait(IOCondition.IN, 1_000_000)
                assert ready
                got += server.receive_into(memoryview(buf)[got:])
            return bytes(buf)
    finally:
        listener.close()


def classify(text: str) -> list[str]:
    """The GIO classification predicates that hold for a numeric address."""
    address = InetAddress.new_from_string(text)
    if address is None:
        return []
    checks = {
        "any": address.is_any,
        "loopback": address.is_loopback,
        "link_local": address.is_link_local,
        "site_local": address.is_site_local,
        "multicast": address.is_multicast,
    }
    return [name for name, holds in checks.items() if holds]


def timeout_code() -> IOErrorEnum | None:
    """Receive on an idle socket with a short budget and report GIO's error code."""
    with Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as s:
        s.bind(("127.0.0.1", 0), False)
        try:
            s.receive_bytes(16, 10_000)
        except TimeoutError as e:
            assert isinstance(e, giosocket.Error)
            return e.code
    return None


def abstract_address(name: str) -> tuple[UnixSocketAddressType, bytes]:
    """An abstract UNIX address's type and native form."""
    addr = UnixSocketAddress.new_with_type(name, UnixSocketAddressType.ABSTRACT)
    return addr.address_type, addr.to_native()


def batch_roundtrip(count: int) -> list[int]:
    """send_messages / receive_messages with reusable messages; the sizes received."""
    with (
        Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as rx,
        Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0), False)
        rx.timeout = 2.0
        dest = rx.local_address
        out = [OutputMessage(dest, [OutputVector(b"n" * (i + 1)), b"!"]) for i in range(count)]
        assert tx.send_messages(out) == count
        slots = [InputMessage(bytearray(64)) for _ in range(count)]
        got = rx.receive_messages(slots)
        return [m.bytes_received for m in slots[:got]]


@SocketControlMessage.register
class Tagged(SocketControlMessage):
    """A user control message (a generic SOL_SOCKET message nobody else claims)."""

    LEVEL = 0xFFFF
    TYPE = 0x7A

    def __init__(self, tag: bytes = b"") -> None:
        super().__init__()
        self.tag = tag

    def get_level(self) -> int:
        return self.LEVEL

    def get_msg_type(self) -> int:
        return self.TYPE

    def serialize(self) -> bytes:
        return self.tag

    @classmethod
    def deserialize(cls, level: int, msg_type: int, data: bytes) -> Tagged | None:
        return cls(data) if (level, msg_type) == (cls.LEVEL, cls.TYPE) else None


def pass_fd(fd: int) -> int:
    """Send a duplicate of `fd` over a UNIX socketpair; return the received (owned) fd."""
    import socket

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with Socket.new_from_fd(a.detach()) as sa, Socket.new_from_fd(b.detach()) as sb:
        sa.send_message(None, [b"x"], [UnixFDMessage([fd])])
        _, _, controls, _ = sb.receive_message([bytearray(1)])
        fds = [f for c in controls if isinstance(c, UnixFDMessage) for f in c.steal_fds()]
        return fds[0]
