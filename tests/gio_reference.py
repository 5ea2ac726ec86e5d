"""Reference behaviour of the real GSocket, via PyGObject; prints one JSON object.

Run by tests/test_gio_compat.py under the system Python (``/usr/bin/python3``), where
``gi`` is installed; it does not import giosocket. Loopback traffic only.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import tempfile
import time
from typing import Any, Callable

import gi

gi.require_version("Gio", "2.0")
gi.require_version("GLib", "2.0")
from gi.repository import Gio, GLib

F, T, P = Gio.SocketFamily, Gio.SocketType, Gio.SocketProtocol


def code_of(fn: Callable[[], Any]) -> str:
    """Run fn; "OK" or the GIO error code's nick-free name (e.g. "CONNECTION_REFUSED")."""
    try:
        fn()
    except GLib.Error as e:
        if e.domain != "g-io-error-quark":
            return f"{e.domain}:{e.code}"
        return Gio.IOErrorEnum(e.code).value_nick.upper().replace("-", "_")
    return "OK"


def loopback(port: int = 0) -> Gio.InetSocketAddress:
    return Gio.InetSocketAddress.new(Gio.InetAddress.new_loopback(F.IPV4), port)


def new(family: Any = F.IPV4, stype: Any = T.STREAM) -> Gio.Socket:
    return Gio.Socket.new(family, stype, P.DEFAULT)


def defaults(s: Gio.Socket) -> dict[str, Any]:
    out: dict[str, Any] = {
        "blocking": s.get_blocking(),
        "timeout": s.get_timeout(),
        "listen_backlog": s.get_listen_backlog(),
        "keepalive": s.get_keepalive(),
        "family": int(s.get_family()),
        "type": int(s.get_socket_type()),
        "protocol": int(s.get_protocol()),
        "is_connected": s.is_connected(),
        "is_closed": s.is_closed(),
    }
    if s.get_family() in (F.IPV4, F.IPV6):
        out["ttl"] = s.get_ttl()
        out["broadcast"] = s.get_broadcast()
        out["multicast_loopback"] = s.get_multicast_loopback()
        out["multicast_ttl"] = s.get_multicast_ttl()
        out["speaks_ipv4"] = s.speaks_ipv4()
    if s.get_socket_type() == T.STREAM and s.get_family() != F.UNIX:
        out["tcp_nodelay"] = s.get_option(socket.IPPROTO_TCP, socket.TCP_NODELAY)[1]
    return out


def socket_defaults() -> dict[str, Any]:
    result = {}
    for fname, family in (("IPV4", F.IPV4), ("IPV6", F.IPV6), ("UNIX", F.UNIX)):
        for tname, stype in (("STREAM", T.STREAM), ("DATAGRAM", T.DATAGRAM)):
            s = new(family, stype)
            result[f"{fname}/{tname}"] = defaults(s)
            s.close()
    for fname, fam, stype in (
        ("IPV4/STREAM", socket.AF_INET, socket.SOCK_STREAM),
        ("IPV4/DATAGRAM", socket.AF_INET, socket.SOCK_DGRAM),
        ("IPV6/DATAGRAM", socket.AF_INET6, socket.SOCK_DGRAM),
        ("UNIX/STREAM", socket.AF_UNIX, socket.SOCK_STREAM),
    ):
        raw = socket.socket(fam, stype)
        s = Gio.Socket.new_from_fd(raw.detach())
        result[f"from_fd {fname}"] = defaults(s)
        s.close()
    a, b = socket.socketpair()
    s = Gio.Socket.new_from_fd(a.detach())
    result["from_fd socketpair"] = defaults(s)
    s.close()
    b.close()
    return result


