"""The partner portal's aiohttp app: a signed link opens a page, a confirmed form sends the answer.

`GET /a/<token>` checks the link (signature, the e-mail it came in, expiry, its use, the
collaboration still open) and shows the collaboration with a form; it changes nothing, so a mail
scanner that fetches every link records nothing. `POST /a/<token>` checks the same again, then the
form's CSRF token, claims the link (`passerelle.portal.store`), sends the `partner_answer` update
through the one client factory (encryption included) and shows what was recorded and when. The
workflow's validator has the last word: the portal only ever sends one party's answer to the
collaboration its link names. A link about a planned step names the step too: its page says which,
and a postponement's form asks for the new time (`passerelle.portal.steps`).

Every refusal is a page in the partner's language that says which (forged, expired, used,
closed...) and that nothing was recorded. Every response carries the security headers
(`passerelle.portal.headers`); the one cookie, the CSRF nonce, is set only with a form, `Secure`,
`HttpOnly`, `SameSite=Lax` (a link opened from a webmail is a cross-site navigation: with `Strict`
the cookie would not come back, and each GET would mint a nonce that breaks the forms already
open; `Lax` still keeps it off every cross-site POST). Requests are rate-limited per address and per link.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.links import BadLink, Link, LinkSigner
from passerelle.platform.client import client_in
from passerelle.platform.pressure import execute_update, not_ready
from passerelle.platform.rate_limit import RateLimit
from passerelle.platform.vouching import Claims, Signer
from passerelle.portal import steps
from passerelle.portal.forms import note_label, read_answer
from passerelle.portal.headers import secured
from passerelle.portal.pages import Pages, Refusal
from passerelle.portal.store import Email, LinkStore
from passerelle.portal.texts import PARTY_LABELS, texts
from schemas import CollaborationStatus
from schemas.moments import in_zone, minute
from schemas.partners import MAX_PAUSE_DAYS, PARTNER_NOTE_MAX, PartnerAnswer
from schemas.steps import CALENDAR_ZONE

log = structlog.get_logger()

CSRF_COOKIE = "passerelle_csrf"
MAX_BODY = 16 * 1024  # a note of 1,000 characters and a date, with room to spare
PER_ADDRESS_PER_MINUTE = 30
PER_LINK_PER_MINUTE = 10
# A partner waits this long at most while Temporal asks to try again (`passerelle.platform.pressure`).
PORTAL_DEADLINE = 30.0
STYLESHEET = files("passerelle.portal").joinpath("templates/portal.css").read_bytes()
# How the workflow's refusals read in the portal (`workflows.domain.rules`); any other is `other`.
REFUSAL_PAGES = {
    "CollaborationClosed": "closed",
    "AlreadyPaused": "paused",
    "LinkUsed": "answered",
    "UnknownStep": "step",  # the step was marked held or cancelled since the e-mail
}


@dataclass
class Opened:
    """A link that passed every check of a GET: what the page needs."""

    token: str
    link: Link
    email: Email
    status: CollaborationStatus


def _language(request: web.Request) -> str:
    accepted = request.headers.get("Accept-Language", "").split(",")[0].strip().lower()
    return "fr" if accepted.startswith("fr") else "en"


class Portal:
    """The portal's handlers, over the link store, the link signer and a Temporal client."""

    def __init__(
        self,
        client: Client,
        store: LinkStore,
        signer: LinkSigner,
        per_address: int = PER_ADDRESS_PER_MINUTE,
        per_link: int = PER_LINK_PER_MINUTE,
        vouching: Signer | None = None,
        issuer: str = "passerelle-portal",
    ) -> None:
        self._client = client
        self._vouching = vouching  # signs that an answer came through its party's own link
        self._issuer = issuer
        self._store = store
        self._signer = signer
        self._per_address = RateLimit(per_address)
        self._per_link = RateLimit(per_link)
        self._csrf_key = signer.derive(b"passerelle portal csrf")
        self._pages = Pages()

    def page(self, template: str, language: str, code: int = 200, **values: Any) -> web.Response:
        """Render a page of the portal in `language`."""
        return self._pages.page(template, language, code, **values)

    def refusal_page(self, refusal: Refusal, status: CollaborationStatus | None = None) -> web.Response:
        """Render the page that says why nothing was recorded."""
        return self._pages.refusal(refusal, status, self._signer.lifetime.days)

    # -- the checks a GET and a POST share --

    async def open(self, request: web.Request) -> Opened:
        """Return the link of the request once every check passed, or raise Refusal."""
        token = request.match_info["token"]
        language = _language(request)
        if not self._per_address.allow(request.remote or "?"):
            raise Refusal("rate", 429, language)
        if not self._per_link.allow(hashlib.sha256(token.encode()).hexdigest()):
            raise Refusal("rate", 429, language)
        try:
            link = self._signer.verify(token)
        except BadLink as err:
            log.info("portal link refused", why=str(err))
            raise Refusal("forged", 400, language) from None
        email = await self._store.email(link)
        if email is None:  # signed by us, yet no such e-mail: a key is in the wrong hands
            log.warning("portal link of no e-mail", link=link.id)
            raise Refusal("forged", 400, language)
        language = email.language
        if link.expired(datetime.now(UTC)):
            raise Refusal("expired", 410, language)
        used = await self._store.used_at(link)
        if used is not None:
            raise Refusal("used", 409, language, at=minute(used))
        status = await self._status(email, language)
        if status.outcome is not None:
            raise Refusal("closed", 410, language)
        return Opened(token, link, email, status)

    async def _status(self, email: Email, language: str) -> CollaborationStatus:
        handle = client_in(self._client, email.namespace or self._client.namespace).get_workflow_handle(
            email.workflow_id
        )
        try:
            status: CollaborationStatus = await handle.query("status", result_type=CollaborationStatus)
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:  # its history is past retention
                raise Refusal("closed", 410, language) from None
            log.warning("portal cannot reach Temporal", error=str(err))
            raise Refusal("unavailable", 503, language) from None
        return status

    # -- the form --

    def _csrf(self, nonce: str, link: Link) -> str:
        return hmac.new(self._csrf_key, f"{nonce}.{link.id}".encode(), hashlib.sha256).hexdigest()

    def form(
        self,
        opened: Opened,
        nonce: str,
        errors: list[str] = (),  # type: ignore[assignment]
        note: str = "",
        until: str = "",
        at: str = "",
        code: int = 200,
    ) -> web.Response:
        link, language = opened.link, opened.email.language
        t = texts(language)
        action = link.action.value
        names = {"startup": opened.status.startup, "corporate": opened.status.corporate}
        now = datetime.now(UTC)
        today, (first_at, last_at) = now.date(), steps.bounds(now)
        label = note_label(t, action)
        response = self.page(
            "form.html.j2",
            language,
            code,
            action=action,
            action_url=f"/a/{opened.token}",
            party_line=t["for"].format(
                party=PARTY_LABELS[language][link.party].format(name=names[link.party])
            ),
            status=opened.status,
            programme=opened.status.programme,
            about=steps.about(t, link, opened.email),
            explain=t[f"explain.{action}"].format(max_days=MAX_PAUSE_DAYS),
            errors=list(errors),
            csrf=self._csrf(nonce, link),
            note=note,
            note_label=label,
            note_required=action in ("need_help", "stopped"),
            note_max=PARTNER_NOTE_MAX,
            until=until,
            min_date=(today + timedelta(days=1)).isoformat(),
            max_date=(today + timedelta(days=MAX_PAUSE_DAYS)).isoformat(),
            at=at,
            min_at=steps.field_value(first_at),
            max_at=steps.field_value(last_at),
            small=t["small"].format(expires=minute(link.expires)),
        )
        response.set_cookie(
            CSRF_COOKIE, nonce, secure=True, httponly=True, samesite="Lax", path="/a/", max_age=3600
        )
        return response

    # -- handlers --

    async def show(self, request: web.Request) -> web.StreamResponse:
        """GET: the collaboration and the form; nothing changes."""
        try:
            opened = await self.open(request)
        except Refusal as refusal:
            return self.refusal_page(refusal)
        return self.form(opened, request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(16))

    async def answer(self, request: web.Request) -> web.StreamResponse:
        """POST: check the form, claim the link, send the answer, show what was recorded."""
        try:
            opened = await self.open(request)
        except Refusal as refusal:
            return self.refusal_page(refusal)
        link, email = opened.link, opened.email
        form = await request.post()
        nonce = request.cookies.get(CSRF_COOKIE, "")
        given = str(form.get("csrf", "")).encode()
        if not nonce or not hmac.compare_digest(given, self._csrf(nonce, link).encode()):
            return self.refusal_page(Refusal("csrf", 403, email.language), opened.status)
        answer, errors = read_answer(opened.link, form, opened.email.language)
        early = (
            steps.too_early(texts(email.language), opened.status, answer, datetime.now(UTC)) if answer else ""
        )
        if answer is None or early:
            typed = {name: str(form.get(name, "")) for name in ("note", "until", "at")}
            return self.form(opened, nonce, [*errors, early] if early else errors, **typed, code=400)
        if not await self._store.claim(link):
            return self.refusal_page(Refusal("busy", 409, email.language), opened.status)
        try:
            status = await self._send(email, answer)
        except Refusal as refusal:
            if refusal.code == "answered":  # the workflow holds it already: spend it here too
                await self._store.mark_used(link, None)
            else:
                await self._store.release(link)
            return self.refusal_page(refusal, opened.status)
        except Exception as err:  # nothing was recorded: say so, in the partner's words
            await self._store.release(link)
            log.warning("partner answer not sent", link=link.id, error=type(err).__name__)
            return self.refusal_page(Refusal("unavailable", 503, email.language), opened.status)
        # Its entry: the party's latest answer, unless the same party answered again meanwhile.
        seen = next((a for a in status.partner_answers if a.link == link.id), None)
        seq, at = (seen.seq, seen.at) if seen else (status.entries, datetime.now(UTC))
        try:
            await self._store.mark_used(link, seq)
        except Exception as err:  # recorded all the same: the workflow's backstop refuses it again
            log.warning("partner link not marked used", link=link.id, error=type(err).__name__)
        log.info("partner answer recorded", link=link.id, action=answer.action.value, seq=seq)
        t = texts(email.language)
        until = minute(status.snoozed_until) if status.snoozed_until else ""
        moved = in_zone(answer.at, CALENDAR_ZONE) if answer.at else ""
        return self.page(
            "done.html.j2",
            email.language,
            status=status,
            programme=status.programme,
            when=t["done.when"].format(at=minute(at), seq=seq),
            what=t[f"done.{answer.action.value}"].format(until=until, at=moved),
            about=steps.about(t, link, email),
        )

    def _vouched(self, email: Email, answer: PartnerAnswer) -> PartnerAnswer | RawValue:
        """Return the answer with a statement that its party's link sent it: a worker that
        requires verified actors accepts a partner's answer only with one (docs/identity.md)."""
        if self._vouching is None:
            return answer
        payload = self._client.data_converter.payload_converter.to_payload(answer)
        claims = Claims(
            issuer=self._issuer,
            subject=f"{email.workflow_id}/{answer.party}",
            email=None,
            via="portal",
            token_id=answer.link,
            party=answer.party,
        )
        return RawValue(self._vouching.seal(payload, claims))

    async def _send(self, email: Email, answer: PartnerAnswer) -> CollaborationStatus:
        handle = client_in(self._client, email.namespace or self._client.namespace).get_workflow_handle(
            email.workflow_id
        )
        try:
            status: CollaborationStatus = await execute_update(
                handle,
                "partner_answer",
                self._vouched(email, answer),
                id=f"portal-{answer.link}",
                result_type=CollaborationStatus,
                deadline=PORTAL_DEADLINE,
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            kind = cause.type if isinstance(cause, ApplicationError) else None
            code = REFUSAL_PAGES.get(kind or "", "other")
            reason = str(cause) if kind else ""
            log.info("partner answer refused", link=answer.link, refusal=kind)
            raise Refusal(code, 409, email.language, reason=reason, at="") from None
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) and not not_ready(
                err
            ):
                raise Refusal("closed", 410, email.language) from None  # ended since the page opened
            log.warning("portal cannot reach Temporal", error=str(err))
            raise Refusal("unavailable", 503, email.language) from None
        return status


async def _stylesheet(request: web.Request) -> web.StreamResponse:
    return web.Response(body=STYLESHEET, content_type="text/css", headers={"Cache-Control": "max-age=3600"})


async def _health(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok\n", content_type="text/plain")


def build_app(portal: Portal, proxies: Sequence[Middleware] = ()) -> web.Application:
    """Return the portal's aiohttp app; `proxies` (a proxy's forwarded-address middleware) run
    inside the security headers' middleware."""
    app = web.Application(middlewares=[secured(proxies)], client_max_size=MAX_BODY)
    app.router.add_get("/a/{token}", portal.show)
    app.router.add_post("/a/{token}", portal.answer)
    app.router.add_get("/portal.css", _stylesheet)
    app.router.add_get("/healthz", _health)
    return app
