"""Configuration, read once at the edge (worker and CLI start-up) from the environment.

Temporal's connection uses Temporal's own environment configuration (`TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE` and the TOML profile
file), so the same variables work for the `temporal` CLI and for Passerelle. Everything else is
`PASSERELLE_*`, with defaults that match `passerelle dev` and `docker-compose.yml`.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.envconfig import ClientConfigProfile

from passerelle.codec import EncryptionConfigError, parse_keys

TASK_QUEUE = "collaborations"


@dataclass(frozen=True)
class Settings:
    """Every knob of a Passerelle process."""

    database_url: str | None
    state_dir: Path
    ui_url: str
    task_queue: str
    channels: tuple[str, ...]
    db_pool_max: int
    max_concurrent_activities: int | None
    max_concurrent_workflow_tasks: int | None
    max_cached_workflows: int
    # Keyword arguments for temporalio.client.Client.connect; may hold an API key, so no repr.
    temporal: Mapping[str, Any] = field(repr=False)
    # `(key id, key)` pairs, current first; never shown by repr (settings may end up in a log).
    encryption_keys: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    encryption_off: bool = False  # PASSERELLE_ENCRYPTION=off: the worker may run without keys

    @property
    def namespace(self) -> str:
        """Return the Temporal namespace in use."""
        return str(self.temporal.get("namespace", "default"))


def _int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"{name} must be positive, not {value}")
    return value


def temporal_connect_config(env: Mapping[str, str]) -> dict[str, Any]:
    """Return Client.connect keyword arguments from Temporal's env-config (profile + variables)."""
    profile = ClientConfigProfile.load(
        profile=env.get("TEMPORAL_PROFILE"),
        config_source=Path(env["TEMPORAL_CONFIG_FILE"]) if env.get("TEMPORAL_CONFIG_FILE") else None,
        override_env_vars=dict(env),
    )
    config: dict[str, Any] = dict(profile.to_client_connect_config())
    config.setdefault("target_host", "localhost:7233")
    config.setdefault("namespace", "default")
    return config


DEV_KEY_FILE = "encryption.keys"  # written by `passerelle dev --encrypt` in the state folder


def encryption_keys(env: Mapping[str, str], state_dir: Path) -> tuple[tuple[str, bytes], ...]:
    """Return PASSERELLE_ENCRYPTION_KEYS, or the dev stack's key file when the variable is unset."""
    raw = env.get("PASSERELLE_ENCRYPTION_KEYS", "")
    key_file = state_dir / DEV_KEY_FILE
    if not raw.strip() and key_file.is_file():
        raw = key_file.read_text()
    try:
        return parse_keys(raw)
    except EncryptionConfigError as err:
        raise SystemExit(str(err)) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (the process environment by default)."""
    env = os.environ if env is None else env
    state_dir = Path(env.get("PASSERELLE_STATE_DIR", ".passerelle"))
    switch = env.get("PASSERELLE_ENCRYPTION", "on").strip().lower()
    if switch not in ("on", "off"):
        raise SystemExit(f"PASSERELLE_ENCRYPTION must be `on` or `off`, not {switch!r}")
    channels = tuple(c.strip() for c in env.get("PASSERELLE_CHANNELS", "log").split(",") if c.strip())
    return Settings(
        database_url=env.get("PASSERELLE_DATABASE_URL") or None,
        state_dir=state_dir,
        ui_url=env.get("PASSERELLE_UI_URL", "http://localhost:8233").rstrip("/"),
        task_queue=env.get("PASSERELLE_TASK_QUEUE", TASK_QUEUE),
        channels=channels or ("log",),
        db_pool_max=_int(env, "PASSERELLE_DB_POOL_MAX") or 10,
        max_concurrent_activities=_int(env, "PASSERELLE_MAX_CONCURRENT_ACTIVITIES"),
        max_concurrent_workflow_tasks=_int(env, "PASSERELLE_MAX_CONCURRENT_WORKFLOW_TASKS"),
        max_cached_workflows=_int(env, "PASSERELLE_MAX_CACHED_WORKFLOWS") or 10_000,
        temporal=temporal_connect_config(env),
        encryption_keys=encryption_keys(env, state_dir),
        encryption_off=switch == "off",
    )
