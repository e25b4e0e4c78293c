"""A verified action from the real Temporal Web UI, signed in as the UI's own login leaves it.

The set-up of a deployment, every piece real: an OpenID provider (tests/oidc) logs Anne in with
the device flow; a codec server that requires her bearer token, checks it against the provider's
JWKS and vouches with a test vouching key; a worker that requires verified actors; and the Web UI
of `temporal server start-dev` (UI 2.54), its codec endpoint given with `--ui-codec-endpoint`.

How the token reaches the codec server, and why this is what `TEMPORAL_CODEC_PASS_ACCESS_TOKEN`
does behind the UI's login: no header is added by the test. The UI's own code adds it: when the
settings it reads from its server say `Codec.PassAccessToken` and the endpoint is `https://`, it sends
`Authorization: Bearer <the signed-in user's access token>` (and the ID token as
`Authorization-Extras`) on every `/encode` and `/decode`. The dev server has no login and no flag
for that setting, so the test supplies the two things a UI server with a login would:
- the settings: `/api/v1/settings` is answered as the UI server answers it, with
  `Codec.PassAccessToken` true, which is all `TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true` changes;
- the login: after its OIDC callback the UI server hands the user to the page in `user0` cookies
  (base64 JSON of the access token, ID token, name and e-mail), which the page moves into its `AuthUser` store at start. The test sets that cookie with the
  tokens of a device-flow login at the same provider: the codec server checks issuer, audience,
  expiry and signature, the same for a token of the UI's client as for the CLI's.
The UI sends the token to `https://` endpoints only, so the codec server is served over TLS here,
as behind a deployment's reverse proxy (a certificate made for the test; the browser context
ignores that it is self-signed). The browser's CORS preflight reaches the codec server, which
must allow the UI's origin and the headers the UI sends.

With PASSERELLE_DOCS_SCREENSHOTS=docs/images the screenshot lands in the docs (docs/identity.md
shows it); otherwise in a temporary folder.
"""

import base64
import dataclasses
import datetime
import ipaddress
import json
import os
import re
import ssl
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.async_api import Page, Request, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from activities.channels.log import LogChannel
from passerelle.devstack.servers import find_binary
from passerelle.platform.client import codec_for, converter_for
from passerelle.platform.codec_auth import CodecAuth, allowed_hosts
from passerelle.platform.codec_server import Vouching, build_app
from passerelle.platform.identity import ClaimsMapping
from passerelle.platform.oidc_device import Tokens
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Signer, new_vouching_key
from passerelle.platform.vouching_keys import register
from passerelle.platform.worker import build_worker
from schemas.actors import programme_slug
from tests.e2e.browser import CHROMIUM_ARGS, WAIT_MS, chromium_path, free_port
from tests.oidc.server import Provider, oidc_provider
from tests.oidc.test_device_flow import login
from tests.workflows.helpers import start
from workflows import search_attributes

pytestmark = pytest.mark.e2e
TAG = uuid.uuid4().hex[:8]
PROGRAMME = f"Coalition Next {TAG}"
SLUG = programme_slug(PROGRAMME)
ANNE = f"anne.{TAG}@coalition-next.example"
ACCOUNTS = {"anne": {"email": ANNE, "roles": [f"{SLUG}:operator"]}}
VOUCHING = Signer(((f"ui{TAG}", base64.b64decode(new_vouching_key())),))
REFUSAL = "by: not the address of your login"


def shots() -> Path:
    folder = os.environ.get("PASSERELLE_DOCS_SCREENSHOTS")
    return Path(folder) if folder else Path(tempfile.mkdtemp(prefix="passerelle-verified-ui-"))


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider({"OIDC_ACCOUNTS": json.dumps(ACCOUNTS)}) as running:
        yield running


def tls_for_loopback(folder: Path) -> ssl.SSLContext:
    """Return a server context with a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@asynccontextmanager
async def codec_over_tls(
    settings: Settings, provider: Provider, ui_origin: str, port: int
) -> AsyncIterator[str]:
    """Serve the codec server's own app (token required, vouching) over TLS; yield its URL."""
    assert settings.database_url is not None
    await register(settings.database_url, VOUCHING)
    auth = CodecAuth(jwks_url=provider.jwks_url, issuer=provider.issuer, audience="passerelle")
    app = build_app(
        codec_for(settings),
        [ui_origin],
        auth,
        allowed_hosts(auth, "127.0.0.1", port),
        vouching=Vouching(VOUCHING, ClaimsMapping()),
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls_for_loopback(Path(tempfile.mkdtemp())))
    await site.start()
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def user_cookie(access_token: str, id_token: str | None, email: str) -> str:
    """The `user0` cookie the UI server sets after its OIDC callback (`auth.SetUser`)."""
    user = {"AccessToken": access_token, "IDToken": id_token or "", "Name": "anne", "Email": email}
    return base64.b64encode(json.dumps(user).encode()).decode()


