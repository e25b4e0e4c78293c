"""`passerelle report`: the programme's funnel, time in stage, time to PoC and to the first
meeting, from the KPI views.

Reads PostgreSQL only (`PASSERELLE_DATABASE_URL`, or the embedded PostgreSQL of the state
folder): no Temporal needed. Prints Rich tables, or CSV / JSON / Markdown for other tools, and
draws the funnel, the time-in-stage distribution, the time to PoC and to decision, and the time to
the first meeting and the steps with `--chart`.

Every figure is of the caller's rows (`passerelle.platform.scope.RowScope`): one programme's, or
a sponsor's own group's in it; only a caller of every programme adds up all programmes. A
`--programme` of the report is the caller's programme, as `passerelle --programme` would choose it.
"""

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from passerelle.cli.common import BAD_INPUT, CliError, StateDir, build, caller_within, database_url
from passerelle.cli.consoles import plain_console
from passerelle.platform.db import create_pool
from passerelle.platform.scope import RowScope
from passerelle.reads.kpis import read_report as read_kpis
from schemas import KpiFilters, KpiReport
from schemas.kpis import MEETING_HEADERS, MEETING_TITLE, PILOT_HEADERS, PILOT_TITLE

FORMATS = ("table", "csv", "json", "md", "xlsx")
Programme = Annotated[str | None, typer.Option(help="Only this programme")]
Sector = Annotated[str | None, typer.Option(help="Only this sector")]
Corporate = Annotated[str | None, typer.Option(help="Only this corporate")]
Since = Annotated[str | None, typer.Option("--from", help="Entered on or after YYYY-MM-DD")]
Until = Annotated[str | None, typer.Option("--to", help="Entered on or before YYYY-MM-DD")]


def kpi_filters(
    programme: str | None, sector: str | None, corporate: str | None, since: str | None, until: str | None
) -> KpiFilters:
    """Return the filters of `report` and `export`, or raise CliError naming the option."""
    data = {"programme": programme, "sector": sector, "corporate": corporate, "since": since, "until": until}
    filters = build(KpiFilters, data, "filters")
    if filters.since and filters.until and filters.since > filters.until:
        raise CliError(f"--from {filters.since} is after --to {filters.until}", BAD_INPUT)
    return filters


STAGE_COLUMNS = [
    "stage",
    "reached",
    "share_of_introduction",
    "open",
    "stalled",
    "completed_stays",
    "median_days",
    "p90_days",
]


# Time to PoC and to decision, one row per programme (`schemas.kpis.PilotKpi`).
PILOT_COLUMNS = [
    "programme",
    "reached_pilot",
    "poc_median_days",
    "poc_p90_days",
    "decided",
    "open",
    "decision_median_days",
    "decision_p90_days",
]


# Time to the first meeting and the steps, one row per programme (`schemas.kpis.MeetingKpi`).
MEETING_COLUMNS = [
    "programme",
    "introduced",
    "met",
    "first_meeting_median_days",
    "first_meeting_p90_days",
    "steps_held",
    "steps_postponed",
    "steps_cancelled",
    "steps_missed",
]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def stage_rows(report: KpiReport) -> list[dict[str, object]]:
    """Return one dict per stage with the STAGE_COLUMNS."""
    first = report.stages[0].reached
    return [
        {
            "stage": s.stage.value,
            "reached": s.reached,
            "share_of_introduction": round(s.reached / first, 4) if first else None,
            "open": s.open,
            "stalled": s.stalled,
            "completed_stays": s.completed_stays,
            "median_days": None if s.median_days is None else round(s.median_days, 2),
            "p90_days": None if s.p90_days is None else round(s.p90_days, 2),
        }
        for s in report.stages
    ]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def pilot_rows(report: KpiReport) -> list[dict[str, object]]:
    """Return one dict per programme with the PILOT_COLUMNS."""
    return [
        {
            "programme": p.programme,
            "reached_pilot": p.reached_pilot,
            "poc_median_days": _rounded(p.poc_median_days),
            "poc_p90_days": _rounded(p.poc_p90_days),
            "decided": p.decided,
            "open": p.open,
            "decision_median_days": _rounded(p.decision_median_days),
            "decision_p90_days": _rounded(p.decision_p90_days),
        }
        for p in report.pilot_times
    ]


