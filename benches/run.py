"""Run giosocket's benchmarks (see README.md here): the entry point of the harness.

Usage, from a checkout: ``python benches/run.py [--quick] [--json [FILE]] [--plot PNG]`` with
giosocket installed from it (``pip install -e .``, a release build with the native reference loops
of the cargo feature ``bench``). Against a release wheel (built without the feature) the native
rows, and the scenarios a native peer feeds, show as n/a.
"""

from __future__ import annotations

import sys

from harness import main

if __name__ == "__main__":
    sys.exit(main())
