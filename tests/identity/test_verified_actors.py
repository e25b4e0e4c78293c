"""Every human action by a verified person, through the clients nobody here wrote.

A real OpenID provider (tests/oidc) logs people in with the device flow; the Temporal CLI sends
updates through the codec server with `--codec-endpoint` and `--codec-auth`, as the Web UI does
behind its login; a worker of the production default (`PASSERELLE_ACTORS=verified`) judges them.
The codec server signs who sent each payload (`passerelle.platform.vouching`); the worker's codec
checks the statement and the workflow holds it to the roles and the typed `by`.
"""

import asyncio
import base64
import csv
import dataclasses
import io
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.channels.log import LogChannel
from passerelle.audit.actors import proofs, read_keys
from passerelle.audit.histories import read_exports
from passerelle.devstack.servers import find_binary
from passerelle.platform.actor_codec import ActorCodec
from passerelle.platform.client import codec_for
from passerelle.platform.codec import EncryptionCodec
from passerelle.platform.codec_auth import CodecAuth
from passerelle.platform.codec_server import Vouching, start_codec_server
from passerelle.platform.identity import ClaimsMapping
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Signer, new_vouching_key
from passerelle.platform.vouching_keys import Keyring, register
from passerelle.platform.worker import build_worker
from schemas.actors import programme_slug
from tests.audit_cli import passerelle
from tests.e2e.cli import eventually
from tests.factories import request_data
from tests.integration.processes import free_port
from tests.oidc.server import Provider, oidc_provider
from tests.oidc.test_device_flow import login
from tests.workflows.helpers import start
from tests.workflows.test_playbooks import EXAMPLE, apply_example, read

TAG = uuid.uuid4().hex[:8]
PROGRAMME = f"Coalition Next {TAG}"
SLUG = programme_slug(PROGRAMME)
ANNE, CLAIRE = f"anne.{TAG}@coalition-next.example", f"claire.{TAG}@coalition-next.example"
ACCOUNTS = {
    "anne": {"email": ANNE, "roles": [f"{SLUG}:operator", f"{SLUG}:approver"]},
    "claire": {"email": CLAIRE, "roles": [f"{SLUG}:approver"]},
    "audrey": {"email": f"audrey.{TAG}@audit.example", "roles": [f"{SLUG}:auditor"]},
    "bruno": {"email": f"bruno.{TAG}@french-tech.example", "roles": ["french-tech:operator"]},
}
VOUCHING = Signer(((f"v{TAG}", base64.b64decode(new_vouching_key())),))


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider({"OIDC_ACCOUNTS": json.dumps(ACCOUNTS)}) as running:
        yield running


_tokens: dict[str, str] = {}


async def token(provider: Provider, account: str) -> str:
    """Log `account` in through the device flow once; return its access token."""
    if account not in _tokens:
        async with httpx.AsyncClient() as http:
            tokens, _ = await login(provider, account, http)
        _tokens[account] = tokens.access_token
    return _tokens[account]


@dataclasses.dataclass
class Stack:
    address: str
    codec: str
    provider: Provider

    def update(
        self,
        workflow_id: str,
        name: str,
        data: dict[str, Any],
        *,
        auth: str | None,
        codec: bool = True,
        meta: str = "",
    ) -> subprocess.CompletedProcess[str]:
        """Send an update with the Temporal CLI; `auth` is its `--codec-auth` bearer token."""
        args = [
            "workflow",
            "update",
            "execute",
            "--name",
            name,
            "-w",
            workflow_id,
            "--input",
            json.dumps(data),
        ]
        args += ["--address", self.address]
        if codec:
            args += ["--codec-endpoint", self.codec]
        if auth is not None:
            args += ["--codec-auth", f"Bearer {auth}"]
        if meta:
            args += ["--input-meta", meta]
        return subprocess.run(
            [find_binary("temporal"), *args], capture_output=True, text=True, timeout=60, check=False
        )

    def query(self, workflow_id: str, auth: str) -> subprocess.CompletedProcess[str]:
        args = ["workflow", "query", "--name", "status", "-w", workflow_id, "--address", self.address]
        args += ["--codec-endpoint", self.codec, "--codec-auth", f"Bearer {auth}"]
        return subprocess.run(
            [find_binary("temporal"), *args], capture_output=True, text=True, timeout=60, check=False
        )


