"""Five known lifecycles written through the real record activity, with chosen timestamps.

They are driven by the workflow's own rules (`CollaborationState`) with `now` chosen by the test,
and recorded by `MilestoneActivities.record_events`, as the workflow would: the KPI views then
read exactly what a real run leaves, with durations the tests can compute by hand. Days from
T0 = 2025-01-01 UTC:

| id | corporate | sector | path (day) | end |
|---|---|---|---|---|
| A | Natixis | health | intro 0, qualification 10, pilot 30, evaluation 60, deployment 70 | deployed 100 |
| B | Natixis | health | intro 0, qualification 4, pilot 20 | declined 65 |
| C | Natixis | health | intro 0, qualification 20, reminded (stalled) 41 | open |
| D | Orange  | health | imported at 200: intro -35, qualification -10, pilot 0 | open |
| E | Orange  | energy | intro 0 | abandoned 7 |
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from activities.milestones import MilestoneActivities
from schemas import Closure, EventRecord, HistoryEntry, Outcome, Stage, StageChange
from schemas.steps import CancelStep, PlanStep, RescheduleStep, StepHeld, StepKind
from tests.factories import apply, request
from workflows.domain import stalls, steps, views
from workflows.domain.state import CollaborationState

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


class Recorder:
    """Drive one collaboration's state and record each change as the workflow does."""

    def __init__(self, pool: asyncpg.Pool, programme: str, corporate: str, sector: str, **extra: Any) -> None:
        self.activities = MilestoneActivities(pool)
        self.request = request(
            programme=programme,
            sector=sector,
            corporate={"name": corporate, "contact_email": "innovation@corp.example"},
            **extra,
        )
        self.wid = f"collab-kpi-{uuid.uuid4()}"

    async def record(self, entries: list[HistoryEntry], now: datetime) -> None:
        record = EventRecord(run_id="run-1", entries=entries, projection=views.projection(self.state, now))
        await self.activities.record_events(record)

    async def start(self, now: datetime) -> "Recorder":
        self.state = CollaborationState.begin(self.request, self.wid, f"cid-{uuid.uuid4()}", now)
        await self.record([self.state.start_entry(now), *self.state.import_entries(now)], now)
        return self

    async def advance(self, stage: Stage, now: datetime) -> None:
        await self.record([apply(self.state, "advance", StageChange(to=stage, by="ops"), now)], now)

    async def close(self, outcome: Outcome, now: datetime) -> None:
        await self.record(
            [apply(self.state, "close", Closure(outcome=outcome, by="ops", reason="x"), now)], now
        )

    async def remind(self, now: datetime) -> None:
        await self.record(stalls.remind(self.state, now), now)

    # Planned steps, through the updates' own rules and operations (`workflows.domain.step_ops`).

    async def plan(self, kind: StepKind, at: datetime, now: datetime) -> str:
        """Plan a step of `kind` at `at`; return its id."""
        entry = apply(self.state, "plan_step", PlanStep(kind=kind, at=at, by="ops"), now)
        await self.record([entry], now)
        return str(entry.details["step"])

    async def reschedule(self, step: str, at: datetime, now: datetime) -> None:
        await self.record(
            [apply(self.state, "reschedule_step", RescheduleStep(step=step, at=at, by="ops"), now)], now
        )

    async def cancel(self, step: str, now: datetime) -> None:
        await self.record([apply(self.state, "cancel_step", CancelStep(step=step, by="ops"), now)], now)

    async def held(self, step: str, now: datetime) -> None:
        await self.record([apply(self.state, "step_held", StepHeld(step=step, by="ops"), now)], now)

    async def miss(self, now: datetime) -> None:
        """Mark the soonest step ahead missed, as its timer does."""
        await self.record(steps.miss(self.state, now), now)


async def record_known_lifecycles(pool: asyncpg.Pool, programme: str) -> None:
    """Record collaborations A to E of the table above under `programme`."""
    a = await Recorder(pool, programme, "Natixis", "health").start(day(0))
    for stage, n in [
        (Stage.QUALIFICATION, 10),
        (Stage.PILOT, 30),
        (Stage.EVALUATION, 60),
        (Stage.DEPLOYMENT, 70),
    ]:
        await a.advance(stage, day(n))
    await a.close(Outcome.DEPLOYED, day(100))

    b = await Recorder(pool, programme, "Natixis", "health").start(day(0))
    await b.advance(Stage.QUALIFICATION, day(4))
    await b.advance(Stage.PILOT, day(20))
    await b.close(Outcome.DECLINED, day(65))

    c = await Recorder(pool, programme, "Natixis", "health").start(day(0))
    await c.advance(Stage.QUALIFICATION, day(20))
    await c.remind(day(41))  # 21 days without news in qualification: stalled

    imported = {
        "stage": "pilot",
        "stage_dates": {"introduction": "2024-11-27", "qualification": "2024-12-22", "pilot": "2025-01-01"},
        "source": "programme.csv:2",
    }
    await Recorder(pool, programme, "Orange", "health", imported=imported).start(day(200))

    e = await Recorder(pool, programme, "Orange", "energy").start(day(0))
    await e.close(Outcome.ABANDONED, day(7))
