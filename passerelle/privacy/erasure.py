"""Erase a person (docs/privacy.md): every collaboration naming the address, then PostgreSQL.

`plan` finds what the address touches, through the access search (`passerelle.privacy.access`):
the rows per table, and each collaboration chain, running or closed. `erase` then:
1. for a running collaboration, prepares the chain's next data key and sends `erase_contact`
   (sealed, like everything before it, with the current key). The workflow replaces the address,
   activates the new key, continues-as-new under it, and its new run destroys the older keys;
   `erase` waits until they are destroyed;
2. for a closed collaboration, destroys every data key of its chain: its history stays in
   Temporal until the namespace retention removes it, and nobody can decrypt it any more;
3. pseudonymises the rows in one transaction (`pseudonymise_rows` of migration 0007, playbook
   approvers and actors too) and records the `erasures` row: who, when, why, the pseudonym,
   what changed; never the address.
Each step is idempotent, so an erasure interrupted half-way is finished by running it again.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from passerelle.platform.keystore import KeyStore
from passerelle.privacy.access import database_rows, like_pattern
from schemas.privacy import ContactErasure, pseudonym_of

PLAYBOOKS = """
SELECT programme, version FROM playbooks
WHERE lower(applied_by) = lower($1) OR body::text ILIKE $2 OR source ILIKE $2
"""
ERASE_PLAYBOOKS = """
UPDATE playbooks SET applied_by = regexp_replace(applied_by, $1, $3, 'gi'),
    body = regexp_replace(body::text, $1, $3, 'gi')::jsonb, source = regexp_replace(source, $1, $3, 'gi')
WHERE lower(applied_by) = lower($2) OR body::text ILIKE $4 OR source ILIKE $4
"""
ERASE_ACTORS = """
WITH e AS (UPDATE erasures SET erased_by = $2 WHERE lower(erased_by) = lower($1) RETURNING 1),
     k AS (UPDATE data_keys SET destroyed_by = $2 WHERE lower(destroyed_by) = lower($1) RETURNING 1)
SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM k)
"""
RECORD = """
INSERT INTO erasures (scope, pseudonym, erased_by, reason, collaborations, workflow_ids, rows_changed,
                      keys_destroyed)
