"""Workflow code stays deterministic: no I/O library is imported under workflows/."""

import ast
from pathlib import Path

import pytest

FORBIDDEN = {
    "asyncpg",
    "structlog",
    "httpx",
    "aiosmtplib",
    "smtplib",
    "requests",
    "socket",
    "random",
    "time",
    "activities",
    "passerelle",
    "jinja2",
    "subprocess",
    "os",
}
WORKFLOW_FILES = sorted(Path(__file__).resolve().parents[2].joinpath("workflows").rglob("*.py"))


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_module_imports_no_io(path: Path) -> None:
    """Each module under workflows/ imports nothing that does I/O or reads a clock."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{path.name} imports {sorted(imported & FORBIDDEN)}"


def test_the_check_sees_the_workflow_modules() -> None:
    """The purity check has files to read (a moved folder must not make it vacuous)."""
    assert {p.name for p in WORKFLOW_FILES} >= {"collaboration.py", "state.py", "transitions.py"}
