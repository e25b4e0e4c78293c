"""The Temporal Schedules Passerelle relies on, created or updated idempotently.

`passerelle schedules apply` (and `passerelle dev` at start-up) makes the Schedule match this
code: created when missing, its spec and action replaced when present. It shows under
Schedules in the Web UI, where operators can pause it or trigger it now.
"""

from collections.abc import Mapping

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from schemas import DigestRequest
from workflows.digest import DigestWorkflow

DIGEST_SCHEDULE_ID = "passerelle-daily-digest"
DEFAULT_OPERATORS = "operators@programme.example"


def digest_schedule(env: Mapping[str, str], task_queue: str) -> Schedule:
    """Return the daily digest Schedule configured by `PASSERELLE_DIGEST_*` variables."""
    recipients = [e.strip() for e in env.get("PASSERELLE_OPERATOR_EMAILS", DEFAULT_OPERATORS).split(",")]
    request = DigestRequest(
        recipients=recipients,
        programme=env.get("PASSERELLE_DIGEST_PROGRAMME") or None,
        language=env.get("PASSERELLE_DIGEST_LANGUAGE", "en"),
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DigestWorkflow.run, request, id="passerelle-digest", task_queue=task_queue
        ),
        spec=ScheduleSpec(
            cron_expressions=[env.get("PASSERELLE_DIGEST_CRON", "0 7 * * *")],
            time_zone_name=env.get("PASSERELLE_DIGEST_TIMEZONE", "Europe/Paris"),
        ),
        # A digest that is late is still useful; two at once are not.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def apply_schedules(client: Client, env: Mapping[str, str], task_queue: str) -> str:
    """Create the digest Schedule, or update it to match; return `created` or `updated`."""
    schedule = digest_schedule(env, task_queue)
    try:
        await client.create_schedule(DIGEST_SCHEDULE_ID, schedule)
        return "created"
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(DIGEST_SCHEDULE_ID).update(replace)
        return "updated"
