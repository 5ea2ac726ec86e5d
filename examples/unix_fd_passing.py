"""Hand an open file descriptor to another process over a UNIX socket (SCM_RIGHTS).

    python examples/unix_fd_passing.py

The parent forks a child, creates a pipe *after* the fork (so the child cannot inherit it) and
passes the pipe's write end through a UnixConnection; the child writes into the received fd and
then sends its credentials, which the parent checks against the child's pid.
"""

from __future__ import annotations

import os
import socket

from giosocket import Socket, UnixConnection


def connection(sock: socket.socket) -> UnixConnection:
    conn = Socket.new_from_fd(sock.detach()).connection_factory_create_connection()
    assert isinstance(conn, UnixConnection)
    return conn


def child(conn: UnixConnection) -> None:
    fd = conn.receive_fd()
    os.write(fd, f"hello from the child, pid {os.getpid()}\n".encode())
    os.close(fd)
    conn.send_credentials()


def main() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        a.close()
        try:
            child(connection(b))
        finally:
            os._exit(0)
    b.close()
    with connection(a) as conn:
        read_end, write_end = os.pipe()
        conn.send_fd(write_end)
        os.close(write_end)  # the child now holds the only write end
        with os.fdopen(read_end) as pipe:
            print("parent read:", pipe.read().strip())
        creds = conn.receive_credentials()
        print(f"peer credentials: pid={creds.pid} uid={creds.uid} (child pid {pid})")
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
