"""UDP packet metadata over loopback: packet info, traffic class (ECN), receive timestamps,
drop counts, the error queue (ICMP), GRO sizes as fields, and the bad-input rules."""

from __future__ import annotations

import errno
import socket
import time

import giosocket
import pytest
from conftest import bound_udp, needs_ipv6
from giosocket import (
    DropCountMessage,
    InetAddress,
    InetSocketAddress,
    InputMessage,
    IOErrorEnum,
    OutputMessage,
    PacketInfoMessage,
    Socket,
    SocketControlMessage,
    SocketErrorMessage,
    SocketFamily,
    SocketType,
    TimestampMessage,
    TrafficClassMessage,
    UdpSegmentMessage,
)

V4, V6 = SocketFamily.IPV4, SocketFamily.IPV6
LO_INDEX = socket.if_nametoindex("lo")
IP_PKTINFO, IP_RECVERR = 8, 11  # linux/in.h (the socket module lacks them)
ECN_CODEPOINTS = [2, 1, 3]  # ECT(0), ECT(1), CE
families = pytest.mark.parametrize(
    "family", [V4, pytest.param(V6, marks=needs_ipv6)], ids=["ipv4", "ipv6"]
)
LOOPBACK = {V4: "127.0.0.1", V6: "::1"}
ANY = {V4: "0.0.0.0", V6: "::"}


def port_of(sock: Socket) -> int:
    address = sock.local_address
    assert isinstance(address, InetSocketAddress)
    return address.port


def receive_one(sock: Socket, want: bool = False) -> InputMessage:
    message = InputMessage(bytearray(2048), want_control_messages=want)
    assert sock.receive_messages([message]) == 1
    return message


def of_type(controls: list[SocketControlMessage], cls: type) -> list:  # type: ignore[type-arg]
    return [c for c in controls if isinstance(c, cls)]


# --- packet info -----------------------------------------------------------------------


def test_destination_and_interface_of_a_datagram_to_127_0_0_5(sockets: list[Socket]) -> None:
    server = bound_udp(sockets, V4, "0.0.0.0")
    client = bound_udp(sockets, V4, "127.0.0.1")
    assert server.set_receive_packet_info(True)
    client.send_to(("127.0.0.5", port_of(server)), b"ping")
    message = receive_one(server)
    assert bytes(message.vectors[:4]) == b"ping"
    assert message.destination == InetAddress("127.0.0.5")
    assert message.interface_index == LO_INDEX
    assert message.control_messages == []  # not asked for: fields only
    client.send_to(("127.0.0.7", port_of(server)), b"again")
    n, _, controls, _ = server.receive_message([bytearray(64)])
    assert n == 5
    [info] = of_type(controls, PacketInfoMessage)
    assert info.destination == InetAddress("127.0.0.7")
    assert info.interface_index == LO_INDEX


@needs_ipv6
def test_destination_of_an_ipv6_datagram(sockets: list[Socket]) -> None:
    server = bound_udp(sockets, V6, "::")
    client = bound_udp(sockets, V6, "::1")
    assert server.set_receive_packet_info(True)
    client.send_to(("::1", port_of(server)), b"six")
    message = receive_one(server, want=True)
    assert message.destination == InetAddress("::1")
    assert message.interface_index == LO_INDEX
    [info] = of_type(message.control_messages, PacketInfoMessage)
    assert info.destination == InetAddress("::1")
    assert info.get_level() == socket.IPPROTO_IPV6


def test_dual_stack_socket_reports_ipv4_destination(sockets: list[Socket]) -> None:
    server = bound_udp(sockets, V6, "::")
    client = bound_udp(sockets, V4, "127.0.0.1")
    assert server.set_receive_packet_info(True)
    client.send_to(("127.0.0.9", port_of(server)), b"mapped")
    message = receive_one(server)
    destination = message.destination
    assert destination is not None
    assert str(destination) in ("127.0.0.9", "::ffff:127.0.0.9")


def test_reply_leaves_from_the_address_it_was_asked_on(sockets: list[Socket]) -> None:
    server = bound_udp(sockets, V4, "0.0.0.0")
    client = bound_udp(sockets, V4, "127.0.0.1")
    assert server.set_receive_packet_info(True)
    for asked in ("127.0.0.5", "127.0.0.6"):
        client.send_to((asked, port_of(server)), b"q")
        request = receive_one(server)
        assert request.destination == InetAddress(asked)
        reply = OutputMessage(request.address, [b"a"], source=request.destination)
        assert server.send_messages([reply]) == 1
        data, sender = client.receive_from(16)
        assert data == b"a"
        assert sender == InetSocketAddress(asked, port_of(server))


