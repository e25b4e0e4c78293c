"""Time from the introduction to the first meeting, and how planned steps went, by hand.

The rows are written as the worker writes them (`tests/integration/lifecycles.py`, `Recorder`),
step entries included, with chosen instants. Days from T0 = 2025-01-01 UTC, in programme P, each
introduced on day 0 unless said otherwise; a step is planned the day before it is due:

| id | corporate | steps | first meeting | held, postponed, cancelled, missed |
|---|---|---|---|---|
| M1 | Natixis | meeting 5 held; demo 20 moved to 22, held | 5 | 2, 1, 0, 0 |
| M2 | Natixis | document 3 held; meeting 12 moved to 14, cancelled; demo 30 held | 30 | 2, 1, 1, 0 |
| M3 | Orange | decision 9 missed (day 12), then held | 9 | 1, 0, 0, 1 |
| M4 | Orange | imported on day 6, introduced on day -10; meeting 10 held | 20 | 1, 0, 0, 0 |
| M5 | Natixis | none | — | 0, 0, 0, 0 |
| M6 | Orange | meeting 40 moved to 45, not yet held | — | 0, 1, 0, 0 |

P: 6 introduced, 4 met: days [5, 9, 20, 30] (median 14.5, p90 27); 6 held, 3 postponed, 1
cancelled, 1 missed. Programme Q holds Q1 (Natixis): a meeting held on day 2 and a document held.
"""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest
from rich.console import Console

from passerelle.cli.charts import png
from passerelle.cli.report import as_markdown, show_tables
from passerelle.cli.report_workbook import sheets
from passerelle.platform.scope import RowScope, of_roles
from passerelle.reads.collaborations import read_collaborations
from passerelle.reads.filters import filter_args, statement
from passerelle.reads.kpis import read_report
from passerelle.reads.step_kpis import SELECT_STEP_FIGURES, read_step_kpis
from schemas import KpiFilters
from schemas.actors import programme_slug
from schemas.kpis import MEETING_TITLE, MeetingKpi
from schemas.steps import StepKind
from tests.integration.lifecycles import Recorder, day

EVERY_ROW = RowScope(None)
MEETING, DEMO, DOCUMENT, DECISION = StepKind.MEETING, StepKind.DEMO, StepKind.DOCUMENT, StepKind.DECISION


@dataclass(frozen=True)
class Programmes:
    p: str
    q: str
    recorders: dict[str, Recorder]

    def name_of(self, workflow_id: str) -> str:
        return next(name for name, r in self.recorders.items() if r.wid == workflow_id)


async def _held(r: Recorder, kind: StepKind, n: float) -> None:
    """Plan a step due on day `n` the day before, and mark it held on the day after."""
    await r.held(await r.plan(kind, day(n), day(n - 1)), day(n + 1))


@pytest.fixture
async def programmes(pool: asyncpg.Pool) -> Programmes:
    """Programmes P (M1 to M6) and Q (Q1) of this test's own."""
    p, q = f"Meeting figures {uuid.uuid4()}", f"Other meeting figures {uuid.uuid4()}"

    async def started(programme: str, corporate: str) -> Recorder:
        return await Recorder(pool, programme, corporate, "health").start(day(0))

    m1 = await started(p, "Natixis")
    await _held(m1, MEETING, 5)
    demo = await m1.plan(DEMO, day(20), day(19))
    await m1.reschedule(demo, day(22), day(19.5))
    await m1.held(demo, day(23))

    m2 = await started(p, "Natixis")
    await _held(m2, DOCUMENT, 3)  # a document due is not a meeting
    meeting = await m2.plan(MEETING, day(12), day(11))
    await m2.reschedule(meeting, day(14), day(11.5))
    await m2.cancel(meeting, day(13))  # one postponement and one cancellation
    await _held(m2, DEMO, 30)

    m3 = await started(p, "Orange")
    decision = await m3.plan(DECISION, day(9), day(8))
    await m3.miss(day(12))
    await m3.held(decision, day(13))  # held after all: at its planned day 9

    imported = {
        "stage": "qualification",
        "stage_dates": {"introduction": "2024-12-22", "qualification": "2025-01-01"},
        "source": "programme.csv:2",
    }
    m4 = await Recorder(pool, p, "Orange", "health", imported=imported).start(day(6))
    await _held(m4, MEETING, 10)

    m5 = await started(p, "Natixis")

    m6 = await started(p, "Orange")
    later = await m6.plan(MEETING, day(40), day(39))
    await m6.reschedule(later, day(45), day(39.5))

    q1 = await started(q, "Natixis")
    await _held(q1, MEETING, 2)  # a meeting of another programme
    await _held(q1, DOCUMENT, 1)
    return Programmes(p, q, {"M1": m1, "M2": m2, "M3": m3, "M4": m4, "M5": m5, "M6": m6, "Q1": q1})


def figures(kpi: MeetingKpi) -> tuple[object, ...]:
    return (
        kpi.introduced,
        kpi.met,
        kpi.days_to_first_meeting,
        kpi.first_meeting_median_days,
        kpi.first_meeting_p90_days,
        (kpi.steps_held, kpi.steps_postponed, kpi.steps_cancelled, kpi.steps_missed),
    )


async def test_time_to_first_meeting_and_steps_per_programme(
    pool: asyncpg.Pool, programmes: Programmes
) -> None:
    """P's figures: M2 met at its demo (its document is no meeting), M3 at its missed decision
    held later, M4 from its imported introduction; Q1's meeting and steps are Q's alone."""
    report = await read_report(pool, KpiFilters(programme=programmes.p), EVERY_ROW)
    q = await read_step_kpis(pool, KpiFilters(programme=programmes.q), EVERY_ROW)
    assert [k.programme for k in report.meetings] == [programmes.p]
    assert figures(report.meetings[0]) == (6, 4, [5, 9, 20, 30], 14.5, pytest.approx(27), (6, 3, 1, 1))
    assert [figures(k) for k in q] == [(1, 1, [2], 2, 2, (2, 0, 0, 0))]


