"""A local SMTP sink (aiosmtpd): accepts every e-mail on loopback and keeps it, delivers nothing.

`passerelle dev --smtp-sink` runs one beside the stack, prints each mail it receives and keeps it
as a `.eml` file in the state folder's `mail/` (any mail client opens it), so a demo shows the
real messages the smtp channel sends, partner links included; the tests use the same sink to read exactly
what went over the wire. Addresses in `refuse` get `550` at RCPT, as an unknown mailbox would.
It offers SMTPUTF8, as most servers do, so an address such as `иван@…` arrives as written.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class ReceivedMail:
    """One e-mail as the sink received it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def body(self, subtype: str) -> str:
        """Return the decoded `text/<subtype>` part (plain or html)."""
        part = self.message.get_body(preferencelist=(subtype,))
        return "" if part is None else str(part.get_content())


@dataclass
class SinkHandler:
    """aiosmtpd handler: keeps every accepted mail and tells `on_mail` about it."""

    on_mail: Callable[[ReceivedMail], None] | None = None
    refuse: set[str] = field(default_factory=set)
    received: list[ReceivedMail] = field(default_factory=list)
    folder: Path | None = None  # where each mail is also written, `0001.eml`, `0002.eml`...

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Accept a recipient unless it is in `refuse`."""
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the mail."""
        content: Any = envelope.original_content or envelope.content
        message = message_from_bytes(content, policy=default)
        mail = ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message)
        self.received.append(mail)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{len(self.received):04d}.eml").write_bytes(content)
        if self.on_mail is not None:
            self.on_mail(mail)
        return "250 2.0.0 accepted by the Passerelle sink"


async def start_sink(
    handler: SinkHandler, host: str = "127.0.0.1", port: int = 0, *, smtputf8: bool = True
) -> asyncio.Server:
    """Serve the sink on `host:port` (0: a free port) in the running event loop; without
    `smtputf8`, as a server that takes ASCII addresses only."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname="passerelle-sink", enable_SMTPUTF8=smtputf8), host, port
    )


def describe(mail: ReceivedMail) -> str:
    """Return a mail as the dev console shows it: envelope, subject, then the plain text."""
    lines = [
        f"── mail {mail.message['Message-ID']}",
        f"   from {mail.mail_from} to {', '.join(mail.rcpt_tos)}",
        f"   subject: {mail.message['Subject']}",
        "",
        *("   " + line for line in mail.body("plain").splitlines()),
    ]
    return "\n".join(lines)
