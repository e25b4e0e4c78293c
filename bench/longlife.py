"""A long life: update latency and worker memory at entry 2,000 against a fresh collaboration.

Latency: on one dev server and one worker (encrypted, as in production), an *old* collaboration
is grown to `entries` milestones with 4,000-character notes; then a *fresh* one gets a few
updates to warm up, and the two are updated alternately (old, fresh, old…), `samples` times
each. The ratio of the medians is the cost of age (target ≤ 1.2).

Memory: two `passerelle worker` processes on the same server, one holding `held` fresh
collaborations, the other `held` collaborations carrying the old one's real state, taken from its
latest continue-as-new input (what a worker caches for a collaboration at entry 2,000), once its
burst of updates is older than a resend (`at_rest`). Memory per cached collaboration is the RSS
growth over `held` on each side (target: aged ≤ 1.5 × fresh); the state as carried mid-burst,
with a thousand update digests, is weighed too, without a target.
"""

import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
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
from bench.scale import RssSampler, start_many, wait_count
from passerelle.audit.histories import fetch_chain
from passerelle.devstack.servers import find_binary
from passerelle.platform.worker import build_worker
from schemas import MilestoneRequest
from workflows.collaboration import CollaborationWorkflow
from workflows.domain.recent import RESEND_WINDOW
from workflows.domain.state import CollaborationState

NOTE = ("Comité de pilotage : budget, périmètre, accès aux données, prochaines étapes. " * 60)[:4000]


async def timed_update(handle: Any, i: int) -> float:
    began = time.perf_counter()
    await handle.execute_update(
        CollaborationWorkflow.record_milestone, MilestoneRequest(kind=f"committee {i}", by="bench", note=NOTE)
    )
    return time.perf_counter() - began


async def run(entries: int = 2000, samples: int = 60, held: int = 300) -> Report:
    """Grow one collaboration to `entries`, time updates against a fresh one, weigh both."""
    report = Report("longlife", {"entries": entries, "samples": samples, "held": held})
    tag = uuid.uuid4().hex[:8]
    settings = bench_settings(encrypted=True, PASSERELLE_TASK_QUEUE=f"longlife-{tag}")
    with postgres() as url:
        async with database(url) as pool, dev_server(settings) as env:
            client = env.client
            worker = build_worker(client, pool, settings, [LogChannel()])
            async with worker:
                old = await client.start_workflow(
                    CollaborationWorkflow.run, request_data(), id=f"old-{tag}", task_queue=settings.task_queue
                )
                began = time.perf_counter()
                for i in range(entries - 1):
                    await timed_update(old, i)
                report.values["grow_s"] = round(time.perf_counter() - began, 1)
                fresh = await client.start_workflow(
                    CollaborationWorkflow.run,
                    request_data(),
                    id=f"fresh-{tag}",
                    task_queue=settings.task_queue,
                )
                for i in range(8):  # entry 10 onwards
                    await timed_update(fresh, i)
                aged_ms, fresh_ms = [], []
                for i in range(samples):
                    aged_ms.append(await timed_update(old, entries + i) * 1000)
                    fresh_ms.append(await timed_update(fresh, 8 + i) * 1000)
                status = await client.get_workflow_handle(old.id).query(CollaborationWorkflow.status)
                runs = await fetch_chain(client, old.id)
                started = runs[-1].events[0].workflow_execution_started_event_attributes
                carried = await client.data_converter.decode(started.input.payloads)
            aged, young = statistics.median(aged_ms), statistics.median(fresh_ms)
            report.values.update(
                {
                    "old_entries": status.entries,
                    "old_runs": status.runs,
                    "update_ms_aged_median": round(aged, 2),
                    "update_ms_fresh_median": round(young, 2),
                    "update_ms_aged_p95": round(sorted(aged_ms)[int(0.95 * samples)], 2),
                    "update_ms_fresh_p95": round(sorted(fresh_ms)[int(0.95 * samples)], 2),
                }
            )
            report.target(f"update latency, entry {entries:,} / entry 10", aged / young, 1.2, at_least=False)
            request, burst = carried
            per_fresh, per_aged = await weigh(
                env, url, settings.encryption_keys, [request, at_rest(burst)], held, tag
            )
            _, per_burst = await weigh(env, url, settings.encryption_keys, carried, held, f"{tag}b")
            report.values.update(
                {
                    "kb_per_fresh_collaboration": per_fresh,
                    "kb_per_aged_collaboration": per_aged,
                    "kb_per_aged_collaboration_mid_burst": per_burst,
                    "carried_state_bytes": carried_bytes(at_rest(burst)),
                    "carried_state_bytes_mid_burst": carried_bytes(burst),
                }
            )
            report.target(
                "memory per cached collaboration, aged / fresh", per_aged / per_fresh, 1.5, at_least=False
            )
    return report


