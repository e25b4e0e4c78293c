"""Run the installed `passerelle` command as a subprocess and check how it exits.

Subprocesses run through asyncio so the test's worker, on the same event loop, keeps serving
the workflows the command talks to.
"""

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests import session

PASSERELLE = str(Path(sys.executable).parent / "passerelle")
CRASH_MARKERS = ("Traceback", "PyGILState", "Fatal Python error", "Segmentation fault")
T = TypeVar("T")


@dataclass
class Result:
    """How one command ended."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Return stdout parsed as JSON."""
        return json.loads(self.out)


def cli_env(env: WorkflowEnvironment, task_queue: str, **extra: str) -> dict[str, str]:
    """Return the environment pointing the CLI at the test's dev server and task queue."""
    config = env.client.service_client.config
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": config.target_host,
        "TEMPORAL_NAMESPACE": env.client.namespace,
        "PASSERELLE_TASK_QUEUE": task_queue,
        "COLUMNS": "200",
        # The collaborations' data keys: the session's database unless the test names another.
        **({"PASSERELLE_DATABASE_URL": session.database_url} if session.database_url else {}),
        **extra,
    }


async def passerelle(environ: dict[str, str], *args: str, wait: float = 60) -> Result:
    """Run `passerelle ARGS`; fail the test on a crash at interpreter exit or a traceback."""
    process = await asyncio.create_subprocess_exec(
        PASSERELLE, *args, env=environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), wait)
    result = Result(process.returncode or 0, out.decode(), err.decode())
    assert result.code >= 0, f"killed by signal {-result.code}: {result}"
    for marker in CRASH_MARKERS:
        assert marker not in result.err, f"{args}: {result.err}"
    return result


def assert_one_line_error(result: Result, code: int, *words: str) -> None:
    """Assert a failure with `code` and one `error: ...` line on stderr naming `words`."""
    lines = result.err.strip().splitlines()
    assert result.code == code, result
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for word in words:
        assert word in lines[0], (word, lines[0])


async def eventually(check: Callable[[], Awaitable[T]], seconds: float = 30) -> T:
    """Retry `check` until it stops raising AssertionError (visibility is eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.3)


async def ids_matching(client: Client, query: str) -> set[str]:
    """Return the workflow ids a visibility query finds."""
    return {e.id async for e in client.list_workflows(query)}


async def assert_found(client: Client, workflow_id: str, query: str) -> None:
    """Wait (bounded) until the visibility query `query` finds the workflow."""

    async def check() -> None:
        assert workflow_id in await ids_matching(client, f'WorkflowId = "{workflow_id}" AND {query}')

    await eventually(check)


async def passerelle_each(
    environ: dict[str, str], commands: list[list[str]], at_once: int = 2
) -> list[Result]:
    """Run several `passerelle` commands, `at_once` at a time (each start is CPU-bound), in order."""
    gate = asyncio.Semaphore(at_once)

    async def one(args: list[str]) -> Result:
        async with gate:
            return await passerelle(environ, *args)

    return list(await asyncio.gather(*(one(args) for args in commands)))
