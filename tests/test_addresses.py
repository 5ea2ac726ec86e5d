"""InetAddress, InetSocketAddress, UnixSocketAddress, SocketAddress native round trips."""

from __future__ import annotations

import ipaddress
import os
import pathlib
import socket
import struct

import giosocket
import pytest
from giosocket import (
    InetAddress,
    InetSocketAddress,
    NativeSocketAddress,
    Socket,
    SocketAddress,
    SocketFamily,
    SocketType,
    UnixSocketAddress,
    UnixSocketAddressType,
)
from hypothesis import given
from hypothesis import strategies as st

V4, V6 = SocketFamily.IPV4, SocketFamily.IPV6
PREDICATES = [
    "is_any",
    "is_loopback",
    "is_link_local",
    "is_site_local",
    "is_multicast",
    "is_mc_global",
    "is_mc_link_local",
    "is_mc_node_local",
    "is_mc_org_local",
    "is_mc_site_local",
]

# address -> the predicates that hold (GIO's ginetaddress.c rules).
CLASSIFY = {
    "0.0.0.0": {"is_any"},
    "127.0.0.1": {"is_loopback"},
    "127.255.0.9": {"is_loopback"},
    "169.254.3.4": {"is_link_local"},
    "10.1.2.3": {"is_site_local"},
    "172.16.0.1": {"is_site_local"},
    "172.31.255.255": {"is_site_local"},
    "172.32.0.1": set(),
    "192.168.1.1": {"is_site_local"},
    "224.0.0.1": {"is_multicast"},  # IPv4 multicast has no mc_* scope in GIO
    "239.255.255.250": {"is_multicast"},
    "8.8.8.8": set(),
    "255.255.255.255": set(),
    "::": {"is_any"},
    "::1": {"is_loopback"},
    "fe80::1": {"is_link_local"},
    "febf::1": {"is_link_local"},
    "fec0::1": {"is_site_local"},
    "2001:db8::1": set(),
    "::ffff:127.0.0.1": set(),  # v4-mapped is not loopback for GIO
    "ff01::1": {"is_multicast", "is_mc_node_local"},
    "ff02::1": {"is_multicast", "is_mc_link_local"},
    "ff05::2": {"is_multicast", "is_mc_site_local"},
    "ff08::3": {"is_multicast", "is_mc_org_local"},
    "ff0e::4": {"is_multicast", "is_mc_global"},
    "ff12::1": {"is_multicast", "is_mc_link_local"},
    "ff00::1": {"is_multicast"},
}


@pytest.mark.parametrize(("text", "expected"), CLASSIFY.items())
def test_inet_address_classification(text: str, expected: set[str]) -> None:
    a = InetAddress(text)
    for name in PREDICATES:
        assert getattr(a, name) is (name in expected), name
        assert getattr(a, "get_" + name)() is (name in expected), name


@pytest.mark.parametrize("text", ["1.2.3.4", "::1", "fe80::1:2", "::ffff:1.2.3.4", "2001:db8::"])
def test_inet_address_parse_and_format(text: str) -> None:
    a = InetAddress(text)
    ip = ipaddress.ip_address(text)
    # GIO formats with inet_ntop (which keeps the dotted tail of v4-mapped addresses).
    canonical = socket.inet_ntop(socket.AF_INET if ip.version == 4 else socket.AF_INET6, ip.packed)
    assert a.to_string() == str(a) == canonical
    assert repr(a) == f"InetAddress('{canonical}')"
    family = V4 if "." in text and ":" not in text else V6
    assert a.family is family and a.get_family() is family
    assert a.get_native_size() == (4 if family is V4 else 16)
    assert a.to_bytes() == ipaddress.ip_address(text).packed
    assert InetAddress.new_from_bytes(a.to_bytes(), family) == a
    assert InetAddress.new_from_string(text) == a
    assert InetAddress(a) == a


@pytest.mark.parametrize("text", ["", "x", "1.2.3", "1.2.3.256", "localhost", "::g", "1.2.3.4%1"])
def test_inet_address_rejects_non_numeric(text: str) -> None:
    assert InetAddress.new_from_string(text) is None
    with pytest.raises(ValueError):
        InetAddress(text)


def test_inet_address_any_and_loopback() -> None:
    assert str(InetAddress.new_any(V4)) == "0.0.0.0"
    assert str(InetAddress.new_any(V6)) == "::"
    assert str(InetAddress.new_loopback(V4)) == "127.0.0.1"
    assert str(InetAddress.new_loopback(V6)) == "::1"
    for bad in (0, 1, 3, 99):
        with pytest.raises(ValueError):
            InetAddress.new_any(bad)
        with pytest.raises(ValueError):
            InetAddress.new_loopback(bad)


