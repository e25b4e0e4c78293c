"""Data rights reach exactly one person: the neighbours of an erased address are left byte for byte.

Hypothesis generates families of addresses: a target, the same address in other cases (the same
person), and near misses that are other people: prefixes (`di` + it, or glued by a character an
address may hold), other domains (`.org`, `-mail.fr`), a sub-domain, a plus-address, a longer
local part, a look-alike letter, with LIKE and regular-expression metacharacters inside. Four
collaborations use them in every field that can hold an address (contacts, owner, actors, notes,
an evidence URL, a closing reason): a running and a closed one of the target's, a running and a
closed one of neighbours only. Then, through the installed CLI:
- `privacy export` holds the target's two collaborations and no other person's address;
- `privacy erase` leaves the neighbours' collaborations unchanged (every row, live data keys,
  payloads that still decrypt), every neighbour's mention in the target's collaborations too,
  and the target nowhere.
"""

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from schemas import Closure, MilestoneRequest, Outcome
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.integration.privacy_rows import count, decoded, live_keys, mentions_left, rows_of, settled
from tests.workflows.helpers import latest_status, start
from workflows.collaboration import CollaborationWorkflow

LETTERS = st.text(alphabet="abcdefghij", min_size=2, max_size=5)
# Characters an address's local part may hold that are LIKE or regex metacharacters, or glue.
METAS = "%_.*+?^${|}'=/!#&~-"
LOOK_ALIKES = {"a": "а", "c": "с", "e": "е"}  # Cyrillic letters that look Latin


@dataclass(frozen=True)
class Family:
    """An address, its other spellings (the same person), and its neighbours (other people)."""

    target: str
    spellings: tuple[str, ...]
    neighbours: tuple[str, ...]


@st.composite
def families(draw: st.DrawFn) -> Family:
    tag = uuid.uuid4().hex[:6]  # each example's addresses are its own in the session's database
    base = draw(LETTERS)
    glue = draw(st.sampled_from(["", *METAS]))
    local = base[0] + glue + base[1:]
    domain = f"{draw(LETTERS)}{tag}.example"
    target = f"{local}@{domain}"
    prefix = draw(st.sampled_from(["di", "jo", *(f"x{m}" for m in METAS if m != ".")]))
    first = next((c for c in local if c in LOOK_ALIKES), None)
    neighbours = [
        prefix + target,
        target + draw(st.sampled_from([".org", "-mail.fr", ".example.org"])),
        f"{local}@mail.{domain}",
        f"{local}+{draw(LETTERS)}@{domain}",
        f"{local}{draw(st.sampled_from(['x', '.x', '_x', '-x', '%x']))}@{domain}",
        target.replace(first, LOOK_ALIKES[first], 1) if first else f"{local}@{domain}.org",
    ]
    spellings = (target.upper(), target.capitalize(), target.swapcase())
    return Family(
        target, spellings, tuple(dict.fromkeys(n for n in neighbours if n.lower() != target.lower()))
    )


async def seed(env: WorkflowEnvironment, task_queue: str, family: Family, tag: str) -> dict[str, str]:
    """Start the four collaborations; return their workflow ids by role."""
    t, same, n = family.target, family.spellings, family.neighbours
    ids = {
        role: f"neighbours-{tag}-{role}"
        for role in ("mine-running", "mine-closed", "theirs-running", "theirs-closed")
    }
    startup = {"name": "Nabla", "label": "Next40"}
    mine = await start(
        env.client,
        ids["mine-running"],
        task_queue,
        startup={**startup, "contact_email": same[0]},
        corporate={"name": "Natixis", "contact_email": n[2]},
        owner_email=n[0],
    )
    await mine.execute_update(
        CollaborationWorkflow.record_milestone,
        MilestoneRequest(
            kind="call",
            by=same[1],
            note=f"Call {n[1]} and {same[2]}.\n{t} (cc {n[3]})",
            evidence_url=f"https://crm.example/c,{t}",
        ),
    )
    await mine.execute_update(
        CollaborationWorkflow.record_milestone,
        MilestoneRequest(
            kind="demo", by=n[-1], note=f"with {n[4]}", evidence_url=f"https://crm.example/c,{n[3]}"
        ),
    )
    closed = await start(
        env.client,
        ids["mine-closed"],
        task_queue,
        corporate={"name": "Natixis", "contact_email": t},
        startup={**startup, "contact_email": n[3]},
    )
    await closed.execute_update(
        CollaborationWorkflow.close,
        Closure(outcome=Outcome.DECLINED, by=n[4], reason=f"{t} left; see {n[0]}"),
    )
    theirs = await start(
        env.client,
        ids["theirs-running"],
        task_queue,
        startup={**startup, "contact_email": n[0]},
        corporate={"name": "Natixis", "contact_email": n[-1]},
        owner_email=n[1],
    )
    await theirs.execute_update(
        CollaborationWorkflow.record_milestone,
        MilestoneRequest(kind="call", by=n[2], note=f"ping {n[3]}\n{n[4]}, {n[0]}."),
    )
    gone = await start(
        env.client, ids["theirs-closed"], task_queue, startup={**startup, "contact_email": n[1]}
    )
    await gone.execute_update(
        CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by=n[0], reason=f"bye {n[2]}")
    )
    await closed.result()
    await gone.result()
    return ids


