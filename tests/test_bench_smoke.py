"""`python benches/run.py` runs end to end (tiny hidden --smoke mode); no timing checks.

The native reference loops exist only in a build with the cargo feature ``bench`` (the default
for a checkout); the tests that call them directly skip on a build without it (a release wheel).
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import socket
import subprocess
import sys
import types
from collections.abc import Iterator

import pytest
from giosocket import _giosocket as native

BENCHES = pathlib.Path(__file__).resolve().parent.parent / "benches"
needs_bench_feature = pytest.mark.skipif(
    not hasattr(native, "_bench_udp_send"),
    reason="giosocket was built without the cargo feature bench (a release wheel)",
)


def run_benches(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python benches/SCRIPT ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, str(BENCHES / script), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_benches("run.py", "--smoke", *args)


@needs_bench_feature
def test_bench_smoke_prints_the_table() -> None:
    done = run_bench()
    assert done.returncode == 0, done.stdout + done.stderr
    for heading in ("(a) UDP send", "(b) UDP receive", "(c) TCP bulk", "(d) TCP ping-pong"):
        assert heading in done.stdout
    for row in ("stdlib socket.sendto", "giosocket send_to", "native sendmmsg", "Targets"):
        assert row in done.stdout
    assert "ERROR" not in done.stdout


@needs_bench_feature
def test_bench_smoke_json_is_machine_readable() -> None:
    done = run_bench("--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["machine"]["nproc"] >= 1
    keys = {sc["key"] for sc in results["scenarios"]}
    assert keys == {"udp_send", "udp_recv", "tcp_bulk", "tcp_pingpong"}
    for sc in results["scenarios"]:
        for row in sc["results"]:
            assert row["status"] in ("ok", "n/a"), row
            if row["status"] == "ok":
                assert row["median"] > 0


def test_help_describes_the_options() -> None:
    done = run_benches("run.py", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python benches/run.py")
    for option in ("--quick", "--json", "--plot", "--from-json", "--only"):
        assert option in done.stdout


@pytest.fixture
def harness_without_native_loops(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """The harness modules imported in-process, seeing an extension without the bench loops."""
    monkeypatch.syspath_prepend(str(BENCHES))
    import cases
    import harness

    monkeypatch.setattr(cases, "_giosocket", types.SimpleNamespace())
    yield harness


def test_without_the_bench_feature_native_rows_are_unavailable(
    harness_without_native_loops: types.ModuleType,
) -> None:
    harness = harness_without_native_loops
    import cases

    assert harness.build_profile().startswith("unknown")
    profile = harness.PROFILES["smoke"]
    send, pingpong = cases.udp_send_scenario(), cases.tcp_pingpong_scenario()
    for sc in (send, pingpong):
        harness.run_scenario(sc, profile, io.StringIO())
        for r in sc.resources:
            r.close()
    for sc in (send, pingpong):
        for c in sc.contenders:
            assert c.error is None, (c.key, c.error)
    native_rows = [c for c in send.contenders if c.key.startswith("native_")]
    assert len(native_rows) == 3
    for c in native_rows + pingpong.contenders:  # ping-pong needs the native echo peer
        assert c.missing is not None and "cargo feature bench" in c.missing, c.key
        assert not c.samples
    for key in ("stdlib_sendto", "gio_send_to"):
        row = send.get(key)
        assert row is not None and row.missing is None and row.samples, key
    table = io.StringIO()
    harness.report([send, pingpong], profile, harness.machine(), table)
    assert "native sendmmsg x64" in table.getvalue()
    assert "n/a (giosocket was built without" in table.getvalue()


@needs_bench_feature
def test_native_send_and_receive_count_packets() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        rx.setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVTIMEO, (b"\x00" * 8) + (200000).to_bytes(8, "little")
        )
        packets, sent, _, _ = native._bench_udp_send(
            tx.fileno(), rx.getsockname(), 64, "sendmmsg", 8, 5.0, 16
        )
        assert packets == 16 and sent == 16 * 64
        got, received, _, _ = native._bench_udp_recv(rx.fileno(), 2048, "recvmmsg", 8, 5.0, 16)
        assert got == 16 and received == 16 * 64


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"size": 0}, ValueError),
        ({"size": 70000}, ValueError),
        ({"mode": "bogus"}, ValueError),
        ({"batch": 0}, ValueError),
        ({"seconds": float("nan")}, ValueError),
        ({"seconds": -1.0}, ValueError),
        ({"max_packets": -1}, ValueError),
        ({"mode": "gso", "batch": 2000}, ValueError),
        ({"fd": -1}, ValueError),
    ],
)
@needs_bench_feature
def test_native_send_rejects_bad_arguments(kwargs: dict[str, object], error: type) -> None:
    args: dict[str, object] = {
        "fd": 0,
        "address": ("127.0.0.1", 9),
        "size": 64,
        "mode": "sendto",
        "batch": 1,
        "seconds": 0.01,
    }
    args.update(kwargs)
    with pytest.raises(error):
        native._bench_udp_send(**args)  # type: ignore[arg-type]


@needs_bench_feature
def test_native_loop_on_a_non_socket_fd_raises_oserror() -> None:
    with open(os.devnull, "rb") as f, pytest.raises(OSError):
        native._bench_udp_send(f.fileno(), ("127.0.0.1", 9), 64, "sendto", 1, 0.01)


@needs_bench_feature
def test_saved_results_render_as_markdown(tmp_path: pathlib.Path) -> None:
    saved = tmp_path / "results.json"
    done = run_bench("--only", "tcp_pingpong", "--json", str(saved))
    assert done.returncode == 0, done.stderr
    assert "(d) TCP ping-pong" in done.stdout
    again = run_benches("run.py", "--from-json", str(saved), "--markdown")
    assert again.returncode == 0, again.stderr
    assert "| contender | median |" in again.stdout
    assert "giosocket send + receive_into" in again.stdout
