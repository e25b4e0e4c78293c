"""`erase_contact` on a collaboration's state: the address leaves every field, and nobody is
written to in its place when no replacement is given (pure rules of `workflows.domain.privacy_ops`)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.cli import output
from schemas import Closure, EventKind, MilestoneRequest, Outcome, PauseRequest
from schemas.privacy import ContactErasure, pseudonym_of
from tests.factories import EXAMPLE, apply, request
from workflows.domain import views
from workflows.domain.notifications import notification_for
from workflows.domain.state import CollaborationState
from workflows.domain.transitions import Refused
from workflows.domain.updates import UPDATES

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
ADDRESS = EXAMPLE["startup"]["contact_email"]
PSEUDONYM = pseudonym_of(ADDRESS, b"secret")


def talked_about() -> CollaborationState:
    state = CollaborationState.begin(request(), "collab-w", "collab-c", NOW)
    state.start_entry(NOW)
    apply(
        state,
        "record_milestone",
        MilestoneRequest(kind="call", by=ADDRESS.upper(), note=f"Ask {ADDRESS} for the deck"),
        NOW,
    )
    return state


def erasure(replacement: str | None = None) -> ContactErasure:
    return ContactErasure(
        email=ADDRESS,
        pseudonym=PSEUDONYM,
        replacement=replacement,
        by="dpo",
        reason="GDPR 42",
        next_key="a" * 24,
    )


def test_a_replacement_takes_the_contact_field_and_the_pseudonym_every_other_place() -> None:
    state = talked_about()
    entry = apply(state, "erase_contact", erasure("new@nabla.example"), NOW + timedelta(days=1))
    assert state.request.startup.contact_email == "new@nabla.example"
    assert ADDRESS.lower() not in state.model_dump_json().lower()
    assert PSEUDONYM in state.history[1].note and state.history[1].actor == PSEUDONYM
    assert entry.kind is EventKind.CONTACT_ERASED and entry.details is not None
    assert entry.details["parties"] == ["startup"] and entry.details["replaced"] is True
    assert ADDRESS not in str(entry.details), "the record names the pseudonym, never the address"
    assert not state.paused and state.erased_parties == []
    assert state.rekey is not None and state.rekey.key == "a" * 24 and not state.rekey.activated


def test_without_a_replacement_nobody_is_written_to_and_the_reminders_pause() -> None:
    state = talked_about()
    apply(state, "erase_contact", erasure(), NOW + timedelta(days=1))
    assert state.request.startup.contact_email == PSEUDONYM
    assert state.paused and state.next_reminder_at is None and state.erased_parties == ["startup"]
    entry = state.append(EventKind.CLOSED, NOW + timedelta(days=2), actor="ops", outcome=Outcome.ABANDONED)
    notification = notification_for(state, entry)
    assert notification is not None
    assert [r.role for r in notification.recipients] == ["corporate", "owner"], "never the pseudonym"
    status = views.status(state, NOW + timedelta(days=2))
    assert status.erased_parties == ["startup"] and status.erasure_under_way
    assert CollaborationState.model_validate_json(state.model_dump_json()) == state, "it carries over"


def test_the_status_panel_says_whose_contact_was_erased(capsys: pytest.CaptureFixture[str]) -> None:
    state = talked_about()
    apply(state, "erase_contact", erasure(), NOW)
    output.show_status(views.status(state, NOW), with_history=False)
    shown = " ".join(capsys.readouterr().out.split())
    assert "the startup contact (no replacement)" in shown and "moving to a new data key" in shown


def test_a_second_erasure_waits_for_the_first_and_a_closed_collaboration_refuses() -> None:
    state = talked_about()
    apply(state, "erase_contact", erasure(), NOW)
    with pytest.raises(Refused) as info:
        UPDATES["erase_contact"].rule(state, erasure())
    assert info.value.type == "ErasureUnderWay"
    closed = talked_about()
    apply(closed, "close", Closure(outcome=Outcome.ABANDONED, by="ops", reason="over"), NOW)
    with pytest.raises(Refused) as info:
        UPDATES["erase_contact"].rule(closed, erasure())
    assert info.value.type == "CollaborationClosed"


def test_a_pseudonym_is_stable_keyed_and_case_blind() -> None:
    assert pseudonym_of("Ana@Nabla.example", b"k") == pseudonym_of("ana@nabla.example", b"k")
    assert pseudonym_of("ana@nabla.example", b"k") != pseudonym_of("ana@nabla.example", b"other key")
    assert pseudonym_of("ana@nabla.example", b"k") != pseudonym_of("bob@nabla.example", b"k")


def test_neighbours_of_the_address_are_left_alone_in_the_state() -> None:
    """Only the whole address is replaced: `jo`+address, a longer domain, a plus-address stay."""
    neighbours = [f"jo{ADDRESS}", f"{ADDRESS}.org", ADDRESS.replace("@", "+news@")]
    state = CollaborationState.begin(
        request(owner_email=neighbours[0], corporate={"name": "Natixis", "contact_email": neighbours[1]}),
        "collab-w",
        "collab-c",
        NOW,
    )
    apply(
        state,
        "record_milestone",
        MilestoneRequest(kind="call", by=neighbours[2], note=f"{' '.join(neighbours)}\n{ADDRESS.upper()}."),
        NOW,
    )
    apply(state, "erase_contact", erasure(), NOW)
    dumped = state.model_dump_json()
    assert (
        state.request.owner_email == neighbours[0] and state.request.corporate.contact_email == neighbours[1]
    )
    assert state.history[-2].actor == neighbours[2]
    assert state.history[-2].note == f"{' '.join(neighbours)}\n{PSEUDONYM}."
    assert all(dumped.count(n) >= 1 for n in neighbours)


SHORT = "a@b.c"  # the shortest address: its pseudonym is 14 characters longer


@given(
    where=st.sampled_from(["topic", "corporate", "label", "tag", "note", "reason", "by", "link", "userinfo"]),
    filler=st.integers(min_value=0, max_value=4000),
)
def test_an_erasure_never_makes_a_field_invalid(where: str, filler: int) -> None:
    """A field that held the address at its longest bound still validates with the pseudonym, in
    the state and in the next run's input (continue-as-new decodes it again)."""
    bounds = {"topic": 200, "corporate": 200, "label": 40, "tag": 50, "note": 4000, "reason": 4000, "by": 200}
    room = bounds.get(where, 200) - len(SHORT) - 1
    text = ("x" * min(filler, room)) + " " + SHORT
    changes: dict[str, object] = {}
    if where == "topic":
        changes["topic"] = text
    elif where == "corporate":
        changes["corporate"] = {"name": text, "contact_email": "c@natixis.example"}
    elif where == "label":
        changes["startup"] = {"name": "Nabla", "contact_email": SHORT, "label": text}
    elif where == "tag":
        changes["tags"] = [text]
    elif where == "link":
        changes["link"] = f"https://crm.example/c,{SHORT}"
    elif where == "userinfo":
        changes["link"] = f"https://user:{SHORT}/"
    state = CollaborationState.begin(request(**changes), "collab-w", "collab-c", NOW)
    if where == "note":
        apply(state, "record_milestone", MilestoneRequest(kind="call", by="ops", note=text), NOW)
    if where == "by":
        apply(state, "record_milestone", MilestoneRequest(kind="call", by=text), NOW)
    if where == "reason":
        apply(state, "pause", PauseRequest(by="ops", reason=text), NOW)
    gone = ContactErasure(email=SHORT, pseudonym=PSEUDONYM, by="dpo", reason="GDPR 42", next_key="a" * 24)
    apply(state, "erase_contact", gone, NOW)
    dumped = state.model_dump_json()
    assert SHORT not in dumped
    carried = CollaborationState.model_validate_json(dumped)
    assert carried == state
    assert PSEUDONYM in dumped or where == "userinfo"
