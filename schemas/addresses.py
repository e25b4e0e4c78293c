"""When a text names an e-mail address: the one matching rule of people's data rights.

An address matches only itself (docs/privacy.md, "Which texts name an address"):
- the whole address, compared without case: `Ana@X.example` is `ana@x.example`;
- in free text, with an address boundary on both sides. Before it, no character that an address
  may hold (letters, digits, `` !#$%&'*+/=?^_`{|}~.- ``, `@` and any non-ASCII character, which
  internationalised addresses may hold): `diana@x.example`, `x.ana@x.example` and
  `o'ana@x.example` are other people. After it, no character that could carry its domain on
  (letters, digits, `-`, `_`, `@`, non-ASCII, or a dot followed by one of them):
  `ana@x.example.org` and `ana@x.example-mail.fr` are other domains, while the full stop that
  ends a sentence ("write to ana@x.example.") is not part of it;
- in structured data (JSON), string by string, keys included: a note's line break, stored as
  `\\n` in JSON text, is a boundary and not the letter `n`.

The rule is one regular expression, written here once in the syntax that Python's `re` and
PostgreSQL's advanced regular expressions read alike, so the erasure and the access search apply
it in the database (migration 0009) exactly as the workflow and the payload search apply it here.
Case is folded into the expression (`[Aa]`), so neither engine's locale takes part.
"""

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

# What may sit in an address's local part (RFC 5322 `atext` and the dot), and any non-ASCII
# character; what may sit in a domain (`_` too: refused there, but never a boundary either).
# (`-` comes last in each bracket, where it stands for itself.)
_LOCAL = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u0080-\U0010FFFF"
_DOMAIN = r"A-Za-z0-9_\u0080-\U0010FFFF"
# A neighbour on the left that may belong to a local part (or is `@`) makes another address; on
# the right, one that carries the domain on (or a dot followed by one) makes another domain.
BEFORE = rf"(?<![{_LOCAL}@-])"
AFTER = rf"(?![{_DOMAIN}@-])(?!\.[{_DOMAIN}@-])"

# An erased address's pseudonym (`schemas.privacy.pseudonym_of`).
PSEUDONYM = re.compile(r"erased:[0-9a-f]{12}")

# An address as it appears in text, for the retention sweep (every address a row names) and the
# audit (rows that differ only by an erased address). Its character classes are the rule's.
ADDRESS = re.compile(rf"{BEFORE}[{_LOCAL}-]+@[{_DOMAIN}-]+(?:\.[{_DOMAIN}-]+)+{AFTER}")


def _unit(char: str) -> str:
    """Return the expression matching one character of an address, whatever its case."""
    variants = sorted({v for v in (char, char.lower(), char.upper()) if len(v) == 1})
    if len(variants) > 1:
        return "[" + "".join(variants) + "]"
    if char.isascii() and not char.isalnum():
        return "\\" + char  # a punctuation escape means the character itself in both engines
    return char


@lru_cache(maxsize=256)
def address_pattern(address: str) -> str:
    """Return the expression that finds `address` as a whole address (see the module)."""
    return BEFORE + "".join(_unit(c) for c in address.strip()) + AFTER


@lru_cache(maxsize=256)
def _compiled(address: str) -> re.Pattern[str]:
    return re.compile(address_pattern(address))


def names(text: str, address: str) -> bool:
    """Return True when `text` names `address`."""
    return _compiled(address).search(text) is not None


def replace(text: str, address: str, replacement: str) -> str:
    """Return `text` with every mention of `address` replaced by `replacement`."""
    return _compiled(address).sub(lambda _: replacement, text)


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """Return a JSON-like value with `change` applied to every string, dictionary keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {map_strings(k, change): map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_strings(v, change) for v in value]
    return value


def replace_in(value: Any, address: str, replacement: str) -> Any:
    """Return a JSON-like value with `address` replaced in every string, dictionary keys included."""
    return map_strings(value, lambda text: replace(text, address, replacement))


def strings_in(value: Any) -> Iterator[str]:
    """Yield every string of a JSON-like value, dictionary keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def named_in(value: Any, address: str) -> bool:
    """Return True when any string of a JSON-like value names `address`."""
    return any(names(s, address) for s in strings_in(value))


def addresses_in(value: Any) -> set[str]:
    """Return every address named in a JSON-like value, lower-cased."""
    return {a.lower() for s in strings_in(value) for a in ADDRESS.findall(s)}
