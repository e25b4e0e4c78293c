"""The bare baselines' activities: Passerelle's SQL with fixed values, none of its code around it.

A module apart from the bare workflows (`bench/baseline.py`), as activities live apart from
workflows in Passerelle: the workflows' sandbox never imports asyncpg.
"""

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio import activity

from activities import outbox, playbooks
from activities.milestones import RECORD_ONE
from workflows.delivery_policy import LEASE

PROGRAMME = "bench-bare"
RECIPIENTS = json.dumps([{"email": "partner@startup.example", "name": "Partner", "role": "startup"}])


class BareActivities:
    """The baseline's activities: Passerelle's SQL with fixed values, none of its code around it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="bare_lookup")
    async def lookup(self, args: dict[str, Any]) -> None:
        """Read the programme's current playbook, as `load_playbook` does."""
        async with self._pool.acquire() as conn:
            await conn.fetchrow(playbooks.CURRENT, PROGRAMME)

    @activity.defn(name="bare_record")
    async def record(self, args: dict[str, Any]) -> int:
        """Write one event as `record_events` does: projection, milestone row and outbox rows."""
        wid, seq, now = args["id"], int(args["seq"]), datetime.now(UTC)
        projection = [wid, wid, "Corporate", "Startup", PROGRAMME, "sante", "bench", "pilot", now]
        projection += [None, False, False, now, now, seq, "c@corporate.example", "s@startup.example"]
        projection += ["Startup", None, "fr", activity.info().workflow_namespace, None, None, None, False]
        row = [args["run_id"], seq, "stage_changed", "pilot", "evaluation", None, None, "bench", ""]
        row += [None, None, now, None]
        keys = list(args["keys"])
        notification = [keys, ["stage_changed"] * len(keys), ["fr"] * len(keys), [RECIPIENTS] * len(keys)]
        notification.append(['{"stage": "pilot"}'] * len(keys))
        async with self._pool.acquire() as conn:
            status = await conn.execute(RECORD_ONE, *projection, *row, *notification, None)
        return int(status.rsplit(" ", 1)[-1])

    @activity.defn(name="bare_notify")
    async def notify(self, args: dict[str, Any]) -> str:
        """Deliver the outbox row as `deliver` does: load it, lease its channel, mark it sent."""
        key = args["key"]
        async with self._pool.acquire() as conn:
            await conn.fetchrow(outbox.LOAD, key)
        async with self._pool.acquire() as conn:
            await conn.fetch(outbox.LEASE_CHANNELS, key, ["log"], LEASE)
        async with self._pool.acquire() as conn:
            await conn.execute(outbox.MARK, key, "log", "sent", "logged")
        return "sent"


def activities(pool: asyncpg.Pool) -> list[Any]:
    """Return the baseline's activities on `pool`."""
    bare = BareActivities(pool)
    return [bare.lookup, bare.record, bare.notify]
