"""A real `passerelle dev` in a subprocess and Debian's Chromium driven by Playwright.

The stack runs encrypted as `make up` does: no keys in its environment, so it creates its dev key
in its state folder, serves the codec server and wires the Web UI to it. The CLI commands of the
tests find that key through `PASSERELLE_STATE_DIR`, as commands run in the project folder do.

Playwright's own browser download cannot work here: the tests drive the system `chromium`
(installed by `.ci/run` with apt when missing) and are skipped, loudly, only where there is none.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BANNER = "Passerelle dev stack is running"
WAIT_MS = 30_000  # generous: two cores shared with the whole stack


def chromium_path() -> str:
    """Return the system Chromium, or skip the test with a reason nobody can miss."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "NO CHROMIUM: the browser end-to-end test did not run. Install Debian's `chromium` "
            "(apt-get install -y chromium; .ci/run does it when it can)."
        )
    return found


def free_port() -> int:
    """Return a TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DevStack:
    """A running `passerelle dev`: its ports and its output so far."""

    port: int
    ui_port: int
    portal_port: int
    state: Path
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def mail(self) -> Path:
        """Return the folder where the stack's SMTP sink keeps each mail (`NNNN.eml`)."""
        return self.state / "mail"

    @property
    def ui(self) -> str:
        """Return the Web UI's base URL."""
        return f"http://127.0.0.1:{self.ui_port}"

    def cli_env(self) -> dict[str, str]:
        """Return an environment pointing the `passerelle` CLI at this stack."""
        return {
            **without_keys(os.environ),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
            "TEMPORAL_NAMESPACE": "default",
            "PASSERELLE_STATE_DIR": str(self.state),
        }


def without_keys(env: Mapping[str, str]) -> dict[str, str]:
    """Return `env` without the suite's keys: the stack makes and keeps its own."""
    return {
        k: v for k, v in env.items() if k not in ("PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_DATABASE_URL")
    }


@contextmanager
def passerelle_dev(wait: float = 180) -> Iterator[DevStack]:
    """Run `passerelle dev` on free ports and a temporary state folder until the block ends."""
    state = Path(tempfile.mkdtemp(prefix="passerelle-ui-state-"))
    port, ui_port, codec_port, portal_port, smtp_port = (free_port() for _ in range(5))
    command = [str(Path(sys.executable).parent / "passerelle"), "dev", "--port", str(port)]
    command += ["--ui-port", str(ui_port), "--codec-port", str(codec_port), "--state-dir", str(state)]
    command += ["--portal-port", str(portal_port), "--smtp-sink", "--smtp-sink-port", str(smtp_port)]
    process = subprocess.Popen(
        command,
        env=without_keys(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = DevStack(port, ui_port, portal_port, state, process)
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: stack.output.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + wait
        while not any(BANNER in line for line in stack.output):
            assert process.poll() is None, "passerelle dev exited:\n" + "".join(stack.output)
            assert time.monotonic() < deadline, "passerelle dev never got ready:\n" + "".join(stack.output)
            time.sleep(0.3)
        yield stack
    finally:
        process.terminate()  # SIGTERM: the worker drains, then Temporal and PostgreSQL stop
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(state, ignore_errors=True)


@contextmanager
def browser() -> Iterator[Browser]:
    """Launch headless Debian Chromium."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[None]:
    """Save a full-page screenshot under a temporary folder if the block fails, and say where."""
    try:
        yield
    except BaseException:
        folder = Path(tempfile.mkdtemp(prefix="passerelle-ui-failure-"))
        shot = folder / f"{name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failure: {shot} (page {page.url})", file=sys.stderr)
        except Exception as err:  # the page may be gone; the original failure matters more
            print(f"\nno screenshot ({err})", file=sys.stderr)
        raise
