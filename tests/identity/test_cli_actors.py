"""A forged `by` through `passerelle` itself, on a worker that requires verified actors.

The operator's laptop holds `passerelle login`'s tokens and `PASSERELLE_CODEC_URL`, no key: the
codec server checks the login and vouches for its person, so typing someone else's address is
refused in one line, and typing one's own is recorded as verified.
"""

import base64
import dataclasses
import json
import uuid
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from activities.channels.log import LogChannel
from passerelle.platform.client import local_codec_for
from passerelle.platform.codec_auth import CodecAuth
from passerelle.platform.codec_server import Vouching, start_codec_server
from passerelle.platform.identity import ClaimsMapping
from passerelle.platform.oidc_device import save_tokens
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Signer, new_vouching_key
from passerelle.platform.vouching_keys import register
from passerelle.platform.worker import build_worker
from schemas.actors import programme_slug
from tests.e2e.cli import assert_one_line_error, cli_env, passerelle
from tests.factories import request_data
from tests.integration.processes import free_port
from tests.oidc.logins import AUDIENCE, device_login, keyless_cli_env, login_settings_for
from tests.oidc.server import oidc_provider

PROGRAMME = f"Coalition Next {uuid.uuid4().hex[:8]}"
ANNE, CLAIRE = "anne@coalition-next.example", "claire.martin@coalition-next.example"
ACCOUNTS = {
    "anne": {"email": ANNE, "roles": [f"{programme_slug(PROGRAMME)}:operator"]},
    "claire": {"email": CLAIRE, "roles": [f"{programme_slug(PROGRAMME)}:operator"]},
}


async def test_a_forged_by_through_passerelle_is_refused_and_a_true_one_recorded_verified(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    task_queue: str,
    workflow_id: str,
    tmp_path: Path,
) -> None:
    assert settings.database_url is not None
    vouching = Signer(((f"c{uuid.uuid4().hex[:8]}", base64.b64decode(new_vouching_key())),))
    await register(settings.database_url, vouching)
    request = tmp_path / "request.json"
    request.write_text(json.dumps(request_data(programme=PROGRAMME)))
    with oidc_provider({"OIDC_ACCOUNTS": json.dumps(ACCOUNTS)}) as provider:
        login = login_settings_for(provider, tmp_path / "config" / "passerelle")
        save_tokens(login.cache_path(), await device_login(provider, "anne"))
        port = free_port()
        auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience=AUDIENCE)
        runner = await start_codec_server(
            local_codec_for(settings),
            [],
            "127.0.0.1",
            port,
            auth,
            vouching=Vouching(vouching, ClaimsMapping()),
        )
        env = keyless_cli_env(cli_env(dev_env, task_queue), f"http://127.0.0.1:{port}", provider, tmp_path)
        verified = dataclasses.replace(settings, actors="verified", task_queue=task_queue)
        try:
            async with build_worker(dev_env.client, pool, verified, [LogChannel()]):
                started = await passerelle(
                    env, "start", "--file", str(request), "--id", workflow_id, "--json"
                )
                assert started.code == 0, started
                forged = await passerelle(
                    env, "milestone", workflow_id, "--kind", "NDA signed", "--by", CLAIRE
                )
                assert_one_line_error(forged, 2, "by: not the address of your login")
                true = await passerelle(env, "milestone", workflow_id, "--kind", "NDA signed", "--by", ANNE)
                assert true.code == 0, true
        finally:
            await runner.cleanup()

    rows = await pool.fetch("SELECT kind, actor, details FROM milestones WHERE workflow_id = $1", workflow_id)
    milestones = [r for r in rows if r["kind"] == "milestone"]
    assert len(milestones) == 1 and milestones[0]["actor"] == ANNE
    details = milestones[0]["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert details["verified"]["subject"] == "anne" and details["verified"]["key"] == vouching.key_id
