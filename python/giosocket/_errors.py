"""``giosocket.Error`` and its builtin-compatible subclasses.

Every failure raised by giosocket is a :class:`Error` (an :class:`OSError`) carrying GIO's
``code``.  Where Python has a matching builtin exception, the raised object is *also* an
instance of it, so ``except TimeoutError:`` or ``except BlockingIOError:`` work unchanged.
"""

from __future__ import annotations

import errno as _errno
from typing import TYPE_CHECKING, Callable

from ._enums import IOErrorEnum

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "IO_ERROR_DOMAIN",
    "BrokenPipeGioError",
    "ConnectionRefusedGioError",
    "ConnectionResetGioError",
    "Error",
    "NotFoundError",
    "PermissionDeniedError",
    "TimedOutError",
    "WouldBlockError",
    "io_error_quark",
]


#: The error domain of every giosocket error (GIO's ``G_IO_ERROR`` quark, as a string).
IO_ERROR_DOMAIN = "g-io-error-quark"


def io_error_quark() -> str:
    """GIO's ``g_io_error_quark()``: the domain of every :class:`Error`, ``"g-io-error-quark"``.

    PyGObject code writes ``e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT)``; the
    same line works with ``import giosocket as Gio``.
    """
    return IO_ERROR_DOMAIN


class Error(OSError):
    """A GIO error (domain ``g-io-error-quark``) raised by giosocket.

    Attributes: ``code`` (:class:`IOErrorEnum`), ``errno`` (``int | None``), ``strerror`` and
    ``message`` (GIO's message text), ``domain``. ``Error(code, message, errno=None)`` builds
    one; giosocket itself builds them natively (``OSError.__new__`` plus ``code``), which is
    why the class defines ``__new__`` and no ``__init__``.
    """

    domain = IO_ERROR_DOMAIN
    code: IOErrorEnum

    def __new__(cls, code: int, message: str, errno: int | None = None) -> Self:
        self = OSError.__new__(cls, errno, message)
        self.code = IOErrorEnum(code)
        return self

    @property
    def message(self) -> str:
        """GIO's message text (``GError.message``), e.g. ``"Socket I/O timed out"``."""
        return str(self.strerror)

    def matches(self, domain: object, code: int) -> bool:
        """GLib's ``g_error_matches``: whether this error has ``domain`` and ``code``.

        ``domain`` is :func:`io_error_quark` (the string ``"g-io-error-quark"``); a PyGObject
        quark given as a number never matches, as GIO's domain is not a giosocket one.
        """
        return domain == self.domain and int(code) == int(self.code)

    def __str__(self) -> str:
        return str(self.strerror)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.name}, {self.strerror!r}, errno={self.errno})"

    def __reduce__(
        self,
    ) -> tuple[Callable[[int, str, int | None], Error], tuple[int, str, int | None]]:
        """Pickle support: rebuilt by code, message and errno (as the matching subclass)."""
        return (_make, (int(self.code), str(self.strerror), self.errno))


class WouldBlockError(Error, BlockingIOError):
    """``IOErrorEnum.WOULD_BLOCK``; also a :class:`BlockingIOError`."""


class TimedOutError(Error, TimeoutError):
    """``IOErrorEnum.TIMED_OUT``; also a :class:`TimeoutError`."""


class ConnectionRefusedGioError(Error, ConnectionRefusedError):
    """``IOErrorEnum.CONNECTION_REFUSED``; also a :class:`ConnectionRefusedError`."""


class ConnectionResetGioError(Error, ConnectionResetError):
    """``IOErrorEnum.CONNECTION_CLOSED`` from ECONNRESET; also a :class:`ConnectionResetError`."""


class BrokenPipeGioError(Error, BrokenPipeError):
    """``IOErrorEnum.CONNECTION_CLOSED`` from EPIPE; also a :class:`BrokenPipeError`."""


class PermissionDeniedError(Error, PermissionError):
    """``IOErrorEnum.PERMISSION_DENIED``; also a :class:`PermissionError`."""


class NotFoundError(Error, FileNotFoundError):
    """``IOErrorEnum.NOT_FOUND``; also a :class:`FileNotFoundError`."""


_BY_CODE = {
    IOErrorEnum.WOULD_BLOCK: WouldBlockError,
    IOErrorEnum.TIMED_OUT: TimedOutError,
    IOErrorEnum.CONNECTION_REFUSED: ConnectionRefusedGioError,
    IOErrorEnum.PERMISSION_DENIED: PermissionDeniedError,
    IOErrorEnum.NOT_FOUND: NotFoundError,
}


def _make(code: int, message: str, errno: int | None = None) -> Error:
    """Build the right :class:`Error` subclass for ``code`` (and ``errno``)."""
    if code == IOErrorEnum.CONNECTION_CLOSED:
        cls: type[Error] = BrokenPipeGioError if errno == _errno.EPIPE else ConnectionResetGioError
    else:
        cls = _BY_CODE.get(code, Error)  # type: ignore[call-overload]
    return cls(code, message, errno)
