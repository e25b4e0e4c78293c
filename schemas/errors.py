"""Turn pydantic validation errors into one clear line that names each field and its rule.

The line names fields and rules, never the values that broke them: a workflow's start input
and its updates are refused with it, and the refusal travels in clear (the Web UI, the Temporal
CLI and `passerelle status` show it, `passerelle.platform.client`), while the values may be
personal data. So a place in the input is named only with the contract's own words (a field
of a model, a stage or another term of its vocabulary), any other key shows as `<key>`, with the
word it nearly spells when there is one (a typo), and the
e-mail validator's explanations lose the characters they quote.
"""

import difflib
import re
from enum import Enum
from functools import cache

from pydantic import BaseModel, ValidationError

# What the e-mail validator appends that quotes the address: `…characters: ä.`, `…(x.y…)`.
_QUOTING = re.compile(r"\s*(?::\s|\().*$")


@cache
def _vocabulary() -> frozenset[str]:
    """Every field name and alias of the contract's models, and every value of its enumerations."""
    words: set[str] = set()
    pending: list[type] = [BaseModel, Enum]
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        if not kind.__module__.startswith("schemas"):
            continue
        if issubclass(kind, BaseModel):
            for name, field in kind.model_fields.items():
                words |= {name, *(a for a in (field.alias, field.validation_alias) if isinstance(a, str))}
        elif issubclass(kind, Enum):
            words |= {str(m.value) for m in kind}
    return frozenset(words)


def _place(part: int | str, keys: bool = False) -> str:
    if isinstance(part, int) or keys or part in _vocabulary():
        return str(part)
    near = difflib.get_close_matches(part, _vocabulary(), n=1, cutoff=0.8)
    return f"<key> (did you mean {near[0]}?)" if near else "<key>"


def field_of(loc: tuple[int | str, ...], keys: bool = False) -> str:
    """Return how the line names the place of an error: the contract's words only, unless `keys`."""
    if loc[-1:] == ("[key]",):  # a dict's key broke its rule: name the dict, not the key
        return ".".join(_place(p, keys) for p in loc[:-2]) + " key"
    return ".".join(_place(p, keys) for p in loc) or "(root)"


def _rule(error: dict) -> str:  # type: ignore[type-arg]
    message = str(error["msg"])
    head, sep, reason = message.partition("email address: ")
    if sep:  # pydantic's EmailStr: "value is not a valid email address: <validator's sentence>"
        sentence = _QUOTING.sub("", reason.rstrip(".")).strip()
        return f"{head}{sep}{sentence}." if sentence else f"{head}email address"
    return message


def describe_validation_error(error: ValidationError, what: str = "input", *, keys: bool = False) -> str:
    """Return `invalid <what>: field: rule; field: rule` for every error, in order.

    `keys`: name the input's own keys as typed (a scorecard's criterion, an unknown field), for a
    caller reading back what it typed itself, never for a message that travels (a refusal).
    """
    parts = []
    for err in error.errors(include_url=False, include_input=False):
        parts.append(f"{field_of(err['loc'], keys)}: {_rule(dict(err))}")
    return f"invalid {what}: " + "; ".join(parts)
