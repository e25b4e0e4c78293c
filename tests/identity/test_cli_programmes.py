"""Two programmes, one database: each person's `passerelle` reads and changes their own programme.

The operators' laptops hold `passerelle login`'s tokens and `PASSERELLE_CODEC_URL`, no key, and
the database (the report, the export, the playbooks and the outbox read PostgreSQL only). Each
command asks the codec server who its login is (`/whoami`, a real OpenID provider's tokens) and
keeps the rows of that person's programmes (`passerelle.platform.scope`). The rows are written by
the worker's own statements (`MilestoneActivities.record_events`, `Outbox`), for programmes A and
B of this module's own names:

| startup | programme | corporate |
|---|---|---|
| Alpha | A | Lilly |
| Beta | A | LILLY |
| Gamma | A | Lilly France |
| Delta | A | Natixis |
| Omega | B | Lilly |
| Sigma | B | Orange |
"""

import csv
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from openpyxl import load_workbook

from activities import playbooks as store
from activities.channels.log import LogChannel
from activities.outbox import Outbox
from passerelle.intake.playbooks import read
from passerelle.platform.client import local_codec_for
from passerelle.platform.codec_auth import CodecAuth
from passerelle.platform.codec_server import start_codec_server
from passerelle.platform.identity import ClaimsMapping
from passerelle.platform.oidc_device import save_tokens
from passerelle.platform.settings import Settings
from schemas import Notification, NotificationEvent, Recipient, Stage
from schemas.actors import programme_slug
from tests.e2e.cli import Result, assert_one_line_error, passerelle
from tests.integration.lifecycles import Recorder
from tests.integration.processes import free_port
from tests.oidc.logins import AUDIENCE, device_login, keyless_cli_env, login_settings_for
from tests.oidc.server import oidc_provider
from tests.workflows.test_playbooks import EXAMPLE

TAG = uuid.uuid4().hex[:8]
A, B = f"Iso A {TAG}", f"Iso B {TAG}"
SLUG_A, SLUG_B = programme_slug(A), programme_slug(B)
# startup → (programme, corporate); the names carry the module's tag, so no other test's row is one.
ROWS = {
    f"Alpha {TAG}": (A, "Lilly"),
    f"Beta {TAG}": (A, "LILLY"),
    f"Gamma {TAG}": (A, "Lilly France"),
    f"Delta {TAG}": (A, f"Natixis {TAG}"),
    f"Omega {TAG}": (B, "Lilly"),
    f"Sigma {TAG}": (B, f"Orange {TAG}"),
}
OF_A = [s for s, (p, _) in ROWS.items() if p == A]
OF_B = [s for s, (p, _) in ROWS.items() if p == B]
LILLY_OF_A = [f"Alpha {TAG}", f"Beta {TAG}"]
ACCOUNTS = {
    "opa": {"email": "opa@iso.example", "roles": [f"{SLUG_A}:operator"]},
    "adma": {"email": "adma@iso.example", "roles": [f"{SLUG_A}:admin"]},
    "lilly": {"email": "sponsor@lilly.example", "roles": [f"{SLUG_A}:sponsor"], "organisation": "Lilly"},
    "both": {"email": "both@iso.example", "roles": [f"{SLUG_A}:operator", f"{SLUG_B}:operator"]},
}
T0 = datetime(2025, 3, 3, tzinfo=UTC)


@dataclass
class World:
    env: dict[str, dict[str, str]]  # each person's `passerelle` environment
    workflow_ids: dict[str, str]  # startup → workflow id
    playbooks: dict[str, Path]  # programme → its playbook's file
    folder: Path

    async def run(self, person: str, *args: str) -> Result:
        return await passerelle(self.env[person], *args)


