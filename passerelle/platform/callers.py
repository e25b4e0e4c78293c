"""Who runs a command, and in which programme: the scope `passerelle` acts within.

An operator's `passerelle` (with `PASSERELLE_CODEC_URL`) asks the codec server who its login is
(`/whoami`): the server verifies the token and reads its programme roles, so a command sees what
the codec server would serve it, no more. A process holding the keys reads every programme
anyway (`passerelle.platform.scope.EVERYTHING`).

`choose` then picks the programme a command acts in: the one asked for (`--programme`), which the
caller must hold a role in, or the caller's only programme; a caller of several programmes says
which. The command then runs in that programme's namespace when it has one
(`passerelle.platform.programmes`), in the shared namespace otherwise, or when `--shared` asks
for it (collaborations started before their programme had a namespace of its own).
"""

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from passerelle.platform.scope import ALL, EVERYTHING, RowScope, Scope
from passerelle.platform.settings import Settings, in_namespace


class OutsideScope(Exception):
    """A command outside the caller's programmes; the message is one line."""


@dataclass(frozen=True)
class Caller:
    """The caller's scope and the programme (slug, None for all of theirs) a command acts in."""

    scope: Scope
    programme: str | None

    @property
    def rows(self) -> RowScope:
        """The rows of PostgreSQL the command may read or change."""
        return self.scope.narrowed(self.programme)


async def scope_of(settings: Settings) -> Scope:
    """Return the caller's scope: from the codec server with a login, every programme otherwise."""
    if settings.codec_url is None:
        return EVERYTHING
    from passerelle.platform.remote_codec import RemoteCodec
    from passerelle.platform.token_source import TokenSource

    codec = RemoteCodec(settings.codec_url, TokenSource(settings.login).current_token)
    try:
        return Scope.from_json(await codec.whoami())
    finally:
        await codec.aclose()


def choose(settings: Settings, scope: Scope) -> Caller:
    """Return the programme a command acts in, or raise OutsideScope saying why none."""
    asked = settings.programme
    if asked is not None:
        if not scope.sees(asked):
            raise OutsideScope(f"your login holds no role in programme {asked}{_yours(scope)}")
        return Caller(scope, asked)
    if scope.every_programme:
        return Caller(scope, None)
    mine = _mine(scope)
    if len(mine) == 1:
        return Caller(scope, mine[0])
    if not mine:
        raise OutsideScope("your login holds no programme role: ask your programme's admin for one")
    raise OutsideScope(f"you hold roles in {', '.join(mine)}: choose one with --programme")


def _mine(scope: Scope) -> list[str]:
    """Return the programmes the caller holds a role in by name (not `*`), sorted."""
    return sorted((scope.programmes | scope.sponsored) - {ALL})


def _yours(scope: Scope) -> str:
    mine = _mine(scope)
    return f" (yours: {', '.join(mine)})" if mine else ""


Exists = Callable[[str], Awaitable[bool]]


async def settle(settings: Settings, caller: Caller, exists: Exists) -> Settings:
    """Return the settings of the namespace the command runs in: the programme's own when it
    has one (`exists`), the shared one otherwise or with `--shared`."""
    settings = replace(settings, programme=caller.programme)
    if caller.programme is None or os.environ.get("PASSERELLE_SHARED") == "1":
        return in_namespace(settings, settings.namespaces.shared)
    own = settings.namespaces.of(caller.programme)
    return in_namespace(settings, own if await exists(own) else settings.namespaces.shared)
