"""The smtp channel: one multipart e-mail (plain text + HTML) per notification, over SMTP.

A planned step's e-mail carries its calendar invitation (`activities.calendar`) the way calendar
clients take it: a `text/calendar; method=REQUEST` (or `CANCEL`) alternative beside the text and
the HTML, and the same `.ics` as an `invite.ics` attachment.

One message per event, every recipient in `To:` — an introduction is meant to put both parties in
touch, and a reply-all reaches everyone — except when the message carries partner links
(docs/partners.md): a link answers for the party it is sent to, so each party gets a message of
its own, with its own links. A retry after one of them went out sends it again, with the same
`Message-ID`. Its `Message-ID` is derived from the idempotency key, so
the rare duplicate (a crash between the send and its `sent` mark) carries the same id and mail
clients and servers recognise it. Headers are built with `email.policy.SMTP`, which refuses CR/LF
in any header; names are folded onto one line before they get there.

Addresses: an address whose local part is not ASCII (`иван@…`, which the schemas accept) goes with
SMTPUTF8 (RFC 6531: addresses and headers in UTF-8) when the server offers it; a domain that is not
ASCII alone goes in its IDNA form (`xn--…`), which every server reads.

Errors: answers a retry cannot change are permanent and recorded: a 5xx (unknown mailbox, message
refused), a non-ASCII address the server cannot take (no SMTPUTF8), a message that cannot be
written (`activities.rendering` makes template errors permanent too). Anything else (connection
refused, timeout, 4xx "try later", authentication failing until the operator fixes the password)
is raised so that Temporal retries with backoff.
"""

import hashlib
import re
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from activities.calendar import FILENAME, invitation
from activities.channels import PermanentDeliveryError
from activities.channels.config import SmtpSettings
from activities.rendering import PARTY_ROLES, Renderer, one_line
from schemas import Notification, Recipient

