"""giosocket.Error: GIO codes, errno mapping, builtin-compatible subclasses."""

from __future__ import annotations

import errno
import pickle

import giosocket
import pytest
from giosocket import IOErrorEnum, Socket, SocketFamily, SocketType
from giosocket._errors import _make
from giosocket._giosocket import _io_error_from_errno

pytestmark = pytest.mark.usefixtures("no_fd_leak")

# errno -> GIO code, as g_io_error_from_errno (gio/gioerror.c) maps them on Linux.
ERRNO_TO_CODE = {
    errno.EEXIST: IOErrorEnum.EXISTS,
    errno.EISDIR: IOErrorEnum.IS_DIRECTORY,
    errno.EACCES: IOErrorEnum.PERMISSION_DENIED,
    errno.EPERM: IOErrorEnum.PERMISSION_DENIED,
    errno.ENAMETOOLONG: IOErrorEnum.FILENAME_TOO_LONG,
    errno.ENOENT: IOErrorEnum.NOT_FOUND,
    errno.ENOTDIR: IOErrorEnum.NOT_DIRECTORY,
    errno.ENXIO: IOErrorEnum.NOT_REGULAR_FILE,
    errno.ENODEV: IOErrorEnum.NO_SUCH_DEVICE,
    errno.EROFS: IOErrorEnum.READ_ONLY,
    errno.ETXTBSY: IOErrorEnum.BUSY,
    errno.EBUSY: IOErrorEnum.BUSY,
    errno.ELOOP: IOErrorEnum.TOO_MANY_LINKS,
    errno.EMLINK: IOErrorEnum.TOO_MANY_LINKS,
    errno.ENOSPC: IOErrorEnum.NO_SPACE,
    errno.ENOMEM: IOErrorEnum.NO_SPACE,
    errno.EMFILE: IOErrorEnum.TOO_MANY_OPEN_FILES,
    errno.ENFILE: IOErrorEnum.TOO_MANY_OPEN_FILES,
    errno.EINVAL: IOErrorEnum.INVALID_ARGUMENT,
    errno.ENOTSOCK: IOErrorEnum.INVALID_ARGUMENT,
    errno.EPIPE: IOErrorEnum.CONNECTION_CLOSED,
    errno.ECONNRESET: IOErrorEnum.CONNECTION_CLOSED,
    errno.EAGAIN: IOErrorEnum.WOULD_BLOCK,
    errno.ENOSYS: IOErrorEnum.NOT_SUPPORTED,
    errno.EOPNOTSUPP: IOErrorEnum.NOT_SUPPORTED,
    errno.EPROTONOSUPPORT: IOErrorEnum.NOT_SUPPORTED,
    errno.ESOCKTNOSUPPORT: IOErrorEnum.NOT_SUPPORTED,
    errno.EPFNOSUPPORT: IOErrorEnum.NOT_SUPPORTED,
    errno.EAFNOSUPPORT: IOErrorEnum.NOT_SUPPORTED,
    errno.ENOMSG: IOErrorEnum.INVALID_DATA,
    errno.ENODATA: IOErrorEnum.INVALID_DATA,
    errno.EBADMSG: IOErrorEnum.INVALID_DATA,
    errno.ECANCELED: IOErrorEnum.CANCELLED,
    errno.ENOTEMPTY: IOErrorEnum.NOT_EMPTY,
    errno.ETIMEDOUT: IOErrorEnum.TIMED_OUT,
    errno.EADDRINUSE: IOErrorEnum.ADDRESS_IN_USE,
    errno.EHOSTUNREACH: IOErrorEnum.HOST_UNREACHABLE,
    errno.ENETUNREACH: IOErrorEnum.NETWORK_UNREACHABLE,
    errno.ENETDOWN: IOErrorEnum.NETWORK_UNREACHABLE,
    errno.ECONNREFUSED: IOErrorEnum.CONNECTION_REFUSED,
    errno.EADDRNOTAVAIL: IOErrorEnum.CONNECTION_REFUSED,
    errno.ENOTCONN: IOErrorEnum.NOT_CONNECTED,
    errno.EDESTADDRREQ: IOErrorEnum.DESTINATION_UNSET,
    errno.EMSGSIZE: IOErrorEnum.MESSAGE_TOO_LARGE,
    errno.EBADF: IOErrorEnum.FAILED,
    errno.EINTR: IOErrorEnum.FAILED,
    errno.EIO: IOErrorEnum.FAILED,
    errno.EFAULT: IOErrorEnum.FAILED,
    0: IOErrorEnum.FAILED,
    99999: IOErrorEnum.FAILED,
}


@pytest.mark.parametrize(("err", "code"), ERRNO_TO_CODE.items(), ids=str)
def test_errno_mapping_is_g_io_error_from_errno(err: int, code: IOErrorEnum) -> None:
    assert _io_error_from_errno(err) is code


