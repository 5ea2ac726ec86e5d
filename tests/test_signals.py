"""Signals: Ctrl-C interrupts blocking calls promptly; other handlers run and the call resumes.

Every child interpreter first sets SIGINT's handler to Python's default (``KeyboardInterrupt``):
a parent that ignores SIGINT (a background job of a non-interactive shell, as some CI runners
start tests) would otherwise hand its children SIG_IGN, and Python keeps an ignored SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import run_python

# First lines of every child: SIGINT raises KeyboardInterrupt even if the parent ignored it.
SIGINT_DEFAULT = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"


def run_child(code: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """``run_python`` with SIGINT's default handler set first."""
    return run_python(SIGINT_DEFAULT + code, timeout=timeout)


SIGINT_DURING = textwrap.dedent(
    """
    import os, signal, threading, time, giosocket
    from giosocket import Socket, SocketFamily, SocketType, IOCondition
    s = Socket(SocketFamily.IPV4, SocketType.{stype})
    s.bind(("127.0.0.1", 0), True)
    {setup}
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    try:
        {call}
        print("RETURNED")
    except KeyboardInterrupt:
        print("KeyboardInterrupt", round(time.monotonic() - start, 3))
    print("fd still usable:", s.fileno() >= 0, s.close())
    """
)

CALLS = {
    "receive": ("DATAGRAM", "", "s.receive(10)"),
    "receive_from_with_timeout": ("DATAGRAM", "s.timeout = 30", "s.receive_from(10)"),
    "receive_bytes": ("DATAGRAM", "", "s.receive_bytes(10, 30_000_000)"),
    "condition_wait": ("DATAGRAM", "", "s.condition_wait(IOCondition.IN)"),
    "accept": ("STREAM", "s.listen()", "s.accept()"),
}


@pytest.mark.parametrize("case", CALLS.values(), ids=CALLS.keys())
def test_sigint_during_blocking_call_raises_keyboardinterrupt_within_1s(case) -> None:
    stype, setup, call = case
    code = SIGINT_DURING.format(stype=stype, setup=setup, call=call)
    start = time.monotonic()
    result = run_child(code, timeout=20)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("KeyboardInterrupt"), result.stdout + result.stderr
    assert float(lines[0].split()[1]) < 0.3 + 1.0
    assert lines[1] == "fd still usable: True True"
    assert time.monotonic() - start < 15


def test_ctrl_c_from_outside_interrupts_main_thread_receive() -> None:
    code = textwrap.dedent(
        """
        import sys, time, giosocket
        s = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
        s.bind(("127.0.0.1", 0), False)
        print("ready", flush=True)
        try:
            s.receive(10)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_DEFAULT + code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.1)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - sent < 1.0
        assert proc.returncode == 3, err
        assert out.strip() == "interrupted"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_non_raising_handler_runs_and_the_call_resumes() -> None:
    # PEP 475: a handler that returns normally must not abort the wait; the call keeps
    # waiting (with the remaining time) and then gets its data.
    code = textwrap.dedent(
        """
        import os, signal, threading, time, giosocket
        from giosocket import Socket, SocketFamily, SocketType
        hits = []
        signal.signal(signal.SIGUSR1, lambda *a: hits.append(time.monotonic()))
        rx = Socket(SocketFamily.IPV4, SocketType.DATAGRAM); rx.bind(("127.0.0.1", 0), False)
        tx = Socket(SocketFamily.IPV4, SocketType.DATAGRAM)
        for delay in (0.1, 0.2, 0.3):
            threading.Timer(delay, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        threading.Timer(0.5, tx.send_to, (rx.local_address, b"data")).start()
        start = time.monotonic()
        data = rx.receive(10)
        print(data.decode(), len(hits), round(time.monotonic() - start, 2))
        """
    )
    result = run_child(code)
    assert result.returncode == 0, result.stderr
    data, hits, took = result.stdout.split()
    assert data == "data" and int(hits) == 3 and 0.45 <= float(took) < 2


def test_non_raising_handler_keeps_the_timeout_deadline() -> None:
    code = textwrap.dedent(
        """
        import os, signal, threading, time, giosocket
        from giosocket import Socket, SocketFamily, SocketType
        signal.signal(signal.SIGUSR1, lambda *a: None)
        rx = Socket(SocketFamily.IPV4, SocketType.DATAGRAM); rx.bind(("127.0.0.1", 0), False)
        for i in range(1, 8):
            threading.Timer(0.05 * i, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        start = time.monotonic()
        try:
            rx.receive_bytes(10, 300_000)
        except TimeoutError:
            print("timeout", round(time.monotonic() - start, 3))
        """
    )
    result = run_child(code)
    assert result.returncode == 0, result.stderr
    word, took = result.stdout.split()
    assert word == "timeout" and 0.29 <= float(took) < 0.8


def test_send_to_closed_peer_does_not_raise_sigpipe() -> None:
    code = textwrap.dedent(
        """
        import signal, socket, giosocket
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # Python ignores it by default
        a, b = socket.socketpair()
        s = giosocket.Socket.new_from_fd(a.detach())
        b.close()
        try:
            s.send(b"x")
        except BrokenPipeError as e:
            print("BrokenPipeError", e.code == giosocket.IOErrorEnum.CONNECTION_CLOSED)
        """
    )
    result = run_child(code)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout.strip() == "BrokenPipeError True"


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigint_in_worker_thread_process_still_exits_cleanly() -> None:
    # A receive blocked in a non-main thread must not keep Ctrl-C from reaching the main
    # thread, and close() must then wake the worker.
    code = textwrap.dedent(
        """
        import os, signal, threading, time, giosocket
        s = giosocket.Socket(giosocket.SocketFamily.IPV4, giosocket.SocketType.DATAGRAM)
        s.bind(("127.0.0.1", 0), False)
        codes = []
        def worker():
            try:
                s.receive(10)
            except giosocket.Error as e:
                codes.append(e.code.name)
        t = threading.Thread(target=worker); t.start()
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            time.sleep(5)
        except KeyboardInterrupt:
            s.close()
            t.join(2)
            print("main interrupted", codes, t.is_alive())
        """
    )
    result = run_child(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "main interrupted ['CLOSED'] False"


def test_children_get_keyboardinterrupt_even_when_the_parent_ignores_sigint() -> None:
    """The SIGINT_DEFAULT prelude: a child started with SIGINT ignored (as by a parent that
    ignores it) is still interrupted."""
    code = SIGINT_DURING.format(stype="DATAGRAM", setup="", call="s.receive(10)")
    done = subprocess.run(
        [sys.executable, "-c", SIGINT_DEFAULT + code],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("KeyboardInterrupt"), done.stdout + done.stderr
