"""Bounded field types shared by the models.

Bounds keep every payload far below Temporal's 2 MB payload limit and keep reports readable: a
10 kB note is refused with a message naming the field, never truncated silently.
"""

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(max_length=4000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Days = Annotated[float, Field(gt=0, le=3650)]