async def serve_codec(settings: Settings, provider: Provider, signer: Signer) -> tuple[web.AppRunner, str]:
    """Start a codec server that checks the provider's tokens and vouches with `signer`."""
    assert settings.database_url is not None
    await register(settings.database_url, signer)
    port = free_port()
    auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience="passerelle")
    runner = await start_codec_server(
        codec_for(settings),
        ["http://localhost:8233"],
        "127.0.0.1",
        port,
        auth,
        vouching=Vouching(signer, ClaimsMapping()),
    )
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment, provider: Provider, pool: asyncpg.Pool, settings: Settings, task_queue: str
) -> AsyncIterator[Stack]:
    """A codec server that checks the provider's tokens and vouches, and a worker that requires
    verified actors."""
    runner, url = await serve_codec(settings, provider, VOUCHING)
    verified = dataclasses.replace(settings, actors="verified", task_queue=task_queue)
    worker = build_worker(dev_env.client, pool, verified, [LogChannel()])
    try:
        async with worker:
            yield Stack(dev_env.client.service_client.config.target_host, url, provider)
    finally:
        await runner.cleanup()


async def rows(pool: asyncpg.Pool, workflow_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT seq, kind, actor, details FROM milestones WHERE workflow_id = $1 ORDER BY seq", workflow_id
    )


def verified_of(row: asyncpg.Record) -> dict[str, Any] | None:
    details = row["details"] or {}
    details = json.loads(details) if isinstance(details, str) else details
    found: dict[str, Any] | None = details.get("verified")
    return found


async def test_a_forged_by_through_the_temporal_cli_is_refused_and_a_true_one_is_recorded_verified(
    stack: Stack, dev_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str
) -> None:
    workflow_id = f"verified-{uuid.uuid4().hex[:8]}"
    await start(dev_env.client, workflow_id, task_queue, programme=PROGRAMME)
    anne = await token(stack.provider, "anne")

    forged = await asyncio.to_thread(
        stack.update, workflow_id, "record_milestone", {"kind": "NDA signed", "by": CLAIRE}, auth=anne
    )
    assert forged.returncode != 0 and "by: not the address of your login" in forged.stderr, forged

    unsigned = await asyncio.to_thread(
        stack.update,
        workflow_id,
        "record_milestone",
        {"kind": "NDA signed", "by": ANNE},
        auth=None,
        codec=False,
    )
    assert unsigned.returncode != 0 and "no verified actor" in unsigned.stderr, unsigned

    # A client's own mark of a verified actor, on a payload in clear, proves nothing.
    mark = json.dumps({"verified": {"issuer": stack.provider.issuer, "subject": "claire", "email": CLAIRE}})
    marked = await asyncio.to_thread(
        stack.update,
        workflow_id,
        "record_milestone",
        {"kind": "NDA signed", "by": CLAIRE},
        auth=None,
        codec=False,
        meta=f"passerelle-actor={mark}",
    )
    assert marked.returncode != 0 and "no verified actor" in marked.stderr, marked

    named = await asyncio.to_thread(
        stack.update,
        workflow_id,
        "record_milestone",
        {"kind": "NDA signed", "actor": {"subject": "x"}},
        auth=anne,
    )
    assert named.returncode != 0 and "actor: set from the sender's login" in named.stderr, named

    true = await asyncio.to_thread(
        stack.update, workflow_id, "record_milestone", {"kind": "NDA signed"}, auth=anne
    )
    assert true.returncode == 0, true
    recorded = [r for r in await rows(pool, workflow_id) if r["kind"] == "milestone"]
    assert len(recorded) == 1, "only the true action is recorded"
    assert recorded[0]["actor"] == ANNE  # the verified e-mail stands for the `by` left out
    who = verified_of(recorded[0])
    assert who is not None
    assert (who["issuer"], who["subject"], who["email"]) == (stack.provider.issuer, "anne", ANNE)
    assert who["key"] == VOUCHING.key_id and len(who["fingerprint"]) == 16
    started = verified_of((await rows(pool, workflow_id))[0])
    assert started is None, "the start was sent by the test's client, with no statement: declared"


async def test_one_person_under_two_typed_names_cannot_request_and_approve(
    stack: Stack, dev_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str
) -> None:
    gates = read(EXAMPLE).playbook.model_dump()["gates"] | {"qualification": {"approval": True}}
    await apply_example(pool, programme=PROGRAMME, approvers=[ANNE, CLAIRE], gates=gates)
    workflow_id = f"four-eyes-{uuid.uuid4().hex[:8]}"
    await start(dev_env.client, workflow_id, task_queue, programme=PROGRAMME)
    anne, claire = await token(stack.provider, "anne"), await token(stack.provider, "claire")

    asked = await asyncio.to_thread(
        stack.update, workflow_id, "request_approval", {"for": "qualification"}, auth=anne
    )
    assert asked.returncode == 0, asked
    as_claire = await asyncio.to_thread(stack.update, workflow_id, "approve", {"by": CLAIRE}, auth=anne)
    assert as_claire.returncode != 0 and "by: not the address of your login" in as_claire.stderr, as_claire
    herself = await asyncio.to_thread(stack.update, workflow_id, "approve", {}, auth=anne)
    assert herself.returncode != 0 and "four eyes" in herself.stderr, herself

    approved = await asyncio.to_thread(stack.update, workflow_id, "approve", {}, auth=claire)
    assert approved.returncode == 0, approved
    by_kind = {r["kind"]: verified_of(r) for r in await rows(pool, workflow_id)}
    assert by_kind["approval_requested"] is not None and by_kind["approval_requested"]["subject"] == "anne"
    assert by_kind["approved"] is not None and by_kind["approved"]["subject"] == "claire"


