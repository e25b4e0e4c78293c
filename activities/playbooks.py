"""Playbook versions in PostgreSQL: apply one, read them back, and the workflow's load activity.

A version is immutable (migration 0004 refuses UPDATE and DELETE). Applying the same content as
the current version adds nothing, so `passerelle playbook apply` may be run again safely; any
other content becomes the next number, inserted in one statement that takes `max + 1` under the
primary key (two concurrent applies cannot share a number: one of them fails and is retried).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from temporalio import activity

from schemas.playbooks import Playbook, PlaybookLoad, PlaybookLookup, PlaybookVersion
from workflows.activity_names import LOAD_PLAYBOOK
from workflows.domain.gates import named_milestones

COLUMNS = "version, body, sha256, applied_by, applied_at"

INSERT_NEXT = f"""
INSERT INTO playbooks (programme, version, body, source, sha256, applied_by)
SELECT $1, coalesce(max(version), 0) + 1, $2::jsonb, $3, $4, $5 FROM playbooks WHERE programme = $1
RETURNING {COLUMNS}
"""
CURRENT = f"SELECT {COLUMNS} FROM playbooks WHERE programme = $1 ORDER BY version DESC LIMIT 1"
ONE = f"SELECT {COLUMNS} FROM playbooks WHERE programme = $1 AND version = $2"
SOURCE = "SELECT source FROM playbooks WHERE programme = $1 AND version = $2"
LIST = """
SELECT programme, max(version) AS current, count(*) AS versions, max(applied_at) AS applied_at
FROM playbooks GROUP BY programme ORDER BY programme
"""
# The kinds of milestone a collaboration recorded, with evidence when any recording had it: what
# an adoption counts as already done (matched without case in Python, as the gates match them).
RECORDED = """
SELECT milestone, max(evidence_url) AS evidence_url FROM milestones
WHERE collaboration_id = $1 AND kind = 'milestone' GROUP BY milestone
"""


def digest(playbook: Playbook) -> str:
    """Return the sha256 of a playbook's meaning (its canonical JSON), not of its file's layout."""
    body = playbook.model_dump(mode="json")
    if body.get("retention_days") is None:  # a field added later: unset, the digest stays as it was
        body.pop("retention_days", None)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _version(row: asyncpg.Record) -> PlaybookVersion:
    return PlaybookVersion(
        version=row["version"],
        playbook=Playbook.model_validate(row["body"]),
        sha256=row["sha256"],
        applied_by=row["applied_by"],
        applied_at=row["applied_at"],
    )


@dataclass(frozen=True)
class Applied:
    """What `apply` did: the version now current, and whether it is new."""

    version: PlaybookVersion
    created: bool


@dataclass(frozen=True)
class Listed:
    programme: str
    current: int
    versions: int
    applied_at: datetime


async def apply(pool: asyncpg.Pool, playbook: Playbook, source: str, by: str) -> Applied:
    """Store `playbook` as its programme's next version, unless it is the current one already."""
    sha = digest(playbook)
    body = playbook.model_dump(mode="json")  # the pool's codec writes it as a JSON object
    async with pool.acquire() as conn:
        for _ in range(20):  # a concurrent apply took the number: take the next one
            current = await conn.fetchrow(CURRENT, playbook.programme)
            if current is not None and current["sha256"] == sha:
                return Applied(_version(current), created=False)
            try:
                row = await conn.fetchrow(INSERT_NEXT, playbook.programme, body, source, sha, by)
            except asyncpg.UniqueViolationError:
                continue
            assert row is not None
            return Applied(_version(row), created=True)
    raise RuntimeError(f"could not apply the playbook of {playbook.programme}: too many concurrent applies")


async def get(pool: asyncpg.Pool, programme: str, version: int | None = None) -> PlaybookVersion | None:
    """Return a programme's version (its current one by default), or None."""
    if version is None:
        row = await pool.fetchrow(CURRENT, programme)
    else:
        row = await pool.fetchrow(ONE, programme, version)
    return None if row is None else _version(row)


async def source(pool: asyncpg.Pool, programme: str, version: int) -> str | None:
    """Return the TOML of a version exactly as it was applied."""
    found: str | None = await pool.fetchval(SOURCE, programme, version)
    return found


async def programmes(pool: asyncpg.Pool) -> list[Listed]:
    """Return every programme with a playbook, its current version and how many it has had."""
    return [
        Listed(r["programme"], r["current"], r["versions"], r["applied_at"]) for r in await pool.fetch(LIST)
    ]


class PlaybookActivities:
    """The workflow's read of its programme's playbook: an activity, so replay never reads twice."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=LOAD_PLAYBOOK)
    async def load_playbook(self, lookup: PlaybookLookup) -> PlaybookLoad:
        """Return the version asked for (the current one by default) and, for an adoption, the
        milestones the collaboration already recorded among those it names."""
        found = await get(self._pool, lookup.programme, lookup.version)
        if found is None or lookup.collaboration_id is None:
            return PlaybookLoad(found=found)
        named = named_milestones(found)
        done: dict[str, str | None] = {}
        for row in await self._pool.fetch(RECORDED, lookup.collaboration_id):
            key = row["milestone"].casefold()
            if key in named:
                done[key] = done.get(key) or row["evidence_url"]
        return PlaybookLoad(found=found, milestones=done)
