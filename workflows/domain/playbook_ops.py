"""Running under a playbook: starting under the programme's current version, adopting a newer one,
and the evaluators' scorecards (docs/playbooks.md).

A scorecard is news: it restarts the stall clock. Pure: `now` is the workflow's time; the
versions themselves are read from PostgreSQL by the workflow (`PlaybookLoad`).
"""

from datetime import datetime
from typing import Any

from schemas import EventKind, HistoryEntry
from schemas.playbooks import (
    MAX_EVALUATORS,
    PlaybookAdoption,
    PlaybookLoad,
    PlaybookLookup,
    PlaybookVersion,
    Scorecard,
)
from workflows.domain import gates
from workflows.domain.approvals import under_playbook
from workflows.domain.progress import BadScorecard, NotScoring, PlaybookConflict, Progress
from workflows.domain.rules import Facts, check_open, progress_of
from workflows.domain.state import CollaborationState
from workflows.domain.update import Update


def start_under(state: CollaborationState, load: PlaybookLoad, now: datetime) -> list[HistoryEntry]:
    """Run a starting collaboration under its programme's current playbook, if it has one."""
    if load.found is None:
        return []
    state.progress = gates.begin(load.found, state.stage, load.milestones)
    _rearm(state)
    return [_adopted(state, "system", now)]


def check_adoption(facts: Facts, adoption: PlaybookAdoption) -> None:
    """Refuse a version that is not newer than the one the collaboration runs under."""
    check_open(facts)
    progress = progress_of(facts)
    if progress is not None and adoption.version <= progress.adopted.version:
        raise PlaybookConflict(
            f"the collaboration already runs under {progress.label}; adopt a newer version"
        )


def version_wanted(state: CollaborationState, adoption: PlaybookAdoption) -> PlaybookLookup:
    """Return what the workflow reads before adopting: the version asked for (a validator may do
    no I/O, so the rules that need its content run once it is read)."""
    return PlaybookLookup(
        programme=state.request.programme, version=adoption.version, collaboration_id=state.collaboration_id
    )


def check_compatible(progress: Progress | None, new: PlaybookVersion) -> None:
    """Refuse a version that would break the collaboration: recorded scorecards it cannot read,
    or a pending approval it no longer asks for."""
    if progress is None:
        return
    old_rule, new_rule = progress.playbook.scorecard, new.playbook.scorecard
    if progress.scores:
        old_names = sorted(c.name.casefold() for c in old_rule.criteria) if old_rule else []
        new_names = sorted(c.name.casefold() for c in new_rule.criteria) if new_rule else []
        if old_names != new_names:
            raise PlaybookConflict(
                f"{new.label} changes the scorecard criteria, and {len(progress.scores)} scorecard(s) "
                f"are recorded under v{progress.adopted.version}"
            )
    pending = progress.pending
    if pending is not None:
        gate = new.playbook.gates.get(pending.target)
        if gate is None or not gate.approval:
            raise PlaybookConflict(
                f"an approval for {pending.target} is pending and {new.label} asks none: answer it first"
            )


def adopt(
    state: CollaborationState, adoption: PlaybookAdoption, load: PlaybookLoad, now: datetime
) -> HistoryEntry:
    """Move the collaboration to the version read, or refuse one that is missing or would break it."""
    if load.found is None:
        raise PlaybookConflict(
            f"programme {state.request.programme} has no playbook version {adoption.version}"
        )
    check_compatible(state.progress, load.found)
    state.progress = gates.adopt(state.progress, load.found, state.stage, load.milestones)
    _rearm(state)
    return _adopted(state, adoption.by, now)


def check_score(facts: Facts, card: Scorecard) -> dict[str, int]:
    """Refuse a scorecard outside the stage it serves, with missing or unknown criteria, or one
    evaluator too many; return its scores under the criteria's own names."""
    check_open(facts)
    progress = under_playbook(progress_of(facts))
    playbook = progress.playbook
    rule = playbook.scorecard
    if rule is None:
        raise NotScoring(f"playbook {progress.label} has no scorecard")
    stages = {gates.source_stage(t) for t, g in playbook.gates.items() if g.scorecard}
    if facts.stage not in stages:
        where = ", ".join(sorted(s.value for s in stages))
        raise NotScoring(f"scorecards are recorded in {where}; the collaboration is in {facts.stage.value}")
    expected = {c.name.casefold(): c.name for c in rule.criteria}
    given = {k.casefold() for k in card.scores}
    unknown = sorted(k for k in card.scores if k.casefold() not in expected)
    missing = [name for key, name in expected.items() if key not in given]
    if unknown or missing or len(given) != len(card.scores):
        # Unknown names are counted, not quoted: a refusal travels in clear, and they are input.
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"{len(unknown)} unknown criterion name(s)"] if unknown else []
        )
        raise BadScorecard(
            f"scores: {'; '.join(parts) or 'a criterion is given twice'} "
            f"(criteria: {', '.join(expected.values())})"
        )
    if gates.by_key(card.by) not in progress.scores and len(progress.scores) >= MAX_EVALUATORS:
        raise BadScorecard(f"at most {MAX_EVALUATORS} evaluators may score one collaboration")
    return {expected[k.casefold()]: v for k, v in card.scores.items()}


def score(state: CollaborationState, card: Scorecard, scores: dict[str, int], now: datetime) -> HistoryEntry:
    """Record one evaluator's scorecard; it replaces that evaluator's previous one."""
    progress = under_playbook(state.progress)
    evaluator = gates.by_key(card.by)
    replaces = evaluator in progress.scores
    progress.scores[evaluator] = scores
    mean = gates.weighted_mean(progress)
    entry = state.append(
        EventKind.SCORED,
        now,
        actor=card.by,
        note=card.note,
        details={
            "scores": scores,
            "replaces_previous": replaces,
            "evaluators": len(progress.scores),
            "weighted_mean": round(mean or 0, 4),
        },
    )
    state.restart_clock(now)
    return entry


def _rearm(state: CollaborationState) -> None:
    """Re-arm the stall reminder with the playbook's thresholds, keeping any snooze."""
    if state.next_reminder_at is None or state.unanswered_reminders:
        return
    due = state.stall_due  # the clock's own deadline, or the planned steps' hold
    state.next_reminder_at = max(due, state.snoozed_until) if state.snoozed_until else due


def _adopted(state: CollaborationState, by: str, now: datetime) -> HistoryEntry:
    assert state.progress is not None
    version = state.progress.adopted
    return state.append(
        EventKind.PLAYBOOK_ADOPTED,
        now,
        actor=by,
        note=version.label,
        details={
            "programme": version.playbook.programme,
            "version": version.version,
            "sha256": version.sha256,
        },
    )


UPDATES: tuple[Update[Any, Any], ...] = (
    Update(
        "score",
        Scorecard,
        check_score,
        score,
        "Record your scorecard of the evaluation (a new one replaces your previous one).",
        command="score",
        role="evaluator",
    ),
    Update(
        "adopt_playbook",
        PlaybookAdoption,
        check_adoption,
        adopt,
        "Move a collaboration to a newer version of its programme's playbook.",
        command="adopt-playbook",
        fetch=version_wanted,
        role="admin",
    ),
)