def scenarios() -> dict[str, str]:
    out: dict[str, str] = {}
    # connect refused: a bound but not listening port.
    probe = new()
    probe.bind(loopback(), True)
    port = probe.get_local_address().get_port()
    c = new()
    out["connect_refused"] = code_of(lambda: c.connect(loopback(port), None))
    c.close()
    c = new()
    c.set_blocking(False)
    r = code_of(lambda: c.connect(loopback(port), None))
    c.condition_timed_wait(GLib.IOCondition.OUT, 2_000_000, None)
    out["connect_nonblocking"] = r
    out["check_connect_result_refused"] = code_of(c.check_connect_result)
    c.close()
    probe.close()

    # bind in use (TCP with reuse) vs UDP with reuse.
    a = new()
    a.bind(loopback(), True)
    a.listen()
    b = new()
    out["tcp_bind_in_use"] = code_of(lambda: b.bind(a.get_local_address(), True))
    b.close()
    u1, u2 = new(stype=T.DATAGRAM), new(stype=T.DATAGRAM)
    u1.bind(loopback(), True)
    out["udp_bind_reuse"] = code_of(lambda: u2.bind(u1.get_local_address(), True))

    # accept / receive would-block; destination unset; not connected.
    a.set_blocking(False)
    out["accept_would_block"] = code_of(lambda: a.accept(None))
    u1.set_blocking(False)
    out["receive_would_block"] = code_of(lambda: u1.receive_with_blocking(False, None))
    u3 = new(stype=T.DATAGRAM)
    out["send_destination_unset"] = code_of(lambda: u3.send(b"x", None))
    out["remote_address_not_connected"] = code_of(u3.get_remote_address)
    out["shutdown_not_connected"] = code_of(lambda: new().shutdown(True, True))
    out["listen_on_datagram"] = code_of(u3.listen)
    out["accept_not_listening"] = code_of(lambda: new().accept(None))
    out["bind_address_not_available"] = code_of(
        lambda: new(stype=T.DATAGRAM).bind(
            Gio.InetSocketAddress.new_from_string("192.0.2.1", 0), False
        )
    )
    with tempfile.TemporaryDirectory() as d:
        missing = Gio.UnixSocketAddress.new(os.path.join(d, "missing"))
        out["connect_missing_unix_path"] = code_of(lambda: new(F.UNIX).connect(missing, None))

    # timeouts
    start = time.monotonic()
    out["condition_timed_wait_timeout"] = code_of(
        lambda: u3.condition_timed_wait(GLib.IOCondition.IN, 50_000, None)
    )
    out["condition_timed_wait_ms"] = str(round((time.monotonic() - start) * 1000 / 10) * 10)
    out["condition_timed_wait_zero"] = code_of(
        lambda: u3.condition_timed_wait(GLib.IOCondition.IN, 0, None)
    )

    # cancellation
    cancellable = Gio.Cancellable.new()
    cancellable.cancel()
    for blocking in (True, False):
        a.set_blocking(blocking)
        out[f"precancelled_accept_blocking={blocking}"] = code_of(lambda: a.accept(cancellable))
        c = new()
        c.set_blocking(blocking)
        out[f"precancelled_connect_blocking={blocking}"] = code_of(
            lambda c=c: c.connect(loopback(0), cancellable)
        )
        c.close()
    out["precancelled_condition_wait"] = code_of(
        lambda: u3.condition_wait(GLib.IOCondition.OUT, cancellable)
    )

    # half-close is not HUP
    a.set_blocking(True)
    cl = new()
    cl.connect(a.get_local_address(), None)
    sv = a.accept(None)
    sv.shutdown(False, True)
    cl.set_timeout(1)
    out["half_close_hup_wait"] = code_of(
        lambda: cl.condition_timed_wait(GLib.IOCondition.HUP, 100_000, None)
    )
    out["half_close_condition_check_in_hup"] = str(
        int(cl.condition_check(GLib.IOCondition.IN | GLib.IOCondition.HUP))
    )

    # available bytes (GLib's test_get_available)
    data = b"0123456789abcdef\0"
    sv2_client = new()
    sv2_client.connect(a.get_local_address(), None)
    sv2 = a.accept(None)
    sv2_client.send(data, None)
    sv2.condition_wait(GLib.IOCondition.IN, None)
    first = sv2.get_available_bytes()
    sv2_client.send(data, None)
    for _ in range(100):
        if sv2.get_available_bytes() > first:
            break
        time.sleep(0.01)
    out["available_tcp"] = f"{first},{sv2.get_available_bytes()}"
    udp_rx, udp_tx = new(stype=T.DATAGRAM), new(stype=T.DATAGRAM)
    udp_rx.bind(loopback(), True)
    udp_tx.send_to(udp_rx.get_local_address(), data, None)
    udp_tx.send_to(udp_rx.get_local_address(), data, None)
    udp_rx.condition_wait(GLib.IOCondition.IN, None)
    time.sleep(0.05)
    seq = [udp_rx.get_available_bytes()]
    udp_rx.receive(None)
    seq.append(udp_rx.get_available_bytes())
    udp_rx.receive(None)
    seq.append(udp_rx.get_available_bytes())
    out["available_udp"] = ",".join(map(str, seq))

    # after close
    closed = new(stype=T.DATAGRAM)
    closed.close()
    out["closed_close_again"] = code_of(closed.close)
    out["closed_send"] = code_of(lambda: closed.send(b"x", None))
    out["closed_receive"] = code_of(lambda: closed.receive_with_blocking(False, None))
    out["closed_bind"] = code_of(lambda: closed.bind(loopback(), False))
    out["closed_listen"] = code_of(closed.listen)
    out["closed_accept"] = code_of(lambda: closed.accept(None))
    out["closed_connect"] = code_of(lambda: closed.connect(loopback(9), None))
    out["closed_fd"] = str(closed.get_fd())

    # state errors
    again = new()
    again.bind(loopback(), False)
    out["bind_twice"] = code_of(lambda: again.bind(loopback(), False))
    out["send_unconnected_tcp"] = code_of(lambda: new().send(b"x", None))
    out["receive_unconnected_tcp"] = code_of(lambda: new().receive_with_blocking(False, None))
    out["new_tcp_condition_check"] = str(
        int(again.condition_check(GLib.IOCondition.IN | GLib.IOCondition.OUT))
    )
    twice = new()
    twice.connect(a.get_local_address(), None)
    out["connect_twice"] = code_of(lambda: twice.connect(a.get_local_address(), None))
    a.accept(None).close()
    twice.close()
    again.close()
    udp_c = new(stype=T.DATAGRAM)
    udp_c.connect(udp_rx.get_local_address(), None)
    out["udp_connect_is_connected"] = str(udp_c.is_connected())
    udp_c.shutdown(True, True)
    out["udp_shutdown_both_is_connected"] = str(udp_c.is_connected())
    udp_c.close()

    # send on a connection the peer closed
    p1, p2 = socket.socketpair()
    g1 = Gio.Socket.new_from_fd(p1.detach())
    p2.close()
    out["send_peer_closed"] = code_of(lambda: g1.send(b"x", None))
    for s in (a, u1, u2, u3, cl, sv, sv2, sv2_client, udp_rx, udp_tx, g1):
        s.close()
    return out


