"""The operator's path in the real Temporal Web UI of `passerelle dev`, in headless Chromium.

Start a collaboration with the Start Workflow form (the README's exact JSON), find it in the list
filtered by `Stage = "introduction"`, open it and read its current details, run the `status`
query from the Queries tab and send an `advance` update from the Send an Update dialog.

The stack is encrypted (its default), so every step goes through the codec server: the form and
the update dialog encode through `/encode`, and Temporal's own record of both holds ciphertext.

Then Coalition Next's playbook, every update sent from the Send an Update dialog: the gate refuses
the move to pilot and the dialog says why, the checklist in the current details fills in, the
approver cannot be the requester, and the collaboration ends deployed.
"""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.e2e.browser import WAIT_MS, DevStack, screenshot_on_failure

pytestmark = pytest.mark.e2e
README = Path(__file__).parents[2] / "README.md"
expect.set_options(timeout=WAIT_MS)


def readme_request() -> str:
    """Return the Start Workflow input exactly as the README shows it."""
    found = re.search(r"```json\n(.*?)```", README.read_text(), re.S)
    assert found, "the README shows no JSON input"
    return found.group(1)


def cli(stack: DevStack, *args: str) -> None:
    """Run a `passerelle` command against the stack and require success."""
    command = [str(Path(sys.executable).parent / "passerelle"), *args]
    done = subprocess.run(command, env=stack.cli_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done


def encodings(stack: DevStack, workflow_id: str) -> dict[str, str]:
    """Return the payload encoding of the start input and of the last update, as Temporal keeps them."""
    temporal = str(Path(sys.executable).parent / "temporal")
    show = [
        temporal,
        "workflow",
        "show",
        "-w",
        workflow_id,
        "-o",
        "json",
        "--address",
        f"127.0.0.1:{stack.port}",
    ]
    done = subprocess.run(show, capture_output=True, text=True, timeout=60, check=True)
    found = {}
    for event in json.loads(done.stdout)["events"]:
        if "workflowExecutionStartedEventAttributes" in event:
            found["start"] = event["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
        if "workflowExecutionUpdateAcceptedEventAttributes" in event:
            request = event["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]
            found["update"] = request["input"]["args"]["payloads"][0]
    return {what: base64.b64decode(p["metadata"]["encoding"]).decode() for what, p in found.items()}


def current_details(page: Page) -> FrameLocator:
    """Return the Current Details panel: the UI renders the workflow's markdown in an iframe."""
    return page.frame_locator("iframe").last


def search_workflows(page: Page, stack: DevStack, query: str, expected: str) -> None:
    """Type `query` into the list's manual query box (`</>`), searching until `expected` shows."""
    page.goto(f"{stack.ui}/namespaces/default/workflows")
    page.get_by_test_id("toggle-manual-query").click()
    page.get_by_test_id("workflow-manual-search-input").fill(query)
    for _ in range(20):  # visibility is eventually consistent
        page.get_by_test_id("workflow-manual-search-button").click()
        page.wait_for_timeout(1000)
        if page.get_by_role("link", name=expected).count():
            break
    expect(page.get_by_role("link", name=expected)).to_be_visible()
    assert "Stage" in unquote(page.url), "the query is in the URL, so the view can be shared"


def start_from_form(page: Page, stack: DevStack, workflow_id: str, request: str) -> None:
    """Fill the Start Workflow form with `request` pasted as JSON, and submit it."""
    page.goto(f"{stack.ui}/namespaces/default/workflows")
    page.get_by_role("link", name="Start Workflow").click()
    page.locator("#workflowId").fill(workflow_id)
    page.locator("#taskQueue").fill("collaborations")
    page.locator("#workflowType").fill("CollaborationWorkflow")
    page.locator(".cm-content").first.click()
    page.keyboard.insert_text(request)  # as pasted: no editor auto-closing brackets
    # The UI re-formats the JSON when the editor loses focus; the layout shift would swallow
    # a click on the button below it, so leave the editor first (the README says so too).
    page.locator("#workflowType").click()
    expect(page.locator(".cm-content").first).to_contain_text('"name": "Natixis",')
    expect(page.get_by_label("json/plain")).to_be_checked()
    page.get_by_test_id("start-workflow-button").click()


def test_operator_starts_finds_opens_queries_and_advances_from_the_web_ui(
    stack: DevStack, page: Page
) -> None:
    """Start form → list filtered by stage → current details → status query → advance update."""
    assert any("Encryption:       on" in line for line in stack.output), "".join(stack.output)
    workflow_id = "collab-natixis-nabla"
    # Another collaboration, already in qualification, must not match the stage filter.
    other = "collab-engie-hysilabs"
    cli(
        stack,
        "start",
        "--id",
        other,
        "--corporate",
        "Engie",
        "--corporate-email",
        "a@engie.example",
        "--startup",
        "HysiLabs",
        "--startup-email",
        "b@hysilabs.example",
        "--programme",
        "Coalition Next",
        "--topic",
        "Hydrogen storage",
        "--sector",
        "energy",
        "--owner-email",
        "o@programme.example",
    )
    cli(stack, "advance", other, "--to", "qualification", "--by", "ops")

    with screenshot_on_failure(page, "start-form"):
        start_from_form(page, stack, workflow_id, readme_request())
        expect(page.get_by_role("link", name="Workflow started successfully")).to_be_visible()
    assert encodings(stack, workflow_id) == {"start": "binary/encrypted"}, "the form encodes through /encode"

    with screenshot_on_failure(page, "filtered-list"):
        search_workflows(page, stack, 'Stage = "introduction"', workflow_id)
        expect(page.get_by_role("link", name=other)).to_have_count(0)

    with screenshot_on_failure(page, "current-details"):
        page.get_by_role("link", name=workflow_id).first.click()
        page.get_by_role("tab", name="User Metadata").click()
        details = current_details(page)
        expect(details.get_by_text("Natixis × Nabla")).to_be_visible()
        expect(details.get_by_text(re.compile(r"introduction \(since \d{4}-\d\d-\d\d"))).to_be_visible()

    with screenshot_on_failure(page, "status-query"):
        page.get_by_role("tab", name="Queries").click()
        page.get_by_role("button", name="Run Query").click()
        expect(page.get_by_text('"sla": "on_track"')).to_be_visible()
        expect(page.get_by_text('"stage": "introduction"').first).to_be_visible()

    with screenshot_on_failure(page, "advance-update"):
        page.get_by_role("button", name="More Actions").click()
        page.get_by_role("menuitem", name="Send an Update").click()
        dialog = page.get_by_role("dialog", name="Send an Update")
        dialog.get_by_test_id("update-select-button").click()
        update_option(page, "advance").click()
        dialog.locator(".cm-content").click()
        page.keyboard.insert_text(json.dumps({"to": "qualification", "by": "ui@programme.example"}))
        dialog.locator("#update-id").click()  # leave the editor: it re-formats, then Submit stays put
        page.wait_for_timeout(500)
        dialog.get_by_role("button", name="Submit").click()
        expect(dialog).to_be_hidden()
        page.reload()
        page.get_by_role("tab", name="User Metadata").click()
        expect(current_details(page).get_by_text(re.compile(r"qualification \(since"))).to_be_visible()
    assert encodings(stack, workflow_id)["update"] == "binary/encrypted"


PLAYBOOK = Path(__file__).parents[2] / "passerelle" / "devstack" / "playbooks" / "coalition-next.toml"
WORKFLOW_ID = "collab-sanofi-owkin"
SPONSOR = "innovation@sanofi.example"
APPROVER = "claire.martin@coalition-next.example"


def update_option(page: Page, name: str) -> Any:
    """Return the Send an Update list's option for update `name`, which shows its description
    (the update's declared text) after the name; print the options when it is missing."""
    options = page.get_by_role("option")
    option = options.filter(has_text=re.compile(rf"^\s*{re.escape(name)}(\s|$)"))
    try:
        option.first.wait_for(timeout=15_000)
    except Exception:
        raise AssertionError(f"no option {name!r} among {options.all_inner_texts()}") from None
    expect(option).to_have_count(1)
    return option


def send_update(page: Page, name: str, payload: dict[str, Any]) -> None:
    """Open Send an Update, choose `name`, paste `payload` and submit (the dialog stays on refusal)."""
    page.get_by_role("button", name="More Actions").click()
    page.get_by_role("menuitem", name="Send an Update").click()
    dialog = page.get_by_role("dialog", name="Send an Update")
    dialog.get_by_test_id("update-select-button").click()
    update_option(page, name).click()
    dialog.locator(".cm-content").click()
    page.keyboard.press("Control+A")  # the dialog keeps the last update's Data: replace it
    page.keyboard.insert_text(json.dumps(payload))
    dialog.locator("#update-id").click()  # leave the editor: it re-formats, then Submit stays put
    page.wait_for_timeout(300)
    dialog.get_by_role("button", name="Submit").click()


def accepted(page: Page) -> None:
    expect(page.get_by_role("dialog", name="Send an Update")).to_be_hidden()


def refused(page: Page, text: str) -> None:
    """The dialog stays open and shows the workflow's refusal; close it."""
    dialog = page.get_by_role("dialog", name="Send an Update")
    expect(dialog.get_by_text(re.compile(re.escape(text)))).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_coalition_next_playbook_from_the_web_ui(stack: DevStack, page: Page) -> None:
    cli(stack, "playbook", "apply", str(PLAYBOOK), "--by", "dpo@coalition-next.example")
    cli(
        stack, "start", "--id", WORKFLOW_ID, "--corporate", "Sanofi", "--corporate-email", SPONSOR,
        "--startup", "Owkin", "--startup-email", "partners@owkin.example", "--programme", "Coalition Next",
        "--topic", "Federated trial matching", "--sector", "health", "--owner-email", "o@programme.example",
    )  # fmt: skip
    ops = "ui@programme.example"
    # The dev stack's Coalition Next has a namespace of its own: its collaborations run there.
    with screenshot_on_failure(page, "playbook-gate"):
        page.goto(f"{stack.ui}/namespaces/passerelle-coalition-next/workflows/{WORKFLOW_ID}")
        send_update(page, "advance", {"to": "qualification", "by": ops})
        accepted(page)
        send_update(page, "advance", {"to": "pilot", "by": ops})
        refused(page, 'cannot move to pilot: missing milestone "NDA signed"')
        # Input the workflow cannot take is refused in clear too, naming the field, not the value.
        send_update(page, "record_milestone", {"kind": "NDA signed", "by": ops, "evidence_url": "Tqsecret"})
        dialog = page.get_by_role("dialog", name="Send an Update")
        error = dialog.get_by_text("invalid record_milestone: evidence_url: Input should be a valid URL")
        expect(error).to_be_visible()
        expect(error).not_to_contain_text("Tqsecret")  # the editor above holds it; the refusal does not
        expect(dialog.get_by_text("Encoded failure")).to_have_count(0)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        page.reload()
        page.get_by_role("tab", name="User Metadata").click()
        details = current_details(page)
        expect(details.get_by_text("Playbook: Coalition Next v1")).to_be_visible()
        expect(details.get_by_text(re.compile(r"⬜ pilot: milestone .NDA signed."))).to_be_visible()

    url = "https://docs.example/criteria.pdf"
    card = {"clinical value": 4, "integration effort": 4, "data protection": 3}
    with screenshot_on_failure(page, "playbook-milestones"):
        for name, payload in [
            ("record_milestone", {"kind": "NDA signed", "by": ops}),
            ("record_milestone", {"kind": "pilot success criteria", "by": ops, "evidence_url": url}),
            ("advance", {"to": "pilot", "by": ops}),
            ("record_milestone", {"kind": "pilot report", "by": ops}),
            ("advance", {"to": "evaluation", "by": ops}),
            ("score", {"by": "eva@coalition-next.example", "scores": card}),
            ("score", {"by": "bob@coalition-next.example", "scores": card}),
            ("request_approval", {"for": "deployment", "by": ops, "note": "two scorecards in"}),
        ]:
            send_update(page, name, payload)
            accepted(page)

    with screenshot_on_failure(page, "playbook-four-eyes"):
        send_update(page, "approve", {"by": ops})
        refused(page, "may not answer it: a second person must (four eyes)")
        for name, payload in [
            ("approve", {"by": APPROVER, "note": "convincing"}),
            ("advance", {"to": "deployment", "by": ops}),
            ("request_approval", {"for": "deployed", "by": ops}),
            ("approve", {"by": SPONSOR}),
            ("close", {"outcome": "deployed", "by": ops, "reason": "in production"}),
        ]:
            send_update(page, name, payload)
            accepted(page)
        page.reload()
        page.get_by_role("tab", name="User Metadata").click()
        expect(current_details(page).get_by_text(re.compile(r"deployed \(since"))).to_be_visible()


def test_a_start_the_workflow_cannot_take_says_why_in_the_web_ui(stack: DevStack, page: Page) -> None:
    """The operator who typed a bad address in the Start Workflow form reads the field and the rule."""
    workflow_id = "collab-natixis-typo"
    request = json.loads(readme_request())
    request["startup"]["contact_email"] = "partners-at-nabla"
    with screenshot_on_failure(page, "failed-start"):
        start_from_form(page, stack, workflow_id, json.dumps(request, indent=2))
        expect(page.get_by_role("link", name="Workflow started successfully")).to_be_visible()
        page.goto(f"{stack.ui}/namespaces/default/workflows/{workflow_id}")
        expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
        result = page.locator(".cm-content").filter(has_text="workflowExecutionFailedEventAttributes")
        rule = (
            "startup.contact_email: value is not a valid email address: An email address must have an @-sign."
        )
        expect(result).to_contain_text(rule)
        expect(result).to_contain_text("InvalidCollaborationRequest")
        expect(result).not_to_contain_text(
            "partners-at-nabla"
        )  # the input panel shows it; the failure does not
        expect(page.get_by_text("Encoded failure")).to_have_count(0)
