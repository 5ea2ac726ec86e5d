"""UDP packet metadata across a real veth link between two private network namespaces (see
``netns.py``): destination and arrival interface, replies from the address asked on a
multi-homed host, and ECN across the link, in IPv4 and IPv6."""

from __future__ import annotations

import socket

import giosocket
import pytest
from conftest import bound_udp
from giosocket import (
    InetAddress,
    InetSocketAddress,
    InputMessage,
    OutputMessage,
    PacketInfoMessage,
    Socket,
    SocketFamily,
    TrafficClassMessage,
)
from netns import VethPair

V4, V6 = SocketFamily.IPV4, SocketFamily.IPV6
ANY = {V4: "0.0.0.0", V6: "::"}
families = pytest.mark.parametrize("family", [V4, V6], ids=["ipv4", "ipv6"])


@pytest.fixture(scope="module")
def net(veth: VethPair) -> VethPair:
    return veth


def addrs(net: VethPair, family: SocketFamily) -> tuple[str, str, str]:
    if family == V4:
        return net.A1, net.A2, net.B
    return net.A1_6, net.A2_6, net.B_6


def port_of(sock: Socket) -> int:
    address = sock.local_address
    assert isinstance(address, InetSocketAddress)
    return address.port


@families
def test_destination_and_interface_of_a_veth_datagram(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, _, b = addrs(net, family)
    server = net.b.run(bound_udp, sockets, family, ANY[family])
    client = net.a.run(bound_udp, sockets, family, a1)
    assert server.set_receive_packet_info(True)
    client.send_to((b, port_of(server)), b"over the wire")
    message = InputMessage(bytearray(64))
    assert server.receive_messages([message]) == 1
    assert message.destination == InetAddress(b)
    assert message.interface_index == net.b.run(socket.if_nametoindex, net.IFACE_B)
    assert message.address == InetSocketAddress(a1, port_of(client))


@families
def test_multi_homed_server_answers_from_the_address_asked(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, a2, b = addrs(net, family)
    server = net.a.run(bound_udp, sockets, family, ANY[family])  # a holds a1 and a2
    client = net.b.run(bound_udp, sockets, family, b)
    assert server.set_receive_packet_info(True)
    request = InputMessage(bytearray(64))
    for asked in (a2, a1, a2):
        client.send_to((asked, port_of(server)), b"which?")
        assert server.receive_messages([request]) == 1
        assert request.destination == InetAddress(asked)
        reply = OutputMessage(request.address, [b"this"], source=request.destination)
        assert server.send_messages([reply]) == 1
        assert client.receive_from(64) == (b"this", InetSocketAddress(asked, port_of(server)))
    # the same with a PacketInfoMessage, choosing the non-primary address explicitly
    server.send_message(client.local_address, [b"from a2"], [PacketInfoMessage(a2)])
    assert client.receive_from(64) == (b"from a2", InetSocketAddress(a2, port_of(server)))


@families
def test_ecn_crosses_the_link(net: VethPair, sockets: list[Socket], family: SocketFamily) -> None:
    a1, _, b = addrs(net, family)
    server = net.b.run(bound_udp, sockets, family, b)
    client = net.a.run(bound_udp, sockets, family, a1)
    assert server.set_receive_traffic_class(True)
    message = InputMessage(bytearray(64), want_control_messages=True)
    for ecn in (2, 1, 3):
        client.send_messages([OutputMessage(server.local_address, [b"e"], traffic_class=ecn)])
        assert server.receive_messages([message]) == 1
        assert message.traffic_class == ecn
        [tclass] = [c for c in message.control_messages if isinstance(c, TrafficClassMessage)]
        assert tclass.ecn == ecn


@families
def test_icmp_error_names_the_remote_host(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, _, b = addrs(net, family)
    client = net.a.run(bound_udp, sockets, family, a1)
    assert client.set_receive_errors(True)
    closed = net.b.run(bound_udp, sockets, family, b)
    port = port_of(closed)
    closed.close()
    client.send_to((b, port), b"knock")
    buf = bytearray(64)
    client.timeout = 5
    assert client.condition_timed_wait(giosocket.IOCondition.ERR, 5_000_000)
    n, _, controls, _ = client.receive_message([buf], giosocket.MSG_ERRQUEUE)
    assert bytes(buf[:n]) == b"knock"
    [err] = [c for c in controls if isinstance(c, giosocket.SocketErrorMessage)]
    offender = err.offender
    assert isinstance(offender, InetSocketAddress) and offender.address == InetAddress(b)
    assert err.error.code == giosocket.IOErrorEnum.CONNECTION_REFUSED
