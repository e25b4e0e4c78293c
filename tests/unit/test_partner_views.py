"""Operators see partners' answers: the status panel, the Web UI's current details, the timeline."""

from datetime import UTC, datetime, timedelta

from passerelle.audit.entries import RecordedEntry
from passerelle.audit.timeline import story
from passerelle.cli import consoles, output
from schemas.partners import PartnerAction, PartnerAnswer
from tests.factories import apply, request
from workflows.domain import stalls, views
from workflows.domain.state import CollaborationState

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def answered() -> CollaborationState:
    state = CollaborationState.begin(request(), "collab-w", "collab-c", NOW)
    state.start_entry(NOW)
    stalls.remind(state, NOW + timedelta(days=14))
    later = NOW + timedelta(days=15)
    apply(
        state,
        "partner_answer",
        PartnerAnswer(party="corporate", action=PartnerAction.PAUSE, link="1" * 32, answered_seq=2, days=20),
        later,
    )
    apply(
        state,
        "partner_answer",
        PartnerAnswer(
            party="startup", action=PartnerAction.STOPPED, link="2" * 32, answered_seq=2, note="Funding lost"
        ),
        later,
    )
    return state


def test_the_current_details_show_each_answer_and_the_withdrawal() -> None:
    details = views.current_details(answered(), NOW + timedelta(days=15))
    assert "- **Natixis answered**: pause until 2026-12-07 09:00 UTC on 2026-11-17 09:00 UTC" in details
    assert "- **Nabla answered**: stopped on 2026-11-17 09:00 UTC: Funding lost" in details
    assert "- **Withdrawal proposed** by Nabla on 2026-11-17 09:00 UTC: Funding lost" in details


def test_the_status_panel_shows_them_too() -> None:
    status = views.status(answered(), NOW + timedelta(days=15))
    console = consoles.plain_console(width=200, record=True)
    saved, output.console = output.console, console
    try:
        output.show_status(status, with_history=False)
    finally:
        output.console = saved
    text = console.export_text()
    assert "Answered    Natixis (corporate) pause until 2026-12-07 09:00 UTC" in text
    assert "Withdrawal  proposed by Nabla on 2026-11-17 09:00 UTC: Funding lost" in text


def test_the_timeline_says_who_answered_what_from_which_e_mail() -> None:
    state = answered()
    entries = [RecordedEntry(e, "collab-w", "run-1", 1, i) for i, e in enumerate(state.history)]
    lines = {line.event: line for line in story(entries, [])}
    pause = lines["partner answer: pause"]
    assert pause.by == "partner:corporate"
    assert pause.detail.startswith("pause until 2026-12-07T09:00:00+00:00 from innovation@natixis.example")
    assert "answering the e-mail of entry 2 (link 111111111111), cleared a stall" in pause.detail
    assert lines["partner answer: stopped"].detail.startswith(
        "Funding lost; stopped from partners@nabla.example"
    )
