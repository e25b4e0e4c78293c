"""Import collaborations from a spreadsheet (CSV): parse and check each row, then start them.

Each row becomes the usual start input plus an `imported` part (current stage, the date each stage
began, an optional outcome) and starts one `CollaborationWorkflow` at its current stage. Errors are
reported by line and column, pydantic's field paths mapped back to the spreadsheet's columns; valid
rows import anyway. A re-run imports nothing twice: the workflow id is fixed by the row's
corporate and start-up (`collab-<corporate>-<startup>`), a collaboration already recorded under it
is skipped, and the start uses `REJECT_DUPLICATE`, so even a completed one is not started again.
"""

import asyncio
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from passerelle.intake.ids import default_workflow_id
from schemas import CollaborationRequest, Stage
from workflows.collaboration import CollaborationWorkflow

PARTY_COLUMNS = {
    ("corporate", "name"): "corporate",
    ("corporate", "contact_email"): "corporate_email",
    ("startup", "name"): "startup",
    ("startup", "contact_email"): "startup_email",
    ("startup", "label"): "startup_label",
}
PLAIN_COLUMNS = ("programme", "topic", "sector", "owner_email", "language")
STAGE_DATE_COLUMNS = {stage: f"{stage.value}_date" for stage in Stage}
IMPORTED_COLUMNS = {"stage": "stage", "outcome": "outcome", "closed_on": "closed_date"}
# The template's columns, in order; all but `startup_label`, `language` and the dates of stages not
# reached, `outcome` and `closed_date` must be filled in.
COLUMNS = [*PARTY_COLUMNS.values(), *PLAIN_COLUMNS, "stage", *STAGE_DATE_COLUMNS.values()]
COLUMNS += ["outcome", "closed_date"]
REQUIRED = [c for c in COLUMNS[:12] if c not in ("startup_label", "language")]

SELECT_KNOWN = "SELECT DISTINCT workflow_id FROM collaborations WHERE workflow_id = ANY($1::text[])"
COUNT_RECORDED = "SELECT count(DISTINCT workflow_id) FROM collaborations WHERE workflow_id = ANY($1::text[])"


@dataclass(frozen=True)
class RowError:
    """One problem in the file, where a person finds it in the spreadsheet."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ImportRow:
    """A valid row: the workflow id it starts under and its start input."""

    line: int
    workflow_id: str
    request: CollaborationRequest


@dataclass
class ImportResult:
    """What an import did: workflow ids started and skipped (already there)."""

    started: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _column(error: Any) -> str:
    loc = tuple(str(p) for p in error["loc"])
    if loc[:1] == ("imported",) and len(loc) >= 2:
        if loc[1] == "stage_dates":
            stage = loc[2] if len(loc) > 2 else error.get("ctx", {}).get("stage")
            return f"{stage}_date" if stage else "stage"
        return IMPORTED_COLUMNS.get(loc[1], loc[1])
    pair = (loc[0], loc[1]) if len(loc) >= 2 else None
    return PARTY_COLUMNS.get(pair, loc[0]) if pair else (loc[0] if loc else "(row)")


def _request_data(row: dict[str, str], source: str) -> dict[str, Any]:
    cells = {k: v.strip() for k, v in row.items() if k and v and v.strip()}
    data: dict[str, Any] = {k: cells[k] for k in PLAIN_COLUMNS if k in cells}
    for (party, key), column in PARTY_COLUMNS.items():
        if column in cells:
            data.setdefault(party, {})[key] = cells[column]
    imported: dict[str, Any] = {"source": source, "stage_dates": {}}
    for key, column in IMPORTED_COLUMNS.items():
        if column in cells:
            imported[key] = cells[column]
    for stage, column in STAGE_DATE_COLUMNS.items():
        if column in cells:
            imported["stage_dates"][stage.value] = cells[column]
    data["imported"] = imported
    return data


def _in_future(request: CollaborationRequest, today: date, line: int) -> list[RowError]:
    imported = request.imported
    assert imported is not None
    dated = [(STAGE_DATE_COLUMNS[s], d) for s, d in imported.stage_dates.items()]
    dated += [("closed_date", imported.closed_on)] if imported.closed_on else []
    return [RowError(line, column, f"{day} is in the future") for column, day in dated if day > today]


def parse_csv(text: str, source: str, today: date) -> tuple[list[ImportRow], list[RowError]]:
    """Return the valid rows and every error of a CSV file (header on line 1)."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
    except csv.Error as err:
        return [], [RowError(1, "", f"unreadable CSV header ({err})")]
    errors = [RowError(1, c, "required column is missing") for c in REQUIRED if c not in header]
    errors += [RowError(1, c, "unknown column") for c in header if c not in COLUMNS]
    if errors:
        return [], errors
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # a field over the csv module's limit, a stray NUL...
            errors.append(RowError(reader.line_num + 1, "", f"unreadable CSV ({err})"))
            break  # the reader cannot go on past it
        line = reader.line_num
        try:
            request = CollaborationRequest.model_validate(_request_data(row, f"{source}:{line}"))
        except ValidationError as err:
            errors += [RowError(line, _column(e), e["msg"]) for e in err.errors(include_url=False)]
            continue
        future = _in_future(request, today, line)
        wid = default_workflow_id(request)
        if wid in seen:
            future.append(RowError(line, "startup", f"same corporate and start-up as line {seen[wid]}"))
        if future:
            errors += future
            continue
        seen[wid] = line
        rows.append(ImportRow(line, wid, request))
    return rows, errors


async def start_imports(
    client: Client,
    rows: list[ImportRow],
    task_queue: str,
    *,
    pool: asyncpg.Pool | None = None,
    concurrency: int = 8,
    on_done: Callable[[ImportRow, bool], None] = lambda row, started: None,
) -> ImportResult:
    """Start one workflow per row, at most `concurrency` at once; skip those already there."""
    known: set[str] = set()
    if pool is not None:
        known = {r["workflow_id"] for r in await pool.fetch(SELECT_KNOWN, [r.workflow_id for r in rows])}
    result, gate = ImportResult(), asyncio.Semaphore(concurrency)

    async def one(row: ImportRow) -> None:
        started = False
        if row.workflow_id not in known:
            async with gate:
                try:
                    await client.start_workflow(
                        CollaborationWorkflow.run,
                        row.request,
                        id=row.workflow_id,
                        task_queue=task_queue,
                        # Never twice under one id, even once the first has completed.
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        static_summary=f"{row.request.corporate.name} × {row.request.startup.name}: "
                        f"{row.request.topic} (imported)",
                    )
                    started = True
                except WorkflowAlreadyStartedError:
                    pass
        (result.started if started else result.skipped).append(row.workflow_id)
        on_done(row, started)

    await asyncio.gather(*(one(row) for row in rows))
    return result


async def wait_recorded(
    pool: asyncpg.Pool,
    workflow_ids: list[str],
    *,
    seconds: float = 300,
    on_progress: Callable[[int], None] = lambda recorded: None,
) -> int:
    """Wait until workers have recorded these collaborations (at most `seconds`); return how many are."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        recorded: int = await pool.fetchval(COUNT_RECORDED, workflow_ids)
        on_progress(recorded)
        if recorded >= len(workflow_ids) or loop.time() > deadline:
            return recorded
        await asyncio.sleep(0.5)
