"""GIO's `.new()` constructors PyGObject code calls (issue 12, row 13), used over real sockets."""

from __future__ import annotations

import os
import socket

from giosocket import (
    Cancellable,
    Credentials,
    Socket,
    UnixCredentialsMessage,
    UnixFDMessage,
    UnixSocketAddress,
)


def unix_dgram_pair() -> tuple[Socket, Socket]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    return Socket.new_from_fd(a.detach()), Socket.new_from_fd(b.detach())


def test_unix_fd_message_new_then_append_fd_passes_the_fd() -> None:
    sender, receiver = unix_dgram_pair()
    r, w = os.pipe()
    try:
        message = UnixFDMessage.new()
        assert type(message) is UnixFDMessage and len(message) == 0
        assert message.append_fd(w) is True
        assert sender.send_message(None, [b"x"], [message]) == 1
        _, _, controls, _ = receiver.receive_message([bytearray(4)])
        (got,) = controls
        assert isinstance(got, UnixFDMessage)
        (fd,) = got.steal_fds()
        os.write(fd, b"through the passed fd")
        os.close(fd)
        assert os.read(r, 64) == b"through the passed fd"
    finally:
        os.close(r)
        os.close(w)
        sender.close()
        receiver.close()


def test_unix_credentials_message_new_sends_this_process() -> None:
    sender, receiver = unix_dgram_pair()
    try:
        receiver.set_option(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        for message in (
            UnixCredentialsMessage.new(),
            UnixCredentialsMessage.new_with_credentials(Credentials.new()),
        ):
            assert type(message) is UnixCredentialsMessage
            assert sender.send_message(None, [b"c"], [message]) == 1
            _, _, controls, _ = receiver.receive_message([bytearray(4)])
            (got,) = [c for c in controls if isinstance(c, UnixCredentialsMessage)]
            creds = got.get_credentials()
            assert (creds.pid, creds.uid, creds.gid) == (os.getpid(), os.geteuid(), os.getegid())
    finally:
        sender.close()
        receiver.close()


def test_unix_socket_address_new_binds_and_connects(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "sock")
    with Socket.new(1, 2, 0) as server, Socket.new(1, 2, 0) as client:  # UNIX, DATAGRAM
        server.bind(UnixSocketAddress.new(path), False)
        client.connect(UnixSocketAddress.new(path))
        client.send(b"hello", Cancellable.new())
        server.timeout = 5
        data, sender = server.receive_from(16)
        assert data == b"hello"
        assert sender is None  # an unbound UNIX datagram sender has no address
        assert client.get_local_address().to_string() == "anonymous"  # type: ignore[attr-defined]
        assert server.get_local_address().to_string() == path  # type: ignore[attr-defined]