async def _record(pool: asyncpg.Pool) -> dict[str, str]:
    """Record the table's collaborations, each with one notification delivered to the log."""
    ids = {}
    for startup, (programme, corporate) in ROWS.items():
        recorder = Recorder(
            pool,
            programme,
            corporate,
            "health",
            startup={"name": startup, "contact_email": "team@start.example"},
        )
        await recorder.start(T0)
        await recorder.advance(Stage.QUALIFICATION, T0.replace(day=10))
        ids[startup] = recorder.wid
        outbox = Outbox(pool, [LogChannel()], {"*"})
        notification = Notification(
            key=f"{recorder.state.collaboration_id}/iso",
            collaboration_id=recorder.state.collaboration_id,
            workflow_id=recorder.wid,
            event=NotificationEvent.STARTED,
            language="en",
            recipients=[Recipient(name=startup, email="team@start.example", role="startup")],
            context={},
        )
        await outbox.add(notification)
        await outbox.deliver(notification, lambda: True)
    return ids


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(
    pool: asyncpg.Pool, settings: Settings, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    folder: Path = tmp_path_factory.mktemp("programmes")
    ids = await _record(pool)
    playbooks = {}
    for programme in (A, B):
        toml = folder / f"{programme_slug(programme)}.toml"
        toml.write_text(
            EXAMPLE.read_text().replace('programme = "Coalition Next"', f'programme = "{programme}"')
        )
        playbooks[programme] = toml
    b = read(playbooks[B])  # B's playbook, applied by B's own admin
    await store.apply(pool, b.playbook, b.source, "b-admin@iso.example")
    with oidc_provider({"OIDC_ACCOUNTS": json.dumps(ACCOUNTS)}) as provider:
        port = free_port()
        auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience=AUDIENCE)
        runner = await start_codec_server(
            local_codec_for(settings), [], "127.0.0.1", port, auth, mapping=ClaimsMapping()
        )
        base = {k: v for k, v in os.environ.items() if k not in ("PASSERELLE_PROGRAMME", "PASSERELLE_SHARED")}
        envs = {}
        try:
            for person in ACCOUNTS:
                home = folder / person
                login = login_settings_for(provider, home / "config" / "passerelle")
                save_tokens(login.cache_path(), await device_login(provider, person))
                env = keyless_cli_env(base | {"COLUMNS": "200"}, f"http://127.0.0.1:{port}", provider, home)
                envs[person] = env | {"PASSERELLE_DATABASE_URL": postgres_url}
            yield World(envs, ids, playbooks, folder)
        finally:
            await runner.cleanup()


def _text_of_workbook(path: Path) -> str:
    book = load_workbook(path)
    return "\n".join(str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row)


def _summary_of_workbook(path: Path) -> dict[str, object]:
    return {row[0]: row[1] for row in load_workbook(path)["Summary"].iter_rows(min_row=2, values_only=True)}


def _startups_of_csv(text: str) -> list[str]:
    return sorted(row["startup"] for row in csv.DictReader(io.StringIO(text)))


async def test_an_operator_of_a_reports_and_exports_a_alone(world: World) -> None:
    """A's operator: the report counts A's four collaborations (B's two would make six), the
    export's CSV and workbook hold A's names and none of B's, B is refused in one line."""
    report = await world.run("opa", "report", "--format", "json")
    assert report.code == 0, report
    figures = report.json()
    assert (figures["collaborations"], figures["stages"][1]["reached"]) == (4, 4)
    assert [(p["programme"], p["reached_pilot"]) for p in figures["pilot_times"]] == [(A, 0)]
    named = await world.run("opa", "report", "--programme", A, "--format", "json")
    assert named.code == 0 and named.json()["collaborations"] == 4, named
    workbook = world.folder / "opa-report.xlsx"
    written = await world.run("opa", "report", "--format", "xlsx", "--output", str(workbook))
    assert written.code == 0, written
    assert B not in _text_of_workbook(workbook)
    summary = _summary_of_workbook(workbook)
    assert (summary["programme"], summary["corporate"], summary["collaborations"]) == (SLUG_A, "all", 4)

    exported = await world.run("opa", "export", "collaborations", "--format", "csv")
    assert exported.code == 0, exported
    assert _startups_of_csv(exported.out) == sorted(OF_A)
    assert not any(s in exported.out for s in OF_B)
    assert B not in exported.out and f"Orange {TAG}" not in exported.out
    sheet = world.folder / "opa.xlsx"
    assert (await world.run("opa", "export", "collaborations", "--output", str(sheet))).code == 0
    cells = _text_of_workbook(sheet)
    assert all(s in cells for s in OF_A) and not any(s in cells for s in OF_B) and B not in cells

    for refused in (
        await world.run("opa", "--programme", SLUG_B, "report"),
        await world.run("opa", "report", "--programme", B, "--format", "json"),
        await world.run("opa", "export", "collaborations", "--programme", B),
        await world.run("opa", "--programme", SLUG_B, "export", "collaborations"),
    ):
        assert_one_line_error(refused, 1, f"holds no role in programme {SLUG_B}", f"yours: {SLUG_A}")
        assert refused.out == ""
    mixed = await world.run("opa", "--programme", SLUG_A, "report", "--programme", B)
    assert_one_line_error(mixed, 2, "--programme")


