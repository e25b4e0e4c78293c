"""`passerelle notifications`: see the deliveries that failed, and resend them.

A delivery is given up after its window (docs/operators.md, "Notifications"): `failed`, with its
last error. So is one released to `pending` by an attempt and not tried again before its window
ended, and a notification no attempt ever reached (`unattempted`: no worker ran during its window).
`retry` resends those, once per channel, through the same outbox rules as the worker (the lease
keeps a delivery a worker is sending from being sent again), so running it twice sends nothing
twice.

Both see the notifications of the caller's collaborations only (`passerelle.platform.scope`): those
of their programmes (the one `--programme` chooses); a sponsor sees none (a notification holds the
partners' addresses). The daily digest's, of no collaboration, are for a caller of every programme.
"""

import asyncio
import dataclasses
import json
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import typer
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from activities.outbox import Outbox
from passerelle.cli.common import NO_DATABASE, CliError, StateDir, caller_within, running_database_url
from passerelle.cli.consoles import plain_console, shown
from passerelle.platform.db import create_pool
from passerelle.platform.scope import RowScope
from passerelle.platform.settings import Settings, load_settings
from schemas.moments import minute
from workflows.delivery_policy import DELIVERY_WINDOW

app = typer.Typer(
    help="The notification outbox: failed deliveries, and resending them.", no_args_is_help=True
)

# Every delivery, or only the undelivered ones: failed, or pending past the window and unleased.
# A notification no attempt ever reached (no worker ran while its window lasted) has no delivery
# row at all: it is listed once, without a channel, as `unattempted`. `{rows}`: the caller's
# collaborations (`RowScope.sql` on `c`, from $5); a notification of none (the digest's) has a
# NULL `c`, which only a scope of every row keeps.
SELECT = """
SELECT * FROM (
    SELECT d.idempotency_key AS key, d.channel, d.status, d.attempts, n.workflow_id, n.event,
           coalesce(d.last_error, d.result, '') AS error, d.updated_at
    FROM deliveries d JOIN notifications n USING (idempotency_key)
    LEFT JOIN collaborations c ON c.collaboration_id = n.collaboration_id
    WHERE (NOT $1 OR d.status = 'failed' OR (d.status IN ('pending', 'sending')
            AND n.created_at < now() - $2::interval AND coalesce(d.lease_until < now(), true)))
      AND ($3::text IS NULL OR n.collaboration_id = $3 OR n.workflow_id = $3)
      AND ($4::text IS NULL OR d.idempotency_key = $4)
      AND {rows}
    UNION ALL
    SELECT n.idempotency_key, NULL, 'unattempted', 0, n.workflow_id, n.event,
           'no attempt ran within the delivery window', n.created_at
    FROM notifications n
    LEFT JOIN collaborations c ON c.collaboration_id = n.collaboration_id
    WHERE NOT EXISTS (SELECT FROM deliveries d WHERE d.idempotency_key = n.idempotency_key)
      AND n.created_at < now() - $2::interval
      AND ($3::text IS NULL OR n.collaboration_id = $3 OR n.workflow_id = $3)
      AND ($4::text IS NULL OR n.idempotency_key = $4)
      AND {rows}
) AS undelivered
ORDER BY updated_at, key, channel
"""
REOPEN = """
UPDATE deliveries SET status = 'pending', lease_until = NULL, updated_at = now()
WHERE idempotency_key = $1 AND channel = $2 AND status <> 'sent'
    AND coalesce(lease_until < now(), true)
"""

Collaboration = Annotated[str | None, typer.Option("--collaboration", help="Collaboration or workflow id")]
Key = Annotated[str | None, typer.Option("--key", help="One notification's idempotency key")]


def _url(settings: Settings, state_dir: Any) -> str:
    url = running_database_url(settings, state_dir)
    if url is None:
        raise CliError(NO_DATABASE)
    return url


def outbox_rows(rows: RowScope) -> RowScope:
    """Return the rows of the outbox a caller sees: their programmes' whole, none as a sponsor."""
    return dataclasses.replace(rows, sponsored=frozenset())


