"""An update sent again after its run continued-as-new is answered, not applied a second time.

Temporal applies an update id once per run. A client that sends an update again once the run
that applied it has continued-as-new (the SDK resends an update its server only admitted;
`passerelle` resends on back-pressure) reaches the next run: the workflow carries the ids of its
latest updates across continue-as-new (`workflows.domain.recent`) and answers without applying. An id
that differs in any way (a near miss) is another update, applied as usual.
"""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import asyncpg
from hypothesis import given
from hypothesis import strategies as st
from temporalio.testing import WorkflowEnvironment

from schemas import MilestoneRequest
from tests.conftest import WorkerFactory
from tests.factories import request
from tests.workflows.helpers import abandon, latest_status, start
from workflows.collaboration import CollaborationWorkflow
from workflows.domain.recent import DIGEST_CHARS, RECENT_UPDATES, RESEND_WINDOW, RecentUpdates, update_digest
from workflows.domain.state import CollaborationState

SENT = "cli-3f2a9c1e-7b5d-4e8f-9a01-c2d3e4f5a6b7"
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
NEAR_MISSES = [SENT.upper(), SENT[:-1], SENT + " ", " " + SENT, SENT.replace("-", "_"), SENT[:-1] + "8"]


async def test_an_update_resent_to_the_next_run_is_answered_once(
    time_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    pool: asyncpg.Pool,
    task_queue: str,
    workflow_id: str,
) -> None:
    client = time_env.client
    async with run_worker(client):
        await start(client, workflow_id, task_queue, continue_as_new_after_events=20)
        handle = client.get_workflow_handle_for(CollaborationWorkflow.run, workflow_id)
        request = MilestoneRequest(kind="steering committee", by="ops@programme.example")
        first = await handle.execute_update(CollaborationWorkflow.record_milestone, request, id=SENT)
        n = 0
        while (await latest_status(client, workflow_id)).runs < 2:  # the run continues-as-new
            await handle.execute_update(
                CollaborationWorkflow.record_milestone, MilestoneRequest(kind=f"k{n}", by="o")
            )
            n += 1
        before = await latest_status(client, workflow_id)
        again = await handle.execute_update(CollaborationWorkflow.record_milestone, request, id=SENT)
        after = await latest_status(client, workflow_id)
        assert again.entries == before.entries == after.entries, "answered with the status, nothing applied"
        assert again.runs >= 2 and first.entries <= again.entries
        for near in NEAR_MISSES:  # each is another update
            await handle.execute_update(CollaborationWorkflow.record_milestone, request, id=near)
        await abandon(handle)
    rows = await pool.fetchval(
        "SELECT count(*) FROM milestones WHERE workflow_id = $1 AND milestone = 'steering committee'",
        workflow_id,
    )
    assert rows == 1 + len(NEAR_MISSES)


def test_the_state_keeps_a_bounded_digest_of_the_latest_ids() -> None:
    recent = RecentUpdates()
    for n in range(RECENT_UPDATES * 3):  # a burst: all within one window
        recent.remember(f"update-{n}-" + "x" * 5000, NOW)  # however long the id
    assert len(recent.current) + len(recent.earlier) == RECENT_UPDATES * DIGEST_CHARS
    assert recent.knows(f"update-{RECENT_UPDATES * 3 - 1}-" + "x" * 5000)
    assert recent.knows(f"update-{RECENT_UPDATES * 2}-" + "x" * 5000), "the oldest kept"
    assert not recent.knows(f"update-{RECENT_UPDATES * 2 - 1}-" + "x" * 5000), "dropped"


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=3_600), min_size=1, max_size=40),
    later=st.integers(min_value=0, max_value=3_600),
)
def test_a_digest_is_kept_for_a_resend_window_at_least_and_two_at_most(
    offsets: list[int], later: int
) -> None:
    """Applied at t, an update is known at any settle up to t + RESEND_WINDOW, never after t + 2 windows."""
    recent = RecentUpdates()
    times = [NOW + timedelta(seconds=s) for s in sorted(offsets)]
    for n, at in enumerate(times):
        recent.remember(f"u{n}", at)
    now = times[-1] + timedelta(seconds=later)
    recent.settle(now)
    for n, at in enumerate(times):
        if now - at < RESEND_WINDOW:
            assert recent.knows(f"u{n}"), (at, now)
        elif now - at >= 2 * RESEND_WINDOW:
            assert not recent.knows(f"u{n}"), (at, now)


@given(
    ids=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=60, unique=True),
    other=st.text(max_size=40),
)
def test_only_a_remembered_id_is_found_never_one_straddling_two_digests(ids: list[str], other: str) -> None:
    """A digest matches only at a digest's boundary: the tail of one and the head of the next
    never pass for a third id (the neighbours of a remembered id stay unknown)."""
    recent = RecentUpdates()
    for update_id in ids:
        recent.remember(update_id, NOW)
    assert all(recent.knows(i) for i in ids)
    assert recent.knows(other) == (other in ids)
    kept = recent.current
    straddling = kept[DIGEST_CHARS // 2 : DIGEST_CHARS // 2 + DIGEST_CHARS]
    if len(ids) > 1 and straddling not in [update_digest(i) for i in ids]:
        assert kept.find(straddling) % DIGEST_CHARS  # found only off a boundary: never a match


def test_a_state_carried_by_an_earlier_run_reads_its_digests() -> None:
    """Runs begun before kept 96-bit digests (16 characters) in a list, then end to end: each is
    read as its first 64 bits, the digest of the same id today, and kept one more window."""
    old = [base64.urlsafe_b64encode(hashlib.sha256(i.encode()).digest()[:12]).decode() for i in ("a", "b")]
    state = CollaborationState.begin(request(), "w", "r", NOW).model_dump(mode="json")
    for carried in (old, "".join(old)):
        recent = CollaborationState.model_validate({**state, "recent_updates": carried}).recent_updates
        assert recent.knows("a") and recent.knows("b") and not recent.knows("c")
        recent.settle(NOW)
        assert recent.knows("b")
        recent.settle(NOW + 2 * RESEND_WINDOW)
        assert not recent.knows("b")
