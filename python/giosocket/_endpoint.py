"""``giosocket.aio.create_datagram_endpoint`` and ``install``/``uninstall`` (asyncio's API).

The endpoint is made as ``loop.create_datagram_endpoint`` makes it (same resolution, same
checks, same errors), over a ``giosocket.Socket``, and served by the batching
:class:`~giosocket._transport.DatagramTransport`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket as _socket
import stat
from typing import Any, Callable

from ._enums import SocketType
from ._giosocket import Socket
from ._transport import DatagramTransport

__all__ = ["create_datagram_endpoint", "install", "uninstall"]

logger = logging.getLogger("giosocket.aio")

_ProtocolFactory = Callable[[], asyncio.BaseProtocol]
_MAX_BATCH = 1024


async def _resolve(
    loop: asyncio.AbstractEventLoop, address: Any, family: int, proto: int, flags: int
) -> list[tuple[int, int, Any]]:
    """``[(family, proto, sockaddr)]`` for a (host, port) tuple: numeric hosts without a thread."""
    if not (isinstance(address, tuple) and len(address) == 2):
        raise TypeError("2-tuple is expected")
    host, port = address
    numeric = _socket.AI_NUMERICHOST | _socket.AI_NUMERICSERV
    try:
        infos = _socket.getaddrinfo(host, port, family, _socket.SOCK_DGRAM, proto, flags | numeric)
    except (_socket.gaierror, UnicodeError):
        infos = await loop.getaddrinfo(
            host, port, family=family, type=_socket.SOCK_DGRAM, proto=proto, flags=flags
        )
    if not infos:
        raise OSError("getaddrinfo() returned empty list")
    return [(fam, pro, sockaddr) for fam, _, pro, _, sockaddr in infos]


def _remove_stale_unix_socket(path: Any) -> None:
    if isinstance(path, (str, bytes)) and path[:1] not in ("\0", b"\0"):
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)


def _adopt(sock: Any) -> Socket:
    """The giosocket.Socket for ``sock=`` (a stdlib socket is detached into one)."""
    if isinstance(sock, Socket):
        if sock.type != SocketType.DATAGRAM:
            raise ValueError(f"A UDP Socket was expected, got {sock!r}")
        return sock
    if not isinstance(sock, _socket.socket) or sock.type != _socket.SOCK_DGRAM:
        raise ValueError(f"A UDP Socket was expected, got {sock!r}")
    fd = sock.detach()
    try:
        return Socket.new_from_fd(fd)
    except BaseException:
        os.close(fd)  # not taken over: it is still ours to close
        raise


async def _open_socket(
    loop: asyncio.AbstractEventLoop,
    local_addr: Any,
    remote_addr: Any,
    family: int,
    proto: int,
    flags: int,
    reuse_port: bool | None,
    allow_broadcast: bool | None,
) -> tuple[Socket, Any]:
    """The socket and remote address, as ``loop.create_datagram_endpoint`` makes them."""
    pairs: list[tuple[int, int, Any, Any]]  # family, proto, local, remote
    if not (local_addr or remote_addr):
        if family == 0:
            raise ValueError("unexpected address family")
        pairs = [(family, proto, None, None)]
    elif family == _socket.AF_UNIX:
        for addr in (local_addr, remote_addr):
            if addr is not None and not isinstance(addr, str):
                raise TypeError("string is expected")
        if local_addr:
            _remove_stale_unix_socket(local_addr)
        pairs = [(family, proto, local_addr, remote_addr)]
    else:
        by_key: dict[tuple[int, int], list[Any]] = {}
        for index, addr in ((0, local_addr), (1, remote_addr)):
            if addr is not None:
                for fam, pro, sockaddr in await _resolve(loop, addr, family, proto, flags):
                    by_key.setdefault((fam, pro), [None, None])
                    if by_key[(fam, pro)][index] is None:
                        by_key[(fam, pro)][index] = sockaddr
        pairs = [
            (fam, pro, local, remote)
            for (fam, pro), (local, remote) in by_key.items()
            if not ((local_addr and local is None) or (remote_addr and remote is None))
        ]
        if not pairs:
            raise ValueError("can not get address information")
    # The socket is made, bound and connected with the stdlib exactly as asyncio does (GIO's
    # bind would set SO_REUSEADDR/SO_REUSEPORT its own way), then handed to giosocket.
    errors: list[OSError] = []
    for fam, pro, local, remote in pairs:
        sock = None
        try:
            sock = _socket.socket(fam, _socket.SOCK_DGRAM, pro)
            if reuse_port:
                if not hasattr(_socket, "SO_REUSEPORT"):
                    raise ValueError("reuse_port not supported by socket module")
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEPORT, 1)
            if allow_broadcast:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_BROADCAST, 1)
            sock.setblocking(False)
            if local_addr:
                sock.bind(local)
            if remote_addr and not allow_broadcast:
                await loop.sock_connect(sock, remote)
            return _adopt(sock), remote if remote_addr else None
        except OSError as exc:
            if sock is not None:
                sock.close()
            errors.append(exc)
        except BaseException:
            if sock is not None:
                sock.close()
            raise
    raise errors[0]


async def create_datagram_endpoint(
    protocol_factory: _ProtocolFactory,
    local_addr: Any = None,
    remote_addr: Any = None,
    *,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    reuse_port: bool | None = None,
    allow_broadcast: bool | None = None,
    sock: Any = None,
    batch: int = 64,
) -> tuple[DatagramTransport, asyncio.BaseProtocol]:
    """``loop.create_datagram_endpoint`` with a batching giosocket transport (on the running loop).

    Same parameters and result as asyncio's, plus ``batch``: the most datagrams one wake-up
    receives (one ``recvmmsg``). ``sock`` may be a ``giosocket.Socket`` or a stdlib socket; the
    transport owns it.
    """
    return await _endpoint(
        asyncio.get_running_loop(),
        protocol_factory,
        local_addr,
        remote_addr,
        family=family,
        proto=proto,
        flags=flags,
        reuse_port=reuse_port,
        allow_broadcast=allow_broadcast,
        sock=sock,
        batch=batch,
    )


async def _endpoint(
    loop: asyncio.AbstractEventLoop,
    protocol_factory: _ProtocolFactory,
    local_addr: Any = None,
    remote_addr: Any = None,
    *,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    reuse_port: bool | None = None,
    allow_broadcast: bool | None = None,
    sock: Any = None,
    batch: int = 64,
) -> tuple[DatagramTransport, asyncio.BaseProtocol]:
    if not isinstance(batch, int) or not 1 <= batch <= _MAX_BATCH:
        raise ValueError(f"batch must be an int in range(1, {_MAX_BATCH + 1}), not {batch!r}")
    remote: Any = None
    if sock is not None:
        options = {
            "local_addr": local_addr,
            "remote_addr": remote_addr,
            "family": family,
            "proto": proto,
            "flags": flags,
            "reuse_port": reuse_port,
            "allow_broadcast": allow_broadcast,
        }
        if isinstance(sock, (Socket, _socket.socket)) and sock.type not in (
            SocketType.DATAGRAM,
            _socket.SOCK_DGRAM,
        ):
            raise ValueError(f"A UDP Socket was expected, got {sock!r}")
        problems = ", ".join(f"{k}={v}" for k, v in options.items() if v)
        if problems:
            raise ValueError(
                "socket modifier keyword arguments can not be used when sock is specified. "
                f"({problems})"
            )
        gsock = _adopt(sock)
    else:
        gsock, remote = await _open_socket(
            loop, local_addr, remote_addr, family, proto, flags, reuse_port, allow_broadcast
        )
    try:
        protocol = protocol_factory()
        waiter: asyncio.Future[None] = loop.create_future()
        transport = DatagramTransport(loop, gsock, protocol, remote, batch, waiter)
    except BaseException:
        gsock.close()
        raise
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    return transport, protocol


_INSTALLED = "__giosocket_installed__"


def install(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Make ``loop.create_datagram_endpoint`` return giosocket transports (None: running loop).

    Libraries calling ``loop.create_datagram_endpoint`` (aioquic, aiocoap, ...) then batch their
    datagrams without code changes. Installing twice is harmless; :func:`uninstall` undoes it.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    if getattr(getattr(loop, "create_datagram_endpoint", None), _INSTALLED, False):
        return

    async def create_datagram_endpoint(
        protocol_factory: _ProtocolFactory,
        local_addr: Any = None,
        remote_addr: Any = None,
        **kwargs: Any,
    ) -> tuple[DatagramTransport, asyncio.BaseProtocol]:
        return await _endpoint(loop, protocol_factory, local_addr, remote_addr, **kwargs)

    setattr(create_datagram_endpoint, _INSTALLED, True)
    try:
        loop.create_datagram_endpoint = create_datagram_endpoint  # type: ignore[method-assign,assignment]
    except AttributeError:
        raise TypeError(f"cannot install giosocket on {loop!r} (no instance attributes)") from None


def uninstall(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Give ``loop`` its own ``create_datagram_endpoint`` back (None: the running loop).

    Endpoints made meanwhile keep their giosocket transports.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    installed = vars(loop).get("create_datagram_endpoint") if hasattr(loop, "__dict__") else None
    if getattr(installed, _INSTALLED, False):
        del loop.create_datagram_endpoint
