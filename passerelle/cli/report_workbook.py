"""`passerelle report --format xlsx`: the report as a workbook, one sheet per table.

Summary (the headline figures), Funnel, Time in stage, Time to PoC and to decision and Time to
first meeting and steps (one row per programme each), and Playbooks and Partners when the
programme has them; counts are number cells,
shares percentage cells, days decimal cells, and the filters' dates date cells. With `--chart`,
the report's chart is on a last sheet.
The summary names the caller's programme and a sponsor's organisation where no filter names them
(`Within`): "all" only for a caller of every programme.
"""

from dataclasses import dataclass
from pathlib import Path

from passerelle.cli.workbooks import PERCENT, Sheet, write_xlsx
from schemas import KpiReport
from schemas.kpis import MEETING_HEADERS, MEETING_TITLE, PILOT_HEADERS, PILOT_TITLE


@dataclass(frozen=True)
class Within:
    """The rows a report is of: a programme (its slug), a sponsor's organisation; None for all."""

    programme: str | None = None
    organisation: str | None = None


def _summary(report: KpiReport, within: Within) -> Sheet:
    f = report.filters
    rows: list[list[object]] = [
        ["programme", f.programme or within.programme or "all", None],
        ["sector", f.sector or "all", None],
        ["corporate", f.corporate or within.organisation or "all", None],
        ["entered from", f.since, None],
        ["entered to", f.until, None],
        ["collaborations", report.collaborations, None],
        ["open", report.open, None],
        ["deployed", report.deployed, None],
        ["declined", report.declined, None],
        ["abandoned", report.abandoned, None],
        ["stalled", report.stalled, report.stalled_ratio],
        ["conversion introduction → pilot", None, report.conversion_introduction_pilot],
        ["conversion pilot → deployed", None, report.conversion_pilot_deployed],
    ]
    return Sheet("Summary", ["figure", "value", "share"], rows, {2: PERCENT})


def sheets(report: KpiReport, within: Within = Within()) -> list[Sheet]:
    """Return the report's tables as sheets."""
    first = report.stages[0].reached if report.stages else 0
    funnel = Sheet(
        "Funnel",
        ["stage", "reached", "share of introduction", "open now", "stalled"],
        [
            [s.stage.value, s.reached, s.reached / first if first else None, s.open, s.stalled]
            for s in report.stages
        ],
        {2: PERCENT},
    )
    durations = Sheet(
        "Time in stage",
        ["stage", "completed stays", "median days", "p90 days"],
        [[s.stage.value, s.completed_stays, s.median_days, s.p90_days] for s in report.stages],
        {2: "0.00", 3: "0.00"},
    )
    pilots = Sheet(
        PILOT_TITLE,
        list(PILOT_HEADERS),
        [
            [
                p.programme,
                p.reached_pilot,
                p.poc_median_days,
                p.poc_p90_days,
                p.decided,
                p.open,
                p.decision_median_days,
                p.decision_p90_days,
            ]
            for p in report.pilot_times
        ],
        {2: "0.00", 3: "0.00", 6: "0.00", 7: "0.00"},
    )
    meetings = Sheet(
        MEETING_TITLE,
        list(MEETING_HEADERS),
        [
            [
                m.programme,
                m.introduced,
                m.met,
                m.first_meeting_median_days,
                m.first_meeting_p90_days,
                m.steps_held,
                m.steps_postponed,
                m.steps_cancelled,
                m.steps_missed,
            ]
            for m in report.meetings
        ],
        {3: "0.00", 4: "0.00"},
    )
    out = [_summary(report, within), funnel, durations, pilots, meetings]
    if report.playbooks:
        rows: list[list[object]] = []
        for p in report.playbooks:
            for g in p.gates:
                rows.append([p.programme, f"gate {g.gate}", g.faced, g.passed, g.pass_rate])
            for name, mean in p.criteria.items():
                rows.append([p.programme, f"score {name}", p.scorecards, None, mean])
        out.append(
            Sheet("Playbooks", ["programme", "figure", "faced or scorecards", "passed", "rate or mean"], rows)
        )
    partners = report.partners
    if partners is not None and (partners.reminders_sent or partners.parties):
        rows = [
            ["reminders sent", partners.reminders_sent, None],
            ["reminders answered", partners.reminders_answered, partners.answer_rate],
            ["stalls resolved by a partner's answer", partners.stalls_resolved_by_partner, None],
        ]
        rows += [
            [f"answers from the {p.party} side", p.answers, p.median_hours_to_answer]
            for p in partners.parties
        ]
        out.append(Sheet("Partners", ["figure", "count", "rate or median hours"], rows))
    return out


def write_report(report: KpiReport, path: Path, *, chart: bool = False, within: Within = Within()) -> None:
    """Write the report's workbook to `path`, with the chart image when `chart`."""
    png = None
    if chart:
        from passerelle.cli.charts import png as chart_png

        png = chart_png(report)
    write_xlsx(path, sheets(report, within), png)
