"""Calendar invitations over real SMTP: a planned step, moved then cancelled, on a real workflow
and worker, read from an aiosmtpd sink and parsed by icalendar and vobject."""

from datetime import UTC, datetime
from email.message import EmailMessage

import asyncpg
import vobject
from icalendar import Calendar
from temporalio.testing import WorkflowEnvironment

from passerelle.devstack.smtpsink import SinkHandler
from tests.conftest import WorkerFactory
from tests.integration.mail import PARTIES, in_order, settled, sink, smtp_channel
from tests.workflows.helpers import abandon, start

__all__ = ["sink"]  # the fixture, used by name

BY = "ops@programme.example"
OWNER = "operator@programme.example"


def invitation_parts(message: EmailMessage) -> tuple[str, bytes]:
    """Return the text/calendar alternative (its method checked) and the invite.ics attachment."""
    (alternative,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() in ("application/ics", "text/calendar")
    return str(alternative.get_content()), bytes(attachment.get_content())


async def test_a_planned_step_sends_invitations_calendars_accept(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    sink: tuple[SinkHandler, int],
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """plan, reschedule (across the spring clock change), cancel: three e-mails to both parties and
    the owner, each with the same event (UID) at a higher SEQUENCE, REQUEST then CANCEL."""
    handler, port = sink
    async with run_worker(dev_env.client, channels=[smtp_channel(port)]):
        handle = await start(dev_env.client, workflow_id, task_queue)
        plan = {
            "kind": "meeting",
            "at": "2027-03-30T10:00:00+02:00",
            "minutes": 60,
            "where": "Station F",
            "by": BY,
        }
        await handle.execute_update("plan_step", plan)
        await handle.execute_update(
            "reschedule_step", {"step": "s1", "at": "2027-03-26T10:00:00+01:00", "by": BY}
        )
        await handle.execute_update(
            "cancel_step", {"step": "s1", "note": "Pilot paused; C:\\Nabla\\notes", "by": BY}
        )
        rows = await settled(pool, workflow_id, 4)  # the introduction, then the three invitations
        await abandon(handle)
    assert [(r["event"], r["status"]) for r in rows] == [("started", "sent")] + [
        ("step_invitation", "sent")
    ] * 3
    mails = [m for m in in_order(handler.received) if "step_invitation" in str(m.message["X-Passerelle-Key"])]
    assert len(mails) == 3
    subjects = [str(m.message["Subject"]) for m in mails]
    assert subjects == [
        "[French Tech Corporate Community] Invitation : Réunion, Natixis × Nabla, "
        "mardi 30 mars 2027 à 10:00 (heure de Paris, UTC+2)",
        "[French Tech Corporate Community] Invitation mise à jour : Réunion, Natixis × Nabla, "
        "vendredi 26 mars 2027 à 10:00 (heure de Paris, UTC+1)",
        "[French Tech Corporate Community] Annulation : Réunion, Natixis × Nabla, "
        "vendredi 26 mars 2027 à 10:00 (heure de Paris, UTC+1)",
    ]
    expected = [
        ("REQUEST", 0, "CONFIRMED", datetime(2027, 3, 30, 8, tzinfo=UTC), "20270330T100000"),
        ("REQUEST", 1, "CONFIRMED", datetime(2027, 3, 26, 9, tzinfo=UTC), "20270326T100000"),
        ("CANCEL", 2, "CANCELLED", datetime(2027, 3, 26, 9, tzinfo=UTC), "20270326T100000"),
    ]
    uids = set()
    for mail, (method, sequence, status, start_at, wall) in zip(mails, expected, strict=True):
        assert sorted(mail.rcpt_tos) == sorted([*PARTIES, OWNER])
        alternative, attached = invitation_parts(mail.message)
        (calendar_part,) = [p for p in mail.message.walk() if p.get_content_type() == "text/calendar"]
        assert calendar_part.get_param("method") == method
        assert alternative.replace("\r\n", "\n") == attached.decode().replace("\r\n", "\n")
        ours = Calendar.from_ical(attached)
        theirs = vobject.readOne(attached.decode())
        assert str(ours["METHOD"]) == theirs.method.value == method
        (event,) = ours.events
        assert event["SEQUENCE"] == int(theirs.vevent.sequence.value) == sequence
        assert str(event["STATUS"]) == theirs.vevent.status.value == status
        assert event.start.astimezone(UTC) == theirs.vevent.dtstart.value.astimezone(UTC) == start_at
        assert f"DTSTART;TZID=Europe/Paris:{wall}".encode() in attached
        assert str(event["ORGANIZER"]) == f"mailto:{OWNER}"
        assert sorted(str(a) for a in event["ATTENDEE"]) == sorted(f"mailto:{p}" for p in PARTIES)
        assert str(event["LOCATION"]) == "Station F"
        uids.add(str(event["UID"]))
    assert len(uids) == 1 and uids.pop().endswith("-s1@passerelle")
    assert str(Calendar.from_ical(invitation_parts(mails[2].message)[1]).events[0]["DESCRIPTION"]) == (
        "Pilot paused; C:\\Nabla\\notes"
    )
    assert "du mardi 30 mars 2027 à 10:00 (heure de Paris, UTC+2) au vendredi 26 mars" in mails[1].body(
        "plain"
    )
