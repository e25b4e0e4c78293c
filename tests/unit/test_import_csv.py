"""Spreadsheet rows become start inputs, or errors named by sheet, row and column."""

from datetime import date
from pathlib import Path

from passerelle.intake.rows import COLUMNS, parse_csv
from schemas import Outcome, Stage

TODAY = date(2025, 6, 1)
HEADER = ",".join(COLUMNS)
GOOD = (
    "Natixis,innovation@natixis.example,Nabla,partners@nabla.example,Next40,FTCC,Notes pilot,health,"
    "ops@programme.example,fr,pilot,2025-03-03,2025-03-24,2025-05-12,,,,"
)
TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "import-template.csv"


def rows_of(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def test_the_template_imports_cleanly() -> None:
    """examples/import-template.csv has the documented columns and two valid rows."""
    rows, errors = parse_csv(TEMPLATE.read_text(), "import-template.csv", TODAY)
    assert errors == []
    assert [r.workflow_id for r in rows] == ["collab-natixis-nabla", "collab-orange-qarnot"]
    closed = rows[1].request.imported
    assert closed is not None and (closed.stage, closed.outcome) == (Stage.EVALUATION, Outcome.DECLINED)
    assert closed.source == "import-template.csv:3"


def test_bad_rows_are_reported_by_row_and_column_and_good_ones_kept() -> None:
    """Each bad cell is named by its row and column; the valid rows still come through."""
    text = rows_of(
        GOOD,
        GOOD.replace("Nabla,partners@nabla.example", "Mistral,nobody"),  # line 3: bad e-mail
        GOOD.replace("Nabla", "Alan").replace(
            "2025-03-24", "2025-02-01"
        ),  # line 4: qualification before intro
        GOOD.replace("Nabla", "Doctolib").replace(",pilot,", ",incubation,"),  # line 5: unknown stage
        GOOD.replace("Nabla", "Pasqal").replace("2025-05-12", "2025-07-01"),  # line 6: in the future
        GOOD.replace("Nabla", "Ledger").replace(
            ",,,,", ",,,deployed,2025-05-20"
        ),  # line 7: deployed from pilot
        GOOD.replace("Nabla", "Alice").replace("2025-03-24,", ","),  # line 8: qualification date missing
        GOOD.replace("Nabla", "Zenly").replace(",,,,", ",,,declined,"),  # line 9: outcome without date
        GOOD,  # line 10: the same pair as line 2
        GOOD.replace("Nabla", "Sorare").replace("2025-03-03", "3 mars 2025"),  # line 11: not a date
    )
    rows, errors = parse_csv(text, "x.csv", TODAY)
    assert [r.row for r in rows] == [2]
    assert [(e.row, e.column) for e in errors] == [
        (3, "startup_email"),
        (4, "qualification_date"),
        (5, "stage"),
        (6, "pilot_date"),
        (7, "outcome"),
        (8, "qualification_date"),
        (9, "closed_date"),
        (10, "startup"),
        (11, "introduction_date"),
    ]
    messages = {e.row: str(e) for e in errors}
    assert (
        messages[4]
        == 'x.csv, row 4, column "qualification_date": qualification (2025-02-01) is before introduction (2025-03-03)'
    )
    assert messages[6] == 'x.csv, row 6, column "pilot_date": 2025-07-01 is in the future'
    assert (
        messages[7]
        == 'x.csv, row 7, column "outcome": Value error, deployed is only possible from deployment, not pilot'
    )
    assert (
        messages[8]
        == 'x.csv, row 8, column "qualification_date": a date is required for every stage reached (qualification)'
    )
    assert messages[10] == 'x.csv, row 10, column "startup": same corporate and start-up as row 2'
    assert "'3 mars 2025' is not a date; dates are written dd/mm/yyyy, dd/mm/yy or yyyy-mm-dd" in messages[11]


def test_missing_and_unknown_columns_refuse_the_file() -> None:
    """A header without `owner_email` but with a typo is refused on row 1, before any row."""
    text = rows_of(GOOD).replace("owner_email", "owner_mail", 1)
    rows, errors = parse_csv(text, "x.csv", TODAY)
    assert rows == []
    assert [str(e) for e in errors] == [
        'x.csv, row 1, column "owner_email": required column is missing (French template: « E-mail responsable »)',
        "x.csv, row 1, column \"owner_mail\": unknown column: name its field with --map 'Header=field', or remove it",
    ]
