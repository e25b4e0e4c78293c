"""Import collaborations from a spreadsheet: read and check each row (`starts` starts them).

Each row becomes the usual start input plus an `imported` part (current stage, the date each stage
began, an optional outcome) and starts one `CollaborationWorkflow` at its current stage, under the
row's `workflow_id` when the file has one (an export of another instance does), else under
`collab-<corporate>-<startup>`. Rows are read one at a time from the sheet
(`passerelle.intake.sheets`), so a file of any length is checked in flat memory. Errors are
reported by row and column, as the spreadsheet numbers and heads them, pydantic's field paths
mapped back to the columns; valid rows import anyway. The workflow id is fixed by the row, so a
re-run imports nothing twice (`passerelle.intake.starts`).
"""

import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from passerelle.intake.cells import CellRefused, DateFormat, date_of, text_of
from passerelle.intake.columns import (
    DATE_FIELDS,
    FIELDS,
    HEADER_ROWS,
    Header,
    known_count,
    read_header,
    value_of,
)
from passerelle.intake.ids import default_workflow_id
from passerelle.intake.sheets import Cell, Table, detect_delimiter
from schemas import CollaborationRequest, Stage
from schemas.formulas import unescape_csv_text
from schemas.imports import effective_at

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
assert COLUMNS == list(FIELDS)  # the English template's order is the one of `columns.FIELDS`


@dataclass(frozen=True)
class RowError:
    """One problem in the file, where a person finds it: sheet, row, column header as written."""

    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        column = f', column "{self.column}"' if self.column else ""
        return f"{self.sheet}, row {self.row}{column}: {self.message}"


@dataclass(frozen=True)
class ImportRow:
    """A valid row: the workflow id it starts under and its start input."""

    row: int
    workflow_id: str
    request: CollaborationRequest


@dataclass(frozen=True)
class ReadOptions:
    """How to read the file's columns and dates (`--map`, `--date-format`)."""

    maps: dict[str, str] = field(default_factory=dict)
    date_format: DateFormat = DateFormat.DAY_FIRST


def _column(error: Any) -> str:
    loc = tuple(str(p) for p in error["loc"])
    if loc[:1] == ("imported",) and len(loc) >= 2:
        if loc[1] == "stage_dates":
            stage = loc[2] if len(loc) > 2 else error.get("ctx", {}).get("stage")
            return f"{stage}_date" if stage else "stage"
        return IMPORTED_COLUMNS.get(loc[1], loc[1])
    pair = (loc[0], loc[1]) if len(loc) >= 2 else None
    return PARTY_COLUMNS.get(pair, loc[0]) if pair else (loc[0] if loc else "(row)")


