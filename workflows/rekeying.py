"""The re-key that follows an erasure (docs/privacy.md), as the workflow runs it.

`erase_contact` leaves a `Rekey` in the state (`workflows.domain.privacy_ops`). The run then makes
the new data key the chain's current one (`activate_data_key`, which waits out every process's
key cache), continues-as-new so that its input is sealed with the new key, and the new run
destroys the older keys (`destroy_data_keys`) once that run is durable.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.privacy import KeyChange, KeyDestruction
    from workflows.activity_names import ACTIVATE_DATA_KEY, DESTROY_DATA_KEYS
    from workflows.delivery_policy import RECORD_RETRY, RECORD_TIMEOUT
    from workflows.domain.state import CollaborationState

# `activate_data_key` waits out the key caches (PASSERELLE_KEY_CACHE_SECONDS) before it returns.
ACTIVATE_TIMEOUT = timedelta(minutes=10)


def due(state: CollaborationState) -> bool:
    """Return True when an erasure asked for a new key this run has not activated yet."""
    return state.rekey is not None and not state.rekey.activated


async def activate(state: CollaborationState) -> None:
    """Make the erasure's new key the chain's current one; the run continues-as-new next."""
    assert state.rekey is not None
    await workflow.execute_activity(
        ACTIVATE_DATA_KEY,
        KeyChange(workflow_id=state.workflow_id, key_id=state.rekey.key),
        start_to_close_timeout=ACTIVATE_TIMEOUT,
        retry_policy=RECORD_RETRY,
        summary="new data key",
    )
    state.rekey = state.rekey.model_copy(update={"activated": True})


async def destroy_old_keys(state: CollaborationState) -> None:
    """In the run that follows an erasure: destroy every older key of the chain."""
    rekey = state.rekey
    if rekey is None or not rekey.activated:
        return
    await workflow.execute_activity(
        DESTROY_DATA_KEYS,
        KeyDestruction(workflow_id=state.workflow_id, keep=[rekey.key], by=rekey.by, reason=rekey.reason),
        start_to_close_timeout=RECORD_TIMEOUT,
        retry_policy=RECORD_RETRY,
        summary="destroy older data keys",
    )
    state.rekey = None
