"""A golden history with verified actors replays, with the public vouching key at hand only.

`histories/verified-actors/` is the export (runs, manifest and `vouching_keys.json`, as `audit
export` writes them) of the `verified_actors` scenario: a milestone, an approval request and its
approval by a second person, each sent with an actor statement, then a declared advance and close.
The statements were signed with a vouching key made for that one recording and then thrown away:
only its public half is committed, in the export's `vouching_keys.json`, which is all a worker or
an auditor ever holds. Regenerate (a new key each time) with:

    PASSERELLE_RECORD_VERIFIED=1 .venv/bin/pytest tests/replay/test_verified_golden.py -k record
"""

import base64
import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

from passerelle.audit.actors import proofs, read_keys, write_keys
from passerelle.audit.entries import read_records
from passerelle.audit.histories import Run, fetch_chain, read_export, write_export
from passerelle.audit.replay import default_workflows, replay_runs
from passerelle.platform.client import converter_for, keyring_for
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Claims, Signer, new_vouching_key
from schemas import HistoryEntry
from schemas.actors import programme_slug
from tests.conftest import WorkerFactory
from tests.replay.scenarios import (
    ANNE,
    CLAIRE,
    OPS,
    VERIFIED_ISSUER,
    VERIFIED_PROGRAMME,
    ClientEnvironment,
    verified_actors,
)
from tests.workflows.test_playbooks import EXAMPLE, apply_example, read
from workflows.activity_names import RECORD_EVENTS

FOLDER = Path(__file__).parent / "histories" / "verified-actors"
KEY_ID = "golden-test-only"  # a key of the recording alone: no deployment ever holds it


