"""The invitations of planned steps (`activities.calendar`): every .ics is read back by two
independent parsers, icalendar and vobject, and checked on what calendar clients act on: METHOD,
UID, SEQUENCE, the times around the Europe/Paris clock changes, and text that tries to break out.

vobject reads the times through the invitation's own VTIMEZONE (dateutil's `tzical`), icalendar
through its TZID and the system's zone rules: both must give the same instants.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from activities.calendar import invitation
from activities.channels import PermanentDeliveryError
from schemas import Notification, NotificationEvent, Recipient

PARIS = "Europe/Paris"
ORGANIZER = "operator@programme.example"
ATTENDEES = ["innovation@natixis.example", "partners@nabla.example"]


def facts(**changes: Any) -> dict[str, Any]:
    """Return the calendar facts as `workflows.domain.notifications` writes them."""
    return {
        "uid": "cid-1-s1@passerelle",
        "sequence": 0,
        "method": "REQUEST",
        "kind": "meeting",
        "start": "2027-03-30T08:00:00+00:00",
        "minutes": 60,
        "where": "Station F, Paris",
        "note": "Bring the pilot report",
        "summary": "Natixis × Nabla: meeting",
        "organizer": ORGANIZER,
        "attendees": ATTENDEES,
        "time_zone": PARIS,
        "stamp": "2027-03-01T09:15:00+00:00",
    } | changes


def notification(calendar: dict[str, Any] | str, language: str = "fr") -> Notification:
    raw = calendar if isinstance(calendar, str) else json.dumps(calendar, ensure_ascii=False)
    return Notification(
        key="cid-1/4/step_invitation",
        collaboration_id="cid-1",
        workflow_id="collab-natixis-nabla",
        event=NotificationEvent.STEP_INVITATION,
        language=language,
        recipients=[Recipient(name="Natixis", email=ATTENDEES[0], role="corporate")],
        context={"calendar": raw},
    )


def written(language: str = "fr", **changes: Any) -> bytes:
    found = invitation(notification(facts(**changes), language))
    assert found is not None
    return found.ics


def both(ics: bytes) -> tuple[Any, Any]:
    """Parse with both libraries; return the VEVENT of each, after checking there is one only."""
    calendar = Calendar.from_ical(ics)
    assert len(calendar.walk("VEVENT")) == 1
    objects = list(vobject.readComponents(ics.decode()))
    assert len(objects) == 1 and len(objects[0].vevent_list) == 1
    return calendar.events[0], objects[0].vevent


def test_a_request_has_what_clients_act_on() -> None:
    """METHOD, PRODID, VERSION, UID, SEQUENCE, DTSTAMP, people and status, read by both parsers."""
    ics = written()
    calendar = Calendar.from_ical(ics)
    assert (str(calendar["METHOD"]), str(calendar["VERSION"])) == ("REQUEST", "2.0")
    assert str(calendar["PRODID"]) == "-//Passerelle//Planned steps//EN"
    ours, theirs = both(ics)
    assert str(ours["UID"]) == theirs.uid.value == "cid-1-s1@passerelle"
    assert ours["SEQUENCE"] == int(theirs.sequence.value) == 0
    assert ours["DTSTAMP"].dt == theirs.dtstamp.value == datetime(2027, 3, 1, 9, 15, tzinfo=UTC)
    assert str(ours["SUMMARY"]) == theirs.summary.value == "Réunion : Natixis × Nabla"
    assert str(ours["LOCATION"]) == theirs.location.value == "Station F, Paris"
    assert str(ours["DESCRIPTION"]) == theirs.description.value == "Bring the pilot report"
    assert str(ours["STATUS"]) == theirs.status.value == "CONFIRMED"
    assert str(ours["ORGANIZER"]) == theirs.organizer.value == f"mailto:{ORGANIZER}"
    assert [str(a) for a in ours["ATTENDEE"]] == [a.value for a in theirs.attendee_list]
    assert [a.value for a in theirs.attendee_list] == [f"mailto:{a}" for a in ATTENDEES]
    for attendee in theirs.attendee_list:
        assert attendee.params == {
            "ROLE": ["REQ-PARTICIPANT"],
            "PARTSTAT": ["NEEDS-ACTION"],
            "RSVP": ["TRUE"],
        }
    assert ours["DTSTART"].params["TZID"] == PARIS


@pytest.mark.parametrize(
    ("language", "kind", "summary"),
    [
        ("fr", "meeting", "Réunion : Natixis × Nabla"),
        ("en", "meeting", "Meeting: Natixis × Nabla"),
        ("fr", "demo", "Démo : Natixis × Nabla"),
        ("en", "document", "Document due: Natixis × Nabla"),
        ("fr", "decision", "Décision go/no-go : Natixis × Nabla"),
        ("en", "decision", "Go/no-go decision: Natixis × Nabla"),
        ("de", "demo", "Demo: Natixis × Nabla"),  # another language reads English, as the e-mails
    ],
)
def test_the_summary_names_the_kind_in_the_language(language: str, kind: str, summary: str) -> None:
    ours, theirs = both(written(language, kind=kind, summary=f"Natixis × Nabla: {kind}"))
    assert str(ours["SUMMARY"]) == theirs.summary.value == summary


def test_a_name_ending_like_a_kind_keeps_its_words() -> None:
    """Only the domain's own `: kind` suffix is replaced by the label."""
    ours, _ = both(written("en", summary="A: meeting × B: meeting: meeting"))
    assert str(ours["SUMMARY"]) == "Meeting: A: meeting × B: meeting"


