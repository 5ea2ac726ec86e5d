"""Runs the typed usage example (and checks it with `mypy --strict` when mypy is installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typed_usage
from giosocket import IOErrorEnum, UnixSocketAddressType


def test_udp_echo_once() -> None:
    data, sender = typed_usage.udp_echo_once(b"typed")
    assert data == b"typed" and sender.startswith("127.0.0.1:")


def test_tcp_roundtrip() -> None:
    assert typed_usage.tcp_roundtrip(b"x" * 5000) == b"x" * 5000


def test_classify() -> None:
    assert typed_usage.classify("127.0.0.1") == ["loopback"]
    assert typed_usage.classify("ff02::1") == ["multicast"]
    assert typed_usage.classify("nope") == []


def test_timeout_code() -> None:
    assert typed_usage.timeout_code() is IOErrorEnum.TIMED_OUT


def test_abstract_address() -> None:
    kind, native = typed_usage.abstract_address("n")
    assert kind is UnixSocketAddressType.ABSTRACT and native.endswith(b"\0n")


def test_batch_roundtrip() -> None:
    assert typed_usage.batch_roundtrip(3) == [2, 3, 4]


def test_pass_fd() -> None:
    import os

    r, w = os.pipe()
    got = typed_usage.pass_fd(w)
    os.write(got, b"ok")
    assert os.read(r, 2) == b"ok"
    for fd in (r, w, got):
        os.close(fd)


def test_mypy_strict_accepts_typed_usage() -> None:
    if shutil.which("mypy") is None and not _has_module("mypy"):
        pytest.skip("mypy is not installed")
    path = Path(__file__).with_name("typed_usage.py")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
