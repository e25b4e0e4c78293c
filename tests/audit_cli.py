"""Run the installed `passerelle` command against a test server, as an auditor would."""

import os
import subprocess
from pathlib import Path

from temporalio.client import Client

from passerelle.devstack import find_binary

ROOT = Path(__file__).resolve().parent.parent


def passerelle(client: Client, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `passerelle ARGS` pointed at the client's server; return the finished process."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "PYTHONPATH": str(ROOT),  # lets --workflow name a test-only class
        "COLUMNS": "250",
    }
    if database_url:
        env["PASSERELLE_DATABASE_URL"] = database_url
    return subprocess.run(
        [find_binary("passerelle"), *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )
