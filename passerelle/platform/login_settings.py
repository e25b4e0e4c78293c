"""The settings of an operator's login (`passerelle login`) and of encoding through the codec server.

Read from `PASSERELLE_OIDC_*` and `PASSERELLE_CODEC_URL` (docs/identity.md, "The operator's
login"). A module of its own, importing neither the Temporal SDK nor the rest of the settings, so
that `passerelle login`, `whoami` and `logout` start without them.

The token cache is one file per provider and client under the user's configuration folder
(`$XDG_CONFIG_HOME/passerelle/logins/`, else `~/.config/passerelle/logins/`), not under
`PASSERELLE_STATE_DIR`: a login belongs to the person, whichever folder they run `passerelle`
from, while the state folder is the dev stack's and defaults to `.passerelle` in the current one.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CLIENT_ID = "passerelle-cli"
DEFAULT_SCOPES = "openid email roles offline_access"
# Where the roles may be, as dotted paths: the suite's provider and Entra ID (`groups`, `roles`),
# Keycloak (`realm_access.roles`).
DEFAULT_ROLES_CLAIMS = ("groups", "roles", "realm_access.roles")


def default_config_dir(env: Mapping[str, str]) -> Path:
    """Return the user's configuration folder for Passerelle (XDG Base Directory)."""
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base.startswith("/") else Path(env.get("HOME") or Path.home()) / ".config"
    return root / "passerelle"


@dataclass(frozen=True)
class LoginSettings:
    """Which provider `passerelle login` signs in with, and where its tokens are kept."""

    issuer: str | None = None
    client_id: str = DEFAULT_CLIENT_ID
    scopes: str = DEFAULT_SCOPES
    # Seconds between polls when the provider names no interval; None: RFC 8628's 5 seconds.
    poll_seconds: float | None = None
    roles_claims: tuple[str, ...] = DEFAULT_ROLES_CLAIMS
    config_dir: Path = field(default_factory=lambda: default_config_dir({}))

    def cache_path(self) -> Path:
        """Return the token cache of this provider and client (it need not exist)."""
        if self.issuer is None:
            raise SystemExit("PASSERELLE_OIDC_ISSUER is not set: which provider do you log in with?")
        ident = hashlib.sha256(f"{self.issuer}\n{self.client_id}".encode()).hexdigest()[:16]
        return self.config_dir / "logins" / f"{ident}.json"


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")):
        raise SystemExit(f"{name} must be an http(s) URL, not {raw!r}")
    return raw.rstrip("/")


def _poll_seconds(env: Mapping[str, str]) -> float | None:
    raw = (env.get("PASSERELLE_OIDC_POLL_SECONDS") or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"PASSERELLE_OIDC_POLL_SECONDS must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 60:
        raise SystemExit(f"PASSERELLE_OIDC_POLL_SECONDS must be more than 0 and at most 60, not {raw}")
    return value


def login_settings(env: Mapping[str, str]) -> LoginSettings:
    """Read `PASSERELLE_OIDC_*`; a wrong value ends the process with a line naming the variable."""
    scopes = " ".join((env.get("PASSERELLE_OIDC_SCOPES") or DEFAULT_SCOPES).split())
    # The variable and default of the actor statements' claims mapping: whoami shows the roles
    # the codec server would read.
    raw_claims = env.get("PASSERELLE_ROLES_CLAIMS") or ""
    claims = tuple(c.strip() for c in raw_claims.split(",") if c.strip())
    if "openid" not in scopes.split():
        raise SystemExit(f"PASSERELLE_OIDC_SCOPES must include openid, not {scopes!r}")
    dev = dev_identity(env)
    issuer = _url(env, "PASSERELLE_OIDC_ISSUER")
    return LoginSettings(
        issuer=issuer or dev.get("issuer"),
        client_id=(env.get("PASSERELLE_OIDC_CLIENT_ID") or "").strip() or DEFAULT_CLIENT_ID,
        scopes=scopes,
        poll_seconds=_poll_seconds(env),
        roles_claims=claims or DEFAULT_ROLES_CLAIMS,
        config_dir=Path(dev["config_dir"])
        if issuer is None and "config_dir" in dev
        else default_config_dir(env),
    )


def codec_url(env: Mapping[str, str]) -> str | None:
    """Return `PASSERELLE_CODEC_URL`, where `passerelle` encodes and decodes payloads, or None;
    the running dev stack's codec server when the variable is unset (`dev_identity`)."""
    return _url(env, "PASSERELLE_CODEC_URL") or dev_identity(env).get("codec_url")


DEV_IDENTITY_FILE = "identity.json"  # written by a running `passerelle dev` in its state folder


def dev_identity(env: Mapping[str, str]) -> dict[str, str]:
    """Return what a running `passerelle dev` tells the commands of its state folder: its codec
    server, its identity provider and the folder of its operator's login; {} without one.

    The dev stack writes it once its operator has signed in and removes it when it stops, so a
    `passerelle` command run next to it goes the production way, through the codec server with a
    login, as `PASSERELLE_CODEC_URL` and `PASSERELLE_OIDC_ISSUER` would say."""
    path = Path(env.get("PASSERELLE_STATE_DIR") or ".passerelle") / DEV_IDENTITY_FILE
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}
