"""giosocket's DatagramTransport: delivery (batches, truncation, raising protocols, pause and
set_protocol in mid-batch, the lone reply), sockets and endpoint options, GSO, closing.

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
import sys
from pathlib import Path
from typing import Any

import giosocket
import pytest
from giosocket import aio as gaio
from transport_contract import Make, Recorder, both, port_of, run

needs_asyncio_pause_reading = pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="asyncio's own datagram transport, the reference here, has pause_reading from 3.11",
)


def test_batch_callback_gets_a_full_batch(loop_kind: str) -> None:
    class Batches(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[tuple[bytes, Any]]] = []

        def datagrams_received(self, batch: list[tuple[bytes, Any]]) -> None:
            self.batches.append(batch)
            for data, addr in batch:
                self.datagram_received(data, addr)

    async def main() -> tuple[list[int], list[bytes], set[Any], Any]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.bind(("127.0.0.1", 0))
            transport, proto = await gaio.create_datagram_endpoint(
                Batches, local_addr=("127.0.0.1", 0), batch=64
            )
            transport.pause_reading()
            sent = [b"batch %d" % i for i in range(100)]
            for data in sent:
                raw.sendto(data, transport.get_extra_info("sockname"))
            transport.resume_reading()
            await proto.wait_for(100)
            # after a quiet wake-up (one datagram) a burst still comes as a full batch
            raw.sendto(b"alone", transport.get_extra_info("sockname"))
            await proto.wait_for(101)
            transport.pause_reading()
            for data in sent:
                raw.sendto(data, transport.get_extra_info("sockname"))
            transport.resume_reading()
            await proto.wait_for(201)
            sources = {addr for batch in proto.batches for _, addr in batch}
            transport.close()
            await proto.lost
            return [len(b) for b in proto.batches], proto.data, sources, raw.getsockname()

    sizes, data, sources, raw_name = run(loop_kind, main())
    assert sizes == [64, 36, 1, 64, 36]
    sent = [b"batch %d" % i for i in range(100)]
    assert data == [*sent, b"alone", *sent]
    assert sources == {raw_name}


@pytest.mark.parametrize("batched", [False, True], ids=["datagram_received", "datagrams_received"])
def test_a_truncated_datagram_is_reported_in_its_place(
    loop_kind: str, tmp_path: Path, batched: bool
) -> None:
    """A UNIX datagram over the 256 KiB slot is reported (EMSGSIZE), never delivered cut short
    (asyncio's own transport would hand over its first 256 KiB); the others still arrive."""

    class Batches(Recorder):
        def datagrams_received(self, batch: list[tuple[bytes, Any]]) -> None:
            self.events.append(("batch", len(batch)))
            for data, addr in batch:
                self.datagram_received(data, addr)

    big = b"B" * (300 * 1024)

    async def main() -> list[Any]:
        path = str(tmp_path / f"t{os.urandom(4).hex()}")
        transport, proto = await gaio.create_datagram_endpoint(
            Batches if batched else Recorder, local_addr=path, family=socket.AF_UNIX
        )
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as raw:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            if raw.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < len(big) + 4096:
                pytest.skip("net.core.wmem_max is too small for a 300 KiB UNIX datagram")
            transport.pause_reading()  # all three arrive in one wake-up
            for data in (b"before", big, b"after"):
                raw.sendto(data, path)
            transport.resume_reading()
            await proto.wait_for(2)
        transport.close()
        await proto.lost
        return [e[:2] if e[0] == "data" else e for e in proto.events]

    events = run(loop_kind, main())
    error = ("error", "OSError", errno.EMSGSIZE)
    if batched:  # the truncated one first, then the rest as one batch
        assert events[1:5] == [error, ("batch", 2), ("data", b"before"), ("data", b"after")]
    else:
        assert events[1:4] == [("data", b"before"), error, ("data", b"after")]


def test_exception_in_protocol_goes_to_loop_handler_and_delivery_goes_on(loop_kind: str) -> None:
    class Fails(Recorder):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            super().datagram_received(data, addr)
            if data == b"boom":
                raise RuntimeError("protocol bug")

    async def scenario(make: Make) -> tuple[list[Any], list[str]]:
        loop = asyncio.get_running_loop()
        handled: list[str] = []
        loop.set_exception_handler(lambda _loop, ctx: handled.append(repr(ctx.get("exception"))))
        transport, proto = await make(Fails, local_addr=("127.0.0.1", 0))
        me = transport.get_extra_info("sockname")
        for data in (b"one", b"boom", b"three"):
            transport.sendto(data, me)
        await proto.wait_for(3)
        transport.close()
        await proto.lost
        return [e[:2] for e in proto.events], handled

    own, mine = both(loop_kind, scenario)
    assert mine == own
    assert own[1] == ["RuntimeError('protocol bug')"]


def test_extra_info_socket_and_fd_closed(loop_kind: str, no_fd_leak: None) -> None:
    async def main() -> None:
        transport, proto = await gaio.create_datagram_endpoint(
            Recorder, local_addr=("127.0.0.1", 0)
        )
        sock = transport.get_extra_info("socket")
        assert isinstance(sock, giosocket.Socket)
        assert transport.get_extra_info("peername") is None
        assert transport.get_extra_info("nonexistent", "default") == "default"
        assert transport.get_protocol() is proto
        other = Recorder()
        transport.set_protocol(other)
        assert transport.get_protocol() is other
        transport.close()
        transport.close()  # twice is harmless
        await other.lost
        assert sock.is_closed()
        assert proto.events == [("made",)] and other.events == [("lost", None)]

    run(loop_kind, main())


def test_sock_argument_stdlib_and_giosocket(loop_kind: str, no_fd_leak: None) -> None:
    async def main() -> None:
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        raw.bind(("127.0.0.1", 0))
        name = raw.getsockname()
        transport, proto = await gaio.create_datagram_endpoint(Recorder, sock=raw)
        assert raw.fileno() == -1  # the transport owns it now
        assert transport.get_extra_info("sockname") == name
        g = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
        g.bind(("127.0.0.1", 0), False)
        t2, p2 = await gaio.create_datagram_endpoint(Recorder, sock=g)
        t2.sendto(b"via given sockets", name)
        await proto.wait_for(1)
        assert proto.events[1][1] == b"via given sockets"
        for t, p in ((transport, proto), (t2, p2)):
            t.close()
            await p.lost
        with pytest.raises(ValueError, match="socket modifier"):
            await gaio.create_datagram_endpoint(Recorder, sock=g, local_addr=("127.0.0.1", 0))
        with (
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
            pytest.raises(ValueError, match="UDP Socket was expected"),
        ):
            await gaio.create_datagram_endpoint(Recorder, sock=tcp)
        with pytest.raises(ValueError, match="unexpected address family"):
            await gaio.create_datagram_endpoint(Recorder)
        with pytest.raises(ValueError, match="batch"):
            await gaio.create_datagram_endpoint(Recorder, family=socket.AF_INET, batch=0)
        with pytest.raises(TypeError):
            await gaio.create_datagram_endpoint(Recorder, local_addr="127.0.0.1")

    run(loop_kind, main())


def test_sendto_rejects_what_asyncio_rejects(loop_kind: str) -> None:
    async def main() -> None:
        transport, proto = await gaio.create_datagram_endpoint(
            Recorder, local_addr=("127.0.0.1", 0)
        )
        with pytest.raises(TypeError, match="bytes-like"):
            transport.sendto("text", ("127.0.0.1", 9))
        with pytest.raises(TypeError):
            transport.sendto(b"x", "not a tuple")
        transport.sendto(b"", ("127.0.0.1", 9))  # empty: ignored, as asyncio
        assert transport.get_write_buffer_size() == 0
        with pytest.raises(ValueError):
            transport.set_write_buffer_limits(high=1, low=2)
        transport.close()
        await proto.lost
        assert proto.events == [("made",), ("lost", None)]

    run(loop_kind, main())


def test_gso_sender_gives_the_same_datagrams_as_asyncio(loop_kind: str) -> None:
    """A sender's UDP GSO burst may reach giosocket's transport as one GRO slot; it must still
    arrive as the separate datagrams asyncio's transport reports (last one shorter)."""
    if not giosocket.UdpSegmentMessage.is_supported():
        pytest.skip("no UDP GSO on this kernel")

    async def scenario(make: Make) -> list[Any]:
        transport, proto = await make(Recorder, local_addr=("127.0.0.1", 0))
        with giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM) as raw:
            raw.bind(("127.0.0.1", 0), False)
            proto.names[raw.get_local_address().port] = "sender"
            payload = b"".join(b"%07d|" % i for i in range(45)) + b"tail"  # 45 x 8 B + 4 B
            for _ in range(3):
                raw.send_message(
                    transport.get_extra_info("sockname"),
                    [payload],
                    [giosocket.UdpSegmentMessage(8)],
                )
            await proto.wait_for(3 * 46)
        transport.close()
        await proto.lost
        return proto.events

    own, mine = both(loop_kind, scenario)
    assert mine == own
    assert own[1] == ("data", b"0000000|", ("127.0.0.1", "sender"))
    assert own[46] == ("data", b"tail", ("127.0.0.1", "sender"))
    assert len(own) == 3 * 46 + 2


