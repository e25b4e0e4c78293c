"""Rendering of notifications: every event in both languages, escaping, one-line subjects, headers."""

import hashlib
import hmac
import json
from email.message import EmailMessage
from email.policy import SMTP
from enum import StrEnum

import pytest

from activities.channels import PermanentDeliveryError
from activities.channels.smtp import POLICY_UTF8, SmtpChannel, SmtpSettings, ascii_form, forms, message_id
from activities.channels.webhook import WebhookChannel, WebhookSettings, chat_escape, signature
from activities.rendering import Renderer, one_line
from schemas import Notification, NotificationEvent, Recipient

RENDERER = Renderer("http://ui.example:8233/", "default")
EVENTS = [e for e in NotificationEvent if e is not NotificationEvent.DIGEST]


def notification(event: NotificationEvent, language: str = "fr", **context: str) -> Notification:
    """Return a notification with a complete context, as the workflow builds it."""
    base = {
        "workflow_id": "collab-natixis-nabla",
        "corporate": "Natixis",
        "startup": "Nabla",
        "programme": "French Tech Corporate Community",
        "topic": "Clinical note summarisation pilot",
        "stage": "pilot",
        "to_stage": "evaluation",
        "outcome": "declined",
        "actor": "ops@programme.example",
        "note": "",
        "at": "2026-11-26T18:00:00+00:00",
        "reminder_number": "2",
        "days_idle": "45",
        "next_reminder_at": "2026-12-26T18:00:00+00:00",
        "milestone": "NDA signed",
        "evidence_url": "",
        "checklist": '[ ] deployment: milestone "pilot report" (the partners; an operator records it)',
        "playbook": "Coalition Next v3",
        "approval_for": "deployment",
        "requested_by": "anne@programme.example",
        "answer": "approved",
        "seq": "3",
        "party": "startup",
        "partner_action": "need_help",
        "until": "",
        "step": "s1",
        "step_kind": "meeting",
        "step_at": "2027-03-30T08:00:00+00:00",
        "previous_at": "",
        "calendar": json.dumps(
            {
                "uid": "run-1-s1@passerelle",
                "sequence": 0,
                "method": "REQUEST",
                "kind": "meeting",
                "start": "2027-03-30T08:00:00+00:00",
                "minutes": 60,
                "where": "Station F",
                "note": "",
                "summary": "Natixis × Nabla: meeting",
                "organizer": "operator@programme.example",
                "attendees": ["innovation@natixis.example"],
                "time_zone": "Europe/Paris",
                "stamp": "2026-11-26T18:00:00+00:00",
            }
        ),
        "decision_on": "2026-11-20",
    }
    return Notification(
        key=f"run-1/3/{event.value}",
        collaboration_id="run-1",
        workflow_id=base["workflow_id"],
        event=event,
        language=language,
        recipients=[Recipient(name="Natixis", email="innovation@natixis.example", role="corporate")],
        context={**base, **context},
    )


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("event", EVENTS)
def test_every_event_renders_in_both_languages(event: NotificationEvent, language: str) -> None:
    """Each event has a subject, a text and an HTML template in French and English."""
    message = RENDERER.render(notification(event, language))
    assert "Natixis" in message.subject and "\n" not in message.subject
    link = "http://ui.example:8233/namespaces/default/workflows/collab-natixis-nabla"
    assert link in message.text and f'href="{link}"' in message.html
    assert message.html.lstrip().startswith("<!DOCTYPE html>")
    assert ("Bonjour" if language == "fr" else "Hello") in message.text


def test_french_and_english_say_the_same_thing_in_their_words() -> None:
    """The stage change names the stages in the collaboration's language."""
    fr = RENDERER.render(notification(NotificationEvent.STAGE_CHANGED, "fr"))
    en = RENDERER.render(notification(NotificationEvent.STAGE_CHANGED, "en"))
    assert fr.subject == "[French Tech Corporate Community] Natixis × Nabla : passage en phase « évaluation »"
    assert en.subject == "[French Tech Corporate Community] Natixis × Nabla: now in evaluation"
    assert "2026-12-26 18:00 UTC" in fr.text and "2026-12-26 18:00 UTC" in en.text


