"""Lifecycle throughput: full collaborations against a bare workflow doing the same updates.

A Passerelle lifecycle: start (records and notifies `started`), 4 stage changes to `deployment`, 3
milestones, then `close` as `deployed`: 5 changes of stage in all, 8 updates, each recorded and
notified (9 `record_events` and 9 `deliver` activities, after one `load_playbook`, on the real
worker: asyncpg pool, LogChannel, delivery outbox). The baseline `BareLifecycle` takes the same 8
updates and runs 1 + 9 + 9 activities that send PostgreSQL the same statements
(`bench/baseline.py`). The work of one lifecycle of each side is counted from its history, and the
CPU each process spent during each side's batches is reported per lifecycle. Both run on the same
dev server and the same process, batch after batch, A, B, C, A, B, C…, `concurrency` lifecycles in
flight at a time, where C is Passerelle as deployed without the database in its codec: every
payload encrypted with the one master key (its own client and worker), so the price of encryption
is the ratio of C to A; and D as deployed with it: each collaboration under its own data key
(`passerelle.platform.envelope`), so the price of per-collaboration keys is the ratio of D to C.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from activities.channels.log import LogChannel
from bench import bare_activities, baseline
from bench.common import (
    Report,
    bench_settings,
    client_address,
    cpu_seconds,
    database,
    dev_server,
    postgres,
    request_data,
)
from passerelle.platform.client import client_for
from passerelle.platform.worker import build_worker
from schemas import Closure, MilestoneRequest, Outcome, Stage, StageChange
from workflows.collaboration import CollaborationWorkflow

STAGES = [Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT]
MILESTONES = ["NDA signed", "pilot kick-off", "pilot report"]
# (notify?, last?) of the baseline's 8 updates, in the same order as Passerelle's (milestones are
# notified since the `notify-milestones` patch).
BARE_UPDATES = [(1, False)] * 7 + [(1, True)]


async def _timed(latencies: list[float] | None, update: Awaitable[Any]) -> None:
    began = time.perf_counter()
    await update
    if latencies is not None:
        latencies.append(time.perf_counter() - began)


async def passerelle_lifecycle(client: Client, queue: str, latencies: list[float] | None = None) -> str:
    """Run one collaboration from start to `deployed`; time each update; return its workflow id."""
    handle = await client.start_workflow(
        CollaborationWorkflow.run, request_data(), id=f"collab-bench-{uuid.uuid4()}", task_queue=queue
    )
    for stage in STAGES[:2]:
        await _timed(
            latencies, handle.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="bench"))
        )
    for kind in MILESTONES:
        milestone = MilestoneRequest(kind=kind, by="bench")
        await _timed(latencies, handle.execute_update(CollaborationWorkflow.record_milestone, milestone))
    for stage in STAGES[2:]:
        await _timed(
            latencies, handle.execute_update(CollaborationWorkflow.advance, StageChange(to=stage, by="bench"))
        )
    closure = Closure(outcome=Outcome.DEPLOYED, by="bench", reason="done")
    await _timed(latencies, handle.execute_update(CollaborationWorkflow.close, closure))
    await handle.result()
    return handle.id


async def bare_lifecycle(client: Client, queue: str, latencies: list[float] | None = None) -> str:
    """Run one bare lifecycle: the same updates and activities, no Passerelle code."""
    handle = await client.start_workflow(
        baseline.BareLifecycle.run, id=f"bare-{uuid.uuid4()}", task_queue=queue
    )
    for notify, last in BARE_UPDATES:
        step = {"notify": notify, "last": last}
        await _timed(latencies, handle.execute_update(baseline.BareLifecycle.step_update, step))
    await handle.result()
    return handle.id


def loaded_lifecycle(load: dict[str, int]) -> Any:
    """Return a lifecycle runner of `BareLoaded` carrying `load` (see `load_of`)."""

    async def one(client: Client, queue: str, latencies: list[float] | None = None) -> str:
        handle = await client.start_workflow(
            baseline.BareLoaded.run, load, id=f"bare-loaded-{uuid.uuid4()}", task_queue=queue
        )
        for notify, last in BARE_UPDATES:
            step = {"notify": notify, "last": last}
            await _timed(latencies, handle.execute_update(baseline.BareLoaded.step_update, step))
        await handle.result()
        return handle.id

    return one


async def load_of(client: Client, workflow_id: str) -> dict[str, int]:
    """Return what one Passerelle lifecycle carries, in bytes: its largest record input, its
    largest update answer and its result."""
    load = {"record": 0, "answer": 0, "result": 0}
    async for e in client.get_workflow_handle(workflow_id).fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = e.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name == "record_events":
                load["record"] = max(load["record"], sum(len(p.data) for p in scheduled.input.payloads))
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            answer = e.workflow_execution_update_completed_event_attributes.outcome.success.payloads
            load["answer"] = max(load["answer"], sum(len(p.data) for p in answer))
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            done = e.workflow_execution_completed_event_attributes.result.payloads
            load["result"] = sum(len(p.data) for p in done)
    return load


async def batch(
    run: Any,
    client: Client,
    queue: str,
    n: int,
    concurrency: int,
    latencies: list[float] | None = None,
    cpu: dict[str, float] | None = None,
) -> float:
    """Run `n` lifecycles, `concurrency` at a time; return lifecycles per second. Each update's
    latency goes to `latencies`, and the CPU seconds each process spent are added to `cpu`."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await run(client, queue, latencies)

    before = cpu_seconds()
    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    rate = n / (time.perf_counter() - began)
    if cpu is not None:
        for name, seconds in cpu_seconds().items():
            cpu[name] = cpu.get(name, 0.0) + seconds - before[name]
    return rate


