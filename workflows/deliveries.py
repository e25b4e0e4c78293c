"""The notifications one run has under way: started by key beside the workflow, then handed on.

An update answers once its record is durable, not when every mailbox has accepted the message, so
each delivery is a task of its own. A run that ends never waits for them: a closed collaboration
hands what is still under way to a `DeliveryWorkflow` of its own (`hand_off`), which delivers each
key within what is left of its window while the collaboration is already `Completed`; a run that
continues-as-new carries the keys to the next run (`drain`). Runs begun before that waited for
their deliveries (`drain` without handover, and a grace before continue-as-new), and replay so.
Deterministic: only SDK calls.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

from schemas import Notification
from schemas.records import DeliveryHandover, PendingDelivery
from workflows.activity_names import DELIVER, DELIVERY_WORKFLOW, NOTIFY
from workflows.delivery_policy import DELIVERY_WINDOW, NOTIFY_RETRY, NOTIFY_TIMEOUT
from workflows.domain.state import CollaborationState

# Deliveries handed to the next run at continue-as-new: beyond this many (a channel down for
# days), the rest wait in the outbox as `pending` for `passerelle notifications retry`.
MAX_CARRIED_DELIVERIES = 100
HANDOVER_GRACE = timedelta(seconds=10)  # runs begun before `hand_off` (patch `prompt-close`)
# How long a run that closes or continues-as-new lets the deliveries under way finish before it
# hands the rest on: milliseconds when the channels are up, so a closed collaboration needs no
# child at all then, and an attempt is seldom cut off mid-send (its lease would hold the next one
# back); a channel down costs these seconds and no more.
CLOSING_GRACE = timedelta(seconds=3)


class Deliveries:
    """The run's deliveries by notification key."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._until: dict[str, datetime] = {}  # when each delivery's window ends
        self._draining = False  # continue-as-new is due: deliveries go to the next run

    def start(self, state: CollaborationState, key: str) -> None:
        """Deliver the outbox notification `key`, or leave it to the next run when draining."""
        if self._draining:
            state.pending_deliveries.append(key)
        else:
            self._until.setdefault(key, workflow.now() + DELIVERY_WINDOW)
            self._track(key, deliver_within(key))

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

    def busy(self, state: CollaborationState) -> bool:
        """Return True when deliveries are under way or waiting for this run to start them."""
        return bool(state.pending_deliveries) or any(not task.done() for task in self._tasks.values())

    async def hand_off(self, state: CollaborationState) -> None:
        """End the run's part in its deliveries, once no update handler is running. Deliveries
        under way get `CLOSING_GRACE` (milliseconds when the channels are up); what is still
        under way then (or was carried from the previous run) goes to a `DeliveryWorkflow`
        started with the abandon policy, so the collaboration completes within seconds whatever
        its channels do. The outbox's lease keeps the child from sending what an attempt of this
        run still sends."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._tasks:
            try:
                await workflow.wait_condition(
                    lambda: not self._tasks,
                    timeout=CLOSING_GRACE,
                    timeout_summary="deliveries before closing",
                )
            except TimeoutError:
                pass
        now = workflow.now()
        keys = [*state.pending_deliveries, *self._let_go()]
        state.pending_deliveries = []
        if not keys:
            return
        pending = [
            PendingDelivery(key=k, until=self._until.get(k, now + DELIVERY_WINDOW))
            for k in dict.fromkeys(keys)
        ]
        if len(pending) > MAX_CARRIED_DELIVERIES:
            workflow.logger.warning("deliveries left in the outbox", extra={"count": len(pending)})
        info = workflow.info()
        await workflow.start_child_workflow(
            DELIVERY_WORKFLOW,
            DeliveryHandover(workflow_id=info.workflow_id, deliveries=pending[:MAX_CARRIED_DELIVERIES]),
            id=f"{info.workflow_id}.deliveries.{info.run_id}",
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary="deliveries of a closed collaboration",
        )

    async def drain(
        self, state: CollaborationState, handover: bool, prompt: Callable[[], bool] = lambda: False
    ) -> None:
        """Wait until no update handler is running and, unless `handover`, no delivery either.

        With `handover` (before continue-as-new), deliveries already under way get a grace to
        finish (milliseconds when the channels are up), and those of changes made meanwhile are
        not started here at all. Both are carried to the next run, which sends them by key: the
        outbox's lease keeps a delivery from being sent twice. A steady stream of updates or a
        channel down therefore never holds the run open. When `prompt()` says so (asked only with
        deliveries under way) the grace is `CLOSING_GRACE` and the run lets go of what it carries
        over (`_let_go`); runs begun before that had `HANDOVER_GRACE`, and replay so.
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
        now = bool(self._tasks) and prompt()
        if self._tasks:
            try:
                await workflow.wait_condition(
                    lambda: not self._tasks,
                    timeout=CLOSING_GRACE if now else HANDOVER_GRACE,
                    timeout_summary="deliveries to hand over",
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        under_way = self._let_go() if now else [key for key, task in self._tasks.items() if not task.done()]
        pending = list(dict.fromkeys([*state.pending_deliveries, *under_way]))
        if len(pending) > MAX_CARRIED_DELIVERIES:
            workflow.logger.warning("deliveries left in the outbox", extra={"count": len(pending)})
        state.pending_deliveries = pending[:MAX_CARRIED_DELIVERIES]

    def _let_go(self) -> list[str]:
        """Cancel the deliveries still under way and return their keys: whoever takes them on
        sends them by key, and an activity left behind by a closed run would only be retried
        in vain (an attempt already sending finishes; its lease holds the next one back)."""
        keys = [key for key, task in self._tasks.items() if not task.done()]
        for key in keys:
            self._tasks[key].cancel()
        return keys

    def _track(self, key: str, delivery: Any) -> None:
        task = asyncio.create_task(delivery)
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))


async def deliver_within(key: str, window: timedelta = DELIVERY_WINDOW) -> None:
    """Deliver an outbox notification within `window`; a delivery given up on never fails anyone."""
    try:
        await workflow.execute_activity(
            DELIVER,
            key,
            start_to_close_timeout=NOTIFY_TIMEOUT,
            schedule_to_close_timeout=window,
            retry_policy=NOTIFY_RETRY,
            summary=f"deliver {key.rsplit('/', 1)[-1]}",
        )
    except ActivityError as err:  # the window is spent with no attempt able to run
        workflow.logger.warning("delivery given up", extra={"key": key, "error": str(err.cause)})
