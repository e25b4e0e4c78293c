"""A playbook file turned into a `Playbook`, or one error naming each bad key, its rule and its line.

TOML syntax errors come with their line from `tomllib`; a key the contract refuses is found back
in the text (its table header or its `key =` line) so the operator is sent to the right line.
"""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from passerelle.intake.files import FileRefused, read_text
from schemas.playbooks import Playbook

MAX_BYTES = 256 * 1024  # a playbook is a page of rules, not a data file

_HEADER = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^([A-Za-z0-9_.\"' -]+?)\s*=")


class PlaybookRefused(ValueError):
    """A playbook file that cannot be applied; the message says where and why."""


@dataclass(frozen=True)
class PlaybookFile:
    playbook: Playbook
    source: str


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in dotted.split(".")]


def line_of(source: str, loc: tuple[int | str, ...]) -> int | None:
    """Return the line that best matches an error's location (key path), or None."""
    wanted = [str(p) for p in loc if isinstance(p, str) and p != "[key]"]
    header: list[str] = []
    best: tuple[int, int] | None = None
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.strip()
        if found := _HEADER.match(line):
            header = _parts(found.group(1))
            path = header
        elif found := _KEY.match(line):
            path = header + _parts(found.group(1))
        else:
            continue
        if path == wanted[: len(path)] and (best is None or len(path) > best[0]):
            best = (len(path), number)
    return None if best is None else best[1]


def parse(source: str, name: str) -> Playbook:
    """Return the playbook `source` describes, or raise PlaybookRefused listing every problem."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as err:
        raise PlaybookRefused(f"{name}: not valid TOML: {err}") from None
    except RecursionError:  # the parser recurses once per level of arrays or inline tables
        raise PlaybookRefused(f"{name}: not a playbook: it nests deeper than the TOML parser goes") from None
    try:
        return Playbook.model_validate(data)
    except ValidationError as err:
        problems = []
        for error in err.errors(include_url=False):
            key = ".".join(str(p) for p in error["loc"] if p != "[key]") or "(top level)"
            line = line_of(source, error["loc"])
            where = f"line {line}: " if line else ""
            problems.append(f"{where}{key}: {error['msg']}")
        raise PlaybookRefused(f"{name}: " + "; ".join(problems)) from None


def read(path: Path) -> PlaybookFile:
    """Read and validate a playbook file."""
    try:
        source = read_text(path, max_bytes=MAX_BYTES)
    except FileRefused as err:
        raise PlaybookRefused(str(err)) from None
    return PlaybookFile(parse(source, path.name), source)
