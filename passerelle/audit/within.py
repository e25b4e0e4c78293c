"""Which collaborations an auditor may audit, and where each one's history is.

An auditor audits the collaborations of their programmes (`passerelle.platform.scope.RowScope`):
a workflow id is looked up in the `collaborations` rows, which say its programme and the
namespace its workflow runs in (migration 0012: '' for a row recorded before programmes had
namespaces of their own, whose workflow runs in the shared namespace). A collaboration outside
the caller's programmes reads exactly as one that does not exist: the audit never says which.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from passerelle.platform.scope import RowScope

ROWS_OF = """
SELECT c.collaboration_id, c.namespace, c.programme_slug FROM collaborations c
WHERE c.workflow_id = $1 AND {scope}
ORDER BY c.started_at DESC, c.collaboration_id
"""
THEIRS = (
    "SELECT c.collaboration_id FROM collaborations c WHERE c.collaboration_id = ANY($1::text[]) AND {scope}"
)


@dataclass(frozen=True)
class Recorded:
    """A collaboration's row: its id (the chain's first run id), namespace ('' before migration
    0012: the shared one) and programme."""

    collaboration_id: str
    namespace: str
    programme: str


async def recorded(url: str, workflow_id: str, rows: RowScope) -> list[Recorded]:
    """Return the caller's collaborations of this workflow id, the latest first."""
    scope, args = rows.sql("c", 2)
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetch(ROWS_OF.replace("{scope}", scope), workflow_id, *args)
    finally:
        await conn.close()
    return [Recorded(r["collaboration_id"], r["namespace"], r["programme_slug"]) for r in found]


async def theirs(url: str, collaboration_ids: Sequence[str], rows: RowScope) -> set[str]:
    """Return which of these collaborations the caller may audit."""
    if rows.unlimited:
        return set(collaboration_ids)
    scope, args = rows.sql("c", 2)
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetch(THEIRS.replace("{scope}", scope), list(collaboration_ids), *args)
    finally:
        await conn.close()
    return {r["collaboration_id"] for r in found}
