"""``Socket.create_source()``: a ``GLib.Source`` watching a giosocket socket (GIO's GSocketSource).

The source is a PyGObject ``GLib.Source`` subclass built the first time it is needed, so
giosocket never imports PyGObject unless ``create_source`` is called. It follows gsocket.c's
``socket_source_new`` / ``socket_source_dispatch``: the socket's fd is watched for the
condition plus HUP, ERR and NVAL; a closed socket dispatches NVAL; after the timeout of
inactivity it dispatches with IN and OUT added; a Cancellable's fd is watched too, so
cancelling wakes the source (the callback's next I/O with it raises CANCELLED).
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from ._enums import IOCondition

if TYPE_CHECKING:
    from ._giosocket import Cancellable, Socket

_ALWAYS = IOCondition.HUP | IOCondition.ERR | IOCondition.NVAL
_source_class: Any = None
_class_lock = threading.Lock()


def _hold(*_: Any) -> bool:
    """The C-level callback of an attached source (never called: ``dispatch`` calls the user's)."""
    return False


def _glib() -> Any:
    """PyGObject's GLib module; ImportError when it is not there (or has no GLib 2.0)."""
    try:
        import gi  # type: ignore[import-untyped, unused-ignore]

        gi.require_version("GLib", "2.0")
        from gi.repository import GLib  # type: ignore[import-untyped, unused-ignore]
    except ValueError as exc:  # gi present, GLib 2.0 typelib missing
        raise ImportError(str(exc)) from exc
    return GLib


def _make_source_class(GLib: Any) -> Any:
    class SocketSource(GLib.Source):  # type: ignore[misc, name-defined]
        """A GLib.Source for a giosocket.Socket (GIO's GSocketSource)."""

        def __init__(
            self,
            socket: Socket,
            condition: int,
            cancellable: Cancellable | None,
            timeout_us: int | None,
        ) -> None:
            super().__init__()
            self.set_name("GSocket")
            self._callback: Any = None
            self._user_data: Any = None
            self._socket = socket
            self._condition = IOCondition(int(condition)) | _ALWAYS
            self._cancellable = cancellable
            self._timeout_us = (
                round(socket.get_timeout() * 1_000_000) if timeout_us is None else timeout_us
            )
            self._fd_tag: Any = self.add_unix_fd(
                socket.get_fd(), GLib.IOCondition(int(self._condition))
            )
            if cancellable is not None:
                self.add_unix_fd(cancellable.get_fd(), GLib.IOCondition.IN)
            self._rearm()

        def __del__(self, _sys: Any = sys) -> None:
            # PyGObject's Source.__del__ destroys the source through gi, which needs the import
            # system: gone while the interpreter shuts down (when a module-level source dies),
            # and GLib's memory goes with the process then anyway.
            if _sys.meta_path is not None:
                super().__del__()

        def _rearm(self) -> None:
            if self._timeout_us > 0 and not self._socket.is_closed():
                self.set_ready_time(GLib.get_monotonic_time() + self._timeout_us)
            else:
                self.set_ready_time(-1)

        def set_callback(self, fn: Any, user_data: Any = None) -> None:
            """Set ``fn(socket, condition[, user_data]) -> bool`` (False removes the source)."""
            self._callback = fn
            self._user_data = user_data

        def attach(self, context: Any = None) -> int:
            """Attach to ``context`` (None: the default one); returns the source id.

            As GLib holds an attached GSocketSource, the context holds this source (through
            its C-level callback data) until it is destroyed, so the caller need not keep it.
            """
            GLib.Source.set_callback(self, _hold, self)
            return int(super().attach(context))

        def prepare(self) -> tuple[bool, int]:
            # Ready at once when the socket was closed while still watched (GIO).
            return (self._socket.is_closed() and self._fd_tag is not None, -1)

        def check(self) -> bool:
            # GLib itself marks the source ready when a watched fd polled ready or the ready
            # time passed; nothing more to check.
            return False

        def dispatch(self, _hold: Any, _self: Any) -> bool:
            if self._socket.is_closed():
                if self._fd_tag is not None:
                    self.remove_unix_fd(self._fd_tag)
                    self._fd_tag = None
                events = int(IOCondition.NVAL)
            elif self._fd_tag is not None:
                events = int(self.query_unix_fd(self._fd_tag))
            else:
                events = 0
            ready_time = self.get_ready_time()
            if 0 <= ready_time <= self.get_time() and not self._socket.is_closed():
                # Timed out: the callback sees the condition, the next I/O raises TIMED_OUT.
                self._socket._mark_timed_out()
                events |= int(IOCondition.IN | IOCondition.OUT)
            condition = IOCondition(events & int(self._condition))
            callback, user_data = self._callback, self._user_data
            if callback is None:
                raise TypeError("create_source: no callback set (source.set_callback(fn))")
            extra = () if user_data is None else (user_data,)
            keep = callback(self._socket, condition, *extra)
            self._rearm()
            return bool(keep)

    return SocketSource


def create_source(
    socket: Socket, condition: int, cancellable: Cancellable | None, timeout_us: int | None
) -> Any:
    """Build the source (``Socket.create_source``); ImportError without PyGObject."""
    global _source_class
    GLib = _glib()
    with _class_lock:
        if _source_class is None:
            _source_class = _make_source_class(GLib)
        cls = _source_class
    return cls(socket, condition, cancellable, timeout_us)
