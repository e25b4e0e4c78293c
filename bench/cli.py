"""The operator's commands, whole processes: `passerelle` against the Temporal CLI on one server.

One dev server, one PostgreSQL and one worker in this process, with the production defaults:
every payload sealed under each collaboration's data key, so `status`, `advance` and `milestone`
read and write through the codec and its key table. A few collaborations stall (threshold at the
floor, ~9 s), so `list --stalled` has rows. Each command then runs `repeat` times as the
installed CLI, as a child process with the operator's environment, alternating with the Temporal
CLI's command that asks the server the same (`temporal workflow list --query`, `workflow query`,
`workflow update execute`), so both see the same server, the same load and the same moment. The
medians are reported with their ratio; the targets are the Passerelle medians in seconds.
"""

import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Sequence
from typing import Any

from activities.channels.log import LogChannel
from bench.common import (
    DECLARED_ACTORS,
    Report,
    bench_settings,
    client_address,
    database,
    dev_server,
    postgres,
    request_data,
)
from passerelle.devstack.servers import find_binary
from passerelle.platform.client import client_for
from passerelle.platform.codec import new_key
from passerelle.platform.worker import build_worker
from schemas import Stage, StageChange
from workflows.collaboration import CollaborationWorkflow

STALL_FLOOR_DAYS = 0.0001  # the smallest threshold a new collaboration may have (about 8.6 s)


# The Temporal CLI has no key: it asks and the server answers, then it cannot open the sealed
# answer. That is the end of its work, not a failure of the request.
SEALED_ANSWER = b"payload encoding is not supported"


async def wall(argv: Sequence[str], env: dict[str, str]) -> float:
    """Run one command to its end; return its wall seconds (it must succeed, or for the
    Temporal CLI fail only on opening a sealed answer)."""
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    seconds = time.perf_counter() - began
    if process.returncode != 0 and not (argv[0].endswith("temporal") and SEALED_ANSWER in err):
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}: {err.decode()[-400:]}")
    return seconds


async def side_by_side(
    ours: Sequence[str], theirs: Sequence[str] | None, env: dict[str, str], repeat: int
) -> tuple[float, float | None]:
    """Run both commands `repeat` times, alternately, after one untimed run; return both medians."""
    mine, other = [], []
    await wall(ours, env)
    if theirs is not None:
        await wall(theirs, env)
    for _ in range(repeat):
        mine.append(await wall(ours, env))
        if theirs is not None:
            other.append(await wall(theirs, env))
    return statistics.median(mine), statistics.median(other) if other else None