VALUES ('contact', $1, $2, $3, $4, $5, $6, $7) RETURNING erasure_id, erased_at
"""


REKEYS_AT_ONCE = 20


class ErasureFailed(RuntimeError):
    """A step of the erasure did not complete; running the same erasure again resumes it."""


@dataclass
class Chain:
    """One workflow id chain the address appears in."""

    workflow_id: str
    collaboration_ids: list[str]
    running: bool
    rows: int


@dataclass
class ErasurePlan:
    """What an erasure of `address` would change (`--dry-run` prints it)."""

    address: str
    pseudonym: str
    chains: list[Chain]
    rows: dict[str, int]  # per table
    playbooks: list[str]

    @property
    def collaboration_ids(self) -> list[str]:
        """Return every collaboration id touched."""
        return sorted({c for chain in self.chains for c in chain.collaboration_ids})


@dataclass
class ErasureReport:
    """What an erasure did."""

    erasure_id: int
    erased_at: datetime
    pseudonym: str
    rows_changed: int
    keys_destroyed: int
    rekeyed: list[str] = field(default_factory=list)  # running collaborations, now under a new key
    shredded: list[str] = field(default_factory=list)  # closed ones, now unreadable


def _regex(address: str) -> str:
    """Return a PostgreSQL regular expression matching `address` literally."""
    return "".join(c if c.isalnum() else "\\" + c for c in address)


async def _running(client: Client, workflow_id: str) -> bool:
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # removed by the namespace retention
            return False
        raise
    return description.status == WorkflowExecutionStatus.RUNNING


async def plan(pool: asyncpg.Pool, client: Client, address: str, secret: bytes) -> ErasurePlan:
    """Return what erasing `address` would change, changing nothing."""
    rows = await database_rows(pool, address)
    chains: dict[str, Chain] = {}
    lower = address.lower()
    named = [
        c for c in rows["collaborations"]
        if lower in {(c[k] or "").lower() for k in ("corporate_email", "startup_email", "owner_email")}
    ]  # fmt: skip
    for row in [*rows["milestones"], *rows["notifications"], *named]:
        chain = chains.setdefault(row["workflow_id"], Chain(row["workflow_id"], [], False, 0))
        chain.rows += 1
        if row["collaboration_id"] not in chain.collaboration_ids:
            chain.collaboration_ids.append(row["collaboration_id"])
    for chain in chains.values():
        chain.running = await _running(client, chain.workflow_id)
    playbooks = [
        f"{r['programme']} v{r['version']}"
        for r in await pool.fetch(PLAYBOOKS, address, like_pattern(address))
    ]
    counts = {"collaborations": len(named)} if named else {}
    counts |= {table: len(rows[table]) for table in ("milestones", "notifications", "deliveries")}
    return ErasurePlan(
        address,
        pseudonym_of(address, secret),
        sorted(chains.values(), key=lambda c: c.workflow_id),
        counts,
        playbooks,
    )


async def _rekey(
    client: Client,
    store: KeyStore,
    chain: Chain,
    plan: ErasurePlan,
    by: str,
    reason: str,
    replacement: str | None,
) -> int | None:
    """Erase the address in a running collaboration; return how many older keys its new run
    destroyed, or None when it closed meanwhile (then it is shredded as a closed one)."""
    next_key = await store.prepare(chain.workflow_id)
    erasure = ContactErasure(
        email=plan.address,
        pseudonym=plan.pseudonym,
        replacement=replacement,
        by=by,
        reason=reason,
        next_key=next_key,
    )
    handle = client.get_workflow_handle(chain.workflow_id)
    try:
        await handle.execute_update("erase_contact", erasure, id=f"erase-{next_key}")
    except WorkflowUpdateFailedError as err:
        if getattr(err.cause, "type", None) == "CollaborationClosed":
            return None
        raise
    # The new run destroys the older keys once its input, sealed with the new key, is durable.
    deadline = datetime.now(UTC) + timedelta(seconds=2 * store.ttl + 120)
    while datetime.now(UTC) < deadline:
        older = [k for k in await store.chain(chain.workflow_id) if k["key_id"] != next_key]
        if all(k["destroyed_at"] is not None for k in older):
            return sum(1 for k in older if k["destroy_reason"] == reason)
        if not await _running(client, chain.workflow_id):
            return None  # closed before it could continue-as-new
        await asyncio.sleep(0.5)
    raise ErasureFailed(
        f"{chain.workflow_id}: the new run has not destroyed the older data keys yet; "
        "check that a worker runs, then run the same erasure again"
    )


async def erase(
    pool: asyncpg.Pool,
    client: Client,
    store: KeyStore,
    plan: ErasurePlan,
    *,
    by: str,
    reason: str,
    replacement: str | None = None,
    on_step: Callable[[str], None] = lambda line: None,
) -> ErasureReport:
    """Carry out `plan` (see the module's docstring); return what was done."""
    rekeyed: list[str] = []
    shredded: list[str] = []
    limit = asyncio.Semaphore(REKEYS_AT_ONCE)

    async def one(chain: Chain) -> int:
        async with limit:
            if chain.running:
                old = await _rekey(client, store, chain, plan, by, reason, replacement)
                if old is not None:
                    rekeyed.append(chain.workflow_id)
                    on_step(
                        f"{chain.workflow_id}: contact replaced, moved to a new data key, "
                        "older keys destroyed"
                    )
                    return old
            gone = await store.destroy(chain.workflow_id, by, reason)
            shredded.append(chain.workflow_id)
            on_step(
                f"{chain.workflow_id}: closed, {len(gone)} data key(s) destroyed: its history is unreadable"
            )
            return len(gone)

    # Re-keys wait out the key caches: running them side by side waits once, not once per chain.
    destroyed = sum(await asyncio.gather(*(one(chain) for chain in plan.chains)))
    pattern, like = _regex(plan.address), like_pattern(plan.address)
    async with pool.acquire() as conn, conn.transaction():
        changed = await conn.fetchval("SELECT pseudonymise_rows(NULL, $1, $2)", plan.address, plan.pseudonym)
        await conn.execute("SET LOCAL passerelle.erasure = 'on'")  # playbook versions may change, here only
        status = await conn.execute(ERASE_PLAYBOOKS, pattern, plan.address, plan.pseudonym, like)
        changed += int(status.split()[-1])
        changed += await conn.fetchval(ERASE_ACTORS, plan.address, plan.pseudonym)
        record = await conn.fetchrow(
            RECORD,
            plan.pseudonym,
            by,
            reason,
            plan.collaboration_ids,
            [c.workflow_id for c in plan.chains],
            changed,
            destroyed,
        )
    return ErasureReport(
        record["erasure_id"], record["erased_at"], plan.pseudonym, changed, destroyed, rekeyed, shredded
    )
