"""Which programmes a caller sees and steers: the scope every surface the project owns applies.

A caller's scope comes from the programme roles of their verified login (docs/identity.md):
`<programme>:<role>` opens that programme, `*:<role>` every programme. Every role but `sponsor`
reads and (as its updates allow) steers its programme's collaborations. A `sponsor` with an
organisation claim reads only the report and the export of their own group's collaborations
(the rows whose corporate is that organisation, `same_organisation`), and no payload.

A process that holds the keys itself (the worker, a deployment's own jobs, a command with
`PASSERELLE_ENCRYPTION_KEYS` and no `PASSERELLE_CODEC_URL`) and the codec server's static token
name nobody: they can read every programme's payloads anyway, so their scope is `EVERYTHING`.
Give them to no person (docs/security.md, "Programmes").
"""

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ALL = "*"
SPONSOR = "sponsor"
ADMIN = "admin"  # holds every role of its programme (`workflows.domain.identity.holds`)

_UPPER, _LOWER = string.ascii_uppercase, string.ascii_lowercase
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)


def same_organisation(name: str) -> str:
    """Return how a corporate and a sponsor's organisation compare: spaces around left out, ASCII
    letters in lower case, anything else as written ("Lilly" is " lilly " and "LILLY", never
    "Lilly France"; "Lílly" is not "LÍLLY"). PostgreSQL computes the same (`RowScope.sql`) in any
    locale, which neither its `lower` nor Python's would (tests/integration/test_row_scope_sql.py)."""
    return name.strip(" ").translate(_ASCII_LOWER)


def _same_organisation_sql(column: str) -> str:
    return f"translate(btrim({column}), '{_UPPER}', '{_LOWER}')"


@dataclass(frozen=True)
class Scope:
    """The programme roles a caller holds, their organisation, and whether they hold every key."""

    roles: frozenset[str] = frozenset()
    organisation: str | None = None
    everything: bool = False  # a key holder, or the codec server's static token
    email: str | None = None

    def _programmes(self, *, sponsor: bool) -> set[str]:
        found = set()
        for role in self.roles:
            programme, _, name = role.partition(":")
            if (name == SPONSOR) == sponsor:
                found.add(programme)
        return found

    @property
    def every_programme(self) -> bool:
        """Whether the caller reads every programme (cross-programme figures are theirs only)."""
        return self.everything or ALL in self._programmes(sponsor=False)

    @property
    def programmes(self) -> frozenset[str]:
        """The programmes the caller reads whole (not `*`: see `every_programme`)."""
        return frozenset(self._programmes(sponsor=False) - {ALL})

    @property
    def sponsored(self) -> frozenset[str]:
        """The programmes where the caller sees their organisation's collaborations only (`*`
        for every programme); none without an organisation."""
        if not self.organisation:
            return frozenset()
        return frozenset(self._programmes(sponsor=True) - self._programmes(sponsor=False))

    def holds(self, programme: str, role: str) -> bool:
        """Whether the caller holds `role` in `programme` (a slug): that role or `admin`, there or
        in every programme (`*`); a key holder holds every role. A sponsor holds no other role."""
        if self.everything:
            return True
        held = {f"{where}:{name}" for where in (programme, ALL) for name in (role, ADMIN)}
        return not held.isdisjoint(self.roles)

    def reads(self, programme: str | None) -> bool:
        """Whether the caller may read payloads of `programme` (None: of no programme the
        deployment can name, which only a reader of every programme may)."""
        return self.every_programme or (programme is not None and programme in self.programmes)

    def sees(self, programme: str) -> bool:
        """Whether any row of `programme` is the caller's: whole, or as its sponsor."""
        return self.reads(programme) or bool({programme, ALL} & self.sponsored)

    def narrowed(self, programme: str | None) -> "RowScope":
        """Return which rows the caller's reports, exports and erasures may touch, within
        `programme` when one is chosen (None: all of the caller's)."""
        whole: frozenset[str] | None = None if self.every_programme else self.programmes
        sponsored = self.sponsored
        if programme is not None:
            whole = frozenset({programme}) if self.reads(programme) else frozenset()
            sponsored = frozenset({programme}) & (sponsored | ({programme} if ALL in sponsored else set()))
        return RowScope(whole, sponsored, self.organisation)

    def to_json(self) -> dict[str, Any]:
        """Return the scope as the codec server's `/whoami` answers it."""
        return {
            "email": self.email,
            "roles": sorted(self.roles),
            "organisation": self.organisation,
            "everything": self.everything,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Scope":
        """Read a `/whoami` answer."""
        roles = data.get("roles") or []
        organisation = data.get("organisation")
        email = data.get("email")
        return cls(
            roles=frozenset(r for r in roles if isinstance(r, str)),
            organisation=organisation if isinstance(organisation, str) and organisation else None,
            everything=data.get("everything") is True,
            email=email if isinstance(email, str) else None,
        )


EVERYTHING = Scope(everything=True)


def of_roles(roles: Iterable[str], organisation: str | None = None, email: str | None = None) -> Scope:
    """Return the scope of a verified token's roles (`passerelle.platform.identity`)."""
    return Scope(frozenset(roles), organisation.strip() if organisation else None, False, email)


@dataclass(frozen=True)
class RowScope:
    """The rows of PostgreSQL a caller's command may read or change.

    `whole`: the programmes (slugs) whose rows are all theirs, None for every programme.
    `sponsored`: the programmes (or `*`) where only the rows whose corporate is `organisation` are.
    """

    whole: frozenset[str] | None
    sponsored: frozenset[str] = frozenset()
    organisation: str | None = None

    @property
    def unlimited(self) -> bool:
        """Whether every row is the caller's."""
        return self.whole is None

    def sql(self, alias: str = "c", first: int = 1) -> tuple[str, list[Any]]:
        """Return a condition on the `collaborations` row `alias`, with its arguments numbered
        from `$first`: every row is kept only when the scope allows it."""
        if self.whole is None:
            return "TRUE", []
        n = first
        condition = (
            f"({alias}.programme_slug = ANY(${n}::text[]) OR (${n + 2}::text IS NOT NULL"
            f" AND ({alias}.programme_slug = ANY(${n + 1}::text[]) OR '*' = ANY(${n + 1}::text[]))"
            f" AND {_same_organisation_sql(f'{alias}.corporate')} = ${n + 2}::text))"
        )
        organisation = None if self.organisation is None else same_organisation(self.organisation)
        return condition, [sorted(self.whole), sorted(self.sponsored), organisation]

    def keeps(self, programme_slug: str, corporate: str) -> bool:
        """Whether the scope keeps a row (the same rule as `sql`, for rows read elsewhere)."""
        if self.whole is None or programme_slug in self.whole:
            return True
        return (
            self.organisation is not None
            and bool({programme_slug, ALL} & self.sponsored)
            and same_organisation(corporate) == same_organisation(self.organisation)
        )
