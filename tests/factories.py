"""Builders of valid inputs, so each test states only what it is about."""

from typing import Any

from schemas import CollaborationRequest

EXAMPLE: dict[str, Any] = {
    "corporate": {"name": "Natixis", "contact_email": "innovation@natixis.example"},
    "startup": {"name": "Nabla", "contact_email": "partners@nabla.example", "label": "Next40"},
    "programme": "French Tech Corporate Community",
    "topic": "Clinical note summarisation pilot",
    "sector": "health",
    "owner_email": "operator@programme.example",
    "language": "fr",
}


def request_data(**changes: Any) -> dict[str, Any]:
    """Return the example input of docs/architecture.md §1 with `changes` applied at the top level."""
    return {**EXAMPLE, **changes}


def request(**changes: Any) -> CollaborationRequest:
    """Return a validated request built from the example."""
    return CollaborationRequest.model_validate(request_data(**changes))


def apply(state: Any, update: str, request: Any, now: Any, fetched: Any = None) -> Any:
    """Judge `update` by its rule, then apply its operation, as the workflow does (`_check`, then
    `_apply`); return the entry it records. `fetched`: what the handler would read first."""
    from workflows.domain.updates import UPDATES

    declared = UPDATES[update]
    verdict = declared.rule(state, request)
    return declared.operation(state, request, fetched if declared.fetch else verdict, now)
