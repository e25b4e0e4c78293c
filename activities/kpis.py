"""The digest's KPI header, read from the views of `migrations/0002_kpis.sql`, and the partners'
answers of the last day.

Read-only, so retrying changes nothing. The full report behind `passerelle report` is not an
activity: it lives in `passerelle.reads.kpis`.
"""

import asyncpg
from temporalio import activity

from schemas import KpiSummary, Stage
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


class KpiActivities:
    """The KPI activity over the milestone records."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=KPI_SUMMARY)
    async def kpi_summary(self, programme: str | None) -> KpiSummary:
        """Return open collaborations by stage and the stalled ratio (of one programme, or all)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(SELECT_SUMMARY, programme)
            answers = await conn.fetch(SELECT_ANSWERS, programme, ANSWERS_SHOWN)
        by_stage = {Stage(r["stage"]): r["open"] for r in rows}
        open_, stalled = sum(by_stage.values()), sum(r["stalled"] for r in rows)
        return KpiSummary(
            open_by_stage=by_stage,
            open=open_,
            stalled=stalled,
            stalled_ratio=ratio(stalled, open_),
            partner_answers=[answer_line(a) for a in answers],
        )
