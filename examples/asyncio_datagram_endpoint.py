"""asyncio UDP with giosocket's batching DatagramTransport: the same protocol code as asyncio's.

    python examples/asyncio_datagram_endpoint.py              # short demo on loopback, then exit
    python examples/asyncio_datagram_endpoint.py --uvloop     # the same on uvloop
    python examples/asyncio_datagram_endpoint.py --serve 9999 # echo on 127.0.0.1:9999 until Ctrl-C

The echo server is an ordinary ``asyncio.DatagramProtocol``. Through
``giosocket.aio.create_datagram_endpoint`` each wake-up of the loop receives up to 64 datagrams
with one ``recvmmsg``, and the replies sent while they are delivered leave together with one
``sendmmsg`` (equal-size ones to one address as one UDP GSO send). The client defines
``datagrams_received`` as well, so it gets each wake-up's datagrams as one list.
``giosocket.aio.install()`` gives the same transports to code that calls the loop's own
``create_datagram_endpoint`` (here: the second client), such as UDP libraries.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from giosocket import aio as gaio

COUNT = 2000


class EchoServer(asyncio.DatagramProtocol):
    """Sends every datagram back to where it came from."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class Client(asyncio.DatagramProtocol):
    """Counts the echoes; ``datagrams_received`` takes a whole wake-up's batch at once."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.replies: list[bytes] = []
        self.batches = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagrams_received(self, batch: list[tuple[bytes, Any]]) -> None:
        self.batches += 1
        self.replies.extend(data for data, _addr in batch)
        if len(self.replies) >= self.expected and not self.done.done():
            self.done.set_result(None)

    def error_received(self, exc: Exception) -> None:
        print("error:", exc)


async def demo() -> None:
    server, _ = await gaio.create_datagram_endpoint(EchoServer, local_addr=("127.0.0.1", 0))
    address = server.get_extra_info("sockname")
    client, protocol = await gaio.create_datagram_endpoint(
        lambda: Client(COUNT), remote_addr=address
    )
    start = time.perf_counter()
    for i in range(0, COUNT, 100):  # bursts of 100 keep the socket buffers from overflowing
        for j in range(i, i + 100):
            client.sendto(b"datagram %05d" % j)  # queued; the burst leaves in one go
        await asyncio.sleep(0.001)
    await asyncio.wait_for(protocol.done, 5)
    elapsed = time.perf_counter() - start
    assert protocol.replies == [b"datagram %05d" % j for j in range(COUNT)]
    print(
        f"{COUNT} datagrams echoed via {address} in {elapsed * 1000:.0f} ms, "
        f"received in {protocol.batches} batches"
    )
    client.close()

    # install(): the loop's own create_datagram_endpoint now gives giosocket transports.
    loop = asyncio.get_running_loop()
    gaio.install(loop)
    try:
        other, other_protocol = await loop.create_datagram_endpoint(
            lambda: Client(1), remote_addr=address
        )
        other.sendto(b"hello through install()")
        await asyncio.wait_for(other_protocol.done, 5)
        print(f"installed: {type(other).__module__}.{type(other).__name__} got", end=" ")
        print(other_protocol.replies[0])
        other.close()
    finally:
        gaio.uninstall(loop)
    server.close()
    await asyncio.sleep(0)


async def serve_forever(port: int) -> None:
    transport, _ = await gaio.create_datagram_endpoint(EchoServer, local_addr=("127.0.0.1", port))
    print(f"echoing on {transport.get_extra_info('sockname')} (Ctrl-C stops)")
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve until interrupted")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    coro = serve_forever(args.serve) if args.serve is not None else demo()
    try:
        if args.uvloop:
            import uvloop

            uvloop.run(coro)
        else:
            asyncio.run(coro)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
