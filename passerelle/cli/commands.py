"""Which module holds each command, and its one-line help: what `passerelle` needs before importing any.

`passerelle NAME ...` imports only NAME's module, so that no command pays for the Temporal SDK,
the audit code, matplotlib or aiohttp unless it uses them. The commands that send an update are
read from the updates' declarations (`update_commands`), without importing them.
`tests/unit/test_cli_startup.py` checks the listing against the commands the modules register,
so a new or renamed command cannot be left out.
"""

import ast
import importlib.util
from pathlib import Path

# command: (module of passerelle.cli, its help's first paragraph); in the order of the listing
COMMANDS: dict[str, tuple[str, str]] = {
    "dev": (
        "stack",
        "Run the whole stack in the foreground: Temporal + Web UI, PostgreSQL, migrations, worker.",
    ),
    "worker": ("stack", "Run a worker against TEMPORAL_ADDRESS and PASSERELLE_DATABASE_URL."),
    "migrate": ("stack", "Apply the database migrations not yet applied (as the owner role)."),
    "setup": (
        "deploy",
        "Register the search attributes and apply the digest Schedule (idempotent; once per deployment).",
    ),
    "start": ("operate", "Start a collaboration from flags or from --file request.json."),
    "status": ("operate", "Show a collaboration's stage, SLA, reminders and its history from PostgreSQL."),
    "codec-server": (
        "codec",
        "Decode and encode payloads for the Temporal Web UI with PASSERELLE_ENCRYPTION_KEYS.",
    ),
    "login": (
        "login",
        "Sign in with the OpenID provider (PASSERELLE_OIDC_ISSUER) and keep the tokens owner-only.",
    ),
    "whoami": (
        "login",
        "Show who you are logged in as, read from the cached access token without verifying it.",
    ),
    "logout": ("login", "Delete the cached tokens, and revoke the login at the provider when it allows it."),
    "portal": ("portal", "Serve the partner portal: the pages behind the one-click links of the e-mails."),
    "list": (
        "listing",
        "List collaborations (running ones unless --all, failed ones with --failed), as a table.",
    ),
    "watch": ("watch", "Follow a collaboration's changes until it closes (Ctrl-C stops watching)."),
    "schema": (
        "schema",
        "Print the JSON Schema of the start input, of each update's request and of `status`.",
    ),
    "report": (
        "report",
        "Print the funnel, conversions, time in stage, time to PoC and to decision, and time to the "
        "first meeting and the steps of the collaborations selected.",
    ),
    "import": (
        "imports",
        "Start one collaboration per row of a spreadsheet, at its current stage, with its past dates.",
    ),
    "demo": ("imports", "Write a realistic demo spreadsheet and import it through the real workflows."),
    "schedules": ("stack", "Temporal Schedules (the daily digest)."),
    "keys": ("codec", "New keys for the environment (printed, never stored)."),
    "playbook": ("playbooks", "Apply, list, show and compare programme playbooks (docs/playbooks.md)."),
    "audit": ("audit", "Export, replay, read and verify collaborations' histories."),
    "privacy": ("privacy", "People's data rights: what is held about a person, and its erasure."),
    "bulk": (
        "bulk",
        "Pause, resume, close or adopt a playbook for every collaboration a visibility query matches.",
    ),
    "export": ("export", "Write spreadsheets from PostgreSQL."),
    "notifications": ("notifications", "The notification outbox: failed deliveries, and resending them."),
    "programme": ("programmes", "Programmes, each in a Temporal namespace of its own."),
}


UPDATE_MODULE = "updates"  # `passerelle.cli.updates` registers a command per declared update


def update_commands() -> dict[str, tuple[str, str]]:
    """Return the command of each declared update that has one, with the update's text.

    Read from the declarations' source (`workflows/domain/updates.py` names the families, each
    family module holds its `Update(...)` calls with literal names and texts), so that the listing
    costs no import of the contract. `tests/unit/test_cli_startup.py` checks it against the
    declarations as imported."""
    spec = importlib.util.find_spec("workflows.domain")
    assert spec is not None and spec.submodule_search_locations is not None
    folder = Path(spec.submodule_search_locations[0])
    found: dict[str, tuple[str, str]] = {}
    for family in _families(ast.parse((folder / "updates.py").read_text())):
        for node in ast.walk(ast.parse((folder / f"{family}.py").read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Update":
                fields = dict(zip(_FIELDS, node.args, strict=False)) | {
                    k.arg: k.value for k in node.keywords if k.arg
                }
                command = fields.get("command")
                if command is not None:
                    found[ast.literal_eval(command)] = (UPDATE_MODULE, ast.literal_eval(fields["doc"]))
    return found


_FIELDS = ("name", "model", "rule", "operation", "doc")  # `Update`'s positional fields


def _families(registry: ast.Module) -> list[str]:
    """Return the family modules `workflows.domain.updates` lists, in its order."""
    for node in ast.walk(registry):
        if isinstance(node, ast.comprehension) and isinstance(node.iter, ast.Tuple):
            return [element.id for element in node.iter.elts if isinstance(element, ast.Name)]
    raise LookupError("workflows/domain/updates.py lists no families")


def every_command() -> dict[str, tuple[str, str]]:
    """Return every command in the listing's order: the update commands follow `status`."""
    listed: dict[str, tuple[str, str]] = {}
    for name, entry in COMMANDS.items():
        listed[name] = entry
        if name == "status":
            listed.update(update_commands())
    return listed
