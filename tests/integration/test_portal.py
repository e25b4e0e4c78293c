"""The partner portal on a real Temporal (encrypted) and PostgreSQL, links from real e-mails.

The introduction e-mail of a collaboration reaches a real SMTP sink, one message per party with
that party's links; the test opens them as a partner's browser would (GET, then the form's POST
with its cookie) and checks what the workflow recorded, and that nothing else changes anything:
a GET, a form without its CSRF token, a forged, expired or used link, a closed collaboration, a
pause the programme already made, too many requests.
"""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiohttp import ClientResponse, DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.channels import PermanentDeliveryError
from activities.channels.smtp import SmtpChannel, SmtpSettings
from activities.links import LinkSigner
from activities.rendering import Renderer
from passerelle.devstack.smtpsink import ReceivedMail, SinkHandler
from passerelle.platform.codec import new_key
from passerelle.platform.keys import parse_keys
from passerelle.portal.app import Portal, build_app
from passerelle.portal.store import LinkStore
from schemas import Closure, CollaborationStatus, NotificationEvent, Outcome, PauseRequest, ResumeRequest
from tests.audit_cli import passerelle
from tests.conftest import WorkerFactory
from tests.e2e.cli import eventually
from tests.integration.mail import sink
from tests.unit.test_partner_links import answerable
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

__all__ = ["sink"]  # the fixture, used by name
KEYS = parse_keys(f"portal:{new_key()}")
LINK = re.compile(r"https?://[^\s\"<>]+/a/[^\s\"<>]+")
ANSWERS = (
    "SELECT actor, details FROM milestones WHERE workflow_id = $1 AND kind = 'partner_update' ORDER BY seq"
)


