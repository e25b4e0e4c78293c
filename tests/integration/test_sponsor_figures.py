"""Time to PoC and from the pilot's start to its decision, over known lifecycles, by hand.

The rows are written as the worker writes them (`tests/integration/lifecycles.py`, `Recorder`),
with chosen instants. Days from T0 = 2025-01-01 UTC, in programme P:

| id | corporate | path (day) | end | to PoC | pilot → decision |
|---|---|---|---|---|---|
| A | Natixis | intro 0, qualification 10, pilot 30, evaluation 60, deployment 70 | deployed 100 | 30 | 40 (deployment) |
| B | Natixis | intro 0, qualification 4, pilot 20 | declined 65 | 20 | 45 (declined) |
| C | Natixis | intro 0, qualification 5, pilot 17, evaluation 40, pilot again 50 | abandoned 80 | 17 | 63 (abandoned) |
| D | Orange | imported at 200: intro -35, qualification -10, pilot 0, evaluation 40 | declined 73 | 35 | 73 (declined) |
| E | Orange | intro 0, qualification 3, pilot 12 | open (in pilot) | 12 | open |
| F | Natixis | intro 0 | abandoned 7 | — | — |
| G | Natixis | intro 0, qualification 10, pilot 25, evaluation 40 | open (in evaluation) | 25 | open |

P: 6 reached the pilot, days to PoC [12, 17, 20, 25, 30, 35] (median 22.5, p90 32.5); 4 decided,
days to decision [40, 45, 63, 73] (median 54, p90 70), 2 open. Programme Q holds two more: Q1
(health) intro 0, qualification 1, pilot 2, declined 5 (to PoC 2, to decision 3); Q2 (energy)
still in introduction.
"""

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest

from passerelle.platform.scope import RowScope, of_roles
from passerelle.reads.collaborations import read_collaborations
from passerelle.reads.filters import filter_args, statement
from passerelle.reads.kpis import read_report
from passerelle.reads.pilot_kpis import SELECT_PILOT_TIMES, read_pilot_kpis
from schemas import KpiFilters, Outcome, Stage
from schemas.actors import programme_slug
from schemas.kpis import PilotKpi
from tests.integration.lifecycles import Recorder, day

EVERY_ROW = RowScope(None)


@dataclass(frozen=True)
class Programmes:
    p: str
    q: str
    recorders: dict[str, Recorder]  # A to G, Q1 and Q2

    def name_of(self, *, workflow_id: str = "", collaboration_id: str = "") -> str:
        """Return which collaboration of the table above has this workflow or collaboration id."""
        return next(
            name
            for name, r in self.recorders.items()
            if workflow_id == r.wid or collaboration_id == r.state.collaboration_id
        )


async def _path(
    recorder: Recorder, steps: list[tuple[Stage, float]], end: tuple[Outcome, float] | None = None
) -> Recorder:
    await recorder.start(day(0))
    for stage, n in steps:
        await recorder.advance(stage, day(n))
    if end is not None:
        await recorder.close(end[0], day(end[1]))
    return recorder


