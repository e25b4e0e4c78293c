"""Every place Passerelle reaches past the Temporal SDK's public API, and the public path beside it.

Three shortcuts, each for speed or detail the public API does not offer (docs/benchmarks.md,
"Upstream report: what the SDK costs us"):
- the sandboxed runner's instances answer each payload's serialization context without executing
  code in the sandbox (`sandboxed_runner_class`; they subclass the SDK's private `_Instance`);
- context-bound copies of the data converter share one payload converter and one failure
  converter per process instead of building two throwaway ones each (`converter_class`; they
  override `DataConverter.__post_init__`, which sets frozen fields);
- a replay's nondeterminism names the event Core could not match, read from the text of Core's
  message (`divergence`).

Each leans on what one SDK version does inside, so each is taken only on the minor versions the
suite runs on (`TESTED`; pyproject.toml pins `temporalio` to them and
tests/unit/test_sdk_shortcuts.py checks both agree). On any other version this module hands out
the public path instead, and logs `temporalio_untested` once per process, when it is imported:
the SDK's own `SandboxedWorkflowRunner` and `DataConverter` (slower, same payloads), and a replay
failure's message as Core wrote it, with no event id (the verdict is the Replayer's either way).
No other module of the product imports the SDK's private modules (tests/unit/test_sdk_shortcuts.py).

The sandbox's modules load only when a runner is asked for: the operator's commands convert
payloads but run no workflow, and pay for no more than they use (tests/unit/test_cli_startup.py).
"""

import dataclasses
import functools
import importlib.metadata
import re
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.converter import DataConverter

if TYPE_CHECKING:
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

TESTED = ("1.35",)  # the SDK's minor versions the suite runs on, hence the shortcuts' only ones


def installed_version() -> str:
    """Return the version of the installed Temporal SDK (`unknown` without its metadata)."""
    try:
        return importlib.metadata.version("temporalio")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def is_tested(version: str) -> bool:
    """Return True when `version` (`major.minor.patch`) is of a minor version the suite runs on."""
    return ".".join(version.split(".")[:2]) in TESTED


_VERSION = installed_version()
SHORTCUTS = is_tested(_VERSION)
if not SHORTCUTS:  # once per process: a module runs once
    structlog.get_logger().warning(
        "temporalio_untested",
        version=_VERSION,
        tested=list(TESTED),
        taking="the SDK's public API: the plain sandboxed runner and data converter, no replay event ids",
    )


# --- The sandbox's serialization contexts --------------------------------------------------------

# Where the SDK's `_Instance` keeps the instance it created inside the sandbox.
IN_SANDBOX = "__temporal_in_sandbox"


def sandboxed_runner_class() -> "type[SandboxedWorkflowRunner]":
    """Return the sandboxed runner class to build: direct contexts on a tested SDK, else the SDK's.

    The SDK converts every payload of a workflow task with the serialization context of the
    command it belongs to (the activity's type and id for its input, the workflow's id
    otherwise): that binds an encrypted payload to its collaboration
    (`passerelle.platform.envelope`). For a sandboxed workflow it asks the instance inside the
    sandbox by compiling and executing a code string under the sandbox's importer, for every
    payload sequence on the way in, on the way out and again for external storage. The answer is
    bookkeeping of the SDK's own instance (a lookup of the pending command, then a frozen
    dataclass) that imports nothing and calls nothing the sandbox restricts, so the shortcut asks
    it directly. The workflow code itself still runs in the sandbox, under its restrictions.
    """
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    return _direct_context_runner() if SHORTCUTS else SandboxedWorkflowRunner


@functools.cache
def _direct_context_runner() -> "type[SandboxedWorkflowRunner]":
    # Defined on first use: the SDK's private module is imported only by a tested SDK's workers.
    from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
    from temporalio.worker.workflow_sandbox._runner import _Instance

    class DirectContexts(_Instance):
        """The SDK's sandboxed instance; contexts are read from its in-sandbox instance directly.

        An instance without the expected internals is asked the SDK's way.
        """

        def get_serialization_context(self, command_info: Any) -> Any:
            inner: Any = self.globals_and_locals.get(IN_SANDBOX)
            if inner is None:
                return super().get_serialization_context(command_info)
            return inner.get_serialization_context(command_info)

        def get_external_store_context(self, command_info: Any) -> Any:
            inner: Any = self.globals_and_locals.get(IN_SANDBOX)
            if inner is None:
                return super().get_external_store_context(command_info)
            return inner.get_external_store_context(command_info)

    class DirectContextRunner(SandboxedWorkflowRunner):
        """`SandboxedWorkflowRunner` whose instances answer serialization contexts directly."""

        def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
            """Create the sandboxed instance (as the SDK does) with direct contexts."""
            return DirectContexts(det, self.runner_class, self.restrictions)

    return DirectContextRunner


# --- The data converter's copies ------------------------------------------------------------------

# One payload converter and one failure converter per pair of classes, shared by every copy.
_BUILT: dict[tuple[type, type], tuple[Any, Any]] = {}


@dataclasses.dataclass(frozen=True)
class SharedConverters(DataConverter):
    """The SDK's `DataConverter`, its payload and failure converters built once per process.

    The SDK binds a converter to each payload's serialization context by copying it
    (`with_context`, through `dataclasses.replace`), and each copy first builds a payload
    converter and a failure converter of its own, which the context-bound ones then replace. With
    the data-key codec, which binds to every context (`passerelle.platform.envelope`), that is two
    throwaway converters per payload sequence. Neither keeps per-payload state (the pydantic one
    caches type adapters, which a shared instance keeps warm), so every copy starts from the
    first ones.
    """

    def __post_init__(self) -> None:
        key = (self.payload_converter_class, self.failure_converter_class)
        if key not in _BUILT:
            super().__post_init__()
            _BUILT[key] = (self.payload_converter, self.failure_converter)
            return
        payload, failure = _BUILT[key]
        object.__setattr__(self, "payload_converter", payload)
        object.__setattr__(self, "failure_converter", failure)


def converter_class() -> type[DataConverter]:
    """Return the data converter class to build: `SharedConverters` on a tested SDK, else the SDK's."""
    return SharedConverters if SHORTCUTS else DataConverter


# --- Replay's diverging event ---------------------------------------------------------------------

# Core names the event it could not match: "No command scheduled for event HistoryEvent(id: 11, ..."
# or "..., event id: 11".
_EVENT_ID = re.compile(r"(?:HistoryEvent\(id: |event id:? |event_id: )(\d+)")
_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def divergence(failure: BaseException) -> tuple[str, int | None]:
    """Return a replay failure's message and the id of the event Core could not match, if named.

    The SDK's `NondeterminismError` carries Core's text alone; on a tested SDK the message is
    read out of it and the event id from the message, elsewhere the text is kept as it is and
    no event is named.
    """
    text = str(failure)
    if not SHORTCUTS:
        return text, None
    message = _MESSAGE.search(text)
    error = message.group(1) if message else text
    event = _EVENT_ID.search(error)
    return error, int(event.group(1)) if event else None
