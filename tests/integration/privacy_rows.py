"""What the data-rights tests read back: every row of some collaborations, their keys and payloads.

Each reader takes the collaborations' workflow ids, so a test compares exactly the rows of the
collaborations it seeded, byte for byte, before and after an erasure.
"""

import asyncio
import json
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.converter import DataConverter

from passerelle.audit.histories import fetch_chain
from passerelle.audit.keys import payloads
from passerelle.platform.keystore import DataKeyDestroyed
from passerelle.privacy.access import decoded_payload

# Every table that holds a collaboration's rows, as text (deliveries through their notification).
ROW_TEXTS = {
    "collaborations": "SELECT t::text FROM collaborations t WHERE workflow_id = ANY($1) ORDER BY 1",
    "milestones": "SELECT t::text FROM milestones t WHERE workflow_id = ANY($1) ORDER BY 1",
    "notifications": "SELECT t::text FROM notifications t WHERE workflow_id = ANY($1) ORDER BY 1",
    "deliveries": "SELECT d::text FROM deliveries d JOIN notifications n USING (idempotency_key)"
    " WHERE n.workflow_id = ANY($1) ORDER BY 1",
}
# A delivery not yet sent or failed, or a notification whose delivery has not begun: a closing
# run hands its last ones to a child, which may start them after the run has completed. Milestone
# notifications and those with nobody left to write to may never be delivered (outbox.wanted).
UNSETTLED = """
SELECT count(*) FROM notifications n LEFT JOIN deliveries d USING (idempotency_key)
WHERE n.workflow_id = ANY($1) AND (d.status NOT IN ('sent', 'failed')
    OR (d.status IS NULL AND n.event <> 'milestone' AND jsonb_array_length(n.recipients) > 0))
"""
LIVE_KEYS = """
SELECT workflow_id, array_agg(key_id ORDER BY generation) FROM data_keys
WHERE workflow_id = ANY($1) AND destroyed_at IS NULL GROUP BY workflow_id
"""


async def rows_of(pool: asyncpg.Pool, workflow_ids: list[str]) -> dict[str, list[str]]:
    """Return every row of the collaborations, as PostgreSQL's text of each row, per table."""
    return {
        table: [r[0] for r in await pool.fetch(query, workflow_ids)] for table, query in ROW_TEXTS.items()
    }


async def settled(pool: asyncpg.Pool, workflow_ids: list[str], wait: float = 30) -> None:
    """Wait until every delivery of the collaborations is sent or failed: their rows stop moving."""
    for _ in range(round(wait * 10)):
        if not await pool.fetchval(UNSETTLED, workflow_ids):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries of {workflow_ids} still under way")


async def live_keys(pool: asyncpg.Pool, workflow_ids: list[str]) -> dict[str, list[str]]:
    """Return each chain's data keys that are not destroyed."""
    return {r[0]: list(r[1]) for r in await pool.fetch(LIVE_KEYS, workflow_ids)}


async def decoded(client: Client, converter: DataConverter, workflow_id: str) -> list[str]:
    """Return every payload of every run of the chain, decrypted, as JSON text; an erased one
    (its key destroyed) as `<erased>`."""
    found = []
    for run in await fetch_chain(client, workflow_id):
        for event in run.events:
            for payload in payloads(event):
                try:
                    value: Any = await decoded_payload(converter, payload)
                except DataKeyDestroyed:
                    value = "<erased>"
                found.append(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    return found


def count(texts: list[str], needle: str) -> int:
    """Return how many times `needle` occurs, exactly as written, in the texts."""
    return sum(t.count(needle) for t in texts)


def mentions_left(texts: list[str], address: str, others: list[str]) -> list[str]:
    """Return the texts that still name `address` (whatever its case) once every other address,
    each of which may contain it (`di` + address), is taken out."""
    left = []
    for text in texts:
        for other in sorted(others, key=len, reverse=True):
            text = text.replace(other, "<other>")
        if address.lower() in text.lower():
            left.append(text)
    return left