@pytest.fixture
async def programmes(pool: asyncpg.Pool) -> Programmes:
    """Programmes P (A to G) and Q (Q1, Q2) of this test's own."""
    p, q = f"Sponsor figures {uuid.uuid4()}", f"Other sponsor figures {uuid.uuid4()}"
    Q, P, E, D = Stage.QUALIFICATION, Stage.PILOT, Stage.EVALUATION, Stage.DEPLOYMENT

    def natixis() -> Recorder:
        return Recorder(pool, p, "Natixis", "health")

    recorders = {
        "A": await _path(natixis(), [(Q, 10), (P, 30), (E, 60), (D, 70)], (Outcome.DEPLOYED, 100)),
        "B": await _path(natixis(), [(Q, 4), (P, 20)], (Outcome.DECLINED, 65)),
        "C": await _path(natixis(), [(Q, 5), (P, 17), (E, 40), (P, 50)], (Outcome.ABANDONED, 80)),
        "E": await _path(Recorder(pool, p, "Orange", "health"), [(Q, 3), (P, 12)]),
        "F": await _path(natixis(), [], (Outcome.ABANDONED, 7)),
        "G": await _path(natixis(), [(Q, 10), (P, 25), (E, 40)]),
        "Q1": await _path(Recorder(pool, q, "Natixis", "health"), [(Q, 1), (P, 2)], (Outcome.DECLINED, 5)),
        "Q2": await _path(Recorder(pool, q, "Engie", "energy"), []),
    }
    imported = {
        "stage": "evaluation",
        "stage_dates": {
            "introduction": "2024-11-27",
            "qualification": "2024-12-22",
            "pilot": "2025-01-01",
            "evaluation": "2025-02-10",
        },
        "outcome": "declined",
        "closed_on": "2025-03-15",
        "source": "programme.csv:2",
    }
    recorders["D"] = await Recorder(pool, p, "Orange", "health", imported=imported).start(day(200))
    return Programmes(p, q, recorders)


def figures(kpi: PilotKpi) -> tuple[object, ...]:
    return (
        kpi.reached_pilot,
        kpi.days_to_poc,
        kpi.poc_median_days,
        kpi.poc_p90_days,
        kpi.decided,
        kpi.open,
        kpi.days_pilot_to_decision,
        kpi.decision_median_days,
        kpi.decision_p90_days,
    )


