"""The report on the demo data shows time to PoC and the meeting figures.

The demo's rows are recorded as the worker records an import (`tests/integration/lifecycles.py`),
each programme's name made this test's own, and the demo's planned steps applied through the
updates' own rules (`tests/factories.apply`), on the demo's fixed day.
"""

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import asyncpg

from passerelle.cli.report import as_markdown
from passerelle.devstack.demo import DEMO_STEPS, demo_rows, demo_steps
from passerelle.intake.ids import slug
from passerelle.platform.scope import RowScope
from passerelle.reads.kpis import read_report
from schemas import KpiFilters, Stage
from tests.factories import apply
from tests.integration.lifecycles import Recorder
from workflows.domain.updates import UPDATES

TODAY = date(2026, 11, 26)
NOW = datetime.combine(TODAY, time(6), tzinfo=UTC)  # before the digest's hour


def imported(row: dict[str, str], n: int) -> dict[str, Any]:
    dates = {s.value: row[f"{s.value}_date"] for s in Stage if row[f"{s.value}_date"]}
    closed = {"outcome": row["outcome"], "closed_on": row["closed_date"]} if row["outcome"] else {}
    return {"stage": row["stage"], "stage_dates": dates, "source": f"demo.csv:{n + 2}"} | closed


async def test_the_demo_report_has_time_to_poc_and_meetings(pool: asyncpg.Pool) -> None:
    """Every demo programme reached pilots and has days to PoC; the 12 collaborations with steps
    met, and their steps are counted: 12 held, 4 postponed, 4 cancelled."""
    suffix = uuid.uuid4().hex[:8]
    rows = [r | {"programme": f"{r['programme']} {suffix}"} for r in demo_rows(TODAY, collaborations=200)]
    recorders = {}
    for n, row in enumerate(rows):
        r = Recorder(pool, row["programme"], row["corporate"], row["sector"], imported=imported(row, n))
        recorders[f"collab-{slug(row['corporate'])}-{slug(row['startup'])}"] = await r.start(NOW)
    for workflow_id, updates in demo_steps(rows, TODAY):
        r = recorders[workflow_id]
        for name, data in updates:
            await r.record([apply(r.state, name, UPDATES[name].model.model_validate(data), NOW)], NOW)
    programmes = sorted({r["programme"] for r in rows})
    reports = [await read_report(pool, KpiFilters(programme=p), RowScope(None)) for p in programmes]
    print("\n".join(as_markdown(report) for report in reports))  # what `report --format md` shows
    assert all(r.pilot_times[0].reached_pilot > 0 and r.pilot_times[0].poc_median_days for r in reports)
    meetings = [m for report in reports for m in report.meetings]
    assert sum(m.met for m in meetings) == DEMO_STEPS
    assert [sum(getattr(m, f"steps_{k}") for m in meetings) for k in ("held", "postponed", "cancelled")] == [
        12,
        4,
        4,
    ]
    assert all(d > 0 for m in meetings for d in m.days_to_first_meeting)
