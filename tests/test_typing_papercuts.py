"""Constructor arguments: the wrong enum class is refused at run time and by the type checker.

``Socket(SocketType.STREAM, SocketFamily.IPV4)`` (arguments swapped) used to make a UNIX
datagram socket silently; it is a TypeError now, and mypy reports it. Plain ints stay accepted
at run time. The stubs also let ``m.vectors[0]`` through and reject ``SocketControlMessage("x")``.
"""

from __future__ import annotations

import socket
import textwrap

import pytest
from giosocket import (
    InputMessage,
    Socket,
    SocketControlMessage,
    SocketFamily,
    SocketProtocol,
    SocketType,
)

mypy_api = pytest.importorskip("mypy.api", reason="mypy is in the test extra")


@pytest.mark.parametrize("make", [Socket, Socket.new])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((SocketType.STREAM, SocketFamily.IPV4), "family must be a giosocket.SocketFamily"),
        ((SocketFamily.IPV4, SocketFamily.IPV4), "type must be a giosocket.SocketType"),
        (
            (SocketFamily.IPV4, SocketType.STREAM, SocketType.STREAM),
            "protocol must be a giosocket.SocketProtocol",
        ),
        (("ipv4", SocketType.STREAM), "family must be a giosocket.SocketFamily or an int, not str"),
    ],
)
def test_wrong_enum_class_is_a_type_error(
    make: object, args: tuple[object, ...], message: str, no_fd_leak: None
) -> None:
    with pytest.raises(TypeError, match=message):
        make(*args)  # type: ignore[operator]


@pytest.mark.parametrize("make", [Socket, Socket.new])
def test_plain_ints_and_the_right_enums_are_accepted(make: object, no_fd_leak: None) -> None:
    for args in [
        (2, 1),
        (SocketFamily.IPV4, SocketType.STREAM),
        (SocketFamily.IPV4, SocketType.STREAM, SocketProtocol.TCP),
        (SocketFamily.IPV4, SocketType.STREAM, 6),
        (SocketFamily.IPV4, SocketType.DATAGRAM, int(SocketProtocol.UDP)),
        # Other libraries' enums are their number: the stdlib's AF_* equal GIO's families.
        (socket.AF_INET, SocketType.STREAM),
    ]:
        with make(*args) as s:  # type: ignore[operator]
            assert s.family is SocketFamily.IPV4
            assert s.type in (SocketType.STREAM, SocketType.DATAGRAM)
    with make(SocketFamily.IPV4, SocketType.STREAM, SocketProtocol.TCP) as s:  # type: ignore[operator]
        assert s.protocol == SocketProtocol.TCP


def test_input_message_vectors_are_indexable_at_run_time() -> None:
    buf = bytearray(8)
    m = InputMessage([buf])
    assert m.vectors[0] is buf


def _mypy(code: str) -> tuple[str, int]:
    out, err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir=/dev/null", "-c", textwrap.dedent(code)]
    )
    return out + err, status


def test_the_type_checker_rejects_the_papercuts() -> None:
    out, status = _mypy(
        """
        from giosocket import Socket, SocketControlMessage, SocketFamily, SocketType
        swapped = Socket(SocketType.STREAM, SocketFamily.IPV4)
        swapped_new = Socket.new(SocketFamily.IPV4, SocketFamily.IPV6)
        oops = SocketControlMessage("oops")
        """
    )
    assert status == 1, out
    assert 'Argument 1 to "Socket" has incompatible type "Literal[SocketType.STREAM]"' in out
    assert 'Argument 2 to "Socket" has incompatible type "Literal[SocketFamily.IPV4]"' in out
    assert 'Argument 2 to "new" of "Socket" has incompatible type' in out
    assert 'No overload variant of "SocketControlMessage" matches argument type "str"' in out
    assert "Found 4 errors" in out, out


def test_the_type_checker_accepts_correct_code() -> None:
    out, status = _mypy(
        """
        from giosocket import (
            InputMessage, Socket, SocketControlMessage, SocketFamily, SocketProtocol, SocketType,
        )
        a = Socket(SocketFamily.IPV6, SocketType.DATAGRAM, SocketProtocol.UDP)
        b = Socket(2, 1)
        c = Socket(SocketFamily.UNIX, SocketType.SEQPACKET, 0)
        generic = SocketControlMessage(1, 2, b"data")
        first = InputMessage([bytearray(8)]).vectors[0]

        class Tagged(SocketControlMessage):
            def __init__(self, tag: bytes) -> None:
                super().__init__()
                self.tag = tag

        tagged = Tagged(b"x")
        """
    )
    assert status == 0, out


def test_subclass_constructor_arguments_still_work_at_run_time() -> None:
    class Tagged(SocketControlMessage):
        def __init__(self, tag: bytes) -> None:
            super().__init__()
            self.tag = tag

    assert Tagged(b"x").tag == b"x"
    generic = SocketControlMessage(1, 2, b"data")
    assert (generic.get_level(), generic.get_msg_type(), generic.serialize()) == (1, 2, b"data")
