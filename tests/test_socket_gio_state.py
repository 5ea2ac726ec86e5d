"""Socket state as GIO keeps it: details read from a foreign fd, CLOSED before CANCELLED, and the
remote address remembered from ``connect`` (issue 12 rows 5, 6, 7)."""

from __future__ import annotations

import os
import socket as pysocket
from collections.abc import Callable

import giosocket as g
import pytest
from giosocket import IOErrorEnum, SocketFamily, SocketProtocol, SocketType


def test_new_from_fd_of_a_netlink_socket_has_unknown_protocol() -> None:
    raw = pysocket.socket(pysocket.AF_NETLINK, pysocket.SOCK_DGRAM, 0)  # NETLINK_ROUTE
    sock = g.Socket.new_from_fd(raw.detach())
    with sock:
        assert sock.protocol == SocketProtocol.UNKNOWN
        assert sock.family == SocketFamily.INVALID
        assert sock.type == SocketType.DATAGRAM


@pytest.mark.skipif(os.geteuid() != 0, reason="raw IP sockets need root (CAP_NET_RAW)")
def test_new_from_fd_of_a_raw_ip_socket_has_unknown_protocol() -> None:
    raw = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_RAW, pysocket.IPPROTO_ICMP)
    sock = g.Socket.new_from_fd(raw.detach())
    with sock:
        assert sock.family == SocketFamily.IPV4
        assert sock.type == SocketType.INVALID
        assert sock.protocol == SocketProtocol.UNKNOWN


def test_new_from_fd_of_a_udp_socket_still_knows_its_protocol() -> None:
    raw = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM)
    with g.Socket.new_from_fd(raw.detach()) as sock:
        assert sock.protocol == SocketProtocol.UDP


def _closed_socket_calls() -> dict[str, Callable[[g.Socket, g.Cancellable], object]]:
    dest = ("127.0.0.1", 9)
    return {
        "receive": lambda s, c: s.receive(10, c),
        "receive_into": lambda s, c: s.receive_into(bytearray(4), c),
        "receive_from": lambda s, c: s.receive_from(10, c),
        "receive_bytes": lambda s, c: s.receive_bytes(10, -1, c),
        "receive_message": lambda s, c: s.receive_message([bytearray(4)], 0, c),
        "receive_messages": lambda s, c: s.receive_messages([g.InputMessage([bytearray(4)])], 0, c),
        "receive_messages_empty": lambda s, c: s.receive_messages([], 0, c),
        "send_to": lambda s, c: s.send_to(dest, b"x", c),
        "send_message": lambda s, c: s.send_message(dest, [b"x"], None, 0, c),
        "send_messages": lambda s, c: s.send_messages([g.OutputMessage(dest, [b"x"])], 0, c),
        "send_messages_empty": lambda s, c: s.send_messages([], 0, c),
        "connect": lambda s, c: s.connect(dest, c),
        "condition_wait": lambda s, c: s.condition_wait(g.IOCondition.IN, c),
        "condition_timed_wait": lambda s, c: s.condition_timed_wait(g.IOCondition.IN, 1000, c),
    }


@pytest.mark.parametrize("name", list(_closed_socket_calls()))
def test_a_closed_socket_is_closed_before_the_cancellable_is_cancelled(name: str) -> None:
    sock = g.Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    sock.close()
    cancellable = g.Cancellable()
    cancellable.cancel()
    with pytest.raises(g.Error) as info:
        _closed_socket_calls()[name](sock, cancellable)
    assert info.value.code == IOErrorEnum.CLOSED


def test_a_closed_listener_accept_is_closed_before_cancelled() -> None:
    sock = g.Socket(SocketFamily.IPV4, SocketType.STREAM)
    sock.bind(("127.0.0.1", 0), True)
    sock.listen()
    sock.close()
    cancellable = g.Cancellable()
    cancellable.cancel()
    with pytest.raises(g.Error) as info:
        sock.accept(cancellable)
    assert info.value.code == IOErrorEnum.CLOSED


def test_an_open_socket_with_a_cancelled_cancellable_is_cancelled() -> None:
    with g.Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as sock:
        sock.bind(("127.0.0.1", 0), False)
        cancellable = g.Cancellable()
        cancellable.cancel()
        with pytest.raises(g.Error) as info:
            sock.receive(10, cancellable)
        assert info.value.code == IOErrorEnum.CANCELLED


def test_remote_address_is_the_connect_address_even_after_an_immediate_failure() -> None:
    with g.Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as sock:
        # Broadcast without SO_BROADCAST: connect fails at once with EACCES.
        with pytest.raises(PermissionError):
            sock.connect(("255.255.255.255", 9))
        remote = sock.get_remote_address()
        assert isinstance(remote, g.InetSocketAddress)
        assert (str(remote.address), remote.port) == ("255.255.255.255", 9)


def test_remote_address_is_the_connect_address_while_pending_then_the_peer() -> None:
    with g.Socket(SocketFamily.IPV4, SocketType.STREAM) as listener:
        listener.bind(("127.0.0.1", 0), True)
        listener.listen()
        target = listener.local_address
        with g.Socket(SocketFamily.IPV4, SocketType.STREAM) as client:
            client.blocking = False
            try:
                client.connect(target)
            except g.Error as exc:
                assert exc.code == IOErrorEnum.PENDING
            client.condition_wait(g.IOCondition.OUT)
            assert client.remote_address == target  # checks the pending connect first (GIO)
            assert client.is_connected()


def test_a_failed_pending_connect_forgets_the_remote_address() -> None:
    with g.Socket(SocketFamily.IPV4, SocketType.STREAM) as probe:
        probe.bind(("127.0.0.1", 0), True)  # bound, never listening: connects are refused
        refused = probe.local_address
        with g.Socket(SocketFamily.IPV4, SocketType.STREAM) as client:
            client.blocking = False
            try:
                client.connect(refused)
            except g.Error as exc:
                assert exc.code in (IOErrorEnum.PENDING, IOErrorEnum.CONNECTION_REFUSED)
            client.timeout = 5
            client.condition_wait(g.IOCondition.OUT)
            with pytest.raises(ConnectionRefusedError):
                client.check_connect_result()
            with pytest.raises(g.Error) as info:
                client.get_remote_address()
            assert info.value.code == IOErrorEnum.NOT_CONNECTED


def test_close_forgets_the_remote_address() -> None:
    sock = g.Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    sock.connect(("127.0.0.1", 9))
    assert sock.remote_address.port == 9
    sock.close()
    with pytest.raises(g.Error) as info:
        sock.get_remote_address()
    assert info.value.code == IOErrorEnum.CLOSED
