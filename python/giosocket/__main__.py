"""``python -m giosocket``: the command line (``demo``; ``--help`` lists the commands).

The benchmark harness is not part of the package: run ``python benches/run.py`` from a checkout.
"""

from __future__ import annotations

import argparse
import sys


def _build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m giosocket`` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="python -m giosocket",
        description="giosocket: GLib's GSocket (the Gio.Socket API) for Python.",
        epilog="The benchmarks run from a checkout: python benches/run.py --help",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="a self-contained tour on loopback (TCP, UDP, cancellation, errors, batches, asyncio)",
        description="A self-contained tour of giosocket on loopback: TCP echo with timeouts, "
        "UDP, cancellation, errors, batched messages and asyncio. Sends nothing off the machine.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the sub-command (``demo`` when none is given)."""
    _build_parser().parse_args(argv)  # "demo" is the only command; argparse rejects others
    from ._demo import main as demo

    return demo()


if __name__ == "__main__":
    sys.exit(main())
