"""One row per collaboration, as `passerelle export collaborations` writes it, from PostgreSQL.

The first columns are those of the import template, filled so that the file imports again into
another instance as the same history: each stage's date is the instant the collaboration first
entered it (`kpi_stage_entries`), the closing date that of `kpi_collaborations`. The columns after them
are for the reader (stalled, last event, reminders, the playbook and its pending approval, the days
to PoC and from the pilot's start to its decision, of `kpi_pilot_times`; the days to the first
meeting and the steps held, postponed, cancelled and missed, of `kpi_step_times`); the import
reads past them. Filters are the report's, within the caller's rows (`passerelle.reads.filters`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from passerelle.platform.scope import RowScope
from passerelle.reads.filters import filter_args, statement, where
from schemas import KpiFilters, Stage

SELECT = f"""
SELECT k.workflow_id, c.corporate, c.corporate_email, c.startup, c.startup_email, c.startup_label,
       c.programme, c.topic, c.sector, c.owner_email, c.language, c.stage, c.stage_since, c.outcome,
       k.closed_at, k.stalled, c.paused,
       e.dates, last.kind AS last_event, last.at AS last_event_at,
       coalesce(m.reminders, 0) AS reminders, coalesce(m.escalations, 0) AS escalations,
       pb.note AS playbook, ap.kind AS approval, ap.target AS approval_for,
       round(p.days_to_poc::numeric, 2)::float8 AS days_to_poc,
       round(p.days_pilot_to_decision::numeric, 2)::float8 AS days_pilot_to_decision,
       round(st.days_to_first_meeting::numeric, 2)::float8 AS days_to_first_meeting,
       st.steps_held, st.steps_postponed, st.steps_cancelled, st.steps_missed
FROM (SELECT * FROM kpi_collaborations WHERE {where("entered_at")}) k
JOIN collaborations c USING (collaboration_id)
LEFT JOIN kpi_pilot_times p USING (collaboration_id)
LEFT JOIN kpi_step_times st USING (collaboration_id)
LEFT JOIN LATERAL (
    SELECT jsonb_object_agg(stage, entered_at) AS dates
    FROM (SELECT stage, min(entered_at) AS entered_at FROM kpi_stage_entries s
          WHERE s.collaboration_id = k.collaboration_id GROUP BY stage) first_entries
) e ON true
LEFT JOIN LATERAL (
    SELECT kind, coalesce(effective_at, occurred_at) AS at FROM milestones l
    WHERE l.collaboration_id = k.collaboration_id ORDER BY seq DESC LIMIT 1
) last ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE kind = 'reminder') AS reminders,
           count(*) FILTER (WHERE kind = 'escalation') AS escalations
    FROM milestones r WHERE r.collaboration_id = k.collaboration_id
) m ON true
LEFT JOIN LATERAL (
    SELECT note FROM milestones p
    WHERE p.collaboration_id = k.collaboration_id AND p.kind = 'playbook_adopted'
    ORDER BY seq DESC LIMIT 1
) pb ON true
LEFT JOIN LATERAL (
    SELECT kind, details->>'for' AS target FROM milestones a
    WHERE a.collaboration_id = k.collaboration_id
      AND a.kind IN ('approval_requested', 'approved', 'rejected')
    ORDER BY seq DESC LIMIT 1
) ap ON true
ORDER BY k.entered_at, k.workflow_id, k.collaboration_id
"""

_APPROVAL = {
    "approval_requested": "awaiting approval for",
    "approved": "approved for",
    "rejected": "rejected for",
}


# The planned steps of each collaboration, counted by `kpi_step_times`.
STEP_COUNTS = ("steps_held", "steps_postponed", "steps_cancelled", "steps_missed")


@dataclass(frozen=True)
class CollaborationLine:
    """One collaboration as the export writes it: field name → value (text, date-time, number)."""

    values: dict[str, Any]


def _playbook(row: asyncpg.Record) -> str:
    if row["playbook"] is None:
        return ""
    if row["approval"] is None or row["outcome"] is not None:
        return str(row["playbook"])
    return f"{row['playbook']}: {_APPROVAL[row['approval']]} {row['approval_for']}"


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def line_of(row: asyncpg.Record) -> CollaborationLine:
    """Return the export line of one row of `SELECT`."""
    dates = row["dates"] or {}
    values: dict[str, Any] = {
        k: row[k]
        for k in (
            "corporate",
            "corporate_email",
            "startup",
            "startup_email",
            "startup_label",
            "programme",
            "topic",
        )
    }
    values |= {"sector": row["sector"], "owner_email": row["owner_email"], "language": row["language"]}
    values["stage"] = row["stage"]
    for stage in Stage:
        values[f"{stage.value}_date"] = _instant(dates.get(stage.value))
    values |= {"outcome": row["outcome"], "closed_date": row["closed_at"]}
    values |= {
        "workflow_id": row["workflow_id"],
        "stage_since": row["stage_since"],
        "stalled": row["stalled"],
        "paused": row["paused"],
        "last_event": row["last_event"],
        "last_event_at": row["last_event_at"],
        "reminders": row["reminders"],
        "escalations": row["escalations"],
        "playbook": _playbook(row),
        "days_to_poc": row["days_to_poc"],
        "days_pilot_to_decision": row["days_pilot_to_decision"],
        "days_to_first_meeting": row["days_to_first_meeting"],
    }
    values |= {k: row[k] or 0 for k in STEP_COUNTS}
    return CollaborationLine(values)


async def read_collaborations(
    pool: asyncpg.Pool, filters: KpiFilters, rows: RowScope
) -> list[CollaborationLine]:
    """Return the lines of the collaborations `filters` selects among the caller's `rows`, oldest
    cohort first."""
    return [line_of(r) for r in await pool.fetch(*statement(SELECT, rows, *filter_args(filters)))]
