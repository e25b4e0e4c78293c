"""The channels' settings (`PASSERELLE_SMTP_*`, `PASSERELLE_WEBHOOK_*`), apart from the channels.

Reading the settings must not load an SMTP client, an HTTP client and the templates: every
`passerelle` command reads them, and few of them send anything.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how the smtp channel sends mail (`PASSERELLE_SMTP_*`)."""

    host: str
    port: int
    security: str  # starttls, tls (implicit TLS) or none
    username: str | None
    password: str | None = field(repr=False, default=None)
    sender: str = "Passerelle <passerelle@localhost>"
    # Per SMTP step (connect, each command); the whole send is cut at `CHANNEL_DEADLINE` (9 s,
    # workflows/delivery_policy.py) by the outbox, which caps this.
    timeout: float = 20.0


@dataclass(frozen=True)
class WebhookSettings:
    """Where the webhook channel posts (`PASSERELLE_WEBHOOK_*`)."""

    url: str
    secret: str | None = field(repr=False, default=None)
    # Per HTTP step (connect, write, read); the whole send is cut at `CHANNEL_DEADLINE` (9 s,
    # workflows/delivery_policy.py) by the outbox, which caps this.
    timeout: float = 10.0