async def test_an_erasure_and_an_access_export_reach_exactly_one_person(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    settings: Settings,
    task_queue: str,
    tmp_path: Path,
) -> None:
    loop = asyncio.get_running_loop()
    converter = converter_for(settings)

    def on_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:  # the worker runs on this loop
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=300)

    @settings_for_servers
    @given(family=families())
    def one_family(family: Family) -> None:
        tried.append(family)
        tag = uuid.uuid4().hex[:8]
        ids = on_loop(seed(dev_env, task_queue, family, tag))
        mine, theirs = (
            [ids["mine-running"], ids["mine-closed"]],
            [ids["theirs-running"], ids["theirs-closed"]],
        )
        on_loop(settled(pool, [*mine, *theirs]))
        before = on_loop(rows_of(pool, [*mine, *theirs]))
        their_rows, their_keys = on_loop(rows_of(pool, theirs)), on_loop(live_keys(pool, theirs))
        their_payloads = {w: on_loop(decoded(dev_env.client, converter, w)) for w in theirs}

        out = tmp_path / f"{tag}.json"
        export = passerelle(dev_env.client, "privacy", "export", "--email", family.target, "--out", str(out))
        assert export.returncode == 0, export.stderr
        document = json.loads(out.read_text())
        found = {r["workflow_id"] for r in document["postgresql"]["collaborations"]}
        assert found == set(mine), (found, family)
        text = json.dumps(document, ensure_ascii=False)
        assert family.target.lower() in text.lower()
        assert [n for n in family.neighbours if n in text] == [], "another person's address in the export"

        erase = passerelle(
            dev_env.client,
            "privacy",
            "erase",
            "--email",
            family.target,
            "--by",
            "dpo",
            "--reason",
            f"req {tag}",
        )
        assert erase.returncode == 0, erase.stdout + erase.stderr
        assert "1 running collaboration(s) re-keyed, 1 closed one(s) shredded" in erase.stdout, erase.stdout

        # The neighbours' collaborations: every row, key and payload as it was.
        assert on_loop(rows_of(pool, theirs)) == their_rows
        assert on_loop(live_keys(pool, theirs)) == their_keys
        for workflow_id, seen in their_payloads.items():  # a history only grows: as it was, and readable
            now = on_loop(decoded(dev_env.client, converter, workflow_id))
            assert not Counter(seen) - Counter(now) and '"<erased>"' not in now, workflow_id
        # The target's: every neighbour's mention kept, the target nowhere.
        after = on_loop(rows_of(pool, [*mine, *theirs]))
        texts_before = [t for rows in before.values() for t in rows]
        texts_after = [t for rows in after.values() for t in rows]
        for neighbour in family.neighbours:
            assert count(texts_after, neighbour) == count(texts_before, neighbour), neighbour
        assert mentions_left(texts_after, family.target, list(family.neighbours)) == []
        new_run = on_loop(decoded(dev_env.client, converter, ids["mine-running"]))
        readable = [p for p in new_run if p != '"<erased>"']
        assert readable and mentions_left(readable, family.target, list(family.neighbours)) == []
        assert count(readable, family.neighbours[0]) > 0, "the owner, a neighbour, is still the owner"
        status = on_loop(latest_status(dev_env.client, ids["mine-running"]))
        assert status.runs == 2 and status.outcome is None and status.erased_parties == ["startup"]
        on_loop(finish(dev_env, [ids["mine-running"], ids["theirs-running"]]))

    tried: list[Family] = []
    async with run_worker(dev_env.client):
        await asyncio.to_thread(one_family)
    assert len(tried) == settings_for_servers.max_examples
    assert any(set(f.target.split("@")[0]) & set(METAS) for f in tried), "metacharacters were tried"


async def finish(env: WorkflowEnvironment, workflow_ids: list[str]) -> None:
    """Close the running collaborations a family left."""
    for workflow_id in workflow_ids:
        handle = env.client.get_workflow_handle(workflow_id)
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="test", reason="over")
        )


# Each example starts four collaborations and runs two commands on real servers: a few
# examples, the same ones every run (a failure reproduces), no deadline.
settings_for_servers = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
