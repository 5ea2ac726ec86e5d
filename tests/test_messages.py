"""send_message / receive_message / send_messages / receive_messages (GIO semantics)."""

from __future__ import annotations

import os
import socket
import textwrap
import threading
import time
from collections.abc import Iterator

import giosocket
import pytest
from conftest import needs_ipv6, run_python, udp_socket
from giosocket import (
    Cancellable,
    InetSocketAddress,
    InputMessage,
    InputVector,
    IOErrorEnum,
    OutputMessage,
    OutputVector,
    PollableReturn,
    Socket,
    SocketFamily,
    SocketType,
)

TESTBUF2 = b"0123456789abcdefghijklmnopqrstuvwxyz"


HOSTS = [
    pytest.param("127.0.0.1", id="ipv4"),
    pytest.param("::1", id="ipv6", marks=needs_ipv6),
]


def udp_pair(host: str = "127.0.0.1") -> tuple[Socket, Socket]:
    """(server, client): bound UDP sockets on `host` without a timeout."""
    return udp_socket(host, timeout=0), udp_socket(host, timeout=0)


@pytest.fixture
def pair() -> Iterator[tuple[Socket, Socket]]:
    server, client = udp_pair()
    yield server, client
    server.close()
    client.close()


def send_vectors() -> list[OutputVector]:
    sizes = [3, 5, 0, 6, 2, 1]
    out, pos = [], 0
    for size in sizes:
        out.append(OutputVector(TESTBUF2[pos : pos + size]))
        pos += size
    out.append(OutputVector(TESTBUF2[pos:]))
    return out


@pytest.mark.parametrize("host", HOSTS)
def test_glib_datagram_scenario(host: str) -> None:
    server, client = udp_pair(host)
    client.set_timeout(1)
    dest = server.get_local_address()
    v = send_vectors()
    buf = bytearray(128)

    assert client.send_message(dest, v) == len(TESTBUF2)
    data, _ = server.receive_from(128)
    assert data == TESTBUF2

    m = [
        OutputMessage(dest, v[0:1]),
        OutputMessage(dest, v[0:6]),
        OutputMessage(dest, v[6:7]),
    ]
    assert client.send_messages(m) == 3
    assert [x.bytes_sent for x in m] == [3, 17, 19]
    assert server.receive_from(128)[0] == TESTBUF2[:3]
    assert server.receive_from(128)[0] == TESTBUF2[:17]
    assert server.receive_from(128)[0] == TESTBUF2[17:]

    # receive_messages into capacities 3 / 17 (six vectors) / 111
    for x in m:
        x.bytes_sent = 0
    assert client.send_messages(m) == 3
    view = memoryview(buf)
    iv = [InputVector(view[0:3]), InputVector(view[3:8]), InputVector(view[8:8])]
    iv += [InputVector(view[8:14]), InputVector(view[14:16]), InputVector(view[16:17])]
    iv.append(InputVector(view[17:]))
    im = [InputMessage(iv[0:1]), InputMessage(iv[0:6]), InputMessage(iv[6:7])]
    server.set_timeout(1)
    assert server.receive_messages(im) == 3
    assert [x.bytes_received for x in im] == [3, 17, 19]
    assert all(x.address == client.get_local_address() for x in im)
    assert bytes(buf[17:36]) == TESTBUF2[17:]

    # an early return: message 1 has no destination
    for x in m:
        x.bytes_sent = 0
    m[1].address = None
    assert client.send_messages(m) == 1
    assert [x.bytes_sent for x in m] == [3, 0, 0]
    assert server.receive_from(128)[0] == TESTBUF2[:3]

    # no destination at all: an error, nothing sent
    for x in m:
        x.address = None
    with pytest.raises(giosocket.Error) as info:
        client.send_messages(m)
    assert info.value.code == IOErrorEnum.DESTINATION_UNSET
    assert [x.bytes_sent for x in m] == [0, 0, 0]
    server.close()
    client.close()


