"""Multicast (any-source + source-specific, IPv4 + IPv6), multicast TTL/loopback and broadcast.

Traffic crosses a real veth link between two private network namespaces (see ``netns.py``):
senders live in namespace ``a``, remote receivers in ``b``. "Nothing arrives" is checked
without long sleeps: after the datagram that must not arrive, the same sender sends a unicast
marker to the same receiver, which must be the first thing received (plus a short grace
period for reordering).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import giosocket
import pytest
from giosocket import InetAddress, IOErrorEnum, Socket, SocketFamily, SocketType
from giosocket._giosocket import _io_error_from_errno
from netns import VethPair

V4, V6 = SocketFamily.IPV4, SocketFamily.IPV6
ANY = {V4: "0.0.0.0", V6: "::"}
GROUP = {V4: "239.77.0.1", V6: "ff1e::77:1"}
SSM_GROUP = {V4: "232.77.0.1", V6: "ff3e::77:1"}
WAIT = 5.0  # generous bound for datagrams that must arrive
GRACE = 0.15  # how long to keep listening for datagrams that must not arrive

families = pytest.mark.parametrize("family", [V4, V6], ids=["ipv4", "ipv6"])


@pytest.fixture(scope="module")
def net(veth: VethPair) -> VethPair:
    """The module's namespace pair (conftest's `veth`, skipped where it cannot be made)."""
    return veth


def addrs(net: VethPair, family: SocketFamily) -> tuple[str, str, str]:
    """(A1, A2, B) of `family`."""
    if family == V4:
        return net.A1, net.A2, net.B
    return net.A1_6, net.A2_6, net.B_6


def udp(opened: list[Socket], family: SocketFamily, host: str, port: int = 0) -> Socket:
    """A bound UDP socket (created in the calling thread's namespace)."""
    sock = Socket(family, SocketType.DATAGRAM)
    opened.append(sock)
    sock.bind((host, port), True)
    sock.timeout = WAIT
    return sock


def port_of(sock: Socket) -> int:
    address = sock.local_address
    assert isinstance(address, giosocket.InetSocketAddress)
    return address.port


def receiver_in_b(net: VethPair, opened: list[Socket], family: SocketFamily) -> tuple[Socket, int]:
    """A UDP socket in namespace b bound to the any-address, and its port."""
    sock = net.b.run(udp, opened, family, ANY[family])
    return sock, port_of(sock)


def members_on_both_sides(
    net: VethPair, opened: list[Socket], family: SocketFamily, group: str
) -> tuple[Socket, Socket, int]:
    """(remote, local, port): members of `group` in namespace b and in namespace a (the
    sending side), bound to the same port."""
    remote, port = receiver_in_b(net, opened, family)
    local = net.a.run(udp, opened, family, ANY[family], port)
    assert net.b.run(remote.join_multicast_group, group, False, net.IFACE_B)
    assert net.a.run(local.join_multicast_group, group, False, net.IFACE_A)
    return remote, local, port


def expect(sock: Socket, payload: bytes, source: str | None = None) -> None:
    """The next datagram on `sock` is `payload` (from `source`)."""
    data, sender = sock.receive_from(2048)
    assert data == payload
    if source is not None:
        assert isinstance(sender, giosocket.InetSocketAddress)
        assert sender.address == InetAddress(source)


def expect_silence(sock: Socket) -> None:
    sock.timeout = GRACE
    try:
        with pytest.raises(TimeoutError):
            data = sock.receive(2048)
            pytest.fail(f"unexpected datagram {data!r}")
    finally:
        sock.timeout = WAIT


def expect_only_marker(sock: Socket, marker: bytes) -> None:
    """`sock` receives `marker` first and nothing after it."""
    expect(sock, marker)
    expect_silence(sock)


# ---------------------------------------------------------------------------------------
# Any-source membership across the link


@families
@pytest.mark.parametrize("iface", [True, False], ids=["iface", "kernel-picks"])
def test_any_source_group_received_across_namespaces(
    net: VethPair, sockets: list[Socket], family: SocketFamily, iface: bool
) -> None:
    a1, _, _ = addrs(net, family)
    receiver, port = receiver_in_b(net, sockets, family)
    name = net.IFACE_B if iface else None
    assert net.b.run(receiver.join_multicast_group, InetAddress(GROUP[family]), False, name)
    sender = net.a.run(udp, sockets, family, a1)
    assert sender.send_to((GROUP[family], port), b"hello group") == 11
    expect(receiver, b"hello group", a1)


def test_ipv4_group_on_dual_stack_ipv6_socket(net: VethPair, sockets: list[Socket]) -> None:
    # As GIO: the IPv4 membership option is set on the IPv6 socket (Linux accepts it for
    # v4-mapped traffic); the sender comes back as a plain IPv4 address.
    receiver, port = receiver_in_b(net, sockets, V6)
    assert receiver.speaks_ipv4()
    assert net.b.run(receiver.join_multicast_group, GROUP[V4], False, net.IFACE_B)
    sender = net.a.run(udp, sockets, V4, net.A1)
    sender.send_to((GROUP[V4], port), b"v4 to dual stack")
    expect(receiver, b"v4 to dual stack", net.A1)
    assert net.b.run(receiver.leave_multicast_group, GROUP[V4], False, net.IFACE_B)


@families
def test_after_leave_nothing_arrives(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, _, b = addrs(net, family)
    receiver, port = receiver_in_b(net, sockets, family)
    group = GROUP[family]
    assert net.b.run(receiver.join_multicast_group, group, False, net.IFACE_B)
    sender = net.a.run(udp, sockets, family, a1)
    sender.send_to((group, port), b"while joined")
    expect(receiver, b"while joined", a1)

    assert net.b.run(receiver.leave_multicast_group, group, False, net.IFACE_B)
    sender.send_to((group, port), b"after leave")
    sender.send_to((b, port), b"marker")
    expect_only_marker(receiver, b"marker")


# ---------------------------------------------------------------------------------------
# Source-specific multicast (RFC 4604)


@families
def test_ssm_receives_only_the_chosen_source(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, a2, b = addrs(net, family)
    group = SSM_GROUP[family]
    ssm, port = receiver_in_b(net, sockets, family)
    # Control: an any-source member of the same group (on its own port: sockets sharing a
    # port through SO_REUSEPORT see each other's source filters on Linux) gets both senders,
    # so A2's datagrams do reach namespace b and only the source filter drops them.
    control, control_port = receiver_in_b(net, sockets, family)
    assert net.b.run(ssm.join_multicast_group_ssm, group, InetAddress(a1), net.IFACE_B)
    assert net.b.run(control.join_multicast_group_ssm, group, None, net.IFACE_B)
    from_a1 = net.a.run(udp, sockets, family, a1)
    from_a2 = net.a.run(udp, sockets, family, a2)

    for dest in (control_port, port):
        from_a2.send_to((group, dest), b"from A2")
        from_a1.send_to((group, dest), b"from A1")
    expect(control, b"from A2", a2)
    expect(control, b"from A1", a1)
    expect(ssm, b"from A1", a1)
    expect_silence(ssm)

    # Leaving stops A1's datagrams too. (The control leaves first: a Linux socket bound to
    # the wildcard address gets any group some socket joined, IP_MULTICAST_ALL.)
    assert net.b.run(control.leave_multicast_group_ssm, group, None, net.IFACE_B)
    assert net.b.run(ssm.leave_multicast_group_ssm, group, a1, net.IFACE_B)
    from_a1.send_to((group, port), b"after leave")
    from_a1.send_to((b, port), b"marker")
    expect_only_marker(ssm, b"marker")


@families
def test_ssm_without_interface_lets_the_kernel_choose(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, a2, _ = addrs(net, family)
    group = SSM_GROUP[family]
    receiver, port = receiver_in_b(net, sockets, family)
    assert receiver.join_multicast_group_ssm(group, a2)
    net.a.run(udp, sockets, family, a1).send_to((group, port), b"wrong source")
    net.a.run(udp, sockets, family, a2).send_to((group, port), b"right source")
    expect(receiver, b"right source", a2)
    expect_silence(receiver)


# ---------------------------------------------------------------------------------------
# multicast_ttl, multicast_loopback, broadcast


@families
def test_multicast_ttl_zero_keeps_datagrams_on_the_host(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, _, b = addrs(net, family)
    group = GROUP[family]
    remote, local, port = members_on_both_sides(net, sockets, family, group)
    sender = net.a.run(udp, sockets, family, a1)
    assert sender.multicast_ttl == 1  # the kernel's default

    sender.multicast_ttl = 0
    assert sender.get_multicast_ttl() == 0
    sender.send_to((group, port), b"ttl 0")
    sender.send_to((b, port), b"marker")
    expect(local, b"ttl 0", a1)  # looped back on the sending host
    expect_only_marker(remote, b"marker")  # never left it

    sender.set_multicast_ttl(1)
    sender.send_to((group, port), b"ttl 1")
    expect(remote, b"ttl 1", a1)
    expect(local, b"ttl 1", a1)


@families
def test_multicast_loopback_false_stops_local_copies(
    net: VethPair, sockets: list[Socket], family: SocketFamily
) -> None:
    a1, _, _ = addrs(net, family)
    group = GROUP[family]
    remote, local, port = members_on_both_sides(net, sockets, family, group)
    sender = net.a.run(udp, sockets, family, a1)
    assert sender.multicast_loopback is True

    sender.multicast_loopback = False
    assert sender.get_multicast_loopback() is False
    sender.send_to((group, port), b"no loop")
    sender.send_to((a1, port), b"marker")
    expect(remote, b"no loop", a1)  # the link still carries it
    expect_only_marker(local, b"marker")

    sender.set_multicast_loopback(True)
    sender.send_to((group, port), b"loop")
    expect(local, b"loop", a1)
    expect(remote, b"loop", a1)


def test_broadcast_needs_so_broadcast(net: VethPair, sockets: list[Socket]) -> None:
    receiver, port = receiver_in_b(net, sockets, V4)
    sender = net.a.run(udp, sockets, V4, net.A1)
    assert sender.broadcast is False

    with pytest.raises(giosocket.Error) as info:
        sender.send_to((net.BROADCAST, port), b"denied")
    assert info.value.code == IOErrorEnum.PERMISSION_DENIED
    assert info.value.errno == errno.EACCES
    assert isinstance(info.value, PermissionError)

    sender.set_broadcast(True)
    assert sender.get_broadcast() is True
    assert sender.send_to((net.BROADCAST, port), b"to everyone") == 11
    expect(receiver, b"to everyone", net.A1)

    sender.broadcast = False
    with pytest.raises(PermissionError):
        sender.send_to((net.BROADCAST, port), b"denied again")


# ---------------------------------------------------------------------------------------
# Errors


def test_leave_without_join_is_errno_mapped(net: VethPair, sockets: list[Socket]) -> None:
    sock = net.b.run(udp, sockets, V4, "0.0.0.0")
    with pytest.raises(giosocket.Error) as info:
        sock.leave_multicast_group(GROUP[V4], False)
    # EADDRNOTAVAIL, which GIO's g_io_error_from_errno maps to CONNECTION_REFUSED.
    assert info.value.errno == errno.EADDRNOTAVAIL
    assert info.value.code == IOErrorEnum.CONNECTION_REFUSED
    assert "Error leaving multicast group" in str(info.value)


def test_ipv4_ssm_on_interface_without_ipv4_address(net: VethPair, sockets: list[Socket]) -> None:
    def check() -> None:
        # An interface with no IPv4 address, inside namespace b only.
        net.b.ip("link", "add", "nov4", "type", "veth", "peer", "name", "nov4p")
        try:
            sock = udp(sockets, V4, "0.0.0.0")
            with pytest.raises(giosocket.Error) as info:
                sock.join_multicast_group_ssm(SSM_GROUP[V4], net.A1, "nov4")
            # As GIO (SIOCGIFADDR): EADDRNOTAVAIL through the errno table.
            assert info.value.errno == errno.EADDRNOTAVAIL
            assert info.value.code == _io_error_from_errno(errno.EADDRNOTAVAIL)
            assert "Interface not found" in str(info.value)
        finally:
            net.b.ip("link", "del", "nov4")

    net.b.run(check)


@pytest.fixture
def udp4() -> Iterator[Socket]:
    with Socket(V4, SocketType.DATAGRAM) as sock:
        yield sock


@pytest.fixture
def udp6() -> Iterator[Socket]:
    with Socket(V6, SocketType.DATAGRAM) as sock:
        yield sock


def error_code(call: Callable[[], object]) -> IOErrorEnum:
    with pytest.raises(giosocket.Error) as info:
        call()
    return info.value.code


def test_membership_argument_errors(udp4: Socket, udp6: Socket) -> None:
    # All refused before any membership change on the host.
    assert error_code(lambda: udp4.join_multicast_group("10.1.2.3", False)) == (
        IOErrorEnum.INVALID_ARGUMENT
    )
    assert error_code(lambda: udp6.join_multicast_group_ssm("fd00::1", "fd00::2")) == (
        IOErrorEnum.INVALID_ARGUMENT
    )
    # Family mismatches GIO hands to the kernel get the kernel's errno through the table.
    with pytest.raises(giosocket.Error) as info:
        udp4.join_multicast_group(GROUP[V6], False)
    assert info.value.errno == errno.ENOPROTOOPT
    assert info.value.code == _io_error_from_errno(errno.ENOPROTOOPT)
    with pytest.raises(giosocket.Error) as info:
        udp6.leave_multicast_group_ssm(SSM_GROUP[V6], "10.0.0.1")
    assert info.value.errno == errno.EADDRNOTAVAIL
    assert info.value.code == _io_error_from_errno(errno.EADDRNOTAVAIL)
    # GIO's own check: an IPv4 group needs an IPv4 source.
    assert error_code(lambda: udp4.join_multicast_group_ssm(SSM_GROUP[V4], "fd00::1")) == (
        IOErrorEnum.NOT_SUPPORTED
    )
    # GIO's source_specific=True without a source would join a filter nothing matches.
    assert error_code(lambda: udp4.join_multicast_group(GROUP[V4], True)) == (
        IOErrorEnum.INVALID_ARGUMENT
    )
    assert error_code(lambda: udp6.leave_multicast_group(GROUP[V6], True)) == (
        IOErrorEnum.INVALID_ARGUMENT
    )
    for sock, group in ((udp4, GROUP[V4]), (udp6, GROUP[V6])):
        with pytest.raises(giosocket.Error) as info:
            sock.join_multicast_group(group, False, "no-such-if0")
        assert info.value.code == IOErrorEnum.NO_SUCH_DEVICE
        assert info.value.errno == errno.ENODEV
        assert "no-such-if0" in str(info.value)
    assert error_code(
        lambda: udp4.join_multicast_group_ssm(SSM_GROUP[V4], "10.0.0.1", "nope0")
    ) == (IOErrorEnum.NO_SUCH_DEVICE)
    assert error_code(lambda: udp6.join_multicast_group_ssm(SSM_GROUP[V6], "fd00::1", "nope0")) == (
        IOErrorEnum.NO_SUCH_DEVICE
    )
    # A name too long to be an interface: GIO's SIOCGIFADDR path (IPv4 source-specific) says
    # FILENAME_TOO_LONG; every if_nametoindex path says NO_SUCH_DEVICE (ENODEV).
    long_name = "x" * 16
    assert error_code(
        lambda: udp4.join_multicast_group_ssm(SSM_GROUP[V4], "10.0.0.1", long_name)
    ) == (IOErrorEnum.FILENAME_TOO_LONG)
    for call in (
        lambda: udp6.join_multicast_group_ssm(SSM_GROUP[V6], "fd00::1", long_name),
        lambda: udp4.join_multicast_group(GROUP[V4], False, long_name),
        lambda: udp6.join_multicast_group(GROUP[V6], False, long_name),
    ):
        with pytest.raises(giosocket.Error) as info:
            call()
        assert info.value.code == IOErrorEnum.NO_SUCH_DEVICE
        assert info.value.errno == errno.ENODEV
    with pytest.raises(ValueError):
        udp4.join_multicast_group(GROUP[V4], False, "")
    with pytest.raises(ValueError):
        udp4.join_multicast_group(GROUP[V4], False, "lo\0")
    with pytest.raises(ValueError):
        udp4.join_multicast_group("not an address", False)
    with pytest.raises(TypeError):
        udp4.join_multicast_group(3232235777, False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        udp4.join_multicast_group_ssm(SSM_GROUP[V4], b"10.0.0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        udp4.join_multicast_group(GROUP[V4], False, 1)  # type: ignore[arg-type]


def test_membership_needs_an_open_ip_datagram_socket(tmp_path: Path) -> None:
    with Socket(V4, SocketType.STREAM) as tcp:
        assert error_code(lambda: tcp.join_multicast_group(GROUP[V4], False)) == (
            IOErrorEnum.NOT_SUPPORTED
        )
    with Socket(SocketFamily.UNIX, SocketType.DATAGRAM) as unix:
        assert error_code(lambda: unix.join_multicast_group_ssm(GROUP[V4])) == (
            IOErrorEnum.NOT_SUPPORTED
        )
        assert error_code(unix.get_multicast_ttl) == IOErrorEnum.NOT_SUPPORTED
        assert error_code(lambda: unix.set_ttl(3)) == IOErrorEnum.NOT_SUPPORTED
    closed = Socket(V4, SocketType.DATAGRAM)
    closed.close()
    assert error_code(lambda: closed.join_multicast_group(GROUP[V4], False)) == IOErrorEnum.CLOSED
    assert error_code(closed.get_broadcast) == IOErrorEnum.CLOSED
    assert error_code(lambda: closed.set_multicast_loopback(True)) == IOErrorEnum.CLOSED


# ---------------------------------------------------------------------------------------
# Option round trips (no traffic)


@families
def test_ip_option_defaults_and_round_trips(family: SocketFamily) -> None:
    with Socket(family, SocketType.DATAGRAM) as sock:
        assert sock.ttl == 64 or 1 <= sock.ttl <= 255  # the host's default TTL
        assert sock.multicast_ttl == 1
        assert sock.multicast_loopback is True
        assert sock.broadcast is False
        sock.ttl = 7
        assert sock.ttl == sock.get_ttl() == 7
        sock.set_multicast_ttl(33)
        assert sock.multicast_ttl == sock.get_multicast_ttl() == 33
        sock.multicast_loopback = False
        assert sock.multicast_loopback is False
        sock.broadcast = True
        assert sock.broadcast is True
        with pytest.raises(giosocket.Error) as info:
            sock.ttl = 256
        assert info.value.code == IOErrorEnum.INVALID_ARGUMENT
        with pytest.raises(OverflowError):
            sock.set_multicast_ttl(-1)
        with pytest.raises(TypeError):
            sock.multicast_loopback = "yes"  # type: ignore[assignment]
        assert sock.ttl == 7


def test_ipv6_socket_also_sets_the_ipv4_option() -> None:
    # GIO sets IP_MULTICAST_TTL / IP_MULTICAST_LOOP / IP_TTL on IPv6 sockets too (for
    # v4-mapped traffic), ignoring errors.
    with Socket(V6, SocketType.DATAGRAM) as sock:
        sock.multicast_ttl = 9
        sock.multicast_loopback = False
        sock.ttl = 11
        assert sock.get_option(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 9
        assert sock.get_option(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
        assert sock.get_option(socket.IPPROTO_IP, socket.IP_TTL) == 11
        assert sock.get_option(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS) == 9
