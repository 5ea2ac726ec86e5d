"""``giosocket.Error`` and its builtin-compatible subclasses.

Every failure raised by giosocket is a :class:`Error` (an :class:`OSError`) carrying GIO's
``code``.  Where Python has a matching builtin exception, the raised object is *also* an
instance of it, so ``except TimeoutError:`` or ``except BlockingIOError:`` work unchanged.
"""

from __future__ import annotations

import errno as _errno
from typing import Callable

from ._enums import IOErrorEnum

__all__ = [
    "BrokenPipeGioError",
    "ConnectionRefusedGioError",
    "ConnectionResetGioError",
    "Error",
    "NotFoundError",
    "PermissionDeniedError",
    "TimedOutError",
    "WouldBlockError",
]


class Error(OSError):
    """A GIO error (domain ``g-io-error-quark``) raised by giosocket.

    Attributes: ``code`` (:class:`IOErrorEnum`), ``errno`` (``int | None``), ``strerror``.
    """

    domain = "g-io-error-quark"
    code: IOErrorEnum

    def __init__(self, code: int, message: str, errno: int | None = None) -> None:
        super().__init__(errno, message)
        self.code = IOErrorEnum(code)

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
