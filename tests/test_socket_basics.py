"""Socket core over real sockets: construction, lifecycle, properties, send/receive."""

from __future__ import annotations

import array
import os
import socket
import tempfile
import time

import giosocket
import pytest
from conftest import needs_ipv6, tcp_pair, udp_socket, wait_until
from giosocket import (
    Cancellable,
    InetSocketAddress,
    IOCondition,
    IOErrorEnum,
    Socket,
    SocketFamily,
    SocketProtocol,
    SocketType,
    UnixSocketAddress,
    UnixSocketAddressType,
)

pytestmark = pytest.mark.usefixtures("no_fd_leak")

V4, V6, UNIX = SocketFamily.IPV4, SocketFamily.IPV6, SocketFamily.UNIX
STREAM, DGRAM, SEQPACKET = SocketType.STREAM, SocketType.DATAGRAM, SocketType.SEQPACKET


# ---- construction -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [Socket, Socket.new], ids=["Socket()", "Socket.new"])
@pytest.mark.parametrize(
    ("family", "stype"),
    [(V4, STREAM), (V4, DGRAM), (UNIX, STREAM), (UNIX, DGRAM), (UNIX, SEQPACKET)],
)
def test_new_socket_reports_what_it_was_created_with(make, family, stype) -> None:
    with make(family, stype) as s:
        assert s.family is family and s.get_family() is family
        assert s.type is stype and s.get_socket_type() is stype
        # GIO keeps the protocol the socket was created with: DEFAULT stays DEFAULT.
        assert s.protocol is SocketProtocol.DEFAULT
        assert s.get_protocol() is SocketProtocol.DEFAULT
        assert s.fileno() == s.fd == s.get_fd() >= 0
        assert not s.is_closed() and not s.is_connected()


def test_new_socket_defaults_match_gio() -> None:
    with Socket(V4, STREAM, SocketProtocol.TCP) as s:
        assert s.protocol is SocketProtocol.TCP
        assert s.blocking is True and s.get_blocking() is True
        assert s.timeout == 0 and s.get_timeout() == 0
        assert s.listen_backlog == 10 and s.get_listen_backlog() == 10
        assert s.keepalive is False and s.get_keepalive() is False


