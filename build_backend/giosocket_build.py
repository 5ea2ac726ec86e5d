"""giosocket's PEP 517 build backend: maturin's, without its silent Rust toolchain download.

When ``cargo`` is not on PATH, maturin's backend installs ``puccinialin`` and downloads a whole
Rust toolchain into a temporary directory, unasked. Here that is switched off (maturin's own
``MATURIN_NO_INSTALL_RUST``), so a machine without Rust stops at once with maturin's message
"Cargo, the Rust package manager, is not installed or is not on PATH" instead. Install Rust
(https://rustup.rs or the distribution's ``cargo`` package), or install a wheel. To let maturin
download a toolchain anyway, set ``MATURIN_NO_INSTALL_RUST=`` (empty) in the environment.

Every hook is maturin's, unchanged.
"""

from __future__ import annotations

import os

os.environ.setdefault("MATURIN_NO_INSTALL_RUST", "1")

from maturin import *  # noqa: E402, F403 (the PEP 517 hooks, re-exported as they are)
