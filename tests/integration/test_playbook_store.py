"""Playbook versions in PostgreSQL: numbered, immutable, idempotent to apply, and what the load
activity hands the workflow."""

import asyncio
import uuid

import asyncpg
import pytest

from activities import playbooks as store
from activities.playbooks import PlaybookActivities
from schemas.playbooks import Playbook, PlaybookLookup


def playbook(programme: str, *milestones: str) -> Playbook:
    return Playbook.model_validate(
        {"programme": programme, "gates": {"pilot": {"milestones": list(milestones)}}}
    )


async def test_versions_are_numbered_immutable_and_applying_the_same_twice_adds_nothing(
    pool: asyncpg.Pool,
) -> None:
    name = f"P {uuid.uuid4()}"
    first = await store.apply(pool, playbook(name, "NDA signed"), "# v1", "alice")
    again = await store.apply(pool, playbook(name, "NDA signed"), "# v1, reformatted", "bob")
    second = await store.apply(pool, playbook(name, "NDA signed", "ethics"), "# v2", "bob")
    assert (first.created, first.version.version, first.version.applied_by) == (True, 1, "alice")
    assert (again.created, again.version.version) == (False, 1)
    assert (second.created, second.version.version) == (True, 2)
    current = await store.get(pool, name)
    assert current is not None and current.version == 2 and await store.source(pool, name, 1) == "# v1"
    for statement in (
        "UPDATE playbooks SET applied_by = 'mallory' WHERE programme = $1",
        "DELETE FROM playbooks WHERE programme = $1",
    ):
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await pool.execute(statement, name)
    assert [v.version for v in [await store.get(pool, name, n) for n in (1, 2)] if v] == [1, 2]


async def test_concurrent_applies_of_different_content_get_different_numbers(pool: asyncpg.Pool) -> None:
    name = f"P {uuid.uuid4()}"
    done = await asyncio.gather(*(store.apply(pool, playbook(name, f"m{i}"), "", "x") for i in range(6)))
    assert sorted(d.version.version for d in done) == [1, 2, 3, 4, 5, 6]


async def test_the_load_activity_returns_the_version_and_the_milestones_already_recorded(
    pool: asyncpg.Pool,
) -> None:
    name = f"P {uuid.uuid4()}"
    await store.apply(pool, playbook(name, "NDA signed", "Pilot Report"), "", "x")
    load = await PlaybookActivities(pool).load_playbook(PlaybookLookup(programme=name))
    assert load.found is not None and load.found.label == f"{name} v1" and load.milestones == {}
    none = await PlaybookActivities(pool).load_playbook(PlaybookLookup(programme=f"{name} other"))
    assert none.found is None
    missing = await PlaybookActivities(pool).load_playbook(PlaybookLookup(programme=name, version=7))
    assert missing.found is None
