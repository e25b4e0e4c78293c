"""Configuration, read once at the edge (worker and CLI start-up) from the environment.

Temporal's connection uses Temporal's own environment configuration (`TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE` and the TOML profile
file), so the same variables work for the `temporal` CLI and for Passerelle. Everything else is
`PASSERELLE_*`, with defaults that match `passerelle dev` and `docker-compose.yml`.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from temporalio.envconfig import ClientConfigProfile

from activities.channels.config import SmtpSettings, WebhookSettings
from passerelle.platform.keys import DEFAULT_TTL_SECONDS, EncryptionConfigError, parse_keys
from passerelle.platform.login_settings import LoginSettings, codec_url, login_settings
from passerelle.platform.programmes import Namespaces, namespaces_from, programme_from

DEFAULT_LINK_DAYS = 30  # a partner link is valid this many days from its e-mail
DEFAULT_RETENTION_DAYS = 730  # closed collaborations keep personal data two years by default

TASK_QUEUE = "collaborations"
SMTP_SECURITY = ("starttls", "tls", "none")
SMTP_DEFAULT_PORT = {"starttls": 587, "tls": 465, "none": 25}


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
    metrics_address: str | None  # host:port of the Prometheus endpoint, None = no metrics
    shutdown_grace_seconds: int  # how long running activities may take to finish on SIGTERM
    # Keyword arguments for temporalio.client.Client.connect; may hold an API key, so no repr.
    temporal: Mapping[str, Any] = field(repr=False)
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    # Milestone kinds that notify: ("*",) for all, () for none (the default), else lower-cased kinds.
    notify_milestones: tuple[str, ...] = ()
    # `(key id, key)` pairs, current first; never shown by repr (settings may end up in a log).
    encryption_keys: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    encryption_off: bool = False  # PASSERELLE_ENCRYPTION=off: the worker may run without keys
    # The partner portal (docs/partners.md): its public URL, its link-signing keys (current first,
    # never shown by repr) and how long a link lives. No keys: the e-mails carry no partner links.
    portal_url: str = "http://localhost:8090"
    portal_keys: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    link_days: float = DEFAULT_LINK_DAYS
    # How long a process keeps unwrapped data keys and each chain's current key id: a destroyed
    # key stops opening payloads everywhere within this time (docs/privacy.md).
    key_cache_seconds: float = DEFAULT_TTL_SECONDS
    # Ed25519 seeds that sign actor statements (the codec server and the portal only; current
    # first, never shown by repr): docs/identity.md.
    vouching_keys: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    # `verified`: the worker refuses a human action without a verified actor; `declared`: it
    # records one as declared (a deployment's migration window). docs/identity.md.
    actors: str = "verified"
    # Closed collaborations keep their personal data this long (a playbook may say otherwise).
    retention_days: int = DEFAULT_RETENTION_DAYS
    # An operator's `passerelle`: the OIDC login (`passerelle login`), and the codec server it
    # encodes and decodes through with that login instead of holding keys (None: its own keys).
    # A worker never uses the codec server (`passerelle.platform.client.keys_held_here`).
    login: LoginSettings = field(default_factory=LoginSettings)
    codec_url: str | None = None
    # Each programme's own namespace (`PASSERELLE_PROGRAMME_NAMESPACE`) and the shared one
    # (`TEMPORAL_NAMESPACE`): passerelle.platform.programmes.
    namespaces: Namespaces = field(default_factory=Namespaces)
    # The programme a command acts in (`passerelle --programme`, `PASSERELLE_PROGRAMME`), as a
    # slug; None: the caller's only programme, or every programme for a role in all of them.
    programme: str | None = None
    programme_poll_seconds: float = 60.0  # how often a worker looks for programmes added since

    @property
    def namespace(self) -> str:
        """Return the Temporal namespace in use."""
        return str(self.temporal.get("namespace", "default"))


def in_namespace(settings: Settings, namespace: str) -> Settings:
    """Return the settings connecting to `namespace` instead."""
    return replace(settings, temporal={**settings.temporal, "namespace": namespace})


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


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name) or ""
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"{name} must be positive, not {raw}")
    return value


def smtp_settings(env: Mapping[str, str]) -> SmtpSettings | None:
    """Return the SMTP settings, or None when `PASSERELLE_SMTP_HOST` is unset."""
    host = env.get("PASSERELLE_SMTP_HOST")
    if not host:
        return None
    security = env.get("PASSERELLE_SMTP_TLS", "starttls").strip().lower()
    if security not in SMTP_SECURITY:
        raise SystemExit(f"PASSERELLE_SMTP_TLS must be one of {', '.join(SMTP_SECURITY)}, not {security!r}")
    return SmtpSettings(
        host=host,
        port=_int(env, "PASSERELLE_SMTP_PORT") or SMTP_DEFAULT_PORT[security],
        security=security,
        username=env.get("PASSERELLE_SMTP_USERNAME") or None,
        password=env.get("PASSERELLE_SMTP_PASSWORD") or None,
        sender=env.get("PASSERELLE_SMTP_FROM") or SmtpSettings.sender,
        timeout=_seconds(env, "PASSERELLE_SMTP_TIMEOUT", SmtpSettings.timeout),
    )


def webhook_settings(env: Mapping[str, str]) -> WebhookSettings | None:
    """Return the webhook settings, or None when `PASSERELLE_WEBHOOK_URL` is unset."""
    url = env.get("PASSERELLE_WEBHOOK_URL")
    if not url:
        return None
    if not url.startswith(("https://", "http://")):
        raise SystemExit(f"PASSERELLE_WEBHOOK_URL must be an http(s) URL, not {url!r}")
    return WebhookSettings(
        url=url,
        secret=env.get("PASSERELLE_WEBHOOK_SECRET") or None,
        timeout=_seconds(env, "PASSERELLE_WEBHOOK_TIMEOUT", WebhookSettings.timeout),
    )


def milestone_kinds(raw: str) -> tuple[str, ...]:
    """Parse `PASSERELLE_NOTIFY_MILESTONES`: `all`, `none` or comma-separated milestone kinds."""
    value = raw.strip().lower()
    if value in ("", "none"):
        return ()
    if value == "all":
        return ("*",)
    return tuple(k.strip() for k in value.split(",") if k.strip())


def _metrics_address(env: Mapping[str, str]) -> str | None:
    port = _int(env, "PASSERELLE_METRICS_PORT")
    if port is None:
        return None
    return f"{env.get('PASSERELLE_METRICS_HOST') or '0.0.0.0'}:{port}"  # noqa: S104 - a container's port


def temporal_connect_config(env: Mapping[str, str]) -> dict[str, Any]:
    """Return Client.connect keyword arguments from Temporal's env-config (profile + variables)."""
    env = {k: v for k, v in env.items() if v != ""}  # compose passes unset optional variables as ""
    config_file = Path(env["TEMPORAL_CONFIG_FILE"]) if env.get("TEMPORAL_CONFIG_FILE") else None
    if config_file is not None and not config_file.is_file():
        # envconfig would silently fall back to defaults: a typo must not connect elsewhere.
        raise SystemExit(f"TEMPORAL_CONFIG_FILE: no such file {config_file}")
    try:
        profile = ClientConfigProfile.load(
            profile=env.get("TEMPORAL_PROFILE"), config_source=config_file, override_env_vars=dict(env)
        )
    except RuntimeError as err:  # the SDK's ConfigError: unknown profile, bad TOML, unreadable cert
        raise SystemExit(f"Temporal environment configuration: {err}") from None
    config: dict[str, Any] = dict(profile.to_client_connect_config())
    config.setdefault("target_host", "localhost:7233")
    config.setdefault("namespace", "default")
    return config


