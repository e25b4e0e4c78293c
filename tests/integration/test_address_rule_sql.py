"""PostgreSQL applies the matching rule exactly as Python does (`schemas.addresses`, migration 0009).

The erasure and the access search run the rule in the database, the workflow and the payload
search in Python: one expression, read by both engines. Generated addresses and texts (the
address, its other cases and its near misses glued by any character, line breaks, JSON) give the
same answer, the same replacement and the same JSON in both.
"""

import asyncio
import json
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.addresses import address_pattern, named_in, names, replace, replace_in

LOCAL = st.text(alphabet="abAB.%_+*?^${}|'=/!#&~-é", min_size=1, max_size=5).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
DOMAIN = st.text(alphabet="abé", min_size=1, max_size=3).map(lambda s: f"{s}.example")
PIECE = st.sampled_from(
    [" ", "\n", ",", ".", "x", "é", "'", "<", ">", "@", "-", "_", "a.b", ".org", "\t", ""]
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str]:
    address = f"{draw(LOCAL)}@{draw(DOMAIN)}"
    spelled = draw(st.sampled_from([address, address.upper(), address.swapcase()]))
    pieces = draw(st.lists(st.one_of(PIECE, st.just(spelled)), min_size=1, max_size=8))
    return address, "".join(pieces)


async def test_postgresql_and_python_read_the_rule_alike(pool: asyncpg.Pool) -> None:
    loop = asyncio.get_running_loop()

    def sql(query: str, *args: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(pool.fetchval(query, *args), loop).result(timeout=30)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=cases())
    def alike(case: tuple[str, str]) -> None:
        address, text = case
        pattern = address_pattern(address)
        assert sql("SELECT address_pattern_fits($1, $2)", pattern, address)
        assert sql("SELECT $1 ~ $2", text, pattern) == names(text, address)
        assert sql("SELECT regexp_replace($1, $2, 'erased:0123456789ab', 'g')", text, pattern) == replace(
            text, address, "erased:0123456789ab"
        )
        value = {"note": text, text: [text, {"by": address}]}
        assert sql("SELECT jsonb_names($1::jsonb, $2)", value, pattern) == named_in(value, address)
        replaced = sql("SELECT jsonb_replace_matches($1::jsonb, $2, 'erased:0123456789ab')", value, pattern)
        assert replaced == json.loads(json.dumps(replace_in(value, address, "erased:0123456789ab")))

    await asyncio.to_thread(alike)
