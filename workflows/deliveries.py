"""The notifications one run has under way: started by key beside the workflow, then drained.

An update answers once its record is durable, not when every mailbox has accepted the message, so
each delivery is a task of its own. Before the run ends they are waited for; before it
continues-as-new they are handed over instead (`drain`). Deterministic: only SDK calls.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from schemas import Notification
from workflows.activity_names import DELIVER, NOTIFY
from workflows.delivery_policy import DELIVERY_WINDOW, NOTIFY_RETRY, NOTIFY_TIMEOUT
from workflows.state import CollaborationState

# Deliveries handed to the next run at continue-as-new: beyond this many (a channel down for
# days), the rest wait in the outbox as `pending` for `passerelle notifications retry`.
MAX_CARRIED_DELIVERIES = 100
HANDOVER_GRACE = timedelta(seconds=10)


class Deliveries:
    """The run's deliveries by notification key."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._draining = False  # continue-as-new is due: deliveries go to the next run

    def start(self, state: CollaborationState, key: str) -> None:
        """Deliver the outbox notification `key`, or leave it to the next run when draining."""
        if self._draining:
            state.pending_deliveries.append(key)
        else:
            self._track(key, _deliver(key))

    def send(self, notification: Notification) -> None:
        """Send a notification that is not in the outbox (runs begun before it existed)."""
        self._track(
            notification.key,
            workflow.execute_activity(
                NOTIFY,
                notification,
                start_to_close_timeout=NOTIFY_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
                summary=f"notify {notification.event.value}",
            ),
        )

    async def drain(self, state: CollaborationState, handover: bool) -> None:
        """Wait until no update handler is running and, unless `handover`, no delivery either.

        With `handover` (before continue-as-new), deliveries already under way get
        `HANDOVER_GRACE` to finish (milliseconds when the channels are up), and those of changes
        made meanwhile are not started here at all. Both are carried to the next run, which
        sends them by key: the outbox's lease keeps a delivery from being sent twice. A steady
        stream of updates therefore never holds the run open.
        """
        if not handover:
            self._draining = False
            for key in state.pending_deliveries:  # deferred by a handover the outcome cut short
                self.start(state, key)
            state.pending_deliveries = []
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._tasks)
            return
        self._draining = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._tasks:
            try:
                await workflow.wait_condition(
                    lambda: not self._tasks, timeout=HANDOVER_GRACE, timeout_summary="deliveries to hand over"
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        under_way = [key for key, task in self._tasks.items() if not task.done()]
        pending = list(dict.fromkeys([*state.pending_deliveries, *under_way]))
        if len(pending) > MAX_CARRIED_DELIVERIES:
            workflow.logger.warning("deliveries left in the outbox", extra={"count": len(pending)})
        state.pending_deliveries = pending[:MAX_CARRIED_DELIVERIES]

    def _track(self, key: str, delivery: Any) -> None:
        task = asyncio.create_task(delivery)
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))


async def _deliver(key: str) -> None:
    """Deliver an outbox notification; a delivery given up on never fails the collaboration."""
    try:
        await workflow.execute_activity(
            DELIVER,
            key,
            start_to_close_timeout=NOTIFY_TIMEOUT,
            schedule_to_close_timeout=DELIVERY_WINDOW,
            retry_policy=NOTIFY_RETRY,
            summary=f"deliver {key.rsplit('/', 1)[-1]}",
        )
    except ActivityError as err:  # the window is spent with no attempt able to run
        workflow.logger.warning("delivery given up", extra={"key": key, "error": str(err.cause)})
