"""The imports' bounded peak: the worst files, refused or accepted, beside ordinary ones.

Each file is checked as `passerelle import --dry-run` checks it (`open_table`, then every row
through `parse_table`) in a child process of its own; the figure is that process's peak resident
memory, the interpreter and openpyxl included (about 50 MiB before the file). The hostile files
are written here (`tests/fixtures/hostile_sheets.py`): the workbooks the caps were made for (a
400 MB shared string, ten million shared strings, the same with lying headers, nested entities,
300,000 parts), a workbook just within each cap of `passerelle.intake.archives`, and CSV files of
one endless row. Target: every peak at most 200 MiB (docs/operators.md, "Limits").

    python -m bench.import_limits FILE     # one measurement, as JSON (what `run` does per file)
"""

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from passerelle.intake import archives
from passerelle.intake.sheets import RECORD_CHARS
from tests.fixtures import hostile_sheets as hostile

PEAK_MIB = 200


def _csv(path: Path, row: bytes, size: int) -> Path:
    with path.open("wb") as out:
        out.write(b"corporate,startup\n")
        for block in hostile.repeat(row, size):
            out.write(block)
        out.write(b"\n")
    return path


# name → how to write it; the first four are refused at once, the rest sit at a cap.
WORST: dict[str, Callable[[Path], Path]] = {
    "xlsx: one 400 MB shared string": lambda p: hostile.one_huge_string(p, 400_000_000),
    "xlsx: 10 million shared strings": lambda p: hostile.same_strings(p, 10_000_000),
    "xlsx: 400 MB string, headers say 1 KB": lambda p: hostile.lying_sizes(p, 400_000_000),
    "xlsx: nested entities": hostile.entity_expansion,
    "xlsx: 300,000 parts": lambda p: hostile.many_parts(p, 300_000),
    "xlsx: shared strings at the cap": lambda p: hostile.many_strings(p, archives.KEPT - 100),
    "xlsx: empty rows at the cap": lambda p: hostile.many_rows(p, archives.KEPT - 100),
    "xlsx: widest row of values": lambda p: hostile.wide_row(p, archives.UNIT_ELEMENTS // 2 - 1),
    "xlsx: widest row of cells": lambda p: hostile.wide_row(p, archives.UNIT_ELEMENTS - 1, b"<c/>"),
    "xlsx: longest shared string": lambda p: hostile.one_huge_string(p, archives.UNIT_BYTES - 100),
    "xlsx: text outside rows at the cap": lambda p: hostile.loose_text(p, archives.LOOSE_TEXT - 10_000),
    "csv: 49 MB row of commas": lambda p: _csv(p, b",", 49_000_000),
    "csv: 48 MB row of quoted line breaks": lambda p: _csv(p, b'"\n",', 48_000_000),
    "csv: longest row": lambda p: _csv(p, b"x,", RECORD_CHARS - 1_000),
}


def peak_of(path: Path, *, timeout: float = 300, address_limit: int | None = None) -> dict[str, Any]:
    """Check `path` in a child process; return its outcome, seconds and peak resident MiB.

    `address_limit` (bytes) caps the child's address space, so that a file the caps miss fails
    fast with MemoryError instead of taking the machine's memory."""

    def limit() -> None:
        if address_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_limit, address_limit))

    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.import_limits", str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,  # the child runs no thread before exec
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"outcome": f"still reading after {timeout:g} s", "seconds": timeout, "peak_mib": None}
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:]
        return {"outcome": f"crashed: {last}", "seconds": None, "peak_mib": None}
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _check(path: Path) -> dict[str, Any]:
    from passerelle.intake.files import FileRefused
    from passerelle.intake.rows import ImportRow, parse_table
    from passerelle.intake.sheets import open_table

    started = time.perf_counter()
    try:
        valid = errors = 0
        with open_table(path) as table:  # each row checked and let go, as a dry run does
            for item in parse_table(table, path.name, date(2026, 1, 1)):
                valid, errors = (valid + 1, errors) if isinstance(item, ImportRow) else (valid, errors + 1)
        outcome = f"read: {valid} valid row(s), {errors} error(s)"
    except FileRefused as err:
        outcome = f"refused: {err}"
    return {"outcome": outcome, "seconds": round(time.perf_counter() - started, 2), "peak_mib": _peak_mib()}


def _peak_mib() -> float:
    """This process's peak resident memory: the kernel's high-water mark of its own address space
    (`ru_maxrss` would count the parent's, inherited through fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


if __name__ == "__main__":
    print(json.dumps(_check(Path(sys.argv[1]))))
