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

**Programmes.** An erasure reaches the programmes it is given (`programmes`: the caller's,
`passerelle.platform.scope`; None for every programme): the rows of their collaborations and
their playbooks (`pseudonymise_programme_rows`, migration 0013), never another programme's, even
where the same address or workflow id appears there. Each chain is reached where its workflow
runs, the namespace its `collaborations` rows name (the shared namespace for rows recorded
before programmes had namespaces of their own), and its data keys are those of that namespace's
chains (`Namespaces.chain_programme`).
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from passerelle.platform.client import client_in
from passerelle.platform.keystore import KeyStore
from passerelle.platform.pressure import execute_update
from passerelle.platform.programmes import Namespaces
from passerelle.privacy import ledger
from passerelle.privacy.ledger import Ledger, Step
from schemas.addresses import address_pattern
from schemas.privacy import ContactErasure, pseudonym_of

PSEUDONYMISE = """
SELECT row_table, row_key, collaboration_id, workflow_id
FROM pseudonymise_rows(NULL, $1, $2, $3) ORDER BY row_table, row_key
"""
PSEUDONYMISE_WITHIN = """
SELECT row_table, row_key, collaboration_id, workflow_id
FROM pseudonymise_programme_rows($4::text[], $1, $2, $3) ORDER BY row_table, row_key
"""
# Where each collaboration's workflow runs ('' for a row recorded before: the shared namespace).
NAMESPACES = "SELECT collaboration_id, namespace FROM collaborations WHERE collaboration_id = ANY($1::text[])"
# The tables whose rows belong to a collaboration (the others name an operator's acts).
OF_A_COLLABORATION = ("collaborations", "milestones", "notifications", "deliveries")
REKEYS_AT_ONCE = 20


class SharedChain(PermissionError):
    """A chain of the shared namespace another programme's collaboration uses too: an erasure
    within some programmes may neither re-key nor shred it."""

    def __init__(self, workflow_id: str, others: list[str]) -> None:
        super().__init__(
            f"{workflow_id}: its data keys in the shared namespace also seal collaborations of "
            f"programmes outside this erasure ({', '.join(others)}): an erasure of every programme "
            "(a role in all of them) handles it; nothing was changed"
        )


# The programmes whose collaborations in the shared namespace (`$2`; '' before programmes had
# namespaces) run a workflow id (`$1`): they share its chain of data keys.
CHAIN_PROGRAMMES = """
SELECT DISTINCT programme_slug FROM collaborations WHERE workflow_id = $1 AND namespace IN ('', $2)
"""


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
    """One workflow id chain the address appears in: its workflow id within the namespace it runs
    in, and the programme that namespace's data keys name ('' for the shared namespace)."""

    workflow_id: str
    collaboration_ids: list[str]
    running: bool
    programme: str = ""
    namespace: str = ""

    @property
    def key(self) -> str:
        """Return how the erasure names the chain: its workflow id, after its programme's slug in
        a programme's own namespace (two programmes may each run a workflow of that id)."""
        return f"{self.programme}/{self.workflow_id}" if self.programme else self.workflow_id


@dataclass
class ErasurePlan:
    """What an erasure of `address` changes (`--dry-run` prints it)."""

    address: str
    pseudonym: str
    chains: list[Chain]
    rows: list[tuple[str, str, str | None]]  # (table, row key, collaboration id), each row changed
    under_way: asyncpg.Record | None  # the unfinished erasure of this address, taken up again
    programmes: frozenset[str] | None = None  # the programmes it reaches (None: every programme)

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


