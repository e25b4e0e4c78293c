"""Visibility queries: build them safely from filters and read collaborations out of the list.

Values are quoted as SQL string literals the way Temporal's query parser reads them (double
quotes, backslash escapes), so a name like `O'Reilly "Labs"` is matched exactly and can never
turn into query syntax.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import HistoryEventFilterType, WorkflowExecutionStatus
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
)
from temporalio.converter import decode_typed_search_attributes
from temporalio.service import ServiceClient

from passerelle.platform.settings import Settings
from workflows import search_attributes as sa

if TYPE_CHECKING:
    from schemas import Outcome, Stage

WORKFLOW_TYPE = "CollaborationWorkflow"


def quote(value: str) -> str:
    """Return `value` as a double-quoted query literal, escaping backslashes and quotes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def build_query(
    *,
    stage: str | None = None,
    stalled: bool | None = None,
    corporate: str | None = None,
    startup: str | None = None,
    programme: str | None = None,
    include_closed: bool = False,
    failed: bool = False,
) -> str:
    """Return the visibility query listing collaborations that match every given filter.

    Running ones only, unless `include_closed`; failed ones only when `failed`.
    """
    clauses = [f"WorkflowType = {quote(WORKFLOW_TYPE)}"]
    if failed:
        clauses.append('ExecutionStatus = "Failed"')
    elif not include_closed:
        clauses.append('ExecutionStatus = "Running"')
    for key, value in ((sa.STAGE, stage), (sa.CORPORATE, corporate), (sa.STARTUP, startup)):
        if value is not None:
            clauses.append(f"{key.name} = {quote(value)}")
    if programme is not None:
        clauses.append(f"{sa.PROGRAMME.name} = {quote(programme)}")
    if stalled is not None:
        clauses.append(f"{sa.STALLED.name} = {'true' if stalled else 'false'}")
    return " AND ".join(clauses)


class UnsafeQuery(ValueError):
    """An operator's query that could reach outside the clause it is put in."""


def check_contained(query: str) -> None:
    """Refuse a query whose text could leave its parentheses: the scope `restrict` puts around it.

    Outside quoted literals (`'…'` and `"…"` with backslash escapes, `` `…` `` without, as the
    server reads them), every `)` must close a `(` of the query itself, every `(` must be closed,
    and no comment (`--`, `/*`, `#`) may hide the closing parenthesis that follows. Only then is
    `AND (query)` still one clause.
    """
    depth, quote_char, i = 0, "", 0
    while i < len(query):
        ch = query[i]
        if quote_char:
            if ch == "\\" and quote_char != "`":  # backslash escapes in string literals only
                i += 1
            elif ch == quote_char:
                quote_char = ""
        elif ch in "'\"`":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise UnsafeQuery(f"--query: ')' at character {i + 1} closes a parenthesis it did not open")
        elif query.startswith(("--", "/*"), i) or ch == "#":
            raise UnsafeQuery(f"--query: no comments ({query[i : i + 2].strip()!r} at character {i + 1})")
        elif ch in ";\x00":
            raise UnsafeQuery(f"--query: {ch!r} is not allowed (character {i + 1})")
        i += 1
    if quote_char:
        raise UnsafeQuery(f"--query: the quote {quote_char} is never closed")
    if depth:
        raise UnsafeQuery(f"--query: {depth} '(' never closed")
    if not query.strip():
        raise UnsafeQuery("--query: empty")


def restrict(query: str) -> str:
    """Return an operator's query narrowed to running collaborations (for bulk changes).

    Raises UnsafeQuery when the query could escape the narrowing (`check_contained`).
    """
    check_contained(query)
    return f'WorkflowType = {quote(WORKFLOW_TYPE)} AND ExecutionStatus = "Running" AND ({query})'


@dataclass(frozen=True)
class RowFacts:
    """A row's stage, outcome and pause, as the update rules (`workflows.domain.rules`) read them."""

    stage: "Stage"
    outcome: "Outcome | None"
    paused: bool


@dataclass(frozen=True)
class Row:
    """One collaboration as the visibility store knows it."""

    workflow_id: str
    corporate: str | None
    startup: str | None
    programme: str | None
    sector: str | None
    stage: str | None
    outcome: str | None
    stalled: bool | None
    paused: bool | None
    status: str
    started_at: datetime
    run_id: str = ""
    reason: str | None = None  # why a failed run failed, read from its close event (`with_reasons`)
    next_step_at: datetime | None = None  # the soonest planned step ahead
    decision_overdue: bool = False  # the go/no-go date passed with no decision

    def facts(self) -> "RowFacts | None":
        """Return what the update rules read, or None while the workflow has not set them all."""
        from schemas import Outcome, Stage  # the contract loads for the rules only, not for `list`

        if (
            self.stage not in {s.value for s in Stage}
            or self.paused is None
            or (self.outcome or "") not in {"", *(o.value for o in Outcome)}
        ):
            return None
        return RowFacts(Stage(self.stage), Outcome(self.outcome) if self.outcome else None, self.paused)

    def as_dict(self) -> dict[str, Any]:
        """Return the row as plain JSON-able values."""
        next_at = self.next_step_at.isoformat() if self.next_step_at else None
        return {**self.__dict__, "started_at": self.started_at.isoformat(), "next_step_at": next_at}


