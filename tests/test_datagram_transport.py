"""giosocket's DatagramTransport against asyncio's own DatagramTransport contract.

Each scenario runs twice on the same kind of loop (default asyncio loop, uvloop): once with the
loop's own ``create_datagram_endpoint`` and once with ``giosocket.aio.create_datagram_endpoint``.
The protocol records every callback it gets; the two recordings (ports and paths replaced by
names) must be equal. Scenarios asyncio cannot express (batch callback, DESTINATION_UNSET) are
checked on giosocket alone.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Callable

import conftest
import giosocket
import pytest
from giosocket import IOErrorEnum
from giosocket import aio as gaio
from transport_contract import Make, Recorder, both, pair, port_of, run


@pytest.mark.parametrize(
    ("server_host", "client_host"),
    [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("::", "127.0.0.1")],
    ids=["ipv4", "ipv6", "dual-stack"],
)
def test_unconnected_exchange_same_callbacks(
    loop_kind: str, server_host: str, client_host: str
) -> None:
    if ":" in server_host and not conftest.has_ipv6():
        pytest.skip("no IPv6 loopback on this machine")

    async def scenario(make: Make) -> tuple[list[Any], list[Any], Any, Any]:
        server_t, server, client_t, client = await pair(
            make, server_host, local_addr=(client_host, 0)
        )
        target = (client_host, port_of(server_t))
        payloads = [b"%d" % i * (1 + i % 7) for i in range(40)]
        for data in payloads:
            client_t.sendto(data, target)
        await server.wait_for(len(payloads))
        # reply to the address exactly as the server's transport reported it
        assert len(set(server.sources)) == 1
        reply_to = server.sources[0]
        for data in payloads:
            server_t.sendto(data.upper(), reply_to)
        await client.wait_for(len(payloads))
        extras = (
            server.label(server_t.get_extra_info("sockname")),
            server.label(server_t.get_extra_info("peername")),
        )
        client_t.close()
        server_t.close()
        await asyncio.gather(client.lost, server.lost)
        return server.events, client.events, extras, reply_to[0], len(reply_to)

    own, mine = both(loop_kind, scenario)
    assert mine == own
    assert own[0][1][0] == "data"


def test_connected_endpoint(loop_kind: str) -> None:
    async def scenario(make: Make) -> tuple[Any, ...]:
        names: dict[Any, str] = {}
        server_t, server = await make(lambda: Recorder(names), local_addr=("127.0.0.1", 0))
        names[port_of(server_t)] = "server"
        client_t, client = await make(
            lambda: Recorder(names), remote_addr=("127.0.0.1", port_of(server_t))
        )
        names[port_of(client_t)] = "client"
        client_t.sendto(b"no address")
        client_t.sendto(b"the peer's address", ("127.0.0.1", port_of(server_t)))
        with pytest.raises(ValueError):
            client_t.sendto(b"elsewhere", ("127.0.0.1", 9))
        await server.wait_for(2)
        reply_to = server.events[1][2]
        server_t.sendto(b"reply", ("127.0.0.1", port_of(client_t)))
        await client.wait_for(1)
        peer = client.label(client_t.get_extra_info("peername"))
        assert reply_to == ("127.0.0.1", "client")
        client_t.close()
        server_t.close()
        await asyncio.gather(client.lost, server.lost)
        return server.events, client.events, peer

    own, mine = both(loop_kind, scenario)
    assert mine == own
    assert own[2] == ("127.0.0.1", "server")


def _unix_scenario(directory: Path, abstract: bool) -> Callable[[Make], Coroutine[Any, Any, Any]]:
    async def scenario(make: Make) -> tuple[Any, ...]:
        tag = os.urandom(4).hex()
        server_path: Any = f"\0giosocket-test-{tag}" if abstract else str(directory / f"s{tag}")
        client_path: Any = f"\0giosocket-test-c{tag}" if abstract else str(directory / f"c{tag}")
        names: dict[Any, str] = {}
        server_t, server = await make(
            lambda: Recorder(names), local_addr=server_path, family=socket.AF_UNIX
        )
        client_t, client = await make(
            lambda: Recorder(names),
            local_addr=client_path,
            remote_addr=server_path,
            family=socket.AF_UNIX,
        )
        for key in (server_t.get_extra_info("sockname"), server_path):
            names[key] = "server"
        for key in (client_t.get_extra_info("sockname"), client_path):
            names[key] = "client"
        for i in range(10):
            client_t.sendto(b"unix %d" % i)
        await server.wait_for(10)
        server_t.sendto(b"back", client_path)
        await client.wait_for(1)
        extras = [
            server.label(t.get_extra_info(k))
            for t in (server_t, client_t)
            for k in ("sockname", "peername")
        ]
        raw = [t.get_extra_info("sockname") for t in (server_t, client_t)]
        client_t.close()
        server_t.close()
        await asyncio.gather(client.lost, server.lost)
        return server.events, client.events, extras, [type(r).__name__ for r in raw]

    return scenario


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_unix_datagram(loop_kind: str, tmp_path: Path, abstract: bool) -> None:
    own, mine = both(loop_kind, _unix_scenario(tmp_path, abstract), reference="asyncio")
    assert mine == own
    assert own[0][1] == ("data", b"unix 0", "client")


def test_unix_unbound_sender_is_reported_as_asyncio_does(loop_kind: str, tmp_path: Path) -> None:
    async def scenario(make: Make) -> list[Any]:
        path = str(tmp_path / f"u{os.urandom(4).hex()}")
        server_t, server = await make(Recorder, local_addr=path, family=socket.AF_UNIX)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"anonymous", path)
        await server.wait_for(1)
        server_t.close()
        await server.lost
        return server.events

    own, mine = both(loop_kind, scenario, reference="asyncio")
    assert mine == own


def test_flow_control_pause_resume_at_limits(loop_kind: str, tmp_path: Path) -> None:
    """A UNIX datagram peer that does not read fills up: the sender pauses above the high-water
    mark and resumes at the low one once the peer drains; every datagram arrives, in order."""

    async def scenario(make: Make) -> tuple[list[Any], list[bytes], bool]:
        path = str(tmp_path / f"f{os.urandom(4).hex()}")
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        peer.bind(path)
        peer.setblocking(False)
        try:
            client_t, client = await make(Recorder, remote_addr=path, family=socket.AF_UNIX)
            client_t.set_write_buffer_limits(high=4096, low=1024)
            assert client_t.get_write_buffer_limits() == (1024, 4096)
            sent: list[bytes] = []
            for i in range(2000):
                if ("pause",) in client.events:
                    break
                data = b"%06d" % i + b"." * 500
                client_t.sendto(data)
                sent.append(data)
                if i % 16 == 15:
                    await asyncio.sleep(0)
            paused = ("pause",) in client.events
            over_high = client_t.get_write_buffer_size() > 4096
            received: list[bytes] = []
            for _ in range(2000):  # drain the peer until the sender has nothing queued
                try:
                    received.append(peer.recv(4096))
                except BlockingIOError:
                    if client_t.get_write_buffer_size() == 0 and len(received) == len(sent):
                        break
                    await asyncio.sleep(0.002)
            client_t.close()
            await client.lost
            assert received == sent
            return client.events, [], paused and over_high
        finally:
            peer.close()

    own, mine = both(loop_kind, scenario, reference="asyncio")
    assert own[2] and mine[2]
    assert mine[0] == own[0] == [("made",), ("pause",), ("resume",), ("lost", None)]


def test_close_sends_queue_then_loses_abort_discards(loop_kind: str, tmp_path: Path) -> None:
    async def scenario(make: Make) -> tuple[tuple[Any, ...], list[int]]:
        path = str(tmp_path / f"c{os.urandom(4).hex()}")
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        peer.bind(path)
        peer.setblocking(False)
        try:
            results = []
            for how in ("close", "abort"):
                transport, proto = await make(Recorder, remote_addr=path, family=socket.AF_UNIX)
                count = 0
                while count < 5000:  # until the kernel refuses some (the peer does not read)
                    for _ in range(16):
                        transport.sendto(b"%05d" % count + b"x" * 200)
                        count += 1
                    await asyncio.sleep(0)
                    if transport.get_write_buffer_size() > 0:
                        break
                assert transport.get_write_buffer_size() > 0
                getattr(transport, how)()
                assert transport.is_closing()
                transport.sendto(b"after close: sent while draining, discarded once aborted")
                received = 0
                for _ in range(3000):
                    try:
                        peer.recv(4096)
                        received += 1
                    except BlockingIOError:
                        if proto.lost.done():
                            break
                        await asyncio.sleep(0.002)
                await proto.lost
                left = transport.get_write_buffer_size()  # asyncio's abort leaves a stale count
                results.append((proto.events, received == count + 1, received < count, left))
            common = (results[0][0], results[1][0], results[0][1], results[1][2])
            return common, [r[3] for r in results]
        finally:
            peer.close()

    (own, _own_left), (mine, mine_left) = both(loop_kind, scenario, reference="asyncio")
    assert mine == own
    assert own[2] and own[3]  # close delivered all, abort dropped what the kernel refused
    assert own[0][-1] == own[1][-1] == ("lost", None)
    # Nothing is left queued once the protocol saw connection_lost (asyncio's own transport is
    # not checked here: its count after close differs between Python versions, e.g. 3.13).
    assert mine_left == [0, 0]


def test_errors_reach_error_received(loop_kind: str) -> None:
    async def scenario(make: Make) -> tuple[list[Any], list[Any]]:
        # nobody listens on this port: ICMP port unreachable -> ECONNREFUSED on the socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        transport, proto = await make(Recorder, remote_addr=("127.0.0.1", closed_port))
        for _ in range(200):
            transport.sendto(b"anyone?")
            await asyncio.sleep(0.005)
            if any(e[0] == "error" for e in proto.events):
                break
        refused = [e for e in proto.events if e[0] == "error"][:1]
        # too large for UDP: EMSGSIZE for that datagram only, the next one goes
        big_t, big = await make(Recorder, local_addr=("127.0.0.1", 0))
        big_t.sendto(b"x" * 70000, big_t.get_extra_info("sockname"))
        big_t.sendto(b"small", big_t.get_extra_info("sockname"))
        await big.wait_for(1)
        for t, p in ((transport, proto), (big_t, big)):
            t.close()
            await p.lost
        return refused, [(e[0], e[1]) if e[0] == "data" else e for e in big.events]

    own, mine = both(loop_kind, scenario)
    assert own[0] == [("error", "ConnectionRefusedError", errno.ECONNREFUSED)]
    assert mine == own


def test_destination_unset_reaches_error_received(loop_kind: str) -> None:
    async def main() -> tuple[list[Any], Any]:
        transport, proto = await gaio.create_datagram_endpoint(
            Recorder, local_addr=("127.0.0.1", 0)
        )
        errors: list[Any] = []
        proto.error_received = errors.append  # type: ignore[method-assign]
        transport.sendto(b"where to?")
        transport.sendto(b"to myself", transport.get_extra_info("sockname"))
        await proto.wait_for(1)
        assert not transport.is_closing()
        transport.close()
        await proto.lost
        return errors, proto.data

    errors, data = run(loop_kind, main())
    assert len(errors) == 1 and isinstance(errors[0], giosocket.Error)
    assert errors[0].code == IOErrorEnum.DESTINATION_UNSET
    assert data == [b"to myself"]


def test_sendto_copies_and_keeps_order_across_coalescing(loop_kind: str) -> None:
    """Mixed sizes and two destinations in one iteration (so GSO runs start and stop): each
    receiver gets its datagrams in order and unchanged by later edits of the buffer."""

    async def main() -> tuple[list[bytes], list[bytes], list[bytes], list[bytes]]:
        a_t, a = await gaio.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        b_t, b = await gaio.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        s_t, _ = await gaio.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        to_a: list[bytes] = []
        to_b: list[bytes] = []
        buffer = bytearray(1200)
        for i in range(150):
            size = 1200 if i % 13 else 300  # runs of equal sizes ended by a shorter one
            buffer[:8] = b"%08d" % i
            data = bytes(buffer[:size])
            dest, log = (a_t, to_a) if (i // 20) % 2 == 0 else (b_t, to_b)
            s_t.sendto(memoryview(buffer)[:size], dest.get_extra_info("sockname"))
            buffer[:8] = b"CHANGED!"
            log.append(data)
        await a.wait_for(len(to_a))
        await b.wait_for(len(to_b))
        for t, p in ((a_t, a), (b_t, b)):
            t.close()
            await p.lost
        s_t.close()
        return a.data, to_a, b.data, to_b

    got_a, want_a, got_b, want_b = run(loop_kind, main())
    assert got_a == want_a
    assert got_b == want_b
