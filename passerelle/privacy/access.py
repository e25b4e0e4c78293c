"""What Passerelle holds about one person: every row and every Temporal payload naming an address.

The answer to a data subject's access request (docs/privacy.md). PostgreSQL is searched through
the indexes of `migrations/0006_privacy_indexes.sql`: notification recipients and contexts,
milestone actors, notes and details (trigram). The collaborations those rows belong to are then
read back from Temporal, every run of each chain, and every payload that names the address is
decrypted into the document (start input, updates, activity inputs and results, memo), with
where it sits. Read-only: nothing is changed anywhere.

Within programmes (`programmes`, the caller's; None for every programme), only the rows of their
collaborations and their playbooks are searched, and each history is read from the namespace its
collaboration runs in; the records of operators' acts (`erasures`, `data_keys`) belong to no
programme and are searched for every programme only.
"""

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
from passerelle.platform.client import client_in
from passerelle.platform.keystore import DataKeyDestroyed
from schemas.addresses import ADDRESS, address_pattern, map_strings, named_in

# Each search finds its candidates through a trigram index (ILIKE, `$1`) and keeps those whose
# text names the address by the rule of `schemas.addresses` (`$2`): never a part of a longer one;
# and of those, the rows of a collaboration within the programmes of its last argument (their
# slugs; NULL for every programme).
NOTIFICATIONS = """
SELECT idempotency_key, collaboration_id, workflow_id, event, language, recipients, context, created_at
FROM notifications
WHERE (recipients::text || ' ' || context::text) ILIKE $1
  AND (jsonb_names(recipients, $2) OR jsonb_names(context, $2))
  AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM collaborations w
       WHERE w.collaboration_id = notifications.collaboration_id AND w.programme_slug = ANY($3::text[])))
ORDER BY created_at, idempotency_key
"""
MILESTONES = """
SELECT collaboration_id, seq, workflow_id, run_id, kind, stage, actor, note, evidence_url, details,
       occurred_at
FROM milestones
WHERE ((actor || ' ' || note || ' ' || coalesce(evidence_url, '')) ILIKE $1
       OR (details IS NOT NULL AND details::text ILIKE $1))
  AND (actor ~ $2 OR note ~ $2 OR evidence_url ~ $2 OR jsonb_names(details, $2))
  AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM collaborations w
       WHERE w.collaboration_id = milestones.collaboration_id AND w.programme_slug = ANY($3::text[])))
ORDER BY collaboration_id, seq
"""
DELIVERIES = """
SELECT d.idempotency_key, d.channel, d.status, d.attempts, d.result, d.last_error, d.updated_at,
       n.collaboration_id, n.workflow_id
FROM deliveries d JOIN notifications n USING (idempotency_key)
WHERE (d.idempotency_key = ANY($3::text[])
       OR ((coalesce(d.result, '') || ' ' || coalesce(d.last_error, '')) ILIKE $1
           AND (d.result ~ $2 OR d.last_error ~ $2)))
  AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM collaborations w
       WHERE w.collaboration_id = n.collaboration_id AND w.programme_slug = ANY($4::text[])))
ORDER BY d.idempotency_key, d.channel
"""
# A collaboration's own row names its contacts (migration 0008), its parties and topic.
NAMED_COLLABORATIONS = """
SELECT collaboration_id FROM collaborations
WHERE concat_ws(' ', corporate, startup, programme, topic, startup_label, corporate_email, startup_email,
                owner_email) ~ $1
  AND ($2::text[] IS NULL OR programme_slug = ANY($2::text[]))
"""
COLLABORATIONS = """
SELECT * FROM collaborations WHERE collaboration_id = ANY($1::text[]) ORDER BY collaboration_id
"""
PORTAL_LINKS = """
SELECT * FROM portal_links WHERE link_id = ANY($1::text[]) ORDER BY link_id
"""
# Where the person acted outside a collaboration: a playbook applied or naming them, an erasure
# or a key destruction they made.
PLAYBOOKS = """
SELECT programme, version, applied_by, applied_at, body FROM playbooks
WHERE (applied_by ~ $1 OR jsonb_names(body, $1) OR source ~ $1)
  AND ($2::text[] IS NULL OR programme_slug_of(programme) = ANY($2::text[]))
ORDER BY programme, version
"""
ERASURES = """
SELECT erasure_id, scope, erased_by, reason, erased_at FROM erasures
WHERE erased_by ~ $1 OR reason ~ $1 ORDER BY erasure_id
"""
DATA_KEYS = """
SELECT key_id, workflow_id, destroyed_at, destroyed_by, destroy_reason FROM data_keys
WHERE destroyed_by ~ $1 OR destroy_reason ~ $1 ORDER BY key_id
"""
SOMEONE_ELSE = "[another address]"


def like_pattern(address: str) -> str:
    """Return an ILIKE pattern that finds `address` inside a text, its wildcards escaped."""
    escaped = address.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row).items()}


