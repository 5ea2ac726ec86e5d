"""PyGObject-style UDP on a GLib main loop: only the import lines differ from Gio code.

    python examples/pygobject_style_udp.py

A loopback UDP echo server and a client, both driven by ``create_source`` callbacks on a
``GLib.MainLoop``; every echo is also logged to a UNIX datagram socket. Needs PyGObject.
"""

import os
import sys
import tempfile

import giosocket as Gio  # PyGObject: from gi.repository import Gio
from gi.repository import GLib

GError = Gio.Error  # PyGObject: GError = GLib.Error
F, T, P = Gio.SocketFamily, Gio.SocketType, Gio.SocketProtocol


def drain(sock, handle):
    while True:
        try:
            handle(*sock.receive_from(2048))
        except GError as e:
            if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.WOULD_BLOCK):
                return True  # keep the source
            raise


def main(count=3):
    loop, echoed = GLib.MainLoop(), []
    log_path = os.path.join(tempfile.mkdtemp(), "log")
    log, logger = (Gio.Socket.new(F.UNIX, T.DATAGRAM, P.DEFAULT) for _ in "lw")
    log.bind(Gio.UnixSocketAddress.new(log_path), False)
    log.set_timeout(5)
    server, client = (Gio.Socket.new(F.IPV4, T.DATAGRAM, P.UDP) for _ in "sc")
    for sock in (server, client):
        sock.set_blocking(False)
        sock.bind(Gio.InetSocketAddress.new(Gio.InetAddress.new_loopback(F.IPV4), 0), True)

    def echo(data, sender):
        server.send_to(sender, data)
        logger.send_to(Gio.UnixSocketAddress.new(log_path), b"echoed " + data)

    def reply(data, _sender):
        echoed.append(data)
        if len(echoed) == count:
            loop.quit()

    for sock, handle in ((server, echo), (client, reply)):
        source = sock.create_source(GLib.IOCondition.IN, None)
        source.set_callback(lambda s, _cond, handle=handle: drain(s, handle))
        source.attach(None)
    for i in range(count):
        client.send_to(server.get_local_address(), b"ping %d" % i)
    GLib.timeout_add_seconds(5, loop.quit)  # never hang
    loop.run()
    logged = [log.receive(64) for _ in echoed]
    print(b" / ".join(echoed).decode(), "|", b" / ".join(logged).decode())
    os.unlink(log_path)
    os.rmdir(os.path.dirname(log_path))
    return 0 if len(echoed) == count else 1


if __name__ == "__main__":
    sys.exit(main())
