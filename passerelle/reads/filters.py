"""The report's filters as SQL: one WHERE clause and its arguments, shared by every report query."""

from datetime import timedelta
from typing import Any

from schemas import KpiFilters
from schemas.imports import effective_at

# $1 programme, $2 sector, $3 corporate, $4 cohort from (inclusive), $5 cohort to (exclusive).
WHERE = """($1::text IS NULL OR programme = $1) AND ($2::text IS NULL OR sector = $2)
  AND ($3::text IS NULL OR corporate = $3)
  AND ($4::timestamptz IS NULL OR {cohort} >= $4) AND ($5::timestamptz IS NULL OR {cohort} < $5)"""


def filter_args(f: KpiFilters) -> list[Any]:
    """Return the arguments $1 to $5 of `WHERE` for `f`."""
    since = effective_at(f.since) if f.since else None
    until = effective_at(f.until) + timedelta(days=1) if f.until else None  # `--to` is inclusive
    return [f.programme, f.sector, f.corporate, since, until]
