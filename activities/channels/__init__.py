"""Notification channels: where a notification goes once the outbox holds it.

A channel raises `PermanentDeliveryError` for errors a retry cannot fix (bad address, HTTP 4xx)
and any other exception for transient ones, which Temporal retries with backoff.
"""

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # only annotations: reading the channels' settings loads no contract
    from schemas import Notification


class PermanentDeliveryError(Exception):
    """A delivery that will never succeed as it is; recorded, not retried."""


class TransientDeliveryError(Exception):
    """A delivery to try again later (server error, timeout, refused connection).

    Its message is written for the record: logs, the `deliveries` row and Temporal's history all
    show it, so a channel builds it without any secret (a webhook URL's path is one).
    """


class Channel(Protocol):
    """Sends one notification; `notification.key` is its idempotency key."""

    name: str

    async def send(self, notification: "Notification") -> str:
        """Deliver the notification and return the channel's answer (id, status...)."""
        ...