@dataclass
class Portal_:
    """The portal under test and what it answers with."""

    http: TestClient[Any, Any]
    base: str

    async def get(self, url: str, **headers: str) -> tuple[ClientResponse, str]:
        response = await self.http.get(self.path(url), headers=headers)
        return response, unescape(await response.text())

    async def confirm(self, url: str, form: dict[str, str] | None = None, **headers: str) -> tuple[int, str]:
        """Open the link, then post its form back with the cookie, as a browser does."""
        page, html = await self.get(url, **headers)
        assert page.status == 200, html
        cookie = page.cookies["passerelle_csrf"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf is not None, html
        response = await self.http.post(
            self.path(url),
            data={"csrf": csrf.group(1), **(form or {})},
            headers={"Cookie": f"passerelle_csrf={cookie.value}", **headers},
        )
        return response.status, unescape(await response.text())

    def path(self, url: str) -> str:
        assert url.startswith(self.base), url
        return url.removeprefix(self.base)


@pytest_asyncio.fixture(loop_scope="session")
async def portal(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[Portal_]:
    signer = LinkSigner(KEYS, "http://portal.example", 30)
    # One address sends every request of the test: its own limit is the next test's.
    server = TestServer(build_app(Portal(dev_env.client, LinkStore(pool), signer, per_address=1000)))
    async with TestClient(server, cookie_jar=DummyCookieJar()) as http:
        yield Portal_(http, "http://portal.example")


def channel(port: int) -> SmtpChannel:
    settings = SmtpSettings("127.0.0.1", port, "none", None, sender="Programme <noreply@programme.example>")
    return SmtpChannel(
        settings, Renderer("http://ui.example", "default", LinkSigner(KEYS, "http://portal.example", 30))
    )


def links_in(mail: ReceivedMail) -> dict[str, str]:
    """Return the mail's partner links by action, from its plain text, as a reader would click."""
    found = LINK.findall(mail.body("plain"))
    assert len(found) == 4, mail.body("plain")
    return dict(zip(("on_it", "need_help", "pause", "stopped"), found, strict=True))


async def introduction(handler: SinkHandler, workflow_id: str) -> dict[str, dict[str, str]]:
    """Wait for the introduction's two messages; return each party's links."""

    async def two() -> list[ReceivedMail]:
        mails = [m for m in handler.received if workflow_id in m.body("plain")]
        assert len(mails) == 2
        return mails

    mails = await eventually(two)
    by_address = {m.rcpt_tos[0]: links_in(m) for m in mails}
    return {
        "startup": by_address["partners@nabla.example"],
        "corporate": by_address["innovation@natixis.example"],
    }


async def status(client: Client, workflow_id: str) -> CollaborationStatus:
    return await client.get_workflow_handle(workflow_id).query(CollaborationWorkflow.status)


async def test_a_partner_answers_once_and_nothing_else_changes_anything(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    portal: Portal_,
    pool: asyncpg.Pool,
    postgres_url: str,
    task_queue: str,
    workflow_id: str,
) -> None:
    handler, port = sink
    async with run_worker(dev_env.client, channels=[channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue, language="fr")
        links = await introduction(handler, workflow_id)
        assert links["startup"] != links["corporate"]

        # A mail scanner fetches every link: nothing changes.
        for url in [*links["startup"].values(), *links["corporate"].values()]:
            response, html = await portal.get(url)
            assert response.status == 200 and "Natixis × Nabla" in html and "Confirmer" in html
        response, html = await portal.get(links["startup"]["on_it"])
        assert "Vous répondez pour la start-up Nabla" in html and '<html lang="fr">' in html
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        cookie = response.headers["Set-Cookie"]
        assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax"))
        assert (await status(dev_env.client, workflow_id)).partner_answers == []

        # A form posted without its CSRF token, or with another's, records nothing.
        url = portal.path(links["startup"]["on_it"])
        for form, cookie_header in (({}, ""), ({"csrf": "0" * 64}, f"passerelle_csrf={'x' * 22}")):
            posted = await portal.http.post(
                url, data=form, headers={"Cookie": cookie_header} if cookie_header else {}
            )
            assert posted.status == 403 and "Ce formulaire a expiré" in await posted.text()
        assert (await status(dev_env.client, workflow_id)).partner_answers == []

        # One click, one confirmation: recorded, and the page says what and when.
        code, html = await portal.confirm(
            links["startup"]["on_it"], {"note": "Le contrat part chez le juriste"}
        )
        assert code == 200 and "Merci : votre réponse est enregistrée" in html and "entrée n° " in html
        [answer] = (await status(dev_env.client, workflow_id)).partner_answers
        assert (answer.party, answer.action, answer.note) == (
            "startup",
            "on_it",
            "Le contrat part chez le juriste",
        )

        # The same link again, by GET or POST: already used, nothing more.
        response, html = await portal.get(links["startup"]["on_it"])
        assert response.status == 409 and "Ce lien a déjà servi" in html
        posted = await portal.http.post(url, data={"csrf": "x"})
        assert posted.status == 409

        # A forged or altered link: refused in the reader's language.
        altered = links["startup"]["need_help"].replace("need_help", "stopped")
        response, html = await portal.get(altered, **{"Accept-Language": "en-GB,en;q=0.8"})
        assert response.status == 400 and "This link is not valid" in html
        response, html = await portal.get(portal.base + "/a/p1.forged", **{"Accept-Language": "fr-FR"})
        assert response.status == 400 and "Ce lien n'est pas valide" in html

        # An expired link (genuine, sent with the introduction, its 30 days gone).
        collaboration_id = (await status(dev_env.client, workflow_id)).collaboration_id
        expired = LinkSigner(KEYS, portal.base, days=30).links(
            collaboration_id,
            "startup",
            1,
            datetime.now(UTC) - timedelta(days=31),
        )["on_it"]
        response, html = await portal.get(expired)
        assert response.status == 410 and "Ce lien a expiré" in html

        # A pause too long names the field; within 60 days it is recorded.
        too_far = (datetime.now(UTC).date() + timedelta(days=61)).isoformat()
        code, html = await portal.confirm(links["corporate"]["pause"], {"until": too_far})
        assert code == 400 and "En pause jusqu'au : choisissez une date entre" in html
        code, html = await portal.confirm(links["corporate"]["need_help"], {"note": ""})
        assert code == 400 and "quelques mots" in html
        assert len((await status(dev_env.client, workflow_id)).partner_answers) == 1

        # The programme paused it: a partner's pause is refused and the link stays usable.
        await handle.execute_update(CollaborationWorkflow.pause, PauseRequest(by="ops", reason="été"))
        soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
        code, html = await portal.confirm(links["corporate"]["pause"], {"until": soon})
        assert code == 409 and "déjà mis cette collaboration en pause" in html
        await handle.execute_update(CollaborationWorkflow.resume, ResumeRequest(by="ops"))
        code, html = await portal.confirm(links["corporate"]["pause"], {"until": soon})
        assert code == 200 and "Aucune relance avant le" in html

        # Too many requests on one link: 429, and it changes nothing.
        codes = [(await portal.get(links["corporate"]["stopped"]))[0].status for _ in range(12)]
        assert codes[-1] == 429 and 200 in codes

        # A closed collaboration: its links say so.
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by="ops", reason="fin")
        )
        response, html = await portal.get(links["startup"]["need_help"])
        assert response.status == 410 and "Cette collaboration est terminée" in html
        await handle.result()

    rows = await pool.fetch(ANSWERS, workflow_id)
    assert [(r["actor"], r["details"]["action"]) for r in rows] == [
        ("partner:startup", "on_it"),
        ("partner:corporate", "pause"),
    ]
    used = await pool.fetch(
        "SELECT action, used_at IS NOT NULL AS used, claimed_at FROM portal_links "
        "WHERE collaboration_id = $1 ORDER BY action",
        collaboration_id,
    )
    assert [(u["action"], u["used"]) for u in used] == [("on_it", True), ("pause", True)]
    # The auditor's record: each answer in the timeline, and Postgres tells the same story.
    timeline = passerelle(dev_env.client, "audit", "timeline", workflow_id)
    assert timeline.returncode == 0, timeline
    assert "partner answer: on_it" in timeline.stdout and "from partners@nabla.example" in timeline.stdout
    verified = passerelle(dev_env.client, "audit", "verify", workflow_id, database_url=postgres_url)
    assert verified.returncode == 0 and "all in Postgres once" in verified.stdout, verified


async def test_an_english_collaboration_speaks_english(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    portal: Portal_,
    task_queue: str,
    workflow_id: str,
) -> None:
    handler, port = sink
    async with run_worker(dev_env.client, channels=[channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue, language="en")
        links = await introduction(handler, workflow_id)
        response, html = await portal.get(links["corporate"]["stopped"], **{"Accept-Language": "fr"})
        assert response.status == 200 and "You are answering for the corporate Natixis" in html
        assert "Why did it stop? (required)" in html
        code, html = await portal.confirm(links["corporate"]["stopped"], {"note": "Budget frozen"})
        assert code == 200 and "The programme will confirm the end of the collaboration." in html
        current = await status(dev_env.client, workflow_id)
        assert current.withdrawal is not None and current.withdrawal.reason == "Budget frozen"
        assert current.outcome is None
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.ABANDONED, by="ops", reason="confirmed")
        )
        await handle.result()


