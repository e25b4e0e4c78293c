"""Ride Temporal's back-pressure: what the server asks a caller to send again is sent again.

Temporal sheds load instead of queueing it without bound. An update to a busy collaboration is
answered `RESOURCE_EXHAUSTED` (more than ten updates in flight, or a run closing for
continue-as-new), `UNAVAILABLE` or `ABORTED` (an update the closing run never took), and, while a
workflow task is failing (a worker being replaced mid-task), `FAILED_PRECONDITION` "Workflow Task
in failed state". None of them means the update was applied.

The SDK's client retries the first three itself, with the same request and so the same update
id, for as long as its `RetryConfig` lets it: `PATIENT` stretches that from ten seconds to two
minutes, with backoff and jitter, for every client Passerelle connects
(`passerelle.platform.client`, `passerelle.platform.service`). The last one the SDK returns at
once: `execute_update` sends the update again, under the same update id, until the deadline.

A timed-out update is not sent again: it may have been accepted, and a run that has since
continued-as-new would not know its id.
"""

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from temporalio.service import RetryConfig, RPCError, RPCStatusCode

if TYPE_CHECKING:  # `passerelle list` connects without the SDK's client (`passerelle.platform.service`)
    from temporalio.client import WorkflowHandle

# The SDK's own backoff (initial 100 ms, ×1.5, at most 5 s) for two minutes instead of ten
# seconds, with more jitter: 500 callers refused at once do not come back at once.
PATIENT = RetryConfig(
    initial_interval_millis=200,
    randomization_factor=0.5,
    multiplier=1.6,
    max_interval_millis=5_000,
    max_elapsed_time_millis=120_000,
    max_retries=0,  # unlimited within the elapsed time
)
DEADLINE = 120.0  # seconds an update keeps being sent again while its workflow task is failing
NOT_READY = "Workflow Task in failed state"


def not_ready(err: BaseException) -> bool:
    """Return whether `err` is Temporal's "Workflow Task in failed state": try again later."""
    return (
        isinstance(err, RPCError)
        and err.status == RPCStatusCode.FAILED_PRECONDITION
        and NOT_READY in err.message
    )


async def attempts(seconds: float, first: float, most: float) -> AsyncIterator[None]:
    """Yield once at once, then after each jittered wait (doubling from `first` to `most`) for as
    long as the next one still ends within `seconds`: the loop of whoever rides back-pressure."""
    give_up, delay = time.monotonic() + seconds, first
    yield
    while time.monotonic() + delay <= give_up:
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not a secret
        delay = min(delay * 2, most)
        yield


async def execute_update(
    handle: "WorkflowHandle[Any, Any]",
    update: Any,
    arg: Any,
    *,
    id: str | None = None,
    result_type: type | None = None,
    deadline: float = DEADLINE,
) -> Any:
    """Send an update and return its result, sending it again while its workflow is not ready.

    Every attempt carries the same update id (`id`, or one made here), so Temporal applies it once.
    """
    update_id = id or str(uuid.uuid4())
    refused: RPCError | None = None
    async for _ in attempts(deadline, 0.2, 5.0):
        try:
            return await handle.execute_update(update, arg, id=update_id, result_type=result_type)
        except RPCError as err:
            if not not_ready(err):
                raise
            refused = err
    assert refused is not None  # the first attempt always runs
    raise refused