def test_html_escapes_names_and_notes_but_text_keeps_them() -> None:
    """Markup in a name or a note is shown as text in the HTML part."""
    n = notification(
        NotificationEvent.STAGE_CHANGED, corporate="<script>alert(1)</script>", note='<img src=x onerror="x">'
    )
    message = RENDERER.render(n)
    assert "<script>" not in message.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "<img" not in message.html and "&lt;img src=x onerror=&#34;x&#34;&gt;" in message.html
    assert "<script>alert(1)</script>" in message.text


def test_workflow_id_is_quoted_in_the_link() -> None:
    """A workflow id with spaces or quotes yields a valid, escaped link."""
    link = RENDERER.link('collab a"b/c')
    assert link == "http://ui.example:8233/namespaces/default/workflows/collab%20a%22b%2Fc"


def test_subject_is_one_line_whatever_the_names() -> None:
    """CR/LF in names are folded: the subject can never start a new header."""
    n = notification(NotificationEvent.STARTED, corporate="Evil\r\nBcc: victim@evil.example")
    assert RENDERER.render(n).subject == (
        "[French Tech Corporate Community] Mise en relation : Evil Bcc: victim@evil.example × Nabla"
    )
    assert one_line("a\r\n\tb  c", limit=4) == "a b…"


def test_email_policy_refuses_crlf_in_a_header() -> None:
    """The second guard: email.policy.SMTP raises rather than writing a forged header."""
    with pytest.raises(ValueError, match=r"linefeed|carriage"):
        EmailMessage(policy=SMTP)["Subject"] = "hello\r\nBcc: victim@evil.example"


def test_email_has_both_parts_and_a_stable_message_id() -> None:
    """The e-mail is multipart/alternative with a Message-ID made from the idempotency key."""
    channel = SmtpChannel(
        SmtpSettings("localhost", 25, "none", None, sender="Programme <noreply@programme.example>"), RENDERER
    )
    mail = channel.build(notification(NotificationEvent.CLOSED, corporate="A\r\nBcc: x@evil.example"))
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Message-ID"] == message_id("run-1/3/closed", "programme.example")
    assert mail["Message-ID"].startswith("<run-1.3.closed.") and mail["Message-ID"].endswith(
        "@programme.example>"
    )
    assert mail["Bcc"] is None and "\n" not in str(mail["Subject"])
    assert message_id("a/b", "d") != message_id("a b", "d"), "cleaned keys stay distinct"


ASCII_NEIGHBOURS = [
    "ops@programme.example",
    "o'neil+tag@programme.example",
    "a.b-c_d@sub.nabla.example",
    "Ops@Programme.Example",
    "xn--nbla-qoa@xn--nbla-qoa.example",
]


def test_addresses_keep_their_form_unless_a_server_needs_another() -> None:
    """ASCII addresses go byte for byte; a domain alone not in ASCII goes in IDNA; a local part not
    in ASCII keeps every address of its message as written, for SMTPUTF8."""
    assert forms(ASCII_NEIGHBOURS) == ASCII_NEIGHBOURS
    idn, cyrillic = "partners@nåbla.example", "иван@nabla.example"
    assert forms([*ASCII_NEIGHBOURS, idn]) == [*ASCII_NEIGHBOURS, "partners@xn--nbla-qoa.example"]
    assert forms([*ASCII_NEIGHBOURS, cyrillic]) == [*ASCII_NEIGHBOURS, cyrillic]
    assert forms([idn, cyrillic]) == [idn, cyrillic] and ascii_form(cyrillic) is None
    channel = SmtpChannel(
        SmtpSettings("localhost", 25, "none", None, sender="Programme <noreply@programme.example>"), RENDERER
    )
    startup = Recipient(role="startup", name="Иван", email=cyrillic)
    mail = channel.build(notification(NotificationEvent.CLOSED), startup)
    assert "Иван <иван@nabla.example>".encode() in mail.as_bytes(policy=POLICY_UTF8)


