"""The report's filters and the caller's rows as SQL: one WHERE clause, shared by every report query.

Every query of a report or an export keeps only the collaborations the caller's scope allows
(`passerelle.platform.scope.RowScope`): `where` leaves their condition as `ROWS`, which
`statement` fills with `RowScope.sql`, its arguments numbered after the query's own.
"""

from datetime import timedelta
from typing import Any

from passerelle.platform.scope import RowScope
from schemas import KpiFilters
from schemas.imports import effective_at

# Stands for the caller's rows until `statement` replaces it: a query run without that is refused
# by PostgreSQL (a comment where a condition must be), never run unscoped.
ROWS = "/* the caller's rows */"
KEPT = "kept"  # the `collaborations` row the caller's rows are read on

# $1 programme, $2 sector, $3 corporate, $4 cohort from (inclusive), $5 cohort to (exclusive).
_WHERE = """($1::text IS NULL OR programme = $1) AND ($2::text IS NULL OR sector = $2)
  AND ($3::text IS NULL OR corporate = $3)
  AND ($4::timestamptz IS NULL OR {cohort} >= $4) AND ($5::timestamptz IS NULL OR {cohort} < $5)
  AND {collaboration} IN (SELECT {kept}.collaboration_id FROM collaborations {kept} WHERE {rows})"""


def where(cohort: str, collaboration: str = "collaboration_id") -> str:
    """Return the WHERE clause of a query whose cohort instant is `cohort` and whose collaboration
    is `collaboration` (a column of the query's own rows)."""
    return _WHERE.format(cohort=cohort, collaboration=collaboration, kept=KEPT, rows=ROWS)


def filter_args(f: KpiFilters) -> list[Any]:
    """Return the arguments $1 to $5 of `where` for `f`."""
    since = effective_at(f.since) if f.since else None
    until = effective_at(f.until) + timedelta(days=1) if f.until else None  # `--to` is inclusive
    return [f.programme, f.sector, f.corporate, since, until]


def statement(query: str, rows: RowScope, *args: Any) -> tuple[Any, ...]:
    """Return `query` within the caller's `rows`, then its arguments: `args`, then those of
    `rows`, ready for `asyncpg`'s `fetch(*statement(...))`."""
    if ROWS not in query:
        raise ValueError("a report query must keep the caller's rows: build its WHERE with `where`")
    condition, kept = rows.sql(KEPT, len(args) + 1)
    return (query.replace(ROWS, condition), *args, *kept)