def test_allow_broadcast_with_remote_addr_sends_without_connecting(loop_kind: str) -> None:
    """asyncio does not connect when allow_broadcast is set: the remote address is the default
    destination, there is no peername, and datagrams from elsewhere still arrive."""

    async def scenario(make: Make) -> tuple[Any, ...]:
        names: dict[Any, str] = {}
        server_t, server = await make(lambda: Recorder(names), local_addr=("127.0.0.1", 0))
        names[port_of(server_t)] = "server"
        client_t, client = await make(
            lambda: Recorder(names),
            local_addr=("127.0.0.1", 0),
            remote_addr=("127.0.0.1", port_of(server_t)),
            allow_broadcast=True,
        )
        names[port_of(client_t)] = "client"
        client_t.sendto(b"to the remote address")
        await server.wait_for(1)
        server_t.sendto(b"reply", server.sources[0])
        await client.wait_for(1)
        sock = client_t.get_extra_info("socket")
        get = sock.get_option if isinstance(sock, giosocket.Socket) else sock.getsockopt
        broadcast = get(socket.SOL_SOCKET, socket.SO_BROADCAST)
        peer = client_t.get_extra_info("peername")
        for t, p in ((client_t, client), (server_t, server)):
            t.close()
            await p.lost
        return server.events, client.events, peer, bool(broadcast)

    # uvloop connects anyway (and reports a peername); asyncio's behaviour is the contract
    own, mine = both(loop_kind, scenario, reference="asyncio")
    assert mine == own
    assert own[2] is None and own[3] is True


