"""Custom search attributes: what operators filter on in the Web UI's workflow list.

No personal data goes here (no e-mails, no notes): search attributes are stored unencrypted in
the visibility store, even when payload encryption is on.
"""

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

CORPORATE = SearchAttributeKey.for_keyword("Corporate")
STARTUP = SearchAttributeKey.for_keyword("Startup")
PROGRAMME = SearchAttributeKey.for_keyword("Programme")
SECTOR = SearchAttributeKey.for_keyword("Sector")
STAGE = SearchAttributeKey.for_keyword("Stage")
OUTCOME = SearchAttributeKey.for_keyword("Outcome")
STALLED = SearchAttributeKey.for_bool("Stalled")
PAUSED = SearchAttributeKey.for_bool("Paused")

ALL: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    CORPORATE,
    STARTUP,
    PROGRAMME,
    SECTOR,
    STAGE,
    OUTCOME,
    STALLED,
    PAUSED,
)


def cli_flags() -> list[str]:
    """Return `--search-attribute Name=Type` flags for `temporal server start-dev`."""
    flags = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return flags


class Published:
    """The search attributes a run has upserted, so that it upserts only what changed: each
    upsert is a command and an event in history."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}

    def changes(self, updates: list[SearchAttributeUpdate[Any]]) -> list[SearchAttributeUpdate[Any]]:
        """Return the updates whose value differs from the last one upserted, and remember them."""
        changed = [u for u in updates if self._values.get(u.key.name) != u.value]
        self._values.update((u.key.name, u.value) for u in changed)
        return changed
