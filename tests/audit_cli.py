"""Run the installed `passerelle` command against a test server, as an auditor would."""

import os
import re
import subprocess
from pathlib import Path

from temporalio.client import Client

from passerelle.devstack.servers import find_binary
from tests import session

ROOT = Path(__file__).resolve().parent.parent


def passerelle(
    client: Client, *args: str, database_url: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run `passerelle ARGS` pointed at the client's server; return the finished process.

    `extra` variables are added to the environment (e.g. other `PASSERELLE_ENCRYPTION_KEYS`).
    """
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "PYTHONPATH": str(ROOT),  # lets --workflow name a test-only class
        "COLUMNS": "250",
        **extra,
    }
    if "PASSERELLE_DATABASE_URL" not in extra and (database_url or session.database_url):
        env["PASSERELLE_DATABASE_URL"] = database_url or session.database_url or ""  # the data keys
    return subprocess.run(
        [find_binary("passerelle"), *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )


def temporal_show(client: Client, workflow_id: str) -> str:
    """Return `temporal workflow show --output json` for the workflow's latest run."""
    address = client.service_client.config.target_host
    args = ["workflow", "show", "-w", workflow_id, "--output", "json", "--address", address]
    return subprocess.run([find_binary("temporal"), *args], capture_output=True, text=True, check=True).stdout


def alter_first_task_id(folder: Path) -> None:
    """Change one task id in the first history file of an export: a one-character edit."""
    file = next(folder.glob("001-*.json"))
    text = file.read_text()
    altered = re.sub(r'"taskId": "(\d+)"', lambda m: f'"taskId": "{int(m.group(1)) + 1}"', text, count=1)
    assert altered != text
    file.write_text(altered)
