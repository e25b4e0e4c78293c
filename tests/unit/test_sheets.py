"""Operators' spreadsheets as they really are: Excel workbooks, French CSV, other encodings.

The files are the committed fixtures of `tests/fixtures/make_sheets.py`, written with openpyxl and
the csv module; each must give the same collaborations, names intact, or one clear refusal.
"""

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from passerelle.intake.cells import CellRefused, DateFormat, date_of
from passerelle.intake.columns import french_header, parse_maps
from passerelle.intake.files import FileRefused
from passerelle.intake.rows import ImportRow, ReadOptions, RowError, parse_table
from passerelle.intake.sheets import open_table
from tests.fixtures import make_sheets
from tests.fixtures.make_sheets import BAD_CELLS, FRENCH

ROOT = Path(__file__).resolve().parents[2]
SHEETS = ROOT / "tests" / "fixtures" / "sheets"
TODAY = date(2026, 1, 1)
PAIRS = [
    ("Société Générale", "Nabla"),
    ("L'Oréal", "Œuvre"),
    ("Crédit Agricole", "Qonto"),
    ("Électricité de France", "Qarnot"),
]


def read(path: Path, **how: object) -> tuple[list[ImportRow], list[RowError], str]:
    options = how.pop("options", None)
    with open_table(path, **how) as table:  # type: ignore[arg-type]
        items = list(parse_table(table, path.name, TODAY, options))  # type: ignore[arg-type]
    rows = [i for i in items if isinstance(i, ImportRow)]
    return rows, [i for i in items if isinstance(i, RowError)], table.read_as


def pairs(rows: list[ImportRow]) -> list[tuple[str, str]]:
    return [(r.request.corporate.name, r.request.startup.name) for r in rows]


@pytest.mark.parametrize(
    ("name", "read_as"),
    [
        ("suivi-windows-1252.csv", "Windows-1252, semicolon-separated"),
        ("suivi-bom.csv", "UTF-8 with BOM, comma-separated"),
        ("suivi-tabs.csv", "UTF-8, tab-separated"),
    ],
)
def test_every_csv_a_french_excel_writes_gives_the_same_collaborations(name: str, read_as: str) -> None:
    """Encoding and separator detected; French headers, day-first dates (two-digit years in the
    tab file), French stage and outcome words; the accented names come through intact."""
    rows, errors, how = read(SHEETS / name)
    assert errors == [] and how == read_as
    assert pairs(rows) == PAIRS
    first, second, _, last = (r.request for r in rows)
    assert first.imported is not None and first.imported.stage.value == "pilot"
    assert first.imported.stage_dates[first.imported.stage] == date(2025, 5, 12)
    assert (first.sector, first.language, first.startup.label) == ("sante", "fr", "Next40")
    assert second.imported is not None and second.imported.outcome is not None
    assert (second.imported.outcome.value, second.imported.closed_on) == ("declined", date(2025, 5, 30))
    assert second.language == "fr"  # « Français »
    assert last.imported is not None and last.imported.outcome is not None
    assert last.imported.outcome.value == "deployed" and last.sector == "energie"


def test_a_workbook_with_a_title_and_merged_group_headers_reads_from_its_header_row() -> None:
    """Rows are numbered as Excel numbers them (header on row 3); date cells are dates; --sheet."""
    rows, errors, how = read(SHEETS / "suivi.xlsx")
    assert (errors, how) == ([], "sheet Suivi")
    assert pairs(rows) == PAIRS[:3]
    assert [r.row for r in rows] == [4, 5, 6]
    assert rows[0].request.imported is not None
    assert rows[0].request.imported.source == "suivi.xlsx:4"
    assert rows[0].request.imported.stage_dates[rows[0].request.imported.stage] == date(2025, 5, 12)
    archived, errors, how = read(SHEETS / "suivi.xlsx", sheet="Archives")
    assert (pairs(archived), errors, how) == ([PAIRS[3]], [], "sheet Archives")
    with pytest.raises(FileRefused, match="has no sheet 'Nope'; its sheets: Suivi, Archives"):
        read(SHEETS / "suivi.xlsx", sheet="Nope")