async def as_behind_a_login(page: Page) -> None:
    """Answer the UI's settings as its server does with a login and
    TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true: `Auth.Enabled` (else the page forgets its user) and
    `Codec.PassAccessToken`. Through CDP, for that one URL: a Playwright route would make
    Playwright answer every CORS preflight itself, and the codec server's own must be tested."""
    cdp = await page.context.new_cdp_session(page)

    async def rewrite(event: dict[str, Any]) -> None:
        answer = await cdp.send("Fetch.getResponseBody", {"requestId": event["requestId"]})
        raw = base64.b64decode(answer["body"]) if answer["base64Encoded"] else answer["body"].encode()
        settings = json.loads(raw)
        settings["Auth"]["Enabled"] = True
        settings["Codec"]["PassAccessToken"] = True
        headers = [h for h in event["responseHeaders"] if h["name"].lower() != "content-length"]
        await cdp.send(
            "Fetch.fulfillRequest",
            {
                "requestId": event["requestId"],
                "responseCode": event["responseStatusCode"],
                "responseHeaders": headers,
                "body": base64.b64encode(json.dumps(settings).encode()).decode(),
            },
        )

    cdp.on("Fetch.requestPaused", rewrite)
    pattern = {"urlPattern": "*/api/v1/settings*", "requestStage": "Response"}
    await cdp.send("Fetch.enable", {"patterns": [pattern]})


async def send_update(page: Page, name: str, payload: dict[str, Any]) -> None:
    """Open Send an Update, choose `name`, paste `payload` and submit (as tests/e2e/test_web_ui.py)."""
    await page.get_by_role("button", name="More Actions").click()
    await page.get_by_role("menuitem", name="Send an Update").click()
    dialog = page.get_by_role("dialog", name="Send an Update")
    await dialog.get_by_test_id("update-select-button").click()
    option = page.get_by_role("option").filter(has_text=re.compile(rf"^\s*{re.escape(name)}(\s|$)"))
    await option.first.click()
    await dialog.locator(".cm-content").click()
    await page.keyboard.press("Control+A")  # the dialog keeps the last update's Data: replace it
    await page.keyboard.insert_text(json.dumps(payload))
    await dialog.locator("#update-id").click()  # leave the editor: it re-formats, then Submit stays put
    await page.wait_for_timeout(300)
    await dialog.get_by_role("button", name="Submit").click()


async def milestones(pool: asyncpg.Pool, workflow_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT actor, details->'verified'->>'subject' AS subject, details->'verified'->>'email' AS email"
        " FROM milestones WHERE workflow_id = $1 AND kind = 'milestone' ORDER BY seq",
        workflow_id,
    )


async def test_an_operator_signed_in_to_the_web_ui_records_a_verified_milestone_and_cannot_forge_by(
    provider: Provider, settings: Settings, pool: asyncpg.Pool, task_queue: str
) -> None:
    executable = chromium_path()
    ui_port, codec_port = free_port(), free_port()
    ui_origin = f"http://127.0.0.1:{ui_port}"
    async with httpx.AsyncClient() as http:
        tokens, _ = await login(provider, "anne", http)
    async with codec_over_tls(settings, provider, ui_origin, codec_port) as codec_url:
        env = await WorkflowEnvironment.start_local(
            data_converter=converter_for(settings),
            dev_server_existing_path=find_binary("temporal"),
            search_attributes=search_attributes.ALL,
            ui=True,
            ui_port=ui_port,
            dev_server_extra_args=["--ui-codec-endpoint", codec_url, "--ui-disable-news-fetch"],
        )
        try:
            verified = dataclasses.replace(settings, actors="verified", task_queue=task_queue)
            async with build_worker(env.client, pool, verified, [LogChannel()]):
                workflow_id = f"collab-verified-ui-{TAG}"
                await start(env.client, workflow_id, task_queue, programme=PROGRAMME)
                await drive_the_ui(executable, ui_origin, codec_url, tokens, workflow_id, pool)
        finally:
            await env.shutdown()


async def drive_the_ui(
    executable: str, ui_origin: str, codec_url: str, tokens: Tokens, workflow_id: str, pool: asyncpg.Pool
) -> None:
    expect.set_options(timeout=WAIT_MS)
    sent: list[tuple[str, str | None]] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1400, "height": 1100}, ignore_https_errors=True
            )
            context.set_default_timeout(WAIT_MS)
            await context.add_cookies(
                [
                    {
                        "name": "user0",
                        "value": user_cookie(tokens.access_token, tokens.id_token, ANNE),
                        "url": ui_origin,
                    }
                ]
            )
            page = await context.new_page()
            await as_behind_a_login(page)

            async def note(request: Request) -> None:
                if request.url.startswith(codec_url) and request.method == "POST":
                    sent.append((request.url, (await request.all_headers()).get("authorization")))

            page.on("request", note)
            try:
                await page.goto(f"{ui_origin}/namespaces/default/workflows/{workflow_id}")
                await send_update(page, "record_milestone", {"kind": "NDA signed"})
                dialog = page.get_by_role("dialog", name="Send an Update")
                await expect(dialog).to_be_hidden()

                await send_update(page, "record_milestone", {"kind": "x", "by": "someone.else@example.com"})
                await expect(dialog.get_by_text(re.compile(re.escape(REFUSAL)))).to_be_visible()
                await dialog.screenshot(path=str(shots() / "web-ui-verified-refusal.png"))
            except BaseException:
                folder = Path(tempfile.mkdtemp(prefix="passerelle-ui-failure-"))
                await page.screenshot(path=str(folder / "verified.png"), full_page=True)
                print(f"\nscreenshot of the failure: {folder / 'verified.png'} (page {page.url})")
                raise
        finally:
            await browser.close()

    encodes = [auth for url, auth in sent if url.startswith(f"{codec_url}/encode")]
    assert encodes and all(auth == f"Bearer {tokens.access_token}" for auth in encodes), sent
    recorded = await milestones(pool, workflow_id)
    assert [(r["actor"], r["subject"], r["email"]) for r in recorded] == [(ANNE, "anne", ANNE)], recorded
