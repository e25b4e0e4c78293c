"""Links and e-mails about a planned step: the step is signed into each link, only the step's e-mails
carry its three answers, and its time reads in Paris time.

The property tests point genuine step links at other steps, at other answers and at the link format
without a step, and check that every one is refused while the genuine link still verifies.
"""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import ChoiceLoader, DictLoader, PackageLoader

from activities.channels import PermanentDeliveryError
from activities.channels.smtp import SmtpChannel, SmtpSettings
from activities.links import BadLink, LinkSigner
from activities.rendering import Renderer
from passerelle.platform.codec import new_key
from passerelle.platform.keys import parse_keys
from schemas import Notification, NotificationEvent, Recipient
from schemas.partners import PartnerAction
from tests.unit.test_calendar import facts

KEYS = parse_keys(f"k1:{new_key()}")
SIGNER = LinkSigner(KEYS, "https://portal.example", 30)
SENT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
COLLABORATION = "6f1c2a9e-6d1b-4c33-9a51-0d4b2c7e8f10"
STEP_IDS = st.integers(min_value=1, max_value=999_999).map(lambda n: f"s{n}")
STEP_ANSWERS = {"held", "postponed", "cancelled"}
FOUR = {"on_it", "need_help", "pause", "stopped"}
# What the step invitation's own templates would be: anything that extends the base templates.
INVITATION = DictLoader(
    {
        f"{lang}/step_invitation.{part}.j2": body
        for lang in ("fr", "en")
        for part, body in (
            ("subject", "Invitation {{ step }}"),
            ("txt", f'{{% extends "{lang}/_base.txt.j2" %}}{{% block body %}}Invitation{{% endblock %}}'),
            ("html", f'{{% extends "{lang}/_base.html.j2" %}}{{% block body %}}Invitation{{% endblock %}}'),
        )
    }
)


def token_of(url: str) -> str:
    return unquote(url.rsplit("/a/", 1)[1])


def test_a_step_link_names_its_step_and_offers_the_step_answers_only() -> None:
    links = SIGNER.links(COLLABORATION, "startup", 9, SENT, step="s2")
    assert set(links) == STEP_ANSWERS
    for action, url in links.items():
        assert url.startswith("https://portal.example/a/p2.k1.")
        link = SIGNER.verify(token_of(url))
        assert (link.action.value, link.step, link.seq, link.party) == (action, "s2", 9, "startup")
    other_step = SIGNER.links(COLLABORATION, "startup", 9, SENT, step="s3")
    ids = {SIGNER.verify(token_of(u)).id for u in [*links.values(), *other_step.values()]}
    assert len(ids) == 6, "each step's links are links of their own, used once each"
    with pytest.raises(ValueError, match="step"):
        SIGNER.links(COLLABORATION, "startup", 9, SENT, step="meeting")


@given(step=STEP_IDS, other=STEP_IDS, seq=st.integers(min_value=1, max_value=10_000))
def test_a_step_link_pointed_elsewhere_is_refused(step: str, other: str, seq: int) -> None:
    for url in SIGNER.links(COLLABORATION, "corporate", seq, SENT, step=step).values():
        token = token_of(url)
        fields = token.split(".")
        assert SIGNER.verify(token).step == step  # the neighbour of every alteration still works
        altered = []
        if other != step:
            altered.append(".".join([*fields[:5], other, *fields[6:]]))  # another step
        for action in FOUR:  # an answer about the collaboration, with or without the step
            altered.append(".".join([*fields[:4], action, *fields[5:]]))
            altered.append(".".join(["p1", *fields[1:4], action, *fields[6:]]))
        altered.append(".".join(["p1", *fields[1:5], *fields[6:]]))  # the step left out
        for action in STEP_ANSWERS - {fields[4]}:  # another answer about the same step
            altered.append(".".join([*fields[:4], action, *fields[5:]]))
        for bad in altered:
            with pytest.raises(BadLink):
                SIGNER.verify(bad)


def step_mail(event: NotificationEvent, language: str = "fr", **context: str) -> Notification:
    """Return a step e-mail as the workflow builds it: to both parties and the owner."""
    base = {
        "workflow_id": "collab-natixis-nabla", "corporate": "Natixis", "startup": "Nabla",
        "programme": "Coalition Next", "topic": "Triage", "stage": "pilot", "to_stage": "", "outcome": "",
        "actor": "system", "note": "", "at": SENT.isoformat(), "reminder_number": "",
        "days_idle": "3", "next_reminder_at": "", "milestone": "", "evidence_url": "", "checklist": "",
        "playbook": "", "approval_for": "", "requested_by": "", "answer": "", "seq": "12", "party": "",
        "partner_action": "", "until": "", "step": "s1", "step_kind": "meeting",
        "step_at": "2026-11-23T09:00:00+00:00", "previous_at": "", "calendar": "", "decision_on": "",
    }  # fmt: skip
    return Notification(
        key=f"{COLLABORATION}/12/{event.value}",
        collaboration_id=COLLABORATION,
        workflow_id="collab-natixis-nabla",
        event=event,
        language=language,
        recipients=[
            Recipient(name="Natixis", email="innovation@natixis.example", role="corporate"),
            Recipient(name="Nabla", email="partners@nabla.example", role="startup"),
            Recipient(name="Coalition Next", email="ops@programme.example", role="owner"),
        ],
        context={**base, **context},
    )


def channel(renderer: Renderer | None = None) -> SmtpChannel:
    settings = SmtpSettings("localhost", 25, "none", None, sender="Programme <noreply@programme.example>")
    return SmtpChannel(settings, renderer or Renderer("http://ui.example", "default", SIGNER))


