"""`passerelle report` as an operator runs it: the installed command against a real PostgreSQL."""

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

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
    assert (bad_format.returncode, bad_date.returncode) == (2, 2)
    assert "--format must be one of" in bad_format.stderr and "since" in bad_date.stderr
