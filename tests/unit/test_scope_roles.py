"""`Scope.holds`: which programme roles a caller holds, as the workflow's own rule reads them."""

import pytest

from passerelle.platform.scope import EVERYTHING, of_roles


@pytest.mark.parametrize(
    ("roles", "programme", "role", "held"),
    [
        (["iso-a:admin"], "iso-a", "admin", True),
        (["iso-a:admin"], "iso-a", "operator", True),  # an admin holds every role of its programme
        (["iso-a:admin"], "iso-b", "admin", False),
        (["iso-a:operator"], "iso-a", "admin", False),
        (["*:admin"], "iso-b", "admin", True),
        (["*:operator"], "iso-b", "operator", True),
        (["*:operator"], "iso-b", "admin", False),
        (["iso-a:sponsor"], "iso-a", "admin", False),
        (["iso-a:sponsor"], "iso-a", "operator", False),
        (["iso-a-b:admin"], "iso-a", "admin", False),  # a slug is matched whole
        ([], "iso-a", "admin", False),
    ],
)
def test_holds(roles: list[str], programme: str, role: str, held: bool) -> None:
    assert of_roles(roles, "Lilly").holds(programme, role) is held


def test_a_key_holder_holds_every_role() -> None:
    assert EVERYTHING.holds("iso-a", "admin")
