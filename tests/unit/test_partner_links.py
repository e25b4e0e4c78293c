"""Partner links: signed, unforgeable, per party, free of personal data; the portal's words.

The property test alters 16 real tokens into 1,248 others (bit flips, swapped fields, another key, another
collaboration, cut or padded tokens) and checks that every one is refused, and that an expired
link, though genuine, says so.
"""

import random
import string
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from activities.channels.smtp import SmtpChannel, SmtpSettings
from activities.links import BadLink, Link, LinkSigner
from activities.rendering import Renderer
from passerelle.platform.codec import new_key
from passerelle.platform.keys import parse_keys
from passerelle.portal.texts import TEXTS
from schemas import Notification, NotificationEvent, Recipient
from schemas.partners import PartnerAction

KEYS = parse_keys(f"k2:{new_key()},k1:{new_key()}")
SIGNER = LinkSigner(KEYS, "https://portal.example/", 30)
SENT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
COLLABORATION = "6f1c2a9e-6d1b-4c33-9a51-0d4b2c7e8f10"
ALPHABET = string.ascii_letters + string.digits + "-_."


def token_of(url: str) -> str:
    return unquote(url.rsplit("/a/", 1)[1])


def tokens() -> list[str]:
    return [
        token_of(url)
        for party in ("startup", "corporate")
        for seq in (3, 17)
        for url in SIGNER.links(COLLABORATION, party, seq, SENT).values()
    ]


def test_a_link_says_who_what_which_e_mail_and_until_when() -> None:
    links = SIGNER.links(COLLABORATION, "startup", 17, SENT)
    assert set(links) == {"on_it", "need_help", "pause", "stopped"}  # the step answers name a step
    for action, url in links.items():
        assert url.startswith("https://portal.example/a/p1.k2.")
        link = SIGNER.verify(token_of(url))
        assert (link.collaboration_id, link.party, link.action.value, link.seq) == (
            COLLABORATION,
            "startup",
            action,
            17,
        )
        assert link.expires == SENT + timedelta(days=30)
    assert links == SIGNER.links(COLLABORATION, "startup", 17, SENT), (
        "a retried delivery renders the same links"
    )


def test_a_rotated_key_still_verifies_and_keeps_the_link_id() -> None:
    """Prepend a new key: links signed with the old one still work, and keep their single use."""
    old = LinkSigner(KEYS[1:], "https://portal.example", 30)
    url = old.links(COLLABORATION, "corporate", 5, SENT)["on_it"]
    rotated = SIGNER.verify(token_of(url))
    assert rotated.id == old.verify(token_of(url)).id
    assert SIGNER.token(rotated).startswith("p1.k2.")
    with pytest.raises(BadLink):
        LinkSigner(parse_keys(f"k3:{new_key()}"), "https://portal.example", 30).verify(token_of(url))


def mutations(token: str, rng: random.Random) -> list[str]:
    fields = token.split(".")
    other_signer = LinkSigner(parse_keys(f"k2:{new_key()}"), "https://portal.example", 30)
    genuine = SIGNER.verify(token)
    out = []
    for _ in range(60):  # one character changed (a "bit flip" in the token's alphabet)
        i = rng.randrange(len(token))
        out.append(token[:i] + rng.choice([c for c in ALPHABET if c != token[i]]) + token[i + 1 :])
    for i, j in [(2, 3), (3, 4), (4, 5), (5, 6), (2, 5), (1, 2)]:  # two fields swapped
        swapped = fields.copy()
        swapped[i], swapped[j] = swapped[j], swapped[i]
        out.append(".".join(swapped))
    other_collaboration = fields.copy()
    other_collaboration[2] = "0" * 8 + COLLABORATION[8:]
    later = fields.copy()
    later[6] = str(int(fields[6]) + 86400)  # a longer life
    party = fields.copy()
    party[3] = "corporate" if fields[3] == "startup" else "startup"
    action = fields.copy()
    action[4] = "stopped" if fields[4] != "stopped" else "on_it"
    out += [".".join(f) for f in (other_collaboration, later, party, action)]
    out.append(other_signer.token(genuine))  # the same link under a key we do not hold
    out += [token[:-1], token + "A", token[:20], "", "p1", token.replace("p1.", "p2.", 1), token + ".x"]
    return [m for m in out if m != token]


