"""Private network namespaces for tests: two namespaces joined by a veth pair.

Everything privileged happens inside namespaces created here (names unique per process and
call); :meth:`VethPair.close` deletes them, and a new pair first removes pairs left behind by
test processes that died. Code runs inside a namespace from a short-lived thread that entered
it with ``setns(2)``: a thread's network namespace is its own, and a socket stays in the
namespace it was created in whichever thread later uses it. Interface names (``if_nametoindex``)
resolve in the calling thread's namespace, so joins that name an interface run via
:meth:`Namespace.run`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Callable, TypeVar

CLONE_NEWNET = 0x40000000
PREFIX = "giosock-"
T = TypeVar("T")


class NetnsUnavailable(RuntimeError):
    """The machine cannot create namespaces or veth links (e.g. a container without
    CAP_SYS_ADMIN, or a kernel without veth)."""


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux-only"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CI runs as root)"
    if shutil.which("ip") is None:
        return "the 'ip' command (iproute2) is not installed"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], check=False, capture_output=True, text=True, timeout=10)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python >= 3.12
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Namespace:
    """One named network namespace (``/run/netns/NAME``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def ip(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``ip -n NAME ARGS`` (raises RuntimeError with ip's message on failure)."""
        return _ip("-n", self.name, *args)

    def run(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """Call ``fn(*args)`` in a thread inside this namespace; return or re-raise its outcome."""
        result: list[T] = []
        errors: list[BaseException] = []

        def target() -> None:
            try:
                fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _setns(fd)
                finally:
                    os.close(fd)
                result.append(fn(*args))
            except BaseException as exc:  # noqa: BLE001 -- re-raised in the caller's thread
                errors.append(exc)

        thread = threading.Thread(target=target, name=f"in-{self.name}", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"{fn!r} still running in {self.name} after {timeout} s")
        if errors:
            raise errors[0]
        return result[0]


def _remove_orphans() -> None:
    """Delete namespaces of this module whose creating process is gone."""
    listing = _ip("netns", "list", check=False).stdout.split()
    for name in listing:
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            _ip("netns", "del", name, check=False)


class VethPair:
    """Namespaces ``a`` and ``b`` joined by veth ``va`` (in a) <-> ``vb`` (in b).

    ``a`` holds two addresses per family (A1, A2) so tests can send from two sources;
    ``b`` holds one (B). Multicast routes point at the veth in both namespaces.
    """

    IFACE_A = "va"
    IFACE_B = "vb"
    A1 = "10.77.0.1"
    A2 = "10.77.0.3"
    B = "10.77.0.2"
    BROADCAST = "10.77.0.255"
    A1_6 = "fd00:77::1"
    A2_6 = "fd00:77::3"
    B_6 = "fd00:77::2"

    def __init__(self) -> None:
        _remove_orphans()
        tag = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.a = Namespace(f"{tag}-a")
        self.b = Namespace(f"{tag}-b")
        self._created: list[Namespace] = []
        try:
            for ns in (self.a, self.b):
                try:
                    _ip("netns", "add", ns.name)
                except RuntimeError as exc:
                    raise NetnsUnavailable(str(exc)) from exc
                self._created.append(ns)
            self._configure()
        except BaseException:
            self.close()
            raise

    def _configure(self) -> None:
        a, b = self.a, self.b
        veth = ("link", "add", self.IFACE_A, "type", "veth", "peer", "name", self.IFACE_B)
        try:
            a.ip(*veth, "netns", b.name)
        except RuntimeError as exc:
            raise NetnsUnavailable(str(exc)) from exc
        sides = (
            (a, self.IFACE_A, (self.A1, self.A2), (self.A1_6, self.A2_6)),
            (b, self.IFACE_B, (self.B,), (self.B_6,)),
        )
        for ns, dev, v4_addresses, v6_addresses in sides:
            # Addresses usable at once: no duplicate address detection in these namespaces.
            for conf in ("all", "default", dev):
                ns.run(_write_sysctl, f"net/ipv6/conf/{conf}/accept_dad", "0")
            ns.ip("link", "set", "lo", "up")
            ns.ip("link", "set", dev, "up")
            for address in v4_addresses:
                ns.ip("addr", "add", f"{address}/24", "brd", "+", "dev", dev)
            for address in v6_addresses:
                ns.ip("addr", "add", f"{address}/64", "dev", dev, "nodad")
            ns.ip("route", "add", "224.0.0.0/4", "dev", dev)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until unicast crosses the link both ways, in both families."""
        import socket

        def make(family: socket.AddressFamily, host: str) -> socket.socket:
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.bind((host, 0))
            s.setblocking(False)
            return s

        pending = [
            (self.a, self.b, self.A1, self.B),
            (self.a, self.b, self.A1_6, self.B_6),
            (self.b, self.a, self.B, self.A1),
            (self.b, self.a, self.B_6, self.A1_6),
        ]
        deadline = time.monotonic() + timeout
        while pending:
            still = []
            for src_ns, dst_ns, src, dst in pending:
                family = socket.AF_INET6 if ":" in src else socket.AF_INET
                rx = dst_ns.run(make, family, dst)
                tx = src_ns.run(make, family, src)
                with rx, tx:
                    with contextlib.suppress(OSError):
                        tx.sendto(b"ready", rx.getsockname()[:2])
                    time.sleep(0.02)
                    try:
                        arrived = rx.recv(16) == b"ready"
                    except BlockingIOError:
                        arrived = False
                if not arrived:
                    still.append((src_ns, dst_ns, src, dst))
            pending = still
            if pending and time.monotonic() > deadline:
                raise RuntimeError(
                    f"veth link not ready after {timeout} s: {[p[2:] for p in pending]}"
                )

    def close(self) -> None:
        """Delete both namespaces (idempotent; never raises)."""
        while self._created:
            _ip("netns", "del", self._created.pop().name, check=False)


def _write_sysctl(key: str, value: str) -> None:
    with open(f"/proc/sys/{key}", "w") as f:
        f.write(value)
