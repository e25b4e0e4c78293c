"""docker-compose.yml, read by a real Compose implementation: valid, ordered, pinned, scalable."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from passerelle.cli import full_app
from passerelle.platform.codec_auth import codec_auth_from
from tests.deploy.conftest import ENV_EXAMPLE, ROOT, compose_config

PASSERELLE_SERVICES = {"migrate", "setup", "worker", "portal"}
CONDITIONS = {"service_healthy", "service_completed_successfully"}


def test_compose_file_is_valid_for_docker_compose() -> None:
    """`docker-compose config -q` accepts the file with the example settings."""
    done = compose_config(ENV_EXAMPLE, "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    """No password has a default: without .env, Compose names the missing secret."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    done = compose_config(empty, "-q")
    assert done.returncode != 0
    assert "PASSWORD" in done.stderr


def test_topology_has_every_service(compose: dict[str, Any]) -> None:
    """PostgreSQL, Temporal's schema job, server, namespace job and UI, and Passerelle's three."""
    assert set(compose["services"]) >= {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-namespace",
        "temporal-ui",
        *PASSERELLE_SERVICES,
    }
    temporal = compose["services"]["temporal"]["environment"]
    assert temporal["DB"] == "postgres12"
    assert {"POSTGRES_SEEDS", "POSTGRES_USER", "POSTGRES_PWD"} <= set(temporal)


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    """Each image names a version, never `latest` or nothing."""
    for name, service in compose["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"{name}: {image} is not pinned"


def test_start_order_waits_for_health_or_completion(compose: dict[str, Any]) -> None:
    """Every dependency has a condition; a `service_healthy` target has a health check."""
    services = compose["services"]
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert rule["condition"] in CONDITIONS, f"{name} -> {target}: {rule}"
            if rule["condition"] == "service_healthy":
                assert services[target]["healthcheck"]["test"] != ["NONE"], f"{target} has no health check"
    assert set(services["worker"]["depends_on"]) == {"migrate", "setup"}
    schema_job = services["temporal"]["depends_on"]["temporal-schema"]
    assert schema_job["condition"] == "service_completed_successfully"


def test_workers_can_scale(compose: dict[str, Any]) -> None:
    """No fixed container name or host port on the worker, so `--scale worker=3` works."""
    worker = compose["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["healthcheck"]["test"] == ["CMD", "passerelle", "worker", "--healthcheck"]


def test_passerelle_services_run_existing_commands(compose: dict[str, Any]) -> None:
    """Each Passerelle service is built from the Dockerfile and runs a real `passerelle` command."""
    commands = set(typer.main.get_command(full_app()).commands)  # type: ignore[attr-defined]
    for name in PASSERELLE_SERVICES:
        service = compose["services"][name]
        assert (Path(service["build"]["context"]) / "Dockerfile").is_file()
        assert service["command"][0] in commands, f"{name}: unknown command {service['command']}"


def test_passerelle_services_reach_the_compose_temporal_by_default(compose: dict[str, Any]) -> None:
    """TEMPORAL_ADDRESS defaults to the `temporal` service's internal frontend, which needs no
    token; no API key unless one is set."""
    for name in PASSERELLE_SERVICES:
        env = compose["services"][name]["environment"]
        assert (env["TEMPORAL_ADDRESS"], env["TEMPORAL_API_KEY"]) == ("temporal:7236", "")


def test_workers_use_the_restricted_role(compose: dict[str, Any]) -> None:
    """Workers connect as the rows-only role; only `migrate` uses the schema owner."""
    env = {name: compose["services"][name]["environment"] for name in PASSERELLE_SERVICES}
    assert env["worker"]["PASSERELLE_DATABASE_URL"].startswith("postgresql://passerelle_worker:")
    assert env["setup"]["PASSERELLE_DATABASE_URL"].startswith("postgresql://passerelle_worker:")
    assert env["migrate"]["PASSERELLE_DATABASE_URL"].startswith("postgresql://passerelle:")


def test_mounted_files_and_scripts_exist(compose: dict[str, Any]) -> None:
    """Every bind mount and every script a job runs is in the repository."""
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("/"):
                assert Path(source).exists(), f"{name}: {source} is missing"
        command = service.get("command") or []
        for arg in command:
            if arg.startswith("/deploy/"):
                assert (ROOT / "deploy/temporal" / arg.removeprefix("/deploy/")).is_file(), f"{name}: {arg}"


def published(compose: dict[str, Any]) -> dict[str, list[str]]:
    """Return each service's published ports as `host_ip:published:target/proto` strings."""
    return {name: [str(p) for p in s.get("ports", [])] for name, s in compose["services"].items()}


def test_nothing_is_published_beyond_loopback_by_default(compose: dict[str, Any]) -> None:
    """With the example settings, every host port (the Web UI and the codec server included) is on
    127.0.0.1: nothing unauthenticated is reachable from the network."""
    ports = [p for service in published(compose).values() for p in service]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports
    assert published(compose)["temporal-ui"] == ["127.0.0.1:8080:8080/tcp"]
    ui = compose["services"]["temporal-ui"]["environment"]
    assert (ui["TEMPORAL_AUTH_ENABLED"], ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"]) == ("false", "false")


def test_the_web_ui_image_is_the_one_the_dev_stack_runs(compose: dict[str, Any]) -> None:
    """`make up` and compose show the same UI: the tag is the version the bundled CLI serves."""
    temporal = Path(sys.executable).parent / "temporal"
    done = subprocess.run([str(temporal), "--version"], capture_output=True, text=True, check=True)
    version = re.search(r"UI (\d+\.\d+\.\d+)", done.stdout)
    assert version, done.stdout
    assert compose["services"]["temporal-ui"]["image"] == f"temporalio/ui:{version[1]}"


JWKS = "https://login.programme.example/realms/ops/protocol/openid-connect/certs"
# The documented OIDC settings (docs/deployment.md, "A login in front of the Web UI").
OIDC_SETTINGS = (
    "TEMPORAL_AUTH_ENABLED=true",
    "TEMPORAL_AUTH_PROVIDER_URL=https://login.programme.example/realms/ops",
    "TEMPORAL_AUTH_ISSUER_URL=https://login.programme.example/realms/ops",
    "TEMPORAL_AUTH_CLIENT_ID=temporal-ui",
    "TEMPORAL_AUTH_CLIENT_SECRET=from-the-provider",
    "TEMPORAL_AUTH_CALLBACK_URL=https://temporal.programme.example/auth/sso/callback",
    f"PASSERELLE_CODEC_JWKS_URL={JWKS}",
    "PASSERELLE_CODEC_ISSUER=https://login.programme.example/realms/ops",
    "PASSERELLE_CODEC_AUDIENCE=temporal-ui",
    "PASSERELLE_UI_BIND=0.0.0.0",
    "PASSERELLE_CODEC_BIND=0.0.0.0",
    "PASSERELLE_CODEC_URL=https://codec.programme.example",
    "PASSERELLE_CODEC_ALLOWED_HOSTS=codec.programme.example",
)


def compose_with(tmp_path: Path, *settings: str) -> dict[str, Any]:
    """Return the compose model for `.env.example` with `settings` (`NAME=value`) after it."""
    env = tmp_path / "settings.env"
    env.write_text(ENV_EXAMPLE.read_text() + "\n".join(settings) + "\n")
    done = compose_config(env)
    assert done.returncode == 0, done.stderr
    model: dict[str, Any] = yaml.safe_load(done.stdout)
    return model


def test_the_oidc_setup_turns_the_login_and_token_checks_on(tmp_path: Path) -> None:
    """The documented OIDC settings: the UI logs users in and forwards their access token; the
    codec server checks it against the provider's keys; only then do both face the network."""
    model = compose_with(tmp_path, *OIDC_SETTINGS)
    ui = model["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true" and ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "https://codec.programme.example"
    codec = model["services"]["codec-server"]["environment"]
    auth = codec_auth_from(codec)
    assert auth.configured and auth.audience == "temporal-ui"
    assert auth.allowed_hosts == ("codec.programme.example",)


# --- Programmes: who sees what, enforced where (docs/deployment.md) ---

SYSTEM_SERVICES = {"frontend", "internal-frontend", "history", "matching", "worker"}
# A variable whose value is a credential: a password, a key, a token, a client secret.
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|_KEYS?$")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")
DEPLOYMENT = ROOT / "docs/deployment.md"
COMPOSE_FILE = ROOT / "docker-compose.yml"


def jwt_checks(server: dict[str, str]) -> tuple[str, str]:
    """Return the server's authorizer and claim mapper, as its environment names them."""
    return server["TEMPORAL_AUTH_AUTHORIZER"], server["TEMPORAL_AUTH_CLAIM_MAPPER"]


def test_the_server_checks_every_callers_token_whatever_the_env_file(compose: dict[str, Any]) -> None:
    """The default JWT claim mapper and the default authorizer are written in the compose file
    itself, not read from .env: no setting turns the checks off. With the example settings no
    JWKS URL is set, so the server accepts no token (fail closed). The internal frontend, which
    the server's own system worker needs once the authorizer is on, is started with the rest."""
    written = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["temporal"]["environment"]
    assert jwt_checks(written) == ("default", "default")
    server = compose["services"]["temporal"]["environment"]
    assert jwt_checks(server) == ("default", "default")
    assert server["TEMPORAL_JWT_KEY_SOURCE1"] == ""
    assert server["TEMPORAL_JWT_PERMISSIONS_CLAIM"] == "permissions"
    assert server["USE_INTERNAL_FRONTEND"] == "true"
    assert set(server["TEMPORAL_SERVICES"].split(",")) == SYSTEM_SERVICES


def test_only_the_checked_frontend_is_published_and_the_ui_goes_through_it(compose: dict[str, Any]) -> None:
    """The server publishes its public frontend (7233) alone, on loopback: the internal frontend
    (7236, every caller a system admin) and the internode ports stay inside the compose network.
    The Web UI reaches the public one, so each user sees what their token permits; the namespace
    job and Passerelle's services the internal one."""
    assert published(compose)["temporal"] == ["127.0.0.1:7233:7233/tcp"]
    internal = {"7234", "7235", "7236", "7239"}
    for name, ports in published(compose).items():
        assert not [p for p in ports if set(re.split(r"[:/]", p)) & internal], f"{name}: {ports}"
    services = compose["services"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert services["temporal-namespace"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7236"


def test_with_the_login_the_server_checks_tokens_against_the_providers_keys(tmp_path: Path) -> None:
    """With the documented OIDC settings the server fetches the same JWKS as the codec server
    (one provider, one key set), and the UI logs users in and passes their access token both to
    the server and to the codec server."""
    model = compose_with(tmp_path, *OIDC_SETTINGS)
    server = model["services"]["temporal"]["environment"]
    codec = model["services"]["codec-server"]["environment"]
    assert server["TEMPORAL_JWT_KEY_SOURCE1"] == codec["PASSERELLE_CODEC_JWKS_URL"] == JWKS
    assert jwt_checks(server) == ("default", "default")
    ui = model["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_AUTH_ENABLED"] == ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert ui["TEMPORAL_AUTH_CLIENT_SECRET"] == "from-the-provider"


def test_a_service_account_token_reaches_the_public_frontend(tmp_path: Path) -> None:
    """The other documented way for Passerelle's services: the public frontend with a service
    account's access token as the API key (sent as a bearer token), TLS off on the compose
    network."""
    model = compose_with(
        tmp_path,
        "PASSERELLE_TEMPORAL_ADDRESS=temporal:7233",
        "PASSERELLE_TEMPORAL_API_KEY=eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
        "PASSERELLE_TEMPORAL_TLS=false",
    )
    for name in PASSERELLE_SERVICES:
        env = model["services"][name]["environment"]
        assert (env["TEMPORAL_ADDRESS"], env["TEMPORAL_TLS"]) == ("temporal:7233", "false"), name
        assert env["TEMPORAL_API_KEY"] == "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", name


def test_no_secret_has_a_default() -> None:
    """Every credential the compose file reads is required (`${X:?...}`) or empty when unset
    (off: no login, no API key, no static codec token): never a value written in the file. The
    example settings hold `change-me` placeholders (which `passerelle migrate` refuses) or nothing."""
    text = COMPOSE_FILE.read_text()
    secrets: dict[str, set[tuple[str, str]]] = {}
    for name, operator, default in INTERPOLATION.findall(text):
        if SECRET.search(name):
            secrets.setdefault(name, set()).add((operator, default))
    assert len(secrets) >= 10, sorted(secrets)
    for name, uses in secrets.items():
        for operator, default in uses:
            assert operator in (":?", ":-"), f"{name}: ${{{name}{operator}{default}}}"
            assert operator == ":?" or default == "", f"{name} defaults to {default!r}"
    lines = [line for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")]
    example = dict(line.split("=", 1) for line in lines)
    for name in secrets:
        assert name in example, f"{name} is not in .env.example"
        assert example[name] == "" or "change-me" in example[name], f"{name} in .env.example"


def test_every_passerelle_service_gets_the_programme_namespace_template(compose: dict[str, Any]) -> None:
    """The template the worker, the CLI and the codec server format with a programme's slug is
    the documented default, once `{programme}`, and reaches every Passerelle service."""
    for name in {*PASSERELLE_SERVICES, "codec-server"}:
        env = compose["services"][name]["environment"]
        assert env["PASSERELLE_PROGRAMME_NAMESPACE"] == "passerelle-{programme}", name
        assert env["TEMPORAL_NAMESPACE"] == "default", name
    assert "| `PASSERELLE_PROGRAMME_NAMESPACE` | `passerelle-{programme}` |" in DEPLOYMENT.read_text()


def documented_settings(block: str) -> dict[str, str]:
    """Return the `NAME=value` lines of a shell block, without their comments."""
    found = {}
    for line in block.splitlines():
        match = re.match(r"^([A-Z_][A-Z0-9_]*)=(\S*)", line.strip())
        if match:
            found[match[1]] = match[2].strip('"')
    return found


def test_the_permissions_claim_is_the_one_the_docs_name(tmp_path: Path) -> None:
    """The claim the server reads the permissions from: compose's default is the one the docs
    state, and each provider's settings in the docs name either it or one of the claims that
    provider's block reads the programme roles from (Entra ID: `roles`), and reach the server."""
    docs = DEPLOYMENT.read_text()
    stated = re.search(r"\| `TEMPORAL_JWT_PERMISSIONS_CLAIM` \| `(\w+)` \|", docs)
    assert stated, "docs/deployment.md states no default for TEMPORAL_JWT_PERMISSIONS_CLAIM"
    default = stated[1]
    assert f"${{TEMPORAL_JWT_PERMISSIONS_CLAIM:-{default}}}" in COMPOSE_FILE.read_text()
    assert f"TEMPORAL_JWT_PERMISSIONS_CLAIM={default}\n" in ENV_EXAMPLE.read_text()
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", docs, re.S) if "TEMPORAL_JWT_PERMISSIONS_CLAIM=" in b]
    assert len(blocks) >= 2, "the Keycloak and Entra ID settings name the permissions claim"
    for block in blocks:
        settings = documented_settings(block)
        claim = settings["TEMPORAL_JWT_PERMISSIONS_CLAIM"]
        roles_claims = settings.get("PASSERELLE_ROLES_CLAIMS", "").split(",")
        assert claim == default or claim in roles_claims, block
        model = compose_with(tmp_path, *OIDC_SETTINGS, f"TEMPORAL_JWT_PERMISSIONS_CLAIM={claim}")
        assert model["services"]["temporal"]["environment"]["TEMPORAL_JWT_PERMISSIONS_CLAIM"] == claim
