"""A partner's link acts only as its own party, on a worker that requires verified actors.

The portal signs that an answer came through one party's link (`passerelle.portal.app`), with a
vouching key registered like the codec server's. The answer from a real e-mail's link is recorded
as verified; an answer for the other party under that statement, an operator's token posing as a
partner, and an answer with no statement at all are refused.
"""

import base64
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment

from activities.links import LinkSigner
from passerelle.devstack.smtpsink import SinkHandler
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Claims, Signer, new_vouching_key
from passerelle.platform.vouching_keys import register
from passerelle.platform.worker import build_worker
from passerelle.portal.app import Portal, build_app
from passerelle.portal.store import LinkStore
from schemas.partners import PartnerAnswer
from tests.integration.mail import sink
from tests.integration.test_portal import ANSWERS, KEYS, Portal_, channel, introduction, status
from tests.workflows.helpers import start

__all__ = ["sink"]  # the fixture, used by name
PORTAL_VOUCHING = Signer(((f"p{uuid.uuid4().hex[:8]}", base64.b64decode(new_vouching_key())),))


@pytest_asyncio.fixture(loop_scope="session")
async def vouching_portal(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings
) -> AsyncIterator[Portal_]:
    assert settings.database_url is not None
    await register(settings.database_url, PORTAL_VOUCHING)
    signer = LinkSigner(KEYS, "http://portal.example", 30)
    portal = Portal(
        dev_env.client,
        LinkStore(pool),
        signer,
        per_address=1000,
        vouching=PORTAL_VOUCHING,
        issuer="http://portal.example",
    )
    async with TestClient(TestServer(build_app(portal)), cookie_jar=DummyCookieJar()) as http:
        yield Portal_(http, "http://portal.example")


async def test_a_partner_link_acts_only_as_its_own_party(
    dev_env: WorkflowEnvironment,
    sink: tuple[SinkHandler, int],
    vouching_portal: Portal_,
    pool: asyncpg.Pool,
    settings: Settings,
    task_queue: str,
    workflow_id: str,
) -> None:
    handler, port = sink
    verified = dataclasses.replace(settings, actors="verified", task_queue=task_queue)
    async with build_worker(dev_env.client, pool, verified, [channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue, language="fr")
        links = await introduction(handler, workflow_id)

        code, html = await vouching_portal.confirm(
            links["startup"]["on_it"], {"note": "Contrat chez le juriste"}
        )
        assert code == 200 and "Merci : votre réponse est enregistrée" in html, html
        [row] = await pool.fetch(ANSWERS, workflow_id)
        details = row["details"] if isinstance(row["details"], dict) else json.loads(row["details"])
        who = details["verified"]
        assert (who["via"], who["party"], who["key"]) == ("portal", "startup", PORTAL_VOUCHING.key_id)
        assert who["link"] == details["link"]

        # The startup's next link, under a statement for the startup, cannot answer for the corporate.
        link = uuid.uuid4().hex
        answer = PartnerAnswer(party="corporate", action="on_it", link=link, answered_seq=1)
        payload = dev_env.client.data_converter.payload_converter.to_payload(answer)
        as_startup = Claims(
            "http://portal.example",
            f"{workflow_id}/startup",
            None,
            via="portal",
            token_id=link,
            party="startup",
        )
        with pytest.raises(WorkflowUpdateFailedError) as other_party:
            await handle.execute_update("partner_answer", RawValue(PORTAL_VOUCHING.seal(payload, as_startup)))
        assert "as its own party" in str(other_party.value.cause)

        # No statement at all: refused, where the worker requires verified actors.
        with pytest.raises(WorkflowUpdateFailedError) as unsigned:
            await handle.execute_update("partner_answer", answer)
        assert "no verified actor" in str(unsigned.value.cause)
        assert len((await status(dev_env.client, workflow_id)).partner_answers) == 1
