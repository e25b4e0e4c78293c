"""Partner figures of `passerelle report` (docs/partners.md): who answers the reminders, and how fast.

Read from the milestone rows, with the report's own filters, within the caller's rows. A reminder
counts as *answered* when a `partner_update` row names it (`details.answered_seq`); the time to
answer runs from the e-mail's event to the answer, per party; a stall is *resolved by a partner*
when the answer found the collaboration stalled (`details.was_stalled`, fixed when the workflow
recorded it).
"""

import asyncpg

from activities.kpis import ratio
from passerelle.platform.scope import RowScope
from passerelle.reads.filters import filter_args, statement, where
from schemas import KpiFilters
from schemas.kpis import PartnerKpi, PartyKpi

SELECT_REMINDERS = f"""
SELECT count(*) AS sent,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM milestones a
           WHERE a.collaboration_id = r.collaboration_id AND a.kind = 'partner_update'
             AND (a.details->>'answered_seq')::int = r.seq)) AS answered
FROM milestones r JOIN kpi_collaborations k USING (collaboration_id)
WHERE r.kind = 'reminder' AND {where("k.entered_at", "k.collaboration_id")}
"""
SELECT_ANSWERS = f"""
SELECT a.details->>'party' AS party, count(*) AS answers,
       count(*) FILTER (WHERE (a.details->>'was_stalled')::boolean) AS stalls_resolved,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.occurred_at - e.occurred_at))
           / 3600 AS median_hours
FROM milestones a
JOIN kpi_collaborations k USING (collaboration_id)
LEFT JOIN milestones e
    ON e.collaboration_id = a.collaboration_id AND e.seq = (a.details->>'answered_seq')::int
WHERE a.kind = 'partner_update' AND {where("k.entered_at", "k.collaboration_id")}
GROUP BY a.details->>'party'
ORDER BY party
"""


async def read_partner_kpis(pool: asyncpg.Pool, filters: KpiFilters, rows: RowScope) -> PartnerKpi:
    """Return the partner figures of the collaborations the filters select among the caller's `rows`."""
    args = filter_args(filters)
    async with pool.acquire() as conn:
        reminders = await conn.fetchrow(*statement(SELECT_REMINDERS, rows, *args))
        answers = await conn.fetch(*statement(SELECT_ANSWERS, rows, *args))
    parties = [
        PartyKpi(party=r["party"], answers=r["answers"], median_hours_to_answer=r["median_hours"])
        for r in answers
    ]
    return PartnerKpi(
        reminders_sent=reminders["sent"],
        reminders_answered=reminders["answered"],
        answer_rate=ratio(reminders["answered"], reminders["sent"]),
        stalls_resolved_by_partner=sum(r["stalls_resolved"] for r in answers),
        parties=parties,
    )
