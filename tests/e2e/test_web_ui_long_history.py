"""The Web UI of `passerelle dev` reads a whole 4,000-event history through its codec server.

The UI decodes event by event: a page of history costs about 100 /decode requests, and the
decoded download of the whole run about 3,500 within seconds (docs/security.md, "The codec
server's rate"). Every one must be answered, and every milestone of the run read in clear.
"""

import asyncio
import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response

from passerelle.cli.common import with_key_store
from passerelle.platform.client import client_for
from passerelle.platform.settings import load_settings
from tests.e2e.browser import DevStack, screenshot_on_failure
from tests.factories import request_data
from tests.histories import grow
from workflows.collaboration import CollaborationWorkflow

pytestmark = pytest.mark.e2e
EVENTS = 4_000


async def long_run(stack: DevStack, workflow_id: str) -> tuple[str, set[str]]:
    """Start a collaboration on the stack and grow it to `EVENTS` events; return its run and kinds."""
    client = await client_for(with_key_store(load_settings(stack.cli_env())))
    handle = await client.start_workflow(
        CollaborationWorkflow.run, request_data(), id=workflow_id, task_queue="collaborations"
    )
    kinds = await grow(handle, EVENTS)
    return (await handle.describe()).run_id, kinds


def kinds_in(node: Any) -> set[str]:
    """Return every milestone kind written in a decoded history, however the UI nests it."""
    if isinstance(node, dict):
        found = {node["kind"]} if isinstance(node.get("kind"), str) else set()
        return found.union(*(kinds_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(kinds_in(value) for value in node))
    if isinstance(node, str) and node.startswith(("{", "[")):
        try:
            return kinds_in(json.loads(node))
        except ValueError:
            return set()
    return set()


def test_the_web_ui_downloads_a_4000_event_history_decoded(stack: DevStack, page: Page) -> None:
    """Event History, then Download as Human Readable: every /decode answered, every milestone read."""
    workflow_id = f"collab-long-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(1) as aside:  # Playwright's sync API runs an event loop in this thread
        run_id, kinds = aside.submit(asyncio.run, long_run(stack, workflow_id)).result()
    answers: Counter[int] = Counter()

    def count(response: Response) -> None:
        if "/decode" in response.url:
            answers[response.status] += 1

    page.on("response", count)
    with screenshot_on_failure(page, "long-history"):
        page.goto(f"{stack.ui}/namespaces/default/workflows/{workflow_id}/{run_id}/history")
        page.get_by_role("button", name="Download").first.click()
        page.get_by_text("Human Readable", exact=True).click()
        with page.expect_download(timeout=240_000) as download:
            page.get_by_role("button", name="Download").last.click()
        history = json.loads(Path(download.value.path()).read_text())
    assert len(history["events"]) >= EVENTS
    assert set(answers) == {200} and answers[200] >= 3_000, answers
    assert kinds_in(history) >= kinds
