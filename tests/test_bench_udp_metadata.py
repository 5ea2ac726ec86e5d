"""benches/udp_metadata.py runs end to end (one tiny round; no timing checks), and its native
reference loop counts what it receives correctly."""

from __future__ import annotations

import pathlib
import socket
import struct
import subprocess
import sys

import giosocket as g
import pytest
from conftest import bound_udp
from giosocket import _giosocket as native

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benches" / "udp_metadata.py"
HAS_NATIVE = hasattr(native, "_bench_udp_recv_meta")


def test_script_runs_and_prints_every_contender() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "1", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("gro py b8", "gro py b64", "batch py off", "batch py on+read"):
        assert name in proc.stdout
    if HAS_NATIVE:
        assert "GRO batch 8: python / native" in proc.stdout
        assert "python excess over native" in proc.stdout
    else:
        assert "native reference loops are unavailable" in proc.stdout


@pytest.mark.skipif(not HAS_NATIVE, reason="built without the cargo feature bench")
@pytest.mark.parametrize("gro", [True, False], ids=["gro", "plain"])
def test_native_loop_counts_datagrams(sockets: list[g.Socket], gro: bool) -> None:
    if not g.UdpSegmentMessage.is_supported():
        pytest.skip("this kernel lacks UDP_SEGMENT (UDP GSO)")
    rx = bound_udp(sockets, g.SocketFamily.IPV4, "127.0.0.1")
    rx.set_option(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    try:
        rx.set_udp_gro(gro)
    except g.Error as exc:
        pytest.skip(f"this kernel lacks UDP_GRO: {exc}")
    address = rx.local_address
    assert isinstance(address, g.InetSocketAddress)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for _ in range(10):
            tx.sendmsg(
                [bytes(64 * 16)],
                [(socket.SOL_UDP, 103, struct.pack("H", 64))],
                0,
                ("127.0.0.1", address.port),
            )
    packets, size, _, _ = native._bench_udp_recv_meta(rx.fileno(), 65536, 8, True, 5.0)
    assert (packets, size) == (160, 64 * 160)
