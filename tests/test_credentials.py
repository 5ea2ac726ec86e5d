"""Credentials (GIO's GCredentials) and Socket.get_credentials() (SO_PEERCRED)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import giosocket
import pytest
from giosocket import Credentials, IOErrorEnum, Socket, SocketFamily, SocketType

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_PEERCRED semantics checked are Linux's"
)


def _pair() -> tuple[Socket, Socket]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return Socket.new_from_fd(a.detach()), Socket.new_from_fd(b.detach())


def test_new_credentials_describe_this_process() -> None:
    creds = Credentials()
    assert creds.pid == os.getpid()
    assert creds.uid == os.geteuid()
    assert creds.gid == os.getegid()
    assert creds.get_unix_pid() == os.getpid()
    assert creds.get_unix_user() == os.geteuid()
    assert creds.is_same_user(Credentials())


@linux_only
def test_to_string_matches_gio_format() -> None:
    creds = Credentials()
    expected = f"GCredentials:linux-ucred:pid={os.getpid()},uid={os.geteuid()},gid={os.getegid()}"
    assert creds.to_string() == expected
    assert str(creds) == expected
    assert expected in repr(creds)


def test_set_unix_user_changes_user_and_same_user_check() -> None:
    creds = Credentials()
    other_uid = os.geteuid() + 12345
    assert creds.set_unix_user(other_uid) is True
    assert creds.uid == other_uid
    assert creds.get_unix_user() == other_uid
    assert not creds.is_same_user(Credentials())
    assert not Credentials().is_same_user(creds)


def test_set_unix_user_rejects_bad_values() -> None:
    creds = Credentials()
    with pytest.raises(ValueError):
        creds.set_unix_user(2**32 - 1)  # (uid_t) -1 means "no user"
    with pytest.raises(OverflowError):
        creds.set_unix_user(-1)
    with pytest.raises(OverflowError):
        creds.set_unix_user(2**40)
    with pytest.raises(TypeError):
        creds.set_unix_user("0")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        creds.is_same_user(object())  # type: ignore[arg-type]
    assert creds.uid == os.geteuid()


def test_socketpair_peer_is_this_process() -> None:
    a, b = _pair()
    with a, b:
        for sock in (a, b):
            creds = sock.get_credentials()
            assert isinstance(creds, giosocket.Credentials)
            assert creds.get_unix_pid() == os.getpid()
            assert creds.get_unix_user() == os.getuid()
            assert creds.gid == os.getgid()
            assert creds.is_same_user(Credentials())


def test_peer_credentials_of_a_child_process(tmp_path: Path) -> None:
    path = str(tmp_path / "creds.sock")
    listener = Socket(SocketFamily.UNIX, SocketType.STREAM)
    with listener:
        listener.bind(path, False)
        listener.listen()
        listener.timeout = 10.0
        child_code = textwrap.dedent(
            f"""
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect({path!r})
            s.sendall(b"x")
            sys.stdin.read()
            """
        )
        child = subprocess.Popen([sys.executable, "-c", child_code], stdin=subprocess.PIPE)
        try:
            conn = listener.accept()
            with conn:
                assert conn.receive(1) == b"x"
                creds = conn.get_credentials()
                assert creds.get_unix_pid() == child.pid != os.getpid()
                assert creds.get_unix_user() == os.getuid()
                assert re.fullmatch(
                    rf"GCredentials:\w[\w-]*:pid={child.pid},uid=\d+,gid=\d+", creds.to_string()
                )
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=10)
    assert child.returncode == 0


@linux_only
def test_tcp_peer_credentials_hold_no_data() -> None:
    # Linux answers SO_PEERCRED on TCP with pid 0 and uid/gid -1: GIO returns credentials
    # whose getters raise INVALID_DATA.
    server = Socket(SocketFamily.IPV4, SocketType.STREAM)
    client = Socket(SocketFamily.IPV4, SocketType.STREAM)
    with server, client:
        server.bind(("127.0.0.1", 0), True)
        server.listen()
        client.connect(server.local_address)
        creds = client.get_credentials()
        assert creds.pid == 0
        assert creds.uid == 2**32 - 1
        for getter in (creds.get_unix_pid, creds.get_unix_user):
            with pytest.raises(giosocket.Error) as info:
                getter()
            assert info.value.code == IOErrorEnum.INVALID_DATA
        assert not creds.is_same_user(Credentials())
        assert creds.to_string() == "GCredentials:linux-ucred:pid=0"


def test_get_credentials_on_closed_socket_raises_closed() -> None:
    a, b = _pair()
    b.close()
    a.close()
    with pytest.raises(giosocket.Error) as info:
        a.get_credentials()
    assert info.value.code == IOErrorEnum.CLOSED


LINUX_UCRED = 1  # GIO's G_CREDENTIALS_TYPE_LINUX_UCRED


def test_new_is_the_constructor() -> None:
    creds = Credentials.new()
    assert type(creds) is Credentials
    assert (creds.pid, creds.uid, creds.gid) == (os.getpid(), os.geteuid(), os.getegid())


@linux_only
def test_native_round_trip_is_struct_ucred() -> None:
    import struct

    creds = Credentials.new()
    native = creds.get_native(LINUX_UCRED)
    assert native == struct.pack("=iII", os.getpid(), os.geteuid(), os.getegid())
    other = Credentials.new()
    other.set_native(LINUX_UCRED, struct.pack("=iII", 4242, 1001, 1002))
    assert (other.pid, other.uid, other.gid) == (4242, 1001, 1002)
    assert other.to_string() == "GCredentials:linux-ucred:pid=4242,uid=1001,gid=1002"
    assert not other.is_same_user(creds) or os.geteuid() == 1001
    # The peer's credentials of a real socketpair come back through the same form.
    a, b = _pair()
    try:
        peer = a.get_credentials()
        assert peer.get_native(LINUX_UCRED) == native
    finally:
        a.close()
        b.close()


@linux_only
def test_native_bad_type_or_size() -> None:
    creds = Credentials()
    for wrong_type in (0, 6, 99):
        with pytest.raises(giosocket.Error) as info:
            creds.get_native(wrong_type)
        assert info.value.code == IOErrorEnum.NOT_SUPPORTED
        with pytest.raises(giosocket.Error):
            creds.set_native(wrong_type, bytes(12))
    for size in (0, 11, 13):
        with pytest.raises(ValueError):
            creds.set_native(LINUX_UCRED, bytes(size))
    with pytest.raises(TypeError):
        creds.set_native(LINUX_UCRED, "not bytes")  # type: ignore[arg-type]
    assert creds.pid == os.getpid()  # unchanged by the failed calls