DEV_KEY_FILE = "encryption.keys"  # written by `passerelle dev` (encrypted by default) in the state folder


def _key_list(env: Mapping[str, str], variable: str, key_file: Path) -> tuple[tuple[str, bytes], ...]:
    """Return the keys of `variable`, or of the dev stack's `key_file` when the variable is unset;
    a wrong list ends the process with a line naming the variable."""
    raw = env.get(variable, "")
    if not raw.strip() and key_file.is_file():
        raw = key_file.read_text()
    try:
        return parse_keys(raw, variable)
    except EncryptionConfigError as err:
        raise SystemExit(str(err)) from None


def encryption_keys(env: Mapping[str, str], state_dir: Path) -> tuple[tuple[str, bytes], ...]:
    """Return PASSERELLE_ENCRYPTION_KEYS, or the dev stack's key file when the variable is unset."""
    return _key_list(env, "PASSERELLE_ENCRYPTION_KEYS", state_dir / DEV_KEY_FILE)


DEV_PORTAL_KEY_FILE = "portal.keys"  # written by `passerelle dev` in the state folder
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def portal_keys(env: Mapping[str, str], state_dir: Path) -> tuple[tuple[str, bytes], ...]:
    """Return PASSERELLE_PORTAL_KEYS, or the dev stack's portal key file when the variable is unset."""
    keys = _key_list(env, "PASSERELLE_PORTAL_KEYS", state_dir / DEV_PORTAL_KEY_FILE)
    bad = [kid for kid, _ in keys if not _KEY_ID.match(kid)]
    if bad:  # the key id travels in every link, between dots
        raise SystemExit(f"PASSERELLE_PORTAL_KEYS: key id {bad[0]!r} must be letters, digits, - or _")
    return keys


