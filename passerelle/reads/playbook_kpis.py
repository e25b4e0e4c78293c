"""Playbook figures of `passerelle report`: scores per criterion, gate pass rates, approval waits.

Read from the milestone rows' `details` (migration 0004), with the report's own filters, within
the caller's rows. A gate's
pass rate counts, among the collaborations run under a playbook version that has that gate, those
that reached the stage before it after adopting the playbook (`faced`) and those whose move
through it was recorded (`passed`): imported past a gate or adopted beyond it, a collaboration
never faced it.
"""

from collections import defaultdict
from typing import Any

import asyncpg

from activities.kpis import ratio
from passerelle.platform.scope import RowScope
from passerelle.reads.filters import filter_args, statement, where
from schemas import KpiFilters, Stage
from schemas.kpis import GateKpi, PlaybookKpi
from schemas.playbooks import GATE_TARGETS

# Per collaboration under a playbook: the stage it adopted its first version in, the gates of
# every version it ran under, the stages it entered since, and the gates it passed.
SELECT_RUNS = f"""
WITH adopted AS (
    SELECT m.collaboration_id, min(m.seq) AS first_seq,
           array_agg(DISTINCT g.key) FILTER (WHERE g.key IS NOT NULL) AS gates
    FROM milestones m
    JOIN playbooks p ON p.programme = m.details->>'programme' AND p.version = (m.details->>'version')::int
    LEFT JOIN LATERAL jsonb_object_keys(p.body->'gates') AS g(key) ON true
    WHERE m.kind = 'playbook_adopted'
    GROUP BY m.collaboration_id
)
SELECT k.collaboration_id, k.programme, a.gates,
       (SELECT stage FROM milestones f WHERE f.collaboration_id = k.collaboration_id AND f.seq = a.first_seq)
           AS adopted_in,
       ARRAY(SELECT DISTINCT CASE WHEN e.kind = 'stage_changed' THEN e.to_stage ELSE e.stage END
             FROM milestones e WHERE e.collaboration_id = k.collaboration_id AND e.seq > a.first_seq
               AND e.kind IN ('stage_changed')) AS entered,
       ARRAY(SELECT e.details->>'gate' FROM milestones e
             WHERE e.collaboration_id = k.collaboration_id AND e.kind IN ('stage_changed', 'closed')
               AND e.details ? 'gate') AS passed
FROM kpi_collaborations k JOIN adopted a USING (collaboration_id)
WHERE {where("k.entered_at", "k.collaboration_id")}
"""
# The latest scorecard of each evaluator in each collaboration, one row per criterion.
SELECT_SCORES = f"""
WITH cards AS (
    SELECT DISTINCT ON (m.collaboration_id, lower(m.actor)) k.programme, m.collaboration_id,
           lower(m.actor) AS evaluator, m.details->'scores' AS scores
    FROM milestones m JOIN kpi_collaborations k USING (collaboration_id)
    WHERE m.kind = 'scored' AND {where("k.entered_at", "k.collaboration_id")}
    ORDER BY m.collaboration_id, lower(m.actor), m.seq DESC
)
SELECT programme, collaboration_id, evaluator, s.key AS criterion, s.value::float8 AS score
FROM cards, jsonb_each_text(scores) AS s(key, value)
"""
SELECT_APPROVALS = f"""
SELECT k.programme, count(*) AS answered, count(*) FILTER (WHERE m.kind = 'approved') AS approved,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (m.details->>'waited_seconds')::float8) / 86400 AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY (m.details->>'waited_seconds')::float8) / 86400 AS p90
FROM milestones m JOIN kpi_collaborations k USING (collaboration_id)
WHERE m.kind IN ('approved', 'rejected') AND {where("k.entered_at", "k.collaboration_id")}
GROUP BY k.programme
"""
_STAGES = [s.value for s in Stage]


def _source(gate: str) -> str:
    return "deployment" if gate == "deployed" else _STAGES[_STAGES.index(gate) - 1]


def _faced(run: asyncpg.Record, gate: str) -> bool:
    source = _source(gate)
    reached = [run["adopted_in"], *run["entered"]]
    return source in reached or gate in run["passed"]


async def read_playbook_kpis(pool: asyncpg.Pool, filters: KpiFilters, rows: RowScope) -> list[PlaybookKpi]:
    """Return the playbook figures of each programme the filters select among the caller's `rows`
    (none without playbooks)."""
    args = filter_args(filters)
    async with pool.acquire() as conn:
        runs = await conn.fetch(*statement(SELECT_RUNS, rows, *args))
        scores = await conn.fetch(*statement(SELECT_SCORES, rows, *args))
        approvals = {r["programme"]: r for r in await conn.fetch(*statement(SELECT_APPROVALS, rows, *args))}
    by_programme: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for run in runs:
        by_programme[run["programme"]].append(run)
    criteria: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    cards: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in scores:
        criteria[row["programme"]][row["criterion"]].append(row["score"])
        cards[row["programme"]].add((row["collaboration_id"], row["evaluator"]))
    result = []
    for programme, group in sorted(by_programme.items()):
        gates = []
        for gate in GATE_TARGETS:
            having = [r for r in group if gate in (r["gates"] or [])]
            if not having:
                continue
            faced = sum(_faced(r, gate) for r in having)
            passed = sum(gate in r["passed"] for r in having)
            gates.append(GateKpi(gate=gate, faced=faced, passed=passed, pass_rate=ratio(passed, faced)))
        a: dict[str, Any] = dict(approvals.get(programme) or {})
        means = {name: sum(v) / len(v) for name, v in sorted(criteria[programme].items())}
        result.append(
            PlaybookKpi(
                programme=programme,
                collaborations=len(group),
                scorecards=len(cards[programme]),
                criteria=means,
                gates=gates,
                approvals_answered=a.get("answered", 0),
                approvals_approved=a.get("approved", 0),
                approval_wait_median_days=a.get("median"),
                approval_wait_p90_days=a.get("p90"),
            )
        )
    return result