async def test_an_auditor_reads_but_cannot_steer_and_another_programme_cannot_either(
    stack: Stack, dev_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str
) -> None:
    workflow_id = f"auditor-{uuid.uuid4().hex[:8]}"
    await start(dev_env.client, workflow_id, task_queue, programme=PROGRAMME)
    audrey, bruno = await token(stack.provider, "audrey"), await token(stack.provider, "bruno")

    async def recorded() -> None:  # the shared namespace's keys name their programme from then on
        assert await rows(pool, workflow_id)

    await eventually(recorded)
    read = await asyncio.to_thread(stack.query, workflow_id, audrey)
    assert read.returncode == 0 and '"stage": "introduction"' in read.stdout.replace('":"', '": "'), read
    other_reads = await asyncio.to_thread(stack.query, workflow_id, bruno)
    assert other_reads.returncode != 0 and "Forbidden" in other_reads.stderr, other_reads

    steer = await asyncio.to_thread(stack.update, workflow_id, "pause", {"reason": "audit"}, auth=audrey)
    assert steer.returncode != 0 and f"does not hold {SLUG}:operator" in steer.stderr, steer
    other = await asyncio.to_thread(stack.update, workflow_id, "pause", {"reason": "competitor"}, auth=bruno)
    assert other.returncode != 0 and f"does not hold {SLUG}:operator" in other.stderr, other


async def test_an_exported_history_re_verifies_offline_after_the_vouching_key_rotated(
    stack: Stack,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    task_queue: str,
    tmp_path: Path,
) -> None:
    workflow_id = f"rotated-{uuid.uuid4().hex[:8]}"
    await start(dev_env.client, workflow_id, task_queue, programme=PROGRAMME)
    anne = await token(stack.provider, "anne")
    before = await asyncio.to_thread(
        stack.update, workflow_id, "record_milestone", {"kind": "NDA signed"}, auth=anne
    )
    assert before.returncode == 0, before

    # The codec server moves to a new vouching key, keeping the old one listed.
    rotated = Signer(((f"w{TAG}", base64.b64decode(new_vouching_key())), *VOUCHING.keys))
    runner, url = await serve_codec(settings, stack.provider, rotated)
    try:
        after_rotation = dataclasses.replace(stack, codec=url)
        after = await asyncio.to_thread(
            after_rotation.update, workflow_id, "record_milestone", {"kind": "pilot kick-off"}, auth=anne
        )
        assert after.returncode == 0, after
    finally:
        await runner.cleanup()

    folder = tmp_path / "export"
    exported = await asyncio.to_thread(
        passerelle, dev_env.client, "audit", "export", workflow_id, "--out", str(folder)
    )
    assert exported.returncode == 0, exported
    keys = read_keys(folder)
    assert {VOUCHING.key_id, rotated.key_id} <= set(keys)

    # Offline: the export's files, its public keys and the master key; no database, no Temporal.
    runs = read_exports([folder])
    offline = Keyring(None)
    offline.add(keys)
    converter = DataConverter(payload_codec=ActorCodec(EncryptionCodec(settings.encryption_keys), offline))
    found = [p for p in await proofs(runs, converter) if p.update == "record_milestone"]
    assert [(p.verified or {}).get("key") for p in found] == [VOUCHING.key_id, rotated.key_id]
    assert all((p.verified or {}).get("subject") == "anne" for p in found)

    # A key swapped in the export proves nothing of what the real one signed.
    forged = Keyring(None)
    forged.add(
        keys | {VOUCHING.key_id: Signer((("x", base64.b64decode(new_vouching_key())),)).public_keys()["x"]}
    )
    converter = DataConverter(payload_codec=ActorCodec(EncryptionCodec(settings.encryption_keys), forged))
    swapped = [p for p in await proofs(runs, converter) if p.update == "record_milestone"]
    assert swapped[0].verified is None and "does not verify" in str(
        (swapped[0].finding or {}).get("unproven")
    )

    # The timeline of the export says who acted, verified, and by which key.
    shown = await asyncio.to_thread(
        passerelle, dev_env.client, "audit", "timeline", str(folder), "--format", "csv"
    )
    assert shown.returncode == 0, shown
    rows = {r["event"]: r for r in csv.DictReader(io.StringIO(shown.stdout)) if r["event"]}
    assert rows["milestone: NDA signed"]["actor"].startswith(f"verified: key {VOUCHING.key_id} (")
    assert rows["milestone: pilot kick-off"]["actor"].startswith(f"verified: key {rotated.key_id} (")
    assert rows["milestone: pilot kick-off"]["by"] == ANNE
    assert rows["started"]["actor"] == "service"  # the workflow records its own start


