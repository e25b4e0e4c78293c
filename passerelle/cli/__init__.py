"""The `passerelle` command: the embedded stack, the worker, migrations, operator commands.

Entry point `main()` exits through `os._exit` after flushing: a short-lived process holding an
SDK client can abort in `PyGILState_Release` at interpreter shutdown (the SDK's native threads
may still call into Python while it finalises), which would turn a clean exit code into a crash.
"""

import os
import sys

import typer

from passerelle.cli import (
    audit,
    bulk,
    codec,
    deploy,
    export,
    imports,
    listing,
    notifications,
    operate,
    playbook_updates,
    playbooks,
    portal,
    privacy,
    report,
    schema,
    stack,
    watch,
)
from passerelle.cli.common import CliError
from passerelle.platform.client import TemporalUnreachable
from passerelle.platform.codec import DataKeysNeeded
from passerelle.platform.keystore import DataKeyDestroyed, KeyStoreUnavailable, UnknownDataKey

app = typer.Typer(
    name="passerelle",
    help="Durable corporate–start-up collaborations on Temporal and PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stack.register(app)
deploy.register(app)
operate.register(app)
playbook_updates.register(app)
playbooks.register(app)
app.add_typer(audit.app, name="audit")
codec.register(app)
portal.register(app)
privacy.register(app)
listing.register(app)
watch.register(app)
schema.register(app)
bulk.register(app)
report.register(app)
imports.register(app)
export.register(app)
notifications.register(app)


def main() -> None:
    """Run the CLI and exit with its code, without interpreter tear-down crashes."""
    code = 0
    try:
        app(standalone_mode=False)
    except CliError as err:
        typer.secho(f"error: {err}", err=True, fg="red")
        code = err.code
    except (
        TemporalUnreachable,
        KeyStoreUnavailable,
        UnknownDataKey,
        DataKeyDestroyed,
        DataKeysNeeded,
    ) as err:
        # What the key store said (docs/privacy.md) is one line, like an unreachable server.
        typer.secho(f"error: {err}", err=True, fg="red")
        code = 1
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except KeyboardInterrupt:
        code = 130
    except SystemExit as err:
        if isinstance(err.code, str):
            typer.secho(f"error: {err.code}", err=True, fg="red")
            code = 1
        else:
            code = err.code or 0
    except Exception as err:
        show = getattr(err, "show", None)  # click usage errors (typer vendors click)
        if show is None:
            raise
        show()
        code = int(getattr(err, "exit_code", 2))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
