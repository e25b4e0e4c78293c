"""Hostile text stays text: whatever partners type is printed verbatim by every command.

A name or note may hold Rich markup (`[/bold]` used to crash `status` and `list`, `[link=…]` to
print a clickable link), `:emoji:` codes, right-to-left marks and emoji. Each property drives the
code that renders `status`, `list`, `watch`, `timeline` and `report` on a terminal-like console
(styles and links would show as escape sequences there) and checks the text comes out as typed,
but what a terminal would not draw (a right-to-left override, a zero-width joiner), which comes
out escaped. New names refuse those (`test_hidden_characters.py`): the states here are built as a
collaboration begun before that rule keeps them (context `legacy`). Control characters never get
that far: the schemas refuse them, which the last test checks.
"""

import copy
import io
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from passerelle.audit.entries import RecordedEntry, RunMark
from passerelle.audit.timeline import stage_times, story
from passerelle.cli import consoles, output, report, watch
from schemas import (
    CollaborationRequest,
    HistoryEntry,
    KpiFilters,
    KpiReport,
    MilestoneRequest,
    Stage,
    StageKpi,
)
from schemas.kpis import PilotKpi
from tests.factories import apply, request_data
from workflows.domain import views
from workflows.domain.state import CollaborationState

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
PIECES = ["[", "]", "[/bold]", "[link=https://evil.example]", "[/link]", ":smile:", "\u200f", "\u202e",
          "\u2066", "🚀", "👩🏽‍💻", "é", "日本", "\\", "*", "_", "`", "<b>", "&amp;"]  # fmt: skip
HOSTILE = (
    st.lists(
        st.one_of(st.sampled_from(PIECES), st.text(alphabet="abz -", max_size=3)), min_size=1, max_size=6
    )
    .map("".join)
    .filter(lambda s: s.strip() == s and s.strip() != "")
)
PROFILE = settings(max_examples=150, deadline=None, database=None)
LINK = "\x1b]8;"  # a terminal hyperlink
OWN_STYLES = {"\x1b[1m", "\x1b[3m", "\x1b[0m"}  # bold, italic, reset: what this code asks for
SGR = re.compile(r"\x1b\[[0-9;]*m")


def terminal() -> tuple[object, io.StringIO]:
    buffer = io.StringIO()
    console = consoles.plain_console(file=buffer, force_terminal=True, color_system="truecolor", width=1000)
    return console, buffer


def state_with(corporate: str, startup: str, note: str) -> CollaborationState:
    data = copy.deepcopy(request_data())
    data["corporate"]["name"], data["startup"]["name"], data["topic"] = corporate, startup, note
    legacy = {"legacy": True}  # begun before hidden characters were refused in names
    request = CollaborationRequest.model_validate(data, context=legacy)
    state = CollaborationState.begin(request, "collab-x", "run-1", NOW)
    state.start_entry(NOW)
    milestone = MilestoneRequest.model_validate(
        {"kind": note[:80], "by": startup, "note": note}, context=legacy
    )
    apply(state, "record_milestone", milestone, NOW)
    return state


def assert_plain(printed: str, *values: str) -> None:
    """Each value printed as typed but what a terminal would not draw, escaped; no link; no style
    but the headers' own."""
    assert LINK not in printed, repr(printed)
    assert set(SGR.findall(printed)) <= OWN_STYLES, repr(printed)
    text = SGR.sub("", printed)
    assert not [c for c in text if unicodedata.category(c) in ("Cf", "Zl", "Zp")], repr(text)
    for value in values:
        assert consoles.shown(value) in text, (value, text)


@PROFILE
@given(corporate=HOSTILE, startup=HOSTILE, note=HOSTILE)
def test_status_prints_names_and_notes_verbatim(corporate: str, startup: str, note: str) -> None:
    console, buffer = terminal()
    with mock.patch.object(output, "console", console):
        output.show_status(views.status(state_with(corporate, startup, note), NOW))
    assert_plain(buffer.getvalue(), f"{corporate} × {startup}", note)


@PROFILE
@given(corporate=HOSTILE, startup=HOSTILE, workflow_id=HOSTILE)
def test_list_prints_every_cell_verbatim(corporate: str, startup: str, workflow_id: str) -> None:
    console, buffer = terminal()
    row = {"workflow_id": workflow_id, "corporate": corporate, "startup": startup, "programme": corporate,
           "stage": "pilot", "outcome": None, "stalled": True, "paused": False, "status": "running"}  # fmt: skip
    with mock.patch.object(consoles, "console", console):
        consoles.show_list([row])
    assert_plain(buffer.getvalue(), workflow_id, corporate, startup)


@PROFILE
@given(actor=HOSTILE, note=HOSTILE)
def test_watch_lines_are_verbatim(actor: str, note: str) -> None:
    entry = HistoryEntry(
        seq=3, kind="milestone", at=NOW, stage=Stage.PILOT, actor=actor, milestone=note[:80], note=note
    )
    line = watch._line(entry)
    assert f"by {actor}: {note}" in line and "\x1b" not in line


@PROFILE
@given(actor=HOSTILE, note=HOSTILE, title=HOSTILE)
def test_timeline_tables_are_verbatim(actor: str, note: str, title: str) -> None:
    entries = [
        RecordedEntry(HistoryEntry(seq=1, kind="started", at=NOW, stage=Stage.INTRODUCTION, actor="system",
                                   note=note), "w", "r", 1, 5),
        RecordedEntry(HistoryEntry(seq=2, kind="milestone", at=NOW + timedelta(days=1), stage=Stage.INTRODUCTION,
                                   actor=actor, milestone=note[:80], note=note), "w", "r", 1, 9),
    ]  # fmt: skip
    marks = [RunMark(1, "r", NOW, None, None)]
    console, buffer = terminal()
    output.show_timeline(story(entries, marks), stage_times(entries, NOW + timedelta(days=2)), title, console)
    assert_plain(buffer.getvalue(), actor, note, title)


@PROFILE
@given(programme=HOSTILE)
def test_report_tables_never_style_a_filter(programme: str) -> None:
    stages = [StageKpi(stage=s, reached=1, open=1, stalled=0, completed_stays=0, median_days=None, p90_days=None,
                       days=[]) for s in Stage]  # fmt: skip
    pilots = [PilotKpi(programme=programme, reached_pilot=1, poc_median_days=2.0, poc_p90_days=2.0, decided=0,
                       open=1, decision_median_days=None, decision_p90_days=None, days_to_poc=[2.0],
                       days_pilot_to_decision=[])]  # fmt: skip
    kpis = KpiReport(filters=KpiFilters(programme=programme), collaborations=5, open=5, stalled=0, deployed=0,
                     declined=0, abandoned=0, stalled_ratio=0.0, conversion_introduction_pilot=1.0,
                     conversion_pilot_deployed=None, stages=stages, pilot_times=pilots)  # fmt: skip
    console, buffer = terminal()
    report.show_tables(kpis, console)
    assert_plain(buffer.getvalue(), "Funnel", programme)


@pytest.mark.parametrize(
    "control", ["\x1b[31m", "\x1b]8;;https://evil.example\x1b\\", "\x07", "\x00", "\x9b"]
)
def test_terminal_controls_never_enter(control: str) -> None:
    """ESC, BEL, NUL and C1 controls are refused in names and notes, naming the field."""
    data = copy.deepcopy(request_data())
    data["startup"]["name"] = f"Nabla{control}"
    with pytest.raises(ValidationError, match=r"startup\.name"):
        CollaborationRequest.model_validate(data)
