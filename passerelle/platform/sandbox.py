"""The workflows' sandboxed runner, asked for each payload's serialization context unentered.

The SDK asks a sandboxed workflow for each payload's serialization context (what binds an
encrypted payload to its collaboration, `passerelle.platform.envelope`) by executing code in its
sandbox, for every payload sequence: a fifth of a worker's CPU under the lifecycle benchmark
(docs/benchmarks.md, "Where the lifecycle's time goes"). On the SDK versions the suite runs on,
`DirectContextRunner` reads the same answer from the instance inside the sandbox instead; on any
other it is the SDK's own `SandboxedWorkflowRunner`. Either way the workflow code runs in the
sandbox, under its restrictions. The shortcut and that choice live in
`passerelle.platform.sdk_shortcuts`; `tests/unit/test_sandbox_contexts.py` checks its answers
against the SDK's own path.
"""

from passerelle.platform.sdk_shortcuts import sandboxed_runner_class

DirectContextRunner = sandboxed_runner_class()