def per_lifecycle_ms(cpu: dict[str, float], lifecycles: int) -> dict[str, float]:
    """Return CPU milliseconds per lifecycle, by process and in all."""
    ms = {name: round(1000 * seconds / lifecycles, 1) for name, seconds in cpu.items()}
    return {**ms, "all": round(sum(ms.values()), 1)}


async def work_of(client: Client, workflow_id: str) -> dict[str, int]:
    """Count what one lifecycle did, from its history: updates, activities by type, and the
    history's events and bytes (what the server stores and the worker reads back)."""
    counts: dict[str, int] = {"history_events": 0, "history_bytes": 0}
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        counts["history_events"] += 1
        counts["history_bytes"] += event.ByteSize()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts["updates"] = counts.get("updates", 0) + 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


# Where a lifecycle's history bytes go, by what carries them (`bytes_by_part`).
_PARTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "start input and its event",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update requests",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: "update answers",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity inputs",
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: "activity bookkeeping",
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity results",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attributes",
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "memo",
    EventType.EVENT_TYPE_MARKER_RECORDED: "patch markers",
    EventType.EVENT_TYPE_TIMER_STARTED: "timers",
    EventType.EVENT_TYPE_TIMER_FIRED: "timers",
    EventType.EVENT_TYPE_TIMER_CANCELED: "timers",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "result",
}


async def bytes_by_part(client: Client, workflow_id: str) -> dict[str, int]:
    """Return one lifecycle's history bytes by what carries them (update answers, search
    attributes, memo, markers...); workflow task events (current details included) are the rest."""
    parts: dict[str, int] = {}
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        part = _PARTS.get(event.event_type, "workflow tasks and the rest")
        parts[part] = parts.get(part, 0) + event.ByteSize()
    return dict(sorted(parts.items(), key=lambda kv: -kv[1]))


