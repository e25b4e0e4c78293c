"""The matching rule of people's data rights: an address matches only itself (`schemas.addresses`)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.addresses import (
    ADDRESS,
    AFTER,
    BEFORE,
    address_pattern,
    addresses_in,
    named_in,
    names,
    replace,
    replace_in,
)

ANA = "ana@x.example"


@pytest.mark.parametrize(
    "text",
    [
        "ana@x.example",
        "ANA@X.Example",
        "write to ana@x.example.",  # the full stop ends the sentence
        "write to ana@x.example, then",
        "<Ana@x.example>",
        "(ana@x.example)",
        '"ana@x.example"',
        "mailto:ana@x.example",
        "line one\nana@x.example",
        "\tana@x.example;ben@x.example",
        "https://crm.example/c,ana@x.example",
        "ana@x.example:",
    ],
)
def test_the_address_is_found_with_a_boundary_on_both_sides(text: str) -> None:
    assert names(text, ANA)
    assert "erased" in replace(text, ANA, "erased") and not names(replace(text, ANA, "erased"), ANA)


@pytest.mark.parametrize(
    "text",
    [
        "diana@x.example",  # a longer local part
        "joana@x.example",
        "x.ana@x.example",
        "x+ana@x.example",
        "x_ana@x.example",
        "o'ana@x.example",  # an apostrophe may sit in an address: another person
        "x=ana@x.example",
        "x/ana@x.example",
        "ana@x.example.org",  # another domain
        "ana@x.example-mail.fr",
        "ana@x.examples",
        "ana@x.example_",
        "ana@x.exampleé",
        "éana@x.example",
        "jоana@x.example",  # a Cyrillic о
        "аna@x.example",  # a Cyrillic а, and nothing else
        "ana.b@x.example",
        "ana+news@x.example",
        "ana@mail.x.example",
        "ana@@x.example",
        "a@ana@x.example",
    ],
)
def test_a_longer_or_other_address_is_another_person(text: str) -> None:
    assert not names(text, ANA)
    assert replace(text, ANA, "erased") == text


def test_metacharacters_of_like_and_regular_expressions_stand_for_themselves() -> None:
    address = "a%b_c.d*e+f?g^h$i{1}|j'k/l=m!n#o&p~q-r@x.example"
    assert names(f"to {address}.", address) and names(address.upper(), address)
    for other in ("aXb_c.d*e+f?g^h$i{1}|j'k/l=m!n#o&p~q-r@x.example", "za" + address[1:]):
        assert not names(other, address), other
    assert not names("ana@x.example", "a%a@x.example") and not names("aaa@x.example", "a_a@x.example")
    assert not names("anna@x.example", "an.a@x.example")


def test_json_is_read_string_by_string_keys_included() -> None:
    value = {"note": "line\nana@x.example", "ana@x.example": ["diana@x.example", {"by": "ANA@x.example"}]}
    assert named_in(value, ANA) and not named_in({"n": "diana@x.example", "m": "line\nana@x.exampl"}, ANA)
    replaced = replace_in(value, ANA, "erased:0123456789ab")
    assert replaced == {
        "note": "line\nerased:0123456789ab",
        "erased:0123456789ab": ["diana@x.example", {"by": "erased:0123456789ab"}],
    }
    assert addresses_in(value) == {"ana@x.example", "diana@x.example"}


LOCAL = st.text(alphabet="abcxyz.%_+*?^${}|'=/!#&~-", min_size=1, max_size=6).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
DOMAIN = st.text(alphabet="abcxyz", min_size=1, max_size=4).map(lambda s: f"{s}.example")
LOCAL_GLUE = st.sampled_from(list("abz0.+_%'=/-"))  # may sit in a local part: before the address
DOMAIN_GLUE = st.sampled_from(list("az0-_"))  # may carry a domain on: after it
BOUNDARY = st.sampled_from([" ", "\n", ",", ";", "<", ">", "(", ")", '"', ":", "[", "]", ""])


@given(local=LOCAL, domain=DOMAIN, left=LOCAL_GLUE, right=DOMAIN_GLUE, before=BOUNDARY, after=BOUNDARY)
def test_every_address_is_found_alone_and_never_inside_a_longer_one(
    local: str, domain: str, left: str, right: str, before: str, after: str
) -> None:
    address = f"{local}@{domain}"
    assert names(f"x{before}{address}{after}x" if before and after else address, address)
    assert names(f"{before}{address.swapcase()}{after}", address)
    for other in (f"{left}{address}", f"{address}.{right}x", f"{address}{right}"):
        assert not names(other, address), other
        assert replace(other, address, "<erased>") == other
    assert ADDRESS.fullmatch(address) and ADDRESS.findall(f"{before}{address}{after}") == [address]


def test_the_pattern_has_one_unit_per_character_and_its_fixed_boundaries() -> None:
    pattern = address_pattern("Ana.é@x.ex")
    assert pattern == BEFORE + "[Aa][Nn][Aa]\\.[Éé]\\@[Xx]\\.[Ee][Xx]" + AFTER
