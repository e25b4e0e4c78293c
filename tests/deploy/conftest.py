"""Helpers for the deployment files: the repository root and a real Compose parser."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"


def compose_binary() -> str:
    """Return Debian's `docker-compose`; in CI it must exist (.ci/run installs it)."""
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing in CI: .ci/run should have installed it")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    return found


def compose_config(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose config` on the repository's file with only `env_file` for variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES", "TEMPORAL", "PASSERELLE"))}
    return subprocess.run(
        [
            compose_binary(),
            "--project-directory",
            str(ROOT),
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(env_file),
            "config",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """The compose model as the real parser resolves it with `.env.example`."""
    done = compose_config(ENV_EXAMPLE)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)
