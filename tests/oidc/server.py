"""Start the suite's OpenID Connect provider (tests/oidc/provider.mjs) and stop it afterwards.

    with oidc_provider() as provider:
        provider.issuer        # http://127.0.0.1:<port>
        provider.add_key()     # publish a new key, not signing yet
        provider.promote_key() # the newest key signs; the others stay published
        provider.retire_keys() # only the signing key stays published

The provider's packages are installed by `npm ci` from package-lock.json, once: again only when
the lock file is newer than the installed tree. An exclusive file lock keeps two test processes
(pytest-xdist) from installing at the same time.
"""

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 20.0


def ensure_installed() -> None:
    """Run `npm ci` in tests/oidc unless its node_modules matches package-lock.json already."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("the OIDC provider of the tests needs Node.js 20.19+ and npm on PATH")
    installed = HERE / "node_modules" / ".package-lock.json"
    lock = HERE / "package-lock.json"
    with open(HERE / ".npm-ci.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
            return
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=300,
        )


@dataclass(frozen=True)
class Provider:
    issuer: str
    process: "subprocess.Popen[str]"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def kids(self) -> list[str]:
        """The published key ids, the signing key first."""
        return list(httpx.get(f"{self.issuer}/_test/keys").json()["kids"])

    def _keys(self, action: str) -> list[str]:
        response = httpx.post(f"{self.issuer}/_test/keys/{action}").raise_for_status()
        return list(response.json()["kids"])

    def add_key(self) -> list[str]:
        """Publish a new key that does not sign yet. Returns the key ids, the signing one first."""
        return self._keys("add")

    def promote_key(self) -> list[str]:
        """Sign with the newest key from now on; keep publishing the others."""
        return self._keys("promote")

    def retire_keys(self) -> list[str]:
        """Stop publishing every key but the signing one."""
        return self._keys("retire")


@contextmanager
def oidc_provider(env: Mapping[str, str] | None = None) -> Iterator[Provider]:
    """Run the provider on a free port (it binds port 0 and says which) until the block ends."""
    ensure_installed()
    # Its start-up warnings go to a file, read only when it fails to start: a pipe nobody reads
    # could fill up and block it.
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs"), "0"],
        cwd=HERE,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the provider prints one line once it listens
        if not line:
            process.wait(timeout=5)
            log.seek(0)
            raise RuntimeError(f"the OIDC provider did not start: {log.read().strip()}")
        issuer = str(json.loads(line)["issuer"])
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the OIDC provider did not serve its discovery document")
            time.sleep(0.05)
        yield Provider(issuer, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()
