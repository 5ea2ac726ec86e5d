"""The asyncio example and benchmark script run (real sockets on loopback; no timing checks)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_datagram_endpoint_example_runs(loop: str) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop is not installed (pip install uvloop)")
    args = ["examples/asyncio_datagram_endpoint.py"] + (["--uvloop"] if loop == "uvloop" else [])
    result = _run(*args, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"^2000 datagrams echoed via \('127\.0\.0\.1', \d+\)", result.stdout, re.MULTILINE
    )
    assert "installed: giosocket._transport.DatagramTransport got b'hello through install()'" in (
        result.stdout
    )


def test_bench_asyncio_quick_prints_ratios() -> None:
    result = _run("benches/bench_asyncio.py", "--quick", timeout=240)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for title in (
        "TCP 32 B echo, 1 connection",
        "TCP 32 B echo, 50 connections",
        "UDP 64 B echo",
        "UDP flood receive, 64 B from a native sender",
        "UDP flood receive, 64 B from a native sendmmsg sender",
        "64 datagrams of 64 B per tick",
    ):
        assert title in out
    ratios = re.findall(r"^  (\w+) +ratio (.+?) +([0-9.]+)x$", out, re.MULTILINE)
    labels = {(loop, label.strip()) for loop, label, _ in ratios}
    assert ("default", "giosocket transport / loop's transport") in labels
    assert ("default", "giosocket transport / loop's") in labels
    assert all(float(value) > 0 for _, _, value in ratios)
