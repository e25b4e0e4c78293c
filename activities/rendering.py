"""Render a notification into a message: subject, plain text and HTML, in the collaboration's language.

Templates are files shipped with the package (`activities/templates/<lang>/<event>.<part>.j2`), so
wording changes never touch code. HTML templates are autoescaped (a name like `<script>` arrives
as text); plain-text and subject templates are not, and the subject is folded onto one line, so a
name holding CR/LF can never start a new mail header.

Rendering reads nothing but the notification and the templates, so a notification that fails to
render (a missing template, a syntax error, a field the template names and the notification lacks)
fails the same way on every retry: it is a `PermanentDeliveryError` naming the template and why.

An e-mail a party can answer carries that party's signed links (`activities.links`), which the
base templates list: the four answers about the collaboration, or, in an e-mail about a planned
step (its invitation, the question once it is missed), the three about that step. A template
that extends `_base` shows whichever the message has, with nothing of its own.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from temporalio import activity

from activities.channels import PermanentDeliveryError
from activities.links import LinkSigner
from schemas import Notification, NotificationEvent
from schemas.moments import in_zone, minute
from schemas.steps import CALENDAR_ZONE

LANGUAGES = ("fr", "en")
SUBJECT_MAX = 200
# The e-mails a party can answer in one click (docs/partners.md): each party gets its own links,
# about the collaboration (on it, help, pause, stopped)...
COLLABORATION_ANSWERABLE = frozenset(
    {NotificationEvent.STARTED, NotificationEvent.STAGE_CHANGED, NotificationEvent.REMINDER}
)
# ...or about the planned step the e-mail names (held, postponed, cancelled).
STEP_ANSWERABLE = frozenset({NotificationEvent.STEP_INVITATION, NotificationEvent.STEP_MISSED})
ANSWERABLE = COLLABORATION_ANSWERABLE | STEP_ANSWERABLE
PARTY_ROLES = ("startup", "corporate")


@dataclass(frozen=True)
class Message:
    """A rendered notification, ready for any channel."""

    subject: str
    text: str
    html: str
    link: str


def one_line(value: str, limit: int = SUBJECT_MAX) -> str:
    """Fold every run of whitespace (CR, LF, tabs...) into one space and cap the length."""
    folded = " ".join(value.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _when(value: str) -> str:
    """Format an ISO timestamp from the context as `2026-11-26 18:30 UTC` (empty stays empty)."""
    if not value:
        return ""
    return minute(datetime.fromisoformat(value))


_DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "en": "January February March April May June July August September October November December".split(),
}


def _paris(value: str, language: str = "en") -> str:
    """Format an ISO timestamp as Paris wall time, the zone the invitations are written in, with
    its offset for readers elsewhere: `mardi 30 mars 2027 à 10:00 (heure de Paris, UTC+2)`,
    `Tuesday 30 March 2027, 10:00 Paris time (UTC+2)` (empty stays empty)."""
    if not value:
        return ""
    at = datetime.fromisoformat(value).astimezone(ZoneInfo(CALENDAR_ZONE))
    offset = at.utcoffset()
    hours, rest = divmod(int(offset.total_seconds()) // 60 if offset else 0, 60)
    utc = f"UTC{hours:+d}" + (f":{rest:02d}" if rest else "")
    first = "1er" if language == "fr" and at.day == 1 else str(at.day)  # le 1er avril
    day = f"{first} {_MONTHS[language][at.month - 1]} {at.year}"
    if language == "fr":
        return f"{_DAYS['fr'][at.weekday()]} {day} à {at:%H:%M} (heure de Paris, {utc})"
    return f"{_DAYS['en'][at.weekday()]} {day}, {at:%H:%M} Paris time ({utc})"


def _duration(minutes: int, language: str = "en") -> str:
    """Format a duration: `45 minutes`, `1 hour`, `1 h 30 min` (French: `1 heure`, `1 h 30`)."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} minutes"
    if rest:
        return f"{hours} h {rest:02d}" if language == "fr" else f"{hours} h {rest:02d} min"
    unit = ("heure", "heures") if language == "fr" else ("hour", "hours")
    return f"{hours} {unit[hours > 1]}"


def _from_json(value: str) -> Any:
    """Read a JSON context value (the invitation's facts, `context["calendar"]`)."""
    return json.loads(value)


