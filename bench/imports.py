"""Spreadsheet import: 20,000 rows in flat memory, in CSV and in Excel.

Writes a French CSV (`;`, dd/mm/yyyy) and an Excel workbook (date cells) of `n` rows and of
`n / 10` rows, then reads each as `passerelle import --dry-run` does (`open_table`, then
`parse_table`: every row checked into a start input), under tracemalloc, side by side with the
baseline of a reader that holds every checked row before starting any (as a list would).

Targets: the streamed peak at `n` rows is at most a quarter of the holding reader's, and grows
at most 3× from `n / 10` to `n` rows (a tenfold file). What still grows is one workflow id per
row (to name a row that repeats an earlier one) and, for a workbook, its shared-strings table,
which the format keeps in one part that openpyxl reads whole.

Then the bounded peak (`bench.import_limits`): the peak resident memory of a process checking
each worst file, refused or read, beside the ordinary files of `n` rows; target at most 200 MiB.
"""

import tempfile
import time
import tracemalloc
from datetime import date, datetime
from pathlib import Path

from bench.common import Report
from bench.import_limits import PEAK_MIB, WORST, peak_of
from passerelle.intake.rows import ImportRow, parse_table
from passerelle.intake.sheets import open_table
from tests.fixtures.make_sheets import FRENCH, french_rows


def _rows(n: int) -> list[list[object]]:
    line = french_rows(as_cells=True)[0]
    return [[*line[:2], f"Jeune pousse {i}", *line[3:]] for i in range(n)]


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write(";".join(FRENCH) + "\r\n")
        for row in _rows(n):
            cells = [
                c.strftime("%d/%m/%Y") if isinstance(c, datetime) else "" if c is None else str(c)
                for c in row
            ]
            out.write(";".join(cells) + "\r\n")


def write_xlsx(path: Path, n: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Suivi")
    sheet.append(FRENCH)
    for row in _rows(n):
        sheet.append(row)
    workbook.save(path)


def measure(path: Path, *, hold: bool = False) -> tuple[int, float, int]:
    """Return (valid rows, seconds, peak bytes) of checking the file as a dry run does, or of
    the baseline that holds every checked row (`hold`)."""
    tracemalloc.start()
    started = time.perf_counter()
    held: list[ImportRow] = []
    count = 0
    with open_table(path) as table:
        for item in parse_table(table, path.name, date(2026, 1, 1)):
            if isinstance(item, ImportRow):
                count += 1
                if hold:
                    held.append(item)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, seconds, peak


async def run(n: int = 20_000) -> Report:
    """Measure both formats at `n` and `n / 10` rows."""
    report = Report("imports", {"n": n, "short": n // 10})
    folder = Path(tempfile.mkdtemp(prefix="passerelle-bench-imports-"))
    for kind, writer in (("csv", write_csv), ("xlsx", write_xlsx)):
        figures = {}
        for size in (n // 10, n):
            path = folder / f"{size}.{kind}"
            writer(path, size)
            valid, seconds, peak = measure(path)
            assert valid == size, f"{valid} of {size} rows valid"
            figures[size] = peak
            report.values[f"{kind} {size} rows: rows/s"] = round(size / seconds)
            report.values[f"{kind} {size} rows: peak MiB"] = round(peak / 2**20, 2)
        _, _, holding = measure(folder / f"{n}.{kind}", hold=True)
        report.values[f"{kind} {n} rows held: peak MiB"] = round(holding / 2**20, 2)
        streamed = figures[n] / holding
        report.target(f"{kind}: peak memory at {n} rows, streamed vs held", streamed, 0.25, at_least=False)
        growth = figures[n] / figures[n // 10]
        report.target(f"{kind}: peak memory, {n} rows vs {n // 10}", growth, 3, at_least=False)
    bounded(report, folder, n)
    return report


def bounded(report: Report, folder: Path, n: int) -> None:
    """Report the peak resident memory of checking each worst file and the ordinary ones."""
    files = {f"{kind} {n} rows": folder / f"{n}.{kind}" for kind in ("csv", "xlsx")}
    for number, (name, write) in enumerate(WORST.items()):
        files[name] = write(folder / f"worst-{number}.{name.split(':')[0]}")
    peaks = {}
    for name, path in files.items():
        result = peak_of(path)
        peaks[name] = result["peak_mib"] if result["peak_mib"] is not None else float("inf")
        report.values[f"{name}: peak MiB (RSS)"] = result["peak_mib"]
        report.values[f"{name}: outcome"] = f"{result['outcome'].split(': ')[0]} in {result['seconds']} s"
        path.unlink()
    worst = max(peaks[name] for name in WORST)
    report.target("imports: the worst file's peak resident memory, MiB", worst, PEAK_MIB, at_least=False)
