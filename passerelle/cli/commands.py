"""Which module holds each command, and its one-line help: what `passerelle` needs before importing any.

`passerelle --help` lists the commands from this table alone, and `passerelle NAME ...` imports
only NAME's module, so that no command pays for the Temporal SDK, the audit code, matplotlib or
aiohttp unless it uses them. `tests/unit/test_cli_startup.py` checks the table against the
commands the modules register, so a new or renamed command cannot be left out.
"""

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
    "advance": ("operate", "Move a collaboration to another stage."),
    "milestone": ("operate", "Record a milestone (NDA signed, pilot kick-off...)."),
    "close": ("operate", "Close a collaboration as deployed, declined or abandoned."),
    "pause": ("operate", "Pause the reminders of a collaboration."),
    "resume": ("operate", "Resume a paused collaboration; its stall clock restarts now."),
    "snooze": (
        "operate",
        "Push the next reminder of a collaboration to at least DAYS from now (fractions allowed).",
    ),
    "status": ("operate", "Show a collaboration's stage, SLA, reminders and its history from PostgreSQL."),
    "request-approval": (
        "playbook_updates",
        "Ask a second person to approve a gated move or closing as deployed.",
    ),
    "approve": (
        "playbook_updates",
        "Approve the pending approval (not its requester; one of the playbook's approvers).",
    ),
    "reject": ("playbook_updates", "Reject the pending approval, with a reason."),
    "score": (
        "playbook_updates",
        "Record your scorecard of the evaluation (a new one replaces your previous one).",
    ),
    "adopt-playbook": (
        "playbook_updates",
        "Move a collaboration to a newer version of its programme's playbook.",
    ),
    "codec-server": (
        "codec",
        "Decode and encode payloads for the Temporal Web UI with PASSERELLE_ENCRYPTION_KEYS.",
    ),
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
    "report": ("report", "Print the funnel, conversions and time in stage of the collaborations selected."),
    "import": (
        "imports",
        "Start one collaboration per row of a spreadsheet, at its current stage, with its past dates.",
    ),
    "demo": ("imports", "Write a realistic demo spreadsheet and import it through the real workflows."),
    "schedules": ("stack", "Temporal Schedules (the daily digest)."),
    "playbook": ("playbooks", "Apply, list, show and compare programme playbooks (docs/playbooks.md)."),
    "audit": ("audit", "Export, replay, read and verify collaborations' histories."),
    "privacy": ("privacy", "People's data rights: what is held about a person, and its erasure."),
    "bulk": (
        "bulk",
        "Pause, resume, close or adopt a playbook for every collaboration a visibility query matches.",
    ),
    "export": ("export", "Write spreadsheets from PostgreSQL."),
    "notifications": ("notifications", "The notification outbox: failed deliveries, and resending them."),
}
