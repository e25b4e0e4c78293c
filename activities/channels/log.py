"""The log channel: writes each notification as one structured log line (the `dev` default)."""

import structlog

from schemas import Notification

log = structlog.get_logger()


class LogChannel:
    """Delivers notifications to the log, so nothing leaves the machine unless configured."""

    name = "log"

    async def send(self, notification: Notification) -> str:
        """Log the notification and return a short receipt."""
        log.info(
            "notification",
            key=notification.key,
            notification_event=notification.event.value,
            to=[r.role for r in notification.recipients],
            language=notification.language,
        )
        return "logged"