async def test_a_sponsor_of_a_exports_their_own_group_of_a_alone(world: World) -> None:
    """A's sponsor at Lilly: Lilly's collaborations of A (however the corporate is cased), not Lilly
    France's, not Natixis's, not Lilly's of B; no notification, no playbook."""
    exported = await world.run("lilly", "export", "collaborations", "--format", "csv")
    assert exported.code == 0, exported
    assert _startups_of_csv(exported.out) == sorted(LILLY_OF_A)
    assert "Lilly France" not in exported.out and f"Natixis {TAG}" not in exported.out
    sheet = world.folder / "lilly.xlsx"
    assert (await world.run("lilly", "export", "collaborations", "--output", str(sheet))).code == 0
    cells = _text_of_workbook(sheet)
    assert all(s in cells for s in LILLY_OF_A)
    assert not any(s in cells for s in ROWS if s not in LILLY_OF_A)

    report = await world.run("lilly", "report", "--format", "json")
    assert report.code == 0 and report.json()["collaborations"] == 2, report
    assert [p["programme"] for p in report.json()["pilot_times"]] == [A]
    workbook = world.folder / "lilly-report.xlsx"
    assert (await world.run("lilly", "report", "--format", "xlsx", "--output", str(workbook))).code == 0
    summary = _summary_of_workbook(workbook)
    assert (summary["programme"], summary["corporate"], summary["collaborations"]) == (SLUG_A, "Lilly", 2)
    assert_one_line_error(await world.run("lilly", "report", "--programme", B), 1, SLUG_B)

    notifications = await world.run("lilly", "notifications", "list", "--json")
    assert notifications.code == 0 and notifications.json() == [], notifications
    listed = await world.run("lilly", "playbook", "list", "--json")
    assert listed.code == 0 and listed.json() == [], listed
    assert_one_line_error(await world.run("lilly", "playbook", "show", B), 1, SLUG_B)
    # Nothing of Temporal: no list of A's collaborations, no status, no steering.
    assert_one_line_error(await world.run("lilly", "list"), 1, f"a sponsor of programme {SLUG_A}")


async def test_the_outbox_of_a_holds_a_notifications_alone(world: World) -> None:
    listed = await world.run("opa", "notifications", "list", "--json")
    assert listed.code == 0, listed
    seen = {row["workflow_id"] for row in listed.json()}
    assert seen == {world.workflow_ids[s] for s in OF_A}
    other = await world.run(
        "opa", "notifications", "list", "--collaboration", world.workflow_ids[OF_B[0]], "--json"
    )
    assert other.code == 0 and other.json() == [], other
    nothing = await world.run("opa", "notifications", "retry", "--key", "x")
    assert nothing.code == 0 and nothing.out.strip() == "nothing to resend", nothing


async def test_playbooks_are_applied_by_their_programmes_admin_and_read_within_roles(world: World) -> None:
    """Only A's admin applies A's playbook; nobody of A applies B's; A's operator lists and shows
    A's, not B's."""
    by_operator = await world.run(
        "opa", "playbook", "apply", str(world.playbooks[A]), "--by", "opa@iso.example"
    )
    assert_one_line_error(by_operator, 1, f"{SLUG_A}:admin")
    by_admin = await world.run(
        "adma", "playbook", "apply", str(world.playbooks[A]), "--by", "adma@iso.example"
    )
    assert by_admin.code == 0 and f"applied {A} v1" in by_admin.out, by_admin
    of_b = await world.run("adma", "playbook", "apply", str(world.playbooks[B]), "--by", "adma@iso.example")
    assert_one_line_error(of_b, 1, f"holds no role in programme {SLUG_B}")

    listed = await world.run("opa", "playbook", "list", "--json")
    assert listed.code == 0, listed
    assert [r["programme"] for r in listed.json()] == [A]
    shown = await world.run("opa", "playbook", "show", A)
    assert shown.code == 0 and f"{A} v1, applied by adma@iso.example" in shown.out, shown
    for refused in (
        await world.run("opa", "playbook", "show", B),
        await world.run("opa", "playbook", "diff", B, "1", "1"),
    ):
        assert_one_line_error(refused, 1, f"holds no role in programme {SLUG_B}")


async def test_a_caller_of_both_programmes_chooses_one(world: World) -> None:
    """No figure adds A and B up for a caller of both: the report asks which; each reads alone."""
    unchosen = await world.run("both", "report", "--format", "json")
    assert_one_line_error(unchosen, 1, "choose one with --programme", SLUG_A, SLUG_B)
    of_b = await world.run("both", "--programme", SLUG_B, "report", "--format", "json")
    assert of_b.code == 0 and of_b.json()["collaborations"] == 2, of_b
    exported = await world.run("both", "export", "collaborations", "--programme", B, "--format", "csv")
    assert exported.code == 0 and _startups_of_csv(exported.out) == sorted(OF_B), exported
    listed = await world.run("both", "playbook", "list", "--json")
    assert listed.code == 0 and {r["programme"] for r in listed.json()} >= {B}, listed