@pytest.mark.parametrize("name", ["modele-import.csv", "modele-import.xlsx"])
def test_the_french_templates_import_cleanly(name: str) -> None:
    rows, errors, _ = read(ROOT / "examples" / name)
    assert errors == [] and pairs(rows) == PAIRS[:2]


def test_the_english_template_saved_with_semicolons_imports() -> None:
    """What a French Excel does to examples/import-template.csv: `;` between cells."""
    text = (ROOT / "examples" / "import-template.csv").read_text().replace(",", ";")
    path = SHEETS.parent / "tmp-template-semicolons.csv"
    try:
        path.write_text(text, encoding="cp1252")
        rows, errors, how = read(path)
    finally:
        path.unlink()
    assert errors == [] and len(rows) == 2 and how.endswith("semicolon-separated")


def test_one_bad_cell_in_each_column_is_named_by_row_and_french_header(tmp_path: Path) -> None:
    rows, errors, _ = read(SHEETS / "mauvaises-cellules.csv")
    assert rows == []
    assert [(e.row, e.column) for e in errors] == [
        (n + 2, french_header(column)) for n, (column, _, _) in enumerate(BAD_CELLS)
    ]
    assert all(e.sheet == "mauvaises-cellules.csv" for e in errors)
    by_header = {e.column: e.message for e in errors}
    assert by_header["Date de qualification"].startswith("'03/15/2025' has no month 15 read day first")
    assert "--date-format mm/dd/yyyy" in by_header["Date de qualification"]
    assert by_header["Étape"].startswith(
        "'incubation' is not one of introduction, qualification, pilot (pilote)"
    )
    assert by_header["Grand groupe"] == "this cell must be filled in"


def test_a_wrong_encoding_is_refused_never_imported_with_broken_names(tmp_path: Path) -> None:
    """UTF-8 read as 1252, 1252 read as UTF-8, text encoded twice, a Mac file: each one error."""
    with pytest.raises(FileRefused, match=r"looks like UTF-8 read as Windows-1252"):
        read(SHEETS / "suivi-bom.csv", encoding="cp1252")
    with pytest.raises(FileRefused, match=r"is not UTF-8 text \(line 1, byte \d+\).*--encoding cp1252"):
        read(SHEETS / "suivi-windows-1252.csv", encoding="utf-8")
    text = (SHEETS / "suivi-bom.csv").read_text(encoding="utf-8-sig")
    twice = tmp_path / "twice.csv"
    twice.write_bytes(text.encode("utf-8").decode("cp1252", errors="replace").encode("utf-8"))
    with pytest.raises(
        FileRefused, match=r"line 1: .* looks like UTF-8 read as Windows-1252, or text encoded twice"
    ):
        read(twice)
    mac = tmp_path / "mac.csv"
    mac.write_bytes(text.encode("mac_roman", errors="replace"))
    with pytest.raises(
        FileRefused, match=r"(is not Windows-1252 text|another encoding than Windows-1252).*--encoding"
    ):
        read(mac)
    named, errors, how = read(mac, encoding="mac_roman")
    assert errors == [] and pairs(named) == PAIRS and how.startswith("mac-roman")


def test_the_separator_and_encoding_can_be_named(tmp_path: Path) -> None:
    rows, errors, how = read(SHEETS / "suivi-windows-1252.csv", delimiter=";", encoding="cp1252")
    assert (len(rows), errors, how) == (4, [], "Windows-1252, semicolon-separated")
    with pytest.raises(FileRefused, match=re.escape("--delimiter must be ',', ';' or 'tab', not '|'")):
        read(SHEETS / "suivi-bom.csv", delimiter="|")
    with pytest.raises(FileRefused, match=r"--encoding 'klingon' is not an encoding"):
        read(SHEETS / "suivi-bom.csv", encoding="klingon")
    with pytest.raises(FileRefused, match="--sheet is for Excel files"):
        read(SHEETS / "suivi-bom.csv", sheet="Suivi")
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    with pytest.raises(FileRefused, match="is not an Excel workbook"):
        read(fake)


