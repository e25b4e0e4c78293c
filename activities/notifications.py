"""The notify activity: the outbox first, then each channel at most once per idempotency key.

Steps, each safe to repeat: in one statement, insert the notification under its unique key (`ON
CONFLICT DO NOTHING`) and claim a delivery row per configured channel; then, for every channel
whose delivery is not yet `sent` or `failed`, send and mark the result. A crash between a send
and its mark can send once more (at-least-once at the very edge); channels that support it (SMTP
Message-ID) make that duplicate recognisable.
"""

from collections.abc import Sequence

import asyncpg
import structlog
from temporalio import activity

from activities.channels import Channel, PermanentDeliveryError
from schemas import Notification, NotificationEvent
from workflows.activity_names import NOTIFY

log = structlog.get_logger()

# One round trip: record the notification (once) and claim its delivery on every channel. The
# claim counts the attempt and returns the status, so a channel already `sent` or `failed` is
# skipped. The foreign key from deliveries is checked at the end of the statement, when the
# notification row of the CTE is there.
RECORD_AND_CLAIM = """
WITH notification AS (
    INSERT INTO notifications (idempotency_key, collaboration_id, workflow_id, event, language,
        recipients, context)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (idempotency_key) DO NOTHING
)
INSERT INTO deliveries (idempotency_key, channel, attempts)
SELECT $1, channel, 1 FROM unnest($8::text[]) AS channel
ON CONFLICT (idempotency_key, channel) DO UPDATE SET attempts = deliveries.attempts + 1,
    updated_at = now()
RETURNING channel, status
"""
MARK_DELIVERY = """
UPDATE deliveries SET status = $3, result = $4, updated_at = now()
WHERE idempotency_key = $1 AND channel = $2
"""


class NotificationActivities:
    """Activities that deliver notifications through the outbox."""

    def __init__(
        self, pool: asyncpg.Pool, channels: Sequence[Channel], milestone_kinds: Sequence[str] = ()
    ) -> None:
        self._pool = pool
        self._channels = list(channels)
        self._milestone_kinds = {k.strip().lower() for k in milestone_kinds}  # "*" means all

    def wanted(self, n: Notification) -> bool:
        """Return whether the configuration wants this notification sent at all.

        Milestones notify only for the kinds in PASSERELLE_NOTIFY_MILESTONES: the workflow asks
        for every one, the worker's configuration decides (and can change without a new release).
        """
        if n.event is not NotificationEvent.MILESTONE:
            return True
        kind = n.context.get("milestone", "").strip().lower()
        return "*" in self._milestone_kinds or kind in self._milestone_kinds

    @activity.defn(name=NOTIFY)
    async def notify(self, notification: Notification) -> dict[str, str]:
        """Record the notification, deliver it on every channel once; return status per channel."""
        n = notification
        if not self.wanted(n):
            log.info("notification not configured", key=n.key, milestone=n.context.get("milestone"))
            return {}
        recipients = [r.model_dump(mode="json") for r in n.recipients]
        async with self._pool.acquire() as conn:
            claimed = await conn.fetch(
                RECORD_AND_CLAIM,
                n.key,
                n.collaboration_id,
                n.workflow_id,
                n.event.value,
                n.language,
                recipients,
                n.context,
                [channel.name for channel in self._channels],
            )
        status = {row["channel"]: row["status"] for row in claimed}
        results = {}
        for channel in self._channels:
            results[channel.name] = await self._deliver(channel, n, status[channel.name])
        return results

    async def _deliver(self, channel: Channel, n: Notification, status: str) -> str:
        if status != "pending":
            log.info("delivery skipped", key=n.key, channel=channel.name, status=status)
            return status
        try:
            answer = await channel.send(n)
        except PermanentDeliveryError as err:
            await self._mark(n.key, channel.name, "failed", str(err))
            log.warning("delivery failed permanently", key=n.key, channel=channel.name, error=str(err))
            return "failed"
        await self._mark(n.key, channel.name, "sent", answer)
        return "sent"

    async def _mark(self, key: str, channel: str, status: str, result: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(MARK_DELIVERY, key, channel, status, result[:2000])
