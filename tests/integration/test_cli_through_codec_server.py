"""An operator's `passerelle` with no key steers a collaboration through the codec server.

The laptop has `passerelle login`'s tokens and `PASSERELLE_CODEC_URL`, neither encryption key nor
database; the codec server (in this process) holds the keys and checks the login against the
suite's OpenID provider; the worker decodes with its own keys. What the laptop writes is sealed
in Temporal's history all the same.
"""

import json
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.platform.client import local_codec_for
from passerelle.platform.codec import sealed
from passerelle.platform.codec_auth import CodecAuth
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.oidc_device import Tokens, save_tokens
from passerelle.platform.settings import Settings
from tests.conftest import WorkerFactory
from tests.e2e.cli import assert_one_line_error, cli_env, passerelle
from tests.factories import request_data
from tests.integration.processes import free_port
from tests.oidc.logins import AUDIENCE, device_login, keyless_cli_env, login_settings_for
from tests.oidc.server import oidc_provider
from tests.workflows.helpers import latest_status


async def test_an_operator_without_keys_starts_and_advances_through_the_codec_server(
    dev_env: WorkflowEnvironment,
    clear_client: Client,
    run_worker: WorkerFactory,
    settings: Settings,
    task_queue: str,
    workflow_id: str,
    tmp_path: Path,
) -> None:
    request = tmp_path / "request.json"
    # Anne's login holds a role in Coalition Next (the suite's provider): a start of another
    # programme is refused in one line before anything is sent.
    request.write_text(json.dumps(request_data(programme="Coalition Next")))
    with oidc_provider() as provider:
        login = login_settings_for(provider, tmp_path / "config" / "passerelle")
        save_tokens(login.cache_path(), await device_login(provider, "anne"))
        port = free_port()
        auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience=AUDIENCE)
        runner = await start_codec_server(local_codec_for(settings), [], "127.0.0.1", port, auth)
        env = keyless_cli_env(cli_env(dev_env, task_queue), f"http://127.0.0.1:{port}", provider, tmp_path)
        try:
            async with run_worker(dev_env.client):
                started = await passerelle(
                    env, "start", "--file", str(request), "--id", workflow_id, "--json"
                )
                assert started.code == 0, started
                assert started.json()["stage"] == "introduction"
                other = tmp_path / "other.json"
                other.write_text(json.dumps(request_data(programme=f"Prog {uuid.uuid4()}")))
                outside = await passerelle(env, "start", "--file", str(other), "--id", f"{workflow_id}-x")
                assert_one_line_error(
                    outside, 1, "your login holds no role in programme prog-", "yours: coalition-next"
                )
                moved = await passerelle(
                    env,
                    "advance",
                    workflow_id,
                    "--to",
                    "qualification",
                    "--by",
                    "anne@coalition-next.example",
                )
                assert moved.code == 0, moved
                assert (await latest_status(dev_env.client, workflow_id)).stage == "qualification"

                save_tokens(login.cache_path(), Tokens(access_token="x" * 64, expires_at=4e9))
                refused = await passerelle(env, "status", workflow_id, "--json")
                assert_one_line_error(
                    refused, 1, "the codec server refused your token", "run passerelle login"
                )
        finally:
            await runner.cleanup()

    history = await clear_client.get_workflow_handle(workflow_id).fetch_history()
    inputs = [e.workflow_execution_started_event_attributes.input for e in history.events if e.event_id == 1]
    assert inputs and all(sealed(p) for p in inputs[0].payloads), "what the laptop sent is sealed"
