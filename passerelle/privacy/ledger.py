"""The `erasures` row of an erasure under way: what it did so far, so that a rerun finishes it.

An erasure is written down before it changes anything (`finished_at` NULL), with, per workflow id
chain, the step it takes (`rekey` with the chain's new data key, or `shred`) and whether that
step finished. Running the same erasure again (the same address, hence the same pseudonym) takes
that row up again: finished chains are skipped, a re-key whose update may already have been sent
goes on with the same key and update id, so nothing is done twice. The rows are pseudonymised and
the row marked finished in one transaction, the erasure's last step (`passerelle.privacy.erasure`).

An erasure reaches some programmes (`programmes`: their slugs, `*` for every programme), and only
a run within the same programmes takes it up again (migration 0013): a login of one programme
never finishes, nor learns of, an erasure begun in others. A chain is named by `Chain.key` (its
workflow id, after its programme's slug in a programme's own namespace); its step says where it
runs, so that a rerun reaches it again.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

UNDER_WAY = """
SELECT erasure_id, erased_at, erased_by, reason, collaborations, workflow_ids, steps
FROM erasures WHERE scope = 'contact' AND pseudonym = $1 AND programmes = $2::text[] AND finished_at IS NULL
"""
BEGIN = """
INSERT INTO erasures (scope, pseudonym, erased_by, reason, collaborations, workflow_ids, changed_rows,
                      rows_changed, keys_destroyed, finished_at, programmes)
VALUES ('contact', $1, $2, $3, $4, $5, $6, 0, 0, NULL, $7)
ON CONFLICT (pseudonym, programmes) WHERE finished_at IS NULL DO NOTHING
RETURNING erasure_id, erased_at
"""
EVERY_PROGRAMME = ["*"]  # how `erasures.programmes` names an erasure of every programme
WIDEN = """
UPDATE erasures SET
    collaborations = ARRAY(SELECT DISTINCT unnest(collaborations || $2::text[]) ORDER BY 1),
    workflow_ids = ARRAY(SELECT DISTINCT unnest(workflow_ids || $3::text[]) ORDER BY 1),
    changed_rows = ARRAY(SELECT DISTINCT unnest(changed_rows || $4::text[]) ORDER BY 1)
WHERE erasure_id = $1
"""
STEP = "UPDATE erasures SET steps = steps || jsonb_build_object($2::text, $3::jsonb) WHERE erasure_id = $1"
# The rows planned (some of which a re-keyed workflow rewrote itself) and those changed now.
FINISH = """
UPDATE erasures SET finished_at = now(), keys_destroyed = $3,
    changed_rows = ARRAY(SELECT DISTINCT unnest(changed_rows || $2::text[]) ORDER BY 1),
    rows_changed = cardinality(ARRAY(SELECT DISTINCT unnest(changed_rows || $2::text[])))
WHERE erasure_id = $1 AND finished_at IS NULL
RETURNING erased_at, rows_changed
"""

Action = Literal["rekey", "shred"]


@dataclass
class Step:
    """What the erasure does to one chain: its action, the new key of a re-key, and the outcome;
    where the chain runs: the programme of its namespace's data keys ('' for the shared
    namespace) and its namespace (None in steps recorded before: the shared namespace)."""

    action: Action
    key: str | None = None
    done: bool = False
    keys_destroyed: int = 0
    programme: str = ""
    namespace: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the step as the `steps` column holds it."""
        return {
            "action": self.action,
            "key": self.key,
            "done": self.done,
            "keys_destroyed": self.keys_destroyed,
            "programme": self.programme,
            "namespace": self.namespace,
        }


@dataclass
class Ledger:
    """The `erasures` row of one erasure, and its steps so far."""

    erasure_id: int
    erased_by: str
    reason: str
    began: datetime
    resumed: bool  # taken up again from an earlier run of the same erasure
    steps: dict[str, Step] = field(default_factory=dict)

    @property
    def keys_destroyed(self) -> int:
        """Return how many data keys the finished steps destroyed."""
        return sum(s.keys_destroyed for s in self.steps.values() if s.done)


def steps_of(raw: dict[str, Any]) -> dict[str, Step]:
    """Return the steps of an `erasures` row, by chain key."""
    return {chain: Step(**step) for chain, step in raw.items()}


def programmes_column(programmes: frozenset[str] | None) -> list[str]:
    """Return how `erasures.programmes` names the programmes (None: every programme)."""
    return EVERY_PROGRAMME if programmes is None else sorted(programmes)


async def under_way(
    pool: asyncpg.Pool, pseudonym: str, programmes: frozenset[str] | None = None
) -> asyncpg.Record | None:
    """Return the unfinished erasure of this pseudonym within these programmes, if any."""
    return await pool.fetchrow(UNDER_WAY, pseudonym, programmes_column(programmes))


async def open_ledger(
    pool: asyncpg.Pool,
    pseudonym: str,
    by: str,
    reason: str,
    collaboration_ids: list[str],
    workflow_ids: list[str],
    rows: list[str],
    programmes: frozenset[str] | None = None,
) -> Ledger:
    """Begin the erasure's row, or take up the unfinished one of this pseudonym within the same
    programmes (widened to the collaborations and rows found since). A resumed erasure keeps its
    own `by` and `reason`."""
    within = programmes_column(programmes)
    async with pool.acquire() as conn, conn.transaction():
        new = await conn.fetchrow(BEGIN, pseudonym, by, reason, collaboration_ids, workflow_ids, rows, within)
        if new is not None:
            return Ledger(new["erasure_id"], by, reason, new["erased_at"], resumed=False)
        row = await conn.fetchrow(UNDER_WAY + " FOR UPDATE", pseudonym, within)
        await conn.execute(WIDEN, row["erasure_id"], collaboration_ids, workflow_ids, rows)
    return Ledger(
        row["erasure_id"], row["erased_by"], row["reason"], row["erased_at"], True, steps_of(row["steps"])
    )


async def write_step(pool: asyncpg.Pool, ledger: Ledger, chain: str, step: Step) -> None:
    """Record a chain's step (before it acts, and once it is done), by its key."""
    ledger.steps[chain] = step
    await pool.execute(STEP, ledger.erasure_id, chain, step.as_json())


async def finish(conn: asyncpg.Connection, ledger: Ledger, rows: list[str]) -> asyncpg.Record:
    """Mark the erasure finished, in the transaction that pseudonymised `rows`; return its
    `erased_at` and `rows_changed`."""
    finished: asyncpg.Record = await conn.fetchrow(FINISH, ledger.erasure_id, rows, ledger.keys_destroyed)
    return finished
