"""No invisible or reordering characters in names (Trojan Source, CVE-2021-42574).

`--corporate 'Safe\u202eexe.cod\u202c Corp'` reads as "Safedoc.exe Corp" in a terminal, the Web
UI and the `Corporate` search attribute. Every one-line field refuses the bidirectional controls,
the zero-width characters, the direction marks (decided in docs/security.md) and the line and
paragraph separators, naming the field and the rule; the CLI refuses before Temporal is called.
The neighbours: visible text of every script is accepted byte for byte, notes keep such
characters (and the terminal shows them escaped), and a collaboration begun before the rule keeps
its names through the `legacy` context: its carried state and its stored playbook still read.
"""

import copy
import io
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from passerelle.cli import consoles, output
from schemas import CollaborationRequest, MilestoneRequest, StageChange
from schemas.playbooks import Playbook, PlaybookVersion, Scorecard
from schemas.privacy import ContactErasure
from tests.e2e.cli import assert_one_line_error, passerelle
from tests.factories import apply, request_data
from workflows.domain import views
from workflows.domain.state import CollaborationState

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
MARKS = ["\u200e", "\u200f", "\u061c"]  # LRM, RLM, ALM: refused too (docs/security.md says why)
SEPARATORS = ["\u2028", "\u2029"]
HIDDEN = [*BIDI, *ZERO_WIDTH, *MARKS, *SEPARATORS]
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def with_name(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(request_data())
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = value
    return data


# (model, a valid document, the path of a one-line field in it)
IMPORTED = {"stage": "introduction", "stage_dates": {"introduction": "2025-01-06"}, "source": "suivi.csv:2"}
ERASURE = {"email": "a@b.example", "pseudonym": "erased:0123456789ab", "by": "ops", "reason": "asked",
           "next_key": "0" * 24}  # fmt: skip
PLAYBOOK = {"programme": "P", "gates": {"pilot": {"milestones": [{"kind": "NDA signed"}]}}}
ONE_LINE_FIELDS: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (CollaborationRequest, request_data(), "corporate.name"),
    (CollaborationRequest, request_data(), "startup.name"),
    (CollaborationRequest, request_data(), "startup.label"),
    (CollaborationRequest, request_data(), "programme"),
    (CollaborationRequest, request_data(), "topic"),
    (CollaborationRequest, request_data(tags=["next40"]), "tags.0"),
    (CollaborationRequest, request_data(imported=IMPORTED), "imported.source"),
    (StageChange, {"to": "pilot", "by": "ops"}, "by"),
    (MilestoneRequest, {"kind": "NDA signed", "by": "ops"}, "kind"),
    (Scorecard, {"by": "ops", "scores": {"fit": 4}}, "by"),
    (ContactErasure, ERASURE, "by"),
    (Playbook, PLAYBOOK, "gates.pilot.milestones.0.kind"),
]


def put(document: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, leaf = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return document


def test_every_fixture_document_is_valid() -> None:
    for model, document, _ in ONE_LINE_FIELDS:
        model.model_validate(document)


@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(("model", "document", "path"), ONE_LINE_FIELDS, ids=[f[2] for f in ONE_LINE_FIELDS])
def test_each_hidden_character_is_refused_in_every_one_line_field(
    model: type[BaseModel], document: dict[str, Any], path: str, hidden: str
) -> None:
    bad = put(document, path, f"Safe{hidden}exe")
    with pytest.raises(ValidationError) as refused:
        model.model_validate(bad)
    (error,) = refused.value.errors()
    assert ".".join(str(p) for p in error["loc"]) == path
    assert error["type"] == "hidden_character"
    assert f"U+{ord(hidden):04X} {unicodedata.name(hidden)}" in error["msg"], error["msg"]


VISIBLE = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))


@settings(max_examples=300, deadline=None, database=None)
@given(text=st.text(VISIBLE, min_size=1, max_size=60).filter(lambda t: t.strip() != ""))
def test_visible_text_of_every_script_is_kept_byte_for_byte(text: str) -> None:
    """Hebrew, Arabic, accents, combining marks, emoji without joiners, no-break spaces: accepted
    as they are (less the surrounding whitespace every field drops)."""
    request = CollaborationRequest.model_validate(with_name("corporate.name", text))
    assert request.corporate.name == text.strip()


@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_notes_keep_them_and_a_running_collaboration_keeps_its_names(hidden: str) -> None:
    name = f"Safe{hidden}exe.cod Corp"
    assert MilestoneRequest(kind="NDA", by="ops", note=f"quoted: {name}").note == f"quoted: {name}"
    kept = CollaborationRequest.model_validate(with_name("corporate.name", name), context={"legacy": True})
    state = CollaborationState.begin(kept, "collab-x", "run-1", NOW)
    carried = CollaborationState.model_validate(state.model_dump(mode="json"))  # across continue-as-new
    assert carried.request.corporate.name == name


def test_a_stored_playbook_version_keeps_its_kinds() -> None:
    """Applied before the rule, a version still loads (activity result, carried progress)."""
    stored = {"programme": "P", "gates": {"pilot": {"milestones": ["NDA\u200d signed"]}}}
    version = PlaybookVersion.model_validate(
        {"version": 1, "playbook": stored, "sha256": "0" * 64, "applied_by": "ops", "applied_at": NOW}
    )
    assert version.playbook.gates["pilot"].milestones[0].kind == "NDA\u200d signed"
    with pytest.raises(ValidationError, match="invisible"):
        Playbook.model_validate(stored)  # a new one is refused when applied


def test_the_terminal_shows_them_escaped() -> None:
    """`status` of a collaboration begun before the rule, with a note that quotes such a name."""
    name = "Safe\u202eexe.cod\u202c Corp"
    state = CollaborationState.begin(
        CollaborationRequest.model_validate(with_name("corporate.name", name), context={"legacy": True}),
        "collab-x",
        "run-1",
        NOW,
    )
    state.start_entry(NOW)
    apply(state, "record_milestone", MilestoneRequest(kind="NDA", by="ops", note=f"from {name}"), NOW)
    buffer = io.StringIO()
    console = consoles.plain_console(file=buffer, width=300)
    original, output.console = output.console, console
    try:
        output.show_status(views.status(state, NOW))
        consoles.console, saved = console, consoles.console
        consoles.show_list([{"workflow_id": "w", "corporate": name, "startup": "s", "programme": "p",
                             "stage": "pilot", "outcome": None, "stalled": False, "paused": False,
                             "status": "running"}])  # fmt: skip
        consoles.console = saved
    finally:
        output.console = original
    printed = buffer.getvalue()
    assert all(consoles.shown(c) == f"\\u{ord(c):04x}" for c in HIDDEN)  # every one the schemas refuse
    assert "\u202e" not in printed and "\u202c" not in printed
    assert printed.count("Safe\\u202eexe.cod\\u202c Corp") >= 3  # the title, the note, the list


async def test_the_cli_refuses_before_temporal_naming_the_field_and_the_rule() -> None:
    result = await passerelle(
        {"TEMPORAL_ADDRESS": "127.0.0.1:9"},
        "start", "--corporate", "Safe\u202eexe.cod\u202c Corp", "--corporate-email", "a@b.example",
        "--startup", "Na\u200dbla", "--startup-email", "c@d.example", "--programme", "P", "--topic", "T",
        "--sector", "health", "--owner-email", "o@p.example",
    )  # fmt: skip
    assert_one_line_error(
        result, 2, "corporate.name", "invisible or reordering", "U+202E", "startup.name", "U+200D"
    )
