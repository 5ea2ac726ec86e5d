"""examples/udp_reply_from_dest.py runs and does what it says: every answer comes from the
address it was asked on, marked ECT(0)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "udp_reply_from_dest.py"


def test_example_answers_from_the_address_asked() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    answers = [
        re.match(r"asked (\S+): answer from (\S+):\d+, ECN (\S+): (.*)$", ln) for ln in lines
    ]
    found = [m.groups() for m in answers if m]
    assert len(found) == 4, proc.stdout
    for i, (asked, source, ecn, payload) in enumerate(found):
        assert source == asked
        assert ecn == "ECT(0)"
        assert payload == repr(f"reply to hello {i}".encode())
    assert lines[-1] == "served 4 requests, 0 datagrams dropped"
