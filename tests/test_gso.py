"""UDP GSO (UdpSegmentMessage on send) and GRO (set_udp_gro + UdpSegmentMessage on receive)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import giosocket
import pytest
from conftest import udp_socket
from giosocket import (
    InputMessage,
    IOErrorEnum,
    OutputMessage,
    Socket,
    SocketFamily,
    SocketType,
    UdpSegmentMessage,
)

needs_gso = pytest.mark.skipif(
    not UdpSegmentMessage.is_supported(), reason="this kernel lacks UDP_SEGMENT (UDP GSO)"
)


@pytest.fixture
def pair() -> Iterator[tuple[Socket, Socket]]:
    server, client = udp_socket(timeout=0), udp_socket(timeout=0)
    yield server, client
    server.close()
    client.close()


def drain(sock: Socket, expected: int, size: int) -> list[int]:
    """Receive up to `expected` datagrams within 5 s; return their sizes."""
    msgs = [InputMessage(bytearray(size)) for _ in range(expected)]
    sock.set_timeout(5)
    sizes: list[int] = []
    deadline = time.monotonic() + 5
    while len(sizes) < expected and time.monotonic() < deadline:
        n = sock.receive_messages(msgs[: expected - len(sizes)], giosocket.MSG_WAITFORONE)
        sizes += [m.bytes_received for m in msgs[:n]]
    return sizes


def test_segment_message_basics() -> None:
    msg = UdpSegmentMessage(64)
    assert msg.segment_size == 64 and msg.get_segment_size() == 64
    assert msg.get_size() == 2 and len(msg.serialize()) == 2
    assert msg.get_level() == 17
    for bad in (0, -1, 65536):
        with pytest.raises(ValueError):
            UdpSegmentMessage(bad)


@needs_gso
def test_gso_send_arrives_as_segments(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    payload = bytes(range(64)) * 64
    sent = client.send_message(server.get_local_address(), [payload], [UdpSegmentMessage(64)])
    assert sent == 64 * 64
    assert drain(server, 64, 2048) == [64] * 64


@needs_gso
def test_gso_last_segment_may_be_short(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    client.send_message(server.get_local_address(), [b"a" * 250], [UdpSegmentMessage(100)])
    assert drain(server, 3, 2048) == [100, 100, 50]


@needs_gso
def test_gso_in_send_messages(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    dest = server.get_local_address()
    seg = UdpSegmentMessage(32)
    om = [OutputMessage(dest, [b"x" * 128], [seg]), OutputMessage(dest, [b"y" * 64], seg)]
    assert client.send_messages(om) == 2
    assert [m.bytes_sent for m in om] == [128, 64]
    assert drain(server, 6, 2048) == [32] * 6


@needs_gso
def test_gro_reports_segment_size(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    try:
        server.set_udp_gro(True)
    except giosocket.Error as exc:
        assert exc.code == IOErrorEnum.NOT_SUPPORTED
        pytest.skip(f"this kernel lacks UDP_GRO: {exc}")
    client.send_message(server.get_local_address(), [b"z" * 64 * 8], [UdpSegmentMessage(64)])
    server.set_timeout(5)
    buf = bytearray(65536)
    total, seen = 0, []
    while total < 64 * 8:
        n, _, controls, _ = server.receive_message([buf])
        total += n
        segs = [c for c in controls if isinstance(c, UdpSegmentMessage)]
        if n > 64:
            # a coalesced datagram always says how to split it
            assert [s.segment_size for s in segs] == [64]
        seen.append(n)
    assert total == 64 * 8
    # the same through receive_messages, with control messages wanted
    client.send_message(server.get_local_address(), [b"w" * 64 * 4], [UdpSegmentMessage(64)])
    im = InputMessage(bytearray(65536), want_control_messages=True)
    got = 0
    while got < 64 * 4:
        assert server.receive_messages([im]) == 1
        got += im.bytes_received
        if im.bytes_received > 64:
            assert im.control_messages[0].segment_size == 64
    assert server.set_udp_gro(False)


def test_gro_on_a_tcp_socket_is_not_supported() -> None:
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as tcp:
        with pytest.raises(giosocket.Error) as info:
            tcp.set_udp_gro(True)
        assert info.value.code == IOErrorEnum.NOT_SUPPORTED


@needs_gso
def test_gso_errors_are_reported(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    # more than the kernel's segment limit, or a segment above the MTU-less max: EINVAL
    with pytest.raises(giosocket.Error):
        client.send_message(server.get_local_address(), [b"q" * 65000], [UdpSegmentMessage(10)])


@needs_gso
def test_gso_over_ipv6() -> None:
    try:
        server = Socket(SocketFamily.IPV6, SocketType.DATAGRAM)
        server.bind(("::1", 0), False)
    except giosocket.Error as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    client = Socket(SocketFamily.IPV6, SocketType.DATAGRAM)
    try:
        sent = client.send_message(
            server.get_local_address(), [b"6" * 300], [UdpSegmentMessage(100)]
        )
        assert sent == 300
        assert drain(server, 3, 2048) == [100, 100, 100]
    finally:
        server.close()
        client.close()
