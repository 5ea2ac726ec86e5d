"""One source of truth: the Python enums agree with the values the native module uses."""

from __future__ import annotations

import giosocket
from giosocket import _enums
from giosocket._giosocket import _native_constants


def test_every_native_constant_is_the_python_enum_member() -> None:
    constants = _native_constants()
    assert len(constants) > 40
    for key, value in constants.items():
        enum_name, member = key.split(".")
        enum = getattr(_enums, enum_name)
        assert enum[member] == value, key


def test_every_io_error_code_the_crate_raises_is_a_member() -> None:
    codes = {k.split(".")[1] for k in _native_constants() if k.startswith("IOErrorEnum.")}
    assert {"FAILED", "CLOSED", "CANCELLED", "TIMED_OUT", "WOULD_BLOCK"} <= codes
    for name in codes:
        err = giosocket.Error(giosocket.IOErrorEnum[name], "m")
        assert err.code is giosocket.IOErrorEnum[name]  # aliases (CONNECTION_CLOSED) included


def test_version_has_one_source() -> None:
    from importlib.metadata import version

    assert giosocket.__version__ == version("giosocket")
