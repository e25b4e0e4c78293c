"""The worker's log context: every structlog line an activity writes names its workflow and attempt."""

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


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
