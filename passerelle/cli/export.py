"""`passerelle export collaborations`: one row per collaboration, for sponsors and other instances.

Reads PostgreSQL only, with the report's filters, within the caller's rows as the report is (a
sponsor's export holds their own group's collaborations alone). The first columns are the import template's,
so the file imports again (`passerelle import`) as the same history in another instance; the rest
are for the reader. `--excel-fr` writes a CSV a French Excel opens as it is, with the French
template's headers.
"""

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from passerelle.cli.common import BAD_INPUT, CliError, StateDir, caller_within, database_url
from passerelle.cli.report import Corporate, Programme, Sector, Since, Until, kpi_filters
from passerelle.cli.workbooks import Sheet, csv_text, write_csv, write_xlsx
from passerelle.intake.columns import EXPORT_ONLY, FIELDS, french_header
from passerelle.platform.db import create_pool
from passerelle.platform.scope import RowScope
from passerelle.reads.collaborations import CollaborationLine, read_collaborations
from schemas import KpiFilters

app = typer.Typer(help="Write spreadsheets from PostgreSQL.", no_args_is_help=True)
COLUMNS = [*FIELDS, *EXPORT_ONLY]
DAYS_COLUMNS = ("days_to_poc", "days_pilot_to_decision", "days_to_first_meeting")
DAYS = {COLUMNS.index(c): "0.00" for c in DAYS_COLUMNS}  # Excel formats


def sheet_of(lines: list[CollaborationLine], *, french: bool = False) -> Sheet:
    """Return the collaborations as one table, headed in English or in French."""
    headers = [french_header(c) if french else c for c in COLUMNS]
    return Sheet("Collaborations", headers, [[line.values[c] for c in COLUMNS] for line in lines], DAYS)


async def _read(url: str, filters: KpiFilters, rows: RowScope) -> list[CollaborationLine]:
    pool = await create_pool(url, max_size=1)
    try:
        return await read_collaborations(pool, filters, rows)
    finally:
        await pool.close()


def format_of(output: str | None, path: Path | None) -> str:
    """Return `--format`, or the output file's suffix; refuse anything but xlsx and csv."""
    chosen = output or (path.suffix.lower().lstrip(".") if path else "csv")
    if chosen not in ("xlsx", "csv"):
        raise CliError(f"--format must be xlsx or csv, not {chosen!r}", BAD_INPUT)
    if chosen == "xlsx" and path is None:
        raise CliError("--format xlsx writes a file: name it with --output FILE.xlsx", BAD_INPUT)
    return chosen


@app.command()
def collaborations(
    programme: Programme = None,
    sector: Sector = None,
    corporate: Corporate = None,
    since: Since = None,
    until: Until = None,
    output: Annotated[
        str | None, typer.Option("--format", help="xlsx or csv (default: the file's suffix)")
    ] = None,
    path: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (CSV: default stdout)")
    ] = None,
    excel_fr: Annotated[
        bool, typer.Option(help="CSV for a French Excel: ';', BOM, dd/mm/yyyy, French headers")
    ] = False,
    state_dir: StateDir = None,
) -> None:
    """One row per collaboration: parties, programme, stage and its dates, outcome, reminders,
    days to PoC and from the pilot's start to its decision."""
    chosen = format_of(output, path)
    if excel_fr and chosen == "xlsx":
        raise CliError("--excel-fr is for CSV: a workbook shows dates in the reader's own locale", BAD_INPUT)
    selected = kpi_filters(programme, sector, corporate, since, until)
    rows = caller_within(selected.programme).rows
    with database_url(state_dir) as url:
        lines = asyncio.run(_read(url, selected, rows))
    sheet = sheet_of(lines, french=excel_fr)
    if chosen == "xlsx":
        assert path is not None
        write_xlsx(path, [sheet])
    elif path is not None:
        write_csv(path, sheet, excel_fr=excel_fr)
    else:
        typer.echo(csv_text(sheet, excel_fr=excel_fr), nl=False)
    if path is not None:
        typer.echo(f"{len(lines)} collaboration(s) written to {path}", err=True)


def register(main: typer.Typer) -> None:
    """Add `export` to the app."""
    main.add_typer(app, name="export")