def _cells(
    header: Header, cells: list[Cell], options: ReadOptions
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Return the row's non-empty values by field, and its cells refused as (field, rule)."""
    values: dict[str, str] = {}
    refused: list[tuple[str, str]] = []
    headless = [i for i, cell in enumerate(cells) if i not in header.fields and text_of(cell)]
    if headless:  # said once per row: a row may hold thousands
        first, more = headless[0], len(headless) - 1
        others = f" (and {more:,} more past the header)" if more else ""
        text = text_of(cells[first])[:40]
        refused.append(("", f"a value ({text!r}) in column {first + 1}, which has no header{others}"))
    for index, cell in enumerate(cells):
        name = header.fields.get(index)
        if name is None:
            continue
        try:
            text = (
                date_of(cell, options.date_format) if name in DATE_FIELDS else value_of(name, text_of(cell))
            )
        except CellRefused as err:
            refused.append((name, str(err)))
            continue
        if text:
            values[name] = text
    return values, refused


def _request_data(cells: dict[str, str], source: str) -> dict[str, Any]:
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


def _in_future(request: CollaborationRequest, today: date) -> list[tuple[str, str]]:
    imported = request.imported
    assert imported is not None
    dated = [(STAGE_DATE_COLUMNS[s], d) for s, d in imported.stage_dates.items()]
    dated += [("closed_date", imported.closed_on)] if imported.closed_on else []
    return [(column, f"{day} is in the future") for column, day in dated if effective_at(day).date() > today]


def _header_problems(header: Header, sheet: str) -> list[RowError]:
    row = header.row
    errors = [
        RowError(sheet, row, c, f"required column is missing (French template: « {FIELDS[c][0]} »)")
        for c in REQUIRED
        if c not in header.written
    ]
    errors += [
        RowError(
            sheet, row, written, "unknown column: name its field with --map 'Header=field', or remove it"
        )
        for written in header.unknown
    ]
    errors += [
        RowError(sheet, row, written, f"a second column for {name} (the first is « {header.column(name)} »)")
        for written, name in header.repeated
    ]
    return errors


def find_header(table: Table, options: ReadOptions) -> tuple[Header | None, list[tuple[int, list[Cell]]]]:
    """Return the header row (the first rows' one naming the most fields) and the rows read after it."""
    first = [r for _, r in zip(range(HEADER_ROWS), table.rows, strict=False)]
    if not first:
        return None, []
    counts = [known_count(cells, options.maps) for _, cells in first]
    best = max(range(len(first)), key=lambda i: (counts[i], -i))
    if counts[best] == 0:
        return None, []
    number, cells = first[best]
    return read_header(number, cells, options.maps), first[best + 1 :]


def parse_table(
    table: Table, source: str, today: date, options: ReadOptions | None = None
) -> Iterator[ImportRow | RowError]:
    """Yield each valid row and each error of a sheet, one row at a time."""
    options = options or ReadOptions()
    sheet = table.name
    header, ahead = find_header(table, options)
    if header is None:
        yield RowError(
            sheet, 1, "", f"no header row: none of the first {HEADER_ROWS} rows names a template column"
        )
        return
    problems = _header_problems(header, sheet)
    if problems:
        yield from problems
        return
    seen: dict[str, int] = {}
    for number, cells in itertools.chain(ahead, table.rows):
        if not any(text_of(c) for c in cells):
            continue  # an empty row between blocks, or formatting below the last one
        values, refused = _cells(header, cells, options)
        errors = [RowError(sheet, number, header.column(n) if n else "", rule) for n, rule in refused]
        data = _request_data(values, f"{source}:{number}")
        try:
            request = CollaborationRequest.model_validate(data)
        except ValidationError as err:
            bad = {e.column for e in errors}
            for e in err.errors(include_url=False):
                column = header.column(_column(e))
                if column not in bad:
                    errors.append(RowError(sheet, number, column, _message(e)))
            yield from _one_per_cell(errors)
            continue
        errors += [RowError(sheet, number, header.column(c), rule) for c, rule in _in_future(request, today)]
        wid = values.get("workflow_id") or default_workflow_id(request)
        if "workflow_id" in values and not _WORKFLOW_ID.fullmatch(wid):
            errors.append(RowError(sheet, number, header.column("workflow_id"), _BAD_ID))
        elif wid in seen:
            column, what = (
                ("workflow_id", "same workflow id")
                if "workflow_id" in values
                else ("startup", "same corporate and start-up")
            )
            errors.append(RowError(sheet, number, header.column(column), f"{what} as row {seen[wid]}"))
        if errors:
            yield from _one_per_cell(errors)
            continue
        seen[wid] = number
        yield ImportRow(number, wid, request)


# A workflow id as an export writes it: no spaces or control characters, as Temporal shows ids.
_WORKFLOW_ID = re.compile(r"[^\s\x00-\x1f\x7f]{1,255}")
_BAD_ID = "a workflow id is 1 to 255 characters without spaces"

# Pydantic's words where a spreadsheet's user needs the rule in theirs.
_MESSAGES = {
    "missing": "this cell must be filled in",
    "string_pattern_mismatch": "write it as a slug: lowercase letters, digits, - and _ (santé → sante)",
}
_CHOICES = {
    "stage": "one of introduction, qualification, pilot (pilote), evaluation (évaluation), "
    "deployment (déploiement)",
    "outcome": "one of deployed (déployé), declined (refusé), abandoned (abandonné)",
    "language": "fr (français) or en (anglais)",
}


def _message(error: Any) -> str:
    column = _column(error)
    if error["type"] == "enum" or error["type"] == "literal_error":
        return f"{error['input']!r} is not {_CHOICES.get(column, error['msg'])}"
    return _MESSAGES.get(error["type"], str(error["msg"]))


def _one_per_cell(errors: list[RowError]) -> list[RowError]:
    """Keep the first error of each cell: a union type would otherwise say one thing twice."""
    kept: dict[tuple[int, str], RowError] = {}
    for e in errors:
        kept.setdefault((e.row, e.column or e.message), e)
    return list(kept.values())


def parse_csv(
    text: str, source: str, today: date, options: ReadOptions | None = None
) -> tuple[list[ImportRow], list[RowError]]:
    """Return the valid rows and every error of CSV text (its separator detected)."""
    delimiter = detect_delimiter(text.splitlines()[:20])
    records = csv.reader(io.StringIO(text), delimiter=delimiter)
    cells: Iterator[tuple[int, list[Cell]]] = (
        (n, [unescape_csv_text(c) for c in r]) for n, r in enumerate(records, start=1)
    )
    table = Table(source, "text", cells)
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for item in parse_table(table, source, today, options):
        (rows if isinstance(item, ImportRow) else errors).append(item)  # type: ignore[arg-type]
    return rows, errors
