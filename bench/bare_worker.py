"""`python -m bench.bare_worker ADDRESS QUEUE`: a worker process for the bare idle workflow.

It runs with the same cache size as Passerelle's worker (`PASSERELLE_MAX_CACHED_WORKFLOWS`,
default 10,000) and the SDK's default sandbox, so the scale benchmark can weigh one idle bare
workflow against one idle collaboration, each in a process of its own.
"""

import asyncio
import os
import signal
import sys

from temporalio.worker import Worker

from bench import baseline
from bench.common import bench_settings
from passerelle.platform.client import client_for


async def main(address: str, queue: str) -> None:
    """Run the bare worker until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    settings = bench_settings(
        PASSERELLE_MAX_CACHED_WORKFLOWS=os.environ.get("PASSERELLE_MAX_CACHED_WORKFLOWS", "")
    )
    client = await client_for(settings, target_host=address, namespace="default")
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[baseline.BareIdle],  # the only one the scale benchmark runs: no activities, no database
        max_cached_workflows=settings.max_cached_workflows,
    )
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