async def weigh(
    env: Any, url: str, keys: Any, carried: list[Any], held: int, tag: str
) -> tuple[float, float]:
    """Return KB per cached collaboration: fresh ones on one worker, aged ones on another."""
    request, state = carried
    client, address = env.client, client_address(env.client)
    queues = {"fresh": f"fresh-{tag}", "aged": f"aged-{tag}"}
    logs = Path(tempfile.mkdtemp(prefix="passerelle-bench-longlife-"))
    procs = {}
    for side, queue in queues.items():
        environ = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "PASSERELLE_DATABASE_URL": url,
            "PASSERELLE_TASK_QUEUE": queue,
            "PASSERELLE_ENCRYPTION_KEYS": ",".join(f"{kid}:{key}" for kid, key in keys_b64(keys)),
            **DECLARED_ACTORS,
        }
        with (logs / f"{side}.stderr").open("wb") as sink:
            procs[side] = subprocess.Popen(
                [find_binary("passerelle"), "worker"], env=environ, stdout=subprocess.DEVNULL, stderr=sink
            )
    samplers = {side: RssSampler(proc.pid) for side, proc in procs.items()}
    try:

        async def fresh(i: int) -> None:
            await client.start_workflow(
                CollaborationWorkflow.run, request_data(), id=f"f-{tag}-{i}", task_queue=queues["fresh"]
            )

        async def aged(i: int) -> None:
            copy = {**state, "workflow_id": f"a-{tag}-{i}"}
            await client.start_workflow(
                "CollaborationWorkflow", args=[request, copy], id=f"a-{tag}-{i}", task_queue=queues["aged"]
            )

        def held_by(queue: str) -> str:  # counted once the worker has run its first task
            return f"TaskQueue = '{queue}' AND Stage = 'introduction'"

        for make, queue in ((fresh, queues["fresh"]), (aged, queues["aged"])):
            await start_many(make, 0, 1)
            await wait_count(client, held_by(queue), 1, 120)
        await asyncio.sleep(3)
        warm = {side: s.last for side, s in samplers.items()}
        await start_many(fresh, 1, held)
        await start_many(aged, 1, held)
        for queue in queues.values():
            await wait_count(client, held_by(queue), held + 1, 300)
        await asyncio.sleep(5)
        grown = {side: (s.last - warm[side]) / held / 1024 for side, s in samplers.items()}
    finally:
        for s in samplers.values():
            s.stop()
        for proc in procs.values():
            proc.terminate()
            proc.wait(30)
    return round(grown["fresh"], 1), round(grown["aged"], 1)


def at_rest(carried: dict[str, Any]) -> dict[str, Any]:
    """Return the state an aged collaboration carries once its latest updates are older than a
    resend (`workflows.domain.recent.RESEND_WINDOW`), as its run settles it: the bench grows the
    old collaboration in a burst of 2,000 updates in about a minute and a half, which a real one
    spreads over months; mid-burst its state carries a thousand update digests."""
    state = CollaborationState.model_validate(carried)
    state.recent_updates.settle(state.history[-1].at + 2 * RESEND_WINDOW)
    return state.model_dump(mode="json")


def carried_bytes(carried: dict[str, Any]) -> dict[str, int]:
    """Return the carried state's JSON bytes by field, the largest ones (what each costs a worker)."""
    sizes = {name: len(json.dumps(value, ensure_ascii=False).encode()) for name, value in carried.items()}
    return {"all": sum(sizes.values()), **{k: v for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:4]}}


def keys_b64(keys: Any) -> list[tuple[str, str]]:
    """Return the settings' keys as `PASSERELLE_ENCRYPTION_KEYS` spells them."""
    import base64

    return [(kid, base64.b64encode(key).decode()) for kid, key in keys]
