"""Who did each action, re-proved from the history: the actor statements of the start and of
accepted updates.

A collaboration's start input (`WorkflowExecutionStarted`) and every update it accepted
(`WorkflowExecutionUpdateAccepted`) are in its history as sent, sealed, statement included
(`passerelle.platform.vouching`). The audit
decodes each one through the same `ActorCodec` as a worker, against the public vouching keys it
knows (the `vouching_keys` table, or the `vouching_keys.json` of an export), so a recorded
*verified* actor is believed only when a statement in the history proves it now, offline, after
any rotation. An entry recorded with no verified actor reads as *declared*; the workflow's own
entries (reminders, escalations) as *service*.
"""

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.converter import DataConverter

from passerelle.audit.entries import RecordedEntry
from passerelle.audit.histories import Run
from passerelle.platform.codec import DataKeysNeeded
from passerelle.platform.keystore import DataKeyDestroyed
from passerelle.platform.vouching import fingerprint
from schemas.actors import ACTOR_MARK

KEYS_FILE = "vouching_keys.json"
SERVICE_ACTORS = frozenset({"system"})  # what the workflow records of its own doing


@dataclass(frozen=True)
class Proof:
    """The start or an accepted update (`update` names it) and what its statement proves
    (`finding`: None when it has none)."""

    run_index: int
    event_id: int
    update: str
    finding: Mapping[str, Any] | None

    @property
    def verified(self) -> Mapping[str, Any] | None:
        found = (self.finding or {}).get("verified")
        return found if isinstance(found, Mapping) else None


def _key(actor: Mapping[str, Any]) -> tuple[Any, ...]:
    # The statement's time and the recorded one are one instant, written in two ISO forms.
    at = actor.get("at")
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return (actor.get("issuer"), actor.get("subject"), actor.get("key"), when)


async def proofs(runs: Sequence[Run], converter: DataConverter) -> list[Proof]:
    """Return every accepted update of `runs` with what its statement proves."""
    codec = converter.payload_codec
    found = []
    for index, run in enumerate(runs, start=1):
        for event in run.events:
            if event.HasField("workflow_execution_started_event_attributes"):
                name, payloads = (
                    "start",
                    list(event.workflow_execution_started_event_attributes.input.payloads[:1]),
                )
            elif event.HasField("workflow_execution_update_accepted_event_attributes"):
                accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
                name, payloads = accepted.input.name, list(accepted.input.args.payloads)
            else:
                continue
            if codec is not None and payloads:
                try:
                    payloads = await codec.decode(payloads)
                except (DataKeyDestroyed, DataKeysNeeded):
                    # Erased (its entries read as erased too, `entries`), or sealed with a data key
                    # this process cannot read (a start from a client with data keys, checked by
                    # one with the master key alone): it proves nothing here.
                    continue
            mark = payloads[0].metadata.get(ACTOR_MARK) if payloads else None
            found.append(Proof(index, event.event_id, name, json.loads(mark) if mark else None))
    return found


def proof_of(recorded: RecordedEntry, proven: Mapping[tuple[Any, ...], Proof]) -> str:
    """Return the timeline's word on an entry's actor: verified (by which key), declared, service."""
    e = recorded.entry
    claimed = (e.details or {}).get("verified")
    if isinstance(claimed, Mapping):
        proof = proven.get(_key(claimed))
        if proof is None or proof.verified is None:
            return "UNPROVEN: no statement in the history proves this actor"
        return f"verified: key {claimed.get('key')} ({claimed.get('fingerprint')})"
    return "service" if e.actor in SERVICE_ACTORS else "declared"


def proven_by_actor(found: Sequence[Proof]) -> dict[tuple[Any, ...], Proof]:
    """Return the proofs that hold, by the actor they prove."""
    return {_key(p.verified): p for p in found if p.verified is not None}


def actor_problems(entries: Sequence[RecordedEntry], found: Sequence[Proof]) -> list[tuple[int | None, str]]:
    """Return each entry recorded as verified that no statement proves, and each statement that
    does not hold, as (seq, what)."""
    proven = proven_by_actor(found)
    problems: list[tuple[int | None, str]] = [
        (r.entry.seq, "recorded as verified, but no statement in the history proves it")
        for r in entries
        if proof_of(r, proven).startswith("UNPROVEN")
    ]
    problems += [
        (None, f"update {p.update} (run {p.run_index}, event {p.event_id}): {p.finding.get('unproven')}")
        for p in found
        if p.finding is not None and p.verified is None
    ]
    return problems


def summary(entries: Sequence[RecordedEntry], found: Sequence[Proof]) -> str:
    """Return one line: how many actions are verified (under which keys), declared, service."""
    proven = proven_by_actor(found)
    words = [proof_of(r, proven) for r in entries]
    keys = sorted({w.removeprefix("verified: key ") for w in words if w.startswith("verified")})
    verified = sum(w.startswith("verified") for w in words)
    declared = words.count("declared")
    under = f" (keys {', '.join(keys)})" if keys else ""
    return f"actors: {verified} verified{under}, {declared} declared, {words.count('service')} by the service"


def write_keys(folder: Path, keys: Mapping[str, bytes]) -> Path:
    """Write the public vouching keys an export's statements may name."""
    target = folder / KEYS_FILE
    body = {
        kid: {"ed25519": base64.b64encode(k).decode(), "fingerprint": fingerprint(k)}
        for kid, k in keys.items()
    }
    target.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    return target


def read_keys(source: Path) -> dict[str, bytes]:
    """Return the public vouching keys of an export folder (or of its manifest's folder)."""
    folder = source if source.is_dir() else source.parent
    path = folder / KEYS_FILE
    if not path.is_file():
        return {}
    body = json.loads(path.read_text())
    keys = {kid: base64.b64decode(entry["ed25519"]) for kid, entry in body.items()}
    for kid, key in keys.items():
        if fingerprint(key) != body[kid]["fingerprint"]:
            raise ValueError(f"{path}: key {kid!r} does not match its fingerprint")
    return keys