# (UTC start, minutes, Paris wall start, Paris wall end or None when written in UTC, UTC end)
DST = [
    ("2027-03-27T09:00:00+00:00", 60, "20270327T100000", "20270327T110000", "2027-03-27T10:00:00+00:00"),
    ("2027-03-29T08:00:00+00:00", 60, "20270329T100000", "20270329T110000", "2027-03-29T09:00:00+00:00"),
    # Across the 02:00 -> 03:00 jump: 90 minutes of elapsed time end at 04:00, not 03:00.
    ("2027-03-28T00:30:00+00:00", 90, "20270328T013000", "20270328T040000", "2027-03-28T02:00:00+00:00"),
    ("2027-10-30T08:00:00+00:00", 60, "20271030T100000", "20271030T110000", "2027-10-30T09:00:00+00:00"),
    ("2027-10-31T09:00:00+00:00", 60, "20271031T100000", "20271031T110000", "2027-10-31T10:00:00+00:00"),
    # The night clocks go back, 03:00 -> 02:00: 02:30 comes twice. The first is written as Paris
    # time; the second in UTC, since readers take a repeated wall time as its first occurrence.
    ("2027-10-31T00:30:00+00:00", 60, "20271031T023000", None, "2027-10-31T01:30:00+00:00"),
    ("2027-10-31T01:30:00+00:00", 60, None, "20271031T033000", "2027-10-31T02:30:00+00:00"),
    ("2026-12-31T22:30:00+00:00", 60, "20261231T233000", "20270101T003000", "2026-12-31T23:30:00+00:00"),
]


@pytest.mark.parametrize(("start", "minutes", "wall_start", "wall_end", "end"), DST)
def test_times_around_the_clock_changes(
    start: str, minutes: int, wall_start: str | None, wall_end: str | None, end: str
) -> None:
    """Wall times in Paris with TZID, and the same UTC instants through both parsers."""
    ics = written(start=start, minutes=minutes)
    ours, theirs = both(ics)
    for prop, wall, instant in (("DTSTART", wall_start, start), ("DTEND", wall_end, end)):
        expected = datetime.fromisoformat(instant)
        event = ics.decode().split("BEGIN:VEVENT")[1].split("\r\n")
        line = next(ln for ln in event if ln.startswith(prop))
        if wall is None:
            assert line == f"{prop}:{expected.strftime('%Y%m%dT%H%M%SZ')}"
        else:
            assert line == f"{prop};TZID={PARIS}:{wall}"
        assert ours[prop].dt.astimezone(UTC) == expected
        assert getattr(theirs, prop.lower()).value.astimezone(UTC) == expected


