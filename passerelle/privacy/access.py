"""What Passerelle holds about one person: every row and every Temporal payload naming an address.

The answer to a data subject's access request (docs/privacy.md). PostgreSQL is searched through
the indexes of `migrations/0006_privacy_indexes.sql`: notification recipients and contexts,
milestone actors, notes and details (trigram). The collaborations those rows belong to are then
read back from Temporal, every run of each chain, and every payload that names the address is
decrypted into the document (start input, updates, activity inputs and results, memo), with
where it sits. Read-only: nothing is changed anywhere.
"""

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.converter import DataConverter

from passerelle.audit.histories import fetch_chain
from passerelle.audit.keys import payloads
from passerelle.platform.keystore import DataKeyDestroyed

NOTIFICATIONS = """
SELECT idempotency_key, collaboration_id, workflow_id, event, language, recipients, context, created_at
FROM notifications
WHERE (recipients::text || ' ' || context::text) ILIKE $1
ORDER BY created_at, idempotency_key
"""
MILESTONES = """
SELECT collaboration_id, seq, workflow_id, run_id, kind, stage, actor, note, details, occurred_at
FROM milestones
WHERE lower(actor) = $1 OR note ILIKE $2 OR (details IS NOT NULL AND details::text ILIKE $2)
ORDER BY collaboration_id, seq
"""
DELIVERIES = """
SELECT idempotency_key, channel, status, attempts, result, last_error, updated_at
FROM deliveries WHERE idempotency_key = ANY($1::text[]) ORDER BY idempotency_key, channel
"""
COLLABORATIONS = """
SELECT * FROM collaborations WHERE collaboration_id = ANY($1::text[]) ORDER BY collaboration_id
"""
# A collaboration's own row names its contacts (migration 0008).
NAMED_COLLABORATIONS = """
SELECT collaboration_id FROM collaborations
WHERE $1 IN (lower(corporate_email), lower(startup_email), lower(owner_email))
"""
PORTAL_LINKS = """
SELECT * FROM portal_links WHERE link_id = ANY($1::text[]) ORDER BY link_id
"""


def like_pattern(address: str) -> str:
    """Return an ILIKE pattern that finds `address` inside a text, its wildcards escaped."""
    escaped = address.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row).items()}


async def database_rows(pool: asyncpg.Pool, address: str) -> dict[str, list[dict[str, Any]]]:
    """Return the PostgreSQL rows that name `address`, and the rows that belong with them."""
    lower = address.lower()
    async with pool.acquire() as conn, conn.transaction():
        # The planner overprices trigram lookups of a long pattern and reads whole tables instead
        # (5 to 6 times slower at 10,000 collaborations: bench/privacy.py); these searches are
        # selective by nature, so they go through the indexes.
        await conn.execute("SET LOCAL enable_seqscan = off")
        notifications = [_plain(r) for r in await conn.fetch(NOTIFICATIONS, like_pattern(address))]
        milestones = [_plain(r) for r in await conn.fetch(MILESTONES, lower, like_pattern(address))]
        keys = [n["idempotency_key"] for n in notifications]
        deliveries = [_plain(r) for r in await conn.fetch(DELIVERIES, keys)]
        named = [r["collaboration_id"] for r in await conn.fetch(NAMED_COLLABORATIONS, lower)]
        ids = sorted({r["collaboration_id"] for r in [*notifications, *milestones]} | set(named))
        collaborations = [_plain(r) for r in await conn.fetch(COLLABORATIONS, ids)]
        links = [m["details"]["link"] for m in milestones if (m["details"] or {}).get("link")]
        portal_links = [_plain(r) for r in await conn.fetch(PORTAL_LINKS, links)]
    return {
        "collaborations": collaborations,
        "milestones": milestones,
        "notifications": notifications,
        "deliveries": deliveries,
        "portal_links": portal_links,
    }


async def decoded_payload(converter: DataConverter, payload: Payload) -> Any:
    """Return a payload as plain data: decrypted by the codec, then read by the converter."""
    if converter.payload_codec is not None:
        (payload,) = await converter.payload_codec.decode([payload])
    try:
        return converter.payload_converter.from_payload(payload)
    except Exception:  # not one of ours (a binary payload): show its bytes as text
        return payload.data.decode("utf-8", errors="replace")


def _json(payload_json: Any) -> str:
    return json.dumps(payload_json, ensure_ascii=False, sort_keys=True, default=str)


async def temporal_payloads(
    client: Client,
    converter: DataConverter,
    chains: Sequence[tuple[str, str]],
    address: str,
    on_done: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    """Return every decrypted payload naming `address` in the chains `(workflow id, first run id)`."""
    found = []
    lower = address.lower()
    for workflow_id, collaboration_id in chains:
        for run in await fetch_chain(client, workflow_id, collaboration_id):
            for event in run.events:
                for payload in payloads(event):
                    try:
                        value = await decoded_payload(converter, payload)
                    except DataKeyDestroyed:  # erased: nobody can read it any more, nor can we
                        continue
                    if lower not in _json(value).lower():
                        continue
                    found.append(
                        {
                            "collaboration_id": collaboration_id,
                            "workflow_id": workflow_id,
                            "run_id": run.run_id,
                            "event_id": event.event_id,
                            "event": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower(),
                            "payload": value,
                        }
                    )
        on_done()
    return found


async def access_document(
    client: Client,
    converter: DataConverter,
    pool: asyncpg.Pool,
    address: str,
    on_start: Callable[[int], None] = lambda total: None,
    on_done: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Return the access document of `address`: every row and every payload that names it."""
    rows = await database_rows(pool, address)
    chains = sorted(
        {(r["workflow_id"], r["collaboration_id"]) for r in [*rows["notifications"], *rows["milestones"]]}
    )
    on_start(len(chains))
    found = await temporal_payloads(client, converter, chains, address, on_done)
    return {
        "email": address,
        "generated_at": datetime.now(UTC).isoformat(),
        "collaboration_ids": [c for _, c in chains],
        "postgresql": rows,
        "temporal": found,
    }
