"""The activities of a re-key and of the retention sweep (docs/privacy.md).

They work through a `KeyRing`, the worker's key store (`passerelle.platform.keystore.KeyStore`),
so that the process whose codec seals payloads is the one whose cache a change clears first.
Each is idempotent: activating the current key, destroying destroyed keys or pseudonymising an
erased collaboration again changes nothing.
"""

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

import asyncpg
from temporalio import activity

from schemas.addresses import ADDRESS, address_pattern, addresses_in
from schemas.privacy import KeyChange, KeyDestruction, RetentionResult, RetentionSweep, pseudonym_of
from workflows.activity_names import ACTIVATE_DATA_KEY, DESTROY_DATA_KEYS, RETENTION_SWEEP


class KeyRing(Protocol):
    """What these activities need of the key store."""

    ttl: float
    pseudonym_secret: bytes

    async def activate(self, workflow_id: str, key_id: str, programme: str = "") -> None: ...
    async def destroy(
        self, workflow_id: str, by: str, reason: str, keep: Sequence[str] = (), programme: str = ""
    ) -> list[str]: ...


# How the data keys name the chains of a namespace: its programme, or '' for the shared namespace
# (`passerelle.platform.programmes.Namespaces.chain_programme`).
ChainOf = Callable[[str | None], str]

# Closed collaborations past their retention period, oldest first: the programme's current
# playbook may set its own period.
DUE = """
SELECT c.collaboration_id, c.workflow_id, c.namespace,
       EXISTS (SELECT 1 FROM collaborations o WHERE o.workflow_id = c.workflow_id AND o.outcome IS NULL
               AND (o.namespace = c.namespace OR o.namespace = '' OR c.namespace = ''))
           AS id_reused
FROM collaborations c JOIN kpi_closures k USING (collaboration_id)
WHERE c.outcome IS NOT NULL AND c.erased_at IS NULL
  AND k.closed_at < $1::timestamptz - make_interval(days => coalesce(
      (SELECT (p.body->>'retention_days')::int FROM playbooks p
       WHERE p.programme = c.programme ORDER BY p.version DESC LIMIT 1), $2))
ORDER BY k.closed_at, c.collaboration_id
LIMIT $3
"""
# Every text of a collaboration's rows that may hold an address: plain texts, and JSON values,
# read string by string (`schemas.addresses`).
TEXTS = """
SELECT actor || ' ' || note || ' ' || coalesce(evidence_url, ''), details
FROM milestones WHERE collaboration_id = $1
UNION ALL
SELECT '', jsonb_build_array(recipients, context) FROM notifications WHERE collaboration_id = $1
UNION ALL
SELECT coalesce(d.result, '') || ' ' || coalesce(d.last_error, ''), NULL
FROM deliveries d JOIN notifications n USING (idempotency_key) WHERE n.collaboration_id = $1
UNION ALL
SELECT concat_ws(' ', corporate, startup, programme, topic, startup_label, corporate_email, startup_email,
                 owner_email), NULL
FROM collaborations WHERE collaboration_id = $1
"""


class DataKeyActivities:
    """Re-key a chain, destroy its keys, sweep the closed collaborations past retention."""

    def __init__(self, pool: asyncpg.Pool, keys: KeyRing, chains: ChainOf) -> None:
        self._pool = pool
        self._keys = keys
        self._chains = chains

    def _programme(self) -> str:
        """Return how the data keys name the calling workflow's chains (its namespace's)."""
        return self._chains(activity.info().workflow_namespace)

    @activity.defn(name=ACTIVATE_DATA_KEY)
    async def activate_data_key(self, change: KeyChange) -> None:
        """Make `change.key_id` the chain's current key, then wait out every process's cache.

        Once this returns, no process seals the chain's payloads with an older key: the run may
        continue-as-new under the new one.
        """
        await self._keys.activate(change.workflow_id, change.key_id, self._programme())
        await asyncio.sleep(self._keys.ttl)

    @activity.defn(name=DESTROY_DATA_KEYS)
    async def destroy_data_keys(self, destruction: KeyDestruction) -> int:
        """Destroy the chain's keys but those kept; return how many were destroyed now."""
        destroyed = await self._keys.destroy(
            destruction.workflow_id,
            destruction.by,
            destruction.reason,
            keep=destruction.keep,
            programme=self._programme(),
        )
        activity.logger.info("data keys destroyed", extra={"count": len(destroyed)})
        return len(destroyed)

    @activity.defn(name=RETENTION_SWEEP)
    async def retention_sweep(self, sweep: RetentionSweep) -> RetentionResult:
        """Shred and pseudonymise one batch of collaborations past their retention period."""
        due = await self._pool.fetch(DUE, sweep.now, sweep.default_days, sweep.batch)
        result = RetentionResult(more=len(due) == sweep.batch)
        for row in due:
            texts = await self._pool.fetch(TEXTS, row["collaboration_id"])
            found = {a.lower() for r in texts for a in ADDRESS.findall(r[0])} | addresses_in(
                [r[1] for r in texts]
            )
            pairs = {
                a: {"pseudonym": pseudonym_of(a, self._keys.pseudonym_secret), "pattern": address_pattern(a)}
                for a in sorted(found)
            }
            destroyed: list[str] = []
            if not row["id_reused"]:  # an open collaboration took the id since: its keys stay
                destroyed = await self._keys.destroy(
                    row["workflow_id"],
                    "retention",
                    "closed longer than the retention period",
                    programme=self._chains(row["namespace"] or None),
                )
            changed = await self._pool.fetchval(
                "SELECT retention_pseudonymise($1, $2::jsonb, $3)",
                row["collaboration_id"],
                pairs,
                len(destroyed),
            )
            result.collaborations.append(row["collaboration_id"])
            result.rows_changed += changed
            result.keys_destroyed += len(destroyed)
        return result