def test_inet_address_from_bytes_checks_length() -> None:
    assert str(InetAddress.new_from_bytes([1, 2, 3, 4], V4)) == "1.2.3.4"
    with pytest.raises(ValueError):
        InetAddress.new_from_bytes(b"\0" * 16, V4)
    with pytest.raises(ValueError):
        InetAddress.new_from_bytes(b"\0" * 4, V6)


def test_inet_address_equality_and_hash() -> None:
    a, b, c = InetAddress("10.0.0.1"), InetAddress("10.0.0.1"), InetAddress("10.0.0.2")
    assert a == b and a != c and hash(a) == hash(b)
    assert a.equal(b) and a.equal("10.0.0.1") and not a.equal(c)
    assert len({a, b, c}) == 2
    assert a != "10.0.0.1"  # no implicit conversion in ==
    assert InetAddress("::ffff:1.2.3.4") != InetAddress("1.2.3.4")


# ---- InetSocketAddress ------------------------------------------------------------------


def test_inet_socket_address_fields_and_to_string() -> None:
    a = InetSocketAddress("1.2.3.4", 80)
    assert isinstance(a, SocketAddress)
    assert a.address == InetAddress("1.2.3.4") and a.get_address() == a.address
    assert a.port == a.get_port() == 80
    assert a.flowinfo == a.get_flowinfo() == 0 and a.scope_id == a.get_scope_id() == 0
    assert a.to_string() == str(a) == "1.2.3.4:80"
    assert a.family is V4 and a.get_family() is V4
    assert a.get_native_size() == 16
    assert repr(a) == "InetSocketAddress('1.2.3.4', 80)"

    b = InetSocketAddress(InetAddress("fe80::1"), 443, 7, 3)
    assert b.flowinfo == 7 and b.scope_id == 3
    assert repr(b) == "InetSocketAddress('fe80::1', 443, 7, 3)"
    assert eval(repr(b), {"InetSocketAddress": InetSocketAddress}) == b
    assert repr(InetSocketAddress("::1", 1)) == "InetSocketAddress('::1', 1)"
    assert b.to_string() == "[fe80::1%3]:443"
    assert InetSocketAddress("::1", 8080).to_string() == "[::1]:8080"
    assert b.get_native_size() == 28


def test_inet_socket_address_port_zero_prints_no_port() -> None:
    # GIO's g_inet_socket_address_connectable_to_string: no port, no brackets for port 0.
    assert InetSocketAddress("1.2.3.4", 0).to_string() == "1.2.3.4"
    assert InetSocketAddress("fe80::80", 0).to_string() == "fe80::80"
    assert InetSocketAddress("fe80::1", 0, 0, 7).to_string() == "fe80::1%7"
    assert InetSocketAddress("fe80::1", 9, 0, 7).to_string() == "[fe80::1%7]:9"


def test_bound_port_zero_and_real_port_text() -> None:
    with Socket(V4, SocketType.DATAGRAM) as sock:
        sock.bind(("127.0.0.1", 0), False)
        local = sock.get_local_address()
        assert isinstance(local, InetSocketAddress)
        assert local.to_string() == f"127.0.0.1:{local.port}"


@pytest.mark.parametrize(
    "text",
    ["::1.2.3.4", "::0.1.2.3", "::ffff:1.2.3.4", "::102", "::1.2.0.0", "::ffff:0:1.2.3.4", "::"],
)
def test_ipv6_text_is_inet_ntop(text: str) -> None:
    # IPv4-compatible addresses keep the dotted tail, as inet_ntop prints them (GIO).
    a = InetAddress(text)
    expected = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))
    assert a.to_string() == str(a) == expected
    assert InetAddress(a.to_string()) == a
    assert InetSocketAddress(text, 5).to_string() == f"[{expected}]:5"
    assert eval(repr(a), {"InetAddress": InetAddress}) == a


def test_ipv4_compatible_text() -> None:
    assert InetAddress("::1.2.3.4").to_string() == "::1.2.3.4"
    assert InetSocketAddress("::1.2.3.4", 0).to_string() == "::1.2.3.4"


