"""PostgreSQL names a collaboration's programme as the roles do: `collaborations.programme_slug`
is `schemas.actors.programme_slug`, whatever the name."""

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.actors import programme_slug

NAMES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["Coalition Next", "French Tech Corporate Community", "Straße", "Kelvin \u212a", "İstanbul", "--a--"]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES)
async def test_the_slug_column_is_the_roles_rule(pool: asyncpg.Pool, name: str) -> None:
    name = name.replace("\x00", "")
    expression = await pool.fetchval(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a"
        " ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
        " WHERE d.adrelid = 'collaborations'::regclass AND a.attname = 'programme_slug'"
    )
    # The column's own definition, read from the catalogue: the value is a parameter.
    in_sql = await pool.fetchval(f"SELECT {expression} FROM (SELECT $1::text AS programme) AS c", name)
    assert in_sql == programme_slug(name)
