"""Every ``python`` code block of README.md and docs/ runs, on its own, in a fresh interpreter.

A block is a complete program (no state shared with other blocks). It must exit 0 and write no
warning or traceback to stderr (``-X dev -W error::ResourceWarning``: an unclosed socket would
show). A comment line just before the fence changes how it runs:

- ``<!-- test: netns -->``: as root, inside a private network namespace whose ``eth0`` (one end
  of a veth pair, 192.0.2.1/24, multicast route) the example may name; skipped, with the
  reason, where namespaces cannot be made.
- ``<!-- test: skip REASON -->``: not run (the reason is shown).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from netns import PREFIX, unavailable_reason

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"<!-- test: (\w+)(?: (.*?))? -->\s*$")


@dataclass
class Example:
    """One code block: where it is, its code and how to run it (None, "netns" or "skip")."""

    path: pathlib.Path
    line: int
    code: str
    mode: str | None
    reason: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def examples() -> list[Example]:
    """The python blocks of every source, in order."""
    found = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.match(before.strip())
            line = text.count("\n", 0, m.start()) + 1
            mode, reason = (marker.group(1), marker.group(2) or "") if marker else (None, "")
            found.append(Example(path, line, m.group(1), mode, reason))
    return found


EXAMPLES = examples()


def test_the_sources_have_examples() -> None:
    """The collection itself works: README and the guides have runnable blocks."""
    by_file = {e.path.name for e in EXAMPLES}
    assert {"README.md", "quickstart.md", "multicast.md", "asyncio.md"} <= by_file
    assert all(e.mode in (None, "netns", "skip") for e in EXAMPLES), [e.id for e in EXAMPLES]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONWARNINGS")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)


def _python(code: str) -> list[str]:
    return [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A network namespace with lo up and ``eth0`` (veth to ``eth1``) at 192.0.2.1/24."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    name = f"{PREFIX}{os.getpid()}-doc{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc.stderr.strip()}")
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        for dev in ("eth0", "eth1"):
            _ip("-n", name, "link", "set", dev, "up")
        _ip("-n", name, "addr", "add", "192.0.2.1/24", "dev", "eth0")
        _ip("-n", name, "route", "add", "224.0.0.0/4", "dev", "eth0")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_runs(example: Example, request: pytest.FixtureRequest) -> None:
    if example.mode == "skip":
        pytest.skip(example.reason or "marked skip")
    argv = _python(example.code)
    if example.mode == "netns":
        argv = ["ip", "netns", "exec", request.getfixturevalue("namespace"), *argv]
    done = _run(argv)
    assert done.returncode == 0, f"{example.id} failed:\n{done.stderr}"
    assert done.stderr == "", f"{example.id} wrote to stderr:\n{done.stderr}"
