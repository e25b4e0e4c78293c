"""PostgreSQL access: the asyncpg pool with explicit JSON codecs, and the migration runner.

Migrations are the ordered `migrations/NNNN_*.sql` files. Each is applied once, in its own
transaction, under a session advisory lock, so two workers starting at once never race.
"""

import json
from collections.abc import Mapping
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from schemas.records import EventKind

log = structlog.get_logger()

_MIGRATION_LOCK = 0x7061_7373  # "pass": any constant shared by every Passerelle process

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
LEDGER_EXISTS = "SELECT to_regclass('schema_migrations') IS NOT NULL"
APPLIED = "SELECT version FROM schema_migrations"
MARK_APPLIED = "INSERT INTO schema_migrations (version) VALUES ($1)"
KNOWN_KINDS = "SELECT kind FROM event_kinds"
ADD_KINDS = "INSERT INTO event_kinds (kind) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING"


def redact_url(url: str) -> str:
    """Return a database URL fit for printing: its password replaced by `***`."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# The deployment's passwords `passerelle migrate` checks (compose hands them to its one-off).
PASSWORD_VARIABLES = (
    "POSTGRES_PASSWORD",
    "TEMPORAL_DB_PASSWORD",
    "PASSERELLE_DB_OWNER_PASSWORD",
    "PASSERELLE_DB_WORKER_PASSWORD",
)
MIN_PASSWORD_LENGTH = 16
EXAMPLE_PREFIX = "change-me"  # how every placeholder password of .env.example begins


def weak_passwords(url: str, env: Mapping[str, str]) -> list[str]:
    """Return where a weak password is set (variable names only, never a value).

    Weak: one of .env.example's `change-me-*` placeholders, or shorter than 16 characters. A URL
    without a password (a local socket with trust authentication) has none to check.
    """
    found = {"PASSERELLE_DATABASE_URL": urlsplit(url).password or ""}
    found |= {name: env.get(name, "") for name in PASSWORD_VARIABLES}
    return [
        name
        for name, password in found.items()
        if password and (password.startswith(EXAMPLE_PREFIX) or len(password) < MIN_PASSWORD_LENGTH)
    ]


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Give a connection back to the pool as it is (asyncpg still rolls back an open transaction).

    Nothing in Passerelle changes session state on a pooled connection (no SET, LISTEN, cursor or
    advisory lock; the migration lock takes a connection of its own), so asyncpg's default reset
    (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) would only add a round
    trip to every activity.
    """


async def create_pool(url: str, *, max_size: int = 10) -> asyncpg.Pool:
    """Open a connection pool whose connections encode and decode JSON as Python objects."""
    return await asyncpg.create_pool(
        url, min_size=1, max_size=max_size, init=_init_connection, reset=_keep_session
    )


def migration_files() -> list[tuple[str, str]]:
    """Return `(version, sql)` for every migration shipped with Passerelle, in order."""
    folder = resources.files("migrations")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text()) for name in names]


# The workers' least-privilege grants (docs/deployment.md, "Database roles"): read everything (the
# tables and KPI views), add rows, update only the projection, the delivery claims and the data
# keys: milestones and notifications are append-only (the retention sweep pseudonymises a closed
# collaboration's rows through `retention_pseudonymise`, which checks it is closed); no DELETE,
# TRUNCATE or DDL. Applied by the owner with
# `passerelle migrate --grant-worker ROLE` (or PASSERELLE_DB_WORKER_ROLE set, as in the compose
# `migrate` job) after the migrations; anything wider the role had (for instance from older
# default privileges) is revoked first. `ON ALL TABLES` covers only the tables and views that
# exist when it runs, and a plain `passerelle migrate` (or a worker's own at start-up) grants
# nothing: after a migration adds one, run `migrate --grant-worker` again.
# `%1$I` is the role, quoted by `format()`.
WORKER_GRANTS = """
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM %1$I;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %1$I;
GRANT USAGE ON SCHEMA public TO %1$I;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO %1$I;
GRANT INSERT ON collaborations, milestones, notifications, deliveries TO %1$I;
GRANT UPDATE ON collaborations, deliveries TO %1$I;
GRANT INSERT, UPDATE ON portal_links TO %1$I;
GRANT INSERT, UPDATE ON data_keys TO %1$I;
GRANT INSERT ON vouching_keys, vouched_uses TO %1$I;
GRANT EXECUTE ON FUNCTION retention_pseudonymise(text, jsonb, integer) TO %1$I;
"""


async def grant_worker(conn: asyncpg.Connection, role: str) -> None:
    """Give `role` exactly the workers' rights on Passerelle's tables and views (idempotent)."""
    if not await conn.fetchval("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", role):
        raise SystemExit(
            f"--grant-worker: role {role!r} does not exist "
            "(create it first: docs/deployment.md, Database roles)"
        )
    statements: str = await conn.fetchval("SELECT format($1::text, $2::text)", WORKER_GRANTS, role)
    async with conn.transaction():
        await conn.execute(statements)
    log.info("worker role granted", role=role)


async def _missing_kinds(conn: asyncpg.Connection) -> list[str]:
    """Return the kinds of `EventKind` the `event_kinds` table lacks: those of a release that
    records a new kind of event (`migrations/0010_event_kinds.sql`)."""
    known = {row["kind"] for row in await conn.fetch(KNOWN_KINDS)}
    return sorted({kind.value for kind in EventKind} - known)


async def migrate(url: str, *, worker_role: str | None = None) -> list[str]:
    """Apply the migrations not yet applied; return their versions.

    When nothing is pending no DDL runs at all, so a least-privilege worker role (no CREATE, see
    `deploy/worker_role.sql`) starts fine; when something is pending and the role may not apply
    it, the error says to run `passerelle migrate` as the owner. With `worker_role`, the owner
    then grants that role the workers' rights (`WORKER_GRANTS`).
    """
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            exists = await conn.fetchval(LEDGER_EXISTS)
            done = {row["version"] for row in await conn.fetch(APPLIED)} if exists else set()
            pending = [(v, sql) for v, sql in migration_files() if v not in done]
            missing: list[str] = []
            try:
                if pending and not exists:
                    await conn.execute(CREATE_LEDGER)
                for version, sql in pending:
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(MARK_APPLIED, version)
                    log.info("migration applied", version=version)
                missing = await _missing_kinds(conn)
                if missing:
                    await conn.execute(ADD_KINDS, missing)
                    log.info("event kinds added", kinds=missing)
            except asyncpg.InsufficientPrivilegeError:
                if pending or missing:
                    what = f"migrations {', '.join(v for v, _ in pending)}" if pending else ""
                    what = what or f"event kinds {', '.join(missing)}"
                    raise SystemExit(
                        f"{what} are pending and this database role may not apply them: "
                        "run `passerelle migrate` as the owner role"
                    ) from None
                raise SystemExit(  # a role granted before `event_kinds` existed cannot read it
                    "this database role may not read the event kinds: run `passerelle migrate "
                    "--grant-worker ROLE` as the owner role"
                ) from None
            if worker_role is not None:
                await grant_worker(conn, worker_role)
            return [v for v, _ in pending]
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    finally:
        await conn.close()