def test_packet_info_message_chooses_the_source(sockets: list[Socket]) -> None:
    server = bound_udp(sockets, V4, "0.0.0.0")
    client = bound_udp(sockets, V4, "127.0.0.1")
    server.send_message(client.local_address, [b"x"], [PacketInfoMessage("127.0.0.8")])
    data, sender = client.receive_from(16)
    assert (data, sender) == (b"x", InetSocketAddress("127.0.0.8", port_of(server)))
    # a received packet info sent back as is answers from the address asked on
    assert server.set_receive_packet_info(True)
    client.send_to(("127.0.0.4", port_of(server)), b"hello")
    _, peer, controls, _ = server.receive_message([bytearray(16)])
    [info] = of_type(controls, PacketInfoMessage)
    server.send_message(peer, [b"back"], [info])
    assert client.receive_from(16) == (b"back", InetSocketAddress("127.0.0.4", port_of(server)))


@needs_ipv6
def test_ipv6_reply_source(sockets: list[Socket]) -> None:
    server = bound_udp(sockets, V6, "::")
    client = bound_udp(sockets, V6, "::1")
    reply = OutputMessage(client.local_address, [b"six"], source="::1")
    assert server.send_messages([reply]) == 1
    assert client.receive_from(16) == (b"six", InetSocketAddress("::1", port_of(server)))


# --- traffic class / ECN ----------------------------------------------------------------


@families
def test_ecn_round_trip(sockets: list[Socket], family: SocketFamily) -> None:
    host = LOOPBACK[family]
    server, client = bound_udp(sockets, family, host), bound_udp(sockets, family, host)
    assert server.set_receive_traffic_class(True)
    for ecn in ECN_CODEPOINTS:
        client.send_message(server.local_address, [b"m"], [TrafficClassMessage(ecn)])
        _, _, controls, _ = server.receive_message([bytearray(16)])
        [tclass] = of_type(controls, TrafficClassMessage)
        assert (tclass.ecn, tclass.value, tclass.dscp) == (ecn, ecn, 0)
        value = (46 << 2) | ecn  # DSCP EF with the codepoint
        sent = OutputMessage(server.local_address, [b"o"], traffic_class=value)
        assert client.send_messages([sent]) == 1
        message = receive_one(server)
        assert message.traffic_class == value
        assert message.traffic_class & 3 == ecn


def test_traffic_class_to_a_v4_mapped_destination(sockets: list[Socket]) -> None:
    server = bound_udp(sockets, V4, "127.0.0.1")
    client = bound_udp(sockets, V6, "::")
    assert server.set_receive_traffic_class(True)
    mapped = InetSocketAddress("::ffff:127.0.0.1", port_of(server))
    client.send_message(mapped, [b"m"], [TrafficClassMessage(2)])
    assert receive_one(server).traffic_class == 2


def test_fields_are_empty_when_switches_are_off(sockets: list[Socket]) -> None:
    server, client = bound_udp(sockets, V4, "127.0.0.1"), bound_udp(sockets, V4, "127.0.0.1")
    client.send_message(server.local_address, [b"m"], [TrafficClassMessage(2)])
    message = receive_one(server)
    assert message.bytes_received == 1
    assert (message.segment_size, message.destination, message.interface_index) == (0, None, 0)
    assert (message.traffic_class, message.timestamp_ns, message.drop_count) == (-1, 0, -1)
    # and a reused message is reset, not left with the last datagram's values
    assert server.set_receive_traffic_class(True)
    client.send_message(server.local_address, [b"a"], [TrafficClassMessage(2)])
    assert server.receive_messages([message]) == 1 and message.traffic_class == 2
    assert server.set_receive_traffic_class(False)
    client.send_message(server.local_address, [b"b"], [TrafficClassMessage(2)])
    assert server.receive_messages([message]) == 1 and message.traffic_class == -1


# --- timestamps ---------------------------------------------------------------------------


