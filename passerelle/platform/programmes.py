"""Programmes and their Temporal namespaces: which namespace a programme's collaborations run in.

A programme isolated on Temporal's own boundary has a namespace of its own, named by
`PASSERELLE_PROGRAMME_NAMESPACE` from its slug (`passerelle-{programme}` by default, so
"Coalition Next" runs in `passerelle-coalition-next`; on Temporal Cloud a namespace name ends
with the account id: `passerelle-{programme}.a1b2c`). `passerelle programme add` registers it
(`passerelle.platform.provision`); the worker serves every namespace of that form it finds.

The namespace of `TEMPORAL_NAMESPACE` is the *shared* one: collaborations started before their
programme had a namespace run there until they close, and a programme without a namespace of its
own still starts there. Within it, the programmes are kept apart by the codec server and the
worker (docs/security.md, "Programmes"), not by Temporal.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

DEFAULT_TEMPLATE = "passerelle-{programme}"
PLACEHOLDER = "{programme}"
SHARED = ""  # how data keys and rows name the shared namespace's chains (migration 0012)
# What a namespace's description holds: the programme's name as people write it.
NAME_KEY = "passerelle.programme"
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class ProgrammeError(ValueError):
    """A programme name, slug or namespace template that cannot be used (the message says why)."""


def check_template(template: str) -> str:
    """Return `template` when it names `{programme}` once and makes valid namespace names."""
    if template.count(PLACEHOLDER) != 1:
        raise ProgrammeError(
            f"PASSERELLE_PROGRAMME_NAMESPACE must hold {PLACEHOLDER} exactly once, not {template!r}"
        )
    rest = template.replace(PLACEHOLDER, "x")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", rest):
        raise ProgrammeError(
            f"PASSERELLE_PROGRAMME_NAMESPACE {template!r}: a namespace name holds letters, digits, "
            "'.', '-' and '_' only"
        )
    return template


def slug_of(programme: str) -> str:
    """Return a programme's slug, from its name or its slug; refuse one that names nothing."""
    from schemas.actors import programme_slug  # the contract, for the commands that need it only

    slug = programme_slug(programme)
    if not SLUG.fullmatch(slug):
        raise ProgrammeError(
            f"programme {programme!r}: its slug {slug!r} must be 1 to 63 of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit"
        )
    return slug


@dataclass(frozen=True)
class Namespaces:
    """The namespace of each programme, and the shared one."""

    shared: str = "default"
    template: str = DEFAULT_TEMPLATE

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        before, after = self.template.split(PLACEHOLDER)
        return re.compile(re.escape(before) + r"([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)" + re.escape(after))

    def of(self, programme: str) -> str:
        """Return the namespace of a programme (by name or slug) of its own."""
        return self.template.replace(PLACEHOLDER, slug_of(programme))

    def programme_of(self, namespace: str | None) -> str | None:
        """Return the slug of the programme whose own namespace this is; None for any other
        namespace (the shared one above all)."""
        if namespace is None or namespace == self.shared:
            return None
        found = self._pattern.fullmatch(namespace)
        return found.group(1) if found else None

    def chain_programme(self, namespace: str | None) -> str:
        """Return how data keys name the chains of a namespace: its programme, or `SHARED`."""
        return self.programme_of(namespace) or SHARED


def namespaces_from(env: Mapping[str, str], shared: str) -> Namespaces:
    """Read `PASSERELLE_PROGRAMME_NAMESPACE`; `shared` is `TEMPORAL_NAMESPACE`'s."""
    template = (env.get("PASSERELLE_PROGRAMME_NAMESPACE") or DEFAULT_TEMPLATE).strip()
    try:
        return Namespaces(shared=shared, template=check_template(template))
    except ProgrammeError as err:
        raise SystemExit(str(err)) from None


def programme_from(env: Mapping[str, str]) -> str | None:
    """Read `PASSERELLE_PROGRAMME` (`passerelle --programme`), as a slug."""
    raw = (env.get("PASSERELLE_PROGRAMME") or "").strip()
    try:
        return slug_of(raw) if raw else None
    except ProgrammeError as err:
        raise SystemExit(f"PASSERELLE_PROGRAMME: {err}") from None
