"""The KPI views over known lifecycles: exact counts, conversions and durations, by hand.

See `tests/integration/lifecycles.py` for the five collaborations and their days.
"""

import uuid
from datetime import date

import asyncpg
import pytest

from activities.kpis import KpiActivities
from passerelle.platform.scope import RowScope, of_roles
from passerelle.reads.kpis import read_report
from schemas import KpiFilters, Stage
from schemas.actors import programme_slug
from tests.integration.lifecycles import record_known_lifecycles

EVERY_ROW = RowScope(None)


@pytest.fixture
async def programme(pool: asyncpg.Pool) -> str:
    """A programme of this test's own, holding collaborations A to E."""
    name = f"KPI programme {uuid.uuid4()}"
    await record_known_lifecycles(pool, name)
    return name


async def test_funnel_counts_and_conversions(pool: asyncpg.Pool, programme: str) -> None:
    """5 collaborations; intro 5, qualification 4, pilot 3, evaluation 1, deployment 1; 3/5 and 1/3."""
    report = await read_report(pool, KpiFilters(programme=programme), EVERY_ROW)
    reached = {s.stage: s.reached for s in report.stages}
    assert reached == {
        Stage.INTRODUCTION: 5,
        Stage.QUALIFICATION: 4,
        Stage.PILOT: 3,
        Stage.EVALUATION: 1,
        Stage.DEPLOYMENT: 1,
    }
    assert (report.collaborations, report.open, report.stalled, report.stalled_ratio) == (5, 2, 1, 0.5)
    assert (report.deployed, report.declined, report.abandoned) == (1, 1, 1)
    assert report.conversion_introduction_pilot == 0.6
    assert report.conversion_pilot_deployed == 0.3333
    now = {s.stage: (s.open, s.stalled) for s in report.stages if s.open}
    assert now == {Stage.QUALIFICATION: (1, 1), Stage.PILOT: (1, 0)}


async def test_time_in_stage_median_and_p90(pool: asyncpg.Pool, programme: str) -> None:
    """Completed stays: intro [4,7,10,20,25], qualification [10,16,20], pilot [30,45], eval [10], deploy [30]."""
    report = await read_report(pool, KpiFilters(programme=programme), EVERY_ROW)
    got = {s.stage: (s.days, s.median_days, s.p90_days) for s in report.stages}
    assert got[Stage.INTRODUCTION] == ([4, 7, 10, 20, 25], 10, pytest.approx(23))  # 20 + 0.6 × 5
    assert got[Stage.QUALIFICATION] == ([10, 16, 20], 16, pytest.approx(19.2))  # 16 + 0.8 × 4
    assert got[Stage.PILOT] == ([30, 45], 37.5, pytest.approx(43.5))  # 30 + 0.9 × 15
    assert got[Stage.EVALUATION] == ([10], 10, 10)
    assert got[Stage.DEPLOYMENT] == ([30], 30, 30)


@pytest.mark.parametrize(
    ("filters", "collaborations", "reached_pilot", "conversion"),
    [
        ({"sector": "energy"}, 1, 0, 0.0),  # E only
        ({"corporate": "Orange"}, 2, 1, 0.5),  # D and E
        ({"since": date(2025, 1, 1)}, 4, 2, 0.5),  # D entered on 2024-11-27
        ({"until": date(2024, 12, 31)}, 1, 1, 1.0),  # D only
        ({"until": date(2025, 1, 1)}, 5, 3, 0.6),  # `until` is inclusive
    ],
)
async def test_filters_narrow_the_cohort(
    pool: asyncpg.Pool,
    programme: str,
    filters: dict,
    collaborations: int,
    reached_pilot: int,
    conversion: float,
) -> None:
    """Sector, corporate and period filters select exactly the expected collaborations."""
    report = await read_report(pool, KpiFilters(programme=programme, **filters), EVERY_ROW)
    pilot = next(s for s in report.stages if s.stage is Stage.PILOT)
    assert (report.collaborations, pilot.reached) == (collaborations, reached_pilot)
    assert report.conversion_introduction_pilot == conversion


async def test_the_callers_rows_narrow_every_figure(pool: asyncpg.Pool, programme: str) -> None:
    """Another programme's caller sees none of it; its sponsor at Orange sees D and E alone, in
    every figure (funnel, durations); the programme's operator sees A to E."""
    slug = programme_slug(programme)
    other = await read_report(pool, KpiFilters(programme=programme), RowScope(frozenset({"other"})))
    orange = of_roles([f"{slug}:sponsor"], "orange").narrowed(slug)
    sponsor = await read_report(pool, KpiFilters(programme=programme), orange)
    operator = await read_report(
        pool, KpiFilters(programme=programme), of_roles([f"{slug}:operator"]).narrowed(slug)
    )
    assert (other.collaborations, [s.reached for s in other.stages], other.stages[0].days) == (0, [0] * 5, [])
    assert (sponsor.collaborations, sponsor.open, sponsor.abandoned) == (2, 1, 1)
    assert [s.reached for s in sponsor.stages] == [2, 1, 1, 0, 0]
    assert sponsor.stages[0].days == [7, 25]  # E, then D (imported: 2024-11-27 to 2024-12-22)
    assert operator.collaborations == 5


async def test_views_for_sql_users(pool: asyncpg.Pool, programme: str) -> None:
    """kpi_funnel by sector, kpi_current_stages and kpi_stage_durations agree with the report."""
    funnel = await pool.fetch(
        "SELECT sector, sum(collaborations) AS n, sum(reached_pilot) AS pilot, sum(deployed) AS deployed"
        " FROM kpi_funnel WHERE programme = $1 GROUP BY sector ORDER BY sector",
        programme,
    )
    assert [(r["sector"], r["n"], r["pilot"], r["deployed"]) for r in funnel] == [
        ("energy", 1, 0, 0),
        ("health", 4, 3, 1),
    ]
    current = await pool.fetch(
        "SELECT stage, open, stalled FROM kpi_current_stages WHERE programme = $1 ORDER BY stage", programme
    )
    assert [tuple(r) for r in current] == [("pilot", 1, 0), ("qualification", 1, 1)]
    pilot = await pool.fetchrow(
        "SELECT median_days, p90_days FROM kpi_stage_durations WHERE programme = $1 AND stage = 'pilot'",
        programme,
    )
    assert (pilot["median_days"], pilot["p90_days"]) == (37.5, pytest.approx(43.5))


async def test_kpi_summary_for_the_digest(pool: asyncpg.Pool, programme: str) -> None:
    """The digest header: 2 open (qualification 1, pilot 1), 1 stalled (50 %)."""
    summary = await KpiActivities(pool).kpi_summary(programme)
    assert summary.open_by_stage == {Stage.QUALIFICATION: 1, Stage.PILOT: 1}
    assert summary.line() == (
        "2 open (introduction 0, qualification 1, pilot 1, evaluation 0, deployment 0); 1 stalled (50.0 %)"
    )
