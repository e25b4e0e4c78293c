"""`bulk --query` cannot widen its scope: no operator text leaves the `AND (…)` it is put in.

The adversarial queries try to close the wrapping parenthesis, comment it out or smuggle syntax
through quotes. Those that could escape are refused locally (exit 2, one line, Temporal never
asked); those that are safe only because the server reads their quotes as we do are sent to a real
server, and must never match a collaboration outside the scope (a closed one, and one of another
programme).
"""

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from passerelle.cli.visibility import UnsafeQuery, check_contained, restrict
from tests.conftest import WorkerFactory
from tests.e2e.cli import assert_one_line_error, cli_env, eventually, ids_matching, passerelle
from tests.factories import request_data
from tests.workflows.helpers import abandon

ESCAPES = [
    'Stage = "pilot") OR (WorkflowType = "DigestWorkflow"',
    'Stage = "pilot") OR (ExecutionStatus = "Completed"',
    'Stage = "pilot" OR true) --',
    'Stage = "pilot" OR true) #',
    'Stage = "pilot" /* ) OR ( */',
    'Corporate = "x") OR ("1" = "1',
    "Corporate = 'x') OR ('1' = '1",
    "Stage = `pilot`) OR (`x` = `x`",
    'Stage = "pilot"; DELETE',
    'Stage = "pilot" OR (true',
    'Corporate = "never closed',
    "Corporate = `a\\`) OR (`b`",  # no backslash escape in backticks: the `)` would be live
    ")(",
    "   ",
]
# Parentheses and quotes that stay inside a literal as the server reads it.
CONTAINED = [
    'Corporate = "A (B)"',
    'Corporate = "a\\") OR (\\"1\\" = \\"1"',
    "Corporate = 'a'') OR (''1'' = ''1'",
    "Corporate = 'it\\'s) OR (x'",
    '(Stage = "pilot" OR Stage = "introduction") AND Paused = false',
]


@pytest.mark.parametrize("query", ESCAPES)
def test_a_query_that_could_escape_is_refused(query: str) -> None:
    with pytest.raises(UnsafeQuery):
        restrict(query)


@pytest.mark.parametrize("query", CONTAINED)
def test_literals_and_balanced_groups_are_allowed(query: str) -> None:
    check_contained(query)
    assert restrict(query).endswith(f"AND ({query})")


@pytest.mark.e2e
async def test_bulk_refuses_escapes_and_never_reaches_outside_its_scope(
    dev_env: WorkflowEnvironment, run_worker: WorkerFactory, task_queue: str
) -> None:
    env = cli_env(dev_env, task_queue)
    programme, other = f"Scope {uuid.uuid4()}", f"Other {uuid.uuid4()}"
    inside, closed, outside = (f"scope-{name}-{uuid.uuid4()}" for name in ("in", "closed", "out"))
    client = dev_env.client
    async with run_worker(client):
        for wid, prog in ((inside, programme), (closed, programme), (outside, other)):
            handle = await client.start_workflow(
                "CollaborationWorkflow", request_data(programme=prog), id=wid, task_queue=task_queue
            )
            await handle.query("status")
        await abandon(client.get_workflow_handle(closed))

        async def settled() -> None:
            assert await ids_matching(
                client, f'Programme = "{programme}" AND ExecutionStatus = "Running"'
            ) == {inside}
            assert await ids_matching(client, f'Programme = "{other}"') == {outside}

        await eventually(settled)
        for query in ESCAPES[:3]:
            refused = await passerelle(env, "bulk", "pause", "--query", query, "--by", "ops", "--reason", "x")
            assert_one_line_error(refused, 2, "--query")
        scoped = f'Programme = "{programme}"'
        # Each look-alike, narrowed to this test's programme (other tests' collaborations run too).
        for query in [
            *(f"{scoped} AND ({q})" for q in CONTAINED),
            scoped,
            f"{scoped} OR Programme = {other!r}",
        ]:
            dry = await passerelle(
                env, "bulk", "pause", "--query", query, "--by", "ops", "--reason", "x", "--dry-run", "--json"
            )
            assert dry.code == 0, (query, dry)
            reached = {o["workflow_id"] for o in dry.json()}
            assert closed not in reached, query
            assert reached <= {inside, outside}, query
        # The operator's own OR reaches the other programme's running collaboration, as asked;
        # never the closed one, which the scope keeps out.
        both = await passerelle(
            env, "bulk", "pause", "--query", f'{scoped} OR Programme = "{other}"', "--by", "ops",
            "--reason", "x", "--dry-run", "--json",
        )  # fmt: skip
        assert {o["workflow_id"] for o in both.json()} == {inside, outside}
        for wid in (inside, outside):
            await abandon(client.get_workflow_handle(wid))
