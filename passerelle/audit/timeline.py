"""A collaboration's story in order, stitched across its continue-as-new runs.

Built from the Temporal history alone (the entries each run scheduled for recording, plus how each
run began and ended), not from the Postgres rows: the history is the record that replay proves the
current code explains and that `export` hashes, it exists even when the database is unreachable or
disagrees, and `verify` is the command that says whether Postgres tells the same story. It also
works offline, from an export.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from passerelle.audit.actors import Proof, proof_of, proven_by_actor
from passerelle.audit.entries import ErasedRecord, RecordedEntry, RunMark
from schemas import EventKind, Stage
from schemas.formulas import escape_csv_text
from schemas.moments import second

# `actor`: verified (by which vouching key), declared, or service (`passerelle.audit.actors`).
COLUMNS = ("when", "run", "seq", "event", "stage", "by", "actor", "detail")


@dataclass(frozen=True)
class Line:
    """One line of the story."""

    when: datetime
    run: int
    seq: int | None
    event: str
    stage: str
    by: str
    detail: str
    actor: str = ""

    def cells(self) -> list[str]:
        """Return the line as text cells, in COLUMNS order."""
        seq = "" if self.seq is None else str(self.seq)
        return [second(self.when), str(self.run), seq, self.event, self.stage,
                self.by, self.actor, self.detail]  # fmt: skip


@dataclass(frozen=True)
class StageTime:
    """Time spent in one stage (summed over every visit), and how much of it paused."""

    stage: Stage
    visits: int
    total: timedelta
    paused: timedelta


def _detail(recorded: RecordedEntry) -> tuple[str, str]:
    e = recorded.entry
    event = e.kind.value
    if e.kind is EventKind.STAGE_CHANGED and e.to_stage:
        event = f"stage → {e.to_stage.value}"
    elif e.kind is EventKind.MILESTONE and e.milestone:
        event = f"milestone: {e.milestone}"
    elif e.kind is EventKind.CLOSED and e.outcome:
        event = f"outcome: {e.outcome.value}"
    elif e.kind is EventKind.PARTNER_UPDATE and e.details:
        event = f"partner answer: {e.details.get('action')}"
    elif e.reminder_number is not None:
        event = f"{e.kind.value} #{e.reminder_number}"
    detail = e.note + (f" ({e.evidence_url})" if e.evidence_url else "")
    facts = event_facts(e.kind, e.details)
    if facts:
        detail = f"{detail}; {facts}" if detail else facts
    return event, detail


def event_facts(kind: EventKind, details: dict[str, Any] | None) -> str:
    """Return what an event's `details` say, in words: the gate passed and its evidence, the
    approval's target and wait, an evaluator's scores, the version adopted, a partner's answer."""
    if not details:
        return ""
    if "gate" in details:
        evidence = ", ".join(
            f"{kind_}" + (f" <{url}>" if url else "") for kind_, url in details.get("milestones", {}).items()
        )
        parts = [f"gate {details['gate']} passed ({details.get('playbook', '')})"]
        if evidence:
            parts.append(f"milestones: {evidence}")
        if "scorecard" in details:
            card = details["scorecard"]
            parts.append(f"scorecard {card['weighted_mean']:g} from {card['evaluators']} evaluator(s)")
        if details.get("approved_by"):
            parts.append(f"approved by {details['approved_by']}")
        return "; ".join(parts)
    if kind is EventKind.SCORED:
        scores = ", ".join(f"{k} {v}" for k, v in details.get("scores", {}).items())
        again = ", replaces their previous scorecard" if details.get("replaces_previous") else ""
        return f"scores {scores}{again}; weighted mean now {details.get('weighted_mean', 0):g}"
    if kind is EventKind.PARTNER_UPDATE:
        until = f" until {details['until']}" if details.get("until") else ""
        cleared = ", cleared a stall" if details.get("was_stalled") else ""
        return (
            f"{details.get('action')}{until} from {details.get('contact')}, answering the e-mail of "
            f"entry {details.get('answered_seq')} (link {str(details.get('link'))[:12]}){cleared}"
        )
    if kind is EventKind.PLAYBOOK_ADOPTED:
        sha = str(details.get("sha256"))[:12]
        return f"playbook {details.get('programme')} v{details.get('version')} (sha256 {sha})"
    if "for" in details:
        waited = details.get("waited_seconds")
        after = f" after {human(timedelta(seconds=waited))}" if waited is not None else ""
        return f"for {details['for']}{after}"
    return ""


