"""Bounded field types shared by the models.

Bounds keep every payload far below Temporal's 2 MB payload limit (and its 512 kB warning) and keep
reports readable: a 10 kB note is refused with a message naming the field, never truncated
silently. Text must also be storable as it is: PostgreSQL `text` cannot hold NUL and only takes
valid UTF-8, so control characters and lone surrogates are refused here, before they enter
history, instead of failing the record activity on every retry. Single-line fields (names, actors,
tags) refuse line breaks too: they end up in e-mail subjects and headers.

Single-line fields also refuse what a reader cannot see: Unicode's format characters (category
Cf), among them the bidirectional controls that reorder what follows (U+202A-U+202E,
U+2066-U+2069: "Safe\u202eexe.cod\u202c Corp" reads as "Safedoc.exe Corp", the Trojan Source
trick), the zero-width ones (U+200B-U+200D, U+2060, U+FEFF) and the direction marks
(U+200E, U+200F, U+061C), and the Unicode line and paragraph separators. A name is shown in
terminals, e-mails, the Web UI and search attributes: two names that look the same must be the
same. Multi-line notes may hold them (they are prose, quoted from elsewhere); the terminal shows
them escaped (`passerelle.cli.consoles`).
"""

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from schemas.addresses import PSEUDONYM

STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

# C0 controls but tab and line breaks, DEL, and the C1 controls (U+0080-U+009F: a terminal reads
# U+009B as the start of an escape sequence).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _text(value: str) -> str:
    """Refuse what PostgreSQL cannot store or a terminal would interpret (NUL, ESC, surrogates)."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (NUL, escape...)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


_HIDDEN = frozenset(("Cf", "Zl", "Zp"))  # format characters, line and paragraph separators


def invisible(value: str) -> str | None:
    """Return the first character of `value` a reader cannot see, or None (see the module doc)."""
    if value.isascii():
        return None
    return next((ch for ch in value if unicodedata.category(ch) in _HIDDEN), None)


HIDDEN_CHARACTER = "hidden_character"  # the error's type: `workflows.requests` looks for it


def _visible(value: str, info: ValidationInfo) -> str:
    # Context `legacy` (a carried state, a run begun by 0.1) or `hidden_allowed` (the start input
    # of a run begun before this rule, `workflows.requests`) keeps a running collaboration's names.
    context = info.context or {}
    if context.get("legacy") or context.get("hidden_allowed"):
        return value
    found = invisible(value)
    if found is not None:
        raise PydanticCustomError(
            HIDDEN_CHARACTER,
            "must not contain invisible or reordering characters (found {character})",
            {"character": f"U+{ord(found):04X} {unicodedata.name(found, 'FORMAT CHARACTER')}"},
        )
    return value


def _line(value: str) -> str:
    """Refuse line breaks on top of `_text`: the value is a name or a header."""
    if "\r" in value or "\n" in value:
        raise ValueError("must be a single line (no line breaks)")
    return _text(value)


def _one_line(value: str, info: ValidationInfo) -> str:
    return _visible(_line(value), info)


Text = AfterValidator(_text)
Line = AfterValidator(_one_line)


def _line_unless_legacy(value: str, info: ValidationInfo) -> str:
    # Collaborations started before this rule (validated with context `legacy`) keep their text.
    return value if (info.context or {}).get("legacy") else _one_line(value, info)


# A single line for a field that was once unchecked: new input is checked, running ones replay.
LegacyLine = AfterValidator(_line_unless_legacy)

# An erasure puts a pseudonym (19 characters) where an address was, and an address may be as
# short as `a@b.c`: a pseudonym counts as that shortest address toward a field's bound, so text
# that fitted before its erasure still fits after it (docs/privacy.md). Typed text gains at most
# 19/5 of its bound by it: still bounded.
SHORTEST_ADDRESS = "a@b.c"


def _at_most(most: int) -> Any:
    """Return the bound `max_length=most`, with each pseudonym counted as the shortest address."""

    def check(value: str) -> str:
        counted = len(PSEUDONYM.sub(SHORTEST_ADDRESS, value)) if "erased:" in value else len(value)
        if counted > most:
            raise PydanticCustomError(
                "string_too_long", "String should have at most {max_length} characters", {"max_length": most}
            )
        return value

    return (Field(json_schema_extra={"maxLength": most}), AfterValidator(check))


Name = Annotated[str, StringConstraints(min_length=1), *_at_most(200), Line]
Actor = Annotated[str, StringConstraints(min_length=1), *_at_most(200), Line]
Label = Annotated[str, StringConstraints(min_length=1), *_at_most(40), Line]
Kind = Annotated[str, StringConstraints(min_length=1), *_at_most(80), Line]
Note = Annotated[str, *_at_most(4000), Text]
Reason = Annotated[str, StringConstraints(min_length=1), *_at_most(4000), Text]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Tag = Annotated[str, StringConstraints(min_length=1), *_at_most(50), Line]
Days = Annotated[float, Field(gt=0, le=3650)]

# The shortest stall threshold: a typo such as 0.000001 (86 ms) would otherwise chase partners as
# fast as activities complete. 0.0001 days (8.64 s) still lets a live demo watch a reminder fire
# within a minute. Validation with context `{"legacy": True}` skips the floor: collaborations
# started before it existed keep their threshold, and their reminders are bounded by the cap.
MIN_STALL_DAYS = 0.0001


def _at_least_floor(days: float, info: ValidationInfo) -> float:
    if days < MIN_STALL_DAYS and not (info.context or {}).get("legacy"):
        raise PydanticCustomError(
            "stall_floor", "must be at least {floor} days (about 9 s)", {"floor": MIN_STALL_DAYS}
        )
    return days


StallDays = Annotated[
    float,
    Field(gt=0, le=3650, json_schema_extra={"minimum": MIN_STALL_DAYS}),
    AfterValidator(_at_least_floor),
]
