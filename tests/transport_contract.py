"""What the DatagramTransport tests share: running a scenario on a loop kind, running it once
with the loop's own ``create_datagram_endpoint`` and once with giosocket's (``both``), and a
protocol recording every callback (``Recorder``). The ``loop_kind`` fixture is in conftest.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Callable, TypeVar

import pytest
from giosocket import aio as gaio

T = TypeVar("T")
Make = Callable[..., Coroutine[Any, Any, tuple[Any, Any]]]


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "asyncio":
        return asyncio.new_event_loop
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (pip install uvloop)")
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def run(kind: str, coro: Coroutine[Any, Any, T]) -> T:
    loop = loop_factory(kind)()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 20))
    finally:
        loop.close()


def both(
    kind: str, scenario: Callable[[Make], Coroutine[Any, Any, T]], reference: str | None = None
) -> tuple[T, T]:
    """``scenario`` with the loop's own endpoint factory, then with giosocket's on ``kind``.

    ``reference`` names another loop kind for the first run: uvloop's create_datagram_endpoint
    takes no AF_UNIX addresses, so UNIX scenarios compare against the default loop.
    """

    async def own() -> T:
        return await scenario(asyncio.get_running_loop().create_datagram_endpoint)

    return run(reference or kind, own()), run(kind, scenario(gaio.create_datagram_endpoint))


class Recorder(asyncio.DatagramProtocol):
    """Records the callbacks, in order; ``names`` turns addresses into stable labels."""

    def __init__(self, names: dict[Any, str] | None = None) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.names = names if names is not None else {}
        self.transport: Any = None
        self.data: list[bytes] = []
        self.sources: list[Any] = []
        self.arrived = asyncio.Event()
        self.expect = 0
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def label(self, addr: Any) -> Any:
        if isinstance(addr, tuple):
            return (addr[0], self.names.get(addr[1], "?"), *addr[2:])
        return self.names.get(addr, addr)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.events.append(("made",))

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert type(data) is bytes
        self.events.append(("data", data, self.label(addr)))
        self.data.append(data)
        self.sources.append(addr)
        if len(self.data) >= self.expect:
            self.arrived.set()

    def error_received(self, exc: Exception) -> None:
        builtin = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        self.events.append(("error", builtin.__name__, exc.errno))

    def pause_writing(self) -> None:
        self.events.append(("pause",))

    def resume_writing(self) -> None:
        self.events.append(("resume",))

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append(("lost", exc))
        self.lost.set_result(exc)

    async def wait_for(self, count: int) -> None:
        self.expect = count
        if len(self.data) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)


def port_of(transport: Any) -> int:
    return int(transport.get_extra_info("sockname")[1])


async def pair(make: Make, host: str, **client_kw: Any) -> tuple[Any, Recorder, Any, Recorder]:
    names: dict[Any, str] = {}
    server_t, server = await make(lambda: Recorder(names), local_addr=(host, 0))
    names[port_of(server_t)] = "server"
    client_t, client = await make(lambda: Recorder(names), **client_kw)
    names[port_of(client_t)] = "client"
    return server_t, server, client_t, client