def test_receive_messages_timeouts() -> None:
    client = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
    client.bind(("127.0.0.1", 0), False)
    im = InputMessage([InputVector(bytearray(128))])

    client.set_blocking(False)
    with pytest.raises(BlockingIOError) as info:
        client.receive_messages([im])
    assert info.value.code == IOErrorEnum.WOULD_BLOCK

    client.set_blocking(True)
    client.set_timeout(1)
    start = time.monotonic()
    with pytest.raises(TimeoutError) as tinfo:
        client.receive_messages([im])
    assert tinfo.value.code == IOErrorEnum.TIMED_OUT
    assert 0.8 < time.monotonic() - start < 5

    client.set_timeout(0)
    cancellable = Cancellable()
    timer = threading.Timer(0.1, cancellable.cancel)
    timer.start()
    start = time.monotonic()
    with pytest.raises(giosocket.Error) as cinfo:
        client.receive_messages([im], 0, cancellable)
    timer.join()
    assert cinfo.value.code == IOErrorEnum.CANCELLED
    assert time.monotonic() - start < 5
    client.close()


def test_send_message_without_vectors_sends_one_nul(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    assert client.send_message(server.get_local_address(), []) == 1
    assert client.send_message(server.get_local_address(), None) == 1
    assert server.receive_from(10)[0] == b"\0"
    # no vectors: read and discard one byte
    n, sender, controls, flags = server.receive_message()
    assert (n, controls) == (1, [])
    assert sender == client.get_local_address()
    assert flags & giosocket.MSG_TRUNC == 0


def test_plain_buffers_accepted_as_vectors(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    dest = server.get_local_address()
    assert client.send_message(dest, [b"ab", bytearray(b"cd"), memoryview(b"ef"), [103, 104]]) == 8
    assert client.send_message(dest, b"single") == 6
    first, second = bytearray(3), bytearray(10)
    n, _, _, _ = server.receive_message([first, InputVector(second)])
    assert n == 8 and bytes(first) == b"abc" and bytes(second[:5]) == b"defgh"
    buf = bytearray(10)
    assert server.receive_message(buf)[0] == 6 and bytes(buf[:6]) == b"single"


def test_receive_message_reports_truncation(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    client.send_to(server.get_local_address(), b"x" * 100)
    buf = bytearray(10)
    n, _, _, flags = server.receive_message([buf])
    assert n == 10
    assert flags & giosocket.MSG_TRUNC


def test_receive_message_peek_flag(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    client.send_to(server.get_local_address(), b"peek")
    buf = bytearray(10)
    assert server.receive_message([buf], giosocket.MSG_PEEK)[0] == 4
    assert server.receive_from(10)[0] == b"peek"


def test_send_message_with_timeout_returns_would_block() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    sa = Socket.new_from_fd(a.detach())
    sb = Socket.new_from_fd(b.detach())
    result = sa.send_message_with_timeout(None, [b"hello"], None, 0, 0)
    assert result == (PollableReturn.OK, 5)
    assert isinstance(result[0], PollableReturn)
    status, written = PollableReturn.OK, 0
    for _ in range(100_000):
        status, written = sa.send_message_with_timeout(None, [b"x" * 1024], None, 0, 0)
        if status != PollableReturn.OK:
            break
    assert (status, written) == (PollableReturn.WOULD_BLOCK, 0)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        sa.send_message_with_timeout(None, [b"x" * 1024], None, 0, 100_000)
    assert time.monotonic() - start < 5
    sa.close()
    sb.close()


def test_msg_dontwait_makes_one_call_non_blocking(pair: tuple[Socket, Socket]) -> None:
    server, _ = pair
    with pytest.raises(BlockingIOError):
        server.receive_message([bytearray(10)], giosocket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):
        server.receive_messages([InputMessage(bytearray(10))], giosocket.MSG_DONTWAIT)


def test_blocking_receive_waits_for_all(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    dest = server.get_local_address()
    server.set_timeout(5)
    client.send_to(dest, b"1")
    client.send_to(dest, b"2")
    timer = threading.Timer(0.1, lambda: client.send_to(dest, b"3"))
    timer.start()
    im = [InputMessage(bytearray(8)) for _ in range(3)]
    assert server.receive_messages(im) == 3
    timer.join()
    assert [bytes(m.vectors[:1]) for m in im] == [b"1", b"2", b"3"]


def test_waitforone_returns_after_the_first(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    server.set_timeout(5)
    client.send_to(server.get_local_address(), b"a")
    client.send_to(server.get_local_address(), b"b")
    im = [InputMessage(bytearray(8)) for _ in range(4)]
    start = time.monotonic()
    assert server.receive_messages(im, giosocket.MSG_WAITFORONE) == 2
    assert time.monotonic() - start < 2


def test_timeout_after_partial_batch_returns_count(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    server.set_timeout(0.2)
    client.send_to(server.get_local_address(), b"only")
    im = [InputMessage(bytearray(8)) for _ in range(3)]
    assert server.receive_messages(im) == 1
    assert im[0].bytes_received == 4


def test_non_blocking_partial_batch(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    server.set_blocking(False)
    for i in range(5):
        client.send_to(server.get_local_address(), bytes([i]))
    time.sleep(0.05)
    im = [InputMessage(bytearray(4)) for _ in range(5000)]
    assert server.receive_messages(im) == 5
    assert [m.bytes_received for m in im[:5]] == [1] * 5


def test_input_messages_are_reusable(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    server.set_timeout(2)
    dest = server.get_local_address()
    bufs = [bytearray(16) for _ in range(4)]
    im = [InputMessage(b) for b in bufs]
    om = [OutputMessage(dest, [b"msg%d" % i]) for i in range(4)]
    for round_ in range(50):
        assert client.send_messages(om) == 4
        assert server.receive_messages(im) == 4
        assert [bytes(b[:4]) for b in bufs] == [b"msg0", b"msg1", b"msg2", b"msg3"], round_
    first = im[0].address
    assert first is not None and im[0].address is first  # cached while unchanged
    assert isinstance(first, InetSocketAddress)


def test_batches_above_uio_maxiov(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    server.set_option(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    dest = server.get_local_address()
    payload = b"p"
    om = [OutputMessage(dest, [payload]) for _ in range(2500)]
    assert client.send_messages(om) == 2500
    assert all(m.bytes_sent == 1 for m in om)
    server.set_blocking(False)
    im = [InputMessage(bytearray(2)) for _ in range(3000)]
    received = server.receive_messages(im)
    assert 1 <= received <= 2500


def test_stream_sockets(pair: tuple[Socket, Socket]) -> None:
    a, b = socket.socketpair()
    sa, sb = Socket.new_from_fd(a.detach()), Socket.new_from_fd(b.detach())
    assert sa.send_message(None, [b"hello ", b"world"]) == 11
    buf = bytearray(32)
    assert sb.receive_message([buf])[0] == 11
    assert bytes(buf[:11]) == b"hello world"
    sa.close()
    sb.close()


def test_empty_batches_and_closed_socket(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    assert client.send_messages([]) == 0
    assert server.receive_messages([]) == 0
    client.close()
    with pytest.raises(giosocket.Error) as info:
        client.send_messages([OutputMessage(server.get_local_address(), [b"x"])])
    assert info.value.code == IOErrorEnum.CLOSED
    with pytest.raises(giosocket.Error):
        client.send_message(server.get_local_address(), [b"x"])


def test_vector_objects() -> None:
    ov = OutputVector(b"abc")
    assert (ov.buffer, ov.size) == (b"abc", 3)
    buf = bytearray(7)
    iv = InputVector(buf)
    assert iv.buffer is buf and iv.size == 7
    assert OutputVector([1, 2, 3]).size == 3


def test_hostile_input(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    dest = server.get_local_address()
    with pytest.raises(TypeError):
        client.send_message(dest, [b"ok", 42])
    with pytest.raises(TypeError):
        client.send_message(dest, 42)
    with pytest.raises(TypeError):
        InputVector(b"read-only")
    with pytest.raises(TypeError):
        InputMessage([b"read-only"])
    with pytest.raises(TypeError):
        InputMessage([OutputVector(b"x")])
    with pytest.raises(TypeError):
        server.receive_message([b"read-only"])
    with pytest.raises(TypeError):
        OutputMessage(dest, [object()])
    with pytest.raises(TypeError):
        OutputMessage(dest, [b"x"], control_messages=[b"not a control message"])
    with pytest.raises(TypeError):
        client.send_message(dest, [b"x"], ["not a control message"])
    with pytest.raises(ValueError):
        OutputVector([1, 2, 300])
    # a wrong item anywhere: nothing is sent at all
    good = OutputMessage(dest, [b"good"])
    with pytest.raises(TypeError):
        client.send_messages([good, "not a message"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        client.send_messages(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        server.receive_messages([InputMessage(bytearray(4)), OutputMessage()])  # type: ignore[list-item]
    assert good.bytes_sent == 0
    server.set_blocking(False)
    with pytest.raises(BlockingIOError):
        server.receive_from(10)
    # the same InputMessage twice in one call cannot hold two results
    im = InputMessage(bytearray(4))
    with pytest.raises(RuntimeError):
        server.receive_messages([im, im])
    # an OutputMessage may be listed twice
    server.set_blocking(True)
    assert client.send_messages([good, good]) == 2
    # a buffer held by a vector cannot be resized under it
    grow = bytearray(4)
    held = InputMessage(grow)
    with pytest.raises(BufferError):
        grow.extend(b"more")
    del held
    grow.extend(b"more")


def test_mmsg_fallback_loop() -> None:
    code = textwrap.dedent(
        """
        import giosocket as g
        s = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM); s.bind(("127.0.0.1", 0), False)
        c = g.Socket(g.SocketFamily.IPV4, g.SocketType.DATAGRAM)
        d = s.get_local_address()
        m = [g.OutputMessage(d, [b"abc"]), g.OutputMessage(None, [b"x"]), g.OutputMessage(d, [b"z"])]
        assert c.send_messages(m) == 1, "partial"
        assert [x.bytes_sent for x in m] == [3, 0, 0]
        m[1].address = d
        assert c.send_messages(m) == 3
        s.set_timeout(2)
        im = [g.InputMessage(bytearray(8)) for _ in range(4)]
        assert s.receive_messages(im) == 4
        assert [x.bytes_received for x in im] == [3, 3, 1, 1]
        c.send_messages(m[:2])
        import time; time.sleep(0.05)
        assert s.receive_messages(im, g.MSG_WAITFORONE) == 2
        print("ok")
        """
    )
    out = run_python(code, timeout=60, env=dict(os.environ, GIOSOCKET_NO_MMSG="1"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_signal_handler_exception_interrupts_batch(pair: tuple[Socket, Socket]) -> None:
    import signal

    server, _ = pair

    class Alarm(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Alarm

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        start = time.monotonic()
        with pytest.raises(Alarm):
            server.receive_messages([InputMessage(bytearray(8))])
        assert time.monotonic() - start < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_close_from_another_thread_wakes_batch(pair: tuple[Socket, Socket]) -> None:
    server, _ = pair
    timer = threading.Timer(0.1, server.close)
    timer.start()
    with pytest.raises(giosocket.Error) as info:
        server.receive_messages([InputMessage(bytearray(8)) for _ in range(2)])
    timer.join()
    assert info.value.code == IOErrorEnum.CLOSED


def test_cancelled_before_and_after_partial(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    dest = server.get_local_address()
    done = Cancellable()
    done.cancel()
    with pytest.raises(giosocket.Error) as info:
        client.send_messages([OutputMessage(dest, [b"x"])], 0, done)
    assert info.value.code == IOErrorEnum.CANCELLED
    client.send_to(dest, b"first")
    cancel = Cancellable()
    timer = threading.Timer(0.1, cancel.cancel)
    timer.start()
    im = [InputMessage(bytearray(8)) for _ in range(3)]
    assert server.receive_messages(im, 0, cancel) == 1  # partial count, as GIO
    timer.join()
    assert bytes(im[0].vectors[:5]) == b"first"


def test_concurrent_batches_from_threads(pair: tuple[Socket, Socket]) -> None:
    server, client = pair
    server.set_option(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    dest = server.get_local_address()
    errors: list[BaseException] = []

    def sender(tag: bytes) -> None:
        msgs = [OutputMessage(dest, [tag]) for _ in range(8)]
        try:
            for _ in range(10):
                assert client.send_messages(msgs) == 8
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(t,)) for t in (b"a", b"b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    server.set_blocking(False)
    im = [InputMessage(bytearray(2)) for _ in range(1024)]
    assert server.receive_messages(im) == 160


def test_reference_cycles_are_collected() -> None:
    import gc
    import weakref

    class Marker(giosocket.SocketControlMessage):
        pass

    vectors: list[object] = [b"x"]
    out = OutputMessage(None, vectors, [Marker()])
    vectors.append(out)  # out -> vectors -> out
    control = out.control_messages[0]
    control.owner = out  # type: ignore[attr-defined]
    ref = weakref.ref(control)
    del out, vectors, control
    gc.collect()
    assert ref() is None
