"""SocketConnection / TcpConnection: io.RawIOBase streams over real loopback sockets."""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time

import giosocket
import pytest
from conftest import connected_tcp
from giosocket import (
    IOErrorEnum,
    Socket,
    SocketConnection,
    SocketFamily,
    SocketProtocol,
    SocketType,
    TcpConnection,
    UnixConnection,
)


def tcp_pair() -> tuple[Socket, Socket]:
    """A connected loopback TCP pair (client, server side), timeout 10 s."""
    return connected_tcp(timeout=10)


def test_factory_picks_tcp_unix_or_plain_connection() -> None:
    client, server = tcp_pair()
    with client.connection_factory_create_connection() as a:
        assert type(a) is TcpConnection
        with server.connection_factory_create_connection() as b:
            assert type(b) is TcpConnection
    for stype, expected in ((SocketType.STREAM, UnixConnection), (SocketType.DATAGRAM, None)):
        sock = Socket(SocketFamily.UNIX, stype)
        conn = sock.connection_factory_create_connection()
        assert type(conn) is (expected or SocketConnection)
        conn.close()
        assert sock.is_closed()
    udp = Socket(SocketFamily.IPV4, SocketType.DATAGRAM, SocketProtocol.UDP)
    with udp.connection_factory_create_connection() as conn:
        assert type(conn) is SocketConnection
        assert isinstance(conn, io.RawIOBase)


def test_constructor_requires_a_socket() -> None:
    with pytest.raises(TypeError):
        SocketConnection(3)  # type: ignore[arg-type]
    client, server = tcp_pair()
    conn = TcpConnection(client)
    assert conn.socket is client and not conn.graceful_disconnect
    conn.close()
    server.close()


def test_connection_accessors_and_close_closes_socket() -> None:
    client, server = tcp_pair()
    conn = client.connection_factory_create_connection()
    assert conn.get_socket() is client and conn.socket is client
    assert conn.is_connected()
    assert conn.get_local_address() == client.get_local_address()
    assert conn.get_remote_address() == server.get_local_address()
    assert conn.fileno() == client.fileno()
    assert conn.readable() and conn.writable() and not conn.seekable()
    assert "TcpConnection" in repr(conn)
    conn.close()
    conn.close()
    assert conn.closed and client.is_closed()
    with pytest.raises(ValueError):
        conn.write(b"x")
    with pytest.raises(ValueError):
        conn.readinto(bytearray(1))
    server.close()


def test_one_mebibyte_through_buffered_writer_and_reader() -> None:
    client, server = tcp_pair()
    payload = os.urandom(1 << 20)
    received = bytearray()

    def reader() -> None:
        with io.BufferedReader(server.connection_factory_create_connection(), 8192) as r:
            while chunk := r.read(65536):
                received.extend(chunk)

    thread = threading.Thread(target=reader)
    thread.start()
    with io.BufferedWriter(client.connection_factory_create_connection(), 16384) as w:
        view = memoryview(payload)
        for offset in range(0, len(payload), 10007):
            w.write(view[offset : offset + 10007])
    thread.join(30)
    assert not thread.is_alive()
    assert len(received) == len(payload)
    assert bytes(received) == payload


def test_text_wrapper_and_copyfileobj() -> None:
    client, server = tcp_pair()
    rconn = server.connection_factory_create_connection()
    with client.connection_factory_create_connection() as wconn:
        text = io.TextIOWrapper(io.BufferedWriter(wconn), encoding="utf-8", newline="\n")
        text.write("héllo\nwörld\n")
        text.flush()
        wconn.socket.shutdown(False, True)
        sink = io.BytesIO()
        shutil.copyfileobj(rconn, sink)
        assert sink.getvalue() == "héllo\nwörld\n".encode()
        text.detach()
    rconn.close()


def test_stream_read_blocks_on_a_non_blocking_socket() -> None:
    # GIO's GSocketInputStream reads with blocking I/O whatever the socket's flag.
    client, server = tcp_pair()
    server.blocking = False
    server.timeout = 0
    with server.connection_factory_create_connection() as conn:
        timer = threading.Timer(0.1, lambda: client.send(b"abc"))
        start = time.monotonic()
        timer.start()
        buf = bytearray(10)
        n = conn.readinto(buf)
        timer.join(5)
        assert n == 3 and buf[:3] == b"abc"
        assert time.monotonic() - start >= 0.05  # it waited for the data
        assert server.blocking is False  # the socket's own flag is untouched
        with pytest.raises(giosocket.Error) as info:
            server.receive(10)  # the socket itself still does not block
        assert info.value.code == IOErrorEnum.WOULD_BLOCK
    client.close()


def test_stream_read_is_bounded_by_the_socket_timeout() -> None:
    client, server = tcp_pair()
    server.blocking = False
    server.timeout = 1
    with server.connection_factory_create_connection() as conn:
        start = time.monotonic()
        with pytest.raises(giosocket.Error) as info:
            conn.read(10)
        assert info.value.code == IOErrorEnum.TIMED_OUT
        assert 0.8 <= time.monotonic() - start < 5
    client.close()