def story(
    entries: Sequence[RecordedEntry],
    marks: Sequence[RunMark],
    erased: Sequence[ErasedRecord] = (),
    proofs: Sequence[Proof] = (),
) -> list[Line]:
    """Return the entries and the run boundaries as one list of lines, in time order.

    A record whose data key was destroyed shows as `erased`, with when and by whom; its stage is
    the one Temporal's search attributes still show. Each entry's actor is verified only as far
    as a statement among `proofs` proves it (`passerelle.audit.actors`).
    """
    proven = proven_by_actor(proofs)
    lines = []
    for record in erased:
        gone = record.erasure
        why = f": {gone.reason}" if gone.reason else ""
        at = gone.at.isoformat(timespec="seconds")
        detail = f"unreadable: data key destroyed {at} by {gone.by or 'unknown'}{why}"
        lines.append(Line(record.at, record.run_index, None, "erased", record.stage or "", "", detail))
    for recorded in entries:
        event, detail = _detail(recorded)
        e = recorded.entry
        proof = proof_of(recorded, proven)
        lines.append(Line(e.at, recorded.run_index, e.seq, event, e.stage.value, e.actor, detail, proof))
    for mark in marks:
        if mark.ending == "CONTINUED_AS_NEW" and mark.ended_at is not None:
            nxt = f"run {mark.run_index + 1} continues with the whole state"
            lines.append(Line(mark.ended_at, mark.run_index, None, "continued as new", "", "system", nxt))
        elif mark.ending not in (None, "COMPLETED", "CONTINUED_AS_NEW") and mark.ended_at is not None:
            lines.append(Line(mark.ended_at, mark.run_index, None, f"workflow {mark.ending.lower()}", "", "",
                              "the run ended outside the workflow's own logic"))  # fmt: skip
    # Runs follow each other in time; within a run, entries by seq, then how the run ended.
    return sorted(lines, key=lambda line: (line.run, line.seq is None, line.seq or 0, line.when))


def stage_times(entries: Sequence[RecordedEntry], until: datetime) -> list[StageTime]:
    """Return the time spent in each stage visited, paused time included and shown apart.

    An open collaboration's current stage runs until `until`; a closed one stops at its outcome.
    """
    total: dict[Stage, timedelta] = {}
    paused: dict[Stage, timedelta] = {}
    visits: dict[Stage, int] = {}
    stage, since, paused_since = None, None, None
    for recorded in entries:
        e = recorded.entry
        if e.kind is EventKind.STARTED:
            stage, since = e.stage, e.at
            visits[stage] = visits.get(stage, 0) + 1
        elif stage is None or since is None:
            continue
        elif e.kind in (EventKind.STAGE_CHANGED, EventKind.CLOSED):
            total[stage] = total.get(stage, timedelta()) + (e.at - since)
            if paused_since is not None:
                paused[stage] = paused.get(stage, timedelta()) + (e.at - paused_since)
                paused_since = e.at
            if e.kind is EventKind.CLOSED or e.to_stage is None:
                stage = None
                continue
            stage, since = e.to_stage, e.at
            visits[stage] = visits.get(stage, 0) + 1
        elif e.kind is EventKind.PAUSED:
            paused_since = e.at
        elif e.kind is EventKind.RESUMED and paused_since is not None:
            paused[stage] = paused.get(stage, timedelta()) + (e.at - paused_since)
            paused_since = None
    if stage is not None and since is not None:
        total[stage] = total.get(stage, timedelta()) + (until - since)
        if paused_since is not None:
            paused[stage] = paused.get(stage, timedelta()) + (until - paused_since)
    return [StageTime(s, visits[s], total.get(s, timedelta()), paused.get(s, timedelta())) for s in visits]


def human(span: timedelta) -> str:
    """Return a duration as `12d 03h 05m`, or seconds below a minute."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{span.total_seconds():.1f}s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return (f"{days}d " if days else "") + f"{hours:02d}h {rest // 60:02d}m"


def to_markdown(lines: Sequence[Line], times: Sequence[StageTime], title: str) -> str:
    """Return the story and the time per stage as Markdown tables."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = [f"# {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(esc(c) for c in line.cells()) + " |" for line in lines]
    out += [
        "",
        "## Time in each stage",
        "",
        "| stage | visits | time | of which paused |",
        "|---|---|---|---|",
    ]
    out += [f"| {t.stage.value} | {t.visits} | {human(t.total)} | {human(t.paused)} |" for t in times]
    return "\n".join(out) + "\n"


def to_csv(lines: Sequence[Line], times: Sequence[StageTime]) -> str:
    """Return the story as CSV; the time in each stage follows as `time_in_stage` lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    # Notes and names are whatever people typed: a spreadsheet reads them as text, never a formula.
    writer.writerows([escape_csv_text(c) for c in line.cells()] for line in lines)
    for t in times:
        seconds = f"{t.total.total_seconds():.0f}s (paused {t.paused.total_seconds():.0f}s)"
        writer.writerow(
            ["", "", "", "time_in_stage", t.stage.value, "", "", f"{t.visits} visit(s), {seconds}"]
        )
    return buffer.getvalue()
