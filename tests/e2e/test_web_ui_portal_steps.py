"""A partner postpones a missed meeting from the real e-mail that asks, in headless Chromium.

On `passerelle dev` (encrypted, its SMTP sink on, the portal beside it), a collaboration plans a
meeting three days ago: with the default grace of two days it is missed at once, and the sink
gets the question "did it take place?", one message per party with that party's links about
that meeting. The test takes the start-up's `postponed` link out of the real message, picks a new
date and time in the page's date field on a phone-sized screen, confirms, and reads the move in
the workflow's status: a `step_rescheduled` entry by `partner:startup` at the new time, one
`sequence` higher.

With PASSERELLE_DOCS_SCREENSHOTS=docs/images the pages' screenshots land in the docs
(docs/partners.md shows them); otherwise in a temporary folder.
"""

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from passerelle.portal.steps import field_value
from tests.e2e.browser import WAIT_MS, DevStack, screenshot_on_failure
from tests.e2e.test_web_ui_portal import LINK, mail_to, passerelle, plain, shots

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)


def update(stack: DevStack, workflow_id: str, name: str, data: dict[str, object]) -> None:
    """Send update `name` as the update commands do (`passerelle.cli.updates.send`), by its name."""
    code = "import json, sys; from passerelle.cli.updates import send; send(*sys.argv[1:3], json.loads(sys.argv[3]), True)"
    done = subprocess.run(
        [sys.executable, "-c", code, workflow_id, name, json.dumps(data)],
        env=stack.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done


def test_a_partner_postpones_a_missed_meeting_from_its_e_mail(stack: DevStack, page: Page) -> None:
    workflow_id = f"collab-report-{uuid.uuid4().hex[:8]}"
    passerelle(
        stack,
        "start",
        "--id", workflow_id,
        "--corporate", "Société Générale",
        "--corporate-email", "innovation@sg.example",
        "--startup", "Nabla",
        "--startup-email", "partners@nabla.example",
        "--programme", "Programme Portail",
        "--topic", "Résumé des notes cliniques",
        "--sector", "health",
        "--owner-email", "operator@programme.example",
        "--language", "fr",
    )  # fmt: skip
    now = datetime.now(UTC)
    planned = (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    update(
        stack,
        workflow_id,
        "plan_step",
        {"kind": "meeting", "at": planned.isoformat(), "minutes": 30, "by": "ops@programme.example"},
    )
    question = mail_to(stack, "partners@nabla.example", "/step_missed")
    assert "reste sans nouvelles : a-t-elle eu lieu ?" in plain(question)
    links = LINK.findall(plain(question))
    assert len(links) == 3 and all(f"localhost:{stack.portal_port}/a/p2." in url for url in links)
    postponed = links[1]
    new_at = (now + timedelta(days=9)).replace(hour=9, minute=30, second=0, microsecond=0)
    shown = field_value(new_at)  # the date field's value: Paris time

    folder = shots()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    with screenshot_on_failure(page, "portal-step"):
        page.goto(postponed)
        expect(page.get_by_role("heading", name="C'est reporté")).to_be_visible()
        expect(
            page.get_by_text(f"Au sujet de la réunion prévue le {field_value(planned).replace('T', ' ')}")
        ).to_be_visible()
        field = page.get_by_label("Nouvelle date et heure (heure de Paris)")  # its label names the zone
        expect(field).to_have_attribute("type", "datetime-local")
        page.get_by_label("Message (facultatif)").fill("Le jury se réunit la semaine prochaine.")
        field.fill(shown)
        field.blur()
        page.screenshot(path=str(folder / "portal-step-postponed.png"), full_page=True)
        page.get_by_role("button", name="Confirmer").click()
        expect(page.get_by_role("heading", name="Merci : votre réponse est enregistrée")).to_be_visible()
        expect(page.get_by_text(f"Reporté au {shown.replace('T', ' ')} (heure de Paris)")).to_be_visible()
        page.screenshot(path=str(folder / "portal-step-done.png"), full_page=True)

        history = passerelle(stack, "status", workflow_id)["history"]
        [moved] = [e for e in history if e["kind"] == "step_rescheduled"]
        assert moved["actor"] == "partner:startup"
        details = moved["details"]
        assert (details["step"], details["sequence"], details["action"]) == ("s1", 1, "postponed")
        assert datetime.fromisoformat(details["at"]) == new_at
        assert datetime.fromisoformat(details["previous_at"]) == planned

        page.goto(postponed)  # the second click
        expect(page.get_by_role("heading", name="Ce lien a déjà servi")).to_be_visible()
    update(stack, workflow_id, "close", {"outcome": "abandoned", "by": "ops", "reason": "test over"})
