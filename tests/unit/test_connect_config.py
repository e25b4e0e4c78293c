"""Temporal's environment configuration is honoured: variables, TOML profiles, TLS and API keys."""

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from passerelle.platform.settings import load_settings, temporal_connect_config

PROFILES = """
[profile.default]
address = "temporal.internal:7233"
namespace = "programme"

[profile.cloud]
address = "programme.a1b2c.tmprl.cloud:7233"
namespace = "programme.a1b2c"
api_key = "key-from-file"

[profile.mtls]
address = "temporal.internal:7233"
namespace = "programme"
[profile.mtls.tls]
client_cert_path = "{folder}/client.pem"
client_key_path = "{folder}/client.key"
server_ca_cert_path = "{folder}/ca.pem"
server_name = "temporal.internal"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A TOML profile file with a self-hosted default, a Cloud and an mTLS profile."""
    for name, text in {"client.pem": "CERT", "client.key": "KEY", "ca.pem": "CA"}.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILES.format(folder=tmp_path))
    return path


def test_defaults_match_the_dev_stack() -> None:
    """With nothing set: localhost:7233, namespace default, no TLS, no key."""
    assert temporal_connect_config({}) == {"target_host": "localhost:7233", "namespace": "default"}


def test_empty_variables_count_as_unset() -> None:
    """Compose passes unset optional variables as "": no API key, no TLS, no profile then."""
    empty = {"TEMPORAL_API_KEY": "", "TEMPORAL_TLS": "", "TEMPORAL_PROFILE": "", "TEMPORAL_CONFIG_FILE": ""}
    config = temporal_connect_config({"TEMPORAL_ADDRESS": "temporal:7233", **empty})
    assert config == {"target_host": "temporal:7233", "namespace": "default"}


def test_variables_set_address_namespace_and_api_key_with_tls() -> None:
    """TEMPORAL_ADDRESS / NAMESPACE / API_KEY are used; an API key turns TLS on."""
    address = "ns.acct.tmprl.cloud:7233"
    config = temporal_connect_config(
        {"TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": "ns.acct", "TEMPORAL_API_KEY": "k"}
    )
    assert config == {"target_host": address, "namespace": "ns.acct", "api_key": "k", "tls": True}


def test_tls_variables_load_the_client_certificate(config_file: Path) -> None:
    """TEMPORAL_TLS_CLIENT_CERT_PATH / KEY_PATH / SERVER_CA_CERT_PATH become an mTLS config."""
    folder = config_file.parent
    config = temporal_connect_config(
        {
            "TEMPORAL_ADDRESS": "temporal.internal:7233",
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(folder / "client.pem"),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(folder / "client.key"),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(folder / "ca.pem"),
        }
    )
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (b"CERT", b"KEY", b"CA")
    assert "api_key" not in config


def test_profile_file_default_profile(config_file: Path) -> None:
    """TEMPORAL_CONFIG_FILE alone selects its `default` profile."""
    config = temporal_connect_config({"TEMPORAL_CONFIG_FILE": str(config_file)})
    assert config == {"target_host": "temporal.internal:7233", "namespace": "programme"}


def test_cloud_profile_with_api_key(config_file: Path) -> None:
    """TEMPORAL_PROFILE=cloud gives the Cloud address, namespace, API key and TLS."""
    settings = load_settings({"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "cloud"})
    assert settings.temporal == {
        "target_host": "programme.a1b2c.tmprl.cloud:7233",
        "namespace": "programme.a1b2c",
        "api_key": "key-from-file",
        "tls": True,
    }
    assert settings.namespace == "programme.a1b2c"


def test_mtls_profile_reads_certificates_and_variables_override(config_file: Path) -> None:
    """TEMPORAL_PROFILE=mtls loads the certificates; TEMPORAL_NAMESPACE beats the file."""
    config = temporal_connect_config(
        {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "mtls", "TEMPORAL_NAMESPACE": "other"}
    )
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (b"CERT", b"KEY", b"CA")
    assert tls.domain == "temporal.internal"
    assert (config["target_host"], config["namespace"]) == ("temporal.internal:7233", "other")


def test_unknown_profile_or_missing_file_is_a_clear_error(config_file: Path, tmp_path: Path) -> None:
    """A typo in the profile or the file name stops the process instead of connecting elsewhere."""
    with pytest.raises(SystemExit, match="Profile 'nope' not found"):
        temporal_connect_config({"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "nope"})
    with pytest.raises(SystemExit, match="no such file"):
        temporal_connect_config({"TEMPORAL_CONFIG_FILE": str(tmp_path / "missing.toml")})


def test_worker_tuning_and_metrics_from_the_environment() -> None:
    """Pool, concurrency, sticky cache, shutdown grace and the metrics address are read from env."""
    settings = load_settings(
        {
            "PASSERELLE_DB_POOL_MAX": "25",
            "PASSERELLE_MAX_CONCURRENT_ACTIVITIES": "50",
            "PASSERELLE_MAX_CONCURRENT_WORKFLOW_TASKS": "20",
            "PASSERELLE_MAX_CACHED_WORKFLOWS": "500",
            "PASSERELLE_SHUTDOWN_GRACE_SECONDS": "90",
            "PASSERELLE_METRICS_PORT": "9464",
        }
    )
    assert (settings.db_pool_max, settings.max_concurrent_activities) == (25, 50)
    assert (settings.max_concurrent_workflow_tasks, settings.max_cached_workflows) == (20, 500)
    assert (settings.shutdown_grace_seconds, settings.metrics_address) == (90, "0.0.0.0:9464")
    assert load_settings({}).metrics_address is None
    with pytest.raises(SystemExit, match="PASSERELLE_METRICS_PORT must be a whole number"):
        load_settings({"PASSERELLE_METRICS_PORT": "ninety"})
