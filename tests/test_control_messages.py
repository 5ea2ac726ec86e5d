"""Control messages: SCM_RIGHTS, SCM_CREDENTIALS, generic and user-registered classes."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
from collections.abc import Iterator

import giosocket
import pytest
from conftest import fd_count
from giosocket import (
    Credentials,
    InputMessage,
    OutputMessage,
    Socket,
    SocketControlMessage,
    UnixCredentialsMessage,
    UnixFDMessage,
)

IP_RECVTTL = 12  # linux/in.h (not exported by every Python's socket module)


def unix_pair(kind: int = socket.SOCK_DGRAM) -> tuple[Socket, Socket]:
    a, b = socket.socketpair(socket.AF_UNIX, kind)
    return Socket.new_from_fd(a.detach()), Socket.new_from_fd(b.detach())


@pytest.fixture
def pair() -> Iterator[tuple[Socket, Socket]]:
    a, b = unix_pair()
    yield a, b
    a.close()
    b.close()


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM], ids=["dgram", "stream"])
def test_scm_rights_two_pipe_fds(kind: int) -> None:
    sender, receiver = unix_pair(kind)
    before = fd_count()
    r, w = os.pipe()
    msg = UnixFDMessage([r, w])
    assert msg.get_level() == socket.SOL_SOCKET
    assert msg.get_msg_type() == socket.SCM_RIGHTS
    assert msg.get_size() == 8 and len(msg) == 2
    assert len(msg.serialize()) == 8
    assert sender.send_message(None, [b"x"], [msg]) == 1
    n, _, controls, flags = receiver.receive_message([bytearray(4)])
    assert n == 1 and flags & giosocket.MSG_CTRUNC == 0
    assert len(controls) == 1
    got = controls[0]
    assert isinstance(got, UnixFDMessage)
    fds = got.fd_list
    assert len(fds) == 2 and got.get_fd_list() == fds
    for fd in fds:
        assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    os.write(fds[1], b"through")
    assert os.read(fds[0], 16) == b"through"
    # the caller's own fds were duplicated, not taken
    os.write(w, b"mine")
    assert os.read(r, 16) == b"mine"
    stolen = got.steal_fds()
    assert stolen == fds and got.fd_list == []
    for fd in stolen + [r, w]:
        os.close(fd)
    del msg, got, controls
    assert fd_count() == before
    sender.close()
    receiver.close()


def test_several_control_messages_in_one_send(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    receiver.set_option(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    r, w = os.pipe()
    sent = sender.send_message(None, [b"ab", b"c"], [UnixCredentialsMessage(), UnixFDMessage([r])])
    assert sent == 3
    n, _, controls, flags = receiver.receive_message([bytearray(8)])
    assert n == 3 and flags & giosocket.MSG_CTRUNC == 0
    kinds = sorted(type(c).__name__ for c in controls)
    assert kinds == ["UnixCredentialsMessage", "UnixFDMessage"]
    for c in controls:
        if isinstance(c, UnixFDMessage):
            os.close(c.steal_fds()[0])
    os.close(r)
    os.close(w)


def test_received_fds_closed_when_message_dropped(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    before = fd_count()
    r, w = os.pipe()
    sender.send_message(None, [b"x"], UnixFDMessage([r, w]))
    os.close(r)
    os.close(w)
    controls = receiver.receive_message([bytearray(4)])[2]
    assert fd_count() == before + 2
    del controls
    assert fd_count() == before


def test_no_leak_when_messages_dropped_unread(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    before = fd_count()
    r, w = os.pipe()
    for _ in range(5):
        sender.send_message(None, [b"x"], [UnixFDMessage([r, w])])
    os.close(r)
    os.close(w)
    # without control messages the kernel discards the fds (MSG_CTRUNC)
    im = [InputMessage(bytearray(4)) for _ in range(2)]
    assert receiver.receive_messages(im) == 2
    assert all(m.flags & giosocket.MSG_CTRUNC for m in im)
    assert all(m.control_messages == [] for m in im)
    # reused messages drop the previous batch's descriptors
    im = [InputMessage(bytearray(4), want_control_messages=True) for _ in range(2)]
    assert receiver.receive_messages(im) == 2
    assert all(len(m.control_messages[0].fd_list) == 2 for m in im)
    assert receiver.receive_messages(im[:1]) == 1
    del im
    # the last message is never read: closing the socket frees it in the kernel
    assert fd_count() == before


def test_truncated_control_buffer(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    before = fd_count()
    r, w = os.pipe()
    extra = os.dup(r)
    sender.send_message(None, [b"x"], [UnixFDMessage([r, w, extra])])
    for fd in (r, w, extra):
        os.close(fd)
    # room for the header and one int only
    im = InputMessage(bytearray(4), want_control_messages=True, control_size=20)
    assert receiver.receive_messages([im]) == 1
    assert im.flags & giosocket.MSG_CTRUNC
    fds = [fd for m in im.control_messages for fd in getattr(m, "fd_list", [])]
    assert len(fds) <= 1
    del im
    assert fd_count() == before


def test_scm_max_fd_limit(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    before = fd_count()
    r, w = os.pipe()
    msg = UnixFDMessage([r] * 253)
    assert sender.send_message(None, [b"x"], [msg]) == 1
    controls = receiver.receive_message([bytearray(4)])[2]
    assert len(controls[0].fd_list) == 253
    del controls
    msg.append_fd(w)
    with pytest.raises(ValueError, match="SCM_MAX_FD"):
        sender.send_message(None, [b"y"], [msg])
    with pytest.raises(ValueError, match="SCM_MAX_FD"):
        sender.send_messages([OutputMessage(None, [b"z"], [msg])])
    receiver.set_blocking(False)
    with pytest.raises(BlockingIOError):
        receiver.receive_message([bytearray(4)])  # nothing went out half-way
    del msg
    os.close(r)
    os.close(w)
    assert fd_count() == before


def test_bad_fds_rejected() -> None:
    with pytest.raises(giosocket.Error):
        UnixFDMessage([987654])
    with pytest.raises(ValueError):
        UnixFDMessage([-1])
    msg = UnixFDMessage()
    with pytest.raises(giosocket.Error):
        msg.append_fd(987654)
    with pytest.raises(TypeError):
        UnixFDMessage(["0"])  # type: ignore[list-item]
    assert msg.fd_list == []


def test_fds_in_batches(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    before = fd_count()
    r, w = os.pipe()
    om = [OutputMessage(None, [b"%d" % i], [UnixFDMessage([r])]) for i in range(3)]
    assert sender.send_messages(om) == 3
    os.close(r)
    im = [InputMessage(bytearray(4), want_control_messages=True) for _ in range(3)]
    assert receiver.receive_messages(im) == 3
    fds = [m.control_messages[0].fd_list[0] for m in im]
    assert len(set(fds)) == 3
    os.write(w, b"!")
    assert os.read(fds[2], 1) == b"!"
    os.close(w)
    del om, im
    assert fd_count() == before


def test_credentials_message(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    receiver.set_option(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    msg = UnixCredentialsMessage()
    assert UnixCredentialsMessage.is_supported()
    assert msg.get_size() == 12 and len(msg.serialize()) == 12
    assert msg.credentials.pid == os.getpid()
    assert sender.send_message(None, [b"c"], [msg]) == 1
    controls = receiver.receive_message([bytearray(4)])[2]
    creds = [c for c in controls if isinstance(c, UnixCredentialsMessage)]
    assert len(creds) == 1
    got = creds[0].get_credentials()
    assert isinstance(got, Credentials)
    assert (got.pid, got.uid, got.gid) == (os.getpid(), os.geteuid(), os.getegid())
    assert got.is_same_user(Credentials())


def test_unknown_control_message_is_generic() -> None:
    server = Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
    server.bind(("127.0.0.1", 0), False)
    server.set_option(socket.IPPROTO_IP, IP_RECVTTL, 1)
    client = Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
    client.send_to(server.get_local_address(), b"ttl")
    n, _, controls, _ = server.receive_message([bytearray(8)])
    assert n == 3
    assert len(controls) == 1
    ttl = controls[0]
    assert type(ttl) is SocketControlMessage
    assert (ttl.get_level(), ttl.get_msg_type()) == (socket.IPPROTO_IP, socket.IP_TTL)
    assert struct.unpack("i", ttl.serialize())[0] > 0
    assert ttl.get_size() == 4
    server.close()
    client.close()


def test_generic_message_roundtrip(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    r, w = os.pipe()
    generic = SocketControlMessage(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))
    assert generic.get_size() == 4
    sender.send_message(None, [b"g"], [generic])
    controls = receiver.receive_message([bytearray(4)])[2]
    assert isinstance(controls[0], UnixFDMessage)
    assert len(controls[0].fd_list) == 1
    os.close(r)
    os.close(w)
    with pytest.raises(TypeError):
        SocketControlMessage()
    with pytest.raises(TypeError):
        SocketControlMessage(1, 2, 3, 4)


class AppMessage(SocketControlMessage):
    """GLib's test_socket_control_message_custom: a user class claiming SCM_RIGHTS."""

    def __init__(self, fds: tuple[int, int] = (-1, -1)) -> None:
        super().__init__()
        self.fds = fds

    def get_level(self) -> int:
        return socket.SOL_SOCKET

    def get_msg_type(self) -> int:
        return socket.SCM_RIGHTS

    def get_size(self) -> int:
        return 8

    def serialize(self) -> bytes:
        return struct.pack("2i", *self.fds)

    @classmethod
    def deserialize(cls, level: int, msg_type: int, data: bytes) -> AppMessage | None:
        if (level, msg_type) != (socket.SOL_SOCKET, socket.SCM_RIGHTS):
            return None
        return cls(struct.unpack("2i", data[:8]))  # type: ignore[arg-type]