def test_reuse_port_lets_two_endpoints_share_aport_of(loop_kind: str) -> None:
    async def scenario(make: Make) -> tuple[int, bool]:
        first, p1 = await make(Recorder, local_addr=("127.0.0.1", 0), reuse_port=True)
        port = port_of(first)
        second, p2 = await make(Recorder, local_addr=("127.0.0.1", port), reuse_port=True)
        same = port_of(second) == port
        for t, p in ((first, p1), (second, p2)):
            t.close()
            await p.lost
        return 2, same

    own, mine = both(loop_kind, scenario)
    assert mine == own == (2, True)

    async def taken() -> None:  # without reuse_port the port is taken (giosocket only: uvloop
        held, proto = await gaio.create_datagram_endpoint(  # leaks its handle on this error)
            Recorder, local_addr=("127.0.0.1", 0)
        )
        with pytest.raises(OSError):
            await gaio.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", port_of(held)))
        held.close()
        await proto.lost

    run(loop_kind, taken())


@needs_asyncio_pause_reading
def test_pause_reading_from_the_callback_holds_the_rest_of_a_batch(loop_kind: str) -> None:
    """pause_reading() inside datagram_received: nothing more arrives until resume_reading(),
    then the rest, in order, as with asyncio's transport (which reads one at a time)."""

    class Pauser(Recorder):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            super().datagram_received(data, addr)
            if data == b"3":
                self.transport.pause_reading()
                asyncio.get_running_loop().call_later(0.05, self.resume)

        def resume(self) -> None:
            self.events.append(("resumed",))
            self.transport.resume_reading()

    async def scenario(make: Make) -> list[Any]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.bind(("127.0.0.1", 0))
            transport, proto = await make(Pauser, local_addr=("127.0.0.1", 0))
            proto.names[raw.getsockname()[1]] = "raw"
            transport.pause_reading()
            for i in range(10):
                raw.sendto(b"%d" % i, transport.get_extra_info("sockname"))
            transport.resume_reading()
            await proto.wait_for(10)
            assert transport.is_reading()
        transport.close()
        await proto.lost
        return proto.events

    own, mine = both(loop_kind, scenario, reference="asyncio")  # uvloop's has no pause_reading
    assert mine == own
    assert [e[0] for e in own] == ["made"] + ["data"] * 4 + ["resumed"] + ["data"] * 6 + ["lost"]