def meeting_rows(report: KpiReport) -> list[dict[str, object]]:
    """Return one dict per programme with the MEETING_COLUMNS (days rounded to 2 places)."""
    return [
        {c: _rounded(getattr(m, c)) if c.endswith("_days") else getattr(m, c) for c in MEETING_COLUMNS}
        for m in report.meetings
    ]


def summary_lines(report: KpiReport) -> list[str]:
    """Return the headline figures, one per line."""
    return [
        f"Collaborations: {report.collaborations} ({report.open} open, {report.deployed} deployed, "
        f"{report.declined} declined, {report.abandoned} abandoned)",
        f"Stalled: {report.stalled} of {report.open} open ({_pct(report.stalled_ratio)})",
        f"Conversion introduction → pilot: {_pct(report.conversion_introduction_pilot)}",
        f"Conversion pilot → deployed: {_pct(report.conversion_pilot_deployed)}",
    ]


def as_csv(report: KpiReport) -> str:
    """Return the per-stage table as CSV (headline figures are in the JSON and table formats)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, STAGE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(stage_rows(report))
    return out.getvalue()


def playbook_lines(report: KpiReport) -> list[str]:
    """Return each programme's playbook figures, one line per figure (none without playbooks)."""
    lines = []
    for p in report.playbooks:
        lines.append(f"Playbook of {p.programme}: {p.collaborations} collaboration(s) under it")
        if p.criteria:
            scores = ", ".join(f"{name} {mean:.2f}" for name, mean in p.criteria.items())
            lines.append(f"  Scores ({p.scorecards} scorecard(s), mean per criterion): {scores}")
        for g in p.gates:
            lines.append(f"  Gate {g.gate}: {g.passed} of {g.faced} passed ({_pct(g.pass_rate)})")
        if p.approvals_answered:
            median, p90 = _days(p.approval_wait_median_days), _days(p.approval_wait_p90_days)
            lines.append(
                f"  Approvals: {p.approvals_approved} of {p.approvals_answered} approved; "
                f"waited median {median} days, p90 {p90} days"
            )
    return lines


def partner_lines(report: KpiReport) -> list[str]:
    """Return the partners' answer figures, one per line (none before the first reminder)."""
    p = report.partners
    if p is None or not (p.reminders_sent or p.parties):
        return []
    lines = [
        f"Reminders answered: {p.reminders_answered} of {p.reminders_sent} ({_pct(p.answer_rate)})",
        f"Stalls resolved by a partner's answer: {p.stalls_resolved_by_partner}",
    ]
    for party in p.parties:
        hours = "—" if party.median_hours_to_answer is None else f"{party.median_hours_to_answer:.1f}"
        lines.append(
            f"Answers from the {party.party} side: {party.answers}, median {hours} h after the e-mail"
        )
    return lines