async def run(repeat: int = 10, n: int = 20) -> Report:
    """Time `--help`, `list --stalled`, `status`, `advance` and `milestone` against the Go CLI."""
    report = Report("cli", {"repeat": repeat, "collaborations": n})
    passerelle, temporal = find_binary("passerelle"), find_binary("temporal")
    tag = uuid.uuid4().hex[:8]
    with postgres() as url:
        async with database(url) as pool, dev_server() as env:
            address = client_address(env.client)
            # Bytecode is written as an installed package has it (pip compiles at install), and every
            # command runs once untimed first, so no median counts a first compile.
            keep = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "PASSERELLE_"))}
            keep.pop("PYTHONDONTWRITEBYTECODE", None)
            environ = {
                **keep,
                "TEMPORAL_ADDRESS": address,
                "TEMPORAL_NAMESPACE": "default",
                "PASSERELLE_DATABASE_URL": url,
                **DECLARED_ACTORS,
            }
            environ["PASSERELLE_ENCRYPTION_KEYS"] = f"bench:{new_key()}"
            settings = bench_settings(
                encrypted=True,
                PASSERELLE_TASK_QUEUE=f"cli-{tag}",
                PASSERELLE_DATABASE_URL=url,
                PASSERELLE_ENCRYPTION_KEYS=environ["PASSERELLE_ENCRYPTION_KEYS"],
            )
            client = await client_for(settings, target_host=address)
            worker = build_worker(client, pool, settings, [LogChannel()])
            async with worker:
                ids = []
                for i in range(n):
                    stall = {"introduction": STALL_FLOOR_DAYS} if i % 4 == 0 else {}
                    handle = await client.start_workflow(
                        CollaborationWorkflow.run,
                        request_data(stall_after_days=stall),
                        id=f"collab-cli-{tag}-{i}",
                        task_queue=settings.task_queue,
                    )
                    ids.append(handle.id)
                one = client.get_workflow_handle(ids[1])
                for stage in (Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION):
                    await one.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="bench"))
                await wait_stalled(client, tag, (n + 3) // 4)
                figures = await measure(passerelle, temporal, environ, ids[1], repeat)
    help_s, stalled, status, advance, milestone = figures
    report.values.update(
        {
            "help_s": round(help_s, 3),
            "list_stalled_s": [round(stalled[0], 3), round(stalled[1] or 0, 3)],
            "status_s": [round(status[0], 3), round(status[1] or 0, 3)],
            "advance_s": [round(advance[0], 3), round(advance[1] or 0, 3)],
            "milestone_s": [round(milestone[0], 3), round(milestone[1] or 0, 3)],
            "pairs": "[passerelle median, temporal CLI median] in seconds",
        }
    )
    report.target("passerelle --help, s", help_s, 0.2, at_least=False)
    report.target("passerelle list --stalled, s", stalled[0], 0.4, at_least=False)
    report.target("passerelle status ID, s", status[0], 0.5, at_least=False)
    report.target("passerelle advance ID, s", advance[0], 0.5, at_least=False)
    report.target("passerelle milestone ID, s", milestone[0], 0.5, at_least=False)
    return report


async def wait_stalled(client: Any, tag: str, count: int, timeout: float = 120) -> None:
    """Wait until `count` of this run's collaborations are listed as stalled."""
    query = f'Stalled = true AND WorkflowId STARTS_WITH "collab-cli-{tag}-"'
    deadline = time.monotonic() + timeout
    while (await client.count_workflows(query)).count < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} collaborations stalled in {timeout} s")
        await asyncio.sleep(0.5)


async def measure(
    passerelle: str, temporal: str, env: dict[str, str], workflow_id: str, repeat: int
) -> tuple[float, tuple[float, float | None], ...]:
    """Time every command pair; return `--help` and each pair's medians."""
    where = ["--address", env["TEMPORAL_ADDRESS"], "--namespace", env["TEMPORAL_NAMESPACE"]]
    update = [temporal, "workflow", "update", "execute", "--workflow-id", workflow_id, *where]
    help_s, _ = await side_by_side([passerelle, "--help"], None, env, repeat)
    stalled = await side_by_side(
        [passerelle, "list", "--stalled"],
        [temporal, "workflow", "list", "--query", "Stalled = true", *where],
        env,
        repeat,
    )
    status = await side_by_side(
        [passerelle, "status", workflow_id],
        [temporal, "workflow", "query", "--workflow-id", workflow_id, "--name", "status", *where],
        env,
        repeat,
    )
    # From evaluation, ours goes back to pilot (one step back is allowed) and theirs forward to
    # evaluation again, so that every command moves the collaboration.
    back = json.dumps({"to": "evaluation", "by": "bench"})
    advance = await side_by_side(
        [passerelle, "advance", workflow_id, "--to", "pilot", "--by", "bench"],
        [*update, "--name", "advance", "--input", back],
        env,
        repeat,
    )
    kind = "steering committee"
    milestone = await side_by_side(
        [passerelle, "milestone", workflow_id, "--kind", kind, "--by", "bench"],
        [*update, "--name", "record_milestone", "--input", json.dumps({"kind": kind, "by": "bench"})],
        env,
        repeat,
    )
    return help_s, stalled, status, advance, milestone