def quantile(values: list[float], q: float) -> float:
    """Return the `q` quantile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def workers(client: Client, pool: Any, tag: str, **options: str) -> tuple[Worker, Worker, str, str]:
    """Return the Passerelle worker and the bare worker, each on a task queue of its own."""
    queue, bare_queue = f"collaborations-{tag}", f"{baseline.BARE_QUEUE_PREFIX}-{tag}"
    settings = bench_settings(PASSERELLE_TASK_QUEUE=queue, **options)
    passerelle = build_worker(client, pool, settings, [LogChannel()])
    bare = Worker(
        client,
        task_queue=bare_queue,
        workflows=baseline.WORKFLOWS,
        activities=bare_activities.activities(pool),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
    )
    return passerelle, bare, queue, bare_queue


async def run(n: int = 200, concurrency: int = 200, rounds: int = 2) -> Report:
    """Measure both sides in `rounds` interleaved batches of `n` lifecycles each."""
    report = Report("lifecycle", {"n_per_batch": n, "concurrency": concurrency, "rounds": rounds})
    tag = uuid.uuid4().hex[:8]
    with postgres() as url:
        async with database(url) as pool, dev_server() as env:
            passerelle, bare, queue, bare_queue = workers(env.client, pool, tag)
            sealed_settings = bench_settings(
                encrypted=True, PASSERELLE_TASK_QUEUE=f"collaborations-sealed-{tag}"
            )
            sealed_client = await client_for(sealed_settings, target_host=client_address(env.client))
            sealed = build_worker(sealed_client, pool, sealed_settings, [LogChannel()])
            sealed_queue = sealed_settings.task_queue
            # D: as deployed with the database, each collaboration under its own data key.
            keyed_settings = bench_settings(
                encrypted=True,
                PASSERELLE_TASK_QUEUE=f"collaborations-keyed-{tag}",
                PASSERELLE_DATABASE_URL=url,
            )
            keyed_client = await client_for(keyed_settings, target_host=client_address(env.client))
            keyed = build_worker(keyed_client, pool, keyed_settings, [LogChannel()])
            keyed_queue = keyed_settings.task_queue
            async with passerelle, bare, sealed, keyed:
                await batch(passerelle_lifecycle, env.client, queue, min(n, 5), 5)  # warm-up
                await batch(bare_lifecycle, env.client, bare_queue, min(n, 5), 5)
                await batch(passerelle_lifecycle, sealed_client, sealed_queue, min(n, 5), 5)
                await batch(passerelle_lifecycle, keyed_client, keyed_queue, min(n, 5), 5)
                load = await load_of(env.client, await passerelle_lifecycle(env.client, queue))
                loaded = loaded_lifecycle(load)
                await batch(loaded, env.client, bare_queue, min(n, 5), 5)
                ours, theirs, encrypted, per_key, heavy = [], [], [], [], []
                heavy_cpu: dict[str, float] = {}
                our_latency: list[float] = []
                bare_latency: list[float] = []
                our_cpu: dict[str, float] = {}
                bare_cpu: dict[str, float] = {}
                for _ in range(rounds):
                    ours.append(
                        await batch(
                            passerelle_lifecycle, env.client, queue, n, concurrency, our_latency, our_cpu
                        )
                    )
                    theirs.append(
                        await batch(
                            bare_lifecycle, env.client, bare_queue, n, concurrency, bare_latency, bare_cpu
                        )
                    )
                    encrypted.append(
                        await batch(passerelle_lifecycle, sealed_client, sealed_queue, n, concurrency)
                    )
                    per_key.append(
                        await batch(passerelle_lifecycle, keyed_client, keyed_queue, n, concurrency)
                    )
                    heavy.append(await batch(loaded, env.client, bare_queue, n, concurrency, None, heavy_cpu))
                ours_id = await passerelle_lifecycle(env.client, queue, [])
                bare_id = await bare_lifecycle(env.client, bare_queue, [])
                our_work, bare_work = await work_of(env.client, ours_id), await work_of(env.client, bare_id)
                our_bytes, bare_bytes = (
                    await bytes_by_part(env.client, ours_id),
                    await bytes_by_part(env.client, bare_id),
                )
    p, b, e, k, h = (sum(xs) / len(xs) for xs in (ours, theirs, encrypted, per_key, heavy))
    p50, p95 = quantile(our_latency, 0.5), quantile(our_latency, 0.95)
    bare50, bare95 = quantile(bare_latency, 0.5), quantile(bare_latency, 0.95)
    report.values.update(
        {
            "passerelle_lifecycles_per_s": round(p, 2),
            "bare_lifecycles_per_s": round(b, 2),
            "encrypted_passerelle_lifecycles_per_s": round(e, 2),
            "per_round_passerelle": [round(x, 2) for x in ours],
            "per_round_bare": [round(x, 2) for x in theirs],
            "per_round_encrypted": [round(x, 2) for x in encrypted],
            "ratio_passerelle_over_bare": round(p / b, 3),
            "ratio_encrypted_over_clear": round(e / p, 3),
            "data_keys_lifecycles_per_s": round(k, 2),
            "per_round_data_keys": [round(x, 2) for x in per_key],
            "ratio_data_keys_over_single_key": round(k / e, 3),
            "update_latency_ms_p50_p95": [round(p50 * 1000, 1), round(p95 * 1000, 1)],
            "bare_update_latency_ms_p50_p95": [round(bare50 * 1000, 1), round(bare95 * 1000, 1)],
            # Where each side spends its CPU, per lifecycle: this process (client and worker), the
            # Temporal server and PostgreSQL.
            "cpu_ms_per_lifecycle": per_lifecycle_ms(our_cpu, n * rounds),
            "bare_cpu_ms_per_lifecycle": per_lifecycle_ms(bare_cpu, n * rounds),
            # Not a baseline: the bare workflow carrying Passerelle's payload sizes and publishing
            # its search attributes and memo, to tell the product's content from its code.
            "bare_loaded_with": load,
            "bare_loaded_lifecycles_per_s": round(h, 2),
            "ratio_bare_loaded_over_bare": round(h / b, 3),
            "ratio_passerelle_over_bare_loaded": round(p / h, 3),
            "bare_loaded_cpu_ms_per_lifecycle": per_lifecycle_ms(heavy_cpu, n * rounds),
            # From one lifecycle's history on each side: both must do the same work.
            "work_per_lifecycle": our_work,
            "bare_work_per_lifecycle": bare_work,
            "history_bytes_by_part": our_bytes,
            "bare_history_bytes_by_part": bare_bytes,
        }
    )
    ours_ms, bare_ms = (
        per_lifecycle_ms(our_cpu, n * rounds)["all"],
        per_lifecycle_ms(bare_cpu, n * rounds)["all"],
    )
    # The headline: CPU per lifecycle in every process (this one, the server, PostgreSQL) is the
    # steadier figure on a shared machine; lifecycles per second swing with the neighbours.
    report.target("CPU per lifecycle (bare/passerelle)", bare_ms / ours_ms, 0.95, at_least=True)
    report.target("update latency p95 under load (passerelle/bare)", p95 / bare95, 1.3, at_least=False)
    report.target("lifecycle ratio (passerelle/bare)", p / b, 0.95, at_least=True)
    report.target("encryption price (encrypted/clear)", e / p, 0.95, at_least=True)
    report.target("data keys price (per-collaboration keys/one key)", k / e, 0.9, at_least=True)
    return report
