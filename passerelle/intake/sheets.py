"""Open an operator's spreadsheet as rows of cells, streamed: an Excel workbook or a CSV file.

- `.xlsx`: the first sheet, or the one named, read with openpyxl in read-only mode (one row in
  memory at a time), once `passerelle.intake.archives` has checked what the archive expands to.
  Cells keep their type: a date cell is a `datetime`, a number a number.
- CSV: the encoding is UTF-8 (with or without a byte-order mark) or Windows-1252, what a French
  Excel writes as plain "CSV"; the separator is `,`, `;` or a tab. Both are detected unless given.
  Detection reads the file once, decoding it as it goes, so a byte that fits no encoding is named
  by line before anything is imported, and text that reads as a wrong guess (UTF-8 read as
  Windows-1252: `SociÃ©tÃ©`) is refused, never imported with its names corrupted. A record longer
  than `RECORD_CHARS` is refused by row before the csv module builds it.

Rows are numbered as the spreadsheet numbers them: the workbook's row numbers, the CSV's records.
A CSV cell loses the apostrophe `passerelle export` puts before text that would start a formula
(`schemas.formulas`); a workbook's text cells are read as they are.
"""

import codecs
import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from passerelle.intake.archives import check_workbook
from passerelle.intake.files import MAX_BYTES, FileRefused
from schemas.formulas import unescape_csv_text

Cell = str | int | float | bool | date | datetime | None

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows-1252"}
EXCEL = (".xlsx", ".xlsm")
_CHUNK = 1 << 20
_SAMPLE_LINES = 20
# A CSV record (a row, its quoted line breaks included) holds at most this many characters: the
# csv module builds a row whole, a list entry per field, so a row of 50 MB of commas would hold
# hundreds of MB. A spreadsheet's row is a few KB.
RECORD_CHARS = 1024 * 1024
# UTF-8 bytes of accented letters read one byte per character: `Ã©` for `é`, `â€™` for `’`.
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]|â€[\u0080-\u00bf™œ\u009d˜]")
# Windows-1252 letters no French or English text uses: a file in another encoding read as 1252.
_FOREIGN_1252 = re.compile("[ƒ†‡ˆ‰Š‹ŽšžŸ›˜‚„]")


@dataclass
class Table:
    """The rows of one sheet or CSV file, and how it was read."""

    name: str  # the sheet's name, or the file's
    read_as: str  # "sheet Suivi", "UTF-8, semicolon-separated"
    rows: Iterator[tuple[int, list[Cell]]]
    size: int | None = None  # rows, header included, as far as the file says (for a progress bar)


class Undecodable(FileRefused):
    """A byte the encoding cannot decode: the file is in another encoding."""


def _encoding_error(path: Path, encoding: str, line: int, byte: int) -> Undecodable:
    name = ENCODINGS.get(encoding, encoding)
    hint = (
        "; if it is Windows-1252, pass --encoding cp1252"
        if encoding.startswith("utf-8")
        else "; name the file's encoding with --encoding (utf-8, cp1252, mac_roman...)"
    )
    return Undecodable(f"{path} is not {name} text (line {line}, byte {byte}){hint}")


def _check_encoding(path: Path, encoding: str) -> int:
    """Decode the whole file in chunks; raise FileRefused on a bad byte or a wrong guess's signs.
    Return its number of lines."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    line, offset = 1, 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as err:
                raise _encoding_error(
                    path, encoding, line + chunk[: err.start].count(b"\n"), offset + err.start + 1
                ) from None
            _check_guess(path, text, line, encoding)
            line += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _encoding_error(path, encoding, line, offset) from None
    return line


def _check_guess(path: Path, text: str, line: int, encoding: str) -> None:
    signs = [(_MOJIBAKE, "UTF-8 read as Windows-1252, or text encoded twice")]
    if encoding == "cp1252":
        signs.append((_FOREIGN_1252, "text in another encoding than Windows-1252"))
    for pattern, what in signs:
        if found := pattern.search(text):
            at = line + text[: found.start()].count("\n")
            start = text.rfind("\n", 0, found.start()) + 1
            word = text[start : found.end() + 12].split("\n")[0][-40:]
            raise FileRefused(
                f"{path}, line {at}: {word!r} looks like {what}; name the file's encoding with "
                "--encoding (utf-8 or cp1252), or save it again as 'CSV UTF-8'"
            )


def detect_encoding(path: Path, encoding: str | None) -> tuple[str, int]:
    """Return the file's encoding, checked on the whole file (`encoding`, else UTF-8, else
    Windows-1252), and its number of lines."""
    with path.open("rb") as handle:
        starts_with_bom = handle.read(3) == codecs.BOM_UTF8
    if encoding is not None:
        chosen = codecs.lookup(encoding).name
        chosen = "utf-8-sig" if chosen == "utf-8" and starts_with_bom else chosen
        return chosen, _check_encoding(path, chosen)
    if starts_with_bom:
        return "utf-8-sig", _check_encoding(path, "utf-8-sig")
    try:
        return "utf-8", _check_encoding(path, "utf-8")
    except Undecodable:  # a wrong guess's signs in valid UTF-8 stay refused
        return "cp1252", _check_encoding(path, "cp1252")


def detect_delimiter(sample: list[str]) -> str:
    """Return the separator that splits the sample's widest line into the most fields."""

    def width(delimiter: str) -> int:
        try:
            return max((len(r) for r in csv.reader(sample, delimiter=delimiter)), default=0)
        except csv.Error:  # a field over the csv module's limit: the rows will say where
            return 0

    return max(DELIMITERS, key=lambda d: (width(d), d == ","))


