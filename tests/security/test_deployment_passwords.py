"""`passerelle migrate`, the first step of a deployment, refuses the example and short passwords."""

import pytest

from passerelle.platform.db import weak_passwords
from tests.deploy.conftest import ENV_EXAMPLE
from tests.e2e.cli import assert_one_line_error, passerelle

STRONG = "Zq4-wT9_rL2-vN7_pX5k"
EXAMPLE = {
    line.split("=", 1)[0]: line.split("=", 1)[1]
    for line in ENV_EXAMPLE.read_text().splitlines()
    if "PASSWORD=" in line and not line.startswith("#")
}


def test_every_example_password_is_refused() -> None:
    assert len(EXAMPLE) == 4, EXAMPLE
    url = f"postgresql://passerelle:{STRONG}@db/passerelle"
    assert set(weak_passwords(url, EXAMPLE)) == set(EXAMPLE)


@pytest.mark.parametrize("password", ["change-me-owner", "short-but-real", "x" * 15])
def test_a_weak_database_url_password_is_named_never_shown(password: str) -> None:
    assert weak_passwords(f"postgresql://passerelle:{password}@db/passerelle", {}) == [
        "PASSERELLE_DATABASE_URL"
    ]


def test_strong_or_absent_passwords_pass() -> None:
    env = dict.fromkeys(EXAMPLE, STRONG)
    assert weak_passwords(f"postgresql://passerelle:{STRONG}@db/passerelle", env) == []
    assert weak_passwords("postgresql://postgres@/passerelle?host=/tmp", {}) == []  # a local socket


async def test_migrate_refuses_before_touching_the_database() -> None:
    env = {**EXAMPLE, "PASSERELLE_DATABASE_URL": f"postgresql://passerelle:{STRONG}@127.0.0.1:9/passerelle"}
    result = await passerelle(env, "migrate")
    assert_one_line_error(result, 1, "weak password in POSTGRES_PASSWORD")
    assert not any(value in result.err for value in EXAMPLE.values())