async def test_one_address_gets_a_bounded_number_of_tries(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """Guessing links from one address is cut off after the per-address budget, whatever the link."""
    signer = LinkSigner(KEYS, "http://portal.example", 30)
    app = build_app(Portal(dev_env.client, LinkStore(pool), signer, per_address=5))
    async with TestClient(TestServer(app), cookie_jar=DummyCookieJar()) as http:
        codes = [(await http.get(f"/a/p1.portal.guess{n}")).status for n in range(7)]
    assert codes == [400] * 5 + [429] * 2


async def test_one_party_refused_for_good_does_not_stop_the_other(sink: tuple[SinkHandler, int]) -> None:
    """Per-party messages: a mailbox that does not exist (550) leaves the other party's reminder
    going out; only when both are refused does the delivery fail for good."""
    handler, port = sink
    handler.refuse = {"partners@nabla.example"}
    receipt = await channel(port).send(answerable(NotificationEvent.REMINDER))
    assert [m.rcpt_tos for m in handler.received] == [["innovation@natixis.example"]]
    assert "refused startup: " in receipt
    handler.refuse.add("innovation@natixis.example")
    with pytest.raises(PermanentDeliveryError, match=r"corporate: .*startup: "):
        await channel(port).send(answerable(NotificationEvent.REMINDER))
