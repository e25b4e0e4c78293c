"""An erasure within programmes changes their rows only (`pseudonymise_programme_rows`, migration 0013).

Generated cases on the real PostgreSQL: collaborations of three programmes whose contacts, names
and notes hold the address, another spelling of it, or a near miss (a longer local part, another
domain, a plus-address, the address glued to a character an address may hold), and playbooks of
each programme naming it. Erasing within some of the programmes changes exactly the rows of
those programmes that name the address by the rule of `schemas.addresses`, as Python replaces
it, and leaves every other row, above all the same address in another programme, byte for byte.
Each case runs in a transaction rolled back at its end.
"""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.actors import programme_slug
from schemas.addresses import address_pattern, names, replace

PSEUDONYM = "erased:0123456789ab"
PROGRAMMES = ("Coalition Next", "Deep Tech Bridge", "Ville Durable")
LOCAL = st.text(alphabet="abxy.+_%'-", min_size=1, max_size=5).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
DOMAIN = st.text(alphabet="abé", min_size=1, max_size=3).map(lambda s: f"{s}.example")
GLUE = st.sampled_from([" ", "\n", "<", ">", ",", "'", "=", "/", "x", "-", ".org", ""])


def near_misses(address: str) -> list[str]:
    """Return the address, other spellings of it, and addresses that are not it."""
    local, domain = address.split("@")
    return [
        address,
        address.upper(),
        f"x{address}",
        f"{local}x@{domain}",
        f"{local}+news@{domain}",
        f"{address}.org",
        f"{local}@mail.{domain}",
        f"{local}@{domain}-mail.fr",
    ]


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]], set[str]]:
    address = f"{draw(LOCAL)}@{draw(DOMAIN)}"
    spelled = st.sampled_from(near_misses(address))
    texts = st.lists(st.one_of(GLUE, spelled), min_size=1, max_size=4).map("".join)
    rows = draw(st.lists(st.tuples(st.sampled_from(PROGRAMMES), texts), min_size=1, max_size=6))
    within = draw(st.sets(st.sampled_from(PROGRAMMES), min_size=1, max_size=2))
    return address, rows, {programme_slug(p) for p in within}


COLLABORATION = """
INSERT INTO collaborations (collaboration_id, workflow_id, corporate, startup, programme, sector, topic,
    stage, stage_since, stalled, paused, started_at, updated_at, last_seq, startup_email, namespace)
VALUES ($1, $2, 'Natixis', 'Nabla', $3, 'fintech', $4, 'pilot', $5, false, false, $5, $5, 1, $6, '')
"""
MILESTONE = """
INSERT INTO milestones (collaboration_id, seq, workflow_id, run_id, kind, stage, actor, note, occurred_at)
VALUES ($1, 1, $2, $1, 'milestone', 'pilot', 'ops', $3, $4)
"""
PLAYBOOK = """
INSERT INTO playbooks (programme, version, body, source, sha256, applied_by)
VALUES ($1, 1, $2::jsonb, 'playbook', 'sha', $3)
"""
TEXTS = """
SELECT c.collaboration_id, c.topic, c.startup_email, m.note FROM collaborations c
JOIN milestones m USING (collaboration_id) WHERE c.collaboration_id = ANY($1::text[])
"""


async def one_case(pool: asyncpg.Pool, address: str, rows: list[tuple[str, str]], within: set[str]) -> None:
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        case = conn.transaction()
        await case.start()
        try:
            ids = []
            for n, (programme, text) in enumerate(rows):
                cid = f"rows-{tag}-{n}"
                # Same workflow id in every programme: two namespaces may each run one.
                await conn.execute(COLLABORATION, cid, f"collab-{tag}", f"{programme} {tag}", text, now, text)
                await conn.execute(MILESTONE, cid, f"collab-{tag}", text, now)
                ids.append(cid)
            for programme in PROGRAMMES:
                await conn.execute(
                    PLAYBOOK, f"{programme} {tag}", json.dumps({"approvers": [address]}), address
                )
            changed = await conn.fetch(
                "SELECT * FROM pseudonymise_programme_rows($1::text[], $2, $3, $4)",
                sorted(f"{slug}-{tag}" for slug in within),
                address,
                address_pattern(address),
                PSEUDONYM,
            )
            after = {r["collaboration_id"]: r for r in await conn.fetch(TEXTS, ids)}
            playbooks = {
                r["programme"]: r["applied_by"]
                for r in await conn.fetch(
                    "SELECT programme, applied_by FROM playbooks WHERE programme LIKE $1", f"% {tag}"
                )
            }
        finally:
            await case.rollback()
    expected_changed = set()
    for n, (programme, text) in enumerate(rows):
        cid, row = f"rows-{tag}-{n}", after[f"rows-{tag}-{n}"]
        mine = programme_slug(programme) in within
        if mine and names(text, address):
            expected_changed.add(cid)
        want = replace(text, address, PSEUDONYM) if mine else text
        assert (row["topic"], row["startup_email"], row["note"]) == (want, want, want), (programme, text)
    got = {r["collaboration_id"] for r in changed if r["row_table"] in ("collaborations", "milestones")}
    assert got == expected_changed
    for programme in PROGRAMMES:
        mine = programme_slug(programme) in within
        assert playbooks[f"{programme} {tag}"] == (PSEUDONYM if mine else address), programme


async def test_an_erasure_within_programmes_changes_their_rows_and_no_other(pool: asyncpg.Pool) -> None:
    loop = asyncio.get_running_loop()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=cases())
    def within_programmes(case: tuple[str, list[tuple[str, str]], set[str]]) -> None:
        address, rows, within = case
        asyncio.run_coroutine_threadsafe(one_case(pool, address, rows, within), loop).result(timeout=60)

    await asyncio.to_thread(within_programmes)


async def test_postgresql_reads_a_programmes_slug_as_python_does(pool: asyncpg.Pool) -> None:
    """`programme_slug_of` (playbooks) is `collaborations.programme_slug` and `programme_slug`."""
    for name in ["Coalition Next", "  Ville -- Durable 2030 ", "Éco Lab", "A&B", "x"]:
        assert await pool.fetchval("SELECT programme_slug_of($1)", name) == programme_slug(name), name