async def _rows(
    url: str, settings: Settings, failed: bool, collaboration: str | None, key: str | None, scope: RowScope
) -> list[dict[str, Any]]:
    condition, kept = outbox_rows(scope).sql("c", 5)
    pool = await create_pool(url, max_size=1)
    try:
        async with pool.acquire() as conn:
            query = SELECT.format(rows=condition)
            rows = [
                dict(r) for r in await conn.fetch(query, failed, DELIVERY_WINDOW, collaboration, key, *kept)
            ]
        # An unattempted notification the configuration does not want sent (a milestone kind not
        # in PASSERELLE_NOTIFY_MILESTONES) never gets a delivery row: it is not undelivered.
        outbox = Outbox(pool, [], set(settings.notify_milestones))
        kept = []
        for row in rows:
            if row["channel"] is None:
                notification = await outbox.load(row["key"])
                if notification is None or not outbox.wanted(notification):
                    continue
            kept.append(row)
        return kept
    finally:
        await pool.close()


def _read(failed: bool, collaboration: str | None, key: str | None, state_dir: Any) -> list[dict[str, Any]]:
    scope = caller_within().rows
    try:
        settings = load_settings()
        return asyncio.run(_rows(_url(settings, state_dir), settings, failed, collaboration, key, scope))
    except (OSError, asyncpg.PostgresError) as err:
        raise CliError(f"cannot read the outbox: {err}") from None


@app.command("list")
def list_deliveries(
    failed: Annotated[bool, typer.Option("--failed", help="Only deliveries given up on")] = False,
    collaboration: Collaboration = None,
    key: Key = None,
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """List deliveries (each notification on each channel) with their status and last error."""
    rows = _read(failed, collaboration, key, state_dir)
    if as_json:
        typer.echo(json.dumps(rows, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))
        return
    table = Table("key", "channel", "status", "attempts", "last error", "updated (UTC)")
    for r in rows:
        when = minute(r["updated_at"], zone=False)  # the header says (UTC)
        channel = r["channel"] or "—"  # unattempted: no channel tried it yet
        cells = [r["key"], channel, r["status"], str(r["attempts"]), r["error"][:80], when]
        table.add_row(*(Text(shown(c)) for c in cells))  # Text: an error is shown as written, never as markup
    console = plain_console()
    console.print(table)
    console.print(f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'}")


@app.command()
def retry(collaboration: Collaboration = None, key: Key = None, state_dir: StateDir = None) -> None:
    """Resend failed deliveries (all, one collaboration's, or one key's), once per channel."""
    rows = _read(True, collaboration, key, state_dir)
    if not rows:
        typer.echo("nothing to resend")
        return
    settings = load_settings()
    results = asyncio.run(_resend(_url(settings, state_dir), settings, rows))
    sent = sum(1 for status in results if status == "sent")
    typer.echo(f"resent {sent} of {len(results)} deliver{'y' if len(results) == 1 else 'ies'}")
    if sent < len(results):
        raise CliError(
            f"{len(results) - sent} still undelivered: see `passerelle notifications list --failed`"
        )


async def _resend(url: str, settings: Settings, rows: list[dict[str, Any]]) -> list[str]:
    from passerelle.platform.worker import build_channels  # the worker's channels, from the same settings

    channels = {c.name: c for c in build_channels(settings)}
    pool = await create_pool(url, max_size=2)
    results: list[str] = []
    try:
        by_key: dict[str, list[str]] = {}
        for r in rows:  # an unattempted notification goes to every configured channel
            by_key.setdefault(r["key"], []).extend([r["channel"]] if r["channel"] else list(channels))
        with Progress(console=plain_console(stderr=True), transient=False) as progress:
            task = progress.add_task("resending", total=sum(len(names) for names in by_key.values()))
            for k, names in by_key.items():
                async with pool.acquire() as conn:
                    for name in names:
                        await conn.execute(REOPEN, k, name)
                outbox = Outbox(pool, [channels[n] for n in names if n in channels], {"*"})
                notification = await outbox.load(k)
                done = {} if notification is None else await outbox.deliver(notification, lambda: True)
                results += [done.get(n, "not configured") for n in names]
                progress.advance(task, len(names))
    finally:
        await pool.close()
    return results


def register(app_: typer.Typer) -> None:
    """Add `passerelle notifications` to the app."""
    app_.add_typer(app, name="notifications")
