"""A partner answers a real reminder in one click, in headless Chromium, on `passerelle dev`.

The stack runs as `make up` does (encrypted, its SMTP sink on, the portal beside it). A
collaboration with a 9-second stall threshold gets its reminder; the test takes the start-up's
link out of the real message in the sink, opens it on a phone-sized screen, types a note and
confirms with the keyboard. The workflow's status and the Web UI's current details show the
answer, visibility has `Stalled` false again, and the same link a second time says it was
already used.

With PASSERELLE_DOCS_SCREENSHOTS=docs/images the pages' screenshots land in the docs
(docs/partners.md shows them); otherwise in a temporary folder.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import WAIT_MS, DevStack, screenshot_on_failure

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)
LINK = re.compile(r"http://localhost:\d+/a/[^\s\"<>]+")
PROGRAMME = "Programme Portail"


def passerelle(stack: DevStack, *args: str) -> Any:
    """Run a `passerelle` command against the stack, require success, return its JSON output."""
    command = [str(Path(sys.executable).parent / "passerelle"), *args, "--json"]
    done = subprocess.run(command, env=stack.cli_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done
    return json.loads(done.stdout)


def mail_to(stack: DevStack, address: str, key_suffix: str, seconds: float = 120) -> EmailMessage:
    """Wait for the sink's message to `address` whose notification key ends with `key_suffix`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for file in sorted(stack.mail.glob("*.eml")) if stack.mail.is_dir() else []:
            message = message_from_bytes(file.read_bytes(), policy=default)
            assert isinstance(message, EmailMessage)
            if str(message["X-Passerelle-Key"]).endswith(key_suffix) and address in str(message["To"]):
                return message
        time.sleep(0.5)
    raise AssertionError(f"no {key_suffix} mail to {address}:\n" + "".join(stack.output[-40:]))


def plain(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def shots() -> Path:
    folder = os.environ.get("PASSERELLE_DOCS_SCREENSHOTS")
    return Path(folder) if folder else Path(tempfile.mkdtemp(prefix="passerelle-portal-"))


def eventually_listed(stack: DevStack, workflow_id: str, *flags: str) -> None:
    for _ in range(40):  # visibility is eventually consistent
        if workflow_id in {
            row["workflow_id"] for row in passerelle(stack, "list", "--programme", PROGRAMME, *flags)
        }:
            return
        time.sleep(0.5)
    raise AssertionError(f"{workflow_id} never listed with {flags}")


def test_a_partner_answers_a_real_reminder_in_one_click(stack: DevStack, page: Page) -> None:
    workflow_id = f"collab-portail-{uuid.uuid4().hex[:8]}"
    passerelle(
        stack,
        "start",
        "--id", workflow_id,
        "--corporate", "Société Générale",
        "--corporate-email", "innovation@sg.example",
        "--startup", "Nabla",
        "--startup-email", "partners@nabla.example",
        "--programme", PROGRAMME,
        "--topic", "Résumé des notes cliniques",
        "--sector", "health",
        "--owner-email", "operator@programme.example",
        "--language", "fr",
        "--stall", "introduction=0.0001",
    )  # fmt: skip
    reminder = mail_to(stack, "partners@nabla.example", "/reminder")
    links = LINK.findall(plain(reminder))
    assert len(links) == 4 and all(f"localhost:{stack.portal_port}/a/p1." in url for url in links)
    corporate = mail_to(stack, "innovation@sg.example", "/reminder")
    assert not set(links) & set(LINK.findall(plain(corporate))), "each party has its own links"
    assert "partners@nabla.example" not in str(corporate["To"])
    on_it = links[0]
    eventually_listed(stack, workflow_id, "--stalled")

    folder = shots()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    with screenshot_on_failure(page, "portal"):
        page.goto(on_it)
        expect(page.get_by_role("heading", name="Nous avançons")).to_be_visible()
        expect(page.get_by_text("Vous répondez pour la start-up Nabla")).to_be_visible()
        assert passerelle(stack, "status", workflow_id)["partner_answers"] == [], "a GET changes nothing"
        note = page.get_by_label("Message (facultatif)")  # every field has its label
        note.fill("Le contrat est chez nos juristes, signature la semaine prochaine.")
        page.screenshot(path=str(folder / "portal-form.png"), full_page=True)
        note.focus()
        page.keyboard.press("Tab")  # the keyboard alone reaches the button and confirms
        expect(page.get_by_role("button", name="Confirmer")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Merci : votre réponse est enregistrée")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("entrée n°")
        page.screenshot(path=str(folder / "portal-done.png"), full_page=True)

        status = passerelle(stack, "status", workflow_id)
        [answer] = status["partner_answers"]
        assert (answer["party"], answer["action"]) == ("startup", "on_it")
        assert not status["stalled"]
        eventually_listed(stack, workflow_id, "--not-stalled")

        # The operator sees it in the Web UI's current details.
        page.set_viewport_size({"width": 1400, "height": 1100})
        page.goto(f"{stack.ui}/namespaces/default/workflows/{workflow_id}")
        page.get_by_role("tab", name="User Metadata").click()
        details = page.frame_locator("iframe").last
        expect(details.get_by_text(re.compile(r"Nabla answered: on_it on .*juristes"))).to_be_visible()
        page.set_viewport_size({"width": 390, "height": 844})

        page.goto(on_it)  # the second click
        expect(page.get_by_role("heading", name="Ce lien a déjà servi")).to_be_visible()
        page.screenshot(path=str(folder / "portal-used.png"), full_page=True)
    passerelle(stack, "close", workflow_id, "--outcome", "abandoned", "--by", "ops", "--reason", "test over")