async def test_time_to_poc_and_to_decision_per_programme(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """P's figures: D counts from its imported dates, C from its first pilot, F and the open E and
    G are in no duration to decision."""
    report = await read_report(pool, KpiFilters(programme=programmes.p), EVERY_ROW)
    assert [k.programme for k in report.pilot_times] == [programmes.p]
    assert figures(report.pilot_times[0]) == (
        6,
        [12, 17, 20, 25, 30, 35],
        22.5,
        pytest.approx(32.5),  # 30 + 0.5 × 5
        4,
        2,
        [40, 45, 63, 73],
        54,
        pytest.approx(70),  # 63 + 0.7 × 10
    )
    pilot = next(s for s in report.stages if s.stage is Stage.PILOT)
    assert pilot.reached == report.pilot_times[0].reached_pilot


async def test_the_cohort_filters_apply(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """From 2025-01-01, D (entered 2024-11-27) is left out; the energy sector holds nothing of P."""
    since = await read_pilot_kpis(pool, KpiFilters(programme=programmes.p, since=date(2025, 1, 1)), EVERY_ROW)
    energy = await read_pilot_kpis(pool, KpiFilters(programme=programmes.p, sector="energy"), EVERY_ROW)
    assert figures(since[0]) == (
        5,
        [12, 17, 20, 25, 30],
        20,
        pytest.approx(28),  # 25 + 0.6 × 5
        3,
        2,
        [40, 45, 63],
        45,
        pytest.approx(59.4),  # 45 + 0.8 × 18
    )
    assert energy == []


async def test_a_programme_without_a_pilot_has_its_row(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """Q's energy sector (Q2, in introduction) reached no pilot: its row says so, with no days."""
    (energy,) = await read_pilot_kpis(pool, KpiFilters(programme=programmes.q, sector="energy"), EVERY_ROW)
    assert (energy.programme, *figures(energy)) == (programmes.q, 0, [], None, None, 0, 0, [], None, None)


async def test_a_caller_of_one_programme_sees_its_figures_only(
    pool: asyncpg.Pool, programmes: Programmes
) -> None:
    """With no --programme, P's caller reads P's figures alone and Q's caller Q's; a sponsor at
    Orange reads D and E; another programme's caller reads nothing of P, even naming it."""
    p, q = programme_slug(programmes.p), programme_slug(programmes.q)
    of_p = await read_report(pool, KpiFilters(), of_roles([f"{p}:operator"]).narrowed(p))
    of_q = await read_report(pool, KpiFilters(), RowScope(frozenset({q})))
    orange = await read_report(pool, KpiFilters(), of_roles([f"{p}:sponsor"], "Orange").narrowed(p))
    other = await read_report(pool, KpiFilters(programme=programmes.p), RowScope(frozenset({q})))
    assert [(k.programme, k.reached_pilot, k.decided, k.open) for k in of_p.pilot_times] == [
        (programmes.p, 6, 4, 2)
    ]
    assert [figures(k) for k in of_q.pilot_times] == [(1, [2], 2, 2, 1, 0, [3], 3, 3)]
    assert [figures(k) for k in orange.pilot_times] == [
        (2, [12, 35], 23.5, pytest.approx(32.7), 1, 1, [73], 73, 73)  # E and D; 12 + 0.9 × 23
    ]
    assert other.pilot_times == []


async def test_the_query_refuses_to_run_without_the_callers_rows(pool: asyncpg.Pool) -> None:
    """The report's query as written names no rows: PostgreSQL refuses it; `statement` fills them."""
    args = filter_args(KpiFilters())
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await pool.fetch(SELECT_PILOT_TIMES, *args)
    with pytest.raises(ValueError, match="must keep the caller's rows"):
        statement("SELECT * FROM kpi_pilot_times", EVERY_ROW)
    assert isinstance(await pool.fetch(*statement(SELECT_PILOT_TIMES, RowScope(frozenset()), *args)), list)


async def test_the_views_for_sql_users(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """kpi_pilot_times: one row per collaboration, with its decision; kpi_pilot_durations agrees
    with the report."""
    found = await pool.fetch(
        "SELECT collaboration_id, days_to_poc::float8 AS poc, days_pilot_to_decision::float8 AS decision,"
        " decision AS decided_by FROM kpi_pilot_times WHERE programme = $1",
        programmes.p,
    )
    got = {
        programmes.name_of(collaboration_id=r["collaboration_id"]): (r["poc"], r["decision"], r["decided_by"])
        for r in found
    }
    assert got == {
        "A": (30, 40, "deployment"),
        "B": (20, 45, "declined"),
        "C": (17, 63, "abandoned"),
        "D": (35, 73, "declined"),
        "E": (12, None, None),
        "F": (None, None, None),
        "G": (25, None, None),
    }
    durations = await pool.fetchrow("SELECT * FROM kpi_pilot_durations WHERE programme = $1", programmes.p)
    assert dict(durations) == {
        "programme": programmes.p,
        "reached_pilot": 6,
        "poc_median_days": 22.5,
        "poc_p90_days": pytest.approx(32.5),
        "decided": 4,
        "open": 2,
        "decision_median_days": 54,
        "decision_p90_days": pytest.approx(70),
    }


async def test_the_export_has_each_collaborations_days(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """`days_to_poc` and `days_pilot_to_decision` per collaboration, None when not reached; a
    sponsor at Orange exports D and E alone."""
    lines = await read_collaborations(pool, KpiFilters(programme=programmes.p), EVERY_ROW)
    got = {
        programmes.name_of(workflow_id=line.values["workflow_id"]): (
            line.values["days_to_poc"],
            line.values["days_pilot_to_decision"],
        )
        for line in lines
    }
    assert got == {
        "A": (30, 40),
        "B": (20, 45),
        "C": (17, 63),
        "D": (35, 73),
        "E": (12, None),
        "F": (None, None),
        "G": (25, None),
    }
    slug = programme_slug(programmes.p)
    sponsor = of_roles([f"{slug}:sponsor"], "Orange").narrowed(slug)
    orange = await read_collaborations(pool, KpiFilters(), sponsor)
    assert sorted(programmes.name_of(workflow_id=line.values["workflow_id"]) for line in orange) == ["D", "E"]
