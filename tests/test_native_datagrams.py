"""The transport's native entry points: `Socket._receive_datagrams` into `_DatagramSlots`,
`Socket._send_datagrams` of runs (GSO), and the non-raising `_try_send_messages` /
`_try_receive_messages` (None when it would block)."""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Iterator

import pytest
from conftest import udp_socket
from giosocket import MSG_DONTWAIT, InputMessage, OutputMessage, Socket, UdpSegmentMessage
from giosocket._giosocket import _DatagramSlots
from giosocket._transport import _to_python

needs_gso = pytest.mark.skipif(
    not UdpSegmentMessage.is_supported(), reason="this kernel lacks UDP_SEGMENT (UDP GSO)"
)


@pytest.fixture
def pair() -> Iterator[tuple[Socket, Socket]]:
    server, client = udp_socket(timeout=0), udp_socket(timeout=0)
    server.blocking = client.blocking = False
    yield server, client
    server.close()
    client.close()


def slots(count: int = 8, slot: int = 2048) -> _DatagramSlots:
    return _DatagramSlots(count, slot, functools.partial(_to_python, family=socket.AF_INET))


def receive_all(sock: Socket, into: _DatagramSlots, expected: int) -> list[tuple[object, object]]:
    """Up to `expected` datagrams within 5 s."""
    got: list[tuple[object, object]] = []
    deadline = time.monotonic() + 5
    while len(got) < expected and time.monotonic() < deadline:
        batch = sock._receive_datagrams(into)
        if batch is None:
            time.sleep(0.001)
        else:
            got += batch
    return got


def test_receive_datagrams_none_when_empty_then_pairs_with_asyncio_addresses(
    pair: tuple[Socket, Socket],
) -> None:
    server, client = pair
    into = slots()
    assert server._receive_datagrams(into) is None
    for payload in (b"one", b"two", b"three"):
        client.send_to(server.get_local_address(), payload)
    got = receive_all(server, into, 3)
    sender = ("127.0.0.1", client.get_local_address().port)
    assert got == [(b"one", sender), (b"two", sender), (b"three", sender)]
    assert type(got[0][0]) is bytes and into.truncated == 0


def test_receive_datagrams_reports_a_truncated_datagram_as_none(
    pair: tuple[Socket, Socket],
) -> None:
    server, client = pair
    into = slots(slot=16)
    client.send_to(server.get_local_address(), b"x" * 100)
    client.send_to(server.get_local_address(), b"fits")
    got = receive_all(server, into, 2)
    sender = ("127.0.0.1", client.get_local_address().port)
    assert got == [(None, sender), (b"fits", sender)]


def test_receive_datagrams_gives_the_peer_when_told(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    peer = ("peer", 1)
    into = _DatagramSlots(4, 2048, lambda a: pytest.fail("no conversion with a peer"), peer)
    client.send_to(server.get_local_address(), b"p")
    assert receive_all(server, into, 1) == [(b"p", peer)]


def test_datagram_slots_reject_bad_sizes() -> None:
    convert = functools.partial(_to_python, family=socket.AF_INET)
    for count, slot in ((0, 10), (1025, 10), (4, 0)):
        with pytest.raises(ValueError):
            _DatagramSlots(count, slot, convert)


def test_send_datagrams_plain_runs_in_order(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    dest = server.get_local_address()
    runs = [(dest, 1, [b"a"]), (dest, 2, [b"bb"]), (dest, 3, [b"ccc"])]
    assert client._send_datagrams(runs) == 3
    assert client._send_datagrams(runs, 2) == 1
    got = [data for data, _ in receive_all(server, slots(), 4)]
    assert got == [b"a", b"bb", b"ccc", b"ccc"]


@needs_gso
def test_send_datagrams_gso_run_arrives_as_its_datagrams(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    run = [b"1" * 10, b"2" * 10, b"3" * 5]
    assert client._send_datagrams([(server.get_local_address(), 10, run)]) == 1
    got = [data for data, _ in receive_all(server, slots(), 3)]
    assert got == run


def test_send_datagrams_rejects_bad_runs(pair: tuple[Socket, Socket]) -> None:
    _, client = pair
    dest = client.get_local_address()
    with pytest.raises(TypeError):
        client._send_datagrams([(dest, 1, [bytearray(b"x")])])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        client._send_datagrams([(dest, 1)])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        client._send_datagrams([(dest, 1, [])])
    with pytest.raises(ValueError):
        client._send_datagrams([(dest, 0, [b"a", b"b"])])


def test_try_messages_none_when_it_would_block() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sender, receiver = Socket.new_from_fd(a.detach()), Socket.new_from_fd(b.detach())
    try:
        inputs = [InputMessage(bytearray(64)) for _ in range(4)]
        assert receiver._try_receive_messages(inputs) is None
        outputs = [OutputMessage(None, b"m" * 64) for _ in range(4)]
        for _ in range(10_000):  # bounded: the buffer fills long before
            if sender._try_send_messages(outputs) is None:
                break
        else:
            pytest.fail("the send buffer never filled")
        assert receiver._try_receive_messages(inputs) == 4
        assert [m.bytes_received for m in inputs] == [64] * 4
        with pytest.raises(BlockingIOError):  # the public call still raises when drained
            for _ in range(10_000):
                receiver.receive_messages(inputs, MSG_DONTWAIT)
    finally:
        sender.close()
        receiver.close()
