"""``python -m giosocket demo`` / ``python -m giosocket bench``."""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch the sub-command."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "demo"
    if command == "demo":
        from ._demo import main as demo

        return demo(args)
    if command == "bench":
        bench = importlib.import_module("giosocket._bench")
        return int(bench.main(args))
    print("usage: python -m giosocket demo | bench [--quick] [--json]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
