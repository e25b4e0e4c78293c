"""The digest's KPI header, read from the views of `migrations/0002_kpis.sql`, the partners'
answers of the last day, and the next steps of the coming week and the decisions overdue.

Read-only, so retrying changes nothing. The full report behind `passerelle report` is not an
activity: it lives in `passerelle.reads.kpis`.
"""

import asyncpg
from temporalio import activity

from schemas import KpiSummary, Stage
from schemas.moments import in_zone
from schemas.steps import CALENDAR_ZONE
from workflows.activity_names import KPI_SUMMARY

SELECT_SUMMARY = """
SELECT stage, sum(open)::int AS open, sum(stalled)::int AS stalled
FROM kpi_current_stages WHERE $1::text IS NULL OR programme = $1
GROUP BY stage
"""
# The partners' answers of the last day (docs/partners.md), newest first, at most `ANSWERS_SHOWN`.
SELECT_ANSWERS = """
SELECT c.workflow_id, c.corporate, c.startup, m.occurred_at, m.note,
       m.details->>'party' AS party, m.details->>'action' AS action, m.details->>'until' AS until
FROM milestones m JOIN collaborations c USING (collaboration_id)
WHERE m.kind = 'partner_update' AND m.occurred_at > now() - interval '1 day'
  AND ($1::text IS NULL OR c.programme = $1)
ORDER BY m.occurred_at DESC, m.seq DESC
LIMIT $2
"""
ANSWERS_SHOWN = 50
NOTE_SHOWN = 140
# The open collaborations' next steps of the coming week, soonest first, and their decisions
# overdue, oldest date first, from their rows (migrations/0015_planned_steps.sql): at most
# `LINES_SHOWN` of each, with how many there are in all, so the digest stays small.
SELECT_NEXT_STEPS = """
SELECT workflow_id, corporate, startup, next_step_kind, next_step_at, count(*) OVER () AS total
FROM collaborations
WHERE outcome IS NULL AND next_step_at >= now() AND next_step_at < now() + make_interval(days => $2)
  AND ($1::text IS NULL OR programme = $1 OR programme_slug = $1)
ORDER BY next_step_at, workflow_id
LIMIT $3
"""
SELECT_DECISIONS_OVERDUE = """
SELECT workflow_id, corporate, startup, decision_on, count(*) OVER () AS total
FROM collaborations
WHERE outcome IS NULL AND decision_overdue AND ($1::text IS NULL OR programme = $1 OR programme_slug = $1)
ORDER BY decision_on, workflow_id
LIMIT $2
"""
STEPS_AHEAD_DAYS = 7
LINES_SHOWN = 20


def ratio(part: int, whole: int) -> float | None:
    """Return part/whole rounded to 4 places, or None when there is no whole."""
    return round(part / whole, 4) if whole else None


def answer_line(row: asyncpg.Record) -> str:
    """Return a partner's answer as one line of the digest."""
    who = row["startup"] if row["party"] == "startup" else row["corporate"]
    until = f" until {row['until'][:10]}" if row["until"] else ""
    note = " ".join(row["note"].split())
    note = f": {note[: NOTE_SHOWN - 1]}…" if len(note) > NOTE_SHOWN else (f": {note}" if note else "")
    return (
        f"{who} ({row['party']}) on {row['corporate']} × {row['startup']}: {row['action']}{until}"
        f"{note} [{row['workflow_id']}]"
    )


def step_line(row: asyncpg.Record) -> str:
    """Return a next step as one line of the digest, at its time in Europe/Paris."""
    at = in_zone(row["next_step_at"], CALENDAR_ZONE)
    who = f"{row['corporate']} × {row['startup']}"
    return f"{who}: {row['next_step_kind']} on {at} ({CALENDAR_ZONE}) [{row['workflow_id']}]"


def decision_line(row: asyncpg.Record) -> str:
    """Return an overdue decision as one line of the digest."""
    return f"{row['corporate']} × {row['startup']}: decision date {row['decision_on']} [{row['workflow_id']}]"


def beyond(rows: list[asyncpg.Record]) -> int:
    """Return how many rows the query found beyond those it returned."""
    return rows[0]["total"] - len(rows) if rows else 0


class KpiActivities:
    """The KPI activity over the milestone records."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=KPI_SUMMARY)
    async def kpi_summary(self, programme: str | None) -> KpiSummary:
        """Return open collaborations by stage and the stalled ratio, the last day's partners'
        answers, the coming week's next steps and the decisions overdue (of one programme, or all)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(SELECT_SUMMARY, programme)
            answers = await conn.fetch(SELECT_ANSWERS, programme, ANSWERS_SHOWN)
            steps = await conn.fetch(SELECT_NEXT_STEPS, programme, STEPS_AHEAD_DAYS, LINES_SHOWN)
            overdue = await conn.fetch(SELECT_DECISIONS_OVERDUE, programme, LINES_SHOWN)
        by_stage = {Stage(r["stage"]): r["open"] for r in rows}
        open_, stalled = sum(by_stage.values()), sum(r["stalled"] for r in rows)
        return KpiSummary(
            open_by_stage=by_stage,
            open=open_,
            stalled=stalled,
            stalled_ratio=ratio(stalled, open_),
            partner_answers=[answer_line(a) for a in answers],
            next_steps=[step_line(r) for r in steps],
            next_steps_more=beyond(steps),
            decisions_overdue=[decision_line(r) for r in overdue],
            decisions_overdue_more=beyond(overdue),
        )
