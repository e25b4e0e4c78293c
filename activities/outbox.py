"""The notification outbox: each notification once, each channel's delivery leased while sent.

A collaboration's notification row enters with the record of the event that sends it; the
digest's, and those of collaboration runs begun before that, enter with their first notify
attempt. Delivering it is safe to repeat from anywhere (a retry, the next run after
continue-as-new, `passerelle notifications retry`):
- a channel is *leased* before it is sent (`sending`, `lease_until`); a lease still running means
  another attempt may be sending it, so it is left alone, never sent twice at the same time;
- each channel's send has an overall deadline (`CHANNEL_DEADLINE`) well inside the attempt's
  timeout, so an attempt never outlives its timeout mid-send;
- a permanent error marks the channel `failed` at once; a transient one releases it to
  `pending` with `last_error`, or marks it `failed` when the caller says it was the last chance.
A crash between a send and its mark can still send once more when the lease has run out
(at-least-once at the very edge); SMTP's Message-ID, derived from the key, and the webhook's
`Idempotency-Key` make that duplicate recognisable.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from activities.channels import Channel, PermanentDeliveryError
from schemas import Notification, NotificationEvent, Recipient
from schemas.privacy import is_pseudonym
from workflows.delivery_policy import CHANNEL_DEADLINE, LEASE

log = structlog.get_logger()

COLUMNS = "idempotency_key, collaboration_id, workflow_id, event, language, recipients, context"
INSERT = f"INSERT INTO notifications ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
LOAD = f"SELECT {COLUMNS} FROM notifications WHERE idempotency_key = $1"
# Create the missing delivery rows already leased, and lease the existing ones nobody holds.
LEASE_CHANNELS = """
INSERT INTO deliveries (idempotency_key, channel, status, attempts, lease_until)
SELECT $1, channel, 'sending', 1, now() + $3::interval FROM unnest($2::text[]) AS channel
ON CONFLICT (idempotency_key, channel) DO UPDATE SET status = 'sending',
    attempts = deliveries.attempts + 1, lease_until = EXCLUDED.lease_until, updated_at = now()
WHERE deliveries.status = 'pending' OR (deliveries.status = 'sending' AND deliveries.lease_until < now())
RETURNING channel
"""
STATUSES = "SELECT channel, status FROM deliveries WHERE idempotency_key = $1 AND channel = ANY($2::text[])"
MARK = """
UPDATE deliveries SET status = $3, result = $4, lease_until = NULL, updated_at = now(),
    last_error = CASE WHEN $3 = 'failed' THEN $4 ELSE last_error END
WHERE idempotency_key = $1 AND channel = $2
"""
RELEASE = """
UPDATE deliveries SET status = 'pending', lease_until = NULL, last_error = $3, updated_at = now()
WHERE idempotency_key = $1 AND channel = $2
"""


class DeliveryBusy(Exception):
    """Another attempt holds a channel's lease: try again once it has run out."""


class DeliveryPending(Exception):
    """A channel failed transiently and is `pending` again: try again later."""


def _notification(row: asyncpg.Record) -> Notification:
    return Notification(
        key=row["idempotency_key"],
        collaboration_id=row["collaboration_id"],
        workflow_id=row["workflow_id"],
        event=NotificationEvent(row["event"]),
        language=row["language"],
        # An address erased since the row was written is a pseudonym: nobody to send to there.
        recipients=[r for r in map(Recipient.model_validate, row["recipients"]) if not is_pseudonym(r.email)],
        context=row["context"],
    )


def insert_args(n: Notification) -> list[Any]:
    """Return the parameters of `INSERT` for a notification."""
    recipients = [r.model_dump(mode="json") for r in n.recipients]
    return [n.key, n.collaboration_id, n.workflow_id, n.event.value, n.language, recipients, n.context]


@dataclass
class Outbox:
    """Delivers outbox notifications on the configured channels."""

    pool: asyncpg.Pool
    channels: Sequence[Channel]
    milestone_kinds: set[str] = field(default_factory=set)  # "*" means all

    def wanted(self, n: Notification) -> bool:
        """Return whether the configuration wants this notification sent at all.

        Milestones notify only for the kinds in PASSERELLE_NOTIFY_MILESTONES: the workflow asks
        for every one, the worker's configuration decides (and can change without a new release).
        """
        if not n.recipients:  # every recipient's address was erased since it was written
            return False
        if n.event is not NotificationEvent.MILESTONE:
            return True
        kind = n.context.get("milestone", "").strip().lower()
        return "*" in self.milestone_kinds or kind in self.milestone_kinds

    async def add(self, n: Notification) -> None:
        """Put a notification in the outbox (once)."""
        async with self.pool.acquire() as conn:
            await conn.execute(INSERT, *insert_args(n))

    async def load(self, key: str) -> Notification | None:
        """Return the outbox notification of a key, or None."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(LOAD, key)
        return None if row is None else _notification(row)

    async def deliver(self, n: Notification, last_chance: Callable[[], bool]) -> dict[str, str]:
        """Send `n` on every channel not yet done; return each channel's status.

        Raises DeliveryBusy or DeliveryPending when something is left to do later, unless
        `last_chance()` says there is no later: then a transient failure is marked `failed`.
        """
        if not self.wanted(n):
            log.info("notification not configured", key=n.key, milestone=n.context.get("milestone"))
            return {}
        names = [c.name for c in self.channels]
        async with self.pool.acquire() as conn:
            leased = {r["channel"] for r in await conn.fetch(LEASE_CHANNELS, n.key, names, LEASE)}
            others = (
                {}
                if len(leased) == len(names)
                else {r["channel"]: r["status"] for r in await conn.fetch(STATUSES, n.key, names)}
            )
        results = {c.name: others.get(c.name, "") for c in self.channels}
        for channel in self.channels:
            if channel.name in leased:
                results[channel.name] = await self._send(channel, n, last_chance)
            elif results[channel.name] == "sending":
                log.info("delivery held by another attempt", key=n.key, channel=channel.name)
            else:
                log.info("delivery skipped", key=n.key, channel=channel.name, status=results[channel.name])
        pending = [name for name, status in results.items() if status in ("pending", "sending")]
        if pending and not last_chance():
            held = "sending" in results.values()
            why = "being sent by another attempt" if held else "to try again"
            raise (DeliveryBusy if held else DeliveryPending)(f"{n.key}: {why} on {', '.join(pending)}")
        return results

    async def _send(self, channel: Channel, n: Notification, last_chance: Callable[[], bool]) -> str:
        try:
            async with asyncio.timeout(CHANNEL_DEADLINE.total_seconds()):
                answer = await channel.send(n)
        except PermanentDeliveryError as err:
            await self._mark(n.key, channel.name, "failed", str(err))
            log.warning("delivery failed permanently", key=n.key, channel=channel.name, error=str(err))
            return "failed"
        except Exception as err:  # transient: timeout, refused, 5xx, 4xx "try later"
            error = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            if last_chance():
                await self._mark(n.key, channel.name, "failed", error)
                log.warning("delivery given up", key=n.key, channel=channel.name, error=error)
                return "failed"
            async with self.pool.acquire() as conn:
                await conn.execute(RELEASE, n.key, channel.name, error[:2000])
            log.warning("delivery failed, will retry", key=n.key, channel=channel.name, error=error)
            return "pending"
        await self._mark(n.key, channel.name, "sent", answer)
        return "sent"

    async def _mark(self, key: str, channel: str, status: str, result: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(MARK, key, channel, status, result[:2000])
