"""Run one Passerelle worker: `python worker.py`, the same as `passerelle worker`.

The worker itself (workflows, activities, channels, sandbox, shutdown) is built in
`passerelle.platform.worker`; this script only reads the environment and runs it, so that a
deployment can start a worker without the CLI. Nothing imports this file.
"""

import asyncio

from passerelle.platform.logs import configure_logging
from passerelle.platform.settings import load_settings
from passerelle.platform.worker import run_worker


def main() -> None:
    """Run a worker with the environment's settings until SIGINT or SIGTERM."""
    configure_logging()
    asyncio.run(run_worker(load_settings()))


if __name__ == "__main__":
    main()
