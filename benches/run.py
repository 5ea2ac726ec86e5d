"""Run giosocket's benchmarks: the same as ``python -m giosocket bench`` (see README.md here).

Usage: ``python benches/run.py [--quick] [--json [FILE]] [--plot PNG]`` with giosocket installed
(``pip install .`` or ``maturin develop --release``; debug builds are not representative).
"""

from __future__ import annotations

import sys

from giosocket._bench import main

if __name__ == "__main__":
    sys.exit(main())
