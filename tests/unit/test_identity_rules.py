"""The rule of who may send an update (`workflows.domain.identity.admit`), on every near miss.

A verified actor passes only with the update's role in the collaboration's programme (an admin
of it holds every role), its own address as `by`, and a fresh statement; a partner's answer only
through the portal, for its own party and link. A declared actor (no statement) is the worker
policy's to refuse, not this rule's.
"""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.actors import VerifiedActor, programme_slug
from workflows.domain.identity import ROLES, NotPermitted, NotVerified, NotYou, admit, same_person

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)
PROGRAMME = "Coalition Next"


def actor(*roles: str, **changes: Any) -> VerifiedActor:
    fields = {
        "issuer": "https://id.example",
        "subject": "anne",
        "email": "anne@coalition-next.example",
        "roles": roles,
        "key": "v1",
        "fingerprint": "0" * 16,
        "at": NOW,
    }
    return VerifiedActor.model_validate(fields | changes)


def request(who: VerifiedActor | None, by: str | None = "anne@coalition-next.example", **more: Any) -> Any:
    return SimpleNamespace(actor=who, by=by, **more)


def test_the_role_of_the_programme_admits_and_the_slug_names_it() -> None:
    assert programme_slug(PROGRAMME) == "coalition-next"
    admit("operator", request(actor("coalition-next:operator")), PROGRAMME, NOW)
    admit("approver", request(actor("coalition-next:admin")), PROGRAMME, NOW)
    admit(
        "operator",
        request(actor("coalition-next:operator"), by=" Anne@Coalition-Next.example "),
        PROGRAMME,
        NOW,
    )
    admit("operator", request(None, by="anyone"), PROGRAMME, NOW)  # declared: the worker's policy decides


@given(
    st.sampled_from(ROLES),
    st.sampled_from(ROLES),
    st.sampled_from(["coalition-next", "french-tech", "coalition"]),
)
def test_any_other_role_or_programme_is_refused_naming_the_role_needed(
    needed: str, held: str, programme: str
) -> None:
    who = actor(f"{programme}:{held}")
    if programme == "coalition-next" and held in (needed, "admin"):
        admit(needed, request(who), PROGRAMME, NOW)  # type: ignore[arg-type]
        return
    with pytest.raises(NotPermitted, match=f"does not hold coalition-next:{needed}"):
        admit(needed, request(who), PROGRAMME, NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "by", ["claire.martin@coalition-next.example", "anne@coalition-next.example.org", "anne"]
)
def test_a_typed_by_that_is_not_the_verified_address_is_refused(by: str) -> None:
    with pytest.raises(NotYou, match="by: not the address of your login"):
        admit("operator", request(actor("coalition-next:operator"), by=by), PROGRAMME, NOW)


@pytest.mark.parametrize("age", [timedelta(minutes=16), timedelta(minutes=-3), timedelta(days=400)])
def test_a_stale_statement_is_refused(age: timedelta) -> None:
    with pytest.raises(NotVerified, match="not fresh"):
        admit("operator", request(actor("coalition-next:operator", at=NOW - age)), PROGRAMME, NOW)


def test_a_partner_answers_only_through_its_own_link_as_its_own_party() -> None:
    link = "a" * 32
    portal = actor(via="portal", party="startup", link=link, email=None)
    admit("partner", request(portal, by=None, party="startup", link=link), PROGRAMME, NOW)
    for wrong in ({"party": "corporate", "link": link}, {"party": "startup", "link": "b" * 32}):
        with pytest.raises(NotYou):
            admit("partner", request(portal, by=None, **wrong), PROGRAMME, NOW)
    operator = actor("coalition-next:admin")  # an operator's token cannot pose as a partner
    with pytest.raises(NotYou):
        admit("partner", request(operator, by=None, party="startup", link=link), PROGRAMME, NOW)
    with pytest.raises(NotPermitted, match="partner link cannot"):
        admit("operator", request(portal, by=None), PROGRAMME, NOW)


def test_four_eyes_compare_people_when_verified_and_names_when_declared() -> None:
    anne, anne_again = actor(), actor(email="a.n@coalition-next.example")
    claire = actor(subject="claire", email="claire@coalition-next.example")
    assert same_person(anne, "anne@x", anne_again, "claire@x"), "one subject under two names is one person"
    assert not same_person(anne, "anne@x", claire, "anne@x")
    assert same_person(None, "Anne@x ", None, "anne@x")
    assert not same_person(anne, "anne@x", None, "claire@x")


@given(st.sampled_from(ROLES), st.text(min_size=1, max_size=30))
def test_a_role_of_every_programme_holds_in_any(role: str, programme: str) -> None:
    """`*:<role>`: a national programme's staff, or the dev stack's operator (`*:admin`)."""
    admit(role, request(actor(f"*:{role}")), programme, NOW)  # type: ignore[arg-type]
    admit(role, request(actor("*:admin")), programme, NOW)  # type: ignore[arg-type]
    others = [r for r in ROLES if r not in (role, "admin")]
    with pytest.raises(NotPermitted):
        admit(role, request(actor(*(f"*:{r}" for r in others))), programme, NOW)  # type: ignore[arg-type]


def test_a_statement_signed_with_a_former_slug_still_proves_its_role() -> None:
    """Slugs keep ASCII letters only: "Straße" reads `stra-e`. A statement in a history signed
    when it read `strasse` must replay as it ran; any other programme's stays refused."""
    admit("operator", request(actor("stra-e-lab:operator")), "Straße Lab", NOW)
    admit("operator", request(actor("strasse-lab:operator")), "Straße Lab", NOW)
    with pytest.raises(NotPermitted):
        admit("operator", request(actor("strase-lab:operator")), "Straße Lab", NOW)
