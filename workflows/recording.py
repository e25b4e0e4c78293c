"""What a change produced, made durable: its entries, the projection and its notifications.

One `record_events` activity writes the entries as milestone rows, the `collaborations` row and,
in bounded runs, the notifications into the outbox, in one transaction; delivery then runs beside
the workflow (`workflows.deliveries`): an update answers once its record is durable, not when
every mailbox has accepted the message. Runs begun before `bounded-life` scheduled each send
after the record instead, and keep doing so on replay.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import EventRecord, HistoryEntry, Notification, NotificationEvent
    from workflows import patches
    from workflows.activity_names import RECORD_EVENTS
    from workflows.deliveries import Deliveries
    from workflows.delivery_policy import RECORD_RETRY, RECORD_TIMEOUT
    from workflows.domain import views
    from workflows.domain.notifications import notification_for
    from workflows.domain.state import CollaborationState


async def record(
    state: CollaborationState,
    entries: list[HistoryEntry],
    deliveries: Deliveries,
    *,
    bounded: bool,
    settled: bool,
) -> None:
    """Record `entries` and start delivering their notifications."""
    notifications = [n for e in entries if (n := notification_for(state, e)) is not None]
    if bounded:  # they enter the outbox with the rows
        _milestone_patch(notifications, settled)
    record = EventRecord(
        run_id=workflow.info().run_id,
        entries=entries,
        projection=views.projection(state, workflow.now()),
        notifications=notifications if bounded else [],
    )
    await workflow.execute_activity(
        RECORD_EVENTS,
        record,
        start_to_close_timeout=RECORD_TIMEOUT,
        retry_policy=RECORD_RETRY,
        summary=", ".join(e.kind.value for e in entries),
    )
    for notification in notifications:
        if bounded:  # it entered the outbox with the rows
            deliveries.start(state, notification.key)
        else:
            _milestone_patch([notification], settled)
            deliveries.send(notification)


def _milestone_patch(notifications: list[Notification], settled: bool) -> None:
    # Its marker sits where the patch first met a milestone notification: before the record
    # activity in bounded runs, after it (when scheduling the send) in older ones.
    if any(n.event is NotificationEvent.MILESTONE for n in notifications) and not settled:
        patches.MILESTONE_NOTIFICATIONS.deprecate()
