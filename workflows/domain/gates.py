"""The gate rules of playbooks, written once: what a move needs, what is missing, who must act.

Refusal messages name rules, stages, milestone kinds and the playbook, never a person: clients
show them in clear (`workflows.domain.updates.REFUSALS`).

One pure module, like the transition table: the updates' rules and operations, the status
and the CLI all read a collaboration's playbook progress through these functions
(docs/playbooks.md). `Progress` is a summary, never a growing list: the milestones the playbook
names, one scorecard per evaluator (at most `MAX_EVALUATORS`), one approval per gate, one pending
approval. Pure: no I/O, no clock (`now` is passed in).

A gate guards a *forward* move: into the next stage, or closing as `deployed`. Back moves,
`declined` and `abandoned` are never gated, and a gate once passed is not passed again (a
collaboration back in pilot re-enters evaluation without re-proving its pilot report).
"""

from collections.abc import Mapping
from typing import Any

from schemas.playbooks import (
    GATE_TARGETS,
    ROLES,
    Gate,
    PlaybookVersion,
)
from schemas.stages import Outcome, Stage, is_ahead, stage_after, stage_before
from schemas.status import ChecklistItem
from workflows.domain.progress import (
    GateUnmet,
    Progress,
)

# -- reading a playbook --


def source_stage(target: str) -> Stage:
    """Return the stage a gated move leaves: the stage before `target`, or deployment."""
    before = Stage.DEPLOYMENT if target == Outcome.DEPLOYED.value else stage_before(Stage(target))
    assert before is not None, "a gate guards a move into a stage after the first"
    return before


def next_targets(stage: Stage) -> list[str]:
    """Return the forward moves out of `stage` a gate may guard."""
    after = stage_after(stage)
    ahead = after.value if after is not None else Outcome.DEPLOYED.value
    return [t for t in GATE_TARGETS if t == ahead]


def is_forward(stage: Stage, target: Stage | Outcome) -> bool:
    """Return True for a move a gate may guard: one step forward, or closing as deployed."""
    if isinstance(target, Outcome):
        return target is Outcome.DEPLOYED
    return is_ahead(target, stage)


def gate_of(progress: Progress | None, stage: Stage, target: Stage | Outcome) -> Gate | None:
    """Return the gate this move must pass now, or None (no playbook, not gated, already passed)."""
    if progress is None or not is_forward(stage, target) or target.value in progress.passed:
        return None
    return progress.playbook.gates.get(target.value)


def resolve(approvers: list[str], contacts: Mapping[str, str]) -> list[str]:
    """Return the approvers' e-mail addresses, lower-cased: roles become the collaboration's contacts."""
    return [(contacts[a] if a in ROLES else a).lower() for a in approvers]


def approvers_of(progress: Progress, target: str, contacts: Mapping[str, str]) -> list[str]:
    return resolve(progress.playbook.approvers_for(target), contacts)


def weighted_mean(progress: Progress) -> float | None:
    """Return the scorecard's weighted mean over every evaluator, or None before the first."""
    rule = progress.playbook.scorecard
    if rule is None or not progress.scores:
        return None
    total = sum(c.weight for c in rule.criteria)
    per_criterion = criterion_means(progress)
    return sum(c.weight * per_criterion[c.name] for c in rule.criteria) / total


def criterion_means(progress: Progress) -> dict[str, float]:
    """Return each criterion's mean score over the evaluators."""
    rule = progress.playbook.scorecard
    cards = list(progress.scores.values())
    if rule is None or not cards:
        return {}
    return {c.name: sum(card[c.name] for card in cards) / len(cards) for c in rule.criteria}


def _milestone_text(kind: str, evidence: bool) -> str:
    return f'milestone "{kind}"' + (" (with evidence URL)" if evidence else "")


def _needs(progress: Progress, target: str, gate: Gate, contacts: Mapping[str, str]) -> list[ChecklistItem]:
    """Return the gate's checklist: every requirement, done or not, and who has to act."""
    items = []
    for rule in gate.milestones:
        recorded = progress.milestones.get(rule.kind.casefold(), ())
        done = recorded != () and (not rule.evidence or bool(recorded))
        items.append(
            ChecklistItem(
                gate=target,
                item=_milestone_text(rule.kind, rule.evidence),
                done=done,
                who="the partners; an operator records it",
            )
        )
    scorecard = progress.playbook.scorecard
    if gate.scorecard and scorecard is not None:
        scored, mean = len(progress.scores), weighted_mean(progress)
        done = scored >= scorecard.min_evaluators and mean is not None and mean >= scorecard.pass_mean
        shown = "no score yet" if mean is None else f"weighted mean {mean:.2f}"
        items.append(
            ChecklistItem(
                gate=target,
                item=f"passing scorecard ({scored} of {scorecard.min_evaluators} evaluators, {shown}, "
                f"needs {scorecard.pass_mean:g})",
                done=done,
                who="evaluators",
            )
        )
    if gate.approval:
        approvers = approvers_of(progress, target, contacts)
        pending = progress.pending if progress.pending and progress.pending.target == target else None
        if target in progress.approved:
            item = "approval (approved)"  # no names: the item is also a refusal's words, in clear
        elif pending is not None:
            item = "approval (requested, pending)"
        else:
            item = "approval (request_approval, then a second person approves)"
        items.append(
            ChecklistItem(
                gate=target,
                item=item,
                done=target in progress.approved,
                who=", ".join(approvers) or "anyone but the requester",
            )
        )
    return items


