"""`passerelle` imports a command's module only when it runs: `--help` pays for none of them.

Counted in modules, never in seconds: `python -X importtime` lists every module the installed
command imports.
"""

import subprocess
import sys
from pathlib import Path

from typer.main import get_command

from passerelle.cli import app_for, full_app
from passerelle.cli.commands import every_command, update_commands

PASSERELLE = str(Path(sys.executable).parent / "passerelle")
# What a listing must never load: the SDK, the charts, the web servers, the spreadsheets, the
# database driver and the audit code.
HEAVY = ("temporalio", "matplotlib", "aiohttp", "openpyxl", "asyncpg", "passerelle.audit", "grpc", "google")


def imported(*args: str) -> set[str]:
    """Return the modules the installed command imports for `args`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", PASSERELLE, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_help_imports_no_command() -> None:
    """The listing comes from `passerelle.cli.commands` alone: no SDK, charts or servers."""
    modules = imported("--help")
    assert "passerelle.cli.commands" in modules
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)) == []
    assert (
        sorted(m for m in modules if m.startswith("passerelle.cli.") and m != "passerelle.cli.commands") == []
    )


def test_a_command_imports_its_own_module_only() -> None:
    """`schema --help` (no server needed) loads schema's module, not the others'."""
    modules = imported("schema", "--help")
    cli = sorted(m for m in modules if m.startswith("passerelle.cli."))
    assert "passerelle.cli.schema" in cli
    assert not {"passerelle.cli.audit", "passerelle.cli.report", "passerelle.cli.imports"} & set(cli)
    assert "matplotlib" not in modules and "openpyxl" not in modules


def test_the_table_is_what_the_modules_register() -> None:
    """Every command, in the listing's order, with its module and its help's first paragraph."""
    group = get_command(full_app())
    commands = every_command()
    assert list(group.commands) == list(commands)  # type: ignore[attr-defined]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        module, text = commands[name]
        assert (command.help or "").split("\n\n")[0].replace("\n", " ").strip() == text, name
        assert name in get_command(app_for([name])).commands, (name, module)  # type: ignore[attr-defined]


def test_list_reads_the_visibility_service_without_the_sdk_client_or_the_contract() -> None:
    """`list` needs no payload converted: no client, converter for payloads, contract or keys.

    Run as the operator does, against a server that is not there: the imports are those of a
    real run up to the connection, then the one-line error.
    """
    env = {"TEMPORAL_ADDRESS": "127.0.0.1:9", "PASSERELLE_ENCRYPTION": "off", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", PASSERELLE, "list", "--stalled"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 1 and "error: cannot reach Temporal at 127.0.0.1:9" in done.stderr
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "temporalio.service" in modules and "passerelle.cli.listing" in modules
    unwanted = (
        "temporalio.client",
        "temporalio.worker",
        "temporalio.contrib",
        "schemas",
        "asyncpg",
        "cryptography",
    )
    assert sorted(m for m in modules if m.split(".")[0] in unwanted or m.startswith(unwanted)) == []
    assert (
        not {"passerelle.cli.common", "passerelle.platform.client", "passerelle.devstack.servers"} & modules
    )


def test_the_update_commands_are_read_from_the_declarations_without_importing_them() -> None:
    """The listing reads the declarations' source; it says what importing them says, in order."""
    from workflows.domain.updates import UPDATES

    declared = {u.command: ("updates", u.doc) for u in UPDATES.values() if u.command is not None}
    assert list(update_commands().items()) == list(declared.items())
    modules = imported("--help")
    assert (
        "schemas" not in modules and "pydantic" not in modules and "workflows.domain.updates" not in modules
    )