DEV_VOUCHING_KEY_FILE = "vouching.keys"  # written by `passerelle dev` in the state folder
ACTOR_POLICIES = ("verified", "declared")


def vouching_keys(env: Mapping[str, str], state_dir: Path) -> tuple[tuple[str, bytes], ...]:
    """Return PASSERELLE_VOUCHING_KEYS, or the dev stack's vouching key file when it is unset."""
    return _key_list(env, "PASSERELLE_VOUCHING_KEYS", state_dir / DEV_VOUCHING_KEY_FILE)


def _actors(env: Mapping[str, str]) -> str:
    value = (env.get("PASSERELLE_ACTORS") or "verified").strip().lower()
    if value not in ACTOR_POLICIES:
        raise SystemExit(f"PASSERELLE_ACTORS must be `verified` or `declared`, not {value!r}")
    return value


def _link_days(env: Mapping[str, str]) -> float:
    raw = env.get("PASSERELLE_PORTAL_LINK_DAYS") or ""
    try:
        days = float(raw) if raw else DEFAULT_LINK_DAYS
    except ValueError:
        raise SystemExit(f"PASSERELLE_PORTAL_LINK_DAYS must be a number of days, not {raw!r}") from None
    if not 0 < days <= 365:
        raise SystemExit(f"PASSERELLE_PORTAL_LINK_DAYS must be more than 0 and at most 365, not {raw}")
    return days


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (the process environment by default)."""
    env = os.environ if env is None else env
    state_dir = Path(env.get("PASSERELLE_STATE_DIR", ".passerelle"))
    switch = env.get("PASSERELLE_ENCRYPTION", "on").strip().lower()
    if switch not in ("on", "off"):
        raise SystemExit(f"PASSERELLE_ENCRYPTION must be `on` or `off`, not {switch!r}")
    channels = tuple(c.strip() for c in env.get("PASSERELLE_CHANNELS", "log").split(",") if c.strip())
    temporal = temporal_connect_config(env)
    return Settings(
        database_url=env.get("PASSERELLE_DATABASE_URL") or None,
        state_dir=state_dir,
        ui_url=env.get("PASSERELLE_UI_URL", "http://localhost:8233").rstrip("/"),
        task_queue=env.get("PASSERELLE_TASK_QUEUE", TASK_QUEUE),
        channels=channels or ("log",),
        db_pool_max=_int(env, "PASSERELLE_DB_POOL_MAX") or 10,
        max_concurrent_activities=_int(env, "PASSERELLE_MAX_CONCURRENT_ACTIVITIES"),
        max_concurrent_workflow_tasks=_int(env, "PASSERELLE_MAX_CONCURRENT_WORKFLOW_TASKS"),
        # Sticky cache: each cached collaboration costs worker memory (its sandbox instance), so
        # caching every open one would grow the worker with their number. Idle collaborations
        # wake days apart, and an evicted one is rebuilt by replaying its (continue-as-new
        # bounded) history: 1,000 keeps a worker's memory flat whatever the number of open
        # collaborations (bench/scale.py; figures in docs/benchmarks.md).
        max_cached_workflows=_int(env, "PASSERELLE_MAX_CACHED_WORKFLOWS") or 1_000,
        metrics_address=_metrics_address(env),
        shutdown_grace_seconds=_int(env, "PASSERELLE_SHUTDOWN_GRACE_SECONDS") or 30,
        temporal=temporal,
        smtp=smtp_settings(env),
        webhook=webhook_settings(env),
        notify_milestones=milestone_kinds(env.get("PASSERELLE_NOTIFY_MILESTONES", "none")),
        encryption_keys=encryption_keys(env, state_dir),
        encryption_off=switch == "off",
        portal_url=(env.get("PASSERELLE_PORTAL_URL") or Settings.portal_url).rstrip("/"),
        portal_keys=portal_keys(env, state_dir),
        link_days=_link_days(env),
        key_cache_seconds=_seconds(env, "PASSERELLE_KEY_CACHE_SECONDS", DEFAULT_TTL_SECONDS),
        retention_days=_int(env, "PASSERELLE_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS,
        vouching_keys=vouching_keys(env, state_dir),
        actors=_actors(env),
        login=login_settings(env),
        codec_url=codec_url(env),
        namespaces=namespaces_from(env, str(temporal["namespace"])),
        programme=programme_from(env),
        programme_poll_seconds=_seconds(env, "PASSERELLE_PROGRAMME_POLL_SECONDS", 60.0),
    )
