"""Measure the payloads a history holds: what the payload budget is checked against."""

from temporalio.api.enums.v1 import EventType

from passerelle.audit.histories import Run
from passerelle.audit.keys import payloads

BUDGET = 64 * 1024  # docs/guarantees.md: no payload Passerelle writes exceeds it
HISTORY_WARNING = 10 * 1024 * 1024  # Temporal warns about a run's history past this size


def largest_payload(runs: list[Run]) -> tuple[int, str]:
    """Return the size of the largest payload in the runs, and the event that holds it."""
    best, where = 0, ""
    for run in runs:
        for event in run.events:
            for payload in payloads(event):
                if payload.ByteSize() > best:
                    name = EventType.Name(event.event_type)
                    best, where = payload.ByteSize(), f"{run.run_id} #{event.event_id} {name}"
    return best, where
