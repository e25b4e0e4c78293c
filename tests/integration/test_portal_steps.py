"""Partners answer about a planned step from its real e-mails: held, postponed to a date, cancelled.

On a real Temporal (encrypted) and PostgreSQL, a collaboration plans a meeting three days ago (the
default grace of two days is over: it is missed at once) and a demo ahead. The question about the
missed meeting and the demo's invitation reach the SMTP sink, one message per party with that
party's links about that step; the test follows them as a partner's browser would. A postponement
with no date or a past one names the field and records nothing; with a good date it moves the
step, one `sequence` higher, and its new invitation goes out; the other party's "it took place"
then waits for the new time, its cancellation closes the step, and the link of a step no longer
planned says so. Nothing else changes anything: the
same link again, a link altered to name another step, a link of another step's e-mail, and a
link of another collaboration, which answers that collaboration only.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from jinja2 import ChoiceLoader, DictLoader, PackageLoader
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.channels.smtp import SmtpChannel, SmtpSettings
from activities.links import LinkSigner
from activities.rendering import Renderer
from passerelle.devstack.smtpsink import ReceivedMail, SinkHandler
from passerelle.portal import steps
from schemas import CollaborationStatus
from schemas.steps import PlanStep
from tests.conftest import WorkerFactory
from tests.e2e.cli import eventually
from tests.integration.mail import sink
from tests.integration.test_portal import KEYS, LINK, Portal_, portal
from tests.workflows.helpers import abandon, start

__all__ = ["portal", "sink"]  # the fixtures, used by name
ACTIONS = ("held", "postponed", "cancelled")
STEPS = """
SELECT seq, kind, actor, details FROM milestones
WHERE workflow_id = $1 AND kind LIKE 'step_%' ORDER BY seq
"""
# The invitation's own templates are another part's; any template extending the base ones shows
# the links the same way (the packaged templates come first when they exist).
INVITATION = DictLoader(
    {
        f"{lang}/step_invitation.{part}.j2": body
        for lang in ("fr", "en")
        for part, body in (
            ("subject", "Invitation {{ step }}"),
            ("txt", f'{{% extends "{lang}/_base.txt.j2" %}}{{% block body %}}{{{{ step }}}}{{% endblock %}}'),
            (
                "html",
                f'{{% extends "{lang}/_base.html.j2" %}}{{% block body %}}{{{{ step }}}}{{% endblock %}}',
            ),
        )
    }
)


def channel(port: int) -> SmtpChannel:
    settings = SmtpSettings("127.0.0.1", port, "none", None, sender="Programme <noreply@programme.example>")
    templates = ChoiceLoader([PackageLoader("activities", "templates"), INVITATION])
    signer = LinkSigner(KEYS, "http://portal.example", 30)
    return SmtpChannel(settings, Renderer("http://ui.example", "default", signer, templates))


async def mails(handler: SinkHandler, key: str, count: int = 3) -> dict[str, ReceivedMail]:
    """Wait for the `count` messages of notification `key`; return them by recipient."""

    async def arrived() -> dict[str, ReceivedMail]:
        found = {m.rcpt_tos[0]: m for m in handler.received if m.message["X-Passerelle-Key"] == key}
        assert len(found) == count, (key, [m.message["X-Passerelle-Key"] for m in handler.received])
        return found

    return await eventually(arrived, seconds=60)


def step_links(mail: ReceivedMail) -> dict[str, str]:
    """Return a step e-mail's links by action, from its plain text, as a reader would click."""
    found = LINK.findall(mail.body("plain"))
    assert len(found) == 3 and all("/a/p2." in url for url in found), mail.body("plain")
    return dict(zip(ACTIONS, found, strict=True))


async def plan(handle: WorkflowHandle[Any, Any], kind: str, at: datetime) -> CollaborationStatus:
    request = PlanStep.model_validate({"kind": kind, "at": at, "minutes": 15, "by": "ops@programme.example"})
    status: CollaborationStatus = await handle.execute_update(
        "plan_step", request, result_type=CollaborationStatus
    )
    return status


async def entries(pool: asyncpg.Pool, workflow_id: str) -> list[tuple[str, str, str]]:
    return [(r["kind"], r["actor"], r["details"]["step"]) for r in await pool.fetch(STEPS, workflow_id)]


