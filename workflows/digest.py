"""`DigestWorkflow`: the daily list of stalled collaborations, sent once to the operators.

Started by the `passerelle-daily-digest` Schedule. The notification key is `digest/<workflow id>`,
and the Schedule makes the workflow id unique per scheduled time, so a retried or replayed digest
is sent once. Its context opens with a KPI header (open collaborations by stage, stalled ratio):
patch `digest-kpi-header` of `workflows.patches`. The same activity's answer brings the partners'
answers, the next steps of the coming week and the decisions overdue (`activities.kpis`): only the
notification's text changes, no command.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import (
        Digest,
        DigestRequest,
        KpiSummary,
        Notification,
        NotificationEvent,
        Recipient,
        StalledCollaboration,
    )
    from workflows import patches
    from workflows.activity_names import KPI_SUMMARY, LIST_STALLED, NOTIFY
    from workflows.delivery_policy import NOTIFY_RETRY, RECORD_RETRY


def digest_lines(stalled: list[StalledCollaboration]) -> str:
    """Return one line per stalled collaboration, for the notification's context."""
    return "\n".join(
        f"{s.corporate} × {s.startup} ({s.programme}): {s.stage.value} since "
        f"{s.stage_since:%Y-%m-%d}, last update {s.updated_at:%Y-%m-%d} [{s.workflow_id}]"
        for s in stalled
    )


@workflow.defn
class DigestWorkflow:
    """List stalled collaborations and send one digest notification."""

    @workflow.run
    async def run(self, request: DigestRequest) -> Digest:
        """Build and send the digest; return what was sent."""
        stalled: list[StalledCollaboration] = await workflow.execute_activity(
            LIST_STALLED,
            request.programme,
            result_type=list[StalledCollaboration],
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
        )
        patches.DIGEST_KPI_HEADER.deprecate()
        kpis: KpiSummary = await workflow.execute_activity(
            KPI_SUMMARY,
            request.programme,
            result_type=KpiSummary,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
        )
        header = {"kpis": kpis.line(), "open": str(kpis.open), "stalled_ratio": str(kpis.stalled_ratio)}
        header["answers"] = "\n".join(kpis.partner_answers)  # only the notification's text changes
        header |= {
            "steps": "\n".join(kpis.next_steps),
            "steps_more": str(kpis.next_steps_more),
            "overdue": "\n".join(kpis.decisions_overdue),
            "overdue_more": str(kpis.decisions_overdue_more),
        }
        key = f"digest/{workflow.info().workflow_id}"
        notification = Notification(
            key=key,
            collaboration_id="digest",
            workflow_id=workflow.info().workflow_id,
            event=NotificationEvent.DIGEST,
            language=request.language,
            recipients=[Recipient(name="operators", email=e, role="operators") for e in request.recipients],
            context={
                "count": str(len(stalled)),
                "programme": request.programme or "all programmes",
                "date": workflow.now().date().isoformat(),
                "lines": digest_lines(stalled),
                **header,
            },
        )
        await workflow.execute_activity(
            NOTIFY, notification, start_to_close_timeout=timedelta(minutes=2), retry_policy=NOTIFY_RETRY
        )
        return Digest(generated_at=workflow.now(), stalled=stalled, notification_key=key)
