"""The SDK's internals are used on the versions the suite runs on only; elsewhere, its public API.

`passerelle.platform.sdk_shortcuts` checks the installed `temporalio` against `TESTED` when it is
imported. On a tested version it hands out the shortcuts; on any other, the SDK's own runner and
converter, which must still do the whole job (an encrypted payload goes out sealed and comes back
whole; a workflow's serialization context is the SDK's), and replay names no event. Real
classes, real codec: nothing of Temporal is mocked.
"""

import ast
import dataclasses
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from temporalio.converter import DataConverter, WorkflowSerializationContext
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from passerelle.platform import sandbox, sdk_shortcuts
from passerelle.platform.client import converter_for
from passerelle.platform.codec import new_key, sealed
from passerelle.platform.keys import parse_keys
from passerelle.platform.settings import load_settings
from tests.unit.test_sandbox_contexts import details

ROOT = Path(__file__).resolve().parents[2]
CORE_MESSAGE = "No command scheduled for event HistoryEvent(id: 11, ActivityTaskScheduled)"


def test_only_the_tested_minor_versions_take_the_shortcuts() -> None:
    """Any patch release of a tested minor version; no other minor or major version."""
    assert sdk_shortcuts.is_tested("1.35.0") and sdk_shortcuts.is_tested("1.35.4")
    for version in ("1.34.9", "1.36.0", "1.3.5", "2.35.0", "1.350.0"):
        assert not sdk_shortcuts.is_tested(version), version


def test_pyproject_pins_the_sdk_to_the_tested_versions() -> None:
    """The pin and `TESTED` name the same minor versions; the installed and the locked SDK are of them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [d for d in project["dependencies"] if d.startswith("temporalio")]
    minors = sorted(tuple(int(n) for n in minor.split(".")) for minor in sdk_shortcuts.TESTED)
    (low_major, low_minor), (high_major, high_minor) = minors[0], minors[-1]
    assert pin == f"temporalio>={low_major}.{low_minor},<{high_major}.{high_minor + 1}"
    assert sdk_shortcuts.is_tested(sdk_shortcuts.installed_version())
    (locked,) = re.findall(r"^temporalio==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert sdk_shortcuts.is_tested(locked), "requirements.lock pins an SDK the suite does not run on"


def test_the_tested_version_takes_the_shortcuts() -> None:
    """The worker's runner, the converter and replay's event id are the shortcuts."""
    assert sdk_shortcuts.SHORTCUTS
    runner = sandbox.DirectContextRunner
    assert issubclass(runner, SandboxedWorkflowRunner) and runner is not SandboxedWorkflowRunner
    assert runner is sdk_shortcuts.sandboxed_runner_class()
    assert sdk_shortcuts.converter_class() is sdk_shortcuts.SharedConverters
    assert sdk_shortcuts.divergence(NondeterminismError(CORE_MESSAGE)) == (CORE_MESSAGE, 11)


async def test_an_untested_version_gets_the_public_classes_and_they_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The SDK's own runner and converter: contexts as the SDK gives them, payloads sealed and read."""
    monkeypatch.setattr(sdk_shortcuts, "SHORTCUTS", False)

    runner = sdk_shortcuts.sandboxed_runner_class()
    assert runner is SandboxedWorkflowRunner
    instance = runner().create_instance(details())
    assert instance.get_serialization_context(None) == WorkflowSerializationContext(
        namespace="programmes", workflow_id="collab-natixis-nabla"
    )

    settings = load_settings({"PASSERELLE_STATE_DIR": str(tmp_path)})
    settings = dataclasses.replace(settings, encryption_keys=parse_keys(f"k1:{new_key()}"))
    converter = converter_for(settings)
    assert type(converter) is DataConverter
    bound = converter.with_context(WorkflowSerializationContext(namespace="default", workflow_id="collab-1"))
    assert type(bound) is DataConverter
    (payload,) = await bound.encode([{"company": "Nabla", "stage": "pilot"}])
    assert sealed(payload) and b"Nabla" not in payload.SerializeToString()
    assert await bound.decode([payload], [dict]) == [{"company": "Nabla", "stage": "pilot"}]

    assert sdk_shortcuts.divergence(NondeterminismError(CORE_MESSAGE)) == (CORE_MESSAGE, None)


def test_an_untested_version_found_at_import_is_logged_once() -> None:
    """Imported under another SDK version, the module says so once and takes the public path."""
    probe = (
        "import importlib.metadata as m\n"
        "real = m.version\n"
        "m.version = lambda name: '1.99.0' if name == 'temporalio' else real(name)\n"
        "from passerelle.platform import sdk_shortcuts as s\n"
        "from passerelle.platform.sandbox import DirectContextRunner\n"
        "print(s.SHORTCUTS, DirectContextRunner.__name__, s.converter_class().__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert [line for line in lines if "temporalio_untested" in line and "1.99.0" in line] == lines[:1]
    assert len(lines) == 2 and lines[-1] == "False SandboxedWorkflowRunner DataConverter"


def _private_temporalio_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("temporalio"):
            names = [(node.module or "") + "." + alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("temporalio")]
        else:
            continue
        found += [
            f"{path.relative_to(ROOT)}: {n}" for n in names if any(p.startswith("_") for p in n.split("."))
        ]
    return found


def test_no_other_module_of_the_product_imports_the_sdk_internals() -> None:
    """Only `sdk_shortcuts` reaches into the SDK's private modules and names."""
    sources = [
        p
        for root in ("passerelle", "activities", "workflows", "schemas")
        for p in (ROOT / root).rglob("*.py")
    ]
    found = [f for p in sources for f in _private_temporalio_imports(p)]
    assert found == [
        "passerelle/platform/sdk_shortcuts.py: temporalio.worker.workflow_sandbox._runner._Instance"
    ]
