"""Bad files get one clear line and exit 2: `start --file` and `import`, as installed.

Nothing here needs a server: every file is refused before Temporal or PostgreSQL is called.
"""

import json
from pathlib import Path

import pytest

from tests.e2e.cli import assert_one_line_error, passerelle, passerelle_each

pytestmark = pytest.mark.e2e

ROW = "{corporate},a@b.example,Nabla,c@d.example,,P,{topic},s,o@p.example,fr,introduction,2025-01-06"
CSV_HEADER = (
    "corporate,corporate_email,startup,startup_email,startup_label,programme,topic,sector,owner_email,"
    "language,stage,introduction_date"
)


def files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Each bad file, and what its one error line must say."""
    made: dict[str, tuple[Path, str]] = {}

    def write(name: str, data: bytes, says: str) -> None:
        path = tmp / name
        path.write_bytes(data)
        made[name] = (path, says)

    write("array.json", b'[{"corporate": {"name": "A"}}]', "must be one JSON object, not a JSON array")
    write("string.json", b'"hello"', "not a JSON str")
    write("broken.json", b'{"corporate": ', "is not JSON")
    write("empty.json", b"", "is empty")
    write("blank.json", b"  \n\t\n", "is empty")
    write("latin1.json", '{"topic": "Société Générale"}'.encode("cp1252"), "Windows-1252")
    write("binary.json", b"\xff\xfe\x00\x00garbage\x81", "is not UTF-8")
    write("big.json", b'{"topic": "' + b"x" * (1024 * 1024) + b'"}', "larger than 1 MB")
    # 400 KB of brackets: deeper than the parser's recursion, which used to end in a traceback.
    write("deep.json", b'{"tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests deeper than")
    (tmp / "folder.json").mkdir()
    made["folder.json"] = (tmp / "folder.json", "is a folder")
    return made


START_FILES = ["array.json", "string.json", "broken.json", "empty.json", "blank.json", "latin1.json",
               "binary.json", "big.json", "deep.json", "folder.json"]  # fmt: skip


async def test_start_refuses_each_bad_file_in_one_line(tmp_path: Path) -> None:
    made = files(tmp_path)
    results = await passerelle_each({}, [["start", "--file", str(made[name][0])] for name in START_FILES])
    for name, result in zip(START_FILES, results, strict=True):
        path, says = made[name]
        assert_one_line_error(result, 2, says)
        assert str(path) in result.err, (name, result.err)


SPREADSHEETS = {
    "empty": (b"", "is empty"),
    # Neither UTF-8 nor Windows-1252 (0x81 is undefined in both): named by line, nothing read.
    "undecodable": (f"{CSV_HEADER}\n".encode() + b"\x81\x8d,x\n", "is not Windows-1252 text (line 2, byte"),
    "huge-field": (f"{CSV_HEADER}\n{ROW.format(corporate='A', topic='x' * 200_000)}\n".encode(), "row 2: unreadable CSV (field larger than field limit"),
    "huge-header": (b'"' + b"x" * 200_000 + b'"\n', "row 1: unreadable CSV (field larger than field limit"),
}  # fmt: skip


async def test_import_refuses_each_bad_spreadsheet_naming_the_row(tmp_path: Path) -> None:
    for name, (content, _) in SPREADSHEETS.items():
        (tmp_path / f"{name}.csv").write_bytes(content)
    results = await passerelle_each(
        {}, [["import", str(tmp_path / f"{n}.csv"), "--dry-run"] for n in SPREADSHEETS]
    )
    for (name, (_, says)), result in zip(SPREADSHEETS.items(), results, strict=True):
        assert result.code == 2 and "Traceback" not in result.err, (name, result)
        assert says in result.err, (name, result.err)


async def test_import_refuses_a_folder(tmp_path: Path) -> None:
    assert_one_line_error(await passerelle({}, "import", str(tmp_path), "--dry-run"), 2, "is a folder")


def test_the_bad_json_files_are_what_they_claim(tmp_path: Path) -> None:
    """The fixtures really are bad in the way named (an array is valid JSON, for one)."""
    made = files(tmp_path)
    assert isinstance(json.loads(made["array.json"][0].read_text()), list)
    assert made["latin1.json"][0].read_bytes().decode("cp1252").endswith('Générale"}')
