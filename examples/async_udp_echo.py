"""An asyncio UDP echo server on batched receive/send (recvmmsg/sendmmsg) with giosocket.

    python examples/async_udp_echo.py            # serve on an ephemeral port, run a short demo
    python examples/async_udp_echo.py --serve 9999   # serve on 127.0.0.1:9999 until Ctrl-C

Each wake-up of the server takes every queued datagram (up to BATCH) in one system call and
echoes them all back in one more; the event loop is never blocked.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from giosocket import InputMessage, OutputMessage, Socket, SocketFamily, SocketType

BATCH = 64
SIZE = 2048


async def serve(sock: Socket) -> None:
    """Echo every datagram back to its sender, a batch at a time."""
    buffers = [bytearray(SIZE) for _ in range(BATCH)]
    inputs = [InputMessage([buf]) for buf in buffers]  # reused for every batch
    while True:
        n = await sock.receive_messages_async(inputs)
        replies = [
            OutputMessage(m.address, [memoryview(buf)[: m.bytes_received]])
            for m, buf in zip(inputs[:n], buffers)
        ]
        sent = 0
        while sent < n:  # a partial batch is possible when the send buffer fills up
            sent += await sock.send_messages_async(replies[sent:])


async def demo(count: int = 2000) -> None:
    server = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    server.bind(("127.0.0.1", 0), True)
    task = asyncio.ensure_future(serve(server))
    client = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    client.bind(("127.0.0.1", 0), True)
    client.timeout = 2  # a lost datagram ends the demo with TimeoutError instead of hanging
    address = server.get_local_address()
    start = time.perf_counter()
    for burst in range(0, count, 100):  # bursts of 100 keep the socket buffers from overflowing
        for i in range(burst, burst + 100):
            await client.send_to_async(address, b"datagram %d" % i)
        for _ in range(100):
            await client.receive_async(SIZE)
    elapsed = time.perf_counter() - start
    print(f"{count} datagrams echoed via {address} in {elapsed * 1000:.0f} ms")
    task.cancel()
    client.close()
    server.close()


async def serve_forever(port: int) -> None:
    sock = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    sock.bind(("127.0.0.1", port), True)
    print(f"echoing on {sock.get_local_address()} (Ctrl-C stops)")
    await serve(sock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve until interrupted")
    args = parser.parse_args()
    try:
        asyncio.run(serve_forever(args.serve) if args.serve is not None else demo())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
