"""The playbook updates of `CollaborationWorkflow` (docs/playbooks.md): approvals, scorecards, adoption.

A mixin of the workflow class, so that the workflow module stays about a collaboration's life:
the handlers follow the workflow's own pattern (the validator decodes the request and runs its
rule from `workflows.rules`, the handler applies it through `workflows.playbook_ops`), with the
workflow's `_apply`, `_check`, `_change` and `_load_playbook`.
"""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import CollaborationStatus, HistoryEntry
    from schemas.playbooks import (
        Approval,
        ApprovalRequest,
        PlaybookAdoption,
        PlaybookLoad,
        PlaybookLookup,
        Rejection,
        Scorecard,
    )
    from workflows import playbook_ops
    from workflows.requests import parse_request
    from workflows.state import CollaborationState


class PlaybookUpdates:
    """The updates a collaboration runs under a playbook; mixed into `CollaborationWorkflow`."""

    if TYPE_CHECKING:  # provided by CollaborationWorkflow
        _loading: bool

        def _known(self) -> CollaborationState: ...
        def _check(self, update: str, request: Any) -> None: ...
        def _apply(self, update: str, request: Any, operation: Any) -> Awaitable[CollaborationStatus]: ...
        def _change(self, apply: Callable[[Any], list[HistoryEntry]]) -> Awaitable[CollaborationStatus]: ...
        def _load_playbook(self, lookup: PlaybookLookup) -> Awaitable[PlaybookLoad]: ...

    @workflow.update
    async def request_approval(self, request: ApprovalRequest | Any) -> CollaborationStatus:
        """Ask a second person to approve a move or an outcome the playbook gates."""
        return await self._apply("request_approval", request, playbook_ops.request_approval)

    @request_approval.validator
    def _check_request_approval(self, request: ApprovalRequest | Any) -> None:
        self._check("request_approval", request)

    @workflow.update
    async def approve(self, approval: Approval | Any) -> CollaborationStatus:
        """Approve the pending approval (not its requester; one of the playbook's approvers)."""
        return await self._apply("approve", approval, playbook_ops.approve)

    @approve.validator
    def _check_approve(self, approval: Approval | Any) -> None:
        self._check("approve", approval)

    @workflow.update
    async def reject(self, rejection: Rejection | Any) -> CollaborationStatus:
        """Reject the pending approval, with a reason."""
        return await self._apply("reject", rejection, playbook_ops.reject)

    @reject.validator
    def _check_reject(self, rejection: Rejection | Any) -> None:
        self._check("reject", rejection)

    @workflow.update
    async def score(self, card: Scorecard | Any) -> CollaborationStatus:
        """Record one evaluator's scorecard (replacing their previous one)."""
        return await self._apply("score", card, playbook_ops.score)

    @score.validator
    def _check_score(self, card: Scorecard | Any) -> None:
        self._check("score", card)

    @workflow.update
    async def adopt_playbook(self, adoption: PlaybookAdoption | Any) -> CollaborationStatus:
        """Run under a newer version of the programme's playbook; refused if it would break it."""
        valid = parse_request(PlaybookAdoption, adoption, "adopt_playbook", accepted=True)
        await workflow.wait_condition(lambda: not self._loading)
        state = self._known()
        # The version is read from PostgreSQL here, since a validator may do no I/O: the rules
        # that need its content (`gates.check_compatible`) run once it is known.
        load = await self._load_playbook(
            PlaybookLookup(
                programme=state.request.programme,
                version=valid.version,
                collaboration_id=state.collaboration_id,
            )
        )
        return await self._change(lambda now: [playbook_ops.adopt(state, valid, load, now)])

    @adopt_playbook.validator
    def _check_adopt(self, adoption: PlaybookAdoption | Any) -> None:
        self._check("adopt_playbook", adoption)