def _calendar_time(value: str) -> str:
    """Format an ISO timestamp as `2026-11-26 19:30` in the invitations' zone, Europe/Paris: the
    time a planned step is met at (the words around it name the zone)."""
    if not value:
        return ""
    return in_zone(datetime.fromisoformat(value), CALENDAR_ZONE)


def asked_step(notification: Notification) -> str:
    """Return the planned step a step e-mail asks about, or "" for any other e-mail and for a
    cancelled step's invitation: that step is over, there is nothing to answer about it."""
    if notification.event not in STEP_ANSWERABLE:
        return ""
    context = notification.context
    try:
        calendar = json.loads(context.get("calendar") or "{}")
    except ValueError:
        calendar = {}  # the invitation's own rendering says what is wrong with it
    if isinstance(calendar, dict) and calendar.get("method") == "CANCEL":
        return ""
    return str(context.get("step") or "")


def _why(err: Exception) -> str:
    """Return an error as a delivery's record shows it: its type, and its message when it has one."""
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


class Renderer:
    """Renders notifications with the packaged Jinja2 templates."""

    def __init__(
        self,
        ui_url: str,
        namespace: str,
        links: LinkSigner | None = None,
        templates: BaseLoader | None = None,  # None: the packaged templates
    ) -> None:
        self._ui_url = ui_url.rstrip("/")
        self._namespace = namespace
        self._links = links  # None: no portal, the e-mails carry no partner links
        self._env = Environment(
            loader=templates or PackageLoader("activities", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,  # a template naming a missing field fails loudly, in tests
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["when"] = _when
        self._env.filters["paris"] = _paris
        self._env.filters["duration"] = _duration
        self._env.filters["from_json"] = _from_json
        self._env.filters["calendar_time"] = _calendar_time

    def link(self, workflow_id: str) -> str:
        """Return the Web UI page of a collaboration's workflow, in its programme's namespace
        when an activity of that workflow renders it."""
        namespace = self._namespace
        if activity.in_activity():
            namespace = activity.info().workflow_namespace or namespace
        return (
            f"{self._ui_url}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
        )

    def answerable(self, notification: Notification) -> bool:
        """Return whether the notification carries partner links: then each party gets its own
        message (`SmtpChannel`), since a link speaks for the party it is sent to."""
        return (
            self._links is not None
            and notification.event in ANSWERABLE
            and bool(notification.context.get("seq"))
            and (notification.event in COLLABORATION_ANSWERABLE or bool(asked_step(notification)))
            and any(r.role in PARTY_ROLES for r in notification.recipients)
        )

    def render(self, notification: Notification, party: str | None = None) -> Message:
        """Render the subject, text and HTML of a notification in its language; with `party`,
        with that party's one-click answer links."""
        language = notification.language if notification.language in LANGUAGES else "en"
        link = self.link(notification.workflow_id)
        answer_links: dict[str, str] = {}
        if party is not None and self._links is not None and self.answerable(notification):
            context = notification.context
            try:
                seq, sent_at = int(context["seq"]), datetime.fromisoformat(context["at"])
                step = asked_step(notification)
                step_at = (
                    datetime.fromisoformat(context["step_at"]) if step and context.get("step_at") else None
                )
                answer_links = self._links.links(
                    notification.collaboration_id, party, seq, sent_at, step=step, step_at=step_at
                )
            except (KeyError, TypeError, ValueError) as err:
                raise PermanentDeliveryError(f"the partner links cannot be signed: {_why(err)}") from err
        values = {
            **notification.context,
            "event": notification.event.value,
            "recipients": [r.name for r in notification.recipients],
            "link": link,
            "answer_links": answer_links,
        }

        def part(name: str) -> str:
            path = f"{language}/{notification.event.value}.{name}.j2"
            try:
                return self._env.get_template(path).render(values)
            except TemplateNotFound as err:  # a retry cannot make a template appear
                raise PermanentDeliveryError(f"no template {err.name}") from err
            except Exception as err:  # pure: the same notification fails the same way every time
                raise PermanentDeliveryError(f"the template {path} cannot be rendered: {_why(err)}") from err

        return Message(subject=one_line(part("subject")), text=part("txt"), html=part("html"), link=link)
