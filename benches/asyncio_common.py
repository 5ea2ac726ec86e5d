"""What the asyncio benchmark scripts share: a contender's result and the window that times it."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Callable

Result = tuple[int, float, float]  # operations, CPU seconds, wall seconds


class Unavailable(Exception):
    """This loop lacks the call a contender needs (shown as n/a)."""


Contender = Callable[[float], Awaitable[Result]]


class Window:
    """Counts operations between ``start()`` and ``stop()`` in CPU and wall time."""

    def __init__(self) -> None:
        self.count = 0
        self.cpu = self.wall = 0.0
        self._cpu0 = self._wall0 = 0.0

    def start(self) -> None:
        self.count = 0
        self._cpu0, self._wall0 = time.thread_time(), time.perf_counter()

    def stop(self) -> Result:
        return self.count, time.thread_time() - self._cpu0, time.perf_counter() - self._wall0
