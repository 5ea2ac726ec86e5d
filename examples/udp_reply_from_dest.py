"""A UDP server on 0.0.0.0 that answers every request from the address it was asked on.

    python examples/udp_reply_from_dest.py               # demo: ask on 127.0.0.5 and .6, exit
    python examples/udp_reply_from_dest.py --serve 9999  # serve on 0.0.0.0:9999 until Ctrl-C

A server bound to the any-address on a multi-homed host must reply from the address the client
wrote to, or the client (and any NAT or firewall on the way) drops the reply as coming from a
stranger. Packet info gives the destination of every request (``InputMessage.destination``) and
``OutputMessage(source=...)`` sends the reply from it. Replies are marked ECT(0) (ECN-capable
transport, as QUIC marks its packets), and the server reports the kernel's drop counter
(``InputMessage.drop_count``) whenever it grows. No control-message objects are built: the
metadata are plain fields of the reusable message objects.
"""

from __future__ import annotations

import argparse
import threading

from giosocket import (
    MSG_WAITFORONE,
    InetSocketAddress,
    InputMessage,
    OutputMessage,
    Socket,
    SocketFamily,
    SocketType,
    TrafficClassMessage,
)

BATCH = 32
SIZE = 2048
ECT0 = 2  # ECN codepoint "ECN-capable transport (0)"
ECN_NAMES = {0: "Not-ECT", 1: "ECT(1)", 2: "ECT(0)", 3: "CE"}


def open_server(port: int) -> Socket:
    """A UDP socket on 0.0.0.0:`port` reporting destination, traffic class and drops."""
    sock = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    sock.bind(("0.0.0.0", port), True)
    sock.set_receive_packet_info(True)
    sock.set_receive_traffic_class(True)
    sock.set_receive_drop_count(True)
    return sock


def serve(sock: Socket, limit: int | None = None) -> tuple[int, int]:
    """Answer requests (all of them, or `limit`); return (requests served, datagrams dropped)."""
    buffers = [bytearray(SIZE) for _ in range(BATCH)]
    inputs = [InputMessage(buf) for buf in buffers]  # reused for every batch
    served = dropped = 0
    while limit is None or served < limit:
        n = sock.receive_messages(inputs, MSG_WAITFORONE)
        replies = []
        for message, buf in zip(inputs[:n], buffers):
            if message.drop_count > dropped:
                dropped = message.drop_count
                print(f"server: the kernel dropped {dropped} datagrams so far", flush=True)
            request = bytes(buf[: message.bytes_received])
            replies.append(
                OutputMessage(
                    message.address,
                    [b"reply to " + request],
                    source=message.destination,  # answer from the address asked on
                    traffic_class=ECT0,
                )
            )
        sock.send_messages(replies)
        served += n
    return served, dropped


def demo() -> None:
    server = open_server(0)
    server.timeout = 10
    address = server.local_address
    assert isinstance(address, InetSocketAddress)
    asked = ["127.0.0.5", "127.0.0.6", "127.0.0.5", "127.0.0.6"]
    outcome: list[tuple[int, int]] = []
    thread = threading.Thread(target=lambda: outcome.append(serve(server, len(asked))))
    thread.start()
    with Socket(SocketFamily.IPV4, SocketType.DATAGRAM) as client:
        client.bind(("127.0.0.1", 0), False)
        client.timeout = 10
        client.set_receive_traffic_class(True)
        buf = bytearray(SIZE)
        for i, host in enumerate(asked):
            client.send_to((host, address.port), f"hello {i}".encode())
            n, sender, controls, _ = client.receive_message([buf])
            ecn = [c.ecn for c in controls if isinstance(c, TrafficClassMessage)]
            print(
                f"asked {host}: answer from {sender}, "
                f"ECN {ECN_NAMES[ecn[0]] if ecn else '?'}: {bytes(buf[:n])!r}",
                flush=True,
            )
    thread.join(10)
    server.close()
    served, dropped = outcome[0]
    print(f"served {served} requests, {dropped} datagrams dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve on 0.0.0.0:PORT")
    args = parser.parse_args()
    if args.serve is None:
        demo()
        return
    with open_server(args.serve) as sock:
        print(f"serving on {sock.local_address} (Ctrl-C to stop)", flush=True)
        try:
            serve(sock)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
