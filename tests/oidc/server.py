"""The suite's OpenID Connect provider: the dev stack's own (`passerelle.devstack.identity`).

    with oidc_provider() as provider:
        provider.issuer        # http://127.0.0.1:<port>
        provider.add_key()     # publish a new key, not signing yet
        provider.promote_key() # the newest key signs; the others stay published
        provider.retire_keys() # only the signing key stays published

Its packages are installed once into `tests/oidc/runtime/` (git ignores it), under a file lock
that keeps the two processes of `make test` from installing at the same time.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from passerelle.devstack.identity import Provider, install, run_provider

__all__ = ["Provider", "oidc_provider"]

RUNTIME = Path(__file__).resolve().parent / "runtime"


@contextmanager
def oidc_provider(env: Mapping[str, str] | None = None) -> Iterator[Provider]:
    """Run the provider on a free port until the block ends."""
    with run_provider(install(RUNTIME), 0, env) as provider:
        yield provider
