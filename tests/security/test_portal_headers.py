"""The partner portal's security headers on every response, behind the documented proxy too.

`passerelle portal` runs as installed, as docs/partners.md puts it behind a TLS-terminating
proxy (`PASSERELLE_PORTAL_TRUSTED_PROXIES`; the test connects from that address and forwards
`X-Forwarded-Proto: https`). Every response carries the headers: pages, refusals, unknown paths,
a forwarded header refused, and the 400s aiohttp's parser answers before any middleware runs (a
100,000-character URL, a request line that is no HTTP). Over forwarded TLS each carries
`Strict-Transport-Security` too, and nothing of it over plain HTTP (RFC 6797 forbids it there).
A bad request leaves one log line, never a traceback.
"""

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import ClientSession
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.codec import new_key
from passerelle.portal.headers import SECURITY_HEADERS
from tests.integration.processes import PASSERELLE, worker_env

HSTS = "Strict-Transport-Security"
FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


class PortalProcess:
    """One `passerelle portal` child process and its log."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.port, self.log = port, log
        self._out = log.open("wb")
        command = [PASSERELLE, "portal", "--port", str(port)]
        self.process = subprocess.Popen(command, env=env, stdout=self._out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self._out.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture(loop_scope="session")
async def portal(
    dev_env: WorkflowEnvironment, postgres_url: str, tmp_path: Path
) -> AsyncIterator[PortalProcess]:
    env = worker_env(
        dev_env.client,
        postgres_url,
        "tq-portal",
        PASSERELLE_PORTAL_KEYS=f"portal:{new_key()}",
        PASSERELLE_PORTAL_URL="https://portal.example",
        PASSERELLE_PORTAL_TRUSTED_PROXIES="127.0.0.1",
    )
    process = PortalProcess(env, free_port(), tmp_path / "portal.log")
    async with ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"http://127.0.0.1:{process.port}/healthz") as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.process.poll() is None, process.output()
            await asyncio.sleep(0.1)
    try:
        yield process
    finally:
        process.stop()


async def raw(port: int, request: bytes) -> tuple[int, dict[str, str]]:
    """Send bytes as they are; return the answer's status and headers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {k.title(): v for k, v in headers.items()}


def assert_secured(headers: dict[str, str], *, tls: bool) -> None:
    for name, value in SECURITY_HEADERS.items():
        if name == "Cache-Control" and headers.get("Content-Type") == "text/css":
            value = "max-age=3600"  # the stylesheet's own: a handler's header wins
        assert headers.get(name) == value, (name, headers)
    assert (HSTS in headers) == tls, headers


async def test_every_response_carries_the_headers_behind_the_proxy_and_without(portal: PortalProcess) -> None:
    base = f"http://127.0.0.1:{portal.port}"
    seen = []
    async with ClientSession() as http:
        for method, path, headers, tls in [
            ("GET", "/a/p1.forged.token", FORWARDED, True),  # a refusal page, through the proxy
            ("GET", "/portal.css", FORWARDED, True),
            ("GET", "/nowhere", FORWARDED, True),  # 404
            ("DELETE", "/a/p1.forged.token", FORWARDED, True),  # 405
            ("GET", "/a/p1.forged.token", {}, False),  # no X-Forwarded-For: refused by the proxy check
            ("GET", "/a/p1.forged.token", {"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}, False),
            ("GET", "/healthz", {}, False),
        ]:
            async with http.request(method, base + path, headers=headers) as answer:
                seen.append((method, path, answer.status))
                assert_secured({k.title(): v for k, v in answer.headers.items()}, tls=tls)
    assert [s for *_, s in seen] == [400, 200, 404, 405, 400, 400, 200], seen


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /a/" + b"x" * 100_000 + b" HTTP/1.1\r\nHost: portal.example\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: portal.example\r\nX-Long: " + b"y" * 100_000 + b"\r\n\r\n",
        b"G\x00T / HTTP/1.1\r\nHost: portal.example\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS spoken to plain HTTP\r\n\r\n",
    ],
    ids=["long-url", "long-header", "bad-method", "tls-hello"],
)
async def test_the_parser_s_own_refusals_carry_the_headers_and_log_no_traceback(
    portal: PortalProcess, request_bytes: bytes
) -> None:
    status, headers = await raw(portal.port, request_bytes)
    assert 400 <= status < 500, (status, headers)
    assert_secured(headers, tls=False)
    await asyncio.sleep(0.2)  # the log line is written after the answer
    log = portal.output()
    assert "Traceback" not in log, log
    assert "portal bad request" in log, log
