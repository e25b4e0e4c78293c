"""Coalition Next's playbook through the installed `passerelle` command, on a dev server.

Apply, list, show and diff versions; a bad file gets one line naming its key, rule and line; a
collaboration is stopped at each gate with the reason, passes it with milestones, scorecards and
four-eyes approvals, adopts a newer version in bulk, and ends deployed; the report, the audit
timeline and the audit's cross-check read it all back.
"""

import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import WorkerFactory
from tests.e2e.cli import assert_found, assert_one_line_error, cli_env, passerelle, passerelle_each
from tests.factories import request_data

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).parents[2] / "passerelle" / "devstack" / "playbooks" / "coalition-next.toml"
APPROVER = "claire.martin@coalition-next.example"
SPONSOR = request_data()["corporate"]["contact_email"]


async def test_the_coalition_next_playbook_from_the_command_line(
    dev_env: WorkflowEnvironment,
    run_worker: WorkerFactory,
    task_queue: str,
    workflow_id: str,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    programme = f"Coalition Next {uuid.uuid4().hex[:6]}"
    env = cli_env(dev_env, task_queue, PASSERELLE_DATABASE_URL=postgres_url)
    toml = tmp_path / "coalition-next.toml"
    toml.write_text(EXAMPLE.read_text().replace('programme = "Coalition Next"', f'programme = "{programme}"'))
    bad = tmp_path / "bad.toml"
    bad.write_text(f'programme = "{programme}"\n\n[gates.declined]\nmilestones = ["x"]\n')

    applied, again, refused = await passerelle_each(
        env,
        [["playbook", "apply", str(toml), "--by", "dpo"]] * 2
        + [["playbook", "apply", str(bad), "--by", "x"]],
        1,
    )
    assert applied.code == 0 and f"applied {programme} v1 (by dpo)" in applied.out, applied
    assert again.code == 0 and f"unchanged: {programme} v1" in again.out, again
    assert_one_line_error(refused, 2, "bad.toml", "line 3", "gates.declined", "never gated")
    listed, shown, missing = await passerelle_each(
        env,
        [
            ["playbook", "list"],
            ["playbook", "show", programme],
            ["playbook", "show", programme, "--version", "9"],
        ],
    )
    assert programme in listed.out and "v1" in listed.out, listed
    assert f"{programme} v1, applied by dpo" in shown.out and '"pass_mean": 3.5' in shown.out, shown
    assert_one_line_error(missing, 2, "has no version 9")

    by = "ops@programme.example"
    async with run_worker(dev_env.client):
        start = [
            "start", "--id", workflow_id, "--programme", programme, "--corporate", "Natixis",
            "--corporate-email", SPONSOR, "--startup", "Nabla", "--startup-email", "p@nabla.example",
            "--topic", "Triage", "--sector", "health", "--owner-email", "owner@programme.example",
        ]  # fmt: skip
        assert (await passerelle(env, *start)).code == 0
        assert (await passerelle(env, "advance", workflow_id, "--to", "qualification", "--by", by)).code == 0
        stopped = await passerelle(env, "advance", workflow_id, "--to", "pilot", "--by", by)
        assert_one_line_error(
            stopped,
            2,
            'refused: cannot move to pilot: missing milestone "NDA signed", milestone "pilot success '
            f'criteria" (with evidence URL); playbook {programme} v1',
        )
        status = await passerelle(env, "status", workflow_id)
        assert f"Playbook    {programme} v1" in status.out, status.out
        assert 'MISSING pilot: milestone "pilot success criteria" (with evidence URL)' in status.out
        print(status.out)  # the closing note shows it

        url = "https://docs.example/criteria.pdf"
        criteria = ["--kind", "pilot success criteria", "--evidence-url", url]
        card = ["--score", "integration effort=3", "--score", "data protection=4"]
        # Commands in one group do not depend on each other: they run two at a time.
        groups = [
            [["milestone", workflow_id, "--kind", "NDA signed", "--by", by],
             ["milestone", workflow_id, *criteria, "--by", by]],
            [["advance", workflow_id, "--to", "pilot", "--by", by]],
            [["milestone", workflow_id, "--kind", "pilot report", "--by", by]],
            [["advance", workflow_id, "--to", "evaluation", "--by", by]],
            [["score", workflow_id, "--by", "eva", "--score", "clinical value=4", *card],
             ["score", workflow_id, "--by", "bob", "--score", "clinical value=5", "--score", "integration effort=4",
              "--score", "data protection=4"]],
            [["request-approval", workflow_id, "--for", "deployment", "--by", "anne", "--note", "scores are in"]],
        ]  # fmt: skip
        for group in groups:
            for args, done in zip(group, await passerelle_each(env, group), strict=True):
                assert done.code == 0, (args, done)
        same, bad_score = await passerelle_each(
            env,
            [
                ["approve", workflow_id, "--by", "Anne"],
                ["score", workflow_id, "--by", "x", "--score", "clinical value=7"],
            ],
        )
        assert_one_line_error(same, 2, "whoever requested this approval may not answer it", "four eyes")
        assert_one_line_error(bad_score, 2, "scores.clinical value", "less than or equal to 5")

        # a newer version, adopted in bulk: its extra pilot milestone is behind the collaboration
        toml.write_text(
            toml.read_text().replace(
                'milestones = ["pilot report"]', 'milestones = ["pilot report", "ethics"]'
            )
        )
        v2 = await passerelle(env, "playbook", "apply", str(toml), "--by", "dpo")
        assert f"applied {programme} v2" in v2.out, v2
        diff = await passerelle(env, "playbook", "diff", programme, "1", "2")
        assert '+          "kind": "ethics",' in diff.out, diff.out
        await assert_found(dev_env.client, workflow_id, f'Programme = "{programme}"')
        bulk = await passerelle(
            env,
            "bulk",
            "adopt-playbook",
            "--query",
            f'Programme = "{programme}"',
            "--version",
            "2",
            "--by",
            "dpo",
        )
        assert bulk.code == 0 and "1 changed" in bulk.out, bulk
        # the new version gates the move to evaluation, which the collaboration has passed
        for args in (
            ["approve", workflow_id, "--by", APPROVER, "--note", "go"],
            ["advance", workflow_id, "--to", "deployment", "--by", by],
            ["request-approval", workflow_id, "--for", "deployed", "--by", "anne"],
            ["approve", workflow_id, "--by", SPONSOR],
            ["close", workflow_id, "--outcome", "deployed", "--by", by, "--reason", "in production"],
        ):
            done = await passerelle(env, *args)
            assert done.code == 0, (args, done)

    report, timeline, verify = await passerelle_each(
        env,
        [
            ["report", "--programme", programme, "--format", "json"],
            ["audit", "timeline", workflow_id],
            ["audit", "verify", workflow_id],
        ],
    )
    [figures] = report.json()["playbooks"]
    assert figures["criteria"] == {"clinical value": 4.5, "data protection": 4.0, "integration effort": 3.5}
    assert {g["gate"]: (g["passed"], g["faced"]) for g in figures["gates"]} == {
        "pilot": (1, 1),
        "evaluation": (1, 1),
        "deployment": (1, 1),
        "deployed": (1, 1),
    }
    assert (figures["approvals_answered"], figures["approvals_approved"]) == (2, 2)
    assert "gate pilot passed" in timeline.out and f"{programme} v2" in timeline.out, timeline.out
    assert verify.code == 0, verify
