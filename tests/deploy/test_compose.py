"""docker-compose.yml, read by a real Compose implementation: valid, ordered, pinned, scalable."""

from pathlib import Path
from typing import Any

import typer

from passerelle.cli import app
from tests.deploy.conftest import ENV_EXAMPLE, ROOT, compose_config

PASSERELLE_SERVICES = {"migrate", "setup", "worker"}
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
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    for name in PASSERELLE_SERVICES:
        service = compose["services"][name]
        assert (Path(service["build"]["context"]) / "Dockerfile").is_file()
        assert service["command"][0] in commands, f"{name}: unknown command {service['command']}"


def test_passerelle_services_reach_the_compose_temporal_by_default(compose: dict[str, Any]) -> None:
    """TEMPORAL_ADDRESS defaults to the `temporal` service; no API key unless one is set."""
    for name in PASSERELLE_SERVICES:
        env = compose["services"][name]["environment"]
        assert (env["TEMPORAL_ADDRESS"], env["TEMPORAL_API_KEY"]) == ("temporal:7233", "")


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
