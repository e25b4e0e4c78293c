"""The webhook channel: one JSON POST per notification, readable by Slack and Microsoft Teams.

The body is `{"text": ...}` (both chat tools accept it from an incoming webhook), the subject in
bold then the plain-text message. `<`, `>` and `&` are escaped as Slack asks, so a name such as
`<!channel>` can neither ping a whole channel nor forge a link. When `PASSERELLE_WEBHOOK_SECRET`
is set, `X-Passerelle-Signature: sha256=<hex>` carries the HMAC-SHA256 of the exact body bytes, so
a receiver of its own can check who sent it; `Idempotency-Key` lets it drop a duplicate. A planned
step's notification adds its calendar invitation (`activities.calendar`) as text under `ics`: chat tools
read `text`, a receiver of its own can hand `ics` to a calendar.

Errors: an HTTP 4xx answer (bad URL, revoked hook, refused payload) or a redirect is permanent and
recorded, except 408 and 429 which ask to try later; 5xx, timeouts and refused connections are
raised so that Temporal retries with backoff.
"""

import hashlib
import hmac
import json

import httpx

from activities.calendar import invitation
from activities.channels import PermanentDeliveryError, TransientDeliveryError
from activities.channels.config import WebhookSettings
from activities.rendering import Renderer
from schemas import Notification

SIGNATURE_HEADER = "X-Passerelle-Signature"
RETRY_LATER = (408, 429)


def shown_url(url: str) -> str:
    """Return the URL as logs may show it: scheme, host and port only.

    A Slack or Teams incoming webhook URL is its own credential (the path holds the token), so
    the path, query and any user info never leave the channel.
    """
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}/…"


def without_url(text: str, url: str) -> str:
    """Return `text` (a server's answer) with the URL's secret parts cut out.

    A server may echo the path it was called at in its error page; the whole URL, its path and
    query, and each longer piece of the path become `…`.
    """
    parsed = httpx.URL(url)
    secrets = [url, parsed.raw_path.decode(), parsed.path, parsed.query.decode()]
    secrets += [piece for piece in parsed.path.split("/") if len(piece) >= 8]
    for secret in sorted({s for s in secrets if s and s != "/"}, key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def chat_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def signature(secret: str, body: bytes) -> str:
    """Return the signature header value of a body: `sha256=` and the hex HMAC."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """Delivers notifications to a chat incoming webhook (or any HTTP endpoint)."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings, renderer: Renderer) -> None:
        self._settings = settings
        self._renderer = renderer

    def body(self, notification: Notification) -> bytes:
        """Return the JSON body posted for a notification."""
        rendered = self._renderer.render(notification)
        text = f"*{chat_escape(rendered.subject)}*\n\n{chat_escape(rendered.text.strip())}"
        body = {"text": text}
        invite = invitation(notification)
        if invite is not None:
            body["ics"] = invite.text
        return json.dumps(body, ensure_ascii=False).encode()

    async def send(self, notification: Notification) -> str:
        """POST the notification; return the HTTP status and the start of the answer."""
        body = self.body(notification)
        headers = {"Content-Type": "application/json", "Idempotency-Key": notification.key}
        if self._settings.secret:
            headers[SIGNATURE_HEADER] = signature(self._settings.secret, body)
        # One short-lived client per delivery: notifications are rare, and nothing outlives the
        # activity (no pool to close at shutdown, no connection shared across event loops).
        where = shown_url(self._settings.url)
        try:
            async with httpx.AsyncClient(timeout=self._settings.timeout, follow_redirects=False) as client:
                response = await client.post(self._settings.url, content=body, headers=headers)
        except httpx.HTTPError as err:  # timeouts, refused connections: httpx may quote the URL
            raise TransientDeliveryError(f"{type(err).__name__} posting to {where}") from None
        answer = f"HTTP {response.status_code} {without_url(response.text, self._settings.url)[:200]}".strip()
        if 300 <= response.status_code < 500 and response.status_code not in RETRY_LATER:
            raise PermanentDeliveryError(f"{answer} from {where}")
        if response.status_code >= 400:  # 5xx, 408, 429: Temporal retries with backoff
            raise TransientDeliveryError(f"{answer} from {where}")
        return answer
