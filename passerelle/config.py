"""Configuration, read once at the edge (worker and CLI start-up) from the environment.

Temporal's connection uses Temporal's own environment configuration (`TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE` and the TOML profile
file), so the same variables work for the `temporal` CLI and for Passerelle. Everything else is
`PASSERELLE_*`, with defaults that match `passerelle dev` and `docker-compose.yml`.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.envconfig import ClientConfigProfile

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
    temporal: Mapping[str, Any]  # keyword arguments for temporalio.client.Client.connect

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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (the process environment by default)."""
    env = os.environ if env is None else env
    channels = tuple(c.strip() for c in env.get("PASSERELLE_CHANNELS", "log").split(",") if c.strip())
    return Settings(
        database_url=env.get("PASSERELLE_DATABASE_URL") or None,
        state_dir=Path(env.get("PASSERELLE_STATE_DIR", ".passerelle")),
        ui_url=env.get("PASSERELLE_UI_URL", "http://localhost:8233").rstrip("/"),
        task_queue=env.get("PASSERELLE_TASK_QUEUE", TASK_QUEUE),
        channels=channels or ("log",),
        db_pool_max=_int(env, "PASSERELLE_DB_POOL_MAX") or 10,
        max_concurrent_activities=_int(env, "PASSERELLE_MAX_CONCURRENT_ACTIVITIES"),
        max_concurrent_workflow_tasks=_int(env, "PASSERELLE_MAX_CONCURRENT_WORKFLOW_TASKS"),
        # Sticky cache: each cached collaboration costs ~160 KB of worker memory (its sandbox
        # instance), so 10,000 would need ~1.6 GB. Idle collaborations wake days apart, and an
        # evicted one is rebuilt by replaying its (continue-as-new bounded) history: 1,000 keeps
        # a worker under ~300 MB whatever the number of open collaborations (bench/scale.py).
        max_cached_workflows=_int(env, "PASSERELLE_MAX_CACHED_WORKFLOWS") or 1_000,
        temporal=temporal_connect_config(env),
    )