ADDRESSES = [
    "0.0.0.0",
    "127.0.0.1",
    "127.1.2.3",
    "169.254.1.1",
    "10.0.0.1",
    "172.16.5.4",
    "172.32.0.1",
    "192.168.0.1",
    "224.0.0.251",
    "239.1.1.1",
    "8.8.8.8",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fec0::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "ff01::1",
    "ff02::1",
    "ff05::1:3",
    "ff08::1",
    "ff0e::1",
    "ff15::1",
    "ff00::",
]
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


def classification() -> dict[str, Any]:
    out = {}
    for text in ADDRESSES:
        a = Gio.InetAddress.new_from_string(text)
        out[text] = {
            "to_string": a.to_string(),
            "family": int(a.get_family()),
            "native_size": a.get_native_size(),
            **{p: getattr(a, "get_" + p)() for p in PREDICATES},
        }
    return out


def socket_addresses() -> dict[str, Any]:
    out = {}
    for host, port in (("1.2.3.4", 80), ("::1", 443), ("fe80::1", 1)):
        a = Gio.InetSocketAddress.new_from_string(host, port)
        out[f"{host} {port}"] = {"to_string": a.to_string(), "native_size": a.get_native_size()}
    u = Gio.UnixSocketAddress.new("/tmp/x")
    out["unix path"] = {"native_size": u.get_native_size(), "type": int(u.get_address_type())}
    ab = Gio.UnixSocketAddress.new_with_type(list(b"name"), Gio.UnixSocketAddressType.ABSTRACT)
    out["unix abstract"] = {"native_size": ab.get_native_size(), "type": int(ab.get_address_type())}
    pad = Gio.UnixSocketAddress.new_with_type(
        list(b"name"), Gio.UnixSocketAddressType.ABSTRACT_PADDED
    )
    out["unix abstract padded"] = {
        "native_size": pad.get_native_size(),
        "type": int(pad.get_address_type()),
    }
    return out


