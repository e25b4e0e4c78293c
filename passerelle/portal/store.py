"""What the portal reads and writes in PostgreSQL: the e-mail a link came in, and the link's one use.

A link is used once (`portal_links`): the portal *claims* it before sending the answer to the
workflow and marks it *used* once the workflow has recorded it. A claim whose update was refused
is released, so nothing changed and the link still works; a claim left by a portal that died
mid-answer is taken over after `STALE_CLAIM` (the update is sent again under the same update id,
which the workflow runs once). A link about a planned step is honoured only from an e-mail about
that very step (its invitation, or the question once it is missed), and its row names the step.
All SQL is parameterised.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from activities.links import Link
from activities.rendering import COLLABORATION_ANSWERABLE, STEP_ANSWERABLE

STALE_CLAIM = timedelta(minutes=2)
# $3: the step a step link names, which its e-mail must be about; '' for the four other answers.
EMAIL = """
SELECT n.workflow_id, n.language, n.event, c.namespace,
       coalesce(n.context->>'step_kind', '') AS step_kind, coalesce(n.context->>'step_at', '') AS step_at
FROM notifications n
JOIN collaborations c USING (collaboration_id)
WHERE n.idempotency_key = ANY($1::text[]) AND n.collaboration_id = $2
  AND ($3 = '' OR n.context->>'step' = $3)
LIMIT 1
"""
USE = "SELECT claimed_at, used_at FROM portal_links WHERE link_id = $1"
CLAIM = """
INSERT INTO portal_links (link_id, collaboration_id, party, action, answered_seq, claimed_at, step)
VALUES ($1, $2, $3, $4, $5, now(), nullif($7, ''))
ON CONFLICT (link_id) DO UPDATE SET claimed_at = now()
WHERE portal_links.used_at IS NULL
  AND (portal_links.claimed_at IS NULL OR portal_links.claimed_at < now() - $6::interval)
RETURNING link_id
"""
RELEASE = "UPDATE portal_links SET claimed_at = NULL WHERE link_id = $1 AND used_at IS NULL"
MARK_USED = "UPDATE portal_links SET used_at = now(), recorded_seq = $2 WHERE link_id = $1"


@dataclass(frozen=True)
class Email:
    """The e-mail a link came in: which workflow to answer (in which namespace: '' for the
    shared one), in which language to speak."""

    workflow_id: str
    language: str
    event: str
    namespace: str = ""
    step_kind: str = ""  # an e-mail about a planned step: the step as the e-mail showed it
    step_at: str = ""  # ISO, UTC


class LinkStore:
    """The portal's rows: e-mails sent (read) and link uses (claimed, released, marked)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def email(self, link: Link) -> Email | None:
        """Return the e-mail `link` was sent in, or None when no such e-mail was ever sent."""
        events = STEP_ANSWERABLE if link.step else COLLABORATION_ANSWERABLE
        keys = [f"{link.collaboration_id}/{link.seq}/{event.value}" for event in events]
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(EMAIL, keys, link.collaboration_id, link.step)
        if row is None:
            return None
        return Email(
            row["workflow_id"],
            row["language"],
            row["event"],
            row["namespace"],
            row["step_kind"],
            row["step_at"],
        )

    async def used_at(self, link: Link) -> datetime | None:
        """Return when the link was used, or None while it is not."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(USE, link.id)
        return None if row is None else row["used_at"]

    async def claim(self, link: Link) -> bool:
        """Claim the link for one answer; return False when it is used or being used."""
        async with self._pool.acquire() as conn:
            claimed = await conn.fetchval(
                CLAIM,
                link.id,
                link.collaboration_id,
                link.party,
                link.action.value,
                link.seq,
                STALE_CLAIM,
                link.step,
            )
        return claimed is not None

    async def release(self, link: Link) -> None:
        """Give a claimed link back: its answer was refused, nothing changed."""
        async with self._pool.acquire() as conn:
            await conn.execute(RELEASE, link.id)

    async def mark_used(self, link: Link, recorded_seq: int | None) -> None:
        """Spend the link: the workflow recorded its answer as entry `recorded_seq`."""
        async with self._pool.acquire() as conn:
            await conn.execute(MARK_USED, link.id, recorded_seq)
