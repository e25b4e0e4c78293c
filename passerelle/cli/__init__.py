"""The `passerelle` command: the embedded stack, the worker, migrations, operator commands.

Each command's module is imported only when it runs (`passerelle.cli.commands`). Entry point
`main()` exits through `os._exit` after flushing: a short-lived process holding an SDK client can
abort in `PyGILState_Release` at interpreter shutdown (the SDK's native threads
may still call into Python while it finalises), which would turn a clean exit code into a crash.
"""

import os
import sys

import typer

from passerelle.cli.commands import COMMANDS, UPDATE_MODULE, every_command

HELP = "Durable corporate–start-up collaborations on Temporal and PostgreSQL."
# Errors that are one line on stderr, never a traceback, by the module that defines them (looked
# up only if that module was imported: an error of a module never imported cannot have happened).
ONE_LINE_ERRORS = {
    "passerelle.platform.service": ("TemporalUnreachable",),
    "passerelle.platform.keystore": ("KeyStoreUnavailable", "UnknownDataKey", "DataKeyDestroyed"),
    # What the key store said (docs/privacy.md) is one line, like an unreachable server.
    "passerelle.platform.codec": ("DataKeysNeeded",),
    # No usable login, or a codec server that refused or could not be reached (docs/identity.md).
    "passerelle.platform.token_source": ("LoginError",),
    "passerelle.platform.remote_codec": ("CodecServerError",),
    # A programme outside the caller's roles, or one that names nothing (docs/security.md).
    "passerelle.platform.callers": ("OutsideScope",),
    "passerelle.platform.programmes": ("ProgrammeError",),
    "passerelle.privacy.erasure": ("SharedChain",),
}
# Options every command takes before its name: they choose where it acts (docs/operators.md,
# "Programmes"), as `PASSERELLE_PROGRAMME` and `PASSERELLE_SHARED=1` do.
PROGRAMME_OPTION = "--programme"
SHARED_OPTION = "--shared"


def split_global_options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Return the environment that `--programme SLUG` and `--shared` before the command name
    set, and the arguments left."""
    args, env = list(args), dict[str, str]()
    while args and args[0].startswith("--"):
        head = args[0]
        if head == SHARED_OPTION:
            env["PASSERELLE_SHARED"] = "1"
            args.pop(0)
        elif head.startswith(PROGRAMME_OPTION + "="):
            env["PASSERELLE_PROGRAMME"] = head.split("=", 1)[1]
            args.pop(0)
        elif head == PROGRAMME_OPTION and len(args) > 1:
            env["PASSERELLE_PROGRAMME"] = args[1]
            del args[:2]
        else:
            break
    return env, args


def global_options(args: list[str]) -> list[str]:
    """Take `--programme SLUG` and `--shared` from before the command name into the environment;
    return the arguments left."""
    env, left = split_global_options(args)
    os.environ.update(env)
    return left


def new_app() -> typer.Typer:
    """Return the `passerelle` app without commands."""
    app = typer.Typer(
        name="passerelle",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    # A callback keeps the app a group of named commands even when one module registers a single
    # command (`passerelle list` must not become a bare `passerelle`).
    app.callback()(_root)
    return app


def _root() -> None:
    """Durable corporate–start-up collaborations on Temporal and PostgreSQL."""


def _register(app: typer.Typer, module: str) -> None:
    name = f"passerelle.cli.{module}"
    __import__(name)  # the import statement's path, which `python -X importtime` reports
    sys.modules[name].register(app)


def full_app() -> typer.Typer:
    """Return the app with every command registered (what the docs and tests check)."""
    app = new_app()
    for module in dict.fromkeys(module for module, _ in every_command().values()):
        _register(app, module)
    return app


def app_for(args: list[str]) -> typer.Typer:
    """Return an app that runs `args`: the named command's module only, or, for the listing
    (`--help`, no command, an unknown one), a placeholder per command with its help."""
    app = new_app()
    name = args[0] if args and not args[0].startswith("-") else None
    if name in COMMANDS:
        _register(app, COMMANDS[name][0])
        return app
    if name is not None:  # an update's command (the declarations name them), or an unknown one
        _register(app, UPDATE_MODULE)
        if any(c.name == name for c in app.registered_commands):
            return app
        app = new_app()
    for command, (_, text) in every_command().items():
        app.command(command, help=text, add_help_option=False)(_listed)
    return app


def _listed() -> None:
    """Never run: `app_for` lists commands with it only when none is named."""


def _one_line(err: BaseException) -> tuple[str, int] | None:
    base = sys.modules.get("passerelle.cli.base")
    if base is not None and isinstance(err, base.CliError):
        return str(err), err.code
    for module_name, names in ONE_LINE_ERRORS.items():
        module = sys.modules.get(module_name)
        if module is not None and isinstance(err, tuple(getattr(module, n) for n in names)):
            return str(err), 1
    return None


def main() -> None:
    """Run the CLI and exit with its code, without interpreter tear-down crashes."""
    code = 0
    try:
        args = global_options(sys.argv[1:])
        app_for(args)(args, standalone_mode=False)
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
        known = _one_line(err)
        show = getattr(err, "show", None)  # click usage errors (typer vendors click)
        if known is not None:
            typer.secho(f"error: {known[0]}", err=True, fg="red")
            code = known[1]
        elif show is not None:
            show()
            code = int(getattr(err, "exit_code", 2))
        else:
            raise
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