BUILTINS = [
    (IOErrorEnum.WOULD_BLOCK, errno.EAGAIN, BlockingIOError),
    (IOErrorEnum.TIMED_OUT, None, TimeoutError),
    (IOErrorEnum.CONNECTION_REFUSED, errno.ECONNREFUSED, ConnectionRefusedError),
    (IOErrorEnum.CONNECTION_CLOSED, errno.ECONNRESET, ConnectionResetError),
    (IOErrorEnum.CONNECTION_CLOSED, errno.EPIPE, BrokenPipeError),
    (IOErrorEnum.PERMISSION_DENIED, errno.EACCES, PermissionError),
    (IOErrorEnum.NOT_FOUND, errno.ENOENT, FileNotFoundError),
]


@pytest.mark.parametrize(("code", "err", "builtin"), BUILTINS)
def test_errors_are_also_the_matching_builtin(code, err, builtin) -> None:
    e = _make(int(code), "message", err)
    assert isinstance(e, giosocket.Error) and isinstance(e, OSError)
    assert isinstance(e, builtin)
    assert e.code is code and e.errno == err
    assert e.strerror == "message" and str(e) == "message"
    assert e.domain == "g-io-error-quark"
    assert code.name in repr(e)


@pytest.mark.parametrize(
    "code", [IOErrorEnum.CANCELLED, IOErrorEnum.CLOSED, IOErrorEnum.FAILED, IOErrorEnum.PENDING]
)
def test_other_codes_are_plain_error(code) -> None:
    e = _make(int(code), "m")
    assert type(e) is giosocket.Error
    assert not isinstance(e, (TimeoutError, BlockingIOError, ConnectionError))


def test_error_pickles_with_its_code() -> None:
    e = _make(int(IOErrorEnum.TIMED_OUT), "Socket I/O timed out")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is type(e) and back.code is IOErrorEnum.TIMED_OUT
    assert str(back) == str(e)


def test_error_constructible_directly() -> None:
    e = giosocket.Error(IOErrorEnum.FAILED, "boom", 5)
    assert e.code is IOErrorEnum.FAILED and e.errno == 5 and str(e) == "boom"


def test_real_would_block_error() -> None:
    with Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as s:
        s.bind(("127.0.0.1", 0), False)
        s.blocking = False
        with pytest.raises(BlockingIOError) as info:
            s.receive(1)
    e = info.value
    assert isinstance(e, giosocket.Error)
    assert e.code is IOErrorEnum.WOULD_BLOCK and e.errno == errno.EAGAIN
    assert "Error receiving data" in str(e)


def test_real_timeout_error_has_no_errno() -> None:
    with Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as s:
        s.bind(("127.0.0.1", 0), False)
        with pytest.raises(TimeoutError) as info:
            s.receive_bytes(1, 1000)
    assert info.value.code is IOErrorEnum.TIMED_OUT and info.value.errno is None


def test_real_permission_denied_binding_a_privileged_port() -> None:
    import os

    from conftest import run_python

    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) <= 1:
                pytest.skip("every port is unprivileged on this machine")
    except OSError:
        pass
    code = """
import os, giosocket
if os.geteuid() == 0:
    os.setgid(65534); os.setuid(65534)  # become nobody: port 1 is privileged again
s = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.STREAM)
try:
    s.bind(("127.0.0.1", 1), False)
except PermissionError as e:
    print("PermissionError", e.code.name, isinstance(e, giosocket.Error))
"""
    result = run_python(code)
    if os.geteuid() == 0 and "Operation not permitted" in result.stderr:
        pytest.skip("cannot drop privileges here: " + result.stderr[-200:])
    assert result.stdout.strip() == "PermissionError PERMISSION_DENIED True", result.stderr


def test_real_not_found_connecting_to_missing_unix_path(tmp_path) -> None:
    with Socket(SocketFamily.UNIX, SocketType.STREAM) as s:
        with pytest.raises(FileNotFoundError) as info:
            s.connect(str(tmp_path / "missing"))
        assert info.value.code is IOErrorEnum.NOT_FOUND


def test_real_address_not_available_is_connection_refused() -> None:
    # 192.0.2.1 (TEST-NET-1) is not a local address: bind fails with EADDRNOTAVAIL.
    with Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as s:
        with pytest.raises(ConnectionRefusedError) as info:
            s.bind(("192.0.2.1", 0), False)
        assert info.value.errno == errno.EADDRNOTAVAIL
        assert info.value.code is IOErrorEnum.CONNECTION_REFUSED


def test_real_broken_pipe_and_reset() -> None:
    import socket

    a_raw, b_raw = socket.socketpair()
    with Socket.new_from_fd(a_raw.detach()) as a, Socket.new_from_fd(b_raw.detach()) as b:
        b.close()
        with pytest.raises(BrokenPipeError) as info:  # MSG_NOSIGNAL: no SIGPIPE kills us
            a.send(b"x")
        assert info.value.code is IOErrorEnum.CONNECTION_CLOSED
        assert info.value.errno == errno.EPIPE


def test_real_connection_reset_on_receive(tcp) -> None:
    import os
    import socket
    import struct

    _, client, server = tcp
    # SO_LINGER {on, 0 s} makes the last close() send a RST (set through a dup of the fd).
    raw = socket.socket(fileno=os.dup(server.fileno()))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()
    server.close()
    with pytest.raises(ConnectionResetError) as info:
        for _ in range(50):
            client.receive(10)
    assert info.value.code is IOErrorEnum.CONNECTION_CLOSED
    assert info.value.errno == errno.ECONNRESET
