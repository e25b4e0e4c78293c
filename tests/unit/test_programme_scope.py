"""Which namespace is whose, and which programmes a caller sees: the near misses stay apart."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.platform.identity import ClaimsMapping
from passerelle.platform.programmes import Namespaces, ProgrammeError, check_template, slug_of
from passerelle.platform.scope import EVERYTHING, Scope, of_roles
from schemas.actors import programme_slug

slugs = st.from_regex(r"[a-z0-9](?:-?[a-z0-9]){0,20}", fullmatch=True)  # what a slug can be: no "--"
ROLE_NAMES = ("operator", "approver", "evaluator", "auditor", "admin")


@given(slugs, st.sampled_from(["passerelle-{programme}", "{programme}.a1b2c", "p-{programme}-x"]))
def test_a_programme_namespace_names_its_programme_and_no_other(slug: str, template: str) -> None:
    namespaces = Namespaces(shared="default", template=template)
    assert namespaces.programme_of(namespaces.of(slug)) == slug
    assert namespaces.chain_programme(namespaces.of(slug)) == slug
    assert namespaces.programme_of("default") is None and namespaces.chain_programme("default") == ""
    # Near misses: a character more or less, or another case, is never this programme's.
    own = namespaces.of(slug)
    for near in (own + "x", "x" + own, own[:-1], own[1:], own.upper()):
        if near != own:
            assert namespaces.programme_of(near) != slug, near


def test_a_template_must_name_the_programme_once_and_make_namespace_names() -> None:
    for bad in ("passerelle", "{programme}-{programme}", "pass relle-{programme}", "-{programme}"):
        with pytest.raises(ProgrammeError):
            check_template(bad)
    assert check_template("passerelle-{programme}.acct1") == "passerelle-{programme}.acct1"


@given(st.text(max_size=40))
def test_a_slug_is_the_roles_rule_or_refused(name: str) -> None:
    try:
        slug = slug_of(name)
    except ProgrammeError:
        assert not programme_slug(name) or len(programme_slug(name)) > 63
        return
    assert slug == programme_slug(name) and slug == slug_of(slug)


@given(slugs, slugs, st.sampled_from(ROLE_NAMES))
def test_a_role_in_one_programme_reads_that_programme_only(mine: str, other: str, role: str) -> None:
    scope = of_roles([f"{mine}:{role}"])
    assert scope.reads(mine) and scope.sees(mine)
    assert scope.reads(other) == (other == mine) and scope.sees(other) == (other == mine)
    assert not scope.reads(None), "a payload of no nameable programme is for every programme's readers"
    assert not scope.every_programme
    rows = scope.narrowed(None)
    assert rows.keeps(mine, "Anyone") and rows.keeps(other, "Anyone") == (other == mine)


@given(slugs, st.sampled_from(ROLE_NAMES))
def test_a_star_role_or_a_key_holder_reads_every_programme(slug: str, role: str) -> None:
    for scope in (of_roles([f"*:{role}"]), EVERYTHING):
        assert scope.reads(slug) and scope.reads(None) and scope.every_programme
        assert scope.narrowed(None).unlimited
        assert scope.narrowed(slug).whole == frozenset({slug}), "a chosen programme narrows it"


@given(slugs, slugs, st.sampled_from(["Lilly", "Lilly France", " lilly ", "LILLY", "Lily", "Pfizer"]))
def test_a_sponsor_sees_its_organisations_rows_of_its_programme_and_reads_no_payload(
    mine: str, other: str, corporate: str
) -> None:
    scope = of_roles([f"{mine}:sponsor"], "Lilly")
    assert not scope.reads(mine), "a sponsor opens no payload"
    assert scope.sees(mine) and scope.sees(other) == (other == mine)
    rows = scope.narrowed(None)
    same = corporate.strip().lower() == "lilly"
    assert rows.keeps(mine, corporate) == same
    assert rows.keeps(other, corporate) == (other == mine and same)
    assert not of_roles([f"{mine}:sponsor"]).sees(mine), "without an organisation a sponsor sees nothing"


def test_the_claims_mapping_reads_the_sponsor_and_the_organisation() -> None:
    token = {
        "iss": "i",
        "sub": "s",
        "email": "sam@lilly.example",
        "groups": ["a:sponsor", "b:nothing"],
        "organisation": "Lilly",
    }
    scope = ClaimsMapping().scope(token)
    assert scope.roles == frozenset({"a:sponsor"}) and scope.organisation == "Lilly"
    assert Scope.from_json(scope.to_json()) == scope
