"""`passerelle report` as an operator runs it: the installed command against a real PostgreSQL."""

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from openpyxl import load_workbook

from tests.integration.lifecycles import record_known_lifecycles

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


@pytest.fixture
async def programme(pool: asyncpg.Pool) -> str:
    """A programme of this test's own, holding collaborations A to E of lifecycles.py."""
    name = f"Report programme {uuid.uuid4()}"
    await record_known_lifecycles(pool, name)
    return name


def report(postgres_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PASSERELLE_DATABASE_URL": postgres_url}
    return subprocess.run(
        [PASSERELLE, "report", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


async def test_json_parses_and_filters_narrow(postgres_url: str, programme: str) -> None:
    """JSON output parses; --sector energy keeps E alone, --corporate Orange keeps D and E."""
    everything = report(postgres_url, "--programme", programme, "--format", "json")
    energy = report(postgres_url, "--programme", programme, "--sector", "energy", "--format", "json")
    orange = report(postgres_url, "--programme", programme, "--corporate", "Orange", "--format", "json")
    assert everything.returncode == 0, everything.stderr
    full, only_e, d_and_e = (json.loads(r.stdout) for r in (everything, energy, orange))
    assert (full["collaborations"], full["conversion_introduction_pilot"]) == (5, 0.6)
    assert (only_e["collaborations"], only_e["abandoned"], only_e["deployed"]) == (1, 1, 0)
    assert (d_and_e["collaborations"], d_and_e["open"]) == (2, 1)
    assert full["stages"][2]["days"] == [30, 45]
    (pilots,) = full["pilot_times"]  # B 20, A 30, D 35 (imported) to PoC; A 40 (deployment), B 45
    assert (pilots["programme"], pilots["reached_pilot"], pilots["days_to_poc"]) == (
        programme,
        3,
        [20, 30, 35],
    )
    assert (pilots["poc_median_days"], pilots["decided"], pilots["open"]) == (30, 2, 1)
    assert (pilots["days_pilot_to_decision"], pilots["decision_median_days"]) == ([40, 45], 42.5)
    assert only_e["pilot_times"][0]["reached_pilot"] == 0
    assert [(m["introduced"], m["met"], m["steps_held"]) for m in full["meetings"]] == [(5, 0, 0)]


async def test_csv_parses_one_row_per_stage(postgres_url: str, programme: str) -> None:
    """CSV output has the documented columns and the hand-computed figures."""
    result = report(postgres_url, "--programme", programme, "--from", "2025-01-01", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["stage"] for r in rows] == [
        "introduction",
        "qualification",
        "pilot",
        "evaluation",
        "deployment",
    ]
    assert [r["reached"] for r in rows] == ["4", "3", "2", "1", "1"]  # D (entered 2024-11-27) left out
    assert (rows[2]["share_of_introduction"], rows[2]["median_days"]) == ("0.5", "37.5")


@pytest.mark.parametrize("suffix", [".png", ".svg", ".html"])
async def test_chart_file_is_written(postgres_url: str, programme: str, tmp_path: Path, suffix: str) -> None:
    """--chart writes a non-empty file of the asked format beside the table output."""
    chart = tmp_path / f"kpis{suffix}"
    result = report(postgres_url, "--programme", programme, "--format", "md", "--chart", str(chart))
    assert result.returncode == 0, result.stderr
    assert "| pilot | 3 | 0.6 | 1 | 0 | 2 | 37.5 | 43.5 |" in result.stdout
    assert "## Time to PoC and to decision" in result.stdout
    assert f"| {programme} | 3 | 30.0 | 34.0 | 2 | 1 | 42.5 | 44.5 |" in result.stdout  # 30 + 0.8 × 5
    assert "## Time to first meeting and steps\n\n| programme | introduced | met |" in result.stdout
    assert f"| {programme} | 5 | 0 | — | — | 0 | 0 | 0 | 0 |" in result.stdout  # no step planned
    head = chart.read_bytes()[:200]
    expected = {".png": b"\x89PNG", ".svg": b"<?xml", ".html": b"<!doctype html>"}[suffix]
    assert head.startswith(expected) and chart.stat().st_size > 5000


async def test_table_output_and_bad_input(postgres_url: str, programme: str) -> None:
    """The Rich tables show the funnel; a bad format or date exits 2 with one line."""
    table = report(postgres_url, "--programme", programme)
    bad_format = report(postgres_url, "--format", "xml")
    bad_date = report(postgres_url, "--from", "2025-13-01")
    assert table.returncode == 0 and "Conversion introduction → pilot: 60.0 %" in table.stdout
    assert "Funnel" in table.stdout and "Time in stage" in table.stdout
    assert "Time to PoC and to decision" in table.stdout and "Time to first meeting and steps" in table.stdout
    assert (bad_format.returncode, bad_date.returncode) == (2, 2)
    assert "--format must be one of" in bad_format.stderr and "since" in bad_date.stderr


def passerelle(postgres_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PASSERELLE_DATABASE_URL": postgres_url}
    return subprocess.run(
        [PASSERELLE, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


async def test_the_xlsx_report_has_number_percent_and_date_cells_and_the_chart(
    postgres_url: str, programme: str, tmp_path: Path
) -> None:
    """One sheet per table, figures as numbers (shares as percentages), frozen headers, the chart."""
    book, chart = tmp_path / "report.xlsx", tmp_path / "kpis.png"
    result = report(
        postgres_url, "--programme", programme, "--from", "2025-01-01", "--format", "xlsx",
        "--output", str(book), "--chart", str(chart),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    workbook = load_workbook(book)
    assert workbook.sheetnames == [
        "Summary",
        "Funnel",
        "Time in stage",
        "Time to PoC and to decision",
        "Time to first meeting and steps",
        "Partners",
        "Chart",
    ]
    summary = {r[0].value: r[1:] for r in workbook["Summary"].iter_rows(min_row=2)}
    assert summary["collaborations"][0].value == 4 and summary["entered from"][0].value == datetime(
        2025, 1, 1
    )
    assert summary["entered from"][0].is_date
    assert summary["conversion introduction → pilot"][1].value == 0.5
    assert summary["conversion introduction → pilot"][1].number_format == "0.0%"
    funnel = [[c.value for c in r] for r in workbook["Funnel"].iter_rows()]
    assert funnel[0] == ["stage", "reached", "share of introduction", "open now", "stalled"]
    assert funnel[3] == ["pilot", 2, 0.5, 0, 0]
    assert workbook["Funnel"]["C4"].number_format == "0.0%"
    durations = {r[0]: r[1:] for r in workbook["Time in stage"].iter_rows(min_row=2, values_only=True)}
    assert durations["pilot"] == (2, 37.5, 43.5)
    pilots = [[c.value for c in r] for r in workbook["Time to PoC and to decision"].iter_rows()]
    assert pilots[0][:2] == ["programme", "reached pilot"]  # D, entered in 2024, left out
    assert pilots[1:] == [[programme, 2, 25, pytest.approx(29), 2, 0, 42.5, pytest.approx(44.5)]]
    assert workbook["Time to PoC and to decision"]["C2"].number_format == "0.00"
    meetings = [[c.value for c in r] for r in workbook["Time to first meeting and steps"].iter_rows()]
    assert meetings[0][:4] == ["programme", "introduced", "met", "median days to first meeting"]
    assert meetings[1:] == [[programme, 4, 0, None, None, 0, 0, 0, 0]]
    assert all(workbook[name].freeze_panes == "A2" for name in workbook.sheetnames[:-1])
    assert workbook["Funnel"].column_dimensions["C"].width > len("share of introduction")
    assert len(workbook["Chart"]._images) == 1
    assert chart.read_bytes().startswith(b"\x89PNG")


def known(row: dict[str, object]) -> str:
    """Return which of lifecycles.py's collaborations A to E an exported row is."""
    if row["corporate"] == "Orange":
        return "D" if row["sector"] == "health" else "E"
    return {"deployed": "A", "declined": "B"}.get(str(row["outcome"]), "C")


async def test_export_collaborations_writes_one_row_each_as_csv_excel_and_french_csv(
    postgres_url: str, programme: str, tmp_path: Path
) -> None:
    """Each known lifecycle's row: its stage dates, outcome, stall and reminders, in every format;
    the French CSV has a BOM, `;`, French headers and dd/mm/yyyy, and imports again cleanly."""
    plain = passerelle(postgres_url, "export", "collaborations", "--programme", programme)
    assert plain.returncode == 0, plain.stderr
    rows = {known(r): r for r in csv.DictReader(io.StringIO(plain.stdout))}
    a, c, d = (rows[k] for k in ("A", "C", "D"))
    assert [a[f"{s}_date"] for s in ("introduction", "qualification", "pilot", "evaluation", "deployment")] == [
        "2025-01-01", "2025-01-11", "2025-01-31", "2025-03-02", "2025-03-12",
    ]  # fmt: skip
    assert (a["stage"], a["outcome"], a["closed_date"], a["stalled"]) == (
        "deployment",
        "deployed",
        "2025-04-11",
        "false",
    )
    assert (c["stage"], c["stalled"], c["reminders"], c["outcome"]) == ("qualification", "true", "1", "")
    assert (d["introduction_date"], d["pilot_date"]) == ("2024-11-27", "2025-01-01")
    assert a["corporate_email"] and a["owner_email"] and a["language"] == "fr"
    days = {k: (r["days_to_poc"], r["days_pilot_to_decision"]) for k, r in rows.items()}
    assert days == {
        "A": ("30.0", "40.0"),
        "B": ("20.0", "45.0"),
        "C": ("", ""),
        "D": ("35.0", ""),
        "E": ("", ""),
    }

    book, french = tmp_path / "export.xlsx", tmp_path / "export-fr.csv"
    for args in (["--output", str(book)], ["--excel-fr", "--output", str(french)]):
        done = passerelle(postgres_url, "export", "collaborations", "--programme", programme, *args)
        assert done.returncode == 0 and "5 collaboration(s) written to" in done.stderr, done.stderr
    sheet = load_workbook(book).worksheets[0]
    header = [c.value for c in sheet[1]]
    by_id = {
        known({h: c.value or "" for h, c in zip(header, r, strict=True)}): r
        for r in sheet.iter_rows(min_row=2)
    }
    cell = by_id["A"][header.index("closed_date")]
    assert (cell.value, cell.is_date) == (datetime(2025, 4, 11), True)
    assert (
        by_id["C"][header.index("reminders")].value == 1 and by_id["C"][header.index("stalled")].value is True
    )
    assert sheet.freeze_panes == "A2"
    poc = by_id["A"][header.index("days_to_poc")]
    assert (poc.value, poc.number_format, by_id["D"][header.index("days_pilot_to_decision")].value) == (
        30,
        "0.00",
        None,
    )
    raw = french.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Grand groupe;E-mail grand groupe;Start-up;")
    assert lines[0].endswith(
        ";Jours jusqu'au PoC;Jours du pilote à la décision;Jours jusqu'à la première réunion;Étapes tenues;"
        "Étapes reportées;Étapes annulées;Étapes manquées"
    )
    assert ";01/01/2025;11/01/2025;31/01/2025;02/03/2025;12/03/2025;deployed;11/04/2025;" in raw.decode(
        "utf-8-sig"
    )
    again = passerelle(postgres_url, "import", str(french), "--dry-run")
    assert "5 valid row(s), 0 row(s) with errors" in again.stdout, again.stderr


async def test_export_refuses_what_it_cannot_write(postgres_url: str, tmp_path: Path) -> None:
    no_file = passerelle(postgres_url, "export", "collaborations", "--format", "xlsx")
    other = passerelle(postgres_url, "export", "collaborations", "--output", str(tmp_path / "x.ods"))
    report_without_file = report(postgres_url, "--format", "xlsx")
    french_book = passerelle(
        postgres_url, "export", "collaborations", "--excel-fr", "-o", str(tmp_path / "x.xlsx")
    )
    assert french_book.returncode == 2 and "--excel-fr is for CSV" in french_book.stderr
    assert (no_file.returncode, other.returncode, report_without_file.returncode) == (2, 2, 2)
    assert "error: --format xlsx writes a file: name it with --output FILE.xlsx" in no_file.stderr
    assert "error: --format must be xlsx or csv, not 'ods'" in other.stderr
    assert "--format xlsx and --output FILE.xlsx go together" in report_without_file.stderr
