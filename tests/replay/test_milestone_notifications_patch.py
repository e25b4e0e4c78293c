"""Replay: a history recorded before milestone notifications existed still replays with today's code.

The saved history (start, stage change, milestone `NDA signed`, declined) was recorded by the
workflow of commit abdf78d, which scheduled no notify activity for milestones. Today's workflow
does, behind `workflow.patched("notify-milestones")`; without that guard this replay fails with a
non-determinism error.
"""

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from passerelle.platform.client import converter_for
from passerelle.platform.settings import Settings
from passerelle.platform.worker import WORKFLOWS, workflow_runner

HISTORY = Path(__file__).parent / "histories" / "collaboration_before_milestone_notifications.json"


async def test_history_before_milestone_notifications_replays(settings: Settings) -> None:
    """The old history (clear payloads) replays, with the suite's encrypted converter."""
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=converter_for(settings), workflow_runner=workflow_runner()
    )
    history = WorkflowHistory.from_json("collab-natixis-nabla", HISTORY.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