def test_a_reply_to_a_lone_datagram_goes_at_once_as_with_asyncio(loop_kind: str) -> None:
    """Ping-pong: the reply has nothing to be batched with, so it leaves inside sendto (the
    write buffer is empty right after it, as asyncio's own transport reports); a second reply
    from the same callback is queued behind it and both arrive in order."""

    class Replier(Recorder):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            super().datagram_received(data, addr)
            self.transport.sendto(b"first:" + data, addr)
            self.events.append(("buffered", self.transport.get_write_buffer_size()))
            if data == b"two":
                self.transport.sendto(b"second:" + data, addr)

    async def scenario(make: Make) -> tuple[list[Any], list[bytes]]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.bind(("127.0.0.1", 0))
            peer.settimeout(5)
            transport, proto = await make(Replier, local_addr=("127.0.0.1", 0))
            proto.names[peer.getsockname()[1]] = "peer"
            replies = []
            for payload in (b"one", b"two"):
                peer.sendto(payload, transport.get_extra_info("sockname"))
                await proto.wait_for(len(proto.data) + 1)
                await asyncio.sleep(0.01)
                replies.append(peer.recv(100))
            replies.append(peer.recv(100))
            transport.close()
            await proto.lost
            return proto.events, replies

    own, mine = both(loop_kind, scenario)
    assert mine == own
    assert [e for e in mine[0] if e[0] == "buffered"] == [("buffered", 0), ("buffered", 0)]
    assert mine[1] == [b"first:one", b"first:two", b"second:two"]


@needs_asyncio_pause_reading
def test_set_protocol_in_mid_batch_sends_the_rest_to_the_new_protocol(loop_kind: str) -> None:
    class Switches(asyncio.DatagramProtocol):
        def __init__(self, name: str, log: list[tuple[str, bytes]]) -> None:
            self.name, self.log = name, log

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.log.append((self.name, data))
            if self.name == "A":
                self.transport.set_protocol(Switches("B", self.log))

    async def scenario(make: Make) -> list[tuple[str, bytes]]:
        log: list[tuple[str, bytes]] = []
        transport, _ = await make(lambda: Switches("A", log), local_addr=("127.0.0.1", 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            transport.pause_reading()  # all three wait in the kernel: one wake-up
            for i in range(3):
                raw.sendto(b"d%d" % i, transport.get_extra_info("sockname"))
            await asyncio.sleep(0.05)
            transport.resume_reading()
            for _ in range(100):
                if len(log) == 3:
                    break
                await asyncio.sleep(0.01)
        transport.close()
        await asyncio.sleep(0)
        return log

    # uvloop's own UDP transport has no pause_reading(): compared with the default loop's
    own, mine = both(loop_kind, scenario, reference="asyncio")
    assert mine == own == [("A", b"d0"), ("B", b"d1"), ("B", b"d2")]


def test_a_datagram_sent_from_resume_writing_while_closing_still_goes(
    loop_kind: str, tmp_path: Path
) -> None:
    """close() with a full socket buffer: resume_writing() sends one more, before the loss."""

    class Late(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.events: list[Any] = []
            self.dest = ""
            self.lost = asyncio.get_running_loop().create_future()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport

        def pause_writing(self) -> None:
            self.events.append("pause")

        def resume_writing(self) -> None:
            self.events.append("resume")
            self.transport.sendto(b"LATE", self.dest)

        def connection_lost(self, exc: Exception | None) -> None:
            self.events.append(("lost", exc))
            self.lost.set_result(None)

    async def scenario(make: Make) -> tuple[list[Any], int, bool]:
        tag = os.urandom(4).hex()
        receiver_path = str(tmp_path / f"r{tag}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
            receiver.bind(receiver_path)
            receiver.setblocking(False)
            transport, proto = await make(
                Late, local_addr=str(tmp_path / f"s{tag}"), family=socket.AF_UNIX
            )
            proto.dest = receiver_path
            for i in range(2000):
                transport.sendto(b"%04d" % i + b"x" * 96, receiver_path)
            await asyncio.sleep(0.01)
            transport.close()
            got: list[bytes] = []
            for _ in range(500):
                await asyncio.sleep(0.002)
                while True:
                    try:
                        got.append(receiver.recv(200))
                    except BlockingIOError:
                        break
                if proto.lost.done():
                    break
            await proto.lost
            while True:
                try:
                    got.append(receiver.recv(200))
                except BlockingIOError:
                    break
        return proto.events, len(got), got[-1] == b"LATE"

    own, mine = both(loop_kind, scenario, reference="asyncio")
    assert mine == own == (["pause", "resume", ("lost", None)], 2001, True)