def plain_and_html(message: object) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    html = message.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    return text, html


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_missed_step_asks_each_party_with_its_own_step_links(language: str) -> None:
    messages = channel().messages(step_mail(NotificationEvent.STEP_MISSED, language))
    assert [[r.role for r in to] for to, _ in messages] == [["corporate"], ["startup"], ["owner"]]
    everyone = [SIGNER.links(COLLABORATION, p, 12, SENT, step="s1") for p in ("corporate", "startup")]
    for (_, message), own in zip(messages, [*everyone, {}], strict=True):
        text, html = plain_and_html(message)
        urls = [u for links in everyone for u in links.values()]
        assert [u for u in urls if u in text] == list(own.values())  # its own three, no other
        assert all(f'href="{u}"' in html for u in own.values())
        assert "/a/p1." not in text, "a step e-mail offers the step answers, not the four others"
        # 09:00 UTC on 23 November is 10:00 in Paris (winter time).
        assert "2026-11-23 10:00" in text and "2026-11-23 10:00" in str(message["Subject"])
    owner_text, _ = plain_and_html(messages[2][1])
    assert "`held`" in owner_text and "s1" in owner_text  # the owner records it from the CLI
    fr_text, _ = plain_and_html(messages[1][1])
    if language == "fr":
        assert "La réunion prévue le 2026-11-23 10:00 (heure de Paris)" in fr_text
        assert "C'est reporté (vous choisissez la nouvelle date)" in fr_text
    else:
        assert "The meeting planned on 2026-11-23 10:00 (Paris time) has no news" in fr_text


def test_summer_time_reads_two_hours_ahead_of_utc() -> None:
    message = Renderer("http://ui.example", "default").render(
        step_mail(
            NotificationEvent.STEP_MISSED, "en", step_kind="document", step_at="2027-07-01T08:00:00+00:00"
        )
    )
    assert "The document due on 2027-07-01 10:00 (Paris time) has no news: was it delivered?" in message.text


def test_the_invitation_carries_the_step_links_with_no_template_of_its_own() -> None:
    renderer = Renderer(
        "http://ui.example",
        "default",
        SIGNER,
        ChoiceLoader([INVITATION, PackageLoader("activities", "templates")]),
    )
    invitation = step_mail(NotificationEvent.STEP_INVITATION, "en", calendar=json.dumps(facts()))
    messages = channel(renderer).messages(invitation)
    assert len(messages) == 3
    text, _ = plain_and_html(messages[1][1])
    startup = SIGNER.links(COLLABORATION, "startup", 12, SENT, step="s1")
    assert all(url in text for url in startup.values()) and "It is postponed" in text
    # A cancellation is over: nothing to answer about, one message for everyone.
    cancelled = invitation.model_copy(
        update={"context": {**invitation.context, "calendar": json.dumps(facts(method="CANCEL", sequence=1))}}
    )
    [(to, message)] = channel(renderer).messages(cancelled)
    assert len(to) == 3 and "/a/p" not in message.as_string()


def test_a_step_e_mail_with_no_step_id_fails_for_good() -> None:
    with pytest.raises(PermanentDeliveryError, match="partner links cannot be signed"):
        channel().messages(step_mail(NotificationEvent.STEP_MISSED, step="meeting"))
    # With no step at all there is nothing to answer: one message, no links.
    [(to, _)] = channel().messages(step_mail(NotificationEvent.STEP_MISSED, step=""))
    assert len(to) == 3


def test_a_reminder_still_carries_the_four_answers() -> None:
    reminder = step_mail(NotificationEvent.REMINDER, "en", reminder_number="1")
    text, _ = plain_and_html(channel().messages(reminder)[1][1])
    four = SIGNER.links(COLLABORATION, "startup", 12, SENT)
    assert set(four) == {a.value for a in PartnerAction if a.value in FOUR}
    assert all(url in text for url in four.values()) and "/a/p2." not in text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_overdue_decision_names_its_date_and_the_reminder(language: str) -> None:
    renderer = Renderer("http://ui.example", "default")
    first = renderer.render(
        step_mail(NotificationEvent.DECISION_OVERDUE, language, decision_on="2026-11-20", reminder_number="1")
    )
    later = renderer.render(
        step_mail(NotificationEvent.DECISION_OVERDUE, language, decision_on="2026-11-20", reminder_number="3")
    )
    since = "depuis le 2026-11-20" if language == "fr" else "since 2026-11-20"
    assert since in first.subject and since in first.text and since in first.html
    assert (
        "3" not in first.subject.split("]")[1]
        and ("Relance 3" if language == "fr" else "Reminder 3") in later.subject
    )
    assert "`decision-date`" in first.text


def test_links_expire_with_the_e_mail_they_came_in() -> None:
    url = SIGNER.links(COLLABORATION, "startup", 12, SENT, step="s1")["postponed"]
    assert SIGNER.verify(token_of(url)).expires == SENT + timedelta(days=30)


def test_a_step_planned_weeks_ahead_keeps_its_links_until_after_it() -> None:
    """An invitation's "it took place" is answered after the step: its links last from then."""
    later = SENT + timedelta(days=90)
    urls = SIGNER.links(COLLABORATION, "startup", 12, SENT, step="s1", step_at=later)
    links = [SIGNER.verify(unquote(url.rsplit("/a/", 1)[1])) for url in urls.values()]
    assert {link.expires for link in links} == {later + timedelta(days=30)}
    soon = SIGNER.links(COLLABORATION, "startup", 12, SENT, step="s1", step_at=SENT - timedelta(days=3))
    assert {SIGNER.verify(unquote(u.rsplit("/a/", 1)[1])).expires for u in soon.values()} == {
        SENT + timedelta(days=30)
    }