# RFC 5322's hard line limit: CPython's folder at 78 columns can put a space on both sides of a
# fold before an encoded word, which readers then show as a double space ("Natixis  × Nabla").
POLICY = SMTP.clone(max_line_length=998)
POLICY_UTF8 = POLICY.clone(utf8=True)  # for a message sent with SMTPUTF8: headers in UTF-8
NO_SMTPUTF8 = "the server does not accept non-ASCII addresses (SMTPUTF8)"
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+\-=?^_`{|}~]+")


def ascii_form(address: str) -> str | None:
    """Return the address as a server without SMTPUTF8 reads it: itself when ASCII, its domain in
    IDNA when only the domain is not, None when its local part is not ASCII."""
    if address.isascii():
        return address
    try:  # the library that accepted the address (pydantic's EmailStr) also knows its ASCII form
        return validate_email(address, check_deliverability=False).ascii_email
    except EmailNotValidError:
        return None


def forms(addresses: list[str]) -> list[str]:
    """Return the addresses as one message carries them: all in ASCII when each has an ASCII form,
    else all as written, and the message needs SMTPUTF8."""
    plain = [ascii_form(address) for address in addresses]
    return [a for a in plain if a is not None] if None not in plain else addresses


def mailbox(name: str, address: str) -> Address:
    """Return a header's mailbox, built from its parts: the standard library refuses to parse a
    non-ASCII local part, but writes one under a UTF-8 policy."""
    local, _, domain = address.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def message_id(key: str, domain: str) -> str:
    """Return the Message-ID of a notification key: readable, stable, valid in any header."""
    readable = ".".join(part for part in _NOT_ATEXT.split(key) if part)[:120]
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]  # keeps ids apart if cleaning merged two keys
    return f"<{readable}.{digest}@{domain}>"


class SmtpChannel:
    """Delivers notifications as e-mail through an SMTP server."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, renderer: Renderer) -> None:
        self._settings = settings
        self._renderer = renderer
        display, address = parseaddr(settings.sender)
        if "@" not in address:
            raise SystemExit(f"PASSERELLE_SMTP_FROM must be an e-mail address, not {settings.sender!r}")
        self._sender_name, self._sender = display, address
        self._domain = address.rsplit("@", 1)[1]

    def messages(self, notification: Notification) -> list[tuple[list[Recipient], EmailMessage]]:
        """Return the e-mails of a notification and who each goes to: one for all, or, when it
        carries partner links, one per party with that party's own links."""
        if not self._renderer.answerable(notification):
            return [(notification.recipients, self.build(notification))]
        return [([r], self.build(notification, r)) for r in notification.recipients]

    def build(self, notification: Notification, only: Recipient | None = None) -> EmailMessage:
        """Return the e-mail of a notification, headers and both bodies (to `only`, when given)."""
        party = only.role if only is not None and only.role in PARTY_ROLES else None
        rendered = self._renderer.render(notification, party=party)
        recipients = notification.recipients if only is None else [only]
        sender, *to = forms([self._sender, *(r.email for r in recipients)])
        message = EmailMessage(policy=POLICY)
        message["From"] = mailbox(self._sender_name, sender)
        message["To"] = [mailbox(r.name, address) for r, address in zip(recipients, to, strict=True)]
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        key = notification.key if only is None else f"{notification.key}/{only.role}"
        if only is not None and only.role == "attendee":  # attendees share a role: one Message-ID each
            key += "/" + hashlib.sha256(only.email.lower().encode()).hexdigest()[:12]
        message["Message-ID"] = message_id(key, self._domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        message["X-Passerelle-Key"] = one_line(notification.key)
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        invite = invitation(notification)
        if invite is not None:
            # What calendar clients look for: the iTIP request as one more alternative (Outlook
            # and Gmail show their accept/decline buttons from it), and the same bytes as a file
            # for any other reader. The message becomes multipart/mixed around the alternatives.
            message.add_alternative(invite.text, subtype="calendar", params={"method": invite.method})
            message.add_attachment(
                invite.ics,
                maintype="application",
                subtype="ics",
                filename=FILENAME,
                params={"name": FILENAME},
            )
        message["Content-Language"] = notification.language  # after the parts: set_content drops Content-*
        return message

    async def send(self, notification: Notification) -> str:
        """Send the e-mail(s); return the server's answers (and any recipient refused).

        A party's message refused for good (5xx) does not keep the other party's from going out:
        the notification fails permanently only when every message did.
        """
        try:
            outgoing = self.messages(notification)
        except (ValueError, MessageError) as err:  # the same notification is written the same way
            raise PermanentDeliveryError(f"the message cannot be written: {err}") from err
        receipts, refused = [], []
        for to, message in outgoing:
            try:
                receipts.append(await self._send(to, message))
            except PermanentDeliveryError as err:
                refused.append(f"{'+'.join(r.role for r in to)}: {err}")
        if refused and not receipts:
            raise PermanentDeliveryError("; ".join(refused))
        return "; ".join([*receipts, *(f"refused {r}" for r in refused)])

    async def _send(self, to: list[Recipient], message: EmailMessage) -> str:
        s = self._settings
        sender, *recipients = forms([self._sender, *(r.email for r in to)])
        utf8 = not all(address.isascii() for address in [sender, *recipients])
        try:
            # Flattened here: aiosmtplib would refold at 78 columns.
            flat = message.as_bytes(policy=POLICY_UTF8 if utf8 else POLICY)
        except (ValueError, MessageError) as err:
            raise PermanentDeliveryError(f"the message cannot be written: {err}") from err
        try:
            refused, answer = await aiosmtplib.send(
                flat,
                sender=sender,
                recipients=recipients,
                mail_options=["SMTPUTF8"] if utf8 else None,  # aiosmtplib checks the server offers it
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPNotSupported as err:
            unsendable = ", ".join(a for a in [sender, *recipients] if not a.isascii())
            raise PermanentDeliveryError(f"{NO_SMTPUTF8}: {unsendable}") from err
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = [r.code for r in err.recipients]
            if all(code >= 500 for code in codes):
                raise PermanentDeliveryError(f"all recipients refused: {err.recipients}") from err
            raise
        except aiosmtplib.SMTPAuthenticationError:
            raise  # configuration, not the message: retried until the operator fixes it
        except aiosmtplib.SMTPResponseException as err:
            if err.code >= 500:
                raise PermanentDeliveryError(f"SMTP {err.code} {err.message}") from err
            raise
        receipt = f"{message['Message-ID']} {answer}"
        if refused:
            receipt += f"; refused: {', '.join(f'{a} ({r.code})' for a, r in refused.items())}"
        return receipt