def test_a_thousand_altered_tokens_are_all_refused() -> None:
    rng = random.Random(19)
    altered = [m for token in tokens() for m in mutations(token, rng)]
    assert len(altered) >= 1000
    accepted = []
    for token in altered:
        try:
            SIGNER.verify(token)
        except BadLink:
            continue
        accepted.append(token)
    assert accepted == []


def test_an_expired_link_is_genuine_but_expired() -> None:
    link = SIGNER.verify(token_of(SIGNER.links(COLLABORATION, "startup", 3, SENT)["pause"]))
    assert not link.expired(SENT + timedelta(days=29, hours=23))
    assert link.expired(SENT + timedelta(days=30))


def answerable(event: NotificationEvent) -> Notification:
    context = {
        "workflow_id": "collab-natixis-nabla", "corporate": "Natixis", "startup": "Nabla",
        "programme": "Coalition Next", "topic": "Triage", "stage": "pilot", "to_stage": "evaluation",
        "outcome": "", "actor": "system", "note": "", "at": SENT.isoformat(), "reminder_number": "1",
        "days_idle": "14", "next_reminder_at": "", "milestone": "", "evidence_url": "", "checklist": "",
        "playbook": "", "approval_for": "", "requested_by": "", "answer": "", "seq": "7", "party": "",
        "partner_action": "", "until": "",
    }  # fmt: skip
    return Notification(
        key=f"{COLLABORATION}/7/{event.value}",
        collaboration_id=COLLABORATION,
        workflow_id="collab-natixis-nabla",
        event=event,
        language="fr",
        recipients=[
            Recipient(name="Natixis", email="innovation@natixis.example", role="corporate"),
            Recipient(name="Nabla", email="partners@nabla.example", role="startup"),
        ],
        context=context,
    )


def test_each_party_gets_a_message_with_its_own_links() -> None:
    channel = SmtpChannel(
        SmtpSettings("localhost", 25, "none", None, sender="Programme <noreply@programme.example>"),
        Renderer("http://ui.example", "default", SIGNER),
    )
    messages = channel.messages(answerable(NotificationEvent.REMINDER))
    assert [[r.role for r in to] for to, _ in messages] == [["corporate"], ["startup"]]
    ids = {str(m["Message-ID"]) for _, m in messages}
    assert len(ids) == 2
    for to, message in messages:
        assert str(message["To"]).endswith(f"<{to[0].email}>")
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        own = SIGNER.links(COLLABORATION, to[0].role, 7, SENT)
        other = SIGNER.links(COLLABORATION, "startup" if to[0].role == "corporate" else "corporate", 7, SENT)
        assert all(url in text and f'href="{url}"' in html for url in own.values())
        assert not any(url in text or url in html for url in other.values())
        assert "Répondez en un clic" in text
    for url in SIGNER.links(COLLABORATION, "startup", 7, SENT).values():  # no personal data in a URL
        assert not any(word in url for word in ("Nabla", "nabla", "Natixis", "@"))


def test_without_a_portal_the_message_is_one_and_has_no_links() -> None:
    channel = SmtpChannel(
        SmtpSettings("localhost", 25, "none", None), Renderer("http://ui.example", "default")
    )
    [(to, message)] = channel.messages(answerable(NotificationEvent.REMINDER))
    assert len(to) == 2 and "/a/p1." not in message.as_string()
    closed = SmtpChannel(SmtpSettings("localhost", 25, "none", None), Renderer("http://ui", "d", SIGNER))
    ended = answerable(NotificationEvent.CLOSED)
    ended = ended.model_copy(update={"context": {**ended.context, "outcome": "declined"}})
    assert len(closed.messages(ended)) == 1  # nothing to answer


def test_the_portal_speaks_both_languages_with_the_same_words() -> None:
    assert set(TEXTS["fr"]) == set(TEXTS["en"])
    assert all(TEXTS["fr"][k] for k in TEXTS["fr"])


def test_a_link_id_leaves_the_key_out_and_tells_links_apart() -> None:
    a = Link(COLLABORATION, "startup", PartnerAction.ON_IT, 3, SENT)
    b = Link(COLLABORATION, "startup", PartnerAction.NEED_HELP, 3, SENT)
    assert (
        len(a.id) == 32
        and a.id != b.id
        and a.id == Link(COLLABORATION, "startup", PartnerAction.ON_IT, 3, SENT).id
    )
