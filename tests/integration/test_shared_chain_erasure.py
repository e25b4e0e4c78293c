"""An erasure within one programme leaves alone a chain of the shared namespace that another
programme's collaboration uses too: two collaborations of one workflow id there share its data
keys, and re-keying or shredding them would reach the other programme's history."""

import uuid

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.programmes import Namespaces
from passerelle.privacy.erasure import SharedChain, plan

INSERT = (
    "INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector,"
    " topic, stage, stage_since, stalled, paused, started_at, updated_at, last_seq, namespace,"
    " corporate_email, outcome)"
    " VALUES ($1, $2, 'Natixis', 'Nabla', $3, 'health', 't', 'pilot', now(), false, false, now(), now(), 1,"
    " $4, $5, 'declined')"
)


async def test_an_erasure_of_one_programme_refuses_a_shared_chain_of_another(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    tag = uuid.uuid4().hex[:8]
    workflow_id, address = f"shared-{tag}", f"ana.{tag}@natixis.example"
    a, b = f"Share A {tag}", f"Share B {tag}"
    await pool.execute(INSERT, str(uuid.uuid4()), workflow_id, a, "", address)  # before programmes
    await pool.execute(INSERT, str(uuid.uuid4()), workflow_id, b, "default", f"other.{tag}@natixis.example")
    namespaces = Namespaces(shared=dev_env.client.namespace)

    async def planned(programmes: frozenset[str] | None) -> list[str]:
        found = await plan(
            pool, dev_env.client, address, b"s" * 32, programmes=programmes, namespaces=namespaces
        )
        return [c.workflow_id for c in found.chains]

    only_a = frozenset({f"share-a-{tag}"})
    with pytest.raises(SharedChain, match=f"share-b-{tag}"):
        await planned(only_a)
    # An erasure of every programme plans it (and would re-key or shred it for both).
    assert await planned(None) == [workflow_id]
    # The same id in another programme's own namespace shares nothing: no refusal.
    await pool.execute(
        "UPDATE collaborations SET namespace = $2 WHERE programme = $1", b, f"passerelle-share-b-{tag}"
    )
    assert await planned(only_a) == [workflow_id]
