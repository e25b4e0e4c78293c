"""Hostile strings in every free-text field go through a real lifecycle and come back verbatim.

SQL, HTML and CRLF fragments are data: every query is parameterised, so rows, the outbox and the
status hold exactly what was typed. Single-line fields (names, actors, tags) refuse line breaks,
which would otherwise reach e-mail headers; multi-line fields (notes, reasons) keep them.
"""

import asyncpg
import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from schemas import (
    Closure,
    CollaborationRequest,
    MilestoneRequest,
    Outcome,
    PauseRequest,
    ResumeRequest,
    Stage,
    StageChange,
)
from tests.conftest import WorkerFactory
from tests.workflows.helpers import start
from workflows.collaboration import CollaborationWorkflow

SQL = "Robert'); DROP TABLE milestones; -- $1 %s"
HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
CRLF = "line one\r\nBcc: victim@evil.example\r\n\r\nbody"
LINE = f"{SQL} {HTML}"  # single-line fields: everything but line breaks


async def test_every_free_text_field_is_stored_verbatim(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    """Names, programme, topic, label, tags, actors, kinds, notes and reasons: rows equal input."""
    multi = f"{SQL}\n{HTML}\n{CRLF}"
    async with run_worker(dev_env.client):
        handle = await start(
            dev_env.client,
            workflow_id,
            task_queue,
            corporate={"name": f"Corp {LINE}", "contact_email": "c@corp.example"},
            startup={"name": f"Start {LINE}", "contact_email": "s@start.example", "label": "<b>40</b>"},
            programme=f"Prog {LINE}",
            topic=f"Topic {LINE}",
            tags=[SQL, "<script>alert(1)</script>"],
        )
        await handle.execute_update(
            CollaborationWorkflow.advance, StageChange(to=Stage.QUALIFICATION, by=f"by {LINE}", note=multi)
        )
        await handle.execute_update(
            CollaborationWorkflow.record_milestone,
            MilestoneRequest(kind=f"kind {HTML}", by=SQL, note=CRLF),
        )
        await handle.execute_update(CollaborationWorkflow.pause, PauseRequest(by=HTML, reason=multi))
        await handle.execute_update(CollaborationWorkflow.resume, ResumeRequest(by=SQL))
        await handle.execute_update(
            CollaborationWorkflow.close, Closure(outcome=Outcome.DECLINED, by=SQL, reason=multi)
        )
        status = await handle.result()

    row = await pool.fetchrow("SELECT * FROM collaborations WHERE workflow_id = $1", workflow_id)
    assert (row["corporate"], row["startup"], row["programme"], row["topic"]) == (
        f"Corp {LINE}",
        f"Start {LINE}",
        f"Prog {LINE}",
        f"Topic {LINE}",
    )
    rows = await pool.fetch(
        "SELECT kind, actor, note, milestone FROM milestones WHERE workflow_id = $1 ORDER BY seq", workflow_id
    )
    assert [(r["kind"], r["actor"], r["note"], r["milestone"]) for r in rows] == [
        ("started", "system", f"Topic {LINE}", None),
        ("stage_changed", f"by {LINE}", multi, None),
        ("milestone", SQL, CRLF, f"kind {HTML}"),
        ("paused", HTML, multi, None),
        ("resumed", SQL, "", None),
        ("closed", SQL, multi, None),
    ]
    assert [(e.actor, e.note) for e in status.history] == [(r["actor"], r["note"]) for r in rows]
    contexts = await pool.fetch(
        "SELECT context FROM notifications WHERE workflow_id = $1 AND event = 'stage_changed'", workflow_id
    )
    assert contexts[0]["context"]["note"] == multi and contexts[0]["context"]["actor"] == f"by {LINE}"
    assert await pool.fetchval("SELECT to_regclass('milestones') IS NOT NULL"), "the table survived"


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (StageChange, {"to": "pilot", "by": CRLF}, "by"),
        (MilestoneRequest, {"kind": CRLF, "by": "ops"}, "kind"),
        (CollaborationRequest, {"corporate": {"name": CRLF, "contact_email": "c@x.eu"}}, "corporate.name"),
        (CollaborationRequest, {"tags": [CRLF]}, "tags.0"),
    ],
)
def test_line_breaks_in_single_line_fields_are_refused_naming_the_field(
    model: type, data: dict, field: str
) -> None:
    """A CRLF in a name, actor, kind or tag is refused: it would reach a mail header."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    errors = {".".join(map(str, e["loc"])): e["msg"] for e in info.value.errors()}
    assert "single line" in errors[field]
