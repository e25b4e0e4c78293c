"""Invalid input is refused in clear, naming the field and the rule, never the value.

A start input or an update that does not decode fails with `InvalidCollaborationRequest` or
`InvalidRequest`, whose message travels in clear (`workflows.requests.IN_CLEAR`), so the operator
who typed it in the Web UI reads what was wrong. The values may be personal data: each one below
carries a token that must appear nowhere in the message, nor in the failure as encoded.
"""

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from passerelle.platform.client import converter_for
from passerelle.platform.codec import new_key
from passerelle.platform.settings import load_settings
from workflows.domain.updates import UPDATES
from workflows.requests import IN_CLEAR, decode_start, parse_request

VALID: dict[str, Any] = {
    "corporate": {"name": "Natixis", "contact_email": "innovation@natixis.example"},
    "startup": {"name": "Nabla", "contact_email": "team@nabla.example"},
    "programme": "French Tech Corporate Community",
    "topic": "Clinical note summarisation pilot",
    "sector": "health",
    "owner_email": "operator@programme.example",
}

# Where a value may go wrong in a start input, and the field path the message must name.
PLACES = {
    ("startup", "contact_email"): "startup.contact_email",
    ("corporate", "contact_email"): "corporate.contact_email",
    ("owner_email",): "owner_email",
    ("startup", "name"): "startup.name",
    ("corporate", "name"): "corporate.name",
    ("programme",): "programme",
    ("topic",): "topic",
    ("sector",): "sector",
    ("language",): "language",
    ("link",): "link",
    ("tags",): "tags",
}

tokens = st.text("bcdfghjklmnpqrstvwxz", min_size=6, max_size=10).map(lambda s: f"Tq{s}")


def _bad(token: str, field: str) -> st.SearchStrategy[Any]:
    """Values `field` does not accept, each holding `token` where a careless message would quote it."""
    anywhere: list[Any] = [
        f"{token}\nSafe Corp",
        f"{token}\x00",
        f"Safe{token}\u202eexe.cod\u202c",
        token * 400,
        [token, token * 60],
        {token: token},
    ]
    if field.endswith("email"):
        anywhere += [
            token,
            f"{token} {token}@x.example",
            f"{token}@",
            f"@{token}.example",
            f"{token}@{token}",
            f"{token}@x..example",
        ]
    if field in ("sector", "language", "link"):
        anywhere += [token, f"{token}:{token}", f"{token} {token}"]
    return st.sampled_from(anywhere)


@st.composite
def invalid_starts(draw: st.DrawFn) -> tuple[dict[str, Any], set[str], set[str]]:
    """Return a start input with one to three bad values, their tokens and the fields they sit in."""
    document, used, fields = copy.deepcopy(VALID), set(), set()
    for place in draw(st.lists(st.sampled_from(sorted(PLACES)), min_size=1, max_size=3, unique=True)):
        token = draw(tokens)
        value = draw(_bad(token, PLACES[place]))
        if place == ("tags",):
            value = [value] if isinstance(value, str) else value
        target = document
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = value
        used.add(token)
        fields.add(PLACES[place])
    if draw(st.booleans()):  # a key nobody declared, named after a value ("ana@x.example": ...)
        token = draw(tokens)
        document[f"{token}@x.example"] = token
        used.add(token)
    return document, used, fields


def _refusal(call: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value


async def _encoded(error: ApplicationError) -> bytes:
    converter = converter_for(load_settings({"PASSERELLE_ENCRYPTION_KEYS": f"k1:{new_key()}"}))
    failure = Failure()
    await converter.encode_failure(error, failure)
    assert not failure.HasField("encoded_attributes") and failure.message == error.message
    return failure.SerializeToString()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid_starts())
async def test_an_invalid_start_names_its_fields_and_rules_and_no_value(
    case: tuple[dict[str, Any], set[str], set[str]],
) -> None:
    document, used, fields = case
    error = _refusal(lambda: decode_start(document, True, lambda: True))
    assert error.type == "InvalidCollaborationRequest" and error.type in IN_CLEAR and error.non_retryable
    message = error.message
    assert message.startswith("invalid collaboration request: ") and "\n" not in message
    for field in fields:
        assert f"{field}" in message, (field, message)
    for token in used:
        assert token not in message, (token, message)
    wire = await _encoded(error)
    assert not any(token.encode() in wire for token in used)


def _update_cases() -> list[tuple[str, str]]:
    """Every update and every text field of its request."""
    cases = []
    for update, declared in UPDATES.items():
        model = declared.model
        for field, info in model.model_fields.items():
            if "str" in str(info.annotation) or "Email" in str(info.annotation):
                cases.append((update, field))
    return cases


@settings(max_examples=20, deadline=None)
@given(token=tokens)
@pytest.mark.parametrize(("update", "field"), _update_cases())
async def test_an_invalid_update_names_its_field_and_no_value(update: str, field: str, token: str) -> None:
    model = UPDATES[update].model
    for value in (f"{token}\x00" + token * 1200, {token: token}, [token]):
        request = {field: value, f"{token}@x.example": token}
        error = _refusal(lambda r=request: parse_request(model, r, update))  # type: ignore[misc]
        assert error.type == "InvalidRequest" and error.type in IN_CLEAR
        assert error.message.startswith(f"invalid {update}: "), error.message
        assert f" {field}:" in error.message or f" {field}." in error.message, error.message
        assert token not in error.message, error.message
        assert token.encode() not in await _encoded(error)


def test_a_start_input_that_is_not_an_object_says_so_without_quoting_it() -> None:
    for value in ("Tqsecret@x.example", ["Tqsecret"], 42, None):
        error = _refusal(lambda v=value: decode_start(v, True, lambda: True))  # type: ignore[misc]
        assert error.message.startswith("invalid collaboration request:") and "Tqsecret" not in error.message
