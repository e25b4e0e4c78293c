"""The Temporal Schedules Passerelle relies on, created or updated idempotently.

`passerelle schedules apply`, `passerelle setup` and `passerelle dev` make the Schedules (the daily
digest, and the privacy retention sweep of docs/privacy.md) match the
configuration: created when missing; when present, only what the configuration changed is
replaced, and an operator's pause and note (Web UI, Schedules) are kept. Its action goes through
the settings' client, so the recipients' addresses are encrypted like every other payload.

Temporal stores a cron expression as calendar ranges, so the Schedule cannot be compared with the
configuration directly: the action's memo keeps the configuration it was applied from.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

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
from schemas.privacy import RetentionRequest
from workflows.digest import DigestWorkflow
from workflows.retention import RETENTION_WORKFLOW_ID, PrivacyRetentionWorkflow

DIGEST_SCHEDULE_ID = "passerelle-daily-digest"
RETENTION_SCHEDULE_ID = "passerelle-privacy-retention"
DEFAULT_OPERATORS = "operators@programme.example"
APPLIED = "passerelle-applied"  # the action's memo key holding the configuration it came from


def digest_config(env: Mapping[str, str], task_queue: str) -> dict[str, Any]:
    """Return the digest's configuration, as plain JSON.

    Recipients come from `PASSERELLE_OPERATOR_EMAILS`, the rest from `PASSERELLE_DIGEST_*`.
    """
    recipients = [e.strip() for e in env.get("PASSERELLE_OPERATOR_EMAILS", DEFAULT_OPERATORS).split(",")]
    request = DigestRequest(
        recipients=recipients,
        programme=env.get("PASSERELLE_DIGEST_PROGRAMME") or None,
        language=env.get("PASSERELLE_DIGEST_LANGUAGE", "en"),
    )
    return {
        "request": request.model_dump(mode="json"),
        "cron": env.get("PASSERELLE_DIGEST_CRON", "0 7 * * *"),
        "time_zone": env.get("PASSERELLE_DIGEST_TIMEZONE", "Europe/Paris"),
        "task_queue": task_queue,
    }


def digest_schedule(config: Mapping[str, Any]) -> Schedule:
    """Return the daily digest Schedule of a `digest_config`."""
    request = DigestRequest.model_validate(config["request"])
    return _daily(DigestWorkflow.run, request, "passerelle-digest", config)


def _daily(run: Any, request: Any, workflow_id: str, config: Mapping[str, Any]) -> Schedule:
    """Return a Schedule that starts `run(request)` on `config`'s cron, keeping `config` in its memo."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            run, request, id=workflow_id, task_queue=config["task_queue"], memo={APPLIED: dict(config)}
        ),
        spec=ScheduleSpec(cron_expressions=[config["cron"]], time_zone_name=config["time_zone"]),
        # A late digest or sweep is still useful; two at once are not.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def _applied(client: Client, current: Schedule) -> dict[str, Any]:
    """Return the configuration the Schedule was last applied from ({} when it does not say)."""
    action = current.action
    memo = action.memo if isinstance(action, ScheduleActionStartWorkflow) else None
    payload = (memo or {}).get(APPLIED)
    if payload is None:
        return {}
    (config,) = await client.data_converter.decode([payload], [dict])
    return dict(config)


def retention_config(env: Mapping[str, str], task_queue: str, default_days: int) -> dict[str, Any]:
    """Return the retention sweep's configuration (`PASSERELLE_RETENTION_*`), as plain JSON."""
    return {
        "request": RetentionRequest(default_days=default_days).model_dump(mode="json"),
        "cron": env.get("PASSERELLE_RETENTION_CRON", "30 3 * * *"),
        "time_zone": env.get("PASSERELLE_DIGEST_TIMEZONE", "Europe/Paris"),
        "task_queue": task_queue,
    }


def retention_schedule(config: Mapping[str, Any]) -> Schedule:
    """Return the daily retention Schedule of a `retention_config` (docs/privacy.md)."""
    request = RetentionRequest.model_validate(config["request"])
    return _daily(PrivacyRetentionWorkflow.run, request, RETENTION_WORKFLOW_ID, config)


async def apply_schedules(
    client: Client, env: Mapping[str, str], task_queue: str, retention_days: int | None = None
) -> dict[str, str]:
    """Create each Schedule, or update what changed; return what was done to each, in words.

    The daily digest always; the retention sweep when `retention_days` is given (the settings'
    `PASSERELLE_RETENTION_DAYS`).
    """
    digest = digest_config(env, task_queue)
    done = {DIGEST_SCHEDULE_ID: await _apply(client, DIGEST_SCHEDULE_ID, digest, digest_schedule(digest))}
    if retention_days is not None:
        retention = retention_config(env, task_queue, retention_days)
        done[RETENTION_SCHEDULE_ID] = await _apply(
            client, RETENTION_SCHEDULE_ID, retention, retention_schedule(retention)
        )
    return done


async def _apply(client: Client, schedule_id: str, wanted: dict[str, Any], schedule: Schedule) -> str:
    try:
        await client.create_schedule(schedule_id, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    changed: list[str] = []

    async def merge(update: ScheduleUpdateInput) -> ScheduleUpdate | None:
        current = update.description.schedule
        applied = await _applied(client, current)
        changed[:] = [key for key in wanted if applied.get(key) != wanted[key]]
        if not changed:
            return None
        # The state (paused, note, remaining actions) is the operators': keep it as it is.
        return ScheduleUpdate(
            schedule=dataclasses.replace(
                current, action=schedule.action, spec=schedule.spec, policy=schedule.policy
            )
        )

    await client.get_schedule_handle(schedule_id).update(merge)
    return f"updated ({', '.join(changed)})" if changed else "unchanged"
