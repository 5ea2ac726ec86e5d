"""``python -m giosocket``: argparse help on stdout, usage errors with status 2."""

from __future__ import annotations

from conftest import run_giosocket


def test_help_lists_the_commands() -> None:
    done = run_giosocket("--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m giosocket")
    assert "demo" in done.stdout
    assert "python benches/run.py" in done.stdout  # where the benchmarks went
    assert done.stderr == ""


def test_demo_help_describes_the_demo_without_running_it() -> None:
    done = run_giosocket("demo", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m giosocket demo")
    assert "tour" in done.stdout
    assert "demo finished" not in done.stdout


def test_unknown_command_and_option_are_usage_errors() -> None:
    for args in (("bench",), ("demo", "--bogus"), ("--bogus",)):
        done = run_giosocket(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "usage: python -m giosocket" in done.stderr
        assert done.stdout == ""
