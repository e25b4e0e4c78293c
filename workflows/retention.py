"""`PrivacyRetentionWorkflow`: closed collaborations lose their personal data once the policy says.

Started daily by the `passerelle-privacy-retention` Schedule (docs/privacy.md). Each round of the
`retention_sweep` activity takes the oldest batch of collaborations closed for longer than the
retention period (`PASSERELLE_RETENTION_DAYS`, or the `retention_days` of the programme's current
playbook), destroys each one's data keys and pseudonymises its rows. The cut-off is the
workflow's own time, passed to the activity, so a replay or the time-skipping test server sees
the same collaborations. A run does at most `MAX_ROUNDS` rounds; the next day's run goes on.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.privacy import RetentionRequest, RetentionResult, RetentionSweep
    from workflows.activity_names import RETENTION_SWEEP
    from workflows.delivery_policy import RECORD_RETRY

RETENTION_WORKFLOW_ID = "passerelle-privacy-retention"
MAX_ROUNDS = 25


@workflow.defn
class PrivacyRetentionWorkflow:
    """Pseudonymise and shred the collaborations closed for longer than the retention period."""

    @workflow.run
    async def run(self, request: RetentionRequest) -> RetentionResult:
        """Sweep in rounds of `request.batch` until none is left or `MAX_ROUNDS` is reached."""
        total = RetentionResult()
        for _ in range(MAX_ROUNDS):
            done: RetentionResult = await workflow.execute_activity(
                RETENTION_SWEEP,
                RetentionSweep(now=workflow.now(), default_days=request.default_days, batch=request.batch),
                result_type=RetentionResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RECORD_RETRY,
            )
            total = RetentionResult(
                collaborations=[*total.collaborations, *done.collaborations][-1000:],
                rows_changed=total.rows_changed + done.rows_changed,
                keys_destroyed=total.keys_destroyed + done.keys_destroyed,
                more=done.more,
            )
            if not done.more:
                break
        return total
