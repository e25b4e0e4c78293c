"""The e-mails and webhook posts of a planned step: what the text says (new, moved, cancelled, in
Paris time), and how the invitation travels (a text/calendar alternative and an invite.ics file)."""

import json
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
import vobject
from icalendar import Calendar

from activities.calendar import invitation
from activities.channels import PermanentDeliveryError
from activities.channels.smtp import POLICY, SmtpChannel, SmtpSettings
from activities.channels.webhook import WebhookChannel, WebhookSettings
from activities.rendering import Renderer, _duration, _paris
from schemas import Notification, NotificationEvent, Recipient
from tests.unit.test_calendar import facts
from tests.unit.test_rendering import notification as base_notification

RENDERER = Renderer("http://ui.example:8233/", "default")
PROGRAMME = "[French Tech Corporate Community]"
RECIPIENTS = [
    Recipient(name="Natixis", email="innovation@natixis.example", role="corporate"),
    Recipient(name="Nabla", email="partners@nabla.example", role="startup"),
    Recipient(name="French Tech Corporate Community", email="operator@programme.example", role="owner"),
]


def step(language: str = "fr", previous_at: str = "", **calendar: Any) -> Notification:
    """Return a step_invitation notification as the workflow builds it (`facts` for the rest)."""
    cal = facts(**calendar)
    n = base_notification(
        NotificationEvent.STEP_INVITATION,
        language,
        note=cal["note"],
        step_kind=cal["kind"],
        step_at=cal["start"],
        previous_at=previous_at,
        calendar=json.dumps(cal, ensure_ascii=False),
    )
    return n.model_copy(update={"recipients": RECIPIENTS})


def channel(renderer: Renderer = RENDERER) -> SmtpChannel:
    settings = SmtpSettings("localhost", 25, "none", None, sender="Programme <noreply@programme.example>")
    return SmtpChannel(settings, renderer)


def test_paris_time_names_the_day_and_the_offset_of_the_date() -> None:
    assert _paris("2027-03-30T08:00:00+00:00", "fr") == "mardi 30 mars 2027 à 10:00 (heure de Paris, UTC+2)"
    assert _paris("2027-03-30T08:00:00+00:00", "en") == "Tuesday 30 March 2027, 10:00 Paris time (UTC+2)"
    assert _paris("2027-03-27T09:00:00+00:00", "en") == "Saturday 27 March 2027, 10:00 Paris time (UTC+1)"
    assert _paris("2027-04-01T10:00:00+02:00", "fr") == "jeudi 1er avril 2027 à 10:00 (heure de Paris, UTC+2)"
    assert _paris("2027-11-01T09:00:00+00:00", "en") == "Monday 1 November 2027, 10:00 Paris time (UTC+1)"
    assert _paris("", "fr") == ""


@pytest.mark.parametrize(
    ("minutes", "fr", "en"),
    [
        (15, "15 minutes", "15 minutes"),
        (60, "1 heure", "1 hour"),
        (90, "1 h 30", "1 h 30 min"),
        (480, "8 heures", "8 hours"),
    ],
)
def test_durations_read_as_people_say_them(minutes: int, fr: str, en: str) -> None:
    assert (_duration(minutes, "fr"), _duration(minutes, "en")) == (fr, en)


def test_a_new_step_says_what_when_how_long_and_where() -> None:
    fr = RENDERER.render(step("fr", minutes=90, note="Apportez le rapport"))
    assert fr.subject == (
        f"{PROGRAMME} Invitation : Réunion, Natixis × Nabla, mardi 30 mars 2027 à 10:00 (heure de Paris, UTC+2)"
    )
    for message in (fr.text, fr.html):
        assert "Nouvelle étape planifiée" in message and "réunion" in message
        assert "mardi 30 mars 2027 à 10:00 (heure de Paris, UTC+2)" in message
        assert "1 h 30" in message and "Station F, Paris" in message and "Apportez le rapport" in message
        assert "ajoute l" in message and "déplacée" not in message and "annulée" not in message
    en = RENDERER.render(step("en", kind="decision"))
    assert en.subject == (
        f"{PROGRAMME} Invitation: Go/no-go decision, Natixis × Nabla, Tuesday 30 March 2027, 10:00 Paris time (UTC+2)"
    )
    assert "New step planned by ops@programme.example: go/no-go decision." in en.text
    assert (
        "When: Tuesday 30 March 2027, 10:00 Paris time (UTC+2)" in en.text and "Duration: 1 hour" in en.text
    )