def checklist(
    progress: Progress | None, stage: Stage, outcome: Outcome | None, contacts: Mapping[str, str]
) -> list[ChecklistItem]:
    """Return the checklist of the gates ahead of the current stage (none once closed)."""
    if progress is None or outcome is not None:
        return []
    items = []
    for target in next_targets(stage):
        gate = progress.playbook.gates.get(target)
        if gate is not None and target not in progress.passed:
            items.extend(_needs(progress, target, gate, contacts))
    return items


# -- checks: each raises a `Refused` whose message says exactly what is wrong --


def check_gate(
    progress: Progress | None, stage: Stage, target: Stage | Outcome, contacts: Mapping[str, str]
) -> Gate | None:
    """Refuse a forward move whose gate is unmet, listing every missing item; return the gate
    the move passes (None: no playbook, not gated, or passed already)."""
    gate = gate_of(progress, stage, target)
    if gate is None or progress is None:
        return None
    missing = [i.item for i in _needs(progress, target.value, gate, contacts) if not i.done]
    if missing:
        verb = "close as" if isinstance(target, Outcome) else "move to"
        raise GateUnmet(
            f"cannot {verb} {target.value}: missing {', '.join(missing)}; playbook {progress.label}"
        )
    return gate


# -- changes: the operations call these once the rule passed --


def by_key(who: str) -> str:
    return who.strip().casefold()


def named_milestones(version: PlaybookVersion) -> set[str]:
    """Return the milestone kinds a version's gates name, casefolded (how gates match them)."""
    return {m.kind.casefold() for g in version.playbook.gates.values() for m in g.milestones}


def begin(version: PlaybookVersion, stage: Stage, milestones: Mapping[str, str | None]) -> Progress:
    """Return the progress of a collaboration that adopts `version` in `stage`: every gate up to
    its stage counts as passed (it is past them), and the milestones it already recorded count."""
    named = named_milestones(version)
    behind = [t for t in GATE_TARGETS if t != Outcome.DEPLOYED.value and not is_ahead(Stage(t), stage)]
    return Progress(
        adopted=version,
        milestones={k.casefold(): v for k, v in milestones.items() if k.casefold() in named},
        passed=behind,
    )


def adopt(
    progress: Progress | None, new: PlaybookVersion, stage: Stage, milestones: Mapping[str, str | None]
) -> Progress:
    """Return the progress under a newer version: what was done stays done."""
    fresh = begin(new, stage, milestones)
    if progress is None:
        return fresh
    named = named_milestones(new)
    kept = {k: v for k, v in progress.milestones.items() if k in named}
    return fresh.model_copy(
        update={
            "milestones": {**kept, **fresh.milestones},
            "scores": progress.scores,
            "approved": progress.approved,
            "pending": progress.pending,
            "passed": list(dict.fromkeys([*progress.passed, *fresh.passed])),
        }
    )


def note_milestone(progress: Progress | None, kind: str, evidence_url: str | None) -> None:
    """Remember a milestone the playbook names; a recording with evidence is never forgotten."""
    if progress is None:
        return
    key = kind.casefold()
    if key in named_milestones(progress.adopted):
        progress.milestones[key] = evidence_url or progress.milestones.get(key)


def pass_gate(progress: Progress | None, target: Stage | Outcome, gate: Gate | None) -> dict[str, Any] | None:
    """Mark the gate `check_gate` returned passed; return what satisfied it, for the audit."""
    if gate is None or progress is None:
        return None
    progress.passed.append(target.value)
    evidence: dict[str, Any] = {
        "gate": target.value,
        "playbook": progress.label,
        "milestones": {m.kind: progress.milestones.get(m.kind.casefold()) for m in gate.milestones},
    }
    if gate.scorecard:
        mean = weighted_mean(progress)
        evidence["scorecard"] = {"evaluators": len(progress.scores), "weighted_mean": round(mean or 0, 4)}
    if gate.approval:
        evidence["approved_by"] = progress.approved.get(target.value)
    return evidence