class _Entries(Interceptor):
    """Collects the entries the workflow code schedules for recording while it replays."""

    def __init__(self) -> None:
        self.entries: list[HistoryEntry] = []

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        entries = self.entries

        class Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
                if input.activity == RECORD_EVENTS:
                    entries.extend(input.args[0].entries)
                return super().start_activity(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound


async def replayed_entries(runs: list[Run], settings: Settings) -> list[HistoryEntry]:
    """Replay `runs` with today's code and the settings' converter; return what it recorded."""
    collect = _Entries()
    replayer = Replayer(
        workflows=default_workflows(),
        workflow_runner=UnsandboxedWorkflowRunner(),  # the collector's list stays this process's
        data_converter=converter_for(settings),
        interceptors=[collect],
    )

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for run in runs:
            yield WorkflowHistory(run.workflow_id, run.events)

    await replayer.replay_workflows(histories())
    return collect.entries


def verified_subject(entry: HistoryEntry) -> str | None:
    return ((entry.details or {}).get("verified") or {}).get("subject")


async def test_replays_with_the_public_key_and_names_the_verified_actors(
    settings: Settings, own_database: tuple[str, asyncpg.Pool]
) -> None:
    """With the export's public key, the history replays and today's code records, for each
    action, the person a statement proves, and no one for the declared ones.

    The key reaches the converter as `audit timeline` and `audit verify` give it an export's keys
    (`keyring_for(settings).add(read_keys(folder))`), on settings of a database of this test's
    own, so that no other test's keyring learns it.
    """
    keyed = dataclasses.replace(settings, database_url=own_database[0])
    keyring_for(keyed).add(read_keys(FOLDER))
    runs = read_export(FOLDER)

    outcomes = await replay_runs(runs, keyed, jobs=1)
    assert all(o.passed for o in outcomes), [o.error for o in outcomes if not o.passed]

    replayed = await replayed_entries(runs, keyed)
    by_kind = {e.kind.value: (e.actor, verified_subject(e)) for e in replayed}
    assert by_kind == {
        "started": ("system", None),
        "playbook_adopted": ("system", None),
        "milestone": (ANNE, "anne"),
        "approval_requested": (ANNE, "anne"),
        "approved": (CLAIRE, "claire"),
        "stage_changed": (OPS, None),
        "closed": (OPS, None),
    }
    assert {(e.details or {}).get("verified", {}).get("key") for e in replayed} == {KEY_ID, None}
    # The same entries, to the last detail, as the ones the history holds (recorded live).
    recorded = (await read_records(runs, converter_for(keyed))).entries
    assert sorted(replayed, key=lambda e: e.seq) == [r.entry for r in recorded]


async def test_without_the_key_the_history_replays_as_declared_and_the_audit_names_the_key(
    settings: Settings,
) -> None:
    """Without the public key (the suite's settings: their table never held it), the history still
    replays, and the audit says which actors it cannot prove, naming the key.

    History says each update was accepted, so its statement held when it was judged. A process
    that cannot prove it now applies it as declared (`workflows.requests.unwrap`, with the e-mail
    the statement claims where `by` was left out) rather than refuse what history records: the
    same commands, so a worker or an auditor missing a key is told by the proofs, not by a
    non-determinism error that names an event. What it recorded as verified, it does not invent.
    """
    runs = read_export(FOLDER)
    outcomes = await replay_runs(runs, settings, jobs=1)
    assert [o.passed for o in outcomes] == [True], outcomes

    replayed = await replayed_entries(runs, settings)
    assert [verified_subject(e) for e in replayed] == [None] * len(replayed)
    assert {e.kind.value: e.actor for e in replayed}["milestone"] == ANNE  # the claimed e-mail

    # What tells the auditor why: each statement names a key the converter does not know.
    found = {p.update: (p.finding or {}).get("unproven") for p in await proofs(runs, converter_for(settings))}
    assert found["advance"] is None and found["close"] is None  # declared: nothing to prove
    for update in ("record_milestone", "request_approval", "approve"):
        assert f"vouching key {KEY_ID!r}, which is not known" in str(found[update]), found


@pytest.mark.skipif(
    not os.environ.get("PASSERELLE_RECORD_VERIFIED"), reason="set PASSERELLE_RECORD_VERIFIED=1"
)
async def test_record_verified_actors(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    clear_settings: Settings,
) -> None:
    """Record the scenario in clear, as the other goldens, with a voucher of a new key; export
    the runs and the key's public half."""
    signer = Signer(((KEY_ID, base64.b64decode(new_vouching_key())),))
    slug = programme_slug(VERIFIED_PROGRAMME)
    people = {
        "anne": Claims(
            VERIFIED_ISSUER, "anne", ANNE, (f"{slug}:operator", f"{slug}:approver"), token_id="t-anne"
        ),
        "claire": Claims(VERIFIED_ISSUER, "claire", CLAIRE, (f"{slug}:approver",), token_id="t-claire"),
    }
    gates = read(EXAMPLE).playbook.model_dump()["gates"] | {"qualification": {"approval": True}}
    await apply_example(pool, programme=VERIFIED_PROGRAMME, approvers=[ANNE, CLAIRE], gates=gates)
    # The worker knows the key as the signer's own: the clear settings with the key added.
    recording = dataclasses.replace(clear_settings, vouching_keys=tuple(signer.keys))
    client = Client(**{**time_env.client.config(), "data_converter": converter_for(recording)})

    async def sealed(data: dict[str, Any], subject: str) -> RawValue:
        """Seal `data` as the codec server does, at the test server's time (statements stay fresh
        15 minutes of the workflow's clock)."""
        payload = client.data_converter.payload_converter.to_payloads([data])[0]
        return RawValue(signer.seal(payload, people[subject], now=await time_env.get_current_time()))

    async with run_worker(client):
        workflow_id = await verified_actors(
            ClientEnvironment(client, time_env.sleep), "histories-verified-actors", task_queue, sealed
        )
    runs = await fetch_chain(client, workflow_id)
    shutil.rmtree(FOLDER, ignore_errors=True)
    write_export(runs, FOLDER, "default")
    write_keys(FOLDER, signer.public_keys())