def test_os_fd_is_nonblocking_cloexec_and_nodelay() -> None:
    import fcntl

    with Socket(V4, STREAM) as s:
        assert fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK
        assert fcntl.fcntl(s.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        assert s.get_option(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    with Socket(V4, DGRAM) as u:
        assert fcntl.fcntl(u.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK


def test_repr_shows_state() -> None:
    s = Socket(V4, DGRAM)
    assert f"fd={s.fileno()}" in repr(s) and "IPV4" in repr(s) and "DATAGRAM" in repr(s)
    s.close()
    assert "closed" in repr(s)


def test_context_manager_closes() -> None:
    with Socket(V4, STREAM) as s:
        assert s.__enter__() is s
    assert s.is_closed() and s.fileno() == -1


def test_context_manager_closes_on_exception() -> None:
    with pytest.raises(RuntimeError), Socket(V4, STREAM) as s:
        raise RuntimeError("boom")
    assert s.is_closed()


def test_new_from_fd_reads_details_unbound() -> None:
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with Socket.new_from_fd(raw.detach()) as s:
        assert s.family is V4 and s.type is STREAM
        assert s.protocol is SocketProtocol.TCP  # GIO's g_socket_details_from_fd
        assert not s.is_connected()
    raw = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with Socket.new_from_fd(raw.detach()) as s:
        assert (s.family, s.type, s.protocol) == (V6, DGRAM, SocketProtocol.UDP)


def test_new_from_fd_of_dup_reports_tcp_and_shares_the_connection(tcp) -> None:
    _, client, server = tcp
    with Socket.new_from_fd(os.dup(client.fileno())) as twin:
        assert twin.family is client.family and twin.type is client.type
        assert twin.protocol is SocketProtocol.TCP
        assert twin.is_connected()
        assert twin.send(b"via the dup") == 11
        assert server.receive(64) == b"via the dup"
        server.send(b"back")
        assert twin.receive(64) == b"back"
        # Closing the twin leaves the original usable (it owned a dup).
    assert client.send(b"still") == 5
    assert server.receive(64) == b"still"


def test_new_from_fd_unix_socketpair_is_anonymous(unix_pair) -> None:
    a, b = unix_pair
    assert a.family is UNIX and a.type is STREAM and a.protocol is SocketProtocol.DEFAULT
    assert a.is_connected() and b.is_connected()
    local = a.local_address
    assert isinstance(local, UnixSocketAddress)
    assert local.address_type is UnixSocketAddressType.ANONYMOUS
    assert a.send(b"hello") == 5
    assert b.receive(10) == b"hello"


def test_new_from_fd_makes_fd_nonblocking() -> None:
    import fcntl

    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.setblocking(True)
    with Socket.new_from_fd(raw.detach()) as s:
        assert fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK


def test_new_from_fd_rejects_non_socket_and_leaves_fd_to_caller() -> None:
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        with pytest.raises(giosocket.Error) as info:
            Socket.new_from_fd(fd)
        assert info.value.code is IOErrorEnum.INVALID_ARGUMENT
        os.fstat(fd)  # still open: ownership is only taken on success
    finally:
        os.close(fd)


# ---- bind / listen / accept / connect ---------------------------------------------------


def test_tcp_bind_listen_accept_connect_roundtrip() -> None:
    with Socket(V4, STREAM) as listener:
        assert listener.bind(InetSocketAddress("127.0.0.1", 0), True) is True
        assert listener.listen() is True
        addr = listener.local_address
        assert isinstance(addr, InetSocketAddress) and addr.port > 0
        with Socket(V4, STREAM) as client:
            assert client.connect(addr) is True
            assert client.is_connected()
            with listener.accept() as server:
                assert server.is_connected()
                assert server.family is V4 and server.type is STREAM
                # GIO copies the listener's protocol onto accepted sockets.
                assert server.protocol == listener.protocol
                assert server.remote_address == client.local_address
                assert server.local_address == client.remote_address
                assert client.send(b"ping") == 4
                assert server.receive(16) == b"ping"
                assert server.send(memoryview(b"pong")) == 4
                assert client.receive(16) == b"pong"


def test_bind_sets_reuseaddr_and_reuseport_for_datagrams_only() -> None:
    with Socket(V4, STREAM) as t, Socket(V4, DGRAM) as u, Socket(V4, DGRAM) as n:
        t.bind(("127.0.0.1", 0), True)
        u.bind(("127.0.0.1", 0), True)
        n.bind(("127.0.0.1", 0), False)
        assert t.get_option(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        assert t.get_option(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
        assert u.get_option(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        assert u.get_option(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        assert n.get_option(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        assert n.get_option(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0


def test_second_tcp_bind_with_reuse_is_address_in_use() -> None:
    with Socket(V4, STREAM) as a, Socket(V4, STREAM) as b:
        a.bind(("127.0.0.1", 0), True)
        a.listen()
        with pytest.raises(giosocket.Error) as info:
            b.bind(a.local_address, True)
        assert info.value.code is IOErrorEnum.ADDRESS_IN_USE
        assert "Error binding to address" in str(info.value)


def test_second_udp_bind_with_reuse_succeeds() -> None:
    with Socket(V4, DGRAM) as a, Socket(V4, DGRAM) as b:
        a.bind(("127.0.0.1", 0), True)
        assert b.bind(a.local_address, True) is True
        assert b.local_address == a.local_address


def test_listen_uses_backlog_property() -> None:
    with Socket(V4, STREAM) as s:
        s.listen_backlog = 3
        assert s.get_listen_backlog() == 3
        s.set_listen_backlog(7)
        assert s.listen_backlog == 7
        s.bind(("127.0.0.1", 0), False)
        assert s.listen()
        assert s.get_option(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1


def test_accept_nonblocking_would_block() -> None:
    with Socket(V4, STREAM) as s:
        s.bind(("127.0.0.1", 0), True)
        s.listen()
        s.blocking = False
        with pytest.raises(BlockingIOError) as info:
            s.accept()
        assert info.value.code is IOErrorEnum.WOULD_BLOCK


def test_connect_nonblocking_pending_then_check_result() -> None:
    with Socket(V4, STREAM) as listener, Socket(V4, STREAM) as client:
        listener.bind(("127.0.0.1", 0), True)
        listener.listen()
        client.blocking = False
        try:
            client.connect(listener.local_address)
        except giosocket.Error as e:  # loopback connects may also finish at once
            assert e.code is IOErrorEnum.PENDING
        assert client.condition_timed_wait(IOCondition.OUT, 2_000_000)
        assert client.check_connect_result() is True
        assert client.is_connected()
        assert client.remote_address == listener.local_address
        listener.blocking = True
        listener.timeout = 5
        with listener.accept() as server:
            assert server.remote_address == client.local_address


def test_connect_refused_blocking() -> None:
    with Socket(V4, STREAM) as probe:
        probe.bind(("127.0.0.1", 0), False)
        port = probe.local_address.port  # bound but not listening: refuses
        with Socket(V4, STREAM) as client:
            with pytest.raises(ConnectionRefusedError) as info:
                client.connect(("127.0.0.1", port))
            assert info.value.code is IOErrorEnum.CONNECTION_REFUSED
            assert not client.is_connected()


def test_connect_refused_nonblocking_via_check_connect_result() -> None:
    with Socket(V4, STREAM) as probe, Socket(V4, STREAM) as client:
        probe.bind(("127.0.0.1", 0), False)
        client.blocking = False
        try:
            client.connect(probe.local_address)
        except ConnectionRefusedError:
            return  # refused synchronously: also GIO-correct
        except giosocket.Error as e:
            assert e.code is IOErrorEnum.PENDING
        client.condition_timed_wait(IOCondition.OUT, 2_000_000)
        with pytest.raises(giosocket.Error) as info:
            client.check_connect_result()
        assert info.value.code is IOErrorEnum.CONNECTION_REFUSED
        assert isinstance(info.value, ConnectionRefusedError)


def test_shutdown_and_is_connected(tcp) -> None:
    _, client, server = tcp
    assert client.shutdown(False, False) is True
    assert client.is_connected()
    assert client.shutdown(False, True) is True
    assert client.is_connected()  # still connected for reading
    assert server.receive(10) == b""  # EOF seen by the peer
    assert client.shutdown(True, False) is True
    assert not client.is_connected()


def test_half_close_is_not_hup(tcp) -> None:
    _, client, server = tcp
    server.send(b"last words")
    server.shutdown(False, True)
    client.timeout = 1
    # GLib's test_close_graceful: waiting for HUP after the peer's half-close times out.
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        client.condition_timed_wait(IOCondition.HUP, 200_000)
    assert time.monotonic() - start < 0.5
    assert client.condition_check(IOCondition.HUP) == 0
    assert client.condition_check(IOCondition.IN) == IOCondition.IN
    assert client.receive(64) == b"last words"
    assert client.receive(64) == b""


def test_close_is_idempotent_and_fd_is_minus_one() -> None:
    s = Socket(V4, STREAM)
    fd = s.fileno()
    assert s.close() is True
    assert s.close() is True
    assert s.is_closed()
    assert s.fileno() == s.fd == s.get_fd() == -1
    with pytest.raises(OSError):
        os.fstat(fd)


CLOSED_CALLS = {
    "bind": lambda s: s.bind(("127.0.0.1", 0), False),
    "listen": lambda s: s.listen(),
    "accept": lambda s: s.accept(),
    "connect": lambda s: s.connect(("127.0.0.1", 9)),
    "check_connect_result": lambda s: s.check_connect_result(),
    "shutdown": lambda s: s.shutdown(True, True),
    "speaks_ipv4": lambda s: s.speaks_ipv4(),
    "condition_check": lambda s: s.condition_check(IOCondition.IN),
    "condition_wait": lambda s: s.condition_wait(IOCondition.IN),
    "condition_timed_wait": lambda s: s.condition_timed_wait(IOCondition.IN, 1000),
    "get_available_bytes": lambda s: s.get_available_bytes(),
    "get_option": lambda s: s.get_option(socket.SOL_SOCKET, socket.SO_TYPE),
    "set_option": lambda s: s.set_option(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    "keepalive": lambda s: s.keepalive,
    "set_keepalive": lambda s: s.set_keepalive(True),
    "local_address": lambda s: s.local_address,
    "remote_address": lambda s: s.get_remote_address(),
    "send": lambda s: s.send(b"x"),
    "send_to": lambda s: s.send_to(("127.0.0.1", 9), b"x"),
    "send_with_blocking": lambda s: s.send_with_blocking(b"x", False),
    "receive": lambda s: s.receive(1),
    "receive_into": lambda s: s.receive_into(bytearray(1)),
    "receive_from": lambda s: s.receive_from(1),
    "receive_from_into": lambda s: s.receive_from_into(bytearray(1)),
    "receive_with_blocking": lambda s: s.receive_with_blocking(1, False),
    "receive_bytes": lambda s: s.receive_bytes(1, 0),
    "receive_bytes_from": lambda s: s.receive_bytes_from(1, 0),
}


@pytest.mark.parametrize("call", CLOSED_CALLS.values(), ids=CLOSED_CALLS.keys())
@pytest.mark.parametrize("stype", [STREAM, DGRAM])
def test_every_call_after_close_raises_closed(call, stype) -> None:
    s = Socket(V4, stype)
    s.close()
    with pytest.raises(giosocket.Error) as info:
        call(s)
    assert info.value.code is IOErrorEnum.CLOSED
    assert s.get_fd() == -1
    # State that needs no fd still answers.
    assert s.is_closed() and not s.is_connected()
    assert s.family is V4 and s.type is stype


def test_speaks_ipv4() -> None:
    with Socket(V4, DGRAM) as s:
        assert s.speaks_ipv4()
    with Socket(UNIX, DGRAM) as s:
        assert not s.speaks_ipv4()


@needs_ipv6
def test_speaks_ipv4_follows_v6only() -> None:
    with Socket(V6, DGRAM) as s:
        s.set_option(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        assert s.speaks_ipv4()
        s.set_option(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        assert not s.speaks_ipv4()


# ---- conditions / available bytes -------------------------------------------------------


def test_condition_check_and_wait(tcp) -> None:
    _, client, server = tcp
    assert server.condition_check(IOCondition.IN) == 0
    assert server.condition_check(IOCondition.OUT) == IOCondition.OUT
    assert isinstance(server.condition_check(IOCondition.OUT), IOCondition)
    client.send(b"x")
    assert server.condition_wait(IOCondition.IN) is True
    assert server.condition_timed_wait(IOCondition.IN, 0) is True
    assert server.condition_check(IOCondition.IN | IOCondition.OUT) == (
        IOCondition.IN | IOCondition.OUT
    )


def test_condition_hup_after_peer_close(tcp) -> None:
    _, client, server = tcp
    server.close()
    assert client.condition_timed_wait(IOCondition.IN, 2_000_000)
    assert client.receive(10) == b""


def test_get_available_bytes_tcp_17_then_34() -> None:
    listener, client, server = tcp_pair()
    try:
        data = b"0123456789abcdef\0"
        client.send_to(None, data)
        server.condition_wait(IOCondition.IN)
        assert server.get_available_bytes() == 17
        client.send(data)
        assert wait_until(lambda: server.get_available_bytes() > 17)
        assert server.get_available_bytes() == 34
        server.blocking = False
        assert server.receive(34) == data * 2
        assert server.get_available_bytes() == 0
        with pytest.raises(BlockingIOError):
            server.receive(34)
    finally:
        for s in (listener, client, server):
            s.close()


def test_get_available_bytes_udp_17_17_0() -> None:
    server, client = udp_socket(), udp_socket()
    try:
        data = b"0123456789abcdef\0"
        client.send_to(server.local_address, data)
        server.condition_wait(IOCondition.IN)
        assert server.get_available_bytes() == 17
        client.send_to(server.local_address, data)
        time.sleep(0.05)
        assert server.get_available_bytes() == 17
        assert server.receive(34) == data
        assert server.get_available_bytes() == 17
        assert server.receive(34) == data
        assert server.get_available_bytes() == 0
    finally:
        server.close()
        client.close()


# ---- options and properties -------------------------------------------------------------


def test_get_and_set_option() -> None:
    with Socket(V4, DGRAM) as s:
        assert s.get_option(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM
        assert s.set_option(socket.SOL_SOCKET, socket.SO_BROADCAST, 1) is True
        assert s.get_option(socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
        s.set_option(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        assert s.get_option(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536
        with pytest.raises(giosocket.Error):
            s.get_option(socket.SOL_SOCKET, 12345)


def test_blocking_property_and_methods() -> None:
    with Socket(V4, DGRAM) as s:
        s.blocking = False
        assert s.blocking is False and s.get_blocking() is False
        s.set_blocking(True)
        assert s.blocking is True


def test_keepalive_property_sets_so_keepalive() -> None:
    with Socket(V4, STREAM) as s:
        s.keepalive = True
        assert s.keepalive is True and s.get_keepalive() is True
        assert s.get_option(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        s.set_keepalive(False)
        assert s.get_option(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


def test_timeout_property_accepts_int_and_float() -> None:
    with Socket(V4, DGRAM) as s:
        s.timeout = 2
        assert s.timeout == 2.0 and s.get_timeout() == 2.0
        s.set_timeout(0.25)
        assert s.timeout == pytest.approx(0.25)
        s.timeout = 0
        assert s.timeout == 0
        for bad in (-1, -0.5, float("nan"), float("-inf")):
            with pytest.raises(ValueError):
                s.timeout = bad
        assert s.timeout == 0


def test_local_and_remote_address_types(udp) -> None:
    a, b = udp
    la = a.local_address
    assert isinstance(la, InetSocketAddress)
    assert str(la.address) == "127.0.0.1"
    assert a.get_local_address() == la
    with pytest.raises(giosocket.Error) as info:
        a.remote_address  # noqa: B018
    assert info.value.code is IOErrorEnum.NOT_CONNECTED
    a.connect(b.local_address)
    assert a.remote_address == b.local_address


# ---- send / receive ---------------------------------------------------------------------


def test_send_accepts_every_buffer_kind(unix_pair) -> None:
    a, b = unix_pair
    payloads = [
        b"bytes",
        bytearray(b"bytearray"),
        memoryview(b"memoryview"),
        array.array("B", b"array"),
        [108, 105, 115, 116],
        b"",
    ]
    expected = b"".join(bytes(p) for p in payloads)
    for p in payloads:
        a.send(p)
    got = b""
    while len(got) < len(expected):
        got += b.receive(100)
    assert got == expected


def test_receive_into_variants(udp) -> None:
    a, b = udp
    a.send_to(b.local_address, b"hello")
    buf = bytearray(10)
    assert b.receive_into(buf) == 5
    assert bytes(buf[:5]) == b"hello"
    a.send_to(b.local_address, b"world")
    view = memoryview(bytearray(10))[2:]
    n, sender = b.receive_from_into(view)
    assert n == 5 and bytes(view[:5]) == b"world"
    assert sender == a.local_address
    a.send_to(b.local_address, b"arr")
    arr = array.array("B", bytes(4))
    assert b.receive_into(arr) == 3 and arr.tobytes()[:3] == b"arr"


def test_receive_from_and_send_to_with_tuples(udp) -> None:
    a, b = udp
    port = b.local_address.port
    assert a.send_to(("127.0.0.1", port), b"tuple") == 5
    data, sender = b.receive_from(100)
    assert data == b"tuple"
    assert isinstance(sender, InetSocketAddress) and sender == a.local_address
    # The reply goes to the returned address object.
    b.send_to(sender, b"reply")
    assert a.receive_bytes_from(100, 1_000_000) == (b"reply", b.local_address)


def test_receive_truncates_datagram_to_size(udp) -> None:
    a, b = udp
    a.send_to(b.local_address, b"0123456789")
    assert b.receive(4) == b"0123"
    assert b.get_available_bytes() == 0


def test_send_and_receive_with_blocking(udp) -> None:
    a, b = udp
    with pytest.raises(BlockingIOError):
        b.receive_with_blocking(10, False)
    a.blocking = False
    a.connect(b.local_address)
    assert a.send_with_blocking(b"abc", False) == 3
    assert b.receive_with_blocking(10, True) == b"abc"


def test_receive_bytes_and_receive_bytes_from(udp) -> None:
    a, b = udp
    b.blocking = False  # receive_bytes ignores the blocking flag: timeout_us rules
    a.send_to(b.local_address, b"one")
    assert b.receive_bytes(10, -1) == b"one"
    with pytest.raises(BlockingIOError):
        b.receive_bytes(10, 0)
    with pytest.raises(TimeoutError):
        b.receive_bytes(10, 10_000)
    a.send_to(b.local_address, b"two")
    data, sender = b.receive_bytes_from(10, 500_000)
    assert data == b"two" and sender == a.local_address


def test_receive_zero_size_returns_empty(unix_pair) -> None:
    a, b = unix_pair
    a.send(b"x")
    assert b.receive(0) == b""
    assert b.receive(1) == b"x"


def test_large_transfer_over_tcp(tcp) -> None:
    import threading

    _, client, server = tcp
    payload = os.urandom(4 * 1024 * 1024)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            view = memoryview(payload)
            while view:
                view = view[client.send(view) :]
            client.shutdown(False, True)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t = threading.Thread(target=sender)
    t.start()
    chunks = []
    buf = bytearray(256 * 1024)
    for _ in range(100_000):
        n = server.receive_into(buf)
        if n == 0:
            break
        chunks.append(bytes(buf[:n]))
    t.join(10)
    assert not errors
    assert b"".join(chunks) == payload


def test_send_on_peer_closed_is_connection_closed(tcp) -> None:
    _, client, server = tcp
    server.close()
    time.sleep(0.05)
    with pytest.raises(giosocket.Error) as info:
        for _ in range(100):
            client.send(b"x" * 1024)
            time.sleep(0.005)
    assert info.value.code is IOErrorEnum.CONNECTION_CLOSED
    assert isinstance(info.value, (BrokenPipeError, ConnectionResetError))


def test_udp_send_without_destination_is_destination_unset() -> None:
    with Socket(V4, DGRAM) as s:
        with pytest.raises(giosocket.Error) as info:
            s.send(b"nowhere")
        assert info.value.code is IOErrorEnum.DESTINATION_UNSET
        assert info.value.errno == 89  # EDESTADDRREQ


# ---- UNIX sockets -----------------------------------------------------------------------


def test_unix_path_stream_roundtrip() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "sock")
        with Socket(UNIX, STREAM) as listener, Socket(UNIX, STREAM) as client:
            listener.bind(path, False)
            listener.listen()
            local = listener.local_address
            assert isinstance(local, UnixSocketAddress)
            assert local.path == path
            assert local.address_type is UnixSocketAddressType.PATH
            client.connect(UnixSocketAddress(path))
            with listener.accept() as server:
                client.send(b"unix")
                assert server.receive(10) == b"unix"
                assert client.remote_address == local


def test_unix_pathlike_and_bytes_addresses() -> None:
    import pathlib

    with tempfile.TemporaryDirectory() as d:
        p = pathlib.Path(d) / "dgram"
        with Socket(UNIX, DGRAM) as rx, Socket(UNIX, DGRAM) as tx:
            rx.bind(p, False)
            tx.send_to(os.fsencode(p), b"by bytes")
            tx.send_to(str(p), b"by str")
            assert rx.receive(100) == b"by bytes"
            assert rx.receive(100) == b"by str"


def test_unix_abstract_roundtrip() -> None:
    name = f"giosocket-test-{os.getpid()}-{time.monotonic_ns()}"
    addr = UnixSocketAddress.new_with_type(name, UnixSocketAddressType.ABSTRACT)
    with Socket(UNIX, DGRAM) as rx, Socket(UNIX, DGRAM) as tx:
        rx.bind(addr, False)
        local = rx.local_address
        assert isinstance(local, UnixSocketAddress)
        assert local.address_type is UnixSocketAddressType.ABSTRACT
        assert local.path == name
        assert local == addr
        tx.send_to(addr, b"abstract")
        assert rx.receive(100) == b"abstract"


def test_unix_seqpacket_keeps_boundaries() -> None:
    a_raw, b_raw = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with Socket.new_from_fd(a_raw.detach()) as a, Socket.new_from_fd(b_raw.detach()) as b:
        assert a.type is SEQPACKET
        a.send(b"one")
        a.send(b"two")
        assert b.receive(100) == b"one"
        assert b.receive(100) == b"two"


# ---- IPv6 -------------------------------------------------------------------------------


@needs_ipv6
def test_ipv6_tcp_loopback() -> None:
    listener, client, server = tcp_pair(V6)
    try:
        assert client.family is V6
        la = listener.local_address
        assert isinstance(la, InetSocketAddress) and str(la.address) == "::1"
        assert la.to_string() == f"[::1]:{la.port}"
        client.send(b"six")
        assert server.receive(10) == b"six"
    finally:
        for s in (listener, client, server):
            s.close()


@needs_ipv6
def test_dual_stack_ipv6_socket_sees_ipv4_peer_as_ipv4() -> None:
    with Socket(V6, DGRAM) as rx, Socket(V4, DGRAM) as tx:
        rx.set_option(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        rx.bind(("::", 0), False)
        rx.timeout = 5
        tx.bind(("127.0.0.1", 0), False)
        tx.send_to(("127.0.0.1", rx.local_address.port), b"mapped")
        data, sender = rx.receive_from(100)
        assert data == b"mapped"
        assert isinstance(sender, InetSocketAddress)
        assert sender.family is V4  # ::ffff:127.0.0.1 comes back as IPv4, as GIO
        assert str(sender.address) == "127.0.0.1"
        assert sender == tx.local_address


@needs_ipv6
def test_dual_stack_tcp_accept_reports_ipv4_addresses() -> None:
    with Socket(V6, STREAM) as listener, Socket(V4, STREAM) as client:
        listener.set_option(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.bind(("::", 0), True)
        listener.listen()
        client.connect(("127.0.0.1", listener.local_address.port))
        with listener.accept() as server:
            assert server.family is V6
            assert server.local_address.family is V4
            assert server.remote_address.family is V4
            assert server.remote_address == client.local_address


def test_cancellable_argument_is_keyword_able(udp) -> None:
    a, b = udp
    c = Cancellable()
    a.send_to(b.local_address, b"kw", cancellable=c)
    assert b.receive(10, cancellable=c) == b"kw"