def test_stream_write_blocks_until_the_peer_drains() -> None:
    client, server = tcp_pair()
    client.blocking = False
    client.set_option(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    chunk = b"x" * 65536
    received = bytearray()

    def drain() -> None:
        time.sleep(0.1)
        while len(received) < 8 * len(chunk):
            data = server.receive(65536)
            if not data:
                break
            received.extend(data)

    reader = threading.Thread(target=drain)
    reader.start()
    with client.connection_factory_create_connection() as conn:
        for _ in range(8):
            view = memoryview(chunk)
            while view:
                sent = conn.write(view)
                assert sent is not None and sent > 0  # never "would block"
                view = view[sent:]
    reader.join(10)
    assert bytes(received) == chunk * 8
    server.close()


def test_dropping_a_connection_leaves_a_referenced_socket_open() -> None:
    import gc

    client, server = tcp_pair()
    conn = server.connection_factory_create_connection()
    del conn
    gc.collect()
    assert not server.is_closed()
    client.send(b"still")
    assert server.receive(5) == b"still"
    # close() is what closes the socket, as g_io_stream_close.
    conn = server.connection_factory_create_connection()
    conn.close()
    assert server.is_closed()
    client.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the drop is the point
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dropping_the_last_reference_closes_the_fd() -> None:
    import gc

    client, server = tcp_pair()
    conn = server.connection_factory_create_connection()
    fd = conn.fileno()
    del server, conn
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)
    client.close()


class _MyConnection(SocketConnection):
    pass


def test_factory_lookup_and_register_type() -> None:
    lookup = SocketConnection.factory_lookup_type
    assert lookup(SocketFamily.IPV4, SocketType.STREAM, SocketProtocol.TCP) is TcpConnection
    assert lookup(SocketFamily.IPV6, SocketType.STREAM, SocketProtocol.DEFAULT) is TcpConnection
    assert lookup(SocketFamily.UNIX, SocketType.STREAM, SocketProtocol.DEFAULT) is UnixConnection
    key = (SocketFamily.UNIX, SocketType.SEQPACKET, SocketProtocol.DEFAULT)
    assert lookup(*key) is SocketConnection
    SocketConnection.factory_register_type(_MyConnection, *key)
    try:
        assert lookup(*key) is _MyConnection
        with Socket(SocketFamily.UNIX, SocketType.SEQPACKET) as sock:
            conn = sock.connection_factory_create_connection()
            assert type(conn) is _MyConnection
            conn.close()
    finally:
        SocketConnection.factory_register_type(SocketConnection, *key)
    with pytest.raises(TypeError):
        SocketConnection.factory_register_type(int, *key)  # type: ignore[arg-type]


def test_graceful_disconnect_waits_for_peer_close() -> None:
    client, server = tcp_pair()
    conn = client.connection_factory_create_connection()
    assert isinstance(conn, TcpConnection)
    assert conn.graceful_disconnect is False and conn.get_graceful_disconnect() is False
    conn.set_graceful_disconnect(True)
    assert conn.graceful_disconnect is True
    conn.graceful_disconnect = True
    conn.write(b"last words")
    seen = []

    def peer() -> None:
        # Reads until our half-close (EOF), sends some trailing bytes, then closes.
        data = b""
        while chunk := server.receive(100):
            data += chunk
        seen.append(data)
        time.sleep(0.2)
        server.send(b"trailing bytes are drained")
        server.close()

    thread = threading.Thread(target=peer)
    thread.start()
    start = time.monotonic()
    conn.close()
    elapsed = time.monotonic() - start
    thread.join(10)
    assert seen == [b"last words"]
    assert elapsed >= 0.15, "close() returned before the peer closed"
    assert client.is_closed() and conn.closed


def test_graceful_disconnect_bounded_by_timeout() -> None:
    client, server = tcp_pair()
    client.timeout = 0.2
    conn = client.connection_factory_create_connection()
    assert isinstance(conn, TcpConnection)
    conn.set_graceful_disconnect(True)
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        conn.close()
    assert 0.15 <= time.monotonic() - start < 5
    assert isinstance(info.value, giosocket.Error)
    assert info.value.code == IOErrorEnum.TIMED_OUT
    assert client.is_closed() and conn.closed
    # The peer saw our half-close.
    assert server.receive(10) == b""
    server.close()


def test_plain_close_does_not_wait() -> None:
    client, server = tcp_pair()
    conn = client.connection_factory_create_connection()
    start = time.monotonic()
    conn.close()
    assert time.monotonic() - start < 1
    server.close()


def test_connection_closed_when_socket_closed_elsewhere() -> None:
    client, server = tcp_pair()
    conn = client.connection_factory_create_connection()
    client.close()
    assert conn.closed
    conn.close()
    server.close()


def test_connection_connect() -> None:
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as listener:
        listener.bind(("127.0.0.1", 0), True)
        listener.listen()
        sock = Socket(SocketFamily.IPV4, SocketType.STREAM)
        conn = sock.connection_factory_create_connection()
        assert not conn.is_connected()
        assert conn.connect(listener.get_local_address())
        assert conn.is_connected()
        peer = listener.accept()
        conn.write(b"ping")
        assert peer.receive(4) == b"ping"
        conn.close()
        peer.close()


def test_no_fd_leak_from_connections() -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        client, server = tcp_pair()
        a = client.connection_factory_create_connection()
        b = server.connection_factory_create_connection()
        a.write(b"x")
        assert b.read(1) == b"x"
        a.close()
        b.close()
    assert len(os.listdir("/proc/self/fd")) <= before
