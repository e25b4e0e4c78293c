"""The daily digest's next steps of the coming week and decisions overdue, per programme, bounded.

The collaborations are recorded as the worker records them (`tests/integration/lifecycles.py`),
their steps planned around the real clock, which the digest's query reads. In programme P:

| id | next step, or decision | in the digest |
|---|---|---|
| A | a meeting in 2 days | yes |
| B | a demo in 6 days 22 hours | yes |
| C | a meeting in 7 days 2 hours | no: beyond the week |
| D | a meeting an hour ago (not yet missed) | no: passed |
| E | a meeting tomorrow, then closed | no: closed |
| G | decision date 3 days ago, overdue | yes |
| H | decision date in 10 days | no: not overdue |
| I | decision date 3 days ago, overdue, then moved to deployment | no: decided |

Programme O holds one more of each kind that P's digest must not show; programme R holds 22 steps
and 21 decisions overdue, beyond what a digest lists.
"""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.kpis import LINES_SHOWN, KpiActivities
from schemas import DigestRequest, Outcome, Stage
from schemas.actors import programme_slug
from schemas.steps import DecisionDate, StepKind
from tests.conftest import WorkerFactory
from tests.factories import apply
from tests.integration.lifecycles import Recorder
from workflows.digest import DigestWorkflow
from workflows.domain import steps

NOW = datetime.now(UTC).replace(microsecond=0)


async def _with_step(pool: asyncpg.Pool, programme: str, kind: StepKind, at: datetime, name: str) -> Recorder:
    r = await Recorder(pool, programme, f"Corp {name}", "health").start(NOW - timedelta(days=30))
    await r.plan(kind, at, NOW - timedelta(days=1))
    return r


async def _overdue(pool: asyncpg.Pool, programme: str, days_ago: int, name: str) -> Recorder:
    """A collaboration whose decision date was `days_ago` days ago, told overdue (as its timer does)."""
    r = await Recorder(pool, programme, f"Corp {name}", "health").start(NOW - timedelta(days=60))
    on = (NOW - timedelta(days=days_ago)).date()
    await r.record(
        [apply(r.state, "set_decision_date", DecisionDate(on=on, by="ops"), NOW - timedelta(days=40))], NOW
    )
    await r.record(steps.decision_overdue(r.state, NOW), NOW)
    return r


@pytest.fixture
def names() -> dict[str, str]:
    return {k: f"{k} digest steps {uuid.uuid4()}" for k in "POR"}


@pytest.fixture
async def recorded(pool: asyncpg.Pool, names: dict[str, str]) -> dict[str, Recorder]:
    p, o, r = names["P"], names["O"], names["R"]
    made = {
        "A": await _with_step(pool, p, StepKind.MEETING, NOW + timedelta(days=2), "A"),
        "B": await _with_step(pool, p, StepKind.DEMO, NOW + timedelta(days=6, hours=22), "B"),
        "C": await _with_step(pool, p, StepKind.MEETING, NOW + timedelta(days=7, hours=2), "C"),
        "D": await _with_step(pool, p, StepKind.MEETING, NOW - timedelta(hours=1), "D"),
        "E": await _with_step(pool, p, StepKind.MEETING, NOW + timedelta(days=1), "E"),
        "O1": await _with_step(pool, o, StepKind.MEETING, NOW + timedelta(days=1), "O1"),
        "G": await _overdue(pool, p, 3, "G"),
        "I": await _overdue(pool, p, 3, "I"),
        "O2": await _overdue(pool, o, 3, "O2"),
    }
    await made["E"].close(Outcome.DECLINED, NOW)
    h = await Recorder(pool, p, "Corp H", "health").start(NOW - timedelta(days=5))
    on = (NOW + timedelta(days=10)).date()
    await h.record([apply(h.state, "set_decision_date", DecisionDate(on=on, by="ops"), NOW)], NOW)
    for stage in (Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT):
        await made["I"].advance(stage, NOW)
    for n in range(LINES_SHOWN + 2):
        await _with_step(pool, r, StepKind.MEETING, NOW + timedelta(days=1, minutes=n), f"R{n}")
    for n in range(LINES_SHOWN + 1):
        await _overdue(pool, r, 2 + n, f"R{n}")
    return made


def paris(at: datetime) -> str:
    return f"{at.astimezone(ZoneInfo('Europe/Paris')):%Y-%m-%d %H:%M} (Europe/Paris)"


async def test_the_weeks_steps_and_the_decisions_overdue_of_the_programme(
    pool: asyncpg.Pool, names: dict[str, str], recorded: dict[str, Recorder]
) -> None:
    """A and B, soonest first, at their time in Paris; G alone overdue. The programme's slug
    selects the same."""
    a, b, g = recorded["A"], recorded["B"], recorded["G"]
    summary = await KpiActivities(pool).kpi_summary(names["P"])
    by_slug = await KpiActivities(pool).kpi_summary(programme_slug(names["P"]))
    assert summary.next_steps == [
        f"Corp A × {a.request.startup.name}: meeting on {paris(NOW + timedelta(days=2))} [{a.wid}]",
        f"Corp B × {b.request.startup.name}: demo on {paris(NOW + timedelta(days=6, hours=22))} [{b.wid}]",
    ]
    assert f"{NOW + timedelta(days=2):%H:%M} (Europe/Paris)" not in summary.next_steps[0]  # not UTC
    on = (NOW - timedelta(days=3)).date()
    assert summary.decisions_overdue == [f"Corp G × {g.request.startup.name}: decision date {on} [{g.wid}]"]
    assert (summary.next_steps_more, summary.decisions_overdue_more) == (0, 0)
    new = ("next_steps", "next_steps_more", "decisions_overdue", "decisions_overdue_more")
    assert by_slug.model_dump(include=set(new)) == summary.model_dump(include=set(new))


async def test_the_lists_are_bounded_and_say_how_many_more(
    pool: asyncpg.Pool, names: dict[str, str], recorded: dict[str, Recorder]
) -> None:
    """R's 22 steps: the 20 soonest and 2 more; its 21 decisions: the 20 oldest and 1 more."""
    summary = await KpiActivities(pool).kpi_summary(names["R"])
    assert (len(summary.next_steps), summary.next_steps_more) == (LINES_SHOWN, 2)
    assert (len(summary.decisions_overdue), summary.decisions_overdue_more) == (LINES_SHOWN, 1)
    assert summary.next_steps[0].startswith("Corp R0 ") and summary.next_steps[-1].startswith("Corp R19 ")
    assert summary.decisions_overdue[0].startswith("Corp R20 ")  # the oldest date first


async def test_the_digest_sends_them(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    names: dict[str, str],
    recorded: dict[str, Recorder],
) -> None:
    """The digest workflow's notification carries R's lines and how many more, as text."""
    async with run_worker(dev_env.client):
        digest = await dev_env.client.execute_workflow(
            DigestWorkflow.run,
            DigestRequest(recipients=["ops@programme.example"], programme=names["R"]),
            id=f"digest-{uuid.uuid4()}",
            task_queue=task_queue,
        )
    context = await pool.fetchval(
        "SELECT context FROM notifications WHERE idempotency_key = $1", digest.notification_key
    )
    assert len(context["steps"].splitlines()) == LINES_SHOWN and context["steps_more"] == "2"
    assert len(context["overdue"].splitlines()) == LINES_SHOWN and context["overdue_more"] == "1"