async def test_the_cohort_filters_apply(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """From 2025-01-01, M4 (introduced 2024-12-22) is left out; the energy sector holds nothing."""
    since = await read_step_kpis(pool, KpiFilters(programme=programmes.p, since=date(2025, 1, 1)), EVERY_ROW)
    energy = await read_step_kpis(pool, KpiFilters(programme=programmes.p, sector="energy"), EVERY_ROW)
    assert [figures(k) for k in since] == [(5, 3, [5, 9, 30], 9, pytest.approx(25.8), (5, 3, 1, 1))]
    assert energy == []  # 9 + 0.8 × 21 above


async def test_a_caller_of_one_programme_sees_its_figures_only(
    pool: asyncpg.Pool, programmes: Programmes
) -> None:
    """P's operator reads P's figures alone, Q's caller Q's; a sponsor at Orange reads M3, M4 and
    M6; another programme's caller reads nothing of P, even naming it."""
    p, q = programme_slug(programmes.p), programme_slug(programmes.q)
    of_p = await read_report(pool, KpiFilters(), of_roles([f"{p}:operator"]).narrowed(p))
    of_q = await read_report(pool, KpiFilters(), RowScope(frozenset({q})))
    orange = await read_report(pool, KpiFilters(), of_roles([f"{p}:sponsor"], "Orange").narrowed(p))
    other = await read_report(pool, KpiFilters(programme=programmes.p), RowScope(frozenset({q})))
    assert [(k.programme, k.introduced, k.met, k.steps_held) for k in of_p.meetings] == [
        (programmes.p, 6, 4, 6)
    ]
    assert [figures(k) for k in of_q.meetings] == [(1, 1, [2], 2, 2, (2, 0, 0, 0))]
    assert [figures(k) for k in orange.meetings] == [
        (3, 2, [9, 20], 14.5, pytest.approx(18.9), (2, 1, 0, 1))  # 9 + 0.9 × 11
    ]
    assert other.meetings == []


async def test_the_query_refuses_to_run_without_the_callers_rows(pool: asyncpg.Pool) -> None:
    """The report's query as written names no rows: PostgreSQL refuses it; `statement` fills them."""
    args = filter_args(KpiFilters())
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await pool.fetch(SELECT_STEP_FIGURES, *args)
    assert await pool.fetch(*statement(SELECT_STEP_FIGURES, RowScope(frozenset()), *args)) == []


async def test_the_views_for_sql_users(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """kpi_step_figures: P's row agrees with the report."""
    found = await pool.fetchrow("SELECT * FROM kpi_step_figures WHERE programme = $1", programmes.p)
    assert dict(found) == {
        "programme": programmes.p,
        "introduced": 6,
        "met": 4,
        "first_meeting_median_days": 14.5,
        "first_meeting_p90_days": pytest.approx(27),
        "steps_held": 6,
        "steps_postponed": 3,
        "steps_cancelled": 1,
        "steps_missed": 1,
    }


async def test_the_export_has_each_collaborations_meeting_and_steps(
    pool: asyncpg.Pool, programmes: Programmes
) -> None:
    """Per collaboration: days to the first meeting (None when none was held) and its steps; a
    sponsor at Orange exports M3, M4 and M6 alone."""
    lines = await read_collaborations(pool, KpiFilters(programme=programmes.p), EVERY_ROW)
    columns = ("days_to_first_meeting", "steps_held", "steps_postponed", "steps_cancelled", "steps_missed")
    got = {
        programmes.name_of(line.values["workflow_id"]): tuple(line.values[c] for c in columns)
        for line in lines
    }
    assert got == {
        "M1": (5, 2, 1, 0, 0),
        "M2": (30, 2, 1, 1, 0),
        "M3": (9, 1, 0, 0, 1),
        "M4": (20, 1, 0, 0, 0),
        "M5": (None, 0, 0, 0, 0),
        "M6": (None, 0, 1, 0, 0),
    }
    slug = programme_slug(programmes.p)
    orange = await read_collaborations(
        pool, KpiFilters(), of_roles([f"{slug}:sponsor"], "Orange").narrowed(slug)
    )
    assert sorted(programmes.name_of(line.values["workflow_id"]) for line in orange) == ["M3", "M4", "M6"]


async def test_every_format_of_the_report_shows_them(pool: asyncpg.Pool, programmes: Programmes) -> None:
    """Markdown, the Rich table, JSON and the workbook's sheet carry P's figures; the chart draws."""
    report = await read_report(pool, KpiFilters(programme=programmes.p), EVERY_ROW)
    console = Console(record=True, width=250)
    show_tables(report, console)
    sheet = next(s for s in sheets(report) if s.title == MEETING_TITLE)
    assert f"| {programmes.p} | 6 | 4 | 14.5 | 27.0 | 6 | 3 | 1 | 1 |" in as_markdown(report)
    assert re.search(r"│ 6 +│ 4 +│ 14\.5 +│ 27\.0 +│ 6 +│ 3 +│ 1 +│ 1 +│", console.export_text())
    assert json.loads(report.model_dump_json())["meetings"][0]["days_to_first_meeting"] == [5, 9, 20, 30]
    assert sheet.rows == [[programmes.p, 6, 4, 14.5, pytest.approx(27), 6, 3, 1, 1]]
    assert png(report).startswith(b"\x89PNG")
