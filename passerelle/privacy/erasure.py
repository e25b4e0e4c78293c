"""Erase a person (docs/privacy.md): every collaboration naming the address, then PostgreSQL.

`plan` finds what the address touches by the rule of `schemas.addresses` (the whole address,
never a part of a longer one): it runs the erasure's own SQL, `pseudonymise_rows`, in a
transaction it rolls back, so the plan lists exactly the rows the erasure changes, and each
workflow id chain those rows belong to, running or closed. `erase` then writes its `erasures`
row (`passerelle.privacy.ledger`) and:
1. for a running collaboration, prepares the chain's next data key, notes it in the row, and
   sends `erase_contact` (sealed, like everything before it, with the current key). The workflow
   replaces the address, activates the new key, continues-as-new under it, and its new run
   destroys the older keys; `erase` waits until they are destroyed;
2. for a closed collaboration, destroys every data key of its chain: its history stays in
   Temporal until the namespace retention removes it, and nobody can decrypt it any more;
3. pseudonymises the rows and marks the erasure finished, in one transaction.
A step that fails leaves the row saying what was done; the same command run again finishes the
rest, skipping what is done and re-sending a re-key's update under the same key and update id.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from passerelle.platform.keystore import KeyStore
from passerelle.platform.pressure import execute_update
from passerelle.privacy import ledger
from passerelle.privacy.ledger import Ledger, Step
from schemas.addresses import address_pattern
from schemas.privacy import ContactErasure, pseudonym_of

PSEUDONYMISE = """
SELECT row_table, row_key, collaboration_id, workflow_id
FROM pseudonymise_rows(NULL, $1, $2, $3) ORDER BY row_table, row_key
"""
# The tables whose rows belong to a collaboration (the others name an operator's acts).
OF_A_COLLABORATION = ("collaborations", "milestones", "notifications", "deliveries")
REKEYS_AT_ONCE = 20


class ErasureFailed(RuntimeError):
    """Steps of the erasure did not complete; running the same erasure again resumes it."""

    def __init__(self, erasure_id: int, failures: list[str]) -> None:
        self.erasure_id, self.failures = erasure_id, failures
        super().__init__(
            f"erasure {erasure_id} is not finished: {'; '.join(failures)}; "
            "run the same command again to finish it"
        )


@dataclass
class Chain:
    """One workflow id chain the address appears in."""

    workflow_id: str
    collaboration_ids: list[str]
    running: bool


@dataclass
class ErasurePlan:
    """What an erasure of `address` changes (`--dry-run` prints it)."""

    address: str
    pseudonym: str
    chains: list[Chain]
    rows: list[tuple[str, str, str | None]]  # (table, row key, collaboration id), each row changed
    under_way: asyncpg.Record | None  # the unfinished erasure of this address, taken up again

    @property
    def collaboration_ids(self) -> list[str]:
        """Return every collaboration id touched."""
        return sorted({c for chain in self.chains for c in chain.collaboration_ids})

    @property
    def empty(self) -> bool:
        """Return True when nothing names the address and nothing is left to finish."""
        return not self.chains and not self.rows and self.under_way is None


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
    pseudonym = pseudonym_of(address, secret)
    async with pool.acquire() as conn:
        rehearsal = conn.transaction()
        await rehearsal.start()
        try:
            rows = await conn.fetch(PSEUDONYMISE, address, address_pattern(address), pseudonym)
        finally:
            await rehearsal.rollback()
    under_way = await ledger.under_way(pool, pseudonym)
    chains: dict[str, Chain] = {}
    for row in rows:
        if row["row_table"] in OF_A_COLLABORATION:
            chain = chains.setdefault(row["workflow_id"], Chain(row["workflow_id"], [], False))
            if row["collaboration_id"] not in chain.collaboration_ids:
                chain.collaboration_ids.append(row["collaboration_id"])
    for workflow_id in under_way["workflow_ids"] if under_way else []:
        chains.setdefault(workflow_id, Chain(workflow_id, [], False))
    for chain in chains.values():
        chain.running = await _running(client, chain.workflow_id)
    return ErasurePlan(
        address,
        pseudonym,
        sorted(chains.values(), key=lambda c: c.workflow_id),
        [(r["row_table"], r["row_key"], r["collaboration_id"]) for r in rows],
        under_way,
    )


def _why(err: BaseException) -> str:
    """Return the one line that says why a step failed."""
    if isinstance(err, WorkflowUpdateFailedError) and err.cause is not None:
        err = err.cause
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


@dataclass
class _Erasure:
    """One run of `erase`: what it needs to act on each chain."""

    pool: asyncpg.Pool
    client: Client
    store: KeyStore
    plan: ErasurePlan
    book: Ledger
    replacement: str | None
    on_step: Callable[[str], None]
    report: ErasureReport
    at: dict[str, str] = field(default_factory=dict)  # the step each chain is at, for a failure

    async def destroyed_here(self, workflow_id: str, spare: str | None = None) -> int:
        """Return how many of the chain's keys this erasure destroyed (counted the same on a rerun)."""
        return sum(
            1
            for k in await self.store.chain(workflow_id)
            if k["key_id"] != spare
            and k["destroyed_at"] is not None
            and k["destroyed_at"] >= self.book.began
            and k["destroy_reason"] == self.book.reason
        )

    async def rekey(self, chain: Chain) -> bool:
        """Erase the address in a running collaboration; return False when it closed meanwhile
        (it is then shredded as a closed one)."""
        wid = chain.workflow_id
        step = self.book.steps.get(wid)
        key = step.key if step is not None and step.key else None
        if key is None:
            key = await self.store.prepare(wid)
            await ledger.write_step(self.pool, self.book, wid, Step("rekey", key))
        activated = any(k["key_id"] == key and k["activated_at"] for k in await self.store.chain(wid))
        if not activated:  # else the workflow took the update already: it is moving to the key
            self.at[wid] = "erase_contact"
            erasure = ContactErasure(
                email=self.plan.address,
                pseudonym=self.plan.pseudonym,
                replacement=self.replacement,
                by=self.book.erased_by,
                reason=self.book.reason,
                next_key=key,
            )
            try:  # the same update id on a rerun: Temporal applies it once
                await execute_update(
                    self.client.get_workflow_handle(wid), "erase_contact", erasure, id=f"erase-{key}"
                )
            except WorkflowUpdateFailedError as err:
                if getattr(err.cause, "type", None) == "CollaborationClosed":
                    return False
                raise
        # The new run destroys the older keys once its input, sealed with the new key, is durable.
        self.at[wid] = "new data key"
        deadline = datetime.now(UTC) + timedelta(seconds=2 * self.store.ttl + 120)
        while datetime.now(UTC) < deadline:
            older = [k for k in await self.store.chain(wid) if k["key_id"] != key]
            if all(k["destroyed_at"] is not None for k in older):
                done = Step("rekey", key, done=True, keys_destroyed=await self.destroyed_here(wid, key))
                await ledger.write_step(self.pool, self.book, wid, done)
                return True
            if not await _running(self.client, wid):
                return False  # closed before it could continue-as-new
            await asyncio.sleep(0.5)
        raise TimeoutError("the new run has not destroyed the older data keys yet: check that a worker runs")

    async def shred(self, chain: Chain) -> None:
        """Destroy every data key of a closed collaboration's chain."""
        wid = chain.workflow_id
        self.at[wid] = "destroy data keys"
        await ledger.write_step(self.pool, self.book, wid, Step("shred"))
        await self.store.destroy(wid, self.book.erased_by, self.book.reason)
        await ledger.write_step(
            self.pool, self.book, wid, Step("shred", done=True, keys_destroyed=await self.destroyed_here(wid))
        )

    async def chain(self, chain: Chain) -> None:
        """Take the chain's step, unless an earlier run of this erasure finished it."""
        wid = chain.workflow_id
        step = self.book.steps.get(wid)
        if step is not None and step.done:
            (self.report.rekeyed if step.action == "rekey" else self.report.shredded).append(wid)
            return
        if (chain.running or (step is not None and step.action == "rekey")) and await self.rekey(chain):
            self.report.rekeyed.append(wid)
            self.on_step(f"{wid}: contact replaced, moved to a new data key, older keys destroyed")
            return
        await self.shred(chain)
        self.report.shredded.append(wid)
        self.on_step(f"{wid}: closed, its data keys destroyed: its history is unreadable")


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
    """Carry out `plan` (see the module's docstring); return what was done, or raise
    `ErasureFailed` naming each collaboration and step that did not complete."""
    book = await ledger.open_ledger(
        pool,
        plan.pseudonym,
        by,
        reason,
        plan.collaboration_ids,
        [c.workflow_id for c in plan.chains],
        [f"{table} {key}" for table, key, _ in plan.rows],
    )
    report = ErasureReport(book.erasure_id, book.began, plan.pseudonym, 0, 0)
    run = _Erasure(pool, client, store, plan, book, replacement, on_step, report)
    limit = asyncio.Semaphore(REKEYS_AT_ONCE)
    failures: list[str] = []

    async def one(chain: Chain) -> None:
        async with limit:
            try:
                await run.chain(chain)
            except Exception as err:  # every chain is tried; each failure is named once
                step = run.at.get(chain.workflow_id, "prepare a data key")
                failures.append(f"{chain.workflow_id} at {step}: {_why(err)}")

    # Re-keys wait out the key caches: running them side by side waits once, not once per chain.
    await asyncio.gather(*(one(chain) for chain in plan.chains))
    if failures:
        raise ErasureFailed(book.erasure_id, sorted(failures))
    try:
        async with pool.acquire() as conn, conn.transaction():
            changed = await conn.fetch(
                PSEUDONYMISE, plan.address, address_pattern(plan.address), plan.pseudonym
            )
            finished = await ledger.finish(conn, book, [f"{r['row_table']} {r['row_key']}" for r in changed])
    except (asyncpg.PostgresError, OSError) as err:
        raise ErasureFailed(book.erasure_id, [f"PostgreSQL at pseudonymise rows: {_why(err)}"]) from None
    report.erased_at, report.rows_changed = finished["erased_at"], finished["rows_changed"]
    report.keys_destroyed = book.keys_destroyed
    return report
