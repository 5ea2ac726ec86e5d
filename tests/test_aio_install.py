"""giosocket.aio.install/uninstall: a loop's own create_datagram_endpoint gives giosocket
transports, so an unmodified third-party library (aioquic, from the test extra) runs on them.

The QUIC echo runs once on the loop's own transport and once installed; both must deliver the
same bytes, and the installed run must really have used giosocket transports on both ends.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest
from giosocket import Socket
from giosocket import aio as gaio
from giosocket._transport import DatagramTransport

T = TypeVar("T")


def _loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "asyncio":
        return asyncio.new_event_loop
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (pip install uvloop)")
    return uvloop.new_event_loop  # type: ignore[no-any-return]


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _run(kind: str, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    loop = _loop_factory(kind)()
    try:
        return loop.run_until_complete(asyncio.wait_for(make(), 60))
    finally:
        loop.close()


def _kind(transport: object) -> str:
    cls = transport if isinstance(transport, type) else type(transport)
    return f"{cls.__module__}.{cls.__qualname__}"


class _Recorder(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.put_nowait((data, addr))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)


def test_install_uninstall_round_trip(loop_kind: str) -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        own = type(loop).create_datagram_endpoint
        kinds = []
        for step in ("before", "installed", "twice", "uninstalled"):
            if step in ("installed", "twice"):
                gaio.install()  # None: the running loop
            elif step == "uninstalled":
                gaio.uninstall(loop)
            transport, protocol = await loop.create_datagram_endpoint(
                _Recorder, local_addr=("127.0.0.1", 0)
            )
            address = transport.get_extra_info("sockname")
            transport.sendto(b"to myself " + step.encode(), address)
            data, source = await asyncio.wait_for(protocol.received.get(), 5)
            assert data == b"to myself " + step.encode()
            assert source == address
            kinds.append(_kind(transport))
            assert isinstance(transport.get_extra_info("socket"), Socket) == (
                step in ("installed", "twice")
            )
            transport.close()
            assert await asyncio.wait_for(protocol.lost, 5) is None
        assert type(loop).create_datagram_endpoint is own
        assert "create_datagram_endpoint" not in vars(loop)
        return kinds

    kinds = _run(loop_kind, main)
    mine = _kind(DatagramTransport)
    assert kinds[1] == kinds[2] == mine
    assert kinds[0] == kinds[3] != mine


def test_install_is_per_loop(loop_kind: str) -> None:
    other = asyncio.new_event_loop()
    try:
        gaio.install(other)

        async def main() -> bool:
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
            )
            transport.close()
            await asyncio.sleep(0)
            return isinstance(transport, DatagramTransport)

        assert _run(loop_kind, main) is False  # a fresh loop is not affected
        assert other.run_until_complete(main()) is True
        gaio.uninstall(other)
        assert other.run_until_complete(main()) is False
    finally:
        other.close()


def test_install_without_running_loop_fails_clearly() -> None:
    with pytest.raises(RuntimeError):
        gaio.install()
    with pytest.raises(RuntimeError):
        gaio.uninstall()


# --- aioquic end to end -----------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for "localhost", made now (cryptography, from the test extra)."""
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography is not installed")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _quic_echo(cert: Path, key: Path, payloads: list[bytes]) -> tuple[list[bytes], set[str]]:
    """Echo each payload over its own QUIC stream; returns the replies and the transport kinds."""
    aioquic_asyncio = pytest.importorskip("aioquic.asyncio", reason="aioquic is not installed")
    from aioquic.quic.configuration import QuicConfiguration

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read())
        writer.write_eof()

    server_config = QuicConfiguration(is_client=False, alpn_protocols=["echo"])
    server_config.load_cert_chain(str(cert), str(key))
    server = await aioquic_asyncio.serve(
        "127.0.0.1",
        0,
        configuration=server_config,
        stream_handler=lambda r, w: asyncio.ensure_future(echo(r, w)),
    )
    try:
        port = server._transport.get_extra_info("sockname")[1]
        client_config = QuicConfiguration(
            is_client=True, alpn_protocols=["echo"], verify_mode=ssl.CERT_REQUIRED
        )
        client_config.load_verify_locations(str(cert))
        client_config.server_name = "localhost"
        replies = []
        async with aioquic_asyncio.connect(
            "127.0.0.1", port, configuration=client_config
        ) as client:
            kinds = {_kind(server._transport), _kind(client._transport)}
            for payload in payloads:
                reader, writer = await client.create_stream()
                writer.write(payload)
                writer.write_eof()
                replies.append(await reader.read())
    finally:
        server.close()
    return replies, kinds


def test_aioquic_stream_echo_plain_and_installed(loop_kind: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    # Small, multi-packet and large payloads: the large ones fill the congestion window, so
    # one iteration sends many equal-size packets (sendmmsg + GSO on the installed run).
    payloads = [b"hello quic", bytes(range(256)) * 20, b"".join(b"%08d" % i for i in range(60000))]

    async def main() -> tuple[tuple[list[bytes], set[str]], tuple[list[bytes], set[str]]]:
        plain = await _quic_echo(cert, key, payloads)
        gaio.install()
        try:
            installed = await _quic_echo(cert, key, payloads)
        finally:
            gaio.uninstall()
        return plain, installed

    (plain, plain_kinds), (installed, installed_kinds) = _run(loop_kind, main)
    assert plain == payloads
    assert installed == payloads
    assert _kind(DatagramTransport) not in plain_kinds
    assert installed_kinds == {_kind(DatagramTransport)}
