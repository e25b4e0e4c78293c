"""Default workflow ids for every alphabet: stable, distinct, and unchanged for Latin names."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle.intake.ids import default_workflow_id, slug
from tests.factories import request

NON_LATIN = [
    "株式会社",
    "有限会社",
    "Лаборатория",
    "Лабораторія",
    "مختبر",
    "מעבדה",
    "研究所",
    "ラボ",
    "実験室",
]


def test_latin_names_keep_their_readable_slug() -> None:
    """Ids of collaborations already running must not change: Latin names slug as before."""
    assert slug("Société Générale") == "societe-generale"
    assert slug("L'Oréal") == "l-oreal"
    assert slug("  ACME, Inc.  ") == "acme-inc"
    assert default_workflow_id(request()) == "collab-natixis-nabla"


def test_names_without_latin_letters_get_distinct_stable_slugs() -> None:
    slugs = [slug(name) for name in NON_LATIN]
    assert len(set(slugs)) == len(NON_LATIN), slugs
    assert slugs == [slug(name) for name in NON_LATIN]  # the same name, the same slug
    assert all(s.isascii() and s and s != "x" for s in slugs)


def test_a_mixed_name_keeps_its_latin_part_and_stays_distinct() -> None:
    assert slug("Toyota 株式会社").startswith("toyota-")
    assert slug("Toyota 株式会社") != slug("Toyota 有限会社") != slug("Toyota")


@pytest.mark.parametrize("pair", [("Яндекс", "Сбер"), ("三菱", "三井")])
def test_two_non_latin_pairs_never_share_a_default_id(pair: tuple[str, str]) -> None:
    ids = {default_workflow_id(request(corporate={"name": c, "contact_email": "a@b.example"})) for c in pair}
    assert len(ids) == 2, ids


@settings(max_examples=500, database=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(categories=("Lo", "Nd")), min_size=1, max_size=12),
        min_size=2,
        max_size=2,
        unique_by=lambda s: s.casefold(),
    )
)
def test_distinct_names_of_other_scripts_never_collide(names: list[str]) -> None:
    a, b = names
    if slug(a) == slug(b):  # only ASCII digits may legitimately fold the same: then the name is the same
        assert a.isascii() and b.isascii()
