"""Workflow code stays deterministic: nothing under workflows/ does I/O, reads a clock or draws chance.

Workers and tests pass the `workflows` package through the SDK's sandbox (the same way in both,
`passerelle.platform.worker.PASSED_THROUGH`), so its restrictions do not check this code at run
time: this test refuses, in the source, what they would refuse. Time is `workflow.now()`, timers
are `workflow.sleep` or `asyncio` waits on the workflow's own loop, and ids come from the history.
"""

import ast
from pathlib import Path

import pytest

FORBIDDEN_IMPORTS = {
    "asyncpg",
    "structlog",
    "httpx",
    "aiohttp",
    "aiosmtplib",
    "smtplib",
    "requests",
    "socket",
    "random",
    "secrets",
    "uuid",
    "time",
    "threading",
    "multiprocessing",
    "subprocess",
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "io",
    "activities",
    "passerelle",
    "jinja2",
}
# Calls that read the machine: the wall clock, a file, the terminal.
FORBIDDEN_CALLS = {"now", "utcnow", "today", "fromtimestamp", "open", "input", "print", "getenv"}
ALLOWED_CALLS = {("workflow", "now")}  # the workflow's own time, from its history
WORKFLOW_FILES = sorted(Path(__file__).resolve().parents[2].joinpath("workflows").rglob("*.py"))


def offences(source: str) -> list[str]:
    """Return each forbidden import and call in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_CALLS:
                owner = func.value.id if isinstance(func.value, ast.Name) else "?"
                if (owner, func.attr) not in ALLOWED_CALLS:
                    found.append(f"{owner}.{func.attr}()")
    return found


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_workflow_module_does_no_io_and_reads_no_clock(path: Path) -> None:
    """Each module under workflows/ imports and calls nothing that does I/O, reads a clock or draws chance."""
    assert offences(path.read_text()) == [], path.name


def test_the_check_sees_the_workflow_modules() -> None:
    """The purity check has files to read, the domain's included (a moved folder must not make it vacuous)."""
    names = {str(p.relative_to(p.parents[1])) for p in WORKFLOW_FILES}
    assert {"workflows/collaboration.py", "domain/state.py", "domain/transitions.py"} <= names


@pytest.mark.parametrize(
    "planted",
    [
        "from datetime import datetime\nx = datetime.now()",
        "from datetime import datetime\nx = datetime.utcnow()",
        "from datetime import date\nx = date.today()",
        "import uuid\nx = uuid.uuid4()",
        "from random import random",
        "import os.path",
        "x = open('f').read()",
        "import time\ntime.sleep(1)",
        "from passerelle.platform import db",
    ],
)
def test_the_check_refuses_what_the_sandbox_would(planted: str) -> None:
    assert offences(planted) != []


def test_the_workflow_s_own_time_is_allowed() -> None:
    assert offences("from temporalio import workflow\nx = workflow.now()") == []
