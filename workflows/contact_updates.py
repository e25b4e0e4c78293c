"""The updates of `CollaborationWorkflow` that speak for or about its contacts.

- `partner_answer`: a partner's one-click answer from the portal (docs/partners.md,
  `workflows.partner_ops`).
- `erase_contact`: an address erased (docs/privacy.md, `workflows.privacy_ops`). The run then
  re-keys: the `activate_data_key` activity makes the new data key the chain's current one and
  waits out every process's key cache, the run continues-as-new (its input sealed with the new
  key), and the new run's `destroy_data_keys` destroys the older keys, once that run is durable.

A mixin of the workflow class, following its pattern (validator, then `_apply`).
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus, HistoryEntry
    from schemas.partners import PartnerAnswer
    from schemas.privacy import ContactErasure, KeyChange, KeyDestruction
    from workflows import partner_ops, privacy_ops
    from workflows.activity_names import ACTIVATE_DATA_KEY, DESTROY_DATA_KEYS
    from workflows.delivery_policy import RECORD_RETRY, RECORD_TIMEOUT
    from workflows.state import CollaborationState

# `activate_data_key` waits out the key caches (PASSERELLE_KEY_CACHE_SECONDS) before it returns.
ACTIVATE_TIMEOUT = timedelta(minutes=10)


class ContactUpdates:
    """Partners' answers and erasures; mixed into `CollaborationWorkflow`."""

    if TYPE_CHECKING:  # provided by CollaborationWorkflow

        def _known(self) -> CollaborationState: ...
        def _check(self, update: str, request: Any) -> None: ...
        def _apply(self, update: str, request: Any, operation: Any) -> Awaitable[CollaborationStatus]: ...
        def _change(self, apply: Callable[[Any], list[HistoryEntry]]) -> Awaitable[CollaborationStatus]: ...

    @workflow.update
    async def partner_answer(self, answer: PartnerAnswer | Any) -> CollaborationStatus:
        """Record a partner's one-click answer from the portal (docs/partners.md)."""
        return await self._apply("partner_answer", answer, partner_ops.answer)

    @partner_answer.validator
    def _check_partner_answer(self, answer: PartnerAnswer | Any) -> None:
        self._check("partner_answer", answer)

    @workflow.update
    async def erase_contact(self, erasure: ContactErasure | Any) -> CollaborationStatus:
        """Erase an address from the collaboration and move it to a new data key (docs/privacy.md)."""
        return await self._apply("erase_contact", erasure, privacy_ops.erase)

    @erase_contact.validator
    def _check_erase_contact(self, erasure: ContactErasure | Any) -> None:
        self._check("erase_contact", erasure)

    def _rekey_due(self) -> bool:
        rekey = self._known().rekey
        return rekey is not None and not rekey.activated

    async def _activate_key(self) -> None:
        """Make the erasure's new key the chain's current one; the run continues-as-new next."""
        state = self._known()
        assert state.rekey is not None
        await workflow.execute_activity(
            ACTIVATE_DATA_KEY,
            KeyChange(workflow_id=state.workflow_id, key_id=state.rekey.key),
            start_to_close_timeout=ACTIVATE_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary="new data key",
        )
        state.rekey = state.rekey.model_copy(update={"activated": True})

    async def _destroy_old_keys(self) -> None:
        """In the run that follows an erasure: destroy every older key of the chain."""
        state = self._known()
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
