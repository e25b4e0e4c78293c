"""The project speaks for itself: no comment or document points at something outside it.

A reader of the repository (or of the published JSON Schema) must be able to follow every
reference: the domain contract is `docs/architecture.md`, figures live in `bench/` and
`docs/benchmarks.md`, and nothing cites a tracker's issue numbers or a contract file the project does not ship.
"""

import re
import subprocess

from tests.audit_cli import ROOT

OUTSIDE = re.compile(r"ARCHITECTURE\.md|\bissue \d+|issue's")
SKIPPED = (
    "tests/replay/golden/",
    "tests/replay/histories/",
    "bench/results/",
    "tests/unit/test_self_contained.py",
)


def test_no_reference_points_outside_the_repository() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in files:
        if name.startswith(SKIPPED) or not (ROOT / name).is_file():
            continue
        try:
            text = (ROOT / name).read_text()
        except UnicodeDecodeError:
            continue
        found += [
            f"{name}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert found == []


def test_the_contract_the_schema_points_at_is_shipped() -> None:
    schema = (ROOT / "schemas" / "json" / "collaboration_request.schema.json").read_text()
    assert "docs/architecture.md" in schema and (ROOT / "docs" / "architecture.md").is_file()
