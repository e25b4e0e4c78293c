"""Imports point down the layers of docs/architecture.md, and nothing imports the worker script.

The layers are an import-linter contract in pyproject.toml (`[tool.importlinter]`). The first test
runs it on the project; the others plant a backward import in a copy of the project and check the
contract catches it, so a contract that has stopped checking anything fails here too.
"""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("passerelle", "activities", "workflows", "schemas")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_project_keeps_its_layers() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "arrow"),
    [
        # An activity reading the settings module instead of being given its settings.
        (
            "activities/channels/smtp.py",
            "from passerelle.platform.settings import load_settings",
            "activities.channels.smtp -> passerelle.platform.settings",
        ),
        # The audit reaching up into the CLI, from inside a function.
        (
            "passerelle/audit/verify.py",
            "def _late() -> None:\n    from passerelle.cli import common",
            "passerelle.audit.verify -> passerelle.cli.common",
        ),
        # The pure domain reaching for the Temporal SDK.
        (
            "workflows/domain/views.py",
            "from temporalio import workflow",
            "workflows.domain.views -> temporalio",
        ),
        # The workflow importing the activities it only names.
        ("workflows/digest.py", "import activities.digest", "workflows.digest -> activities.digest"),
        # Two packages of one layer leaning on each other.
        (
            "passerelle/reads/history.py",
            "import passerelle.audit.histories",
            "passerelle.reads.history -> passerelle.audit.histories",
        ),
    ],
)
def test_a_backward_import_breaks_the_contract(tmp_path: Path, module: str, line: str, arrow: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + "\n\n" + line + "\n")
    result = lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert arrow in result.stdout, result.stdout


def test_nothing_imports_the_worker_script() -> None:
    """`worker.py` is an entry point: the worker is built in `passerelle.platform.worker`."""
    found = []
    for root in (*PACKAGES, "tests", "bench"):
        for path in sorted((ROOT / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                if "worker" in names:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_the_worker_script_stays_thin() -> None:
    assert len((ROOT / "worker.py").read_text().splitlines()) < 60
