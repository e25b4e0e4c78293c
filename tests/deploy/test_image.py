"""The Dockerfile and its pinned dependencies: what it copies exists, it runs as non-root."""

import re
import subprocess
import tomllib

import pytest
import typer

from passerelle.cli import full_app
from tests.deploy.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _instructions(keyword: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(f"{keyword} ")]


def test_dockerfile_copies_existing_files_and_every_package() -> None:
    """Each COPY source exists, and every package the project installs is copied."""
    sources = [s for line in _instructions("COPY") for s in line.split()[:-1]]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: missing"
    packages = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{m}.py" for m in PYPROJECT["tool"]["setuptools"]["py-modules"]}
    assert packages | modules <= set(sources)


def test_image_runs_as_a_non_root_user_with_a_real_command() -> None:
    """USER is not root; the entry point and health check are `passerelle` commands."""
    users = _instructions("USER")
    assert users and users[-1] not in {"root", "0"}
    assert _instructions("FROM")[0].split(":")[1].endswith("-slim-bookworm")
    commands = set(typer.main.get_command(full_app()).commands)  # type: ignore[attr-defined]
    assert 'ENTRYPOINT ["passerelle"]' in DOCKERFILE
    assert _instructions("CMD")[-1] == '["worker"]' and "worker" in commands
    assert 'CMD ["passerelle", "worker", "--healthcheck"]' in DOCKERFILE


def lock_entries() -> dict[str, tuple[str, list[str]]]:
    """Return each pinned distribution of requirements.lock: its version and its hashes."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    entries = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split()
        name, _, version = spec.partition("==")
        assert version, f"unpinned: {line}"
        entries[_normalise(name)] = (version, [o.removeprefix("--hash=") for o in options])
    return entries


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    """requirements.lock pins (==) each dependency of pyproject.toml, every one with the sha256 of
    its files, and the image installs it with --require-hashes: a changed file on the index fails
    the build instead of entering the image."""
    entries = lock_entries()
    for requirement in PYPROJECT["project"]["dependencies"]:
        name = _normalise(re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0])
        assert name in entries, f"{name} is not in requirements.lock: run `make lock`"
    for name, (_, hashes) in entries.items():
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name
    assert "RUN pip install --require-hashes -r requirements.lock" in DOCKERFILE


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "deploy").rglob("*.sh")))
def test_deploy_scripts_are_valid_shell(script: str) -> None:
    """Each deploy script parses with `sh -n` and is executable."""
    path = next((ROOT / "deploy").rglob(script))
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    done = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