def test_inet_socket_address_new_and_new_from_string() -> None:
    assert InetSocketAddress.new("127.0.0.1", 5) == InetSocketAddress("127.0.0.1", 5)
    assert InetSocketAddress.new(InetAddress("::1"), 5).port == 5
    a = InetSocketAddress.new_from_string("fe80::1%1", 9)
    assert a is not None and a.scope_id == 1
    lo = InetSocketAddress.new_from_string("fe80::1%lo", 9)
    assert lo is not None and lo.scope_id == socket.if_nametoindex("lo")
    assert InetSocketAddress.new_from_string("not an address", 9) is None
    assert InetSocketAddress.new_from_string("fe80::1%no-such-if0", 9) is None


@pytest.mark.parametrize("port", [-1, 65536, 2**40])
def test_inet_socket_address_port_range(port: int) -> None:
    with pytest.raises(OverflowError):
        InetSocketAddress("1.2.3.4", port)


def test_inet_socket_address_v4_rejects_v6_fields() -> None:
    with pytest.raises(ValueError):
        InetSocketAddress("1.2.3.4", 1, 5, 0)
    with pytest.raises(ValueError):
        InetSocketAddress("1.2.3.4", 1, 0, 5)


def test_socket_address_equality_hash_repr() -> None:
    a, b = InetSocketAddress("1.2.3.4", 1), InetSocketAddress("1.2.3.4", 1)
    c = InetSocketAddress("1.2.3.4", 2)
    assert a == b and a != c and hash(a) == hash(b) and len({a, b, c}) == 2
    assert a != ("1.2.3.4", 1)
    assert UnixSocketAddress("/tmp/x") == UnixSocketAddress(b"/tmp/x")
    assert UnixSocketAddress("/tmp/x") != a


def test_gio_sockaddr_test_round_trip() -> None:
    # GLib's test_sockaddr: sin6 with port 42, scope 17, flowinfo 1729. GIO copies
    # sin6_flowinfo as is (no byte swapping), and so does giosocket.
    native = struct.pack(
        "=HHI16sI",
        socket.AF_INET6,
        socket.htons(42),
        1729,
        ipaddress.ip_address("::1").packed,
        17,
    )
    a = SocketAddress.new_from_native(native)
    assert isinstance(a, InetSocketAddress)
    assert a.address.family is V6 and a.address.is_loopback
    assert (a.port, a.scope_id, a.flowinfo) == (42, 17, 1729)
    assert a.to_native() == native


def test_new_from_native_maps_v4_mapped_to_ipv4() -> None:
    native = struct.pack(
        "=HHI16sI",
        socket.AF_INET6,
        socket.htons(7),
        0,
        ipaddress.ip_address("::ffff:10.1.2.3").packed,
        0,
    )
    a = SocketAddress.new_from_native(native)
    assert isinstance(a, InetSocketAddress)
    assert a.family is V4 and str(a.address) == "10.1.2.3" and a.port == 7


def test_new_from_native_rejects_garbage() -> None:
    for data in (b"", b"\x02", b"\x02\x00", b"\x0a\x00" + bytes(10), bytes(300)):
        with pytest.raises(ValueError):
            SocketAddress.new_from_native(data)


def test_new_from_native_unknown_family_is_native_socket_address() -> None:
    native = struct.pack("=H", socket.AF_PACKET) + bytes(18)
    a = SocketAddress.new_from_native(native)
    assert type(a) is NativeSocketAddress and isinstance(a, SocketAddress)
    assert a.to_native() == native and a.get_native_size() == 20
    assert int(a.family) == socket.AF_PACKET
    assert a.to_string() == "GNativeSocketAddress"  # GIO prints the type name
    assert "NativeSocketAddress" in repr(a)
    assert a == SocketAddress.new_from_native(native) == NativeSocketAddress(native)
    # The constructor keeps any family's bytes as they are (g_native_socket_address_new).
    inet_native = InetSocketAddress("10.0.0.1", 5).to_native()
    kept = NativeSocketAddress(inet_native)
    assert type(kept) is NativeSocketAddress and kept.to_native() == inet_native


def test_netlink_socket_local_address_is_native_socket_address() -> None:
    raw = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    raw.bind((0, 0))
    pid, _groups = raw.getsockname()
    with Socket.new_from_fd(raw.detach()) as sock:
        local = sock.get_local_address()
        assert type(local) is NativeSocketAddress
        assert int(local.family) == socket.AF_NETLINK
        assert local.to_string() == "GNativeSocketAddress"
        # struct sockaddr_nl: family, pad, nl_pid, nl_groups
        family, _pad, nl_pid, _ = struct.unpack("=HHII", local.to_native())
        assert family == socket.AF_NETLINK and nl_pid == pid


