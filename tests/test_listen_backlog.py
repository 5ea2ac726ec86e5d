"""listen_backlog: used by listen(); setting it once the socket listens has no effect (GIO)."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest
from giosocket import Socket, SocketFamily, SocketType


def _accept_queue_limit(sock: Socket) -> int:
    """The backlog the kernel holds for a listening TCP socket (`ss -ltn`'s Send-Q)."""
    port = sock.get_local_address().port  # type: ignore[attr-defined]
    out = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    # State Recv-Q Send-Q Local-Address:Port Peer-Address:Port
    assert out[0] == "LISTEN", out
    return int(out[2])


needs_ss = pytest.mark.skipif(
    shutil.which("ss") is None, reason="ss (iproute2) is not installed: apt-get install iproute2"
)


@needs_ss
def test_backlog_set_before_listen_is_used() -> None:
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as sock:
        assert sock.get_listen_backlog() == 10
        sock.set_listen_backlog(7)
        sock.bind(("127.0.0.1", 0), True)
        sock.listen()
        assert sock.listen_backlog == 7
        assert _accept_queue_limit(sock) == 7


@needs_ss
def test_backlog_set_after_listen_has_no_effect() -> None:
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as sock:
        sock.bind(("127.0.0.1", 0), True)
        sock.listen()
        sock.set_listen_backlog(55)
        sock.listen_backlog = 56
        # GIO's g_return_if_fail (!listening): the value stays, and so does the kernel's.
        assert sock.get_listen_backlog() == 10
        assert _accept_queue_limit(sock) == 10
    # Sockets that are not listening take the value.
    with Socket(SocketFamily.IPV4, SocketType.STREAM) as fresh:
        fresh.set_listen_backlog(55)
        assert fresh.get_listen_backlog() == 55
    raw = socket.socket()
    with Socket.new_from_fd(raw.detach()) as wrapped:
        wrapped.set_listen_backlog(3)
        assert wrapped.get_listen_backlog() == 3
