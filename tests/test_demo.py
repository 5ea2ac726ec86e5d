"""The README's first command: ``python -m giosocket demo`` runs and tells its story."""

from __future__ import annotations

from conftest import run_giosocket


def test_demo_runs_and_reports_each_part() -> None:
    result = run_giosocket("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "echoed b'hello'" in out
    assert "got b'datagram 2'" in out
    assert "CANCELLED" in out and "CLOSED" in out
    assert "ConnectionRefusedError" in out and "TimeoutError" in out
    assert "one send_messages call sent 8 datagrams" in out
    assert "one receive_messages call got 8 datagrams" in out
    assert "b'asyncio' -> b'ASYNCIO'" in out
    assert out.rstrip().endswith("demo finished")


def test_unknown_subcommand_is_an_error() -> None:
    result = run_giosocket("nonsense")
    assert result.returncode == 2
    assert "usage" in result.stderr