def fidelity() -> dict[str, str]:
    """Issue 12's rows 1-10: address text, native addresses, protocols, state and errors."""
    out: dict[str, str] = {}
    isa = Gio.InetSocketAddress.new_from_string
    for host, port in (("1.2.3.4", 0), ("fe80::80", 0), ("fe80::1%1", 0), ("::1", 0), ("::1", 9)):
        out[f"to_string {host} {port}"] = isa(host, port).to_string()
    for text in ("::1.2.3.4", "::0.1.2.3", "::ffff:1.2.3.4", "::102", "::1.2.0.0"):
        out[f"inet {text}"] = Gio.InetAddress.new_from_string(text).to_string()
        out[f"inet {text} port 7"] = isa(text, 7).to_string()

    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    nl.bind((0, 0))
    g = Gio.Socket.new_from_fd(nl.detach())
    local = g.get_local_address()
    out["netlink local type"] = type(local).__name__
    out["netlink local to_string"] = local.to_string()
    out["netlink protocol"] = str(int(g.get_protocol()))
    g.close()
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        pass  # not root: the key is left out on both sides
    else:
        g = Gio.Socket.new_from_fd(raw.detach())
        out["raw icmp protocol"] = str(int(g.get_protocol()))
        g.close()

    u = Gio.UnixSocketAddress
    out["unix to_string path"] = u.new("/tmp/x y").to_string()
    out["unix to_string abstract"] = u.new_with_type(
        list(b"a\x01b"), Gio.UnixSocketAddressType.ABSTRACT
    ).to_string()
    a, b = socket.socketpair()
    g = Gio.Socket.new_from_fd(a.detach())
    out["unix to_string socketpair"] = g.get_local_address().to_string()
    g.close()
    b.close()

    cancellable = Gio.Cancellable.new()
    cancellable.cancel()
    closed = new(stype=T.DATAGRAM)
    closed.close()
    out["closed+cancelled receive"] = code_of(
        lambda: closed.receive_with_blocking(True, cancellable)
    )
    out["closed+cancelled condition_wait"] = code_of(
        lambda: closed.condition_wait(GLib.IOCondition.IN, cancellable)
    )
    out["closed+cancelled connect"] = code_of(lambda: closed.connect(loopback(9), cancellable))

    def remote_text(sock: Gio.Socket) -> str:
        code = code_of(sock.get_remote_address)
        return sock.get_remote_address().to_string() if code == "OK" else code

    probe = new()
    probe.bind(loopback(), True)
    port = probe.get_local_address().get_port()
    c = new()
    code_of(lambda: c.connect(loopback(port), None))  # refused after EINPROGRESS
    out["remote after refused tcp connect"] = remote_text(c)
    c.close()
    probe.close()
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "missing")
        c = new(F.UNIX)
        code_of(lambda: c.connect(Gio.UnixSocketAddress.new(missing), None))  # ENOENT at once
        out["remote after failed unix connect"] = remote_text(c).replace(d, "<dir>")
        c.close()
    udp = new(stype=T.DATAGRAM)
    udp.connect(loopback(9), None)
    out["remote after udp connect"] = remote_text(udp)
    udp.close()

    ia = Gio.InetAddress.new_from_string
    s4 = new(F.IPV4, T.DATAGRAM)
    s4.bind(Gio.InetSocketAddress.new_from_string("0.0.0.0", 0), True)
    s6 = new(F.IPV6, T.DATAGRAM)
    s6.bind(Gio.InetSocketAddress.new_from_string("::", 0), True)
    out["ssm v6 long iface"] = code_of(
        lambda: s6.join_multicast_group_ssm(ia("ff3e::1"), ia("fd00::1"), "x" * 20)
    )
    out["ssm v4 long iface"] = code_of(
        lambda: s4.join_multicast_group_ssm(ia("232.1.1.1"), ia("10.0.0.1"), "x" * 20)
    )
    out["ssm v6 group v4 source"] = code_of(
        lambda: s6.join_multicast_group_ssm(ia("ff3e::1"), ia("10.0.0.1"), None)
    )
    out["ssm v4 group v6 source"] = code_of(
        lambda: s4.join_multicast_group_ssm(ia("232.1.1.1"), ia("fd00::1"), None)
    )
    out["v6 group on v4 socket"] = code_of(
        lambda: s4.join_multicast_group(ia("ff02::1:3"), False, None)
    )
    s4.close()
    s6.close()

    listener = new()
    listener.bind(loopback(), True)
    listener.set_listen_backlog(7)
    listener.listen()
    listener.set_listen_backlog(55)  # GLib logs a critical and ignores it
    out["listen_backlog after listen"] = str(listener.get_listen_backlog())
    listener.close()
    return out


def main() -> None:
    report = {
        "glib_version": [GLib.MAJOR_VERSION, GLib.MINOR_VERSION, GLib.MICRO_VERSION],
        "errno": {
            str(e): Gio.IOErrorEnum(Gio.io_error_from_errno(e)).value_nick.upper().replace("-", "_")
            for e in range(134)
        },
        "defaults": socket_defaults(),
        "scenarios": scenarios(),
        "classification": classification(),
        "socket_addresses": socket_addresses(),
        "fidelity": fidelity(),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    assert errno.EAGAIN == 11  # Linux numbering, like the comparison expects
    main()
