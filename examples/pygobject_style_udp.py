"""PyGObject-style UDP on a GLib main loop: only the import lines differ from Gio code.

    python examples/pygobject_style_udp.py

A loopback UDP echo server and its client, driven by ``create_source`` callbacks on a
``GLib.MainLoop``; the server logs every echo to a UNIX datagram socket. Needs PyGObject.
"""

import os
import sys
import tempfile

import giosocket as Gio  # PyGObject: from gi.repository import Gio
from gi.repository import GLib

GError = Gio.Error  # PyGObject: GError = GLib.Error
F, T, P = Gio.SocketFamily, Gio.SocketType, Gio.SocketProtocol


def on_readable(sock, _condition, handle):
    try:
        while True:
            handle(*sock.receive_from(2048))
    except GError as e:
        if not e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.WOULD_BLOCK):
            raise
    return True  # keep the source


def main(count=3):
    loop, echoed, logged = GLib.MainLoop(), [], []
    log_dir = tempfile.TemporaryDirectory()
    log_address = Gio.UnixSocketAddress.new(os.path.join(log_dir.name, "log"))
    log, logger = (Gio.Socket.new(F.UNIX, T.DATAGRAM, P.DEFAULT) for _ in "lw")
    log.bind(log_address, False)
    server, client = (Gio.Socket.new(F.IPV4, T.DATAGRAM, P.UDP) for _ in "sc")
    for sock in (server, client):
        sock.bind(Gio.InetSocketAddress.new(Gio.InetAddress.new_loopback(F.IPV4), 0), True)

    def echo(data, sender):
        server.send_to(sender, data)
        logger.send_to(log_address, b"echoed " + data)

    def collect(into):
        def handle(data, _sender):
            into.append(data)
            if len(echoed) == len(logged) == count:
                loop.quit()

        return handle

    for sock, handle in ((server, echo), (client, collect(echoed)), (log, collect(logged))):
        sock.set_blocking(False)
        source = sock.create_source(GLib.IOCondition.IN, None)
        source.set_callback(on_readable, handle)
        source.attach(None)
    for i in range(count):
        client.send_to(server.get_local_address(), b"ping %d" % i)
    GLib.timeout_add_seconds(5, loop.quit)  # never hang
    loop.run()
    print(b" / ".join(echoed).decode(), "|", b" / ".join(logged).decode())
    log_dir.cleanup()
    return 0 if len(echoed) == len(logged) == count else 1


if __name__ == "__main__":
    sys.exit(main())
