"""The transport's native entry points: `Socket._receive_datagrams` into `_DatagramSlots`,
the `_SendQueue` (sendto, runs sent as GSO messages), and the non-raising `_try_send_messages` /
`_try_receive_messages` (None when it would block)."""

from __future__ import annotations

import errno
import functools
import socket
import time
from collections.abc import Iterator

import pytest
from conftest import udp_socket
from giosocket import MSG_DONTWAIT, InputMessage, OutputMessage, Socket, UdpSegmentMessage
from giosocket._giosocket import _DatagramSlots, _SendQueue
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


class Hooks:
    """A `_SendQueue`'s transport side, recording what the queue asks of it."""

    def __init__(self, gso: bool = False, high_water: int = 1 << 20, **options: object) -> None:
        self.calls: list[object] = []
        self.scheduled: list[object] = []
        self.options = {"gso_limit": 65535 if gso else 0, "high_water": high_water}
        self.options.update(options)

    def queue(self, sock: Socket) -> _SendQueue:
        return _SendQueue(
            sock,
            self,
            self.scheduled.append,
            remote=self.options.get("remote"),
            connected=bool(self.options.get("connected", False)),
            gso_limit=self.options["gso_limit"],
            high_water=self.options["high_water"],
        )

    # the transport's methods the queue calls
    def _report(self, exc: OSError) -> None:
        self.calls.append(("report", exc))

    def _flush(self) -> None:
        self.calls.append("flush")

    def _maybe_pause_protocol(self) -> None:
        self.calls.append("pause")

    def _flush_soon(self) -> None:
        pass

    def _warn_lost_send(self) -> None:
        self.calls.append("warn")

    def _destination(self, addr: object) -> tuple[object, bool]:
        self.calls.append(("resolve", addr))
        host, port = addr  # type: ignore[misc]
        return (("127.0.0.1" if host == "localhost" else host), port), host != "localhost"


def test_send_queue_keeps_order_and_schedules_one_flush(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    hooks = Hooks()
    queue = hooks.queue(client)
    dest = server.get_local_address()
    to = (dest.address.to_string(), dest.port)
    source = bytearray(b"bb")
    queue.sendto(b"a", to)
    queue.sendto(source, to)
    source[:] = b"XX"  # copied when queued
    queue.sendto(memoryview(b"ccc"), to)
    queue.sendto(b"", to)  # ignored, as asyncio
    assert len(hooks.scheduled) == 1 and queue.deferred
    assert (len(queue), queue.queued_bytes) == (3, 6)
    assert hooks.calls == []  # numeric tuples are converted natively
    queue.send()
    assert (len(queue), queue.queued_bytes) == (0, 0)
    got = [data for data, _ in receive_all(server, slots(), 3)]
    assert got == [b"a", b"bb", b"ccc"]


@needs_gso
def test_send_queue_gso_run_arrives_as_its_datagrams(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    queue = Hooks(gso=True).queue(client)
    dest = server.get_local_address()
    to = (dest.address.to_string(), dest.port)
    run = [b"1" * 10, b"2" * 10, b"3" * 5, b"4" * 10]
    for data in run:
        queue.sendto(data, to)
    assert len(queue) == 2  # 10, 10, 5 is one GSO run (the shorter one ends it)
    queue.send()
    got = [data for data, _ in receive_all(server, slots(), 4)]
    assert got == run


def test_send_queue_resolves_names_through_the_transport(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    hooks = Hooks()
    queue = hooks.queue(client)
    port = server.get_local_address().port
    name = ("localhost", port)
    queue.sendto(b"x", name)
    queue.sendto(b"y", name)  # not cacheable: asked again
    assert hooks.calls == [("resolve", name), ("resolve", name)]
    with pytest.raises(TypeError, match="bytes-like"):
        queue.sendto("text", name)  # type: ignore[arg-type]
    queue.send()
    assert [data for data, _ in receive_all(server, slots(), 2)] == [b"x", b"y"]


def test_send_queue_reports_a_refused_datagram_and_sends_the_rest(
    pair: tuple[Socket, Socket],
) -> None:
    server, client = pair
    hooks = Hooks()
    queue = hooks.queue(client)
    dest = server.get_local_address()
    to = (dest.address.to_string(), dest.port)
    queue.sendto(b"ok 1", to)
    queue.sendto(b"x" * 70000, to)  # over the UDP limit: EMSGSIZE
    queue.sendto(b"ok 2", to)
    queue.send()
    assert len(queue) == 0
    ((what, exc),) = hooks.calls  # type: ignore[misc]
    assert what == "report" and isinstance(exc, OSError) and exc.errno == errno.EMSGSIZE
    assert [data for data, _ in receive_all(server, slots(), 2)] == [b"ok 1", b"ok 2"]


def test_send_queue_remote_address_high_water_and_lost(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    dest = server.get_local_address()
    to = (dest.address.to_string(), dest.port)
    hooks = Hooks(remote=to, high_water=3)
    queue = hooks.queue(client)
    with pytest.raises(ValueError, match="Invalid address"):
        queue.sendto(b"x", ("127.0.0.2", 9))
    queue.sendto(b"ab")  # to the remote address
    queue.sendto(b"cd", to)
    assert hooks.calls == ["flush"]  # above the high-water mark, not held: flush now
    queue.held = True
    queue.sendto(b"ef")
    assert hooks.calls == ["flush", "pause"]  # held: the transport pauses its protocol
    queue.held = False
    queue.send()
    assert [data for data, _ in receive_all(server, slots(), 3)] == [b"ab", b"cd", b"ef"]
    queue.lose()
    for _ in range(6):
        queue.sendto(b"gone")
    assert hooks.calls.count("warn") == 2  # asyncio warns from the fifth send after the loss
    assert (len(queue), queue.queued_bytes) == (0, 0)


def test_send_queue_big_datagrams_and_bytes_subclasses(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    queue = Hooks(gso=True).queue(client)
    to = ("127.0.0.1", server.get_local_address().port)
    for _ in range(3):
        queue.sendto(b"g" * 65100, to)  # too big to share a GSO message: one run each
    assert len(queue) == 3

    class Tagged(bytes):
        pass

    queue.sendto(Tagged(b"sub"), to)  # kept as a plain copy, as asyncio's bytes(data)
    assert len(queue) == 4


def test_send_queue_converts_tuples_only_on_inet_sockets() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender = Socket.new_from_fd(a.detach())
    try:
        hooks = Hooks()
        queue = hooks.queue(sender)
        queue.sendto(b"x", ("127.0.0.1", 9))  # not an AF_UNIX address: the transport decides
        assert hooks.calls == [("resolve", ("127.0.0.1", 9))]
    finally:
        sender.close()
        b.close()


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