async def _running(client: Client, chain: Chain) -> bool:
    try:
        description = (
            await client_in(client, chain.namespace).get_workflow_handle(chain.workflow_id).describe()
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # removed by the namespace retention
            return False
        raise
    return description.status == WorkflowExecutionStatus.RUNNING


async def _pseudonymise(
    conn: asyncpg.Connection, address: str, pseudonym: str, programmes: frozenset[str] | None
) -> list[asyncpg.Record]:
    """Pseudonymise the address in the rows the erasure reaches; return each row changed."""
    if programmes is None:
        return list(await conn.fetch(PSEUDONYMISE, address, address_pattern(address), pseudonym))
    return list(
        await conn.fetch(
            PSEUDONYMISE_WITHIN, address, address_pattern(address), pseudonym, sorted(programmes)
        )
    )


async def plan(
    pool: asyncpg.Pool,
    client: Client,
    address: str,
    secret: bytes,
    *,
    programmes: frozenset[str] | None = None,
    namespaces: Namespaces | None = None,
) -> ErasurePlan:
    """Return what erasing `address` within `programmes` (None: every programme) would change,
    changing nothing."""
    namespaces = namespaces or Namespaces(shared=client.namespace)
    pseudonym = pseudonym_of(address, secret)
    async with pool.acquire() as conn:
        rehearsal = conn.transaction()
        await rehearsal.start()
        try:
            rows = await _pseudonymise(conn, address, pseudonym, programmes)
        finally:
            await rehearsal.rollback()
        ids = sorted({r["collaboration_id"] for r in rows if r["row_table"] in OF_A_COLLABORATION})
        where = {r["collaboration_id"]: r["namespace"] for r in await conn.fetch(NAMESPACES, ids)}
    under_way = await ledger.under_way(pool, pseudonym, programmes)
    chains: dict[str, Chain] = {}
    for row in rows:
        if row["row_table"] in OF_A_COLLABORATION:
            namespace = where.get(row["collaboration_id"]) or None
            found = Chain(
                row["workflow_id"],
                [],
                False,
                namespaces.chain_programme(namespace),
                namespace or namespaces.shared,
            )
            chain = chains.setdefault(found.key, found)
            if row["collaboration_id"] not in chain.collaboration_ids:
                chain.collaboration_ids.append(row["collaboration_id"])
    # The chains an earlier run of this erasure acted on, which its rows may no longer name.
    for key, step in ledger.steps_of(under_way["steps"] if under_way else {}).items():
        workflow_id = key.removeprefix(f"{step.programme}/") if step.programme else key
        chains.setdefault(
            key, Chain(workflow_id, [], False, step.programme, step.namespace or namespaces.shared)
        )
    if programmes is not None:
        for chain in chains.values():
            if chain.programme == "":
                users = await pool.fetch(CHAIN_PROGRAMMES, chain.workflow_id, namespaces.shared)
                others = sorted({r["programme_slug"] for r in users} - programmes)
                if others:
                    raise SharedChain(chain.workflow_id, others)
    for chain in chains.values():
        chain.running = await _running(client, chain)
    return ErasurePlan(
        address,
        pseudonym,
        sorted(chains.values(), key=lambda c: c.key),
        [(r["row_table"], r["row_key"], r["collaboration_id"]) for r in rows],
        under_way,
        programmes,
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

    async def destroyed_here(self, chain: Chain, spare: str | None = None) -> int:
        """Return how many of the chain's keys this erasure destroyed (counted the same on a rerun)."""
        return sum(
            1
            for k in await self.store.chain(chain.workflow_id, chain.programme)
            if k["key_id"] != spare
            and k["destroyed_at"] is not None
            and k["destroyed_at"] >= self.book.began
            and k["destroy_reason"] == self.book.reason
        )

    async def rekey(self, chain: Chain) -> bool:
        """Erase the address in a running collaboration; return False when it closed meanwhile
        (it is then shredded as a closed one)."""
        wid, name, programme = chain.workflow_id, chain.key, chain.programme
        step = self.book.steps.get(name)
        key = step.key if step is not None and step.key else None
        if key is None:
            key = await self.store.prepare(wid, programme)
            await ledger.write_step(self.pool, self.book, name, self._step(chain, "rekey", key))
        keys = await self.store.chain(wid, programme)
        activated = any(k["key_id"] == key and k["activated_at"] for k in keys)
        if not activated:  # else the workflow took the update already: it is moving to the key
            self.at[name] = "erase_contact"
            erasure = ContactErasure(
                email=self.plan.address,
                pseudonym=self.plan.pseudonym,
                replacement=self.replacement,
                by=self.book.erased_by,
                reason=self.book.reason,
                next_key=key,
            )
            try:  # the same update id on a rerun: Temporal applies it once
                handle = client_in(self.client, chain.namespace).get_workflow_handle(wid)
                await execute_update(handle, "erase_contact", erasure, id=f"erase-{key}")
            except WorkflowUpdateFailedError as err:
                if getattr(err.cause, "type", None) == "CollaborationClosed":
                    return False
                raise
        # The new run destroys the older keys once its input, sealed with the new key, is durable.
        self.at[name] = "new data key"
        deadline = datetime.now(UTC) + timedelta(seconds=2 * self.store.ttl + 120)
        while datetime.now(UTC) < deadline:
            older = [k for k in await self.store.chain(wid, programme) if k["key_id"] != key]
            if all(k["destroyed_at"] is not None for k in older):
                destroyed = await self.destroyed_here(chain, key)
                done = self._step(chain, "rekey", key, done=True, keys_destroyed=destroyed)
                await ledger.write_step(self.pool, self.book, name, done)
                return True
            if not await _running(self.client, chain):
                return False  # closed before it could continue-as-new
            await asyncio.sleep(0.5)
        raise TimeoutError("the new run has not destroyed the older data keys yet: check that a worker runs")

    @staticmethod
    def _step(chain: Chain, action: ledger.Action, key: str | None = None, **outcome: Any) -> Step:
        """Return a step of the chain, saying where it runs."""
        return Step(action, key, **outcome, programme=chain.programme, namespace=chain.namespace)

    async def shred(self, chain: Chain) -> None:
        """Destroy every data key of a closed collaboration's chain."""
        name = chain.key
        self.at[name] = "destroy data keys"
        await ledger.write_step(self.pool, self.book, name, self._step(chain, "shred"))
        await self.store.destroy(
            chain.workflow_id, self.book.erased_by, self.book.reason, programme=chain.programme
        )
        destroyed = await self.destroyed_here(chain)
        await ledger.write_step(
            self.pool, self.book, name, self._step(chain, "shred", done=True, keys_destroyed=destroyed)
        )

    async def chain(self, chain: Chain) -> None:
        """Take the chain's step, unless an earlier run of this erasure finished it."""
        name = chain.key
        step = self.book.steps.get(name)
        if step is not None and step.done:
            (self.report.rekeyed if step.action == "rekey" else self.report.shredded).append(name)
            return
        if (chain.running or (step is not None and step.action == "rekey")) and await self.rekey(chain):
            self.report.rekeyed.append(name)
            self.on_step(f"{name}: contact replaced, moved to a new data key, older keys destroyed")
            return
        await self.shred(chain)
        self.report.shredded.append(name)
        self.on_step(f"{name}: closed, its data keys destroyed: its history is unreadable")


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
        [c.key for c in plan.chains],
        [f"{table} {key}" for table, key, _ in plan.rows],
        plan.programmes,
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
                step = run.at.get(chain.key, "prepare a data key")
                failures.append(f"{chain.key} at {step}: {_why(err)}")

    # Re-keys wait out the key caches: running them side by side waits once, not once per chain.
    await asyncio.gather(*(one(chain) for chain in plan.chains))
    if failures:
        raise ErasureFailed(book.erasure_id, sorted(failures))
    try:
        async with pool.acquire() as conn, conn.transaction():
            changed = await _pseudonymise(conn, plan.address, plan.pseudonym, plan.programmes)
            finished = await ledger.finish(conn, book, [f"{r['row_table']} {r['row_key']}" for r in changed])
    except (asyncpg.PostgresError, OSError) as err:
        raise ErasureFailed(book.erasure_id, [f"PostgreSQL at pseudonymise rows: {_why(err)}"]) from None
    report.erased_at, report.rows_changed = finished["erased_at"], finished["rows_changed"]
    report.keys_destroyed = book.keys_destroyed
    return report
