"""The stall timer a collaboration's main loop waits on.

One durable timer stays armed while the next wake-up does not move earlier: a change that pushes
the reminder later keeps it, and a timer that fires early just lets the loop re-arm. Cancelling
and restarting it on every change would put two commands per change in history.
"""

import asyncio
from datetime import datetime

from temporalio import workflow


class Alarm:
    """At most one armed timer, and when it fires."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._at: datetime | None = None

    def arm(self, wake: datetime | None, why: str) -> None:
        """Fire at `wake` (or not at all when None), keeping an armed timer that fires no later."""
        if wake is None:
            self.disarm()
        elif self._task is None or self._at is None or self._at > wake:
            self.disarm()
            self._task, self._at = asyncio.create_task(_sleep(wake, why)), wake

    def rang(self) -> bool:
        """Return True once the armed timer has fired."""
        return self._task is not None and self._task.done()

    def answer(self) -> bool:
        """Return whether the wait ended because the timer fired, and forget a fired timer."""
        if self.rang():
            self._task = None
            return True
        return False

    def disarm(self) -> None:
        """Cancel the armed timer, if any."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None


async def _sleep(wake: datetime, why: str) -> None:
    await workflow.sleep(wake - workflow.now(), summary=f"{why} check")