def _markdown_table(columns: list[str], rows: list[dict[str, object]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = ("—" if v is None else str(v).replace("|", "\\|") for v in row.values())
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def as_markdown(report: KpiReport) -> str:
    """Return the headline figures, the per-stage table, the time to PoC and to decision and the
    time to the first meeting and the steps per programme, and the playbook and partner figures as
    Markdown."""
    lines = ["# Programme KPIs", "", *(f"- {line}" for line in summary_lines(report)), ""]
    lines += _markdown_table(STAGE_COLUMNS, stage_rows(report))
    if report.pilot_times:
        lines += ["", f"## {PILOT_TITLE}", "", *_markdown_table(PILOT_COLUMNS, pilot_rows(report))]
    if report.meetings:
        lines += ["", f"## {MEETING_TITLE}", "", *_markdown_table(MEETING_COLUMNS, meeting_rows(report))]
    if report.playbooks:
        lines += ["", "## Playbooks", "", *(f"- {line.strip()}" for line in playbook_lines(report))]
    if partner_lines(report):
        lines += ["", "## Partners", "", *(f"- {line}" for line in partner_lines(report))]
    return "\n".join(lines) + "\n"


def show_tables(report: KpiReport, console: Console) -> None:
    """Print the headline figures, the funnel, the stage durations, the time to PoC and to
    decision and the time to the first meeting and the steps as Rich tables."""
    for line in summary_lines(report):
        console.print(line)
    funnel = Table("stage", "reached", "% of introduction", "open now", "stalled", title="Funnel")
    durations = Table("stage", "completed stays", "median days", "p90 days", title="Time in stage")
    for row, s in zip(stage_rows(report), report.stages, strict=True):
        share = row["share_of_introduction"]
        funnel.add_row(
            s.stage.value,
            str(s.reached),
            _pct(share if isinstance(share, float) else None),
            str(s.open),
            str(s.stalled),
        )
        durations.add_row(s.stage.value, str(s.completed_stays), _days(s.median_days), _days(s.p90_days))
    pilots = Table(*PILOT_HEADERS, title=PILOT_TITLE)
    for p in report.pilot_times:
        pilots.add_row(
            p.programme,
            str(p.reached_pilot),
            _days(p.poc_median_days),
            _days(p.poc_p90_days),
            str(p.decided),
            str(p.open),
            _days(p.decision_median_days),
            _days(p.decision_p90_days),
        )
    meetings = Table(*MEETING_HEADERS, title=MEETING_TITLE)
    for m in report.meetings:
        median, p90 = _days(m.first_meeting_median_days), _days(m.first_meeting_p90_days)
        counts = (m.steps_held, m.steps_postponed, m.steps_cancelled, m.steps_missed)
        meetings.add_row(m.programme, str(m.introduced), str(m.met), median, p90, *map(str, counts))
    console.print(funnel, durations, pilots, meetings)
    for line in [*playbook_lines(report), *partner_lines(report)]:
        console.print(line)


async def read_report(url: str, filters: KpiFilters, rows: RowScope) -> KpiReport:
    """Return the report of `filters` within the caller's `rows` from the database at `url`."""
    pool = await create_pool(url, max_size=2)
    try:
        return await read_kpis(pool, filters, rows)
    finally:
        await pool.close()


def report(
    programme: Programme = None,
    sector: Sector = None,
    corporate: Corporate = None,
    since: Since = None,
    until: Until = None,
    output: Annotated[str, typer.Option("--format", help="table, csv, json, md or xlsx")] = "table",
    path: Annotated[Path | None, typer.Option("--output", "-o", help="The workbook to write (xlsx)")] = None,
    chart: Annotated[
        Path | None,
        typer.Option(help="Also draw FILE.png, FILE.svg or FILE.html (xlsx: in the workbook too)"),
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Print the funnel, conversions, time in stage, time to PoC and to decision, and time to the
    first meeting and the steps of the collaborations selected."""
    if output not in FORMATS:
        raise CliError(f"--format must be one of {', '.join(FORMATS)}, not {output!r}", BAD_INPUT)
    if (output == "xlsx") != (path is not None):
        raise CliError("--format xlsx and --output FILE.xlsx go together", BAD_INPUT)
    filters = kpi_filters(programme, sector, corporate, since, until)
    if chart is not None and chart.suffix.lower() not in (".png", ".svg", ".html"):
        raise CliError(f"--chart must end in .png, .svg or .html, not {chart.name!r}", BAD_INPUT)
    caller = caller_within(filters.programme)
    rows = caller.rows
    with database_url(state_dir) as url:
        result = asyncio.run(read_report(url, filters, rows))
    if output == "xlsx":
        assert path is not None
        from passerelle.cli.report_workbook import Within, write_report

        sponsor = rows.organisation if rows.whole == frozenset() and rows.sponsored else None
        write_report(result, path, chart=chart is not None, within=Within(caller.programme, sponsor))
        typer.echo(f"report written to {path}", err=True)
    elif output == "json":
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
    elif output == "csv":
        typer.echo(as_csv(result), nl=False)
    elif output == "md":
        typer.echo(as_markdown(result), nl=False)
    else:
        show_tables(result, plain_console())
    if chart is not None:
        from passerelle.cli.charts import draw

        draw(result, chart)
        typer.echo(f"chart written to {chart}", err=True)


def register(app: typer.Typer) -> None:
    """Add `report` to the app."""
    app.command()(report)