async def test_partners_answer_about_planned_steps_and_nothing_else_changes_anything(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    portal: Portal_,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    handler, port = sink
    async with run_worker(dev_env.client, channels=[channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue, language="en")
        other = await start(dev_env.client, f"{workflow_id}-b", task_queue, language="en")
        now = datetime.now(UTC)
        collaboration_id = (await plan(handle, "meeting", now - timedelta(days=3))).collaboration_id
        other_id = (await plan(other, "meeting", now - timedelta(days=3))).collaboration_id

        async def missed() -> int:
            rows = await pool.fetch(STEPS, workflow_id)
            [seq] = [r["seq"] for r in rows if r["kind"] == "step_missed"]
            return int(seq)

        missed_seq = await eventually(missed)
        await plan(handle, "demo", now + timedelta(days=10))  # once the meeting is missed: in order
        question = await mails(handler, f"{collaboration_id}/{missed_seq}/step_missed")
        startup, corporate = (
            step_links(question[a]) for a in ("partners@nabla.example", "innovation@natixis.example")
        )
        assert not set(startup.values()) & set(corporate.values()), "each party has its own links"
        assert "has no news: did it take place?" in question["partners@nabla.example"].body("plain")
        assert not LINK.findall(question["operator@programme.example"].body("plain")), "the owner has none"
        [demo_seq] = [r["seq"] for r in await pool.fetch(STEPS, workflow_id) if r["details"]["step"] == "s2"]
        demo = step_links(
            (await mails(handler, f"{collaboration_id}/{demo_seq}/step_invitation"))["partners@nabla.example"]
        )

        # The postponement's page asks for the new date; opening it changes nothing.
        response, html = await portal.get(startup["postponed"])
        assert response.status == 200 and 'type="datetime-local"' in html and 'name="at"' in html
        planned = steps.field_value(now - timedelta(days=3))
        assert f"About the meeting planned on {planned.replace('T', ' ')} (Paris time)." in html

        # No date, or one past: one error naming the field and its rule; nothing recorded.
        for form in ({}, {"at": steps.field_value(now - timedelta(hours=1))}):
            code, html = await portal.confirm(startup["postponed"], form)
            assert code == 400 and html.count("New date and time (Paris time): choose a date and time") == 1
        before = await entries(pool, workflow_id)
        assert before == [
            ("step_planned", "ops@programme.example", "s1"),
            ("step_missed", "system", "s1"),
            ("step_planned", "ops@programme.example", "s2"),
        ]

        # A good date: the step moves, one sequence higher, and its invitation goes out again.
        new_at = (now + timedelta(days=7)).replace(second=0, microsecond=0)
        code, html = await portal.confirm(
            startup["postponed"], {"at": steps.field_value(new_at), "note": "Jury"}
        )
        assert code == 200 and f"Moved to {steps.field_value(new_at).replace('T', ' ')} (Paris time)" in html
        rows = await pool.fetch(STEPS, workflow_id)
        moved = rows[-1]
        assert (moved["kind"], moved["actor"]) == ("step_rescheduled", "partner:startup")
        details = moved["details"]
        assert (details["step"], details["sequence"], details["action"]) == ("s1", 1, "postponed")
        assert datetime.fromisoformat(details["at"]) == new_at
        assert details["previous_at"] == rows[0]["details"]["at"]
        invitation = await mails(handler, f"{collaboration_id}/{moved['seq']}/step_invitation")
        step_links(invitation["innovation@natixis.example"])  # the moved step can be answered again

        # The same link again, by GET or POST: already used.
        response, html = await portal.get(startup["postponed"])
        assert response.status == 409 and "This link has already been used" in html

        # The demo's link altered to name the meeting: the signature fails.
        altered = demo["held"].replace(".s2.", ".s1.")
        assert altered != demo["held"]
        response, html = await portal.get(altered)
        assert response.status == 400 and "This link is not valid" in html
        # A genuine link about the demo, of the meeting's e-mail: no such e-mail.
        signer = LinkSigner(KEYS, portal.base, 30)
        elsewhere = signer.links(collaboration_id, "startup", missed_seq, now, step="s2")["cancelled"]
        response, html = await portal.get(elsewhere)
        assert response.status == 400 and "This link is not valid" in html

        # Another collaboration's link answers that collaboration only.
        async def other_missed() -> int:
            rows = await pool.fetch(STEPS, f"{workflow_id}-b")
            [seq] = [r["seq"] for r in rows if r["kind"] == "step_missed"]
            return int(seq)

        other_seq = await eventually(other_missed)
        other_links = step_links(
            (await mails(handler, f"{other_id}/{other_seq}/step_missed"))["partners@nabla.example"]
        )
        code, html = await portal.confirm(other_links["held"])
        assert code == 200 and "The programme sees that it took place" in html
        assert (await entries(pool, f"{workflow_id}-b"))[-1] == ("step_held", "partner:startup", "s1")

        # The other party says it took place: the start-up has moved it to next week, so the
        # form says when it is planned and sends nothing. It cancels it instead; then the
        # start-up's own "it took place" is about a step no longer planned (its link released).
        code, html = await portal.confirm(corporate["held"], {"note": "It went well"})
        assert code == 400 and "answer once it has taken place" in html
        assert html.count(steps.field_value(new_at).replace("T", " ")) >= 1
        code, html = await portal.confirm(corporate["cancelled"])
        assert code == 200 and "Cancelled" in html
        code, html = await portal.confirm(startup["held"])
        assert code == 409 and "This step is no longer planned" in html

        # The demo, cancelled from its invitation: the cancellation goes to everyone, no links.
        code, html = await portal.confirm(demo["cancelled"], {"note": "No budget"})
        assert code == 200 and "Cancelled" in html
        rows = await pool.fetch(STEPS, workflow_id)
        cancellation = await mails(handler, f"{collaboration_id}/{rows[-1]['seq']}/step_invitation", count=1)
        assert not LINK.findall(next(iter(cancellation.values())).body("plain"))

        assert await entries(pool, workflow_id) == [
            *before,
            ("step_rescheduled", "partner:startup", "s1"),
            ("step_cancelled", "partner:corporate", "s1"),
            ("step_cancelled", "partner:startup", "s2"),
        ]
        await abandon(handle)
        await abandon(other)

    used = await pool.fetch(
        "SELECT party, action, step, used_at IS NOT NULL AS used FROM portal_links "
        "WHERE collaboration_id = $1 ORDER BY action, party",
        collaboration_id,
    )
    assert [(u["party"], u["action"], u["step"], u["used"]) for u in used] == [
        ("corporate", "cancelled", "s1", True),
        ("startup", "cancelled", "s2", True),
        ("startup", "held", "s1", False),  # refused, released: nothing was recorded
        ("startup", "postponed", "s1", True),
    ]
