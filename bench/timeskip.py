"""Time-skipping: two years of a stalled collaboration against a bare two-year wait.

Passerelle: a collaboration left alone in `introduction` for 730 days on the time-skipping server
(6 reminders backing off on days 14 to 448 and one escalation, each recorded and notified on the
real worker and database, 7 timer expiries with the first "due soon" wake-up), then closed.
Baseline: `BareTwoYears` with 7 timers and the same record and notify no-op activities. Wall time
of each, interleaved.
"""

import time
import uuid
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from bench import baseline
from bench.common import Report, database, postgres, request_data, time_skipping_server
from bench.lifecycle import workers
from schemas import Closure, Outcome
from workflows.collaboration import CollaborationWorkflow

DAYS = 730
TIMERS = 7


async def passerelle_two_years(env: WorkflowEnvironment, queue: str) -> tuple[float, int]:
    """Run one two-year stalled collaboration; return wall seconds and reminders sent."""
    began = time.perf_counter()
    handle = await env.client.start_workflow(
        CollaborationWorkflow.run, request_data(), id=f"collab-bench-{uuid.uuid4()}", task_queue=queue
    )
    await env.sleep(timedelta(days=DAYS))
    closure = Closure(outcome=Outcome.ABANDONED, by="bench", reason="two silent years")
    status = await handle.execute_update(CollaborationWorkflow.close, closure)
    await handle.result()
    return time.perf_counter() - began, status.reminders_sent


async def bare_two_years(env: WorkflowEnvironment, queue: str) -> float:
    """Run the bare two-year wait to its end; return wall seconds."""
    began = time.perf_counter()
    await env.client.execute_workflow(
        baseline.BareTwoYears.run,
        {"timers": TIMERS, "days": DAYS / TIMERS},
        id=f"bare-{uuid.uuid4()}",
        task_queue=queue,
    )
    return time.perf_counter() - began


async def run(repeat: int = 3) -> Report:
    """Run each side `repeat` times, interleaved; report the best and median wall times."""
    report = Report("timeskip", {"days": DAYS, "bare_timers": TIMERS, "repeat": repeat})
    ours, theirs, reminders = [], [], 0
    with postgres() as url:
        async with database(url) as pool, time_skipping_server() as env:
            passerelle, bare, queue, bare_queue = workers(env.client, pool, uuid.uuid4().hex[:8])
            async with passerelle, bare:
                for _ in range(repeat):
                    seconds, reminders = await passerelle_two_years(env, queue)
                    ours.append(seconds)
                    theirs.append(await bare_two_years(env, bare_queue))
    p, b = sorted(ours)[len(ours) // 2], sorted(theirs)[len(theirs) // 2]
    report.values.update(
        {
            "passerelle_wall_s": [round(x, 3) for x in ours],
            "bare_wall_s": [round(x, 3) for x in theirs],
            "reminders_sent": reminders,
            "ratio_passerelle_over_bare": round(p / b, 3),
        }
    )
    report.target("two stalled years, wall s", p, 2.0, at_least=False)
    return report