def test_missing_template_is_a_permanent_error() -> None:
    """An event without templates is recorded as failed, not retried forever."""
    odd = notification(NotificationEvent.STARTED).model_copy(
        update={"event": StrEnum("Odd", ["unheard-of"])["unheard-of"]}
    )
    with pytest.raises(PermanentDeliveryError, match="unheard-of"):
        RENDERER.render(odd)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_digest_lists_each_stalled_collaboration_escaped(language: str) -> None:
    """The daily digest renders one item per stalled collaboration, HTML-escaped."""
    digest = Notification(
        key="digest/x",
        collaboration_id="digest",
        workflow_id="passerelle-digest-2026-11-26",
        event=NotificationEvent.DIGEST,
        language=language,
        recipients=[Recipient(name="operators", email="ops@programme.example", role="operators")],
        context={
            "count": "2",
            "programme": "all programmes",
            "date": "2026-11-26",
            "lines": "A × <b>B</b>: pilot [w1]\nC × D: evaluation [w2]",
            "kpis": "3 open; 2 stalled (66.7 %)",
        },
    )
    message = RENDERER.render(digest)
    assert "2" in message.subject and "\n" not in message.subject
    assert "- A × <b>B</b>: pilot [w1]" in message.text and "- C × D: evaluation [w2]" in message.text
    assert message.html.count("<li>") == 2 and "&lt;b&gt;B&lt;/b&gt;" in message.html
    assert "3 open; 2 stalled (66.7 %)" in message.text and "3 open; 2 stalled (66.7 %)" in message.html
    assert "3 open; 2 stalled (66.7 %)" in message.text and "3 open; 2 stalled (66.7 %)" in message.html


@pytest.mark.parametrize(("language", "more"), [("fr", "et 3 de plus"), ("en", "and 3 more")])
def test_digest_lists_the_weeks_steps_and_the_decisions_overdue(language: str, more: str) -> None:
    """Each list renders when it has lines, with how many more it left out; none when empty."""
    context = {"count": "0", "programme": "P", "date": "2026-11-26", "lines": "", "steps_more": "3"}
    context |= {"steps": "A × <b>B</b>: meeting on 2026-11-27 10:00 (Europe/Paris) [w1]\nC × D: demo [w2]"}
    context |= {"overdue": "E × F: decision date 2026-11-20 [w3]", "overdue_more": "0"}
    digest = Notification(
        key="digest/y",
        collaboration_id="digest",
        workflow_id="passerelle-digest-2026-11-26",
        event=NotificationEvent.DIGEST,
        language=language,
        recipients=[Recipient(name="operators", email="ops@programme.example", role="operators")],
        context=context,
    )
    message = RENDERER.render(digest)
    empty = RENDERER.render(digest.model_copy(update={"context": context | {"steps": "", "overdue": ""}}))
    assert "- A × <b>B</b>: meeting on 2026-11-27 10:00 (Europe/Paris) [w1]" in message.text
    assert f"- … {more}" in message.text and f"<li>… {more}</li>" in message.html
    assert (
        "- E × F: decision date 2026-11-20 [w3]" in message.text
        and "de plus" not in message.text.split("E × F")[1]
    )
    assert message.html.count("<li>") == 4 and "&lt;b&gt;B&lt;/b&gt;" in message.html
    assert "(Europe/Paris)" not in empty.text and "<li>" not in empty.html


def test_webhook_body_is_chat_json_with_escaped_mentions() -> None:
    """`{"text": ...}` with `<!channel>` escaped, signed with HMAC-SHA256 over the body."""
    channel = WebhookChannel(WebhookSettings("http://hook.example", secret="s3cret"), RENDERER)
    body = channel.body(notification(NotificationEvent.STARTED, "en", startup="<!channel> & co"))
    text = json.loads(body)["text"]
    subject = "[French Tech Corporate Community] Introduction: Natixis × &lt;!channel&gt; &amp; co"
    assert text.startswith(f"*{subject}*\n\n")
    assert "<!channel>" not in text
    assert chat_escape("<a&b>") == "&lt;a&amp;b&gt;"
    assert signature("s3cret", b"{}") == "sha256=" + hmac.new(b"s3cret", b"{}", hashlib.sha256).hexdigest()
