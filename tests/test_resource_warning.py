"""A Socket garbage-collected without ``close()`` warns ``ResourceWarning``, as ``socket.socket``.

The descriptor is closed either way; closed sockets (``close()``, ``with``) never warn. The whole
suite is expected to run clean under ``python -X dev -W error::ResourceWarning -m pytest``.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import warnings

import pytest
from conftest import tcp_pair
from giosocket import Socket, SocketFamily, SocketType


def _drop() -> int:
    """Make a datagram socket, forget it unclosed; return its fd number."""
    s = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    fd = s.fileno()
    del s
    gc.collect()
    return fd


def _accept_and_forget() -> None:
    """Accept a connection and drop the accepted socket unclosed (the others are closed)."""
    listener, client, server = tcp_pair()
    listener.close()
    client.close()
    del server


def test_an_unclosed_socket_warns_and_its_fd_is_closed(no_fd_leak: None) -> None:
    with pytest.warns(ResourceWarning, match=r"unclosed <giosocket\.Socket fd=\d+>") as caught:
        fd = _drop()
    assert [str(w.message) for w in caught] == [f"unclosed <giosocket.Socket fd={fd}>"]


def test_closed_sockets_do_not_warn(no_fd_leak: None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        s = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
        s.close()
        del s
        with Socket(SocketFamily.IPV4, SocketType.STREAM):
            pass
        listener, client, server = tcp_pair()
        for x in (listener, client, server):
            x.close()
        del listener, client, server
        gc.collect()


def test_an_accepted_socket_left_open_warns(no_fd_leak: None) -> None:
    with pytest.warns(ResourceWarning, match="unclosed <giosocket.Socket"):
        _accept_and_forget()


def test_warning_as_error_is_reported_not_raised() -> None:
    """Under ``-W error::ResourceWarning`` a destructor cannot raise: the error is reported
    (``sys.unraisablehook``) and the program goes on."""
    code = (
        "import gc, giosocket as g\n"
        "s = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)\n"
        "del s\n"
        "gc.collect()\n"
        "print('still running')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONDEVMODE": ""},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "still running\n"
    assert "ResourceWarning: unclosed <giosocket.Socket fd=" in done.stderr