_STATUS_PREFIX = "WORKFLOW_EXECUTION_STATUS_"
RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
PAGE = 1000  # rows per page asked of the visibility store


def row(info: WorkflowExecutionInfo) -> Row:
    """Read a Row out of a listed workflow execution (search attributes are never encoded)."""
    attrs = decode_typed_search_attributes(info.search_attributes)
    status = WorkflowExecutionStatus.Name(info.status or RUNNING)
    return Row(
        workflow_id=info.execution.workflow_id,
        corporate=attrs.get(sa.CORPORATE),
        startup=attrs.get(sa.STARTUP),
        programme=attrs.get(sa.PROGRAMME),
        sector=attrs.get(sa.SECTOR),
        stage=attrs.get(sa.STAGE),
        outcome=attrs.get(sa.OUTCOME),
        stalled=attrs.get(sa.STALLED),
        paused=attrs.get(sa.PAUSED),
        status=status.removeprefix(_STATUS_PREFIX).lower(),
        started_at=info.start_time.ToDatetime(tzinfo=UTC),
        run_id=info.execution.run_id,
        next_step_at=attrs.get(sa.NEXT_STEP_AT),
        decision_overdue=bool(attrs.get(sa.DECISION_OVERDUE)),
    )


def shared_programme(settings: Settings) -> str | None:
    """Return the programme a command in the shared namespace must keep to (None elsewhere: a
    programme's own namespace holds nothing else, and a reader of every programme sees all)."""
    return settings.programme if settings.namespace == settings.namespaces.shared else None


async def fetch(
    service: ServiceClient, namespace: str, query: str, limit: int | None = None, programme: str | None = None
) -> list[Row]:
    """Return the collaborations matching `query`, newest first as the server lists them; with
    `programme` (a slug), only that programme's (the shared namespace holds every programme's).

    Straight from the visibility service: rows carry search attributes only, which need neither
    the data converter nor the codec (`passerelle.platform.service`).
    """
    rows: list[Row] = []
    token = b""
    while True:
        size = PAGE if limit is None or programme is not None else min(PAGE, limit - len(rows))
        request = ListWorkflowExecutionsRequest(
            namespace=namespace, query=query, page_size=size, next_page_token=token
        )
        page = await service.workflow_service.list_workflow_executions(request)
        found = [row(info) for info in page.executions]
        if programme is not None:
            from schemas.actors import programme_slug  # the contract, in the shared namespace only

            found = [r for r in found if programme_slug(r.programme or "") == programme]
        rows += found
        token = page.next_page_token
        if not token or (limit is not None and len(rows) >= limit):
            return rows[:limit]


# What a failure whose message the converter encoded shows in the list: the CLI with the codec decodes it.
ENCODED = "its reason is encoded: `passerelle status {}` reads it"


def failure_reason(failure: Failure, workflow_id: str) -> str:
    """Return a failure's message, or where to read it when it is encoded.

    A refusal of invalid input travels in clear (`workflows.requests.IN_CLEAR`) and names the field
    and the rule, never the value; any other failure's message may quote data, and stays encoded.
    """
    if failure.HasField("encoded_attributes"):
        return ENCODED.format(workflow_id)
    return failure.message


async def with_reasons(service: ServiceClient, namespace: str, rows: list[Row]) -> list[Row]:
    """Return the rows with each failed run's reason, read from its close event alone."""
    found = []
    for r in rows:
        if r.status != "failed":
            found.append(r)
            continue
        request = GetWorkflowExecutionHistoryRequest(
            namespace=namespace,
            execution=WorkflowExecution(workflow_id=r.workflow_id, run_id=r.run_id),
            history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        )
        events = (await service.workflow_service.get_workflow_execution_history(request)).history.events
        failed = [
            e.workflow_execution_failed_event_attributes
            for e in events
            if e.HasField("workflow_execution_failed_event_attributes")
        ]
        found.append(replace(r, reason=failure_reason(failed[-1].failure, r.workflow_id) if failed else None))
    return found
