"""Imports are bounded by what a file expands to, not by its size on disk.

An .xlsx of 400 KB holding one 400 MB shared string, or ten million of them, used to take
minutes and gigabytes before any answer. Each hostile file here is written on the spot
(`tests/fixtures/hostile_sheets.py`) and checked as `passerelle import --dry-run` checks it, in a
child process whose address space is capped at 2 GiB (a file the caps miss fails fast there
instead of taking the machine): past a cap it is refused in one line naming the part and the
cap; within every cap it is read; either way the child's peak resident memory, interpreter and
openpyxl included, stays under 200 MiB.
"""

import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.import_limits import PEAK_MIB, peak_of
from tests.fixtures import hostile_sheets as hostile

KB, MB = 1024, 1024 * 1024
ADDRESS_LIMIT = 2 * 1024 * MB
PASSERELLE = str(Path(sys.executable).parent / "passerelle")
# The caps of docs/operators.md ("Limits"), written out: the file's own numbers are the contract.
PARTS, PART, ELEMENTS, UNIT, KEPT, LOOSE, RECORD = 1_000, 32 * MB, 16_384, MB, 300_000, 4 * MB, MB


def csv_row(row: bytes, size: int) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(b"corporate,startup\n" + b"".join(hostile.repeat(row, size)) + b"\n")
        return path

    return write


REFUSED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "400 MB string": (lambda p: hostile.one_huge_string(p, 400_000_000), "xl/sharedStrings.xml expands to 381 MB, past the 32 MB"),
    "10 million strings": (lambda p: hostile.same_strings(p, 10_000_000), "xl/sharedStrings.xml expands to 162 MB, past the 32 MB"),
    "lying headers": (lambda p: hostile.lying_sizes(p, 400_000_000), "Bad CRC-32 for file 'xl/sharedStrings.xml'"),
    "entities": (hostile.entity_expansion, "xl/sharedStrings.xml: declares a DTD"),
    "parts": (lambda p: hostile.many_parts(p, PARTS + 1), "holds more than 1,000 parts"),
    "part": (lambda p: hostile.one_huge_string(p, PART + KB), "past the 32 MB a workbook part may hold"),
    "rows": (lambda p: hostile.many_rows(p, KEPT), "more than 300,000 rows, shared strings and other elements"),
    "strings": (lambda p: hostile.many_strings(p, KEPT), "more than 300,000 rows, shared strings and other elements"),
    "row of cells": (lambda p: hostile.wide_row(p, ELEMENTS + 1, b"<c/>"), "row 2 holds more than 16,384 cells and values"),
    "long row": (lambda p: hostile.wide_row(p, 1, b'<c t="inlineStr"><is><t>' + b"x" * (UNIT + KB) + b"</t></is></c>"), "row 2 is longer than 1 MB of XML"),
    "long string": (lambda p: hostile.one_huge_string(p, UNIT + KB), "a shared string is longer than 1 MB of XML"),
    "loose text": (lambda p: hostile.loose_text(p, LOOSE + KB), "more than 4 MB of text outside rows and strings"),
    "csv commas": (csv_row(b",", 49_000_000), "row 2: longer than 1 MB"),
    "csv line breaks": (csv_row(b'"\n",', 48_000_000), "row 2: longer than 1 MB"),
}  # fmt: skip
WITHIN: dict[str, Callable[[Path], Path]] = {
    "strings": lambda p: hostile.many_strings(p, KEPT - 100),
    "rows": lambda p: hostile.many_rows(p, KEPT - 100),
    "row of values": lambda p: hostile.wide_row(p, ELEMENTS // 2 - 1),
    "row of cells": lambda p: hostile.wide_row(p, ELEMENTS - 1, b"<c/>"),
    "long string": lambda p: hostile.one_huge_string(p, UNIT - 100),
    "loose text": lambda p: hostile.loose_text(p, LOOSE - 10 * KB),
    "csv row": csv_row(b"x,", RECORD - 1_000),
}


def suffix(name: str) -> str:
    return ".csv" if name.startswith("csv") else ".xlsx"


@pytest.mark.parametrize("name", REFUSED)
def test_past_a_cap_a_file_is_refused_in_one_line_in_bounded_memory(name: str, tmp_path: Path) -> None:
    write, says = REFUSED[name]
    path = write(tmp_path / f"hostile{suffix(name)}")
    result = peak_of(path, timeout=120, address_limit=ADDRESS_LIMIT)
    assert result["outcome"].startswith(f"refused: {path}"), result
    assert says in result["outcome"] and "\n" not in result["outcome"], result
    assert result["peak_mib"] <= PEAK_MIB, result


@pytest.mark.parametrize("name", WITHIN)
def test_within_every_cap_the_worst_files_are_read_in_bounded_memory(name: str, tmp_path: Path) -> None:
    path = WITHIN[name](tmp_path / f"worst{suffix(name)}")
    result = peak_of(path, timeout=120, address_limit=ADDRESS_LIMIT)
    assert result["outcome"].startswith("read: "), result
    assert result["peak_mib"] <= PEAK_MIB, result


def test_the_command_refuses_the_400_mb_string_in_one_line(tmp_path: Path) -> None:
    path = hostile.one_huge_string(tmp_path / "suivi.xlsx", 400_000_000)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))

    done = subprocess.run(
        [PASSERELLE, "import", str(path), "--dry-run"],
        capture_output=True, text=True, timeout=120, preexec_fn=limit, check=False,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-3000:]
    assert (
        lines[0]
        == f"error: {path}: xl/sharedStrings.xml expands to 381 MB, past the 32 MB a workbook part may hold"
    )
