"""Every `passerelle` command the docs show is one the installed CLI accepts.

README.md and the guides in docs/ show commands in fenced shell blocks (```` ```sh ````,
```` ```bash ````, ```` ```console ```` or a bare fence). Each line that runs `passerelle` (after an
optional `$ ` prompt or `NAME=value` assignments, `\\` continuations joined) is checked against the
command's own app, in-process (a CLI start per command would cost a second each): its subcommand
path (the words up to the first that is not a subcommand, after the options every command takes
before its name, `--programme` and `--shared`) must answer `--help` with exit code 0, and every
`--option` the line uses must be one that command takes. So a doc showing a renamed command, or a
removed or misspelt option, fails here and names the file and line. `make` and `temporal`
commands are not checked.
"""

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from passerelle.cli import full_app, split_global_options

APP = full_app()  # every command, as the docs name them

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_FENCES = {"", "sh", "bash", "shell", "console"}
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
COMMAND_LINE = re.compile(r"^(?:\$\s+)?(?:[A-Za-z_]\w*=\S*\s+)*passerelle(?:\s|$)")
ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
MIN_COMMANDS = 20  # the docs show far more: finding fewer means the extraction broke


@dataclass(frozen=True)
class DocCommand:
    """One `passerelle` command line shown in a doc."""

    where: str  # `docs/operators.md:42`
    text: str
    words: tuple[str, ...]  # the words after `passerelle`; empty when the line does not parse
    error: str = ""

    @property
    def options(self) -> set[str]:
        """Return the long options the line uses (`--out=x` counts as `--out`)."""
        return {w.split("=", 1)[0] for w in self.words if w.startswith("--") and w != "--"}


def strip_comment(line: str) -> str:
    """Return the line without its shell comment (a `#` starting a word, outside quotes)."""
    quote, word_start, i = "", True, 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch == "\\":
            i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and word_start:
            return line[:i]
        word_start = ch.isspace()
        i += 1
    return line


def shell_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, logical line) for every line of a shell block, continuations joined."""
    fence, shell, pending, start = "", False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not fence:
            opening = FENCE.match(line)
            if opening:
                fence, shell = opening[1], opening[2].lower() in SHELL_FENCES
            continue
        if line.strip().startswith(fence) and not line.strip().strip(fence[0]):  # the closing fence
            if pending:
                yield start, pending
            fence, pending = "", ""
        elif shell:
            part = line.strip() if pending else line
            if not pending:
                start = number
            if part.rstrip().endswith("\\"):
                pending += part.rstrip()[:-1].rstrip() + " "
            else:
                yield start, pending + part
                pending = ""


def doc_commands() -> list[DocCommand]:
    """Return every `passerelle` command of the README and docs/*.md, in file order."""
    found = []
    for doc in DOCS:
        name = doc.relative_to(ROOT).as_posix()
        for number, line in shell_lines(doc.read_text()):
            text = line.strip()
            if not COMMAND_LINE.match(text):
                continue
            text = re.sub(r"^\$\s+", "", text)
            try:
                words = shlex.split(strip_comment(text))
            except ValueError as err:
                found.append(DocCommand(f"{name}:{number}", text, (), f"does not parse as shell: {err}"))
                continue
            while words and ASSIGNMENT.match(words[0]):
                words.pop(0)
            _, words = split_global_options(words[1:])
            found.append(DocCommand(f"{name}:{number}", text, tuple(words)))
    return found


def tree() -> Any:
    """Return the `passerelle` command as click sees it (the app the installed entry point runs)."""
    root = typer.main.get_command(APP)
    assert is_group(root)
    return root


def is_group(command: Any) -> bool:
    """Return whether the command has subcommands (typer's vendored click has no Group class)."""
    return isinstance(getattr(command, "commands", None), dict)


def resolve(root: Any, words: tuple[str, ...]) -> tuple[tuple[str, ...], Any]:
    """Return the subcommand path the words name, and the command at its end."""
    path: tuple[str, ...] = ()
    command = root
    while is_group(command) and len(words) > len(path):
        sub = command.commands.get(words[len(path)])
        if sub is None:
            break
        path, command = (*path, words[len(path)]), sub
    return path, command


def long_options(command: Any) -> set[str]:
    """Return every long option the command takes, `--help` included."""
    found = {"--help"}
    for param in command.params:
        found |= {o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")}
    return found


COMMANDS = doc_commands()
ROOT_COMMAND = tree()


def test_the_docs_show_commands_to_check() -> None:
    """The extraction finds the docs' commands (a broken one would silently check nothing)."""
    assert len(COMMANDS) >= MIN_COMMANDS, [c.where for c in COMMANDS]
    assert {c.where.split(":")[0] for c in COMMANDS} >= {"README.md", "docs/operators.md", "docs/auditors.md"}


@pytest.mark.parametrize("doc", COMMANDS, ids=[c.where for c in COMMANDS])
def test_documented_command_is_accepted(doc: DocCommand) -> None:
    """The command's subcommands exist, its `--help` parses, and it takes every option used."""
    assert not doc.error, f"{doc.where}: `{doc.text}` {doc.error}"
    path, command = resolve(ROOT_COMMAND, doc.words)
    shown = " ".join(("passerelle", *path))
    if is_group(command):  # a group: the doc must go on to one of its commands
        rest = doc.words[len(path)] if len(doc.words) > len(path) else "(nothing)"
        pytest.fail(
            f"{doc.where}: `{doc.text}`: {rest} is not a command of `{shown}` "
            f"(it has: {', '.join(sorted(command.commands))})"
        )
    answer = CliRunner().invoke(APP, [*path, "--help"], prog_name="passerelle")
    assert answer.exit_code == 0, f"{doc.where}: `{shown} --help` exited {answer.exit_code}:\n{answer.output}"
    unknown = sorted(doc.options - long_options(command))
    assert not unknown, (
        f"{doc.where}: `{doc.text}` uses {', '.join(unknown)}, which `{shown}` does not take "
        f"(it takes: {', '.join(sorted(long_options(command)))})"
    )


def test_the_installed_command_answers_help() -> None:
    """The entry point the docs call is installed and runs (the checks above run its app in-process)."""
    beside = Path(sys.executable).parent / "passerelle"
    command = str(beside) if beside.is_file() else shutil.which("passerelle")
    assert command, "the passerelle command is not installed (pip install -e .)"
    done = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "audit" in done.stdout, done.stdout + done.stderr
