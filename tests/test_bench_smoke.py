"""`python -m giosocket bench` runs end to end (tiny hidden --smoke mode); no timing checks."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess

import pytest
from conftest import run_giosocket
from giosocket import _giosocket as native


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_giosocket("bench", "--smoke", *args, timeout=180)


def test_bench_smoke_prints_the_table() -> None:
    done = run_bench()
    assert done.returncode == 0, done.stdout + done.stderr
    for heading in ("(a) UDP send", "(b) UDP receive", "(c) TCP bulk", "(d) TCP ping-pong"):
        assert heading in done.stdout
    for row in ("stdlib socket.sendto", "giosocket send_to", "native sendmmsg", "Targets"):
        assert row in done.stdout
    assert "ERROR" not in done.stdout


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


def test_unknown_subcommand_prints_usage() -> None:
    done = run_giosocket("nope")
    assert done.returncode == 2
    assert "bench" in done.stderr


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


def test_native_loop_on_a_non_socket_fd_raises_oserror() -> None:
    with open(os.devnull, "rb") as f, pytest.raises(OSError):
        native._bench_udp_send(f.fileno(), ("127.0.0.1", 9), 64, "sendto", 1, 0.01)


def test_saved_results_render_as_markdown(tmp_path: pathlib.Path) -> None:
    saved = tmp_path / "results.json"
    done = run_bench("--only", "tcp_pingpong", "--json", str(saved))
    assert done.returncode == 0, done.stderr
    assert "(d) TCP ping-pong" in done.stdout
    again = run_giosocket("bench", "--from-json", str(saved), "--markdown")
    assert again.returncode == 0, again.stderr
    assert "| contender | median |" in again.stdout
    assert "giosocket send + receive_into" in again.stdout