def test_headers_match_without_case_accents_or_punctuation_and_by_map(tmp_path: Path) -> None:
    """`email GRAND-groupe` is « E-mail grand groupe »; `--map` names a column of its own name."""
    text = (SHEETS / "suivi-bom.csv").read_bytes().decode("utf-8-sig")
    header, rest = text.split("\r\n", 1)
    renamed = header.replace("E-mail grand groupe", "email GRAND-groupe").replace("Sujet", "Thème du projet")
    path = tmp_path / "renamed.csv"
    path.write_text(renamed + "\r\n" + rest)
    _, errors, _ = read(path)
    assert [(e.column, e.message.split(":")[0]) for e in errors] == [
        ("topic", "required column is missing (French template"),
        ("Thème du projet", "unknown column"),
    ]
    rows, errors, _ = read(path, options=ReadOptions(parse_maps(["thème du projet=topic"])))
    assert errors == [] and rows[0].request.topic == "Synthèse des notes cliniques"
    with pytest.raises(ValueError, match="'subject' is not a field"):
        parse_maps(["Thème=subject"])
    twice = tmp_path / "twice.csv"
    twice.write_text(header + ",Grand groupe\r\n" + rest)
    _, errors, _ = read(twice)
    assert [str(e) for e in errors] == [
        'twice.csv, row 1, column "Grand groupe": a second column for corporate (the first is « Grand groupe »)'
    ]


def test_dates_day_first_iso_and_cells_never_month_first_unless_told() -> None:
    assert date_of("03/03/2025") == date_of("3/3/25") == date_of("03.03.2025") == "2025-03-03"
    assert date_of("2025-03-03") == date_of(datetime(2025, 3, 3)) == date_of(date(2025, 3, 3)) == "2025-03-03"
    assert date_of("12/04/2025") == "2025-04-12"  # day first: 12 April
    assert (
        date_of("03/03/2025 14:35:12") == date_of(datetime(2025, 3, 3, 14, 35, 12)) == "2025-03-03T14:35:12Z"
    )
    assert date_of("2025-03-03T15:35:12+01:00") == "2025-03-03T14:35:12Z"
    assert date_of("04/12/2025", DateFormat.MONTH_FIRST) == "2025-04-12"
    for text, rule in [
        ("04/13/2025", "has no month 13 read day first (dd/mm/yyyy); if the file writes dates the other way, "
                       "pass --date-format mm/dd/yyyy"),
        ("29/02/2025", "is not a date (day is out of range for month)"),
        ("March 3, 2025", "is not a date; dates are written dd/mm/yyyy, dd/mm/yy or yyyy-mm-dd"),
    ]:  # fmt: skip
        with pytest.raises(CellRefused, match=rule.replace("(", r"\(").replace(")", r"\)")):
            date_of(text)
    with pytest.raises(CellRefused, match=r"has no month 13 read month first \(mm/dd/yyyy\).*dd/mm/yyyy"):
        date_of("13/04/2025", DateFormat.MONTH_FIRST)
    with pytest.raises(CellRefused, match=r"dates are written yyyy-mm-dd \(--date-format yyyy-mm-dd\)"):
        date_of("03/03/2025", DateFormat.ISO)
    with pytest.raises(CellRefused, match="is a number, not a date: format the column as dates"):
        date_of(45000.0)


