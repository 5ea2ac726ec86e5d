"""examples/pygobject_style_udp.py: PyGObject-style code runs with only its imports changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pygobject_style_udp.py"

gi = pytest.importorskip("gi", reason="PyGObject is not installed: pip install -e '.[test]'")


def test_example_echoes_over_a_glib_main_loop() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == (
        "ping 0 / ping 1 / ping 2 | echoed ping 0 / echoed ping 1 / echoed ping 2"
    )


def test_only_the_import_lines_name_giosocket() -> None:
    body = EXAMPLE.read_text().splitlines()
    giosocket_lines = [line for line in body if "giosocket" in line or "Gio.Error" in line]
    assert giosocket_lines == [
        "import giosocket as Gio  # PyGObject: from gi.repository import Gio",
        "GError = Gio.Error  # PyGObject: GError = GLib.Error",
    ]
    # The GIO calls the acceptance names, all spelled as PyGObject spells them.
    text = "\n".join(body)
    for call in (
        "Gio.Socket.new(",
        "Gio.InetSocketAddress.new(",
        "Gio.UnixSocketAddress.new(",
        ".create_source(",
        "GLib.MainLoop()",
        "e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.WOULD_BLOCK)",
    ):
        assert call in text, call