def test_user_subclass_registered_and_tried_first(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    before = fd_count()
    r, w = os.pipe()
    assert SocketControlMessage.register(AppMessage) is AppMessage
    try:
        assert sender.send_message(None, [b"\xff"], [AppMessage((r, w))]) == 1
        n, _, controls, _ = receiver.receive_message([bytearray(1)])
        assert n == 1 and len(controls) == 1
        got = controls[0]
        assert isinstance(got, AppMessage)
        # the user class owns the received descriptors (GIO semantics)
        for fd in got.fds:
            os.close(fd)
    finally:
        assert SocketControlMessage.unregister(AppMessage)
    assert not SocketControlMessage.unregister(AppMessage)
    os.close(r)
    os.close(w)
    assert fd_count() == before


def test_register_rejects_bad_classes() -> None:
    with pytest.raises(TypeError):
        SocketControlMessage.register(int)  # type: ignore[type-var]
    with pytest.raises(TypeError):
        SocketControlMessage.register(SocketControlMessage)

    class NoDeserialize(SocketControlMessage):
        pass

    with pytest.raises(TypeError):
        SocketControlMessage.register(NoDeserialize)


def test_misbehaving_user_classes(pair: tuple[Socket, Socket]) -> None:
    sender, receiver = pair
    before = fd_count()

    class BadSerialize(SocketControlMessage):
        def get_level(self) -> int:
            return socket.SOL_SOCKET

        def get_msg_type(self) -> int:
            return socket.SCM_RIGHTS

        def serialize(self) -> bytes:
            return 42  # type: ignore[return-value]

    with pytest.raises(TypeError, match="serialize"):
        sender.send_message(None, [b"x"], [BadSerialize()])

    class Raising(SocketControlMessage):
        @classmethod
        def deserialize(cls, level: int, msg_type: int, data: bytes) -> None:
            raise RuntimeError("boom")

    r, w = os.pipe()
    sender.send_message(None, [b"x"], [UnixFDMessage([r, w])])
    os.close(r)
    os.close(w)
    SocketControlMessage.register(Raising)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            receiver.receive_message([bytearray(4)])
    finally:
        SocketControlMessage.unregister(Raising)
    assert fd_count() == before

    class WrongType(SocketControlMessage):
        @classmethod
        def deserialize(cls, level: int, msg_type: int, data: bytes) -> object:
            return "nope"

    sender.send_message(None, [b"x"], [UnixCredentialsMessage()])
    receiver.set_option(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    SocketControlMessage.register(WrongType)
    try:
        with pytest.raises(TypeError, match="deserialize"):
            receiver.receive_message([bytearray(4)])
    finally:
        SocketControlMessage.unregister(WrongType)


def test_control_messages_on_output_message() -> None:
    msg = UnixCredentialsMessage()
    om = OutputMessage(None, [b"x"], msg)
    assert om.control_messages == [msg]
    om.control_messages = None
    assert om.control_messages == []
    with pytest.raises(TypeError):
        om.control_messages = [1]  # type: ignore[list-item]