@pytest.mark.parametrize("start", ["2027-03-30T08:00:00+00:00", "2027-12-01T09:00:00+00:00"])
def test_the_time_zone_is_sent_with_both_observances(start: str) -> None:
    """One VTIMEZONE for Europe/Paris, STANDARD (+01) and DAYLIGHT (+02), that alone places the
    clock changes of the event's year right."""
    calendar = Calendar.from_ical(written(start=start))
    (zone,) = calendar.timezones
    assert zone.tz_name == PARIS
    kinds = {(c.name, c["TZOFFSETTO"].to_ical()) for c in zone.subcomponents}
    assert ("STANDARD", "+0100") in kinds and ("DAYLIGHT", "+0200") in kinds
    own = zone.to_tz(lookup_tzid=False)  # the rules the component states, not the system's
    assert datetime(2027, 3, 27, 10, tzinfo=own).astimezone(UTC) == datetime(2027, 3, 27, 9, tzinfo=UTC)
    assert datetime(2027, 3, 29, 10, tzinfo=own).astimezone(UTC) == datetime(2027, 3, 29, 8, tzinfo=UTC)
    assert datetime(2027, 11, 2, 10, tzinfo=own).astimezone(UTC) == datetime(2027, 11, 2, 9, tzinfo=UTC)


def test_a_reschedule_updates_the_same_event() -> None:
    """Same UID, a higher SEQUENCE, the new time: clients replace the event they have."""
    first, _ = both(written())
    moved_ours, moved_theirs = both(written(sequence=1, start="2027-04-02T12:00:00+00:00"))
    assert str(moved_ours["UID"]) == moved_theirs.uid.value == str(first["UID"])
    assert int(moved_theirs.sequence.value) == moved_ours["SEQUENCE"] == first["SEQUENCE"] + 1
    assert moved_ours["DTSTART"].dt.astimezone(UTC) == datetime(2027, 4, 2, 12, tzinfo=UTC)
    assert moved_ours["DTSTART"].dt != first["DTSTART"].dt


def test_a_cancellation_is_method_cancel_and_status_cancelled() -> None:
    ics = written(method="CANCEL", sequence=2)
    assert str(Calendar.from_ical(ics)["METHOD"]) == "CANCEL"
    assert vobject.readOne(ics.decode()).method.value == "CANCEL"
    ours, theirs = both(ics)
    assert str(ours["STATUS"]) == theirs.status.value == "CANCELLED"
    assert (ours["SEQUENCE"], str(ours["UID"])) == (2, "cid-1-s1@passerelle")
    assert b"METHOD:REQUEST" not in ics and b"CONFIRMED" not in ics


def test_the_same_notification_gives_the_same_bytes() -> None:
    """Each party's message carries the same invitation, and a retry the same again."""
    assert written() == written()


def test_an_erased_address_is_not_invited() -> None:
    """A pseudonym (an erased contact) is nobody's address; the other attendees stay."""
    _, theirs = both(written(attendees=["erased:0123456789ab", ATTENDEES[1]]))
    assert [a.value for a in theirs.attendee_list] == [f"mailto:{ATTENDEES[1]}"]
    _, near = both(written(attendees=["erased:0123456789ab@natixis.example"]))  # an address
    assert [a.value for a in near.attendee_list] == ["mailto:erased:0123456789ab@natixis.example"]


def test_an_address_holding_a_line_break_stays_one_address() -> None:
    """Addresses are checked before they get here; the invitation does not rely on it."""
    ours, theirs = both(written(organizer="owner@x.example\r\nATTENDEE:mailto:victim@evil.example"))
    assert (
        str(ours["ORGANIZER"])
        == theirs.organizer.value
        == "mailto:owner@x.exampleATTENDEE:mailto:victim@evil.example"
    )
    assert [a.value for a in theirs.attendee_list] == [f"mailto:{a}" for a in ATTENDEES]


def test_empty_place_and_note_leave_their_properties_out() -> None:
    ours, _ = both(written(where="", note=""))
    assert "LOCATION" not in ours and "DESCRIPTION" not in ours


def test_a_notification_without_calendar_has_no_invitation() -> None:
    assert invitation(notification("")) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"minutes": -5}, "calendar.minutes"),
        ({"method": "PUBLISH"}, "calendar.method"),
        ({"start": "2027-03-30T10:00:00"}, "calendar.start"),  # no offset: whose 10:00?
        ({"uid": ""}, "calendar.uid"),
        ({"time_zone": "Europe/Nowhere"}, "calendar.time_zone"),
    ],
)
def test_bad_facts_are_one_permanent_error_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PermanentDeliveryError, match=rf"^the invitation cannot be written: {field}"):
        invitation(notification(facts(**change)))