def test_a_long_file_is_read_one_row_at_a_time(tmp_path: Path) -> None:
    """20,000 rows: the first valid row arrives with the file barely read; all 20,000 are valid."""
    big = tmp_path / "big.csv"
    line = make_sheets.french_rows()[0]
    with big.open("w", encoding="utf-8", newline="") as out:
        out.write(";".join(FRENCH) + "\r\n")
        for n in range(20_000):
            cells = ["" if c is None else str(c) for c in line]
            cells[2] = f"Jeune pousse {n}"
            out.write(";".join(cells) + "\r\n")
    with open_table(big) as table, big.open("rb") as raw:
        items = parse_table(table, big.name, TODAY)
        first = next(items)
        assert isinstance(first, ImportRow) and first.row == 2
        read_so_far = table.rows.gi_frame.f_locals["handle"].buffer.tell()  # type: ignore[attr-defined]
        assert read_so_far < raw.seek(0, 2) / 10
        rest = sum(1 for item in items if isinstance(item, ImportRow))
    assert rest + 1 == 20_000


def test_the_committed_fixtures_are_what_the_script_writes(tmp_path: Path) -> None:
    written = make_sheets.write_all(tmp_path / "examples", tmp_path / "sheets")
    for path in written:
        committed = (ROOT / "examples" if path.parent.name == "examples" else SHEETS) / path.name
        if path.suffix == ".xlsx":
            for ours, theirs in zip(
                load_workbook(path).worksheets, load_workbook(committed).worksheets, strict=True
            ):
                assert [list(r) for r in ours.iter_rows(values_only=True)] == [
                    list(r) for r in theirs.iter_rows(values_only=True)
                ], path.name
                assert ours.merged_cells.ranges == theirs.merged_cells.ranges
        else:
            assert path.read_bytes() == committed.read_bytes(), (
                "regenerate: python -m tests.fixtures.make_sheets"
            )


def test_an_exports_workflow_id_column_keeps_the_ids(tmp_path: Path) -> None:
    """Two rows of one pair under their own ids import; a bad or repeated id is named."""
    text = (SHEETS / "suivi-bom.csv").read_bytes().decode("utf-8-sig")
    header, first, *_ = text.split("\r\n")
    lines = [
        f"{header},Identifiant",
        f"{first},pilot-1",
        f"{first},pilot-2",
        f"{first},pilot 3",
        f"{first},pilot-1",
    ]
    path = tmp_path / "ids.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    rows, errors, _ = read(path)
    assert [r.workflow_id for r in rows] == ["pilot-1", "pilot-2"]
    assert [str(e) for e in errors] == [
        'ids.csv, row 4, column "Identifiant": a workflow id is 1 to 255 characters without spaces',
        'ids.csv, row 5, column "Identifiant": same workflow id as row 2',
    ]


def test_a_month_first_file_reads_with_its_date_format(tmp_path: Path) -> None:
    """`--date-format mm/dd/yyyy` reads `05/12/2025` as 12 May; the default refuses `05/30/2025`."""
    text = (SHEETS / "suivi-bom.csv").read_bytes().decode("utf-8-sig")
    header, first, *_ = text.split("\r\n")
    us = (
        first.replace("03/03/2025", "03/03/2025")
        .replace("24/03/2025", "03/24/2025")
        .replace("12/05/2025", "05/12/2025")
    )
    path = tmp_path / "us.csv"
    path.write_text(f"{header}\r\n{us}\r\n")
    rows, errors, _ = read(path, options=ReadOptions(date_format=DateFormat.MONTH_FIRST))
    assert errors == []
    imported = rows[0].request.imported
    assert imported is not None
    assert [d.isoformat() for d in imported.stage_dates.values()] == [
        "2025-03-03",
        "2025-03-24",
        "2025-05-12",
    ]
    _, errors, _ = read(path)
    assert [(e.column, e.message.split(";")[0]) for e in errors] == [
        ("Date de qualification", "'03/24/2025' has no month 24 read day first (dd/mm/yyyy)")
    ]
