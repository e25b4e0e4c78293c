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


def test_the_oidc_setup_turns_the_login_and_token_checks_on(tmp_path: Path) -> None:
    """The documented OIDC settings: the UI logs users in and forwards their access token; the
    codec server checks it against the provider's keys; only then do both face the network."""
    env = tmp_path / "oidc.env"
    env.write_text(
        ENV_EXAMPLE.read_text()
        + "\n".join(
            [
                "TEMPORAL_AUTH_ENABLED=true",
                "TEMPORAL_AUTH_PROVIDER_URL=https://login.programme.example/realms/ops",
                "TEMPORAL_AUTH_ISSUER_URL=https://login.programme.example/realms/ops",
                "TEMPORAL_AUTH_CLIENT_ID=temporal-ui",
                "TEMPORAL_AUTH_CLIENT_SECRET=from-the-provider",
                "TEMPORAL_AUTH_CALLBACK_URL=https://temporal.programme.example/auth/sso/callback",
                "PASSERELLE_CODEC_JWKS_URL=https://login.programme.example/realms/ops/protocol/openid-connect/certs",
                "PASSERELLE_CODEC_ISSUER=https://login.programme.example/realms/ops",
                "PASSERELLE_CODEC_AUDIENCE=temporal-ui",
                "PASSERELLE_UI_BIND=0.0.0.0",
                "PASSERELLE_CODEC_BIND=0.0.0.0",
                "PASSERELLE_CODEC_URL=https://codec.programme.example",
                "PASSERELLE_CODEC_ALLOWED_HOSTS=codec.programme.example",
            ]
        )
        + "\n"
    )
    done = compose_config(env)
    assert done.returncode == 0, done.stderr
    model = yaml.safe_load(done.stdout)
    ui = model["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true" and ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "https://codec.programme.example"
    codec = model["services"]["codec-server"]["environment"]
    auth = codec_auth_from(codec)
    assert auth.configured and auth.audience == "temporal-ui"
    assert auth.allowed_hosts == ("codec.programme.example",)