@families
def test_timestamps_are_recent_and_non_decreasing(
    sockets: list[Socket], family: SocketFamily
) -> None:
    host = LOOPBACK[family]
    server, client = bound_udp(sockets, family, host), bound_udp(sockets, family, host)
    assert server.set_receive_timestamps(True)
    before = time.time_ns()
    for i in range(5):
        client.send_to(server.local_address, bytes([i]))
    messages = [InputMessage(bytearray(16)) for _ in range(5)]
    assert server.receive_messages(messages) == 5
    stamps = [m.timestamp_ns for m in messages]
    after = time.time_ns()
    assert stamps == sorted(stamps)
    for stamp in stamps:
        assert abs(stamp - before) < 1_000_000_000 and stamp <= after + 1_000_000
    client.send_to(server.local_address, b"z")
    _, _, controls, _ = server.receive_message([bytearray(16)])
    [stamp] = of_type(controls, TimestampMessage)
    assert stamps[-1] <= stamp.ns <= time.time_ns()
    assert stamp.seconds == pytest.approx(stamp.ns / 1e9)


# --- drop counts --------------------------------------------------------------------------


def test_drop_count_equals_datagrams_lost(sockets: list[Socket]) -> None:
    server, client = bound_udp(sockets, V4, "127.0.0.1"), bound_udp(sockets, V4, "127.0.0.1")
    server.set_option(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel's minimum-ish
    assert server.set_receive_drop_count(True)
    sent = 200
    for _ in range(sent):
        client.send_to(server.local_address, b"d" * 512)
    queued = 0
    messages = [InputMessage(bytearray(1024)) for _ in range(64)]
    for _ in range(sent):  # bounded: each round takes at least one datagram
        try:
            queued += server.receive_messages(messages, giosocket.MSG_DONTWAIT)
        except BlockingIOError:
            break
    assert 0 < queued < sent, "the small receive buffer should have overflowed"
    client.send_to(server.local_address, b"probe")
    probe = receive_one(server, want=True)
    assert bytes(probe.vectors[:5]) == b"probe"
    assert probe.drop_count == sent - queued
    [count] = of_type(probe.control_messages, DropCountMessage)
    assert count.count == sent - queued


# --- the error queue ----------------------------------------------------------------------


def closed_port(family: SocketFamily) -> int:
    """A UDP port on loopback that nothing listens on (bound, then closed)."""
    with Socket(family, SocketType.DATAGRAM) as s:
        s.bind((LOOPBACK[family], 0), False)
        return port_of(s)


def read_error_queue(sock: Socket) -> tuple[bytes, giosocket.SocketAddress | None, list]:  # type: ignore[type-arg]
    buf = bytearray(256)
    deadline = time.monotonic() + 5
    while True:
        try:
            n, address, controls, flags = sock.receive_message(
                [buf], giosocket.MSG_ERRQUEUE | giosocket.MSG_DONTWAIT
            )
        except BlockingIOError:
            assert time.monotonic() < deadline, "no error arrived on the error queue"
            time.sleep(0.01)
            continue
        assert flags & giosocket.MSG_ERRQUEUE
        return bytes(buf[:n]), address, controls


@families
def test_icmp_port_unreachable_from_the_error_queue(
    sockets: list[Socket], family: SocketFamily
) -> None:
    host = LOOPBACK[family]
    sender = bound_udp(sockets, family, host)
    assert sender.set_receive_errors(True)
    target = InetSocketAddress(host, closed_port(family))
    sender.send_to(target, b"anyone?")
    payload, address, controls = read_error_queue(sender)
    assert payload == b"anyone?"
    [err] = of_type(controls, SocketErrorMessage)
    assert err.errno == errno.ECONNREFUSED
    if family == V4:
        assert (err.origin, err.type, err.code) == (giosocket.SO_EE_ORIGIN_ICMP, 3, 3)
    else:
        assert (err.origin, err.type, err.code) == (giosocket.SO_EE_ORIGIN_ICMP6, 1, 4)
    offender = err.offender
    assert isinstance(offender, InetSocketAddress) and offender.address == InetAddress(host)
    assert err.original_destination == target == address
    exc = err.error
    assert isinstance(exc, giosocket.Error) and isinstance(exc, ConnectionRefusedError)
    assert exc.code == IOErrorEnum.CONNECTION_REFUSED
    assert "port unreachable" in str(exc) and host in str(exc)
    # reading the queue cleared the error: the next receive just has no data
    with pytest.raises(BlockingIOError):
        sender.receive_message([bytearray(16)], giosocket.MSG_DONTWAIT)


def test_pending_error_queue_entry_neither_spins_nor_hangs(sockets: list[Socket]) -> None:
    """With IP_RECVERR an unread error-queue entry keeps the socket "readable" (POLLERR)
    while a plain receive has no data: the kernel first reports the error itself, then a
    blocking receive waits out its timeout quietly instead of spinning on the readiness."""
    sender = bound_udp(sockets, V4, "127.0.0.1")
    assert sender.set_receive_errors(True)
    sender.send_to(("127.0.0.1", closed_port(V4)), b"x")
    assert sender.condition_timed_wait(giosocket.IOCondition.ERR, 5_000_000)
    sender.timeout = 0.3
    with pytest.raises(ConnectionRefusedError):
        sender.receive(16)  # the socket error the ICMP set (the kernel's behaviour)
    for _ in range(2):
        cpu = time.process_time()
        with pytest.raises(TimeoutError):
            sender.receive(16)
        assert time.process_time() - cpu < 0.15, "the wait spun on POLLERR"
    # the entry is still there to be read
    _, _, controls = read_error_queue(sender)
    assert of_type(controls, SocketErrorMessage)


# --- GRO as a field -----------------------------------------------------------------------


def test_gro_segment_size_equals_the_gso_size(sockets: list[Socket]) -> None:
    if not UdpSegmentMessage.is_supported():
        pytest.skip("this kernel lacks UDP_SEGMENT (UDP GSO)")
    server, client = bound_udp(sockets, V4, "127.0.0.1"), bound_udp(sockets, V4, "127.0.0.1")
    try:
        server.set_udp_gro(True)
    except giosocket.Error as exc:
        assert exc.code == IOErrorEnum.NOT_SUPPORTED
        pytest.skip(f"this kernel lacks UDP_GRO: {exc}")
    sent = OutputMessage(server.local_address, [b"g" * 100 * 8], segment_size=100)
    assert client.send_messages([sent]) == 1 and sent.bytes_sent == 800
    message = InputMessage(bytearray(65536))
    total = 0
    for _ in range(8):
        if total == 800:
            break
        assert server.receive_messages([message]) == 1
        total += message.bytes_received
        if message.bytes_received > 100:
            assert message.segment_size == 100
            assert message.control_messages == []
    assert total == 800


# --- classes and bad input ------------------------------------------------------------------


def test_message_classes_serialize_natively() -> None:
    info = PacketInfoMessage("10.1.2.3", 7)
    assert (info.get_level(), info.get_msg_type()) == (socket.IPPROTO_IP, IP_PKTINFO)
    data = info.serialize()
    assert len(data) == info.get_size() == 12
    assert int.from_bytes(data[:4], "little") == 7 and data[4:8] == bytes([10, 1, 2, 3])
    info6 = PacketInfoMessage(InetAddress("fd00::1"))
    assert (info6.get_level(), len(info6.serialize())) == (socket.IPPROTO_IPV6, 20)
    tclass = TrafficClassMessage(0xB9)
    assert (tclass.ecn, tclass.dscp, tclass.serialize()) == (1, 46, b"\xb9")
    stamp = TimestampMessage(1_500_000_000_123_456_789)
    assert stamp.get_size() == len(stamp.serialize()) == 16
    assert DropCountMessage(5).serialize() == (5).to_bytes(4, "little")
    err = SocketErrorMessage(errno.EHOSTUNREACH, giosocket.SO_EE_ORIGIN_ICMP, 3, 1)
    assert err.error.code == IOErrorEnum.HOST_UNREACHABLE
    assert len(err.serialize()) == err.get_size()


def test_switches_on_non_udp_sockets_are_not_supported(sockets: list[Socket]) -> None:
    tcp = Socket(V4, SocketType.STREAM)
    unix = Socket(SocketFamily.UNIX, SocketType.DATAGRAM)
    sockets += [tcp, unix]
    for sock in (tcp, unix):
        for switch in (
            sock.set_receive_packet_info,
            sock.set_receive_traffic_class,
            sock.set_receive_timestamps,
            sock.set_receive_drop_count,
            sock.set_receive_errors,
        ):
            with pytest.raises(giosocket.Error) as info:
                switch(True)
            assert info.value.code == IOErrorEnum.NOT_SUPPORTED
    closed = bound_udp(sockets, V4, "127.0.0.1")
    closed.close()
    with pytest.raises(giosocket.Error) as info:
        closed.set_receive_packet_info(True)
    assert info.value.code == IOErrorEnum.CLOSED


MALFORMED = [
    (socket.IPPROTO_IP, IP_PKTINFO, b"short"),
    (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, b"\0" * 12),
    (socket.IPPROTO_IP, socket.IP_TOS, (300).to_bytes(4, "little")),
    (socket.IPPROTO_IP, socket.IP_TOS, b"\0\0"),
    (socket.IPPROTO_IPV6, socket.IPV6_TCLASS, b"\x02"),
    (socket.SOL_UDP, 103, b"\0\0"),  # UDP_SEGMENT 0
    (socket.SOL_SOCKET, 35, b"\0" * 16),  # SCM_TIMESTAMPNS: receive-only
    (socket.SOL_SOCKET, 40, b"\0" * 4),  # SO_RXQ_OVFL: receive-only
    (socket.IPPROTO_IP, IP_RECVERR, b"\0" * 16),
]


@pytest.mark.parametrize("level,msg_type,data", MALFORMED)
def test_malformed_metadata_is_refused_before_the_kernel(
    sockets: list[Socket], level: int, msg_type: int, data: bytes
) -> None:
    server, client = bound_udp(sockets, V4, "127.0.0.1"), bound_udp(sockets, V4, "127.0.0.1")
    raw = SocketControlMessage(level, msg_type, data)
    with pytest.raises(ValueError):
        client.send_message(server.local_address, [b"x"], [raw])
    with pytest.raises(ValueError):
        client.send_messages([OutputMessage(server.local_address, [b"x"], [raw])])

    class Sub(SocketControlMessage):
        def get_level(self) -> int:
            return level

        def get_msg_type(self) -> int:
            return msg_type

        def serialize(self) -> bytes:
            return data

    with pytest.raises(ValueError):
        client.send_message(server.local_address, [b"x"], [Sub()])
    with pytest.raises(BlockingIOError):
        server.receive_message([bytearray(16)], giosocket.MSG_DONTWAIT)  # nothing was sent


def test_well_formed_raw_metadata_is_sent(sockets: list[Socket]) -> None:
    server, client = bound_udp(sockets, V4, "127.0.0.1"), bound_udp(sockets, V4, "127.0.0.1")
    assert server.set_receive_traffic_class(True)
    raw = SocketControlMessage(socket.IPPROTO_IP, socket.IP_TOS, (1).to_bytes(4, "little"))
    client.send_message(server.local_address, [b"x"], [raw])
    assert receive_one(server).traffic_class == 1


def test_bad_arguments(sockets: list[Socket]) -> None:
    with pytest.raises(ValueError):
        TrafficClassMessage(256)
    with pytest.raises(ValueError):
        TrafficClassMessage(-1)
    with pytest.raises(ValueError):
        PacketInfoMessage("not an address")
    with pytest.raises(TypeError):
        PacketInfoMessage(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PacketInfoMessage(None, -1)
    with pytest.raises(ValueError):
        DropCountMessage(-1)
    with pytest.raises(ValueError):
        OutputMessage(None, [b""], traffic_class=-1)
    with pytest.raises(ValueError):
        OutputMessage(None, [b""], segment_size=65536)
    with pytest.raises(ValueError):
        OutputMessage(None, [b""], source="nope")
    message = OutputMessage(None, [b""])
    with pytest.raises(ValueError):
        message.traffic_class = 999
    message.traffic_class = 2
    message.source = "127.0.0.1"
    message.segment_size = 10
    assert (message.traffic_class, message.source, message.segment_size) == (
        2,
        InetAddress("127.0.0.1"),
        10,
    )
    # a source of the wrong family for the destination is refused, not silently ignored
    server, client = bound_udp(sockets, V4, "127.0.0.1"), bound_udp(sockets, V4, "127.0.0.1")
    with pytest.raises(ValueError):
        client.send_messages([OutputMessage(server.local_address, [b"x"], source="::1")])
    for receive_only in (TimestampMessage(0), DropCountMessage(0)):
        with pytest.raises(ValueError):
            client.send_message(server.local_address, [b"x"], [receive_only])
