"""What a collaboration's state shows: the status query, the `collaborations` row, the UI details.

Three readers see one collaboration: an operator (the `status` query and update answers), SQL
(the `collaborations` row written with every record) and the Web UI (current details). The fields
they share are taken from the state in one place, `_identity`. Pure: `now` is the workflow's time.
"""

from datetime import datetime
from typing import Any

from schemas import CollaborationStatus, Projection, SlaState
from schemas.moments import minute, paris_minute
from schemas.status import ChecklistItem
from workflows.domain import gates, steps
from workflows.domain.state import CollaborationState


def checklist(state: CollaborationState) -> list[ChecklistItem]:
    """Return the checklist of the gates ahead: done, missing, and who has to act."""
    return gates.checklist(state.progress, state.stage, state.outcome, state.contacts)


def checklist_lines(items: list[ChecklistItem]) -> list[str]:
    """Return the checklist as lines of text, one per item: `[x] ...` done, `[ ] ...` missing."""
    return [f"[{'x' if i.done else ' '}] {i.gate}: {i.item} ({i.who})" for i in items]


def partner_lines(state: CollaborationState) -> list[str]:
    """Return the markdown lines of the partners' latest answers and a withdrawal proposal."""
    names = {"startup": state.request.startup.name, "corporate": state.request.corporate.name}
    lines = []
    for seen in state.partner_answers:
        until = f" until {minute(seen.until)}" if seen.until else ""
        note = f": {seen.note}" if seen.note else ""
        lines.append(f"- **{names[seen.party]} answered**: {seen.action}{until} on {minute(seen.at)}{note}")
    if state.withdrawal is not None:
        w = state.withdrawal
        lines.append(
            f"- **Withdrawal proposed** by {names[w.party]} on {minute(w.at)}: {w.reason} "
            "(confirm with `close` as declined or abandoned)"
        )
    return lines


def step_lines(state: CollaborationState) -> list[str]:
    """Return the markdown lines of the planned steps, in Paris time as their invitations say, and
    the decision date."""
    lines = []
    for step in state.steps:
        where = f" at {step.where}" if step.where else ""
        missed = " (missed: no news)" if step.missed else ""
        lines.append(
            f"- **Next step {step.id}**: {step.kind.value} on {paris_minute(step.at)}{where}{missed}"
        )
    if state.decision is not None and not steps.decided(state):
        overdue = " (decision overdue)" if steps.overdue(state) else ""
        lines.append(f"- **Decision date**: {state.decision.on.isoformat()}{overdue}")
    return lines


def _identity(state: CollaborationState) -> dict[str, Any]:
    """The fields the status and the row share: who, what, where it stands."""
    request = state.request
    return {
        "collaboration_id": state.collaboration_id,
        "workflow_id": state.workflow_id,
        "corporate": request.corporate.name,
        "startup": request.startup.name,
        "programme": request.programme,
        "topic": request.topic,
        "stage": state.stage,
        "stage_since": state.stage_since,
        "outcome": state.outcome,
        "stalled": state.stalled,
        "paused": state.paused,
    }


def sla(state: CollaborationState, now: datetime) -> SlaState:
    """Return where the collaboration stands against its stall threshold at `now`."""
    if state.outcome is not None:
        return SlaState.CLOSED
    if state.paused:
        return SlaState.PAUSED
    if state.stalled:
        escalated = state.stage in state.escalated_stages and (
            state.unanswered_reminders >= state.request.escalate_after_reminders
        )
        return SlaState.ESCALATED if escalated else SlaState.STALLED
    if state.due_soon(now):
        return SlaState.DUE_SOON
    return SlaState.ON_TRACK


def status(state: CollaborationState, now: datetime, with_history: bool = True) -> CollaborationStatus:
    """Return the operator's view of the collaboration at `now`.

    `with_history=False` leaves out the latest entries: update answers are stored in history, and
    a small answer keeps every run's history small.
    """
    open_and_chased = state.outcome is None and not state.paused
    return CollaborationStatus(
        **_identity(state),
        closed_at=state.closed_at,
        sla=sla(state, now),
        next_reminder_at=state.next_reminder_at,
        stall_deadline=state.stall_due if open_and_chased else None,
        reminders_sent=state.reminders_sent,
        reminders_in_stage=state.unanswered_reminders,
        escalations=state.escalations,
        snoozed_until=state.snoozed_until,
        runs=state.runs,
        history=list(state.history) if with_history else [],
        entries=state.seq,
        playbook=state.progress.label if state.progress else None,
        checklist=checklist(state),
        partner_answers=list(state.partner_answers),
        withdrawal=state.withdrawal,
        erased_parties=list(state.erased_parties),
        erasure_under_way=state.rekey is not None,
        steps=list(state.steps),
        step_counts=state.step_counts.model_copy(),
        decision=state.decision.model_copy() if state.decision else None,
        decision_overdue=steps.overdue(state),
    )


def projection(state: CollaborationState, now: datetime) -> Projection:
    """Return the `collaborations` row as it stands after the latest entry."""
    request = state.request
    step, decision = steps.next_step(state), state.decision
    return Projection(
        **_identity(state),
        sector=request.sector,
        started_at=state.started_at,
        updated_at=now,
        corporate_email=request.corporate.contact_email,
        startup_email=request.startup.contact_email,
        startup_label=request.startup.label,
        owner_email=request.owner_email,
        language=request.language,
        next_step_at=step.at if step else None,
        next_step_kind=step.kind if step else None,
        decision_on=decision.on if decision else None,
        # Overdue only while undecided: a decision taken late is no longer chased.
        decision_overdue=decision is not None and decision.overdue and not steps.decided(state),
    )


def current_details(state: CollaborationState, now: datetime) -> str:
    """Return the Web UI's short markdown summary: parties, stage, SLA, next deadline, last event."""
    request = state.request
    stage = state.outcome.value if state.outcome else state.stage.value
    last = state.history[-1] if state.history else None
    last_line = (
        f"{last.kind.value}{f' ({last.milestone})' if last.milestone else ''} by {last.actor}"
        f" on {minute(last.at)}"
        if last
        else "—"
    )
    lines = [
        f"**{request.corporate.name} × {request.startup.name}**: {request.topic}",
        "",
        f"- **Stage**: {stage} (since {minute(state.closed_at or state.stage_since)})",
        f"- **SLA**: {sla(state, now).value}",
        f"- **Next reminder**: {minute(state.next_reminder_at)}",
        f"- **Reminders sent**: {state.reminders_sent}, escalations: {state.escalations}",
        f"- **Last event**: {last_line}",
        f"- **Programme**: {request.programme} ({request.sector})",
    ]
    lines += step_lines(state)
    lines += partner_lines(state)
    if state.progress is not None:
        lines.append(f"- **Playbook**: {state.progress.label}")
        items = checklist(state)
        if items:
            lines += ["", "**Gate checklist**", ""]
            lines += [f"- {'✅' if i.done else '⬜'} {i.gate}: {i.item} ({i.who})" for i in items]
    return "\n".join(lines)