def test_a_moved_step_says_from_when_to_when() -> None:
    """A reschedule (sequence > 0, previous_at): the old time and the new, across a clock change."""
    moved = step("en", "2027-03-26T09:00:00+00:00", sequence=1)
    message = RENDERER.render(moved)
    assert message.subject.startswith(
        f"{PROGRAMME} Updated invitation: Meeting, Natixis × Nabla, Tuesday 30 March"
    )
    assert (
        "the meeting moves from Friday 26 March 2027, 10:00 Paris time (UTC+1) "
        "to Tuesday 30 March 2027, 10:00 Paris time (UTC+2)"
    ) in message.text
    assert "<del>Friday 26 March 2027, 10:00 Paris time (UTC+1)</del>" in message.html
    fr = RENDERER.render(step("fr", "2027-03-26T09:00:00+00:00", sequence=1))
    assert fr.subject.startswith(f"{PROGRAMME} Invitation mise à jour : Réunion")
    assert "du vendredi 26 mars 2027 à 10:00 (heure de Paris, UTC+1) au mardi 30 mars" in fr.text


def test_a_cancelled_step_says_it_will_not_take_place() -> None:
    for language, subject, words in (
        ("fr", f"{PROGRAMME} Annulation : Démo", "Étape annulée par ops@programme.example : démo du mardi"),
        (
            "en",
            f"{PROGRAMME} Cancelled: Demo",
            "Step cancelled by ops@programme.example: the demo of Tuesday",
        ),
    ):
        message = RENDERER.render(step(language, method="CANCEL", sequence=2, kind="demo"))
        assert message.subject.startswith(subject)
        assert words in message.text and "invite.ics" in message.text


def test_markup_in_the_place_and_note_is_text_in_the_html() -> None:
    message = RENDERER.render(step("en", where="<b>HQ</b>", note='<img src=x onerror="y()">'))
    assert "<b>HQ</b>" not in message.html and "&lt;b&gt;HQ&lt;/b&gt;" in message.html
    assert "<img" not in message.html and "Where: <b>HQ</b>" in message.text


def parts(mail: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in mail.walk()]


def calendar_parts(mail: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    """Return the text/calendar alternative and the invite.ics attachment, read back from bytes."""
    read = message_from_bytes(mail.as_bytes(policy=POLICY), policy=default)
    assert isinstance(read, EmailMessage)
    (alternative,) = [p for p in read.walk() if p.get_content_type() == "text/calendar"]
    (attachment,) = list(read.iter_attachments())
    return alternative, attachment


@pytest.mark.parametrize(("method", "previous"), [("REQUEST", ""), ("CANCEL", "")])
def test_the_email_carries_the_invitation_as_calendar_clients_want(method: str, previous: str) -> None:
    """multipart/mixed: the alternatives (text, HTML, text/calendar with its method) then the same
    bytes as invite.ics; both parsers read one event from each."""
    n = step("fr", previous, method=method, sequence=1 if method == "CANCEL" else 0)
    mail = channel().build(n)
    assert parts(mail) == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    alternative, attachment = calendar_parts(mail)
    assert alternative.get_param("method") == method and alternative.get_content_charset() == "utf-8"
    assert attachment.get_filename() == "invite.ics" and attachment.get_content_disposition() == "attachment"
    expected = invitation(n)
    assert expected is not None
    assert attachment.get_content() == expected.ics
    assert alternative.get_content().replace("\r\n", "\n") == expected.text.replace("\r\n", "\n")
    for ics in (alternative.get_content(), attachment.get_content().decode()):
        calendar = Calendar.from_ical(ics)
        assert str(calendar["METHOD"]) == method and len(calendar.events) == 1
        assert vobject.readOne(ics).vevent.uid.value == "cid-1-s1@passerelle"
    assert mail["Content-Language"] == "fr"


def test_every_party_message_carries_the_same_invitation() -> None:
    """When each party gets its own message (partner links), each carries the same invitation."""

    class EachParty(Renderer):
        def answerable(self, notification: Notification) -> bool:
            return True

    messages = channel(EachParty("http://ui.example:8233/", "default")).messages(step("en"))
    assert len(messages) == len(RECIPIENTS)
    attachments = {calendar_parts(mail)[1].get_content() for _, mail in messages}
    assert len(attachments) == 1


def test_other_emails_carry_no_invitation() -> None:
    """A notification of another event stays text and HTML, even with a calendar in its context."""
    mail = channel().build(base_notification(NotificationEvent.CLOSED))
    assert parts(mail) == ["multipart/alternative", "text/plain", "text/html"]


def test_facts_that_cannot_be_written_fail_the_email_for_good() -> None:
    with pytest.raises(PermanentDeliveryError, match=r"calendar\.minutes"):
        channel().messages(step(minutes=-5))


def test_the_webhook_post_carries_the_ics_text() -> None:
    webhook = WebhookChannel(WebhookSettings("http://hook.example"), RENDERER)
    n = step("en")
    body = json.loads(webhook.body(n))
    assert set(body) == {"text", "ics"}
    found = invitation(n)
    assert found is not None and body["ics"] == found.text
    assert body["text"].startswith(f"*{PROGRAMME} Invitation: Meeting, Natixis × Nabla")
    assert set(json.loads(webhook.body(base_notification(NotificationEvent.CLOSED)))) == {"text"}