@given(
    ip=st.ip_addresses(v=4),
    port=st.integers(0, 65535),
)
def test_ipv4_native_round_trip(ip: ipaddress.IPv4Address, port: int) -> None:
    a = InetSocketAddress(str(ip), port)
    native = a.to_native()
    assert native == struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port), ip.packed)
    back = SocketAddress.new_from_native(native)
    assert back == a and hash(back) == hash(a)
    assert isinstance(back, InetSocketAddress) and back.port == port


@given(
    ip=st.ip_addresses(v=6),
    port=st.integers(0, 65535),
    flowinfo=st.integers(0, 2**20 - 1),
    scope=st.integers(0, 2**32 - 1),
)
def test_ipv6_native_round_trip(
    ip: ipaddress.IPv6Address, port: int, flowinfo: int, scope: int
) -> None:
    a = InetSocketAddress(str(ip), port, flowinfo, scope)
    back = SocketAddress.new_from_native(a.to_native())
    assert isinstance(back, InetSocketAddress)
    if ip.ipv4_mapped is not None:
        assert back.family is V4 and str(back.address) == str(ip.ipv4_mapped)
    else:
        assert back == a
        assert (back.port, back.flowinfo, back.scope_id) == (port, flowinfo, scope)


@given(path=st.binary(min_size=1, max_size=107).filter(lambda b: b"\0" not in b))
def test_unix_path_native_round_trip(path: bytes) -> None:
    a = UnixSocketAddress(path)
    assert a.get_path_bytes() == path and a.get_path_len() == len(path)
    back = SocketAddress.new_from_native(a.to_native())
    assert isinstance(back, UnixSocketAddress)
    assert back == a and back.get_path_bytes() == path
    assert back.address_type is UnixSocketAddressType.PATH


@given(name=st.binary(max_size=106))
def test_unix_abstract_native_round_trip(name: bytes) -> None:
    a = UnixSocketAddress.new_with_type(name, UnixSocketAddressType.ABSTRACT)
    native = a.to_native()
    assert native == struct.pack("=H", socket.AF_UNIX) + b"\0" + name
    back = SocketAddress.new_from_native(native)
    assert isinstance(back, UnixSocketAddress)
    assert back == a and back.get_path_bytes() == name
    assert back.address_type is UnixSocketAddressType.ABSTRACT


# ---- UnixSocketAddress ------------------------------------------------------------------


def test_unix_path_address() -> None:
    a = UnixSocketAddress("/run/x.sock")
    assert a.family is SocketFamily.UNIX
    assert a.path == a.get_path() == "/run/x.sock"
    assert a.get_path_bytes() == b"/run/x.sock" and a.get_path_len() == 11
    assert a.address_type is a.get_address_type() is UnixSocketAddressType.PATH
    assert not a.get_is_abstract()
    assert a.get_native_size() == 110  # sizeof(struct sockaddr_un), as GIO
    assert UnixSocketAddress(pathlib.Path("/run/x.sock")) == a
    assert "PATH" in repr(a)


def test_unix_new_and_to_string_as_gio() -> None:
    a = UnixSocketAddress.new("/run/x.sock")
    assert type(a) is UnixSocketAddress and a == UnixSocketAddress("/run/x.sock")
    assert a.to_string() == "/run/x.sock"
    # Bytes that are not printable ASCII (NUL included) are written \xNN, as GIO.
    assert UnixSocketAddress(b"/tmp/\xff \x7f").to_string() == "/tmp/\\xff \\x7f"
    abstract = UnixSocketAddress.new_with_type(b"a\x01b", UnixSocketAddressType.ABSTRACT)
    assert abstract.to_string() == "a\\x01b"
    padded = SocketAddress.new_from_native(UnixSocketAddress.new_abstract("n").to_native())
    assert isinstance(padded, UnixSocketAddress)
    assert padded.to_string() == "n" + "\\x00" * 106  # the padded name keeps its NULs
    anon = UnixSocketAddress.new_with_type("", UnixSocketAddressType.ANONYMOUS)
    assert anon.to_string() == "anonymous"


def test_unix_socketpair_addresses_print_anonymous() -> None:
    a, b = socket.socketpair()
    with Socket.new_from_fd(a.detach()) as sock:
        local = sock.get_local_address()
        assert isinstance(local, UnixSocketAddress) and local.to_string() == "anonymous"
    b.close()


