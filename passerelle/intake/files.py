"""Reading an operator's file: one clear error for whatever is not the text it should be.

A start input (`passerelle start --file`) or a spreadsheet (`passerelle import`) may be a folder,
empty, huge, or saved in another encoding than UTF-8 (Excel's plain "CSV" is Windows-1252); a
JSON file may be no JSON, not an object, or nested deeper than the parser recurses (a few KB of
brackets). Each case is refused with one line that names the file and what to do, never a
traceback.
"""

import json
from pathlib import Path
from typing import Any

MAX_BYTES = 50 * 1024 * 1024  # far above any programme's spreadsheet, far below a memory problem


class FileRefused(ValueError):
    """A file that cannot be read as the text it should be; the message names it."""


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """Return the file's text (UTF-8, with or without a byte-order mark), or raise FileRefused."""
    if path.is_dir():
        raise FileRefused(f"{path} is a folder, not a file")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as err:
        raise FileRefused(f"cannot read {path}: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise FileRefused(f"{path} is larger than {max_bytes // (1024 * 1024)} MB")
    if not data.strip():
        raise FileRefused(f"{path} is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        hint = ""
        try:
            data.decode("cp1252")
            hint = " It looks like Windows-1252 (Excel's plain CSV): save it as 'CSV UTF-8' and try again."
        except UnicodeDecodeError:
            pass
        raise FileRefused(f"{path} is not UTF-8 text (line {line}, byte {err.start + 1}).{hint}") from None


def read_json_object(path: Path, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """Return the file's one JSON object, or raise FileRefused saying why it is not one."""
    text = read_text(path, max_bytes)
    try:
        loaded = json.loads(text)
    except RecursionError:  # the parser recurses once per level: no start input nests so deep
        deep = f"{path} is not JSON Passerelle reads: it nests deeper than the parser goes"
        raise FileRefused(deep) from None
    except ValueError as err:
        raise FileRefused(f"{path} is not JSON: {err}") from None
    if not isinstance(loaded, dict):
        kind = type(loaded).__name__.replace("dict", "object").replace("list", "array")
        raise FileRefused(f"{path}: the start input must be one JSON object, not a JSON {kind}")
    return loaded
