"""``python -m giosocket demo``: a self-contained tour of giosocket on loopback."""

from __future__ import annotations

import asyncio
import threading
import time

import giosocket as g


def _say(text: str) -> None:
    print(text, flush=True)


def _tcp_echo() -> None:
    _say("1. TCP echo on 127.0.0.1 with timeouts")
    server = g.Socket(g.SocketFamily.IPV4, g.SocketType.STREAM)
    server.bind(("127.0.0.1", 0), True)
    server.listen()
    address = server.local_address
    _say(f"   server listening on {address} (backlog {server.listen_backlog})")

    def serve() -> None:
        with server.accept() as conn:
            conn.timeout = 2
            while True:
                data = conn.receive(4096)
                if not data:
                    break
                conn.send(data)

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    with g.Socket(g.SocketFamily.IPV4, g.SocketType.STREAM) as client:
        client.timeout = 2
        client.connect(address)
        _say(f"   client {client.local_address} -> {client.remote_address}")
        for word in (b"hello", b"gsocket", b"from python"):
            client.send(word)
            echoed = client.receive(4096)
            _say(f"   sent {word!r:16} echoed {echoed!r}")
        client.shutdown(False, True)
        _say(f"   half-closed our side; the server finished and closed: {client.receive(4096)!r}")
    worker.join(2)
    server.close()


def _udp() -> None:
    _say("2. UDP datagrams")
    with (
        g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as a,
        g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as b,
    ):
        a.bind(("127.0.0.1", 0), False)
        b.bind(("127.0.0.1", 0), False)
        for i in range(3):
            b.send_to(a.local_address, f"datagram {i}".encode())
        _say(f"   {a.get_available_bytes()} bytes in the next datagram")
        for _ in range(3):
            data, sender = a.receive_from(1500)
            _say(f"   got {data!r} from {sender}")
        buf = bytearray(64)
        b.send_to(a.local_address, b"zero-copy")
        n, sender = a.receive_from_into(buf)
        _say(f"   receive_from_into filled {n} bytes in place: {bytes(buf[:n])!r}")


def _cancellation() -> None:
    _say("3. A blocking receive cancelled from another thread")
    cancellable = g.Cancellable()
    with g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as sock:
        sock.bind(("127.0.0.1", 0), False)
        timer = threading.Timer(0.2, cancellable.cancel)
        timer.start()
        start = time.monotonic()
        try:
            sock.receive(100, cancellable)
        except g.Error as exc:
            _say(f"   after {time.monotonic() - start:.2f} s: {exc.code.name}: {exc}")
        timer.join()

        _say("   ...and one woken by close() from another thread")
        closer = threading.Timer(0.2, sock.close)
        closer.start()
        start = time.monotonic()
        try:
            sock.receive(100)
        except g.Error as exc:
            _say(f"   after {time.monotonic() - start:.2f} s: {exc.code.name}: {exc}")
        closer.join()


def _errors() -> None:
    _say("4. Errors are Python exceptions (giosocket.Error, also the matching builtin)")
    with g.Socket(g.SocketFamily.IPV4, g.SocketType.STREAM) as probe:
        probe.bind(("127.0.0.1", 0), False)
        closed_port = probe.local_address
    with g.Socket(g.SocketFamily.IPV4, g.SocketType.STREAM) as sock:
        try:
            sock.connect(closed_port)
        except g.Error as exc:
            assert isinstance(exc, ConnectionRefusedError)
            _say(f"   connect to a closed port -> ConnectionRefusedError, code {exc.code.name}")
    with g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as sock:
        sock.bind(("127.0.0.1", 0), False)
        sock.timeout = 0.3
        try:
            sock.receive(10)
        except g.Error as exc:
            assert isinstance(exc, TimeoutError)
            _say(f"   receive with timeout=0.3 -> TimeoutError, code {exc.code.name}")
        sock.blocking = False
        try:
            sock.receive(10)
        except g.Error as exc:
            assert isinstance(exc, BlockingIOError)
            _say(f"   non-blocking receive -> BlockingIOError, code {exc.code.name}")
        try:
            sock.receive(-1)
        except ValueError as exc:
            _say(f"   receive(-1) -> ValueError: {exc}")


def _batch() -> None:
    _say("5. Batched datagrams: send_messages / receive_messages (sendmmsg / recvmmsg)")
    with (
        g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as rx,
        g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0), False)
        out = [g.OutputMessage(rx.local_address, [b"message ", str(i).encode()]) for i in range(8)]
        sent = tx.send_messages(out)
        _say(f"   one send_messages call sent {sent} datagrams (gathered from 2 vectors each)")
        inbox = [g.InputMessage([bytearray(64)]) for _ in range(16)]
        got = rx.receive_messages(inbox[:8])
        sizes = [m.bytes_received for m in inbox[:got]]
        _say(f"   one receive_messages call got {got} datagrams of sizes {sizes}")
        try:
            tx.send_message(rx.local_address, [bytes(64 * 16)], [g.UdpSegmentMessage(64)])
        except g.Error as exc:
            _say(f"   UDP GSO unavailable here: {exc}")
            return
        got = rx.receive_messages(inbox, g.MSG_WAITFORONE)
        _say(
            f"   UDP GSO: one send_message of 1024 bytes with UdpSegmentMessage(64) -> {got} datagrams"
        )


async def _echo_async() -> None:
    with (
        g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as server,
        g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0), False)
        server.timeout = 2
        client.timeout = 2

        async def serve() -> None:
            for _ in range(3):
                data, sender = await server.receive_from_async(1500)
                await server.send_to_async(sender, data.upper())

        task = asyncio.create_task(serve())
        for word in (b"asyncio", b"without", b"threads"):
            await client.send_to_async(server.local_address, word)
            reply, _ = await client.receive_from_async(1500)
            _say(f"   {word!r} -> {reply!r}")
        await task


def _asyncio() -> None:
    _say("6. asyncio: *_async coroutines wait with the loop's add_reader/add_writer")
    asyncio.run(_echo_async())


def main() -> int:
    """Run the tour; returns the exit status."""
    _say(f"giosocket {g.__version__}: GLib's GSocket for Python\n")
    for part in (_tcp_echo, _udp, _cancellation, _errors, _batch, _asyncio):
        part()
        _say("")
    _say("demo finished")
    return 0