def test_unix_non_utf8_path_is_bytes_safe() -> None:
    raw = b"/tmp/\xff\xfe"
    a = UnixSocketAddress(raw)
    assert a.get_path_bytes() == raw
    assert os.fsencode(a.path) == raw


def test_unix_abstract_padded_and_anonymous() -> None:
    assert UnixSocketAddress.abstract_names_supported()
    p = UnixSocketAddress.new_abstract("name")
    assert p.address_type is UnixSocketAddressType.ABSTRACT_PADDED and p.get_is_abstract()
    assert p.get_native_size() == 110
    assert p.to_native()[2:8] == b"\0name\0"
    back = SocketAddress.new_from_native(p.to_native())
    assert isinstance(back, UnixSocketAddress)
    assert back.address_type is UnixSocketAddressType.ABSTRACT_PADDED
    assert back == p and back.get_path_bytes().rstrip(b"\0") == b"name"

    anon = UnixSocketAddress.new_with_type("", UnixSocketAddressType.ANONYMOUS)
    assert anon.address_type is UnixSocketAddressType.ANONYMOUS
    assert anon.get_native_size() == 2 and anon.get_path_len() == 0
    assert SocketAddress.new_from_native(anon.to_native()) == anon


def test_unix_address_limits() -> None:
    UnixSocketAddress("a" * 107)
    with pytest.raises(ValueError):
        UnixSocketAddress("a" * 108)
    with pytest.raises(ValueError):
        UnixSocketAddress("a\0b")
    with pytest.raises(ValueError):
        UnixSocketAddress.new_with_type("x", 99)
    with pytest.raises(ValueError):
        UnixSocketAddress.new_with_type("x", UnixSocketAddressType.INVALID)
    with pytest.raises(TypeError):
        UnixSocketAddress(42)  # type: ignore[arg-type]


def test_unix_full_length_path_from_kernel_is_clipped_not_an_error() -> None:
    native = struct.pack("=H", socket.AF_UNIX) + b"p" * 108
    a = SocketAddress.new_from_native(native)
    assert isinstance(a, UnixSocketAddress) and a.get_path_bytes() == b"p" * 107


# ---- address-likes accepted everywhere ---------------------------------------------------


def test_tuples_with_flowinfo_and_scope() -> None:
    with Socket(V6, SocketType.DATAGRAM) as s:
        try:
            s.bind(("::1", 0, 0, 0), False)
        except giosocket.Error as e:
            pytest.skip(f"no IPv6 loopback: {e}")
        port = s.local_address.port
        s.send_to(("::1", port), b"self")
        assert s.receive_bytes(10, 1_000_000) == b"self"


@pytest.mark.parametrize(
    ("address", "exc"),
    [
        (("localhost", 1), ValueError),
        (("1.2.3.4",), TypeError),
        (("1.2.3.4", 1, 2, 3, 4), TypeError),
        ((1234, 1), TypeError),
        (("1.2.3.4", "80"), TypeError),
        (("1.2.3.4", 70000), OverflowError),
        (("1.2.3.4", 1, 0, 1), ValueError),  # scope on IPv4
        (("::1", 1, -1, 0), OverflowError),
        (3.5, TypeError),
    ],
)
def test_bad_address_likes(address: object, exc: type[Exception]) -> None:
    with Socket(V4, SocketType.DATAGRAM) as s, pytest.raises(exc):
        s.send_to(address, b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make",
    [
        lambda: InetAddress("10.1.2.3"),
        lambda: InetAddress("fe80::1"),
        lambda: InetSocketAddress("1.2.3.4", 80),
        lambda: InetSocketAddress("fe80::1", 443, 5, 2),
        lambda: UnixSocketAddress("/run/x.sock"),
        lambda: UnixSocketAddress.new_with_type("n", UnixSocketAddressType.ABSTRACT),
        lambda: UnixSocketAddress.new_with_type("", UnixSocketAddressType.ANONYMOUS),
        lambda: SocketAddress.new_from_native(struct.pack("=H", socket.AF_PACKET) + bytes(18)),
    ],
)
def test_addresses_pickle_and_copy_as_values(make) -> None:
    import copy
    import pickle

    a = make()
    for b in (pickle.loads(pickle.dumps(a)), copy.copy(a), copy.deepcopy(a)):
        assert type(b) is type(a) and b == a and hash(b) == hash(a)
        assert repr(b) == repr(a)
