"""Custom search attributes: what operators filter on in the Web UI's workflow list.

No personal data goes here (no e-mails, no notes): search attributes are stored unencrypted in
the visibility store, even when payload encryption is on.
"""

from temporalio.common import SearchAttributeKey

CORPORATE = SearchAttributeKey.for_keyword("Corporate")
STARTUP = SearchAttributeKey.for_keyword("Startup")
PROGRAMME = SearchAttributeKey.for_keyword("Programme")
SECTOR = SearchAttributeKey.for_keyword("Sector")
STAGE = SearchAttributeKey.for_keyword("Stage")
OUTCOME = SearchAttributeKey.for_keyword("Outcome")
STALLED = SearchAttributeKey.for_bool("Stalled")
PAUSED = SearchAttributeKey.for_bool("Paused")
# Planned next steps: the soonest step ahead, the go/no-go date, and whether it passed undecided.
NEXT_STEP_AT = SearchAttributeKey.for_datetime("NextStepAt")
DECISION_DUE = SearchAttributeKey.for_datetime("DecisionDue")
DECISION_OVERDUE = SearchAttributeKey.for_bool("DecisionOverdue")

ALL: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    CORPORATE,
    STARTUP,
    PROGRAMME,
    SECTOR,
    STAGE,
    OUTCOME,
    STALLED,
    PAUSED,
    NEXT_STEP_AT,
    DECISION_DUE,
    DECISION_OVERDUE,
)


def cli_flags() -> list[str]:
    """Return `--search-attribute Name=Type` flags for `temporal server start-dev`."""
    flags = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return flags
