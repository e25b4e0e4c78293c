"""An Excel workbook checked as the zip archive it is, before openpyxl reads any of it.

An .xlsx of 400 KB may expand to gigabytes: the 50 MB cap of `passerelle.intake.files` counts
compressed bytes. So every part is measured twice, as the archive declares it (`ZipInfo.file_size`)
and as it really inflates (the bytes counted while streaming it through an XML parser, so a
header that lies is caught too), and the XML is read once, in flat memory, for what openpyxl
would hold: it keeps one row (or shared string) at a time, but every element outside them, and
every row and shared string as an empty element. A workbook is refused, in one line naming the
part and the cap, when it has more than `MAX_PARTS` parts; a part inflates past `PART_BYTES`, or
all of them past `TOTAL_BYTES`; a row or a shared string holds more than `UNIT_ELEMENTS` elements
(Excel has 16,384 columns) or `UNIT_BYTES` of XML; the elements a reader keeps pass `KEPT`, or
the text outside rows and strings `LOOSE_TEXT`; or a part declares a DTD (no workbook has one;
entities are how XML grows without bound). Within these caps an import's peak memory stays
under 200 MB (`python -m bench imports`, docs/benchmarks.md).
"""

import zipfile
from pathlib import Path
from pyexpat import ExpatError, ParserCreate
from typing import Any

from passerelle.intake.files import FileRefused

MB = 1024 * 1024
MAX_PARTS = 1_000
PART_BYTES = 32 * MB
TOTAL_BYTES = 64 * MB
UNIT_ELEMENTS = 16_384
UNIT_BYTES = 1 * MB
KEPT = 300_000
LOOSE_TEXT = 4 * MB
UNITS = ("row", "si")  # what openpyxl builds whole, reads and lets go
_CHUNK = 1 << 20
_CENTRAL = b"PK\x01\x02"  # the signature of each part's entry in the archive's directory


class _Count:
    """What the parts read so far add up to, across the workbook."""

    def __init__(self) -> None:
        self.bytes = 0
        self.kept = 0
        self.text = 0


def _entries(path: Path) -> int:
    """Return at least the number of parts: directory signatures in the file (zipfile would build
    an object for each before anything could be checked)."""
    count, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            count += (tail + chunk).count(_CENTRAL)
            tail = chunk[-3:]
    return count


class _Part:
    """One XML part streamed through expat, refusing what would grow a reader past the caps."""

    def __init__(self, where: str, count: _Count) -> None:
        self.where, self.count = where, count
        self.depth = 0
        self.unit: tuple[int, int, str] | None = None  # (depth, start byte, its name for people)
        self.elements = 0
        self.parser = ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text
        self.parser.StartDoctypeDeclHandler = self.doctype

    def refuse(self, why: str) -> FileRefused:
        return FileRefused(f"{self.where}: {why}")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        local = name.rpartition(":")[2]
        if self.unit is not None:
            self.elements += 1
            if self.elements > UNIT_ELEMENTS:
                raise self.refuse(f"{self.unit[2]} holds more than {UNIT_ELEMENTS:,} cells and values")
            if self.parser.CurrentByteIndex - self.unit[1] > UNIT_BYTES:
                raise self.refuse(f"{self.unit[2]} is longer than {UNIT_BYTES // MB} MB of XML")
            return
        self.loose(sum(len(v) for v in attributes.values()))
        self.count.kept += 1
        if self.count.kept > KEPT:
            raise self.refuse(
                f"more than {KEPT:,} rows, shared strings and other elements in the workbook: "
                "delete the empty rows below the table, or split the file"
            )
        if local in UNITS:
            label = f"row {attributes.get('r', '?')}" if local == "row" else "a shared string"
            self.unit, self.elements = (self.depth, self.parser.CurrentByteIndex, label), 0

    def end(self, name: str) -> None:
        if self.unit is not None and self.depth == self.unit[0]:
            if self.parser.CurrentByteIndex - self.unit[1] > UNIT_BYTES:
                raise self.refuse(f"{self.unit[2]} is longer than {UNIT_BYTES // MB} MB of XML")
            self.unit = None
        self.depth -= 1

    def text(self, data: str) -> None:
        if self.unit is None:
            self.loose(len(data))

    def loose(self, characters: int) -> None:
        """Count text a reader keeps: outside rows and strings, attributes included."""
        self.count.text += characters
        if self.count.text > LOOSE_TEXT:
            raise self.refuse(f"more than {LOOSE_TEXT // MB} MB of text outside rows and strings")

    def doctype(self, *_: Any) -> None:
        raise self.refuse("declares a DTD, which no workbook has")

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(data, final)
        except ExpatError as err:
            raise self.refuse(f"is not XML ({err})") from None


def check_workbook(path: Path) -> None:
    """Raise FileRefused, naming the part and the cap, unless `path` stays within every cap."""
    if _entries(path) > MAX_PARTS:
        raise FileRefused(f"{path} holds more than {MAX_PARTS:,} parts: no workbook has so many")
    count = _Count()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            for info in infos:
                if info.file_size > PART_BYTES:
                    raise FileRefused(
                        f"{path}: {info.filename} expands to {info.file_size // MB:,} MB, "
                        f"past the {PART_BYTES // MB} MB a workbook part may hold"
                    )
            declared = sum(i.file_size for i in infos)
            if declared > TOTAL_BYTES:
                size, cap = declared // MB, TOTAL_BYTES // MB
                raise FileRefused(f"{path} expands to {size:,} MB, past the {cap} MB a workbook may hold")
            for info in infos:
                _read(archive, info, f"{path}: {info.filename}", count)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as err:
        raise FileRefused(f"{path} is not an Excel workbook ({type(err).__name__}: {err})") from None


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, count: _Count) -> None:
    """Stream one part, counting its bytes as they inflate; parse it when it is XML."""
    xml = info.filename.endswith((".xml", ".rels", ".vml"))
    part = _Part(where, count) if xml else None
    read = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            read += len(chunk)
            count.bytes += len(chunk)
            if read > PART_BYTES or count.bytes > TOTAL_BYTES:
                raise FileRefused(f"{where} expands past what its header says and past the caps")
            if part is not None:
                part.feed(chunk)
    if part is not None:
        part.feed(b"", final=True)