def _lines(handle: TextIO) -> Iterator[str]:
    """Yield the file's lines, none longer than a record may be (a longer one is cut there)."""
    while line := handle.readline(RECORD_CHARS + 1):
        yield line


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[Cell]]]:
    read = [0]  # characters of the record being read: a few KB, or a hostile one

    def counted(handle: TextIO) -> Iterator[str]:
        for line in _lines(handle):
            read[0] += len(line)
            if read[0] > RECORD_CHARS:
                too_long = f"longer than {RECORD_CHARS // (1024 * 1024)} MB: no row of a spreadsheet is"
                raise FileRefused(f"{path}, row {number + 1}: {too_long}")
            yield line

    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(counted(handle), delimiter=delimiter)
        number = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # a field over the csv module's limit, a stray NUL...
                raise FileRefused(f"{path}, row {number + 1}: unreadable CSV ({err})") from None
            number += 1
            read[0] = 0
            yield number, [unescape_csv_text(c) for c in record]


def _sample(path: Path, encoding: str) -> list[str]:
    with path.open(encoding=encoding, newline="") as handle:
        return [line for _, line in zip(range(_SAMPLE_LINES), _lines(handle), strict=False)]


def _sheet_rows(path: Path, sheet: str | None) -> tuple[str, Iterator[tuple[int, list[Cell]]], int | None]:
    from openpyxl import load_workbook  # only an Excel import pays for it
    from openpyxl.utils.exceptions import InvalidFileException

    check_workbook(path)  # what it expands to, before openpyxl holds any of it
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as err:
        raise FileRefused(f"{path} is not an Excel workbook openpyxl can read ({err})") from None
    except Exception as err:  # a zip that is no workbook raises zipfile.BadZipFile, and others
        raise FileRefused(f"{path} is not an Excel workbook ({type(err).__name__}: {err})") from None
    if sheet is None:
        worksheet = workbook.worksheets[0]
    elif sheet in workbook.sheetnames:
        worksheet = workbook[sheet]
    else:
        names = ", ".join(workbook.sheetnames)
        workbook.close()
        raise FileRefused(f"{path} has no sheet {sheet!r}; its sheets: {names}")
    title = str(worksheet.title)
    size = worksheet.max_row  # from the sheet's dimension, when the writer recorded one

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        number = 0
        try:
            for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
                yield number, list(row)
        except Exception as err:  # a cell openpyxl cannot read (a number of 5,000 digits...)
            raise FileRefused(f"{path}, row {number + 1}: unreadable ({type(err).__name__}: {err})") from None
        finally:
            workbook.close()

    return title, rows(), size


@contextmanager
def open_table(
    path: Path, *, sheet: str | None = None, delimiter: str | None = None, encoding: str | None = None
) -> Iterator[Table]:
    """Open `path` as a Table; raise FileRefused, naming it, for whatever cannot be read."""
    if path.is_dir():
        raise FileRefused(f"{path} is a folder, not a file")
    try:
        size = path.stat().st_size
    except OSError as err:
        raise FileRefused(f"cannot read {path}: {err.strerror or err}") from None
    if size == 0:
        raise FileRefused(f"{path} is empty")
    if size > MAX_BYTES:
        raise FileRefused(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if path.suffix.lower() in EXCEL:
        if delimiter or encoding:
            raise FileRefused(f"{path} is a workbook: --delimiter and --encoding are for CSV files")
        title, rows, count = _sheet_rows(path, sheet)
        try:
            yield Table(title, f"sheet {title}", rows, count)
        finally:
            rows.close()  # type: ignore[attr-defined]
        return
    if sheet is not None:
        raise FileRefused(f"{path} is not a workbook (.xlsx): --sheet is for Excel files")
    if path.suffix.lower() in (".xls", ".ods", ".numbers"):
        raise FileRefused(f"{path} is not a format Passerelle reads: save it as .xlsx or CSV")
    try:
        chosen, lines = detect_encoding(path, encoding)
    except LookupError:
        raise FileRefused(f"--encoding {encoding!r} is not an encoding Python knows") from None
    sample = _sample(path, chosen)
    if not "".join(sample).strip():
        raise FileRefused(f"{path} is empty")
    sep = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter) if delimiter else detect_delimiter(sample)
    if sep not in DELIMITERS:
        raise FileRefused(f"--delimiter must be ',', ';' or 'tab', not {delimiter!r}")
    read_as = f"{ENCODINGS.get(chosen, chosen)}, {DELIMITERS[sep]}-separated"
    rows = _csv_rows(path, chosen, sep)
    try:
        yield Table(path.name, read_as, rows, lines)
    finally:
        rows.close()  # type: ignore[attr-defined]
