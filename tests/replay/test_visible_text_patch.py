"""The visible-text patch: new names refuse invisible characters; running collaborations keep theirs.

One-line fields refuse bidirectional controls and zero-width characters (`schemas.fields`). A
collaboration begun before that rule may hold them in its names, its updates' `by` and its
milestone kinds; its history must replay as it ran, across continue-as-new. The start input asks
`visible-text` only when it holds such a character, so an ordinary run records no marker;
`histories/before-visible-text/` holds a lifecycle recorded before the rule:

    PASSERELLE_RECORD_VISIBLE=1 .venv/bin/pytest tests/replay/test_visible_text_patch.py -k record
"""

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from passerelle.audit.histories import fetch_chain, read_export, write_export
from passerelle.audit.replay import replay_runs
from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from tests.conftest import WorkerFactory
from tests.replay.patching.visible_unguarded import StrictHandlersWorkflow, UnguardedStartWorkflow
from tests.replay.scenarios import ClientEnvironment, Environment
from tests.replay.test_patch_registry import markers
from tests.workflows.helpers import abandon, start
from workflows import search_attributes as sa

BEFORE = Path(__file__).parent / "histories" / "before-visible-text" / "invisible-names"
HIDDEN = {
    "corporate": "Safe\u202eexe.cod\u202c Corp",  # reads "Safedoc.exe Corp"
    "startup": "Na\u200dbla",
    "topic": "Pilot\u200b of notes",
    "tag": "\u2066next40\u2069",
    "by": "Ops\ufeff team",
    "kind": "NDA\u200d signed",
}


async def invisible_names(env: Environment, workflow_id: str, task_queue: str) -> str:
    """Hidden characters in every one-line field, updates sent as plain JSON, continue-as-new."""
    await start(
        env.client,
        workflow_id,
        task_queue,
        corporate={"name": HIDDEN["corporate"], "contact_email": "innovation@natixis.example"},
        startup={"name": HIDDEN["startup"], "contact_email": "partners@nabla.example"},
        topic=HIDDEN["topic"],
        tags=[HIDDEN["tag"]],
        continue_as_new_after_events=20,
    )
    latest = env.client.get_workflow_handle(workflow_id)  # follows the chain of runs
    by = HIDDEN["by"]
    await latest.execute_update("advance", {"to": "qualification", "by": by})
    for n in range(4):
        await latest.execute_update("record_milestone", {"kind": f"{HIDDEN['kind']} {n}", "by": by})
    await latest.execute_update("advance", {"to": "pilot", "by": by})
    await latest.execute_update("close", {"outcome": "declined", "by": by, "reason": "no budget"})
    await latest.result()
    return workflow_id


def test_the_history_from_before_the_rule_holds_hidden_characters_and_continues_as_new() -> None:
    runs = read_export(BEFORE)
    assert len(runs) >= 2 and "visible-text" not in markers(runs)
    first_input = runs[0].events[0].workflow_execution_started_event_attributes.input.payloads[0].data
    assert HIDDEN["corporate"].encode() in first_input


async def test_the_history_from_before_the_rule_replays_only_with_the_guards(settings: Settings) -> None:
    """The patch on the start input, `legacy` in the handlers and the carried state: it replays;
    without the patch, or with handlers that decode strictly again, it does not."""
    runs = read_export(BEFORE)
    outcomes = await replay_runs(runs, settings, jobs=1)
    assert all(o.passed for o in outcomes), [o.error for o in outcomes if not o.passed]
    for unguarded in (UnguardedStartWorkflow, StrictHandlersWorkflow):
        broken = await replay_runs(runs, settings, jobs=1, workflows=[unguarded])
        assert any(o.nondeterministic for o in broken), (unguarded.__name__, [o.error for o in broken])


async def test_a_new_run_with_hidden_characters_fails_naming_the_field_and_the_rule(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, workflow_id: str
) -> None:
    """The workflow's own check (the Web UI starts without the CLI): the marker, then the refusal;
    an ordinary run next to it records no marker at all."""
    client = time_env.client
    corporate = {"name": HIDDEN["corporate"], "contact_email": "innovation@natixis.example"}
    async with run_worker(client):
        hidden = await start(client, workflow_id, task_queue, corporate=corporate, topic=HIDDEN["topic"])
        with pytest.raises(WorkflowFailureError) as failed:
            await hidden.result()
        plain = await start(client, f"{workflow_id}-plain", task_queue)
        await abandon(plain)
    cause: Any = failed.value.cause
    assert cause.type == "InvalidCollaborationRequest"
    assert "corporate.name" in cause.message and "U+202E RIGHT-TO-LEFT OVERRIDE" in cause.message
    assert "topic" in cause.message and "U+200B ZERO WIDTH SPACE" in cause.message, cause.message
    attributes = (await hidden.describe()).typed_search_attributes
    assert sa.CORPORATE not in attributes  # the Web UI's list never shows it
    assert markers(await fetch_chain(client, workflow_id)).get("visible-text") is False
    assert "visible-text" not in markers(await fetch_chain(client, f"{workflow_id}-plain"))


@pytest.mark.skipif(not os.environ.get("PASSERELLE_RECORD_VISIBLE"), reason="set PASSERELLE_RECORD_VISIBLE=1")
async def test_record_history_before_the_rule(
    time_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str, clear_settings: Settings
) -> None:
    """Record the lifecycle with the code of the day, in clear (on demand only, before the rule)."""
    clear = Client(**{**time_env.client.config(), "data_converter": converter_for(clear_settings)})
    async with run_worker(clear):
        workflow_id = await invisible_names(
            ClientEnvironment(clear, time_env.sleep), "before-visible-text", task_queue
        )
    runs = await fetch_chain(clear, workflow_id)
    shutil.rmtree(BEFORE, ignore_errors=True)
    write_export(runs, BEFORE, "default")