async def test_an_expired_token_is_refused_in_one_line(settings: Settings) -> None:
    """The Web UI's path: `/encode` with the user's token, which has expired since sign-in."""
    with oidc_provider({"OIDC_ACCOUNTS": json.dumps(ACCOUNTS), "OIDC_ACCESS_TOKEN_TTL": "1"}) as short:
        async with httpx.AsyncClient() as http:
            tokens, _ = await login(short, "anne", http)
        port = free_port()
        auth = CodecAuth(jwks_url=short.jwks_url, issuer=short.issuer, audience="passerelle", leeway=0)
        runner = await start_codec_server(
            codec_for(settings), ["http://localhost:8233"], "127.0.0.1", port, auth,
            vouching=Vouching(VOUCHING, ClaimsMapping()),
        )  # fmt: skip
        try:
            await asyncio.sleep(2.5)  # past its one second, without the default 30 s of skew
            body = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "e30="}]}
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    f"http://127.0.0.1:{port}/encode",
                    json=body,
                    headers={"Authorization": f"Bearer {tokens.access_token}"},
                )
        finally:
            await runner.cleanup()
    assert answer.status_code == 401
    assert answer.json() == {"error": "the token has expired"}


async def test_a_signed_action_counts_once_and_only_where_it_was_first_used(
    stack: Stack, dev_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str
) -> None:
    """A payload copied out of a history, statement and all, proves nothing a second time: not
    in its own collaboration (a signed `resume` is `{}` too, like an `approve`), not in another."""
    first, other = (f"copied-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for workflow_id in (first, other):
        await start(dev_env.client, workflow_id, task_queue, programme=PROGRAMME)
    anne = await token(stack.provider, "anne")
    sent = await asyncio.to_thread(stack.update, first, "record_milestone", {"kind": "NDA signed"}, auth=anne)
    assert sent.returncode == 0, sent
    history = await dev_env.client.get_workflow_handle(first).fetch_history()
    [accepted] = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    copy = RawValue(accepted.input.args.payloads[0])  # sealed as the history holds it

    with pytest.raises(WorkflowUpdateFailedError) as again:
        await dev_env.client.get_workflow_handle(first).execute_update("record_milestone", copy)
    assert "this signed action was used already" in str(again.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as elsewhere:
        await dev_env.client.get_workflow_handle(other).execute_update("record_milestone", copy)
    assert "used by another collaboration first" in str(elsewhere.value.cause)
    assert [r["kind"] for r in await rows(pool, first)].count("milestone") == 1
    assert "milestone" not in [r["kind"] for r in await rows(pool, other)]


async def test_a_start_is_recorded_as_the_verified_operators_and_refused_to_anyone_else(
    stack: Stack, dev_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str
) -> None:
    anne, bruno = await token(stack.provider, "anne"), await token(stack.provider, "bruno")
    mine, theirs = (f"started-{uuid.uuid4().hex[:8]}" for _ in range(2))

    def start_through_codec(workflow_id: str, auth: str) -> subprocess.CompletedProcess[str]:
        args = ["workflow", "start", "--type", "CollaborationWorkflow", "--task-queue", task_queue]
        args += ["-w", workflow_id, "--input", json.dumps(request_data(programme=PROGRAMME))]
        args += [
            "--address",
            stack.address,
            "--codec-endpoint",
            stack.codec,
            "--codec-auth",
            f"Bearer {auth}",
        ]
        return subprocess.run(
            [find_binary("temporal"), *args], capture_output=True, text=True, timeout=60, check=False
        )

    assert (await asyncio.to_thread(start_through_codec, mine, anne)).returncode == 0
    assert (await asyncio.to_thread(start_through_codec, theirs, bruno)).returncode == 0  # the run decides

    with pytest.raises(WorkflowFailureError) as refused:
        await dev_env.client.get_workflow_handle(theirs).result()
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NotPermitted"
    assert f"does not hold {SLUG}:operator" in str(cause)

    async def started() -> asyncpg.Record:
        [row] = [r for r in await rows(pool, mine) if r["kind"] == "started"]
        return row

    row = await eventually(started)
    assert row["actor"] == ANNE
    who = verified_of(row)
    assert who is not None and who["subject"] == "anne"
