"""A meeting planned from the real Web UI reaches the parties' calendars, in headless Chromium.

On `passerelle dev` (encrypted, its SMTP sink on), the operator sends `plan_step` from the Send an
Update dialog: the current details show the next step, `passerelle status` and `passerelle list`
show it in Paris time, and each party's e-mail carries an iCalendar invitation (`METHOD:REQUEST`)
for 10:00 in Paris on a day after the spring clock change. Moving it from the CLI sends the same
`UID` with a higher `SEQUENCE`.

With PASSERELLE_DOCS_SCREENSHOTS=docs/images the screenshots land in the docs (docs/operators.md
shows them); otherwise in a temporary folder.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import WAIT_MS, DevStack, screenshot_on_failure
from tests.e2e.test_web_ui import accepted, current_details, update_option

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)
PARIS = ZoneInfo("Europe/Paris")
STARTUP = "partners@withings.example"
CORPORATE = "innovation@axa.example"
MEETING = datetime(2027, 3, 30, 10, 0, tzinfo=PARIS)  # after the clocks go forward on 28 March


def passerelle(stack: DevStack, *args: str, as_json: bool = True) -> Any:
    """Run a `passerelle` command against the stack, require success, return its output."""
    command = [str(Path(sys.executable).parent / "passerelle"), *args, *(["--json"] if as_json else [])]
    done = subprocess.run(command, env=stack.cli_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done
    return json.loads(done.stdout) if as_json else done.stdout


def invitations(stack: DevStack, address: str, count: int, seconds: float = 120) -> list[EmailMessage]:
    """Wait for `count` invitation e-mails to `address` in the sink; return them, oldest first."""
    deadline = time.monotonic() + seconds
    found: list[EmailMessage] = []
    while time.monotonic() < deadline:
        found = []
        for file in sorted(stack.mail.glob("*.eml")) if stack.mail.is_dir() else []:
            message = message_from_bytes(file.read_bytes(), policy=default)
            assert isinstance(message, EmailMessage)
            if str(message["X-Passerelle-Key"]).endswith("/step_invitation") and address in str(
                message["To"]
            ):
                found.append(message)
        if len(found) >= count:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{len(found)} invitation(s) to {address}:\n" + "".join(stack.output[-40:]))


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    """Return the invitation the e-mail carries as its `text/calendar` part."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert parts, "no text/calendar part"
    return icalendar.Calendar.from_ical(parts[0].get_payload(decode=True))


def event_of(calendar: icalendar.Calendar) -> Any:
    [event] = calendar.walk("VEVENT")
    return event


def shots() -> Path:
    folder = os.environ.get("PASSERELLE_DOCS_SCREENSHOTS")
    return Path(folder) if folder else Path(tempfile.mkdtemp(prefix="passerelle-steps-ui-"))


def test_a_meeting_planned_in_the_web_ui_reaches_the_calendars(stack: DevStack, page: Page) -> None:
    workflow_id = f"collab-axa-withings-{uuid.uuid4().hex[:8]}"
    passerelle(
        stack,
        "start",
        "--id", workflow_id,
        "--corporate", "AXA",
        "--corporate-email", CORPORATE,
        "--startup", "Withings",
        "--startup-email", STARTUP,
        "--programme", "Programme Calendrier",
        "--topic", "Prévention cardio-vasculaire",
        "--sector", "health",
        "--owner-email", "operator@programme.example",
        "--language", "fr",
    )  # fmt: skip
    folder = shots()
    plan = {
        "kind": "meeting",
        "at": MEETING.isoformat(),
        "minutes": 90,
        "where": "Station F, 5 parvis Alan Turing, Paris",
        "note": "Comité de pilotage : périmètre du pilote",
        "by": "ui@programme.example",
    }
    with screenshot_on_failure(page, "plan-step"):
        page.goto(f"{stack.ui}/namespaces/default/workflows/{workflow_id}")
        page.get_by_role("button", name="More Actions").click()
        page.get_by_role("menuitem", name="Send an Update").click()
        dialog = page.get_by_role("dialog", name="Send an Update")
        dialog.get_by_test_id("update-select-button").click()
        update_option(page, "plan_step").click()
        dialog.locator(".cm-content").click()
        page.keyboard.insert_text(json.dumps(plan, ensure_ascii=False))
        dialog.locator("#update-id").click()  # leave the editor: it re-formats, then Submit stays put
        page.wait_for_timeout(500)
        dialog.screenshot(path=str(folder / "web-ui-plan-step.png"))
        dialog.get_by_role("button", name="Submit").click()
        accepted(page)
        page.reload()
        page.get_by_role("tab", name="User Metadata").click()
        details = current_details(page)
        expect(
            details.get_by_text(re.compile(r"Next step s1.*meeting on 2027-03-30 10:00 \(Paris\)"))
        ).to_be_visible()
        page.screenshot(path=str(folder / "web-ui-next-step.png"), full_page=True)

    status = passerelle(stack, "status", workflow_id)
    [step] = status["steps"]
    assert (step["id"], step["minutes"], step["sequence"]) == ("s1", 90, 0)
    assert datetime.fromisoformat(step["at"]) == MEETING
    assert "2027-03-30 10:00 (Paris)" in passerelle(stack, "status", workflow_id, as_json=False)
    listed = passerelle(stack, "list", "--programme", "Programme Calendrier")
    assert [datetime.fromisoformat(r["next_step_at"]) for r in listed if r["workflow_id"] == workflow_id] == [
        MEETING
    ]

    [first] = invitations(stack, STARTUP, 1)
    calendar = calendar_of(first)
    event = event_of(calendar)
    assert str(calendar["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 0
    start = event.decoded("DTSTART")
    assert (
        start == MEETING
        and start.tzinfo is not None
        and str(event["DTSTART"].params["TZID"]) == "Europe/Paris"
    )
    assert "Station F" in str(event["LOCATION"])
    assert invitations(stack, CORPORATE, 1), "both parties are invited"
    html = first.get_body(preferencelist=("html",))
    assert html is not None
    with screenshot_on_failure(page, "invitation"):
        page.set_viewport_size({"width": 760, "height": 480})  # the e-mail, as a mail client shows it
        page.set_content(str(html.get_content()))
        expect(page.get_by_text(re.compile("Station F"))).to_be_visible()
        page.screenshot(path=str(folder / "invitation-email.png"))

    passerelle(stack, "reschedule", workflow_id, "--step", "s1", "--at", "2027-04-06T14:00", "--by", "ops")
    moved = event_of(calendar_of(invitations(stack, STARTUP, 2)[-1]))
    assert str(moved["UID"]) == str(event["UID"]) and int(moved["SEQUENCE"]) == 1
    assert moved.decoded("DTSTART") == datetime(2027, 4, 6, 14, 0, tzinfo=PARIS)
    passerelle(stack, "close", workflow_id, "--outcome", "abandoned", "--by", "ops", "--reason", "test over")
