"""UnixConnection: fd passing and credentials, between threads and between processes (fork)."""

from __future__ import annotations

import os
import socket as pysocket
import threading

import giosocket
import pytest
from conftest import fd_count
from giosocket import (
    Credentials,
    IOErrorEnum,
    Socket,
    SocketFamily,
    SocketType,
    UnixConnection,
    UnixFDMessage,
)


def unix_pair() -> tuple[UnixConnection, UnixConnection]:
    """Two connected UNIX stream connections (socketpair wrapped by giosocket)."""
    a, b = pysocket.socketpair(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    conns = []
    for s in (a, b):
        sock = Socket.new_from_fd(s.detach())
        sock.timeout = 10
        conn = sock.connection_factory_create_connection()
        assert isinstance(conn, UnixConnection)
        conns.append(conn)
    return conns[0], conns[1]


def wait_child(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status


def test_send_and_receive_fd_in_one_process() -> None:
    a, b = unix_pair()
    r, w = os.pipe()
    try:
        assert a.send_fd(w) is True
        received = b.receive_fd()
        assert received not in (r, w)
        assert os.get_inheritable(received) is False
        os.write(received, b"through the passed fd")
        os.close(received)
        assert os.read(r, 100) == b"through the passed fd"
    finally:
        os.close(r)
        os.close(w)
        a.close()
        b.close()


def test_fd_passing_between_processes() -> None:
    """The parent passes a pipe's write end to a forked child, which writes into it."""
    parent, child_end = unix_pair()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 1
        try:
            parent.socket.close()
            fd = child_end.receive_fd()
            os.write(fd, b"hello from pid %d" % os.getpid())
            os.close(fd)
            child_end.send_credentials()
            code = 0
        finally:
            os._exit(code)
    try:
        child_end.socket.close()
        # Created after the fork: the child can only reach this pipe through the socket.
        r, w = os.pipe()
        parent.send_fd(w)
        os.close(w)
        assert os.read(r, 100) == b"hello from pid %d" % pid
        os.close(r)
        credentials = parent.receive_credentials()
        assert credentials.get_unix_pid() == pid
        assert credentials.get_unix_user() == os.getuid()
        assert wait_child(pid) == 0
    finally:
        parent.close()


def test_credentials_between_threads_match_this_process() -> None:
    a, b = unix_pair()
    result: list[Credentials] = []
    thread = threading.Thread(target=lambda: result.append(b.receive_credentials()))
    thread.start()
    assert a.send_credentials() is True
    thread.join(10)
    (creds,) = result
    assert creds.pid == os.getpid()
    assert creds.uid == os.getuid()
    assert creds.gid == os.getgid()
    assert creds.is_same_user(Credentials())
    # SO_PASSCRED was off before, so it is off again after.
    assert b.socket.get_option(pysocket.SOL_SOCKET, pysocket.SO_PASSCRED) == 0
    a.close()
    b.close()


def test_receive_credentials_keeps_passcred_if_already_on() -> None:
    a, b = unix_pair()
    b.socket.set_option(pysocket.SOL_SOCKET, pysocket.SO_PASSCRED, 1)
    a.send_credentials()
    assert b.receive_credentials().pid == os.getpid()
    assert b.socket.get_option(pysocket.SOL_SOCKET, pysocket.SO_PASSCRED) == 1
    a.close()
    b.close()


def test_receive_credentials_falls_back_to_peer_credentials() -> None:
    """A plain byte without a credentials message: GIO falls back to get_credentials()."""
    a, b = unix_pair()
    # With SO_PASSCRED on, Linux attaches SCM_CREDENTIALS to every message by itself, so the
    # credentials arrive either way; they must be this process's.
    a.socket.send(b"\0")
    creds = b.receive_credentials()
    assert creds.pid == os.getpid() and creds.uid == os.getuid()
    a.close()
    b.close()


def test_receive_fd_without_fd_raises_failed() -> None:
    a, b = unix_pair()
    a.socket.send(b"\0")
    with pytest.raises(giosocket.Error) as info:
        b.receive_fd()
    assert info.value.code == IOErrorEnum.FAILED
    a.close()
    with pytest.raises(giosocket.Error) as info:
        b.receive_fd()  # end of stream
    assert info.value.code == IOErrorEnum.FAILED
    b.close()


def test_receive_fd_with_two_fds_closes_them_and_raises() -> None:
    a, b = unix_pair()
    r, w = os.pipe()
    a.socket.send_message(None, [b"\0"], [UnixFDMessage([r, w])])
    before = fd_count()
    with pytest.raises(giosocket.Error) as info:
        b.receive_fd()
    assert info.value.code == IOErrorEnum.FAILED
    assert "one fd" in str(info.value)
    assert fd_count() == before
    for fd in (r, w):
        os.close(fd)
    a.close()
    b.close()


def test_send_fd_rejects_bad_fds() -> None:
    a, b = unix_pair()
    with pytest.raises(ValueError):
        a.send_fd(-1)
    with pytest.raises((giosocket.Error, OSError)):
        a.send_fd(99999)
    a.close()
    b.close()


def test_fd_passing_leaks_nothing() -> None:
    a, b = unix_pair()
    before = fd_count()
    for _ in range(50):
        r, w = os.pipe()
        a.send_fd(r)
        got = b.receive_fd()
        for fd in (r, w, got):
            os.close(fd)
    assert fd_count() == before
    a.close()
    b.close()


def test_unix_connection_from_listener() -> None:
    path = f"\0giosocket-test-{os.getpid()}"
    with Socket(SocketFamily.UNIX, SocketType.STREAM) as listener:
        listener.bind(giosocket.UnixSocketAddress.new_abstract(path[1:]), True)
        listener.listen()
        client = Socket(SocketFamily.UNIX, SocketType.STREAM)
        client.connect(listener.get_local_address())
        server = listener.accept()
    a = client.connection_factory_create_connection()
    b = server.connection_factory_create_connection()
    assert isinstance(a, UnixConnection) and isinstance(b, UnixConnection)
    a.send_credentials()
    assert b.receive_credentials().pid == os.getpid()
    a.close()
    b.close()
