"""PostgreSQL keeps exactly the rows Python keeps (`passerelle.platform.scope.RowScope`).

Reports, exports and the outbox select a caller's rows with `RowScope.sql`; rows read elsewhere are
kept by `RowScope.keeps`. Generated scopes (a programme's whole rows, a sponsor's organisation,
`*`, chosen with `--programme` or not) over generated rows (programme names of one slug spelled
differently, corporates that are the sponsor's organisation or a near miss: another case, spaces,
"Lilly France", accents) give the same rows in both. The rows are written with the worker's own
statement (`activities.milestones.UPSERT_PROJECTION`), so the programme's slug is the one
PostgreSQL generates, and rolled back after each example.
"""

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.milestones import UPSERT_PROJECTION, projection_args
from passerelle.platform.scope import RowScope, of_roles
from schemas import Projection, Stage
from schemas.actors import programme_slug

# Names of one slug spelled differently, and their neighbours.
PROGRAMMES = ["Iso A", "iso a", "ISO-A", " Iso  A! ", "Iso B", "Iso A B", "Ïso A", "Iso Ä"]
SLUGS = sorted({programme_slug(p) for p in PROGRAMMES} | {"other"})
# The sponsor's organisation, and what looks like it.
CORPORATES = [
    "Lilly",
    "lilly",
    "LILLY",
    " lilly ",
    "Lilly ",
    "Lilly France",
    "Lilly-France",
    "Eli Lilly",
    "Lilly.",
    "Lilly\t",
    "\tLilly",
    "\u00a0Lilly",
    "Lilly\u2003",
    "Lílly",
    "LÍLLY",
    "İlly",
    "illy",
    "Straße",
    "STRASSE",
]
ORGANISATIONS = [None, "", "Lilly", " lilly ", "LILLY", "Lilly France", "lílly", "İlly", "Straße", "Lilly\t"]
ROLES = [
    "iso-a:operator",
    "iso-a:sponsor",
    "iso-b:sponsor",
    "iso-a-b:auditor",
    "*:sponsor",
    "*:operator",
    "so-a:admin",
]

Row = tuple[str, str]  # programme, corporate


def _made() -> st.SearchStrategy[RowScope]:
    whole = st.one_of(st.none(), st.frozensets(st.sampled_from(SLUGS)))
    sponsored = st.frozensets(st.sampled_from([*SLUGS, "*"]))
    return st.builds(RowScope, whole, sponsored, st.sampled_from(ORGANISATIONS))


def _of_roles() -> st.SearchStrategy[RowScope]:
    roles = st.frozensets(st.sampled_from(ROLES))
    organisation = st.sampled_from(ORGANISATIONS)
    chosen = st.one_of(st.none(), st.sampled_from(SLUGS))
    return st.builds(lambda r, o, p: of_roles(r, o).narrowed(p), roles, organisation, chosen)


ROWS = st.lists(st.tuples(st.sampled_from(PROGRAMMES), st.sampled_from(CORPORATES)), min_size=1, max_size=12)


def _projection(number: int, programme: str, corporate: str) -> Projection:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return Projection(
        collaboration_id=f"scope-{uuid.uuid4().hex}-{number}",
        workflow_id=f"scope-{number}",
        corporate=corporate,
        startup="Nabla",
        programme=programme,
        sector="health",
        topic="x",
        stage=Stage.INTRODUCTION,
        stage_since=now,
        outcome=None,
        stalled=False,
        paused=False,
        started_at=now,
        updated_at=now,
    )


async def _kept_by_postgresql(pool: asyncpg.Pool, rows: list[Row], scope: RowScope) -> set[int]:
    """Write `rows` in a transaction, return the numbers of those `scope.sql` keeps, roll back."""
    made = [_projection(n, programme, corporate) for n, (programme, corporate) in enumerate(rows)]
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for p in made:
                await conn.execute(UPSERT_PROJECTION, *projection_args(p, 1, ""))
            condition, args = scope.sql("c", 2)  # after the query's own $1
            found = await conn.fetch(
                f"SELECT collaboration_id FROM collaborations c WHERE collaboration_id = ANY($1::text[])"
                f" AND {condition}",
                [p.collaboration_id for p in made],
                *args,
            )
        finally:
            await transaction.rollback()
    kept = {r["collaboration_id"] for r in found}
    return {n for n, p in enumerate(made) if p.collaboration_id in kept}


async def test_postgresql_and_python_keep_the_same_rows(pool: asyncpg.Pool) -> None:
    loop = asyncio.get_running_loop()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=ROWS, scope=st.one_of(_made(), _of_roles()))
    def alike(rows: list[Row], scope: RowScope) -> None:
        by_sql = asyncio.run_coroutine_threadsafe(_kept_by_postgresql(pool, rows, scope), loop).result(30)
        by_python = {
            n
            for n, (programme, corporate) in enumerate(rows)
            if scope.keeps(programme_slug(programme), corporate)
        }
        assert by_sql == by_python, [(rows[n], n in by_sql) for n in by_sql ^ by_python]

    await asyncio.to_thread(alike)


async def test_a_sponsor_keeps_their_organisation_only(pool: asyncpg.Pool) -> None:
    """The near misses by name: a sponsor of Iso A at Lilly keeps Lilly's rows of Iso A, spelled
    in any case and with spaces around, and nothing of Lilly France, Eli Lilly or Iso B."""
    sponsor = of_roles(["iso-a:sponsor"], " Lilly ").narrowed(None)
    rows = [("Iso A", "Lilly"), ("iso a", " lilly "), ("Iso A", "LILLY"), ("Iso A", "Lilly France")]
    rows += [("Iso A", "Eli Lilly"), ("Iso B", "Lilly"), ("Iso A B", "Lilly")]
    assert await _kept_by_postgresql(pool, rows, sponsor) == {0, 1, 2}
    assert [n for n, (p, c) in enumerate(rows) if sponsor.keeps(programme_slug(p), c)] == [0, 1, 2]