def test_json_that_is_not_an_object_is_a_permanent_error() -> None:
    with pytest.raises(PermanentDeliveryError, match="the invitation cannot be written"):
        invitation(notification("{not json"))


def test_a_backslash_before_n_stays_a_backslash() -> None:
    """`\\N` is a line break in iCalendar: a path in a note keeps its backslashes."""
    ours, theirs = both(written(note="C:\\Users\\Nabla\\notes", where="\\N\\n"))
    assert str(ours["DESCRIPTION"]) == theirs.description.value == "C:\\Users\\Nabla\\notes"
    assert str(ours["LOCATION"]) == theirs.location.value == "\\N\\n"


INJECTIONS = [
    "\r\nBEGIN:VEVENT\r\nUID:evil\r\nEND:VEVENT\r\n",
    "\nEND:VCALENDAR\nBEGIN:VCALENDAR\n",
    "\rATTENDEE:mailto:victim@evil.example",
    "\nORGANIZER:mailto:evil@evil.example",
    ";TZID=Mars/Olympus:",
    ",",
    ";",
    "\\",
    "\\n",
    "\\N",
    "C:\\Users\\Nabla",
    ":",
    '"',
    "^",
    "\u202e",  # right-to-left override
    "\u2066\u2069",  # isolates
    "\u2028\u2029",  # line and paragraph separators
    "\x0b\x0c\x1c\x1d\x1e\x85",  # str.splitlines ends lines at these
    "é" * 80,  # folded inside the two-byte characters
    "x" * 300,
    "𝄞" * 30,  # four bytes each
    " ",
]
HOSTILE = st.lists(
    st.sampled_from(INJECTIONS) | st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    max_size=6,
).map("".join)


# RFC 5545's CONTROL (3.1) and the C1 controls: no TEXT value may hold them; tab is allowed.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def sent(text: str) -> str:
    """Return a text as the invitation must carry it: CR LF and CR as LF, controls left out."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "", text.replace("\r\n", "\n").replace("\r", "\n"))


@settings(max_examples=300, deadline=None)
@given(
    corporate=HOSTILE, startup=HOSTILE, where=HOSTILE, note=HOSTILE, language=st.sampled_from(["fr", "en"])
)
def test_hostile_text_round_trips_and_injects_nothing(
    corporate: str, startup: str, where: str, note: str, language: str
) -> None:
    """Whatever the names, place and note hold, both parsers read one event with exactly the
    properties written, each text as sent (line breaks as LF, no control characters)."""
    ics = written(language, summary=f"{corporate} × {startup}: demo", kind="demo", where=where, note=note)
    ours, theirs = both(ics)
    label = "Démo : " if language == "fr" else "Demo: "
    assert str(ours["SUMMARY"]) == theirs.summary.value == sent(f"{label}{corporate} × {startup}")
    for prop, value in (("LOCATION", sent(where)), ("DESCRIPTION", sent(note))):
        if value:
            assert str(ours[prop]) == getattr(theirs, prop.lower()).value == value
        else:
            assert prop not in ours
    expected = {
        "SUMMARY",
        "DTSTART",
        "DTEND",
        "DTSTAMP",
        "UID",
        "SEQUENCE",
        "ATTENDEE",
        "ORGANIZER",
        "STATUS",
    }
    expected |= {p for p, v in (("LOCATION", sent(where)), ("DESCRIPTION", sent(note))) if v}
    assert set(ours.keys()) == expected
    assert {k.upper() for k in theirs.contents} == expected
    assert str(ours["UID"]) == "cid-1-s1@passerelle" and ours["SEQUENCE"] == 0
    assert [a.value for a in theirs.attendee_list] == [f"mailto:{a}" for a in ATTENDEES]
    assert theirs.dtstart.value.astimezone(UTC) == datetime(2027, 3, 30, 8, tzinfo=UTC)
    calendar = Calendar.from_ical(ics)
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE", "VEVENT"]
    lines = ics.split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) <= 75 for line in lines), "folded at 75 octets"
    assert b"\n" not in ics.replace(b"\r\n", b""), "no bare line feed"
    assert not CONTROL.search(ics.decode().replace("\r\n", "")), "RFC 5545 TEXT holds no control character"
