"""The notify activities: deliver an outbox notification on every channel, within its window.

`deliver(key)` sends a notification the record activity put in the outbox with its event.
`notify(notification)` puts the notification in the outbox itself, then delivers it the same way:
the digest sends through it on every run, and so do collaboration runs begun before the record
activity wrote the outbox. Both leave the sending rules to `activities.outbox`
and decide only when an attempt is the last one: when the delivery window (the activity's
schedule-to-close timeout, or `DELIVERY_WINDOW` for activities scheduled without one) would end
before the next retry could run. A last attempt marks what is still undelivered `failed` with its
last error and returns, so the collaboration never waits on a channel that does not recover.
"""

from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channel
from activities.outbox import DeliveryBusy, DeliveryPending, Outbox
from schemas import Notification
from workflows.activity_names import DELIVER, NOTIFY
from workflows.delivery_policy import DELIVERY_WINDOW, MAX_RETRY_INTERVAL, NOTIFY_TIMEOUT

log = structlog.get_logger()


def last_attempt() -> bool:
    """Return whether the running attempt is the last one its delivery window leaves room for.

    Both instants are the server's, so the rule holds on a time-skipping server too.
    """
    info = activity.info()
    window = info.schedule_to_close_timeout or DELIVERY_WINDOW
    spent = info.current_attempt_scheduled_time - info.scheduled_time
    # Two retry intervals of margin: a server may decline a retry that would start close to the
    # deadline, and the attempt it declines must not be the one that was to mark `failed`.
    return spent + 2 * MAX_RETRY_INTERVAL + NOTIFY_TIMEOUT >= window


class NotificationActivities:
    """Activities that deliver notifications through the outbox."""

    def __init__(
        self, pool: asyncpg.Pool, channels: Sequence[Channel], milestone_kinds: Sequence[str] = ()
    ) -> None:
        self.outbox = Outbox(pool, list(channels), {k.strip().lower() for k in milestone_kinds})

    def activities(self) -> list[Callable[..., Awaitable[dict[str, str]]]]:
        """Return both activities, as a worker registers them."""
        return [self.deliver, self.notify]

    @activity.defn(name=DELIVER)
    async def deliver(self, key: str) -> dict[str, str]:
        """Deliver the outbox notification of `key` on every channel once; return each status."""
        notification = await self.outbox.load(key)
        if notification is None:  # recorded by no change: nothing to send
            log.warning("no such notification in the outbox", key=key)
            return {}
        return await self._deliver(notification)

    @activity.defn(name=NOTIFY)
    async def notify(self, notification: Notification) -> dict[str, str]:
        """Put the notification in the outbox, then deliver it (the digest; runs begun before `deliver`)."""
        if self.outbox.wanted(notification):
            await self.outbox.add(notification)
        return await self._deliver(notification)

    async def _deliver(self, notification: Notification) -> dict[str, str]:
        try:
            return await self.outbox.deliver(notification, last_attempt)
        except (DeliveryBusy, DeliveryPending) as err:  # retried by Temporal with backoff
            raise ApplicationError(str(err), type=type(err).__name__) from None
