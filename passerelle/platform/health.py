"""`passerelle worker --healthcheck`: is this worker's world reachable, and is the worker up?

A container health check runs a new process beside the worker, so it checks what the worker
needs and what only a live worker provides: the Temporal frontend answers (connect = a
GetSystemInfo call with the configured TLS / API key, so bad credentials fail it too), the
database answers `SELECT 1`, and, when metrics are on, the worker's own Prometheus endpoint
serves Temporal SDK metrics (proof that the worker process and its SDK runtime are alive).
Each check has a short timeout so an orchestrator never waits on a hung probe.
"""

import asyncio
import urllib.request
from dataclasses import dataclass

import asyncpg

from passerelle.platform.client import client_for
from passerelle.platform.runtime import metrics_url
from passerelle.platform.settings import Settings

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check, printed as one line."""

    name: str
    ok: bool
    detail: str


async def _temporal(settings: Settings) -> str:
    client = await client_for(settings)
    return f"{client.service_client.config.target_host} namespace {client.namespace}"


async def _database(settings: Settings) -> str:
    if settings.database_url is None:
        raise RuntimeError("PASSERELLE_DATABASE_URL is not set")
    conn = await asyncpg.connect(settings.database_url, timeout=TIMEOUT_SECONDS)
    try:
        await conn.fetchval("SELECT 1")
        version = conn.get_server_version()
        return f"PostgreSQL {version.major}.{version.minor} reachable"
    finally:
        await conn.close()


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - our own http URL
        body = response.read().decode()
    if "temporal_" not in body:
        raise RuntimeError(f"{url} answered without Temporal metrics")
    return f"{url} serves Temporal metrics"


async def _metrics(url: str) -> str:
    return await asyncio.to_thread(_scrape, url)


async def run_checks(settings: Settings) -> list[CheckResult]:
    """Run every check concurrently, each bounded by TIMEOUT_SECONDS."""
    checks = {"temporal": _temporal(settings), "database": _database(settings)}
    url = metrics_url(settings)
    if url is not None:
        checks["metrics"] = _metrics(url)
    names = list(checks)
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(c, TIMEOUT_SECONDS) for c in checks.values()), return_exceptions=True
    )
    results = []
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            detail = f"{type(outcome).__name__}: {outcome}".strip().rstrip(":")
            results.append(CheckResult(name, False, detail))
        else:
            results.append(CheckResult(name, True, outcome))
    return results