def only_theirs(value: Any, address: str) -> Any:
    """Return `value` with every other person's address masked: an access export answers one
    person, and the rows and payloads it quotes may name others (a party's other contact, the
    owner, an operator)."""
    lower = address.lower()

    def mask(text: str) -> str:
        return ADDRESS.sub(lambda m: m.group() if m.group().lower() == lower else SOMEONE_ELSE, text)

    return map_strings(value, mask)


async def database_rows(
    pool: asyncpg.Pool, address: str, programmes: frozenset[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Return the PostgreSQL rows that name `address`, and the rows that belong with them, within
    `programmes` (None: every programme)."""
    like, pattern = like_pattern(address), address_pattern(address)
    within = None if programmes is None else sorted(programmes)
    async with pool.acquire() as conn, conn.transaction():
        # The planner overprices trigram lookups of a long pattern and reads whole tables instead
        # (5 to 6 times slower at 10,000 collaborations: bench/privacy.py); these searches are
        # selective by nature, so they go through the indexes.
        await conn.execute("SET LOCAL enable_seqscan = off")
        notifications = [_plain(r) for r in await conn.fetch(NOTIFICATIONS, like, pattern, within)]
        milestones = [_plain(r) for r in await conn.fetch(MILESTONES, like, pattern, within)]
        keys = [n["idempotency_key"] for n in notifications]
        deliveries = [_plain(r) for r in await conn.fetch(DELIVERIES, like, pattern, keys, within)]
        named = [r["collaboration_id"] for r in await conn.fetch(NAMED_COLLABORATIONS, pattern, within)]
        ids = sorted({r["collaboration_id"] for r in [*notifications, *milestones, *deliveries]} | set(named))
        collaborations = [_plain(r) for r in await conn.fetch(COLLABORATIONS, ids)]
        links = [m["details"]["link"] for m in milestones if (m["details"] or {}).get("link")]
        portal_links = [_plain(r) for r in await conn.fetch(PORTAL_LINKS, links)]
        acted = {"playbooks": [_plain(r) for r in await conn.fetch(PLAYBOOKS, pattern, within)]}
        for table, query in (("erasures", ERASURES), ("data_keys", DATA_KEYS)):
            acted[table] = [] if within is not None else [_plain(r) for r in await conn.fetch(query, pattern)]
    rows = {
        "collaborations": collaborations,
        "milestones": milestones,
        "notifications": notifications,
        "deliveries": deliveries,
        "portal_links": portal_links,
        **acted,
    }
    return {table: only_theirs(found, address) for table, found in rows.items()}


async def decoded_payload(converter: DataConverter, payload: Payload) -> Any:
    """Return a payload as plain data: decrypted by the codec, then read by the converter."""
    if converter.payload_codec is not None:
        (payload,) = await converter.payload_codec.decode([payload])
    try:
        return converter.payload_converter.from_payload(payload)
    except Exception:  # not one of ours (a binary payload): show its bytes as text
        return payload.data.decode("utf-8", errors="replace")


async def temporal_payloads(
    client: Client,
    converter: DataConverter,
    chains: Sequence[tuple[str, str, str]],
    address: str,
    on_done: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    """Return every decrypted payload naming `address` in the chains `(workflow id, first run id,
    namespace)`."""
    found = []
    for workflow_id, collaboration_id, namespace in chains:
        for run in await fetch_chain(client_in(client, namespace), workflow_id, collaboration_id):
            for event in run.events:
                for payload in payloads(event):
                    try:
                        value = await decoded_payload(converter, payload)
                    except DataKeyDestroyed:  # erased: nobody can read it any more, nor can we
                        continue
                    if not named_in(value, address):
                        continue
                    found.append(
                        {
                            "collaboration_id": collaboration_id,
                            "workflow_id": workflow_id,
                            "run_id": run.run_id,
                            "event_id": event.event_id,
                            "event": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower(),
                            "payload": only_theirs(value, address),
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
    *,
    programmes: frozenset[str] | None = None,
    shared: str | None = None,
) -> dict[str, Any]:
    """Return the access document of `address`: every row and every payload that names it, within
    `programmes` (None: every programme). A collaboration recorded before programmes had
    namespaces of their own runs in the shared namespace (`shared`, the client's by default)."""
    rows = await database_rows(pool, address, programmes)
    shared = shared or client.namespace
    chains = sorted(
        {(r["workflow_id"], r["collaboration_id"], r["namespace"] or shared) for r in rows["collaborations"]}
    )
    on_start(len(chains))
    found = await temporal_payloads(client, converter, chains, address, on_done)
    return {
        "email": address,
        "generated_at": datetime.now(UTC).isoformat(),
        "programmes": ["*"] if programmes is None else sorted(programmes),
        "collaboration_ids": [c for _, c, _ in chains],
        "postgresql": rows,
        "temporal": found,
    }
